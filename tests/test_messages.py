"""Error messages and argument behaviour that changed between CPython 3.11 and 3.15.

Each test runs an operation on the stdlib ``ctypes`` of the running interpreter first and
expects exactly its exception type and message (``stdlib_errors.raises_like_stdlib``), so
the same test shows 3.11's wording on 3.11 and the newer wording from 3.12 on:

* 3.12: a simple type's ``from_param`` (and so an argument declared with it) raises the
  conversion's own error ("'str' object cannot be interpreted as an integer", "must be
  real number, not str") where 3.11 says "wrong type";
* 3.13: ``c_char_p``, ``c_wchar_p``, ``c_void_p`` (and ``POINTER(c_char)``) name what they
  were given ("'int' object cannot be interpreted as ctypes.c_char_p"); ``cast`` names only
  ctypes types;
* 3.14: ``c_char`` and ``c_wchar`` name the value ("one character bytes, bytearray, or an
  integer in range(256) expected, not bytes of length 3", "a unicode character expected,
  not instance of int"); ``byref``, ``addressof`` and ``resize`` say "must be
  _ctypes._CData"; assigning ``argtypes`` to a function with paramflags checks them; ``del
  buf.raw`` names the attribute; callbacks' failures are reported "while calling".
"""

import ctypes
import os
import shutil
import subprocess

import pytest
from stdlib_errors import raises_like_stdlib, stdlib_error

SIMPLE = [
    "c_bool", "c_char", "c_wchar", "c_byte", "c_ubyte", "c_short", "c_ushort", "c_int",
    "c_uint", "c_long", "c_ulong", "c_longlong", "c_ulonglong", "c_float", "c_double",
    "c_longdouble", "c_char_p", "c_wchar_p", "c_void_p", "c_size_t", "c_ssize_t",
]  # fmt: skip


class _Index:
    def __init__(self, error):
        self.error = error

    def __index__(self):
        raise self.error


class _AsParameter:
    def __init__(self, value):
        self._as_parameter_ = value


# Values no simple type takes, or only some do.
VALUES = {
    "str": lambda m: "abc",
    "str1": lambda m: "a",
    "empty-str": lambda m: "",
    "bytes3": lambda m: b"abc",
    "bytes1": lambda m: b"a",
    "empty-bytes": lambda m: b"",
    "bytearray3": lambda m: bytearray(b"abc"),
    "int": lambda m: 5,
    "int-300": lambda m: 300,
    "int-neg": lambda m: -1,
    "int-wide": lambda m: 2**70 + 3,
    "int-wide-neg": lambda m: -(2**70) - 3,
    "float": lambda m: 1.5,
    "none": lambda m: None,
    "list": lambda m: [1],
    "object": lambda m: object(),
    "type": lambda m: int,
    "c_int": lambda m: m.c_int(3),
    "c_double": lambda m: m.c_double(3),
    "byref": lambda m: m.byref(m.c_int()),
    "array-of-double": lambda m: (m.c_double * 2)(),
    "pointer-to-double": lambda m: m.pointer(m.c_double()),
    "index-value-error": lambda m: _Index(ValueError("boom")),
    "as-parameter-str": lambda m: _AsParameter("x"),
    "as-parameter-float": lambda m: _AsParameter(1.5),
}


def _outcome(action):
    """What ``action(ctypes)`` does: None when it succeeds, else the exception."""
    try:
        action(ctypes)
    except Exception as exc:
        return exc
    return None


def _check(ct, action):
    """``action(ct)`` behaves as ``action(ctypes)``: both succeed, or both raise alike."""
    if _outcome(action) is None:
        action(ct)
    else:
        raises_like_stdlib(ct, action)


PARAM_VALUES = list(VALUES)


def _skip_generated_type_names(name, value):
    # From 3.14 c_char and c_wchar name the value's type with its module; ctypes gives an
    # array or pointer type made by `T * n` or POINTER the caller's module, ferrotype its own.
    if name in ("c_char", "c_wchar") and value in ("array-of-double", "pointer-to-double"):
        pytest.skip("the module of generated array and pointer types differs")


@pytest.mark.parametrize("value", PARAM_VALUES)
@pytest.mark.parametrize("name", SIMPLE)
def test_from_param(ct, name, value):
    _skip_generated_type_names(name, value)
    _check(ct, lambda m: getattr(m, name).from_param(VALUES[value](m)))


@pytest.mark.parametrize("value", PARAM_VALUES)
@pytest.mark.parametrize("name", SIMPLE)
def test_argument(ct, fixture_path, name, value):
    _skip_generated_type_names(name, value)

    def call(m):
        # A function that never reads its arguments: only the conversion matters here,
        # and whatever register or stack slot the declared type uses, the call is defined.
        f = m.CDLL(fixture_path).ignore_args
        f.argtypes = [getattr(m, name)]
        f.restype = m.c_int
        return f(VALUES[value](m))

    _check(ct, call)


# The setfunc's messages: the constructor, .value, a field, an array element, a pointer
# element all convert the same way.
SETTERS = {
    "constructor": lambda m, t, v: t(v),
    "value": lambda m, t, v: setattr(t(), "value", v),
    "field": lambda m, t, v: setattr(type("S", (m.Structure,), {"_fields_": [("f", t)]})(), "f", v),
    "element": lambda m, t, v: (t * 2)().__setitem__(0, v),
    "array-init": lambda m, t, v: (t * 2)(v),
    "pointer-element": lambda m, t, v: m.pointer(t()).__setitem__(0, v),
}  # fmt: skip

SET_VALUES = [
    "str", "str1", "empty-str", "bytes3", "bytes1", "empty-bytes", "bytearray3", "int",
    "int-300", "int-neg", "int-wide", "int-wide-neg", "float", "none", "list", "object",
    "type", "c_int",
    "index-value-error",
]  # fmt: skip


@pytest.mark.parametrize("value", SET_VALUES)
@pytest.mark.parametrize("setter", list(SETTERS))
@pytest.mark.parametrize(
    "name", ["c_char", "c_wchar", "c_int", "c_double", "c_char_p", "c_wchar_p", "c_void_p"]
)
def test_setters(ct, name, setter, value):
    _check(ct, lambda m: SETTERS[setter](m, getattr(m, name), VALUES[value](m)))


KINDS = {
    "pointer": lambda m: m.POINTER(m.c_int),
    "pointer-to-char": lambda m: m.POINTER(m.c_char),
    "pointer-to-wchar": lambda m: m.POINTER(m.c_wchar),
    "array": lambda m: m.c_int * 3,
    "structure": lambda m: type("P", (m.Structure,), {"_fields_": [("a", m.c_int)]}),
}


@pytest.mark.parametrize("value", [v for v in VALUES if v != "byref"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_from_param_of_other_kinds(ct, kind, value):
    _check(ct, lambda m: KINDS[kind](m).from_param(VALUES[value](m)))


def test_subclass_of_c_char_p_names_c_char_p(ct):
    # ctypes names the built-in type, not the subclass
    raises_like_stdlib(ct, lambda m: type("S", (m.c_char_p,), {}).from_param(5))
    raises_like_stdlib(ct, lambda m: type("S", (m.c_int,), {}).from_param("x"))


def test_as_parameter_is_tried_before_the_conversion_error(ct):
    class Both:
        _as_parameter_ = 5

        def __index__(self):
            raise KeyError("not this")

    assert repr(ct.c_int.from_param(Both())) == repr(ctypes.c_int.from_param(Both()))


@pytest.mark.parametrize(
    "action",
    [
        lambda m: m.byref(1),
        lambda m: m.byref(None),
        lambda m: m.addressof(1),
        lambda m: m.addressof(None),
        lambda m: m.resize(1, 4),
        lambda m: m.resize(None, 4),
        lambda m: m.cast(1, int),
        lambda m: m.cast(1, None),
        lambda m: m.cast(1, m.c_int),
        lambda m: m.cast(1.5, m.c_void_p),
        lambda m: m.string_at(1.5),
        lambda m: m.c_int.from_address("x"),
        lambda m: m.c_int.from_address(1.5),
        lambda m: m.CFUNCTYPE(5),
        lambda m: m.CFUNCTYPE(m.c_int, 5),
        lambda m: m.CFUNCTYPE(5, 5),
        lambda m: (m.c_int * 3).from_param(m.byref(m.c_double())),
    ],
    ids=[
        "byref-int", "byref-None", "addressof-int", "addressof-None", "resize-int",
        "resize-None", "cast-to-int", "cast-to-None", "cast-to-c_int", "cast-float",
        "string_at-float", "from_address-str", "from_address-float", "CFUNCTYPE-restype-5",
        "CFUNCTYPE-argtype-5", "CFUNCTYPE-both-5", "array-from_param-byref",
    ],
)  # fmt: skip
def test_helper_errors(ct, action):
    raises_like_stdlib(ct, action)


def test_prototypes_that_are_accepted(ct):
    # any type or callable is a restype
    ct.CFUNCTYPE(int)
    ct.CFUNCTYPE(lambda v: v)
    ct.CFUNCTYPE(None, ct.c_int)


def test_deleting_pointer_contents(ct):
    raises_like_stdlib(ct, lambda m: delattr(m.pointer(m.c_int(42)), "contents"))


def test_deleting_char_array_attributes(ct):
    raises_like_stdlib(ct, lambda m: delattr((m.c_char * 2)(), "raw"))
    raises_like_stdlib(ct, lambda m: delattr((m.c_char * 2)(), "value"))


# ---- argtypes of functions made with paramflags ---------------------------------------------


def _with_paramflags(m, argtypes, flags):
    proto = m.CFUNCTYPE(m.c_int, *argtypes)
    return proto(("labs", m.CDLL(None)), flags)


@pytest.mark.parametrize(
    "new",
    [
        lambda m: (m.c_char_p, m.c_int),
        lambda m: (),
        lambda m: (m.c_int,),
    ],
    ids=["longer", "empty", "same-length"],
)
def test_argtypes_against_paramflags(ct, new):
    def assign(m):
        f = _with_paramflags(m, [m.c_char_p], ((1, "fmt"),))
        f.argtypes = new(m)
        return f

    if _outcome(assign) is None:
        assert [t.__name__ for t in assign(ct).argtypes] == [
            t.__name__ for t in assign(ctypes).argtypes
        ]
    else:
        raises_like_stdlib(ct, assign)
        # a refused assignment changes nothing
        f = _with_paramflags(ct, [ct.c_char_p], ((1, "fmt"),))
        with pytest.raises(ValueError):
            f.argtypes = new(ct)
        assert f.argtypes == (ct.c_char_p,)


def test_argtypes_out_parameter_must_stay_a_pointer(ct):
    def assign(m):
        f = _with_paramflags(m, [m.c_char_p, m.c_void_p], ((1, "fmt"), (2, "out")))
        f.argtypes = (m.c_char_p, m.c_int)
        return f

    if _outcome(assign) is None:
        assign(ct)
    else:
        raises_like_stdlib(ct, assign)


def test_argtypes_none_falls_back_to_the_prototype(ct):
    f = _with_paramflags(ct, [ct.c_char_p], ((1, "fmt"),))
    f.argtypes = None
    assert f.argtypes == (ct.c_char_p,)
    f.argtypes = (ct.c_char_p,)
    del f.argtypes
    assert f.argtypes == (ct.c_char_p,)
    g = ct.CDLL(None).labs
    g.argtypes = [ct.c_long]
    g.argtypes = None
    assert g.argtypes is None


# ---- symbols ---------------------------------------------------------------------------------


def test_dlsym_missing_symbol_is_oserror(ct):
    _ctypes = pytest.importorskip("_ctypes") if ct is ctypes else ct._ctypes
    if not hasattr(_ctypes, "dlsym"):
        pytest.skip("no _ctypes.dlsym")
    handle = _ctypes.dlopen(None)
    with pytest.raises(OSError, match="undefined symbol: no_such_symbol_ft"):
        _ctypes.dlsym(handle, "no_such_symbol_ft")


@pytest.fixture(scope="module")
def null_symbol_library(tmp_path_factory):
    """A library whose symbol ``foo`` resolves to NULL (a GNU indirect function)."""
    cc = os.environ.get("CC", "gcc")
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} is missing")
    d = tmp_path_factory.mktemp("nullsym")
    src = d / "foo.c"
    src.write_text('asm (".type foo STT_GNU_IFUNC");\nvoid *foo(void) { return 0; }\n')
    lib = d / "libfoo.so"
    proc = subprocess.run([cc, "-fPIC", "-shared", "-o", str(lib), str(src)], check=False)
    if proc.returncode != 0:
        pytest.skip("cannot build a GNU indirect function here")
    return os.fspath(lib)


def test_null_symbol_is_not_found(ferrotype, null_symbol_library):
    # ctypes 3.14 raises these (GH-126554); older versions pass the NULL on and crash later,
    # so ferrotype raises them on every version.
    lib = ferrotype.CDLL(null_symbol_library)
    with pytest.raises(AttributeError, match="^function 'foo' not found$"):
        _ = lib.foo
    with pytest.raises(AttributeError, match="^function 'foo' not found$"):
        ferrotype.CFUNCTYPE(None)(("foo", lib))
    with pytest.raises(ValueError, match="^symbol 'foo' not found$"):
        ferrotype.c_int.in_dll(lib, "foo")
    handle = ferrotype._ctypes.dlopen(null_symbol_library)
    with pytest.raises(OSError, match="^symbol 'foo' not found$"):
        ferrotype._ctypes.dlsym(handle, "foo")


def test_stdlib_error_helper_sees_the_running_version():
    # the helper itself: it reports the stdlib's exception, and fails when there is none
    exc, message = stdlib_error(lambda m: m.c_int("x"))
    assert exc is TypeError and "integer" in message
    with pytest.raises(AssertionError):
        stdlib_error(lambda m: m.c_int(1))
