"""Loading libraries: CDLL / PyDLL / LibraryLoader, the process image, symbol lookup and errors."""

import ctypes
import os
import pathlib
import re

import pytest


def test_cdll_by_path(ct, fixture_path):
    lib = ct.CDLL(fixture_path)
    assert isinstance(lib, ct.CDLL)
    assert lib.add(2, 3) == 5
    assert lib._name == fixture_path


def test_cdll_accepts_pathlike(ct, fixture_path):
    # ctypes dlopens os.fspath() of the path; as _name, 3.11 keeps the object it was given,
    # 3.12 on the fspath() of it
    path = pathlib.Path(fixture_path)
    lib = ct.CDLL(path)
    expected = ctypes.CDLL(path)._name
    assert expected in (path, fixture_path)
    assert type(lib._name) is type(expected)
    assert lib._name == expected
    assert lib.add(20, 22) == 42


def test_cdll_rejects_non_path(ct):
    with pytest.raises(TypeError, match="expected str, bytes or os.PathLike object, not int"):
        ct.CDLL(1)


def test_handle_is_int_and_shared_by_dlopen(ct, fixture_path):
    a = ct.CDLL(fixture_path)
    b = ct.CDLL(fixture_path)
    assert type(a._handle) is int
    assert a._handle != 0
    # dlopen of an already loaded library returns the same handle.
    assert a._handle == b._handle


def test_cdll_with_existing_handle(ct, fixture_path):
    a = ct.CDLL(fixture_path)
    b = ct.CDLL("any name at all", handle=a._handle)
    assert b._handle == a._handle
    assert b._name == "any name at all"
    assert b.add(1, 2) == 3


def test_process_image(ct):
    libc = ct.CDLL(None)
    assert libc._name is None
    assert type(libc._handle) is int
    assert libc.strlen(b"hello") == 5
    assert libc.abs(-5) == 5
    assert re.fullmatch(r"<CDLL 'None', handle [0-9a-f]+ at 0x[0-9a-f]+>", repr(libc))


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"mode": 0},
        {"mode": os.RTLD_NOW | os.RTLD_LOCAL},
        {"use_errno": True},
        {"use_last_error": True},
        {"winmode": 0},  # accepted and ignored on POSIX
    ],
    ids=repr,
)
def test_cdll_keyword_arguments(ct, fixture_path, kwargs):
    assert ct.CDLL(fixture_path, **kwargs).add(4, 5) == 9


def test_rtld_constants(ct):
    assert ct.RTLD_GLOBAL == os.RTLD_GLOBAL == 256
    assert ct.RTLD_LOCAL == os.RTLD_LOCAL == 0
    assert ct.DEFAULT_MODE == ct.RTLD_LOCAL


def _scope_probe_library(ct, build_library, fixtures_dir, scope):
    # One copy of the fixture per implementation and scope, each exporting a uniquely named probe
    # symbol, so one implementation's RTLD_GLOBAL load cannot mask the other's.
    name = f"ft_{scope}_probe_{ct.__name__}"
    path = build_library(
        [fixtures_dir / "ftfixture.c"], name, extra_flags=[f"-DFT_SCOPE_PROBE={name}"]
    )
    return name, str(path)


def test_rtld_global_exports_into_process_image(ct, build_library, fixtures_dir):
    symbol, path = _scope_probe_library(ct, build_library, fixtures_dir, "global")
    lib = ct.CDLL(path, mode=ct.RTLD_GLOBAL)
    assert getattr(lib, symbol)() == 4242
    assert getattr(ct.CDLL(None), symbol)() == 4242


def test_rtld_local_keeps_symbols_private(ct, build_library, fixtures_dir):
    symbol, path = _scope_probe_library(ct, build_library, fixtures_dir, "local")
    lib = ct.CDLL(path, mode=ct.RTLD_LOCAL)
    assert getattr(lib, symbol)() == 4242
    with pytest.raises(AttributeError, match=f"undefined symbol: {symbol}"):
        getattr(ct.CDLL(None), symbol)


def test_repr(ct, fixture_path):
    lib = ct.CDLL(fixture_path)
    m = re.fullmatch(r"<CDLL '(.*)', handle ([0-9a-f]+) at 0x([0-9a-f]+)>", repr(lib))
    assert m is not None, repr(lib)
    assert m.group(1) == fixture_path
    assert int(m.group(2), 16) == lib._handle
    assert int(m.group(3), 16) == id(lib)


def test_repr_uses_class_name(ct, fixture_path):
    class MyDLL(ct.CDLL):
        pass

    assert repr(MyDLL(fixture_path)).startswith(f"<MyDLL '{fixture_path}', handle ")
    assert repr(ct.PyDLL(fixture_path)).startswith(f"<PyDLL '{fixture_path}', handle ")


def test_attribute_access_is_cached(ct, fixture_path):
    lib = ct.CDLL(fixture_path)
    f = lib.add
    assert lib.add is f
    name = "add"
    assert getattr(lib, name) is f
    # The cache is the instance dict (CDLL.__getattr__ does setattr(self, name, func)).
    assert lib.__dict__["add"] is f


def test_item_access_is_not_cached(ct, fixture_path):
    lib = ct.CDLL(fixture_path)
    a = lib["add"]
    b = lib["add"]
    assert a is not b
    assert a is not lib.add
    assert a(1, 2) == b(1, 2) == 3
    # declarations on one object do not leak into another
    a.restype = None
    assert b.restype is ct.c_int
    assert lib.add.restype is ct.c_int


def test_item_access_accepts_bytes(ct, fixture_path):
    assert ct.CDLL(fixture_path)[b"add"](3, 4) == 7


def test_item_access_rejects_int(ct, fixture_path):
    # Ordinals only exist on Windows.
    with pytest.raises(TypeError, match="function name must be string, bytes object or integer"):
        ct.CDLL(fixture_path)[1]


def test_function_name(ct, fixture_path):
    lib = ct.CDLL(fixture_path)
    assert lib.add.__name__ == "add"
    assert lib["scale"].__name__ == "scale"
    assert ct.CDLL(fixture_path).add.__name__ == "add"


def test_function_type(ct, fixture_path):
    lib = ct.CDLL(fixture_path)
    assert isinstance(lib.add, lib._FuncPtr)
    assert isinstance(lib.add, ct._CFuncPtr)
    assert re.fullmatch(r"<_FuncPtr object at 0x[0-9a-f]+>", repr(lib.add))
    # each CDLL instance makes its own _FuncPtr class
    assert ct.CDLL(fixture_path)._FuncPtr is not lib._FuncPtr


def test_function_defaults(ct, fixture_path):
    f = ct.CDLL(fixture_path).add
    assert f.restype is ct.c_int
    assert f.argtypes is None
    assert f.errcheck is None


def test_func_flags(ct, fixture_path):
    # FUNCFLAG_CDECL = 1, FUNCFLAG_PYTHONAPI = 4, FUNCFLAG_USE_ERRNO = 8,
    # FUNCFLAG_USE_LASTERROR = 16; code in the wild subclasses CDLL and reads these.
    assert ct.CDLL._func_flags_ == 1
    assert ct.PyDLL._func_flags_ == 5
    assert ct.CDLL(fixture_path)._FuncPtr._flags_ == 1
    assert ct.CDLL(fixture_path, use_errno=True)._FuncPtr._flags_ == 1 | 8
    assert ct.CDLL(fixture_path, use_last_error=True)._FuncPtr._flags_ == 1 | 16
    assert ct.PyDLL(fixture_path)._FuncPtr._flags_ == 1 | 4
    assert ct.CDLL(fixture_path)._FuncPtr._restype_ is ct.c_int


def test_missing_library(ct):
    path = "/nonexistent/dir/libnope.so"
    with pytest.raises(OSError) as info:
        ct.CDLL(path)
    assert type(info.value) is OSError
    # ctypes raises OSError(dlerror()) verbatim.
    assert str(info.value) == f"{path}: cannot open shared object file: No such file or directory"
    assert info.value.errno is None


def test_missing_library_bare_name(ct):
    with pytest.raises(OSError, match=r"^libnope_ft_xyz\.so: cannot open shared object file"):
        ct.CDLL("libnope_ft_xyz.so")


def test_not_a_library(ct, fixtures_dir):
    path = str(fixtures_dir / "ftfixture.c")
    with pytest.raises(OSError, match=rf"^{re.escape(path)}: invalid ELF header$"):
        ct.CDLL(path)


def test_missing_symbol(ct, fixture_path):
    lib = ct.CDLL(fixture_path)
    expected = f"{fixture_path}: undefined symbol: no_such_function"
    with pytest.raises(AttributeError) as info:
        _ = lib.no_such_function
    assert str(info.value) == expected
    with pytest.raises(AttributeError) as info:
        lib["no_such_function"]
    assert str(info.value) == expected
    assert not hasattr(lib, "no_such_function")


def test_dunder_names_are_not_looked_up(ct, fixture_path):
    lib = ct.CDLL(fixture_path)
    with pytest.raises(AttributeError) as info:
        _ = lib.__foo__
    assert str(info.value) == "__foo__"
    with pytest.raises(AttributeError) as info:
        _ = lib.__len__
    assert str(info.value) == "__len__"


def test_single_underscore_names_are_looked_up(ct, fixture_path):
    # Only dunder names are refused; "_x" goes to dlsym like any other name.
    lib = ct.CDLL(fixture_path)
    assert lib._ft_underscore() == 17
    with pytest.raises(AttributeError, match="undefined symbol: _private"):
        _ = lib._private


def test_data_symbols_are_found_as_functions(ct, fixture_path):
    # attribute access only does dlsym; it does not know a variable from a function
    f = ct.CDLL(fixture_path).ft_global_counter
    assert isinstance(f, ct._CFuncPtr)


def test_pydll(ct, fixture_path):
    lib = ct.PyDLL(fixture_path)
    assert isinstance(lib, ct.CDLL)
    assert lib.add(2, 40) == 42
    assert isinstance(ct.pydll, ct.LibraryLoader)
    assert isinstance(ct.pydll.LoadLibrary(fixture_path), ct.PyDLL)


def test_pythonapi(ct):
    assert isinstance(ct.pythonapi, ct.PyDLL)
    assert ct.pythonapi._name is None
    assert ct.pythonapi.Py_IsInitialized() == 1


def test_library_loader_load_library(ct, fixture_path):
    loader = ct.LibraryLoader(ct.CDLL)
    a = loader.LoadLibrary(fixture_path)
    b = loader.LoadLibrary(fixture_path)
    assert type(a) is ct.CDLL
    assert a is not b  # LoadLibrary always makes a new instance
    assert a.add(1, 1) == 2


def test_library_loader_item_access_is_cached(ct, fixture_path):
    loader = ct.LibraryLoader(ct.CDLL)
    a = loader[fixture_path]
    assert type(a) is ct.CDLL
    # __getitem__ is getattr(self, name), and __getattr__ caches with setattr.
    assert loader[fixture_path] is a
    assert getattr(loader, fixture_path) is a
    assert a.add(2, 2) == 4


def test_library_loader_attribute(ct):
    loader = ct.LibraryLoader(ct.CDLL)
    libc = getattr(loader, "libc.so.6")
    assert libc.abs(-3) == 3
    assert getattr(loader, "libc.so.6") is libc


def test_library_loader_private_names(ct):
    loader = ct.LibraryLoader(ct.CDLL)
    with pytest.raises(AttributeError) as info:
        _ = loader._something
    assert str(info.value) == "_something"


def stdlib_loader_error(name):
    """What stdlib's ``LibraryLoader`` raises for a library it cannot load: the dlopen error
    (3.11), or ``AttributeError(name)`` (3.12 on, so that ``hasattr`` works)."""
    try:
        getattr(ctypes.LibraryLoader(ctypes.CDLL), name)
    except (OSError, AttributeError) as exc:
        return exc
    raise AssertionError(f"stdlib ctypes loaded {name!r}")


def test_library_loader_missing(ct):
    expected = stdlib_loader_error("libnope_ft_xyz")
    if isinstance(expected, OSError):
        assert "libnope_ft_xyz: cannot open shared object file" in str(expected)
    else:
        assert isinstance(expected, AttributeError)
    with pytest.raises(type(expected)) as info:
        _ = ct.LibraryLoader(ct.CDLL).libnope_ft_xyz
    assert type(info.value) is type(expected)
    assert str(info.value) == str(expected)
    assert isinstance(info.value.__context__, OSError) == isinstance(expected.__context__, OSError)
    if isinstance(expected, AttributeError):
        assert not hasattr(ct.LibraryLoader(ct.CDLL), "libnope_ft_xyz")


def test_global_loaders(ct, fixture_path):
    assert isinstance(ct.cdll, ct.LibraryLoader)
    lib = ct.cdll.LoadLibrary(fixture_path)
    assert type(lib) is ct.CDLL
    assert lib.add(5, 5) == 10
    assert ct.cdll[fixture_path] is ct.cdll[fixture_path]


def test_no_windows_names_on_posix(ct):
    # Code in the wild detects Windows with hasattr(ctypes, "WinDLL") and friends.
    for name in ("WinDLL", "windll", "OleDLL", "oledll", "WINFUNCTYPE", "HRESULT",
                 "FormatError", "GetLastError", "get_last_error", "set_last_error"):  # fmt: skip
        assert not hasattr(ct, name), name
