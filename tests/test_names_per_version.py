"""The module-level names of ``ctypes``, ``_ctypes`` and ``ctypes.util``, as the running
interpreter's stdlib has them, and the behaviour behind the private ones that programs and
CPython's own tests use: the C functions ``_ctypes`` publishes by address, the reference
and call helpers, the pointer-type cache (a dict before 3.14, ``T.__pointer_type__`` from
3.14), the deprecations of 3.14 and the removals of 3.15.

Every expectation is read from the stdlib of the interpreter running the tests (the ``ct``
fixture runs each test against ``ctypes`` and ``ferrotype``).
"""

import ctypes as std_ctypes
import gc
import importlib
import sys
import warnings
import weakref

import pytest

# Names of the stdlib that ferrotype does not provide here, each with the reason.
NOT_HERE = {
    # ctypes' private wrapper of the C function at `_memoryview_at_addr`; ferrotype's
    # `memoryview_at` calls the extension directly and publishes no such address.
    "_memoryview_at": "no C function by address",
    "_memoryview_at_addr": "no C function by address",
    # ctypes imports sysconfig for no public purpose; importing it costs start-up time.
    "_sysconfig": "unused import",
    # 3.14's ctypes imports its `_layout` module into its namespace the first time a
    # structure is laid out; ferrotype's layout is in the extension.
    "_layout": "stdlib implementation module",
}


def _private_module(ct):
    return importlib.import_module("_ctypes" if ct is std_ctypes else "ferrotype._ctypes")


def _util_module(ct):
    return importlib.import_module("ctypes.util" if ct is std_ctypes else "ferrotype.util")


def _missing(std, ours):
    return sorted(set(dir(std)) - set(dir(ours)) - set(NOT_HERE))


def test_ctypes_names(ferrotype):
    assert _missing(std_ctypes, ferrotype) == []


def test_private_module_names(ferrotype):
    import _ctypes

    assert _missing(_ctypes, importlib.import_module("ferrotype._ctypes")) == []


def test_util_names(ferrotype):
    import ctypes.util

    assert _missing(ctypes.util, importlib.import_module("ferrotype.util")) == []


def test_names_the_stdlib_lacks_are_absent(ferrotype):
    """Names a version removed (or moved) are gone here too."""
    import _ctypes

    ours = importlib.import_module("ferrotype._ctypes")
    for name in ("POINTER", "pointer", "_pointer_type_cache", "__version__"):
        assert (name in vars(_ctypes)) == (name in vars(ours)), name
    for name in ("SetPointerType", "_ctypes_version", "__version__", "_PointerTypeCache"):
        assert (name in vars(std_ctypes)) == (name in vars(ferrotype)), name


# ---- the C functions published by address ------------------------------------------------------


def test_addresses_are_ints(ct):
    c = _private_module(ct)
    for name in (
        "_memmove_addr",
        "_memset_addr",
        "_string_at_addr",
        "_wstring_at_addr",
        "_cast_addr",
    ):
        value = getattr(c, name)
        assert isinstance(value, int) and value != 0, name


def test_memmove_and_memset_by_address(ct):
    c = _private_module(ct)
    memmove = ct.CFUNCTYPE(ct.c_void_p, ct.c_void_p, ct.c_void_p, ct.c_size_t)(c._memmove_addr)
    memset = ct.CFUNCTYPE(ct.c_void_p, ct.c_void_p, ct.c_int, ct.c_size_t)(c._memset_addr)
    buf = ct.create_string_buffer(8)
    assert memset(buf, ord("x"), 3) == ct.addressof(buf)
    assert buf.raw == b"xxx" + b"\0" * 5
    assert memmove(ct.byref(buf, 4), b"abc", 3) == ct.addressof(buf) + 4
    assert buf.raw == b"xxx\0abc\0"


def test_string_helpers_by_address(ct):
    c = _private_module(ct)
    string_at = ct.PYFUNCTYPE(ct.py_object, ct.c_void_p, ct.c_int)(c._string_at_addr)
    wstring_at = ct.PYFUNCTYPE(ct.py_object, ct.c_void_p, ct.c_int)(c._wstring_at_addr)
    s = ct.create_string_buffer(b"hello")
    w = ct.create_unicode_buffer("wide")
    assert string_at(s, -1) == b"hello"
    assert string_at(s, 2) == b"he"
    assert wstring_at(w, -1) == "wide"
    assert wstring_at(w, 3) == "wid"
    # ctypes' module wraps them the same way
    assert ct._string_at(s, 4) == b"hell"
    assert ct._wstring_at(w, 2) == "wi"


def test_cast_by_address(ct):
    c = _private_module(ct)
    cast = ct.PYFUNCTYPE(ct.py_object, ct.c_void_p, ct.py_object, ct.py_object)(c._cast_addr)
    arr = (ct.c_int * 3)(7, 8, 9)
    p = cast(arr, arr, ct.POINTER(ct.c_int))
    assert type(p) is ct.POINTER(ct.c_int)
    assert p[2] == 9
    assert p._objects is arr._objects or id(arr) in p._objects
    with pytest.raises(TypeError, match="must be a pointer type"):
        cast(arr, arr, ct.c_int)
    assert ct._cast(arr, arr, ct.c_void_p).value == ct.addressof(arr)


# ---- the reference and call helpers of _ctypes ---------------------------------------------------


def test_pyobj_from_ptr(ct):
    c = _private_module(ct)
    obj = ["an", "object"]
    assert c.PyObj_FromPtr(id(obj)) is obj
    with pytest.raises(TypeError, match="an integer is required"):
        c.PyObj_FromPtr("x")
    with pytest.raises(SystemError):
        c.PyObj_FromPtr(0)


def test_incref_decref(ct):
    c = _private_module(ct)
    obj = object()
    before = sys.getrefcount(obj)
    assert c.Py_INCREF(obj) is obj
    assert sys.getrefcount(obj) == before + 1
    assert c.Py_DECREF(obj) is obj
    assert sys.getrefcount(obj) == before


def test_buffer_info(ct):
    c = _private_module(ct)

    class S(ct.Structure):
        _fields_ = [("a", ct.c_int), ("b", ct.c_double)]

    assert c.buffer_info(ct.c_int) == c.buffer_info(ct.c_int(1))
    assert c.buffer_info((ct.c_int * 2) * 3) == (c.buffer_info(ct.c_int)[0], 2, (3, 2))
    fmt, ndim, shape = c.buffer_info(S)
    assert (ndim, shape) == (0, ())
    assert fmt == memoryview(S()).format
    with pytest.raises(TypeError, match="not a ctypes type or object"):
        c.buffer_info(5)


def test_call_function(ct):
    c = _private_module(ct)
    libc = ct.CDLL(None)
    abs_addr = ct.cast(libc.abs, ct.c_void_p).value
    assert c.call_function(abs_addr, (-5,)) == 5
    assert c.call_cdeclfunction(abs_addr, (-6,)) == 6
    with pytest.raises(TypeError, match=r"function takes exactly 2 arguments \(1 given\)"):
        c.call_function(abs_addr)
    with pytest.raises(TypeError, match="an integer is required"):
        c.call_function("abs", ())
    with pytest.raises(TypeError, match="argument 2 must be tuple, not list"):
        c.call_function(abs_addr, [])
    with pytest.raises(ct.ArgumentError):
        c.call_function(abs_addr, (1.5,))


def test_max_argcount_and_unpickle(ct):
    c = _private_module(ct)
    assert c.CTYPES_MAX_ARGCOUNT == 1024
    func, args = ct.c_int(5).__reduce__()
    assert func is c._unpickle
    assert func(*args).value == 5


def test_check_size_and_calcsize(ct):
    import struct

    assert ct._calcsize is struct.calcsize
    assert ct._check_size(ct.c_int) is None
    with pytest.raises(SystemError, match=r"sizeof\(.*c_int'>\) wrong: 4 instead of 8"):
        ct._check_size(ct.c_int, "q")


# ---- versions ------------------------------------------------------------------------------------


def test_version(ct):
    c = _private_module(ct)
    removed = not hasattr(std_ctypes, "_ctypes_version")
    for mod in (ct, c):
        if removed:
            with pytest.warns(DeprecationWarning, match="'__version__' is deprecated") as w:
                assert mod.__version__ == "1.1.0"
            assert w[0].filename == __file__
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                assert mod.__version__ == "1.1.0"
    if not removed:
        assert ct._ctypes_version == "1.1.0"


def test_util_steps_can_be_replaced(ct, monkeypatch):
    """CPython's tests patch the steps of find_library by their names."""
    util = _util_module(ct)
    monkeypatch.setattr(util, "_findSoname_ldconfig", lambda name: None)
    monkeypatch.setattr(util, "_findLib_gcc", lambda name: None)
    calls = []

    def ld(name):
        calls.append(name)

    monkeypatch.setattr(util, "_findLib_ld", ld)
    assert util.find_library("c") is None
    assert calls == ["c"]


# ---- the pointer-type cache ---------------------------------------------------------------------

ATTR = hasattr(std_ctypes, "_pointer_type_cache_fallback")
attr_only = pytest.mark.skipif(not ATTR, reason="T.__pointer_type__ is 3.14's")
dict_only = pytest.mark.skipif(ATTR, reason="the dict cache is before 3.14")


@dict_only
def test_dict_cache(ct):
    c = _private_module(ct)
    assert ct._pointer_type_cache is c._pointer_type_cache
    assert ct.POINTER is c.POINTER and ct.pointer is c.pointer
    assert ct._pointer_type_cache[None] is ct.c_void_p

    class S(ct.Structure):
        _fields_ = [("a", ct.c_int)]

    p = ct.POINTER(S)
    assert ct._pointer_type_cache[S] is p
    assert not hasattr(S, "__pointer_type__")


def _complete_incomplete(mod, name):
    """POINTER(name) completed with SetPointerType: the pointer type, the structure and
    the warnings given on the way."""
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        lp = mod.POINTER(name)

        class cell(mod.Structure):
            _fields_ = [("name", mod.c_char_p), ("next", lp)]

        mod.SetPointerType(lp, cell)
    return lp, cell, [(x.category, str(x.message)) for x in w]


@dict_only
def test_set_pointer_type_before_314(ct):
    _, std_cell, expected = _complete_incomplete(std_ctypes, "std_cell")
    del std_ctypes._pointer_type_cache[std_cell]
    lp, cell, warned = _complete_incomplete(ct, "cell")
    assert warned == expected
    assert ct.POINTER(cell) is lp
    assert id(lp) not in ct._pointer_type_cache
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(RuntimeError, match="This type already exists in the cache"):
            ct.SetPointerType(lp, cell)

        class LP(ct._Pointer):
            pass

        class other(ct.Structure):
            pass

        with pytest.raises(RuntimeError, match=r"What's this\?\?\?"):
            ct.SetPointerType(LP, other)
    del ct._pointer_type_cache[cell]


@attr_only
def test_pointer_type_attribute(ct):
    import _ctypes

    assert not hasattr(_ctypes, "POINTER")

    class S(ct.Structure):
        _fields_ = [("a", ct.c_int)]

    with pytest.raises(AttributeError, match=r"S'> has no attribute '__pointer_type__'"):
        _ = S.__pointer_type__
    p = ct.POINTER(S)
    assert S.__pointer_type__ is p

    class Sub(S):
        pass

    assert not hasattr(Sub, "__pointer_type__")  # not inherited
    S.__pointer_type__ = "garbage"
    assert ct.POINTER(S) == "garbage"
    del S.__pointer_type__
    del S.__pointer_type__  # deleting what is not there is no error
    q = ct.POINTER(S)
    assert q is not p and S.__pointer_type__ is q
    with pytest.raises(TypeError, match="must have storage info"):
        _ = ct.Structure.__pointer_type__


@attr_only
def test_pointer_type_recorded_by_class_statement(ct):
    class T(ct.Structure):
        _fields_ = [("a", ct.c_int)]

    class LP(ct._Pointer):
        _type_ = T

    assert T.__pointer_type__ is LP and ct.POINTER(T) is LP

    class LP2(ct._Pointer):
        _type_ = T

    assert T.__pointer_type__ is LP  # the first one stays
    LP3 = type(ct._Pointer)("LP3", (ct._Pointer,), {"_type_": ct.c_float})
    assert ct.c_float.__pointer_type__ in (LP3, ct.POINTER(ct.c_float))


@attr_only
def test_pointer_types_are_collected(ct):
    def factory():
        class Cls(ct.Structure):
            _fields_ = [("a", ct.c_int)]

        return Cls

    t = factory()
    p = ct.POINTER(t)
    refs = weakref.ref(t), weakref.ref(p)
    del t, p
    gc.collect()
    assert [r() for r in refs] == [None, None]


@attr_only
def test_deprecated_cache_view(ct):
    with pytest.warns(DeprecationWarning, match="'ctypes.POINTER with string' is deprecated"):
        lp = ct.POINTER("name")
    with pytest.warns(DeprecationWarning):
        assert ct.POINTER("name") is lp
    assert ct._pointer_type_cache_fallback["name"] is lp
    with pytest.warns(DeprecationWarning, match="'ctypes._pointer_type_cache' is deprecated"):
        assert ct._pointer_type_cache["name"] is lp
    with pytest.warns(DeprecationWarning):
        ct._pointer_type_cache[123] = 456
    with pytest.warns(DeprecationWarning):
        assert ct._pointer_type_cache.get(123) == 456
    with pytest.warns(DeprecationWarning):
        assert ct._pointer_type_cache.get(str) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ct.c_int in ct._pointer_type_cache or not hasattr(ct.c_int, "__pointer_type__")
    ct._reset_cache()
    assert ct._pointer_type_cache_fallback == {}
    assert ct.POINTER(ct.c_char).from_param(b"x") is not None


@attr_only
def test_set_pointer_type_deprecated(ct):
    if not hasattr(std_ctypes, "SetPointerType"):
        assert not hasattr(ct, "SetPointerType")
        return
    expected = _complete_incomplete(std_ctypes, "std_cell")[2]
    std_ctypes._pointer_type_cache_fallback.pop("std_cell")
    lp, cell, warned = _complete_incomplete(ct, "cell")
    assert warned == expected
    assert "ctypes.SetPointerType" in expected[-1][1]
    assert ct.POINTER(cell) is lp
    ct._pointer_type_cache_fallback.clear()


@attr_only
def test_pointer_errors_314(ct):
    with pytest.raises(AttributeError, match="'int' object has no attribute '__name__'"):
        ct.POINTER(5)


# ---- wintypes ------------------------------------------------------------------------------------


def _describe(t):
    """What a wintypes name is, in terms that do not depend on the implementation."""
    if not isinstance(t, type):
        return ("value", t) if isinstance(t, int) else ("function",)
    if hasattr(t, "_fields_"):
        return ("struct", t.__name__, [(n, _describe(ft)) for n, ft, *_ in t._fields_])
    if hasattr(t, "_length_"):
        return ("array", t._length_, _describe(t._type_))
    if hasattr(t, "contents"):
        return ("pointer", _describe(t._type_))
    return ("simple", t._type_, t.__name__)


def test_wintypes_names_and_types(ferrotype):
    from ctypes import wintypes as std

    ours = importlib.import_module("ferrotype.wintypes")
    names = [n for n in dir(std) if not n.startswith("__") and n != "ctypes"]
    for name in names:
        assert hasattr(ours, name), name
        assert _describe(getattr(ours, name)) == _describe(getattr(std, name)), name
    for name in dir(ours):
        if name[0].isupper() and not hasattr(ferrotype, name):  # not an import
            assert hasattr(std, name), name
    assert ours.RGB(1, 2, 3) == std.RGB(1, 2, 3)


def test_helpers_by_address_without_the_gil(ferrotype):
    """Through CFUNCTYPE the GIL is given up around the call: ferrotype's helpers take
    it back themselves (ctypes' would run without it)."""
    c = importlib.import_module("ferrotype._ctypes")
    ct = ferrotype
    string_at = ct.CFUNCTYPE(ct.py_object, ct.c_void_p, ct.c_int)(c._string_at_addr)
    assert string_at(ct.create_string_buffer(b"free"), -1) == b"free"
    with pytest.raises(ValueError, match="NULL pointer access"):
        string_at(None, 3)
    cast = ct.CFUNCTYPE(ct.py_object, ct.c_void_p, ct.py_object, ct.py_object)(c._cast_addr)
    with pytest.raises(TypeError, match="must be a pointer type"):
        cast(None, None, int)
