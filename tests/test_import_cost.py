"""What `import ferrotype` loads.

The tools beyond ctypes (layout inspection, `check_layout`, `cdef`, `include`, `stubgen`)
are imported on first use, so that importing ferrotype costs about what importing ctypes
does: none of what they need (dataclasses, subprocess, tempfile, pickle...) is loaded
before they are used, and the program's collector has none of their objects to visit.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ["dataclasses", "inspect", "pickle", "subprocess", "tempfile", "shutil", "hashlib"]
LAZY = {
    "layout": "ferrotype._inspect",
    "CCompilerError": "ferrotype._inspect_check",
    "LayoutMismatch": "ferrotype._inspect_check",
    "check_layout": "ferrotype._inspect_check",
    "CDefError": "ferrotype._cdef",
    "CDefNamespace": "ferrotype._cdef",
    "Refusal": "ferrotype._cdef",
    "cdef": "ferrotype._cdef",
    "include": "ferrotype._cdef",
    "stubgen": "ferrotype._stubgen",
}


def _run(code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return proc.stdout.strip()


def test_import_loads_no_tool_dependencies():
    code = (
        "import sys; before = set(sys.modules); import ferrotype; "
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules and m not in before)); "
        f"print(sorted(m for m in {sorted(set(LAZY.values()))!r} if m in sys.modules))"
    )
    heavy, tools = _run(code).splitlines()
    assert heavy == "[]"
    assert tools == "[]"


@pytest.mark.parametrize("name", sorted(LAZY))
def test_lazy_names_resolve(name):
    import importlib

    import ferrotype

    module = importlib.import_module(LAZY[name])
    assert getattr(ferrotype, name) is getattr(module, name)
    assert name in dir(ferrotype)


def test_lazy_names_by_from_import():
    out = _run(
        "from ferrotype import layout, cdef, CDefError, check_layout; "
        "import ferrotype; print(layout is ferrotype.layout, callable(cdef))"
    )
    assert out == "True True"


def test_unknown_attribute_raises():
    import ferrotype

    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        ferrotype.no_such_name  # noqa: B018
