"""The stubs, checked: typical binding files pass `mypy --strict` and basedpyright under
both `import ctypes` and `import ferrotype as ctypes`; stubtest finds the stubs match the
running interpreter's ferrotype; mypy finds no error in the package.

The binding files are in tests/typing/. Each is written against the stdlib (`import
ctypes`, `from ctypes import ...`, `from numpy import ctypeslib`); the ferrotype variant
is generated from it by rewriting those imports. `ferrotype_only.py` uses ferrotype's own
additions and is checked as it is. Each file also runs, in both variants.

The checkers are pinned in tools/requirements-typing.txt, which `make venv` and
tools/pythons.sh install; without them these tests are skipped.
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TYPING = REPO / "tests" / "typing"
FERROTYPE_ONLY = "ferrotype_only.py"
MISSING = [m for m in ("mypy", "basedpyright") if importlib.util.find_spec(m) is None]

pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=f"{' and '.join(MISSING)} not installed (pinned in tools/requirements-typing.txt; "
    "`make venv` installs them)",
)

# The stdlib imports of the binding files and their ferrotype equivalents.
_REWRITES = [
    (re.compile(r"^import ctypes$", re.M), "import ferrotype as ctypes"),
    (re.compile(r"^from ctypes import ", re.M), "from ferrotype import "),
    (re.compile(r"^from numpy import ctypeslib$", re.M), "from ferrotype import ctypeslib"),
]


def ferrotype_variant(source):
    """The binding file `source` (written for the stdlib's ctypes) using ferrotype."""
    for pattern, replacement in _REWRITES:
        source = pattern.sub(replacement, source)
    return source


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    """Directories of the binding files: {"ctypes": dir, "ferrotype": dir}."""
    root = tmp_path_factory.mktemp("typing")
    dirs = {"ctypes": root / "ctypes_variant", "ferrotype": root / "ferrotype_variant"}
    for d in dirs.values():
        d.mkdir()
    for path in sorted(TYPING.glob("*.py")):
        text = path.read_text()
        if path.name == FERROTYPE_ONLY:
            (dirs["ferrotype"] / path.name).write_text(text)
            continue
        assert "ferrotype" not in text, f"{path.name}: write it for the stdlib's ctypes"
        (dirs["ctypes"] / path.name).write_text(text)
        rewritten = ferrotype_variant(text)
        assert rewritten != text, f"{path.name}: no import to rewrite"
        (dirs["ferrotype"] / path.name).write_text(rewritten)
    return dirs


def _run(args, cwd):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)


def _version():
    return f"{sys.version_info.major}.{sys.version_info.minor}"


@pytest.mark.parametrize("variant", ["ctypes", "ferrotype"])
def test_binding_files_run(variants, variant):
    for path in sorted(variants[variant].glob("*.py")):
        proc = _run([sys.executable, str(path)], cwd=path.parent)
        assert proc.returncode == 0, f"{path.name}:\n{proc.stdout}{proc.stderr}"


@pytest.mark.parametrize("variant", ["ctypes", "ferrotype"])
def test_mypy_strict(variants, variant, tmp_path):
    d = variants[variant]
    proc = _run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--python-version",
            _version(),
            ".",
        ],
        cwd=d,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout


@pytest.mark.parametrize("variant", ["ctypes", "ferrotype"])
def test_basedpyright(variants, variant):
    d = variants[variant]
    exe = Path(sys.executable).with_name("basedpyright")
    proc = _run(
        [str(exe), "--pythonpath", sys.executable, "--pythonversion", _version(), "."], cwd=d
    )
    # Errors fail the test; warnings (basedpyright's stricter-than-pyright advice, such as
    # reportAny on structure fields, which ctypes cannot type) are allowed.
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert re.fullmatch(r"0 errors, \d+ warnings?, \d+ notes?", summary), proc.stdout + proc.stderr


def test_stubtest(tmp_path):
    allowlists = [TYPING / "stubtest-allowlist.txt"]
    versioned = TYPING / f"stubtest-allowlist-py{_version().replace('.', '')}.txt"
    if versioned.exists():
        allowlists.append(versioned)
    args = [sys.executable, "-m", "mypy.stubtest", "ferrotype", "--concise"]
    for allowlist in allowlists:
        args += ["--allowlist", str(allowlist)]
    # Run outside the checkout, so the package is found once (as installed).
    env = {**os.environ, "MYPY_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_package(tmp_path):
    # The configuration is pyproject.toml's [tool.mypy].
    proc = _run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--python-version",
            _version(),
            "python/ferrotype",
        ],
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
