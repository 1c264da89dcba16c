"""Every module of the stdlib's ctypes has the same names in ferrotype's counterpart:
``dir()`` of ``ctypes``, ``_ctypes``, ``ctypes.util``, ``ctypes.wintypes``,
``ctypes._endian`` and ``ctypes.macholib`` (with ``dyld``, ``dylib``, ``framework``)
against ferrotype's, on the running interpreter.

Nothing may be missing. Public names ferrotype adds are listed below with the reason;
private ones (a leading underscore: imports, helpers) are its implementation and not
listed.
"""

import importlib

import pytest

PAIRS = [
    ("ctypes", "ferrotype"),
    ("_ctypes", "ferrotype._ctypes"),
    ("ctypes.util", "ferrotype.util"),
    ("ctypes.wintypes", "ferrotype.wintypes"),
    ("ctypes._endian", "ferrotype._endian"),
    ("ctypes.macholib", "ferrotype.macholib"),
    ("ctypes.macholib.dyld", "ferrotype.macholib.dyld"),
    ("ctypes.macholib.dylib", "ferrotype.macholib.dylib"),
    ("ctypes.macholib.framework", "ferrotype.macholib.framework"),
]

# Names of the stdlib that ferrotype does not provide, each with the reason.
NOT_HERE = {
    "ctypes": {
        # ctypes imports sysconfig for no public purpose.
        "_sysconfig",
        # 3.14's ctypes imports its `_layout` module the first time a structure is laid
        # out; ferrotype's layout is in the extension.
        "_layout",
    },
}

# Public names ferrotype's modules have and the stdlib's do not.
EXTRAS = {
    "ctypes": {
        "install",  # ferrotype.install(): ferrotype as the process's ctypes
        "debug_callbacks",  # the callback debug mode
        "c_float16",  # IEEE half precision (`e`), which NumPy and C23 have
        "strict",  # strict mode: checks ctypes does not make
        "is_strict",
        "StrictMode",
        # layout inspection: the placements the layout engine chose, and a check of a
        # type against the C compiler
        "layout",
        "check_layout",
        "CCompilerError",
        "LayoutMismatch",
        # binding from C declarations
        "cdef",
        "include",
        "CDefError",
        "CDefNamespace",
        "Refusal",
    },
    "_ctypes": {
        # The metaclasses are Python classes defined here (ctypes' are C types that
        # `_ctypes` does not export); `DEFAULT_MODE` and `FUNCFLAG_HRESULT` are
        # imported by ferrotype's ctypes from here.
        "PyCArrayType",
        "PyCFuncPtrType",
        "PyCPointerType",
        "PyCSimpleType",
        "PyCStructType",
        "UnionType",
        "DEFAULT_MODE",
        "FUNCFLAG_HRESULT",
    },
    # the metaclasses the byte-order variants derive from
    "ctypes._endian": {"PyCStructType", "UnionType"},
}


def _public(names):
    return {name for name in names if not name.startswith("_")}


def _names(module):
    """``dir(module)`` without its submodules: a package has those as attributes once
    they are imported, which depends on what the process imported before."""
    prefix = module.__name__ + "."
    return {
        name
        for name in dir(module)
        if not getattr(getattr(module, name), "__name__", "").startswith(prefix)
        or not hasattr(getattr(module, name), "__file__")
    }


@pytest.mark.parametrize("stdlib_name, ours_name", PAIRS, ids=[p[0] for p in PAIRS])
def test_same_names_as_the_stdlib(stdlib_name, ours_name):
    try:
        stdlib = importlib.import_module(stdlib_name)
    except ImportError:
        # (Debian's 3.14 and 3.15 ship ctypes without macholib.)
        pytest.skip(f"{stdlib_name} is not installed with this interpreter")
    ours = importlib.import_module(ours_name)
    theirs, mine = _names(stdlib), _names(ours)
    assert sorted(theirs - mine - NOT_HERE.get(stdlib_name, set())) == []
    assert sorted(_public(mine - theirs) - EXTRAS.get(stdlib_name, set())) == []


def test_extras_are_still_extras():
    """A listed extra the stdlib now has is no longer an extra (keep the lists true)."""
    for stdlib_name, extras in EXTRAS.items():
        stdlib = importlib.import_module(stdlib_name)
        assert sorted(extras & set(dir(stdlib))) == [], stdlib_name
