"""The documentation's Python examples run: every ```python block of each page under docs/,
in order, in one fresh interpreter per page (install() and strict mode change the process).

A block preceded by the line ``<!-- no-test -->`` is shown only (cdef.md's include()
example, which needs zlib's header; tests/test_include.py runs the same). The
blocks assert their own results, so a page whose example stops matching ferrotype's
behaviour fails here.
"""

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BLOCK = re.compile(r"(<!-- no-test -->\n)?^```python[^\n]*\n(.*?)^```", re.M | re.S)


def pages():
    return sorted(p for p in DOCS.rglob("*.md") if "```python" in p.read_text())


def blocks(page):
    return [m.group(2) for m in BLOCK.finditer(page.read_text()) if not m.group(1)]


def test_pages_with_examples_are_found():
    names = {p.relative_to(DOCS).as_posix() for p in pages()}
    assert {
        "getting-started.md",
        "migration/ctypes.md",
        "migration/numpy-ctypeslib.md",
        "migration/cffi.md",
        "install-and-strict.md",
    } <= names


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.relative_to(DOCS).as_posix())
def test_page_examples_run(page, tmp_path):
    code = blocks(page)
    if "cffi" in page.name:
        pytest.importorskip("cffi")
    if "numpy" in "".join(code):
        pytest.importorskip("numpy")
    # One script, each block marked so that a failure names its block.
    script = "\n".join(f"# --- block {i + 1} of {page.name}\n{src}" for i, src in enumerate(code))
    path = tmp_path / (page.stem + "_examples.py")
    path.write_text(script)
    env = dict(os.environ, PYTHONWARNINGS="error")
    env.pop("FERROTYPE_STRICT", None)
    r = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, env=env, timeout=120
    )
    assert r.returncode == 0, f"{page}:\n{r.stderr[-3000:]}"
