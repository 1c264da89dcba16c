"""Calling foreign functions: argtypes, restype, errcheck, conversions with and without argtypes.

Integer arguments behave as in ctypes: a declared integer type passes the low bits of any int,
and an int without argtypes is a C int (its low 32 bits) if it fits 64 bits, else
``ArgumentError("argument N: OverflowError: int too long to convert")``. Strict mode's checks
are tested in ``test_strict.py``.
"""

import re

import pytest
from stdlib_errors import raises_like_stdlib

# ---- basic calls -----------------------------------------------------------------------------


def test_add_without_declarations(lib):
    assert lib.add(2, 3) == 5
    assert lib.add(-2, -3) == -5
    assert lib.check_7_m7(7, -7) == 1


def test_scale_with_declarations(ct, lib):
    scale = lib.scale
    scale.argtypes = [ct.c_double, ct.c_double]
    scale.restype = ct.c_double
    assert scale(1.5, 4.0) == 6.0
    assert scale(3, 2) == 6.0  # ints are accepted for c_double


def test_default_restype_is_c_int(ct, lib):
    assert lib.neg_int.restype is ct.c_int
    assert lib.neg_int(7) == -7
    assert type(lib.neg_int(7)) is int


def test_restype_none(lib):
    noop = lib.noop
    assert isinstance(noop(), int)  # whatever was in the return register
    noop.restype = None
    assert noop() is None
    add = lib.add
    add.restype = None
    assert add(1, 2) is None


def test_mixed_six_arguments(ct, cfunc):
    mixed6 = cfunc(
        "mixed6", ct.c_double, ct.c_int8, ct.c_uint16, ct.c_int32, ct.c_int64, ct.c_float,
        ct.c_double,
    )  # fmt: skip
    assert mixed6(1, 2, 3, 4, 5, 6) == 654321.0
    args = (-1, 65535, -3, 2**40, 0.5, 0.25)
    a, b, c, d, e, f = args
    expected = a + 10.0 * b + 100.0 * c + 1000.0 * d + 10000.0 * e + 100000.0 * f
    assert mixed6(*args) == expected


def test_mixed_six_arguments_without_argtypes(ct, lib):
    mixed6 = lib.mixed6
    mixed6.restype = ct.c_double
    got = mixed6(-1, 65535, -3, ct.c_int64(2**40), ct.c_float(0.5), ct.c_double(0.25))
    assert got == -1 + 10.0 * 65535 - 300.0 + 1000.0 * 2**40 + 5000.0 + 25000.0


# ---- echo and transform functions, one per simple type ----------------------------------------

ECHO = [
    ("echo_char", "c_char", [b"a", b"\xff", b"\x00"]),
    ("echo_schar", "c_byte", [-128, -1, 127]),
    ("echo_uchar", "c_ubyte", [0, 200, 255]),
    ("echo_short", "c_short", [-32768, 32767]),
    ("echo_ushort", "c_ushort", [0, 65535]),
    ("echo_int", "c_int", [-(2**31), -1, 2**31 - 1]),
    ("echo_uint", "c_uint", [0, 2**31, 2**32 - 1]),
    ("echo_long", "c_long", [-(2**63), 2**63 - 1]),
    ("echo_ulong", "c_ulong", [0, 2**63, 2**64 - 1]),
    ("echo_longlong", "c_longlong", [-(2**63), 2**40]),
    ("echo_ulonglong", "c_ulonglong", [2**64 - 1]),
    ("echo_int8", "c_int8", [-128, 127]),
    ("echo_uint8", "c_uint8", [255]),
    ("echo_int16", "c_int16", [-32768]),
    ("echo_uint16", "c_uint16", [65535]),
    ("echo_int32", "c_int32", [-(2**31)]),
    ("echo_uint32", "c_uint32", [2**32 - 1]),
    ("echo_int64", "c_int64", [-(2**63)]),
    ("echo_uint64", "c_uint64", [2**64 - 1]),
    ("echo_size_t", "c_size_t", [0, 2**64 - 1]),
    ("echo_ssize_t", "c_ssize_t", [-1, 2**62]),
    ("echo_float", "c_float", [1.5, -0.25, float("inf")]),
    ("echo_double", "c_double", [1.5, 1e300, -1e-300, float("-inf")]),
    ("echo_longdouble", "c_longdouble", [1.5, 1e308, -(2.0**-1000)]),
    ("echo_bool", "c_bool", [True, False]),
    ("echo_wchar", "c_wchar", ["a", "\u4e2d", "\U0001f600"]),
    ("echo_voidp", "c_void_p", [1, 0xDEADBEEF, 2**64 - 1]),
    ("echo_charp", "c_char_p", [b"hello", b""]),
    ("echo_wcharp", "c_wchar_p", ["h\u00e9llo \u4e2d\U0001f600", ""]),
]


@pytest.mark.parametrize("func, name, values", ECHO, ids=[t[0] for t in ECHO])
def test_echo(ct, cfunc, func, name, values):
    typ = getattr(ct, name)
    f = cfunc(func, typ, typ)
    for v in values:
        got = f(v)
        assert type(got) is type(v)
        assert got == v
        # a simple instance of the declared type is accepted as the argument
        assert f(typ(v)) == v


@pytest.mark.parametrize("func, name", [("echo_voidp", "c_void_p"), ("echo_charp", "c_char_p"),
                                        ("echo_wcharp", "c_wchar_p")])  # fmt: skip
def test_echo_null_pointer_is_none(ct, cfunc, func, name):
    typ = getattr(ct, name)
    assert cfunc(func, typ, typ)(None) is None


TRANSFORM = [
    ("next_char", "c_char", b"a", b"b"),
    ("next_char", "c_char", b"\xff", b"\x00"),
    ("neg_schar", "c_byte", 5, -5),
    ("neg_schar", "c_byte", -128, -128),
    ("inc_uchar", "c_ubyte", 255, 0),
    ("neg_short", "c_short", -300, 300),
    ("inc_ushort", "c_ushort", 65535, 0),
    ("neg_int", "c_int", 7, -7),
    ("inc_uint", "c_uint", 2**32 - 1, 0),
    ("neg_long", "c_long", 2**40, -(2**40)),
    ("inc_ulong", "c_ulong", 2**63, 2**63 + 1),
    ("neg_longlong", "c_longlong", -(2**50), 2**50),
    ("inc_ulonglong", "c_ulonglong", 2**64 - 1, 0),
    ("inc_size_t", "c_size_t", 41, 42),
    ("neg_ssize_t", "c_ssize_t", 2**40, -(2**40)),
    ("half_float", "c_float", 3.0, 1.5),
    ("half_double", "c_double", 1.0, 0.5),
    ("half_longdouble", "c_longdouble", 3.0, 1.5),
    ("not_bool", "c_bool", True, False),
    ("not_bool", "c_bool", False, True),
    ("next_wchar", "c_wchar", "a", "b"),
    ("next_wchar", "c_wchar", "\u4e2c", "\u4e2d"),
    ("ld_minus_one", "c_longdouble", 1 + 2.0**-52, 2.0**-52),
]


@pytest.mark.parametrize("func, name, arg, expected", TRANSFORM)
def test_transform(ct, cfunc, func, name, arg, expected):
    typ = getattr(ct, name)
    assert cfunc(func, typ, typ)(arg) == expected


@pytest.mark.parametrize(
    "func, name, arg, expected",
    [
        ("neg_int", "c_int", 5, -5),
        ("half_double", "c_double", 3.0, 1.5),
        ("half_float", "c_float", 3.0, 1.5),
        ("half_longdouble", "c_longdouble", 3.0, 1.5),
        ("neg_longlong", "c_longlong", 2**40, -(2**40)),
        ("inc_ulonglong", "c_ulonglong", 2**64 - 1, 0),
        ("echo_int8", "c_int8", -5, -5),
        ("next_char", "c_char", b"x", b"y"),
        ("not_bool", "c_bool", True, False),
        ("next_wchar", "c_wchar", "a", "b"),
        ("echo_voidp", "c_void_p", 5, 5),
    ],
)
def test_simple_instances_without_argtypes(ct, lib, func, name, arg, expected):
    # Without argtypes a simple instance is passed as its own C type.
    typ = getattr(ct, name)
    f = getattr(lib, func)
    f.restype = typ
    assert f(typ(arg)) == expected


def test_simple_instance_argument_is_not_modified(ct, lib):
    x = ct.c_int(5)
    assert lib.neg_int(x) == -5
    assert x.value == 5


# ---- conversions without argtypes -------------------------------------------------------------


def test_bytes_str_none_without_argtypes(ct, lib):
    str_len = lib.str_len
    str_len.restype = ct.c_size_t
    assert str_len(b"hello") == 5  # bytes -> char *
    # str -> wchar_t *: "ab" is 61 00 00 00 62 00 00 00, so strlen sees one byte
    assert str_len("ab") == 1
    wstr_len = lib.wstr_len
    wstr_len.restype = ct.c_size_t
    assert wstr_len("h\u00e9llo\U0001f600") == 6
    assert lib.is_null(None) == 1  # None -> NULL
    assert lib.is_null(b"") == 0


def test_bool_without_argtypes(lib):
    assert lib.echo_int(True) == 1
    assert lib.echo_int(False) == 0


@pytest.mark.parametrize("value", [-(2**31), -1, 0, 2**31 - 1])
def test_int_without_argtypes(lib, value):
    assert lib.echo_int(value) == value


@pytest.mark.parametrize("value, as_int", [(2**31, -(2**31)), (2**32 - 1, -1)])
def test_int_without_argtypes_unsigned_half(lib, value, as_int):
    # inside the union of the int and unsigned int ranges: wraps in both implementations
    assert lib.echo_int(value) == as_int


@pytest.mark.parametrize("value", [2**32, 2**40, 2**63, -(2**31) - 1, -(2**63)])
def test_int_without_argtypes_out_of_range(lib, value):
    # An int that fits 64 bits is passed as a C int: its low 32 bits.
    assert lib.echo_int(value) == ((value + 2**31) % 2**32) - 2**31


@pytest.mark.parametrize("value", [2**64, 2**100, -(2**63) - 1])
def test_int_without_argtypes_beyond_64_bits(ct, lib, value):
    with pytest.raises(ct.ArgumentError) as info:
        lib.echo_int(value)
    assert str(info.value) == "argument 1: OverflowError: int too long to convert"


def test_int_without_argtypes_is_32_bits(ct, lib):
    # add_ll takes two long longs, but without argtypes a Python int is passed as a C int.
    assert lib.add_ll(5, 6) == 11
    assert lib.add_ll(2**40, 1) == 1
    add_ll = lib.add_ll
    add_ll.restype = ct.c_longlong
    assert add_ll(ct.c_longlong(2**40), ct.c_longlong(1)) == 2**40 + 1


class _Opaque:
    pass


@pytest.mark.parametrize(
    "args, index",
    [((1.5,), 1), ((_Opaque(),), 1), (([1],), 1), ((1, 2.5), 2), ((b"x", 1.5), 2)],
)
def test_unconvertible_without_argtypes(ct, lib, args, index):
    with pytest.raises(ct.ArgumentError) as info:
        lib.add(*args)
    assert str(info.value) == (
        f"argument {index}: TypeError: Don't know how to convert parameter {index}"
    )


def test_float_needs_argtypes_even_with_restype(ct, lib):
    half = lib.half_double
    half.restype = ct.c_double
    with pytest.raises(ct.ArgumentError, match="Don't know how to convert parameter 1"):
        half(2.5)
    assert half(ct.c_double(2.5)) == 1.25


def test_argument_error_class(ct, lib):
    assert issubclass(ct.ArgumentError, Exception)
    with pytest.raises(ct.ArgumentError) as info:
        lib.add(1.5, 1)
    assert info.value.args == ("argument 1: TypeError: Don't know how to convert parameter 1",)


# ---- argtypes ---------------------------------------------------------------------------------


def test_argtypes_keep_the_sequence(ct, lib):
    f = lib.add
    types = (ct.c_int, ct.c_int)
    f.argtypes = types
    assert f.argtypes == types
    assert type(f.argtypes) is tuple
    assert f(3, 4) == 7
    as_list = [ct.c_int, ct.c_int]
    f.argtypes = as_list
    assert f.argtypes is as_list
    assert f(5, 6) == 11


def test_argtypes_reset(ct, lib):
    # (a function that never reads its parameters: called with none, `add` would
    # compute from argument registers nobody set, which valgrind reports)
    f = lib.ignore_args
    f.argtypes = [ct.c_int, ct.c_int]
    f.argtypes = None
    assert f.argtypes is None
    assert f() == 7  # no argument count check any more
    f.argtypes = [ct.c_int, ct.c_int]
    del f.argtypes
    assert f.argtypes is None


@pytest.mark.parametrize(
    "value, message",
    [
        (5, "_argtypes_ must be a sequence of types"),
        ([5], "item 1 in _argtypes_ has no from_param method"),
        ([int], "item 1 in _argtypes_ has no from_param method"),
    ],
)
def test_argtypes_invalid(ct, lib, value, message):
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        lib.add.argtypes = value


def test_argtypes_accept_from_param_objects(ct, lib):
    class Doubler:
        @classmethod
        def from_param(cls, obj):
            return ct.c_int(obj * 2)

    f = lib.add
    f.argtypes = [Doubler, ct.c_int]
    assert f(5, 1) == 11


@pytest.mark.parametrize(
    "args, given", [((), 0), ((1,), 1)], ids=["none", "one"]
)  # fmt: skip
def test_too_few_arguments(ct, lib, args, given):
    f = lib.add
    f.argtypes = [ct.c_int, ct.c_int]
    with pytest.raises(TypeError) as info:
        f(*args)
    assert str(info.value) == f"this function takes at least 2 arguments ({given} given)"


def test_too_few_arguments_singular(ct, lib):
    f = lib.neg_int
    f.argtypes = [ct.c_int]
    with pytest.raises(TypeError, match=r"^this function takes at least 1 argument \(0 given\)$"):
        f()


def test_keyword_arguments_are_not_positional(ct, lib):
    f = lib.add
    f.argtypes = [ct.c_int, ct.c_int]
    with pytest.raises(TypeError, match=r"takes at least 2 arguments \(0 given\)"):
        f(a=1, b=2)


def test_extra_arguments_are_allowed_for_cdecl(ct, lib):
    # cdecl functions may be variadic, so ctypes passes extra arguments with the default
    # conversions instead of raising.
    f = lib.add
    f.argtypes = [ct.c_int, ct.c_int]
    assert f(1, 2, 3) == 3
    assert f(1, 2, 3, 4) == 3
    g = lib.noop
    g.argtypes = []
    g.restype = None
    assert g(1, b"x") is None
    h = lib.add
    h.argtypes = [ct.c_int]
    assert h(1, 2) == 3
    with pytest.raises(ct.ArgumentError, match="Don't know how to convert parameter 2"):
        h(1, 2.5)


WRONG_TYPE = [
    # (function, argtypes (names), good first arg, bad second arg)
    ("add", ["c_int", "c_int"], 1, 1.5),
    ("add", ["c_int", "c_int"], 1, "a"),
    ("add", ["c_int", "c_int"], 1, b"a"),
    ("add", ["c_int", "c_int"], 1, None),
    ("add", ["c_int", "c_int"], 1, _Opaque()),
    ("scale", ["c_double", "c_double"], 1.0, "x"),
    ("scale", ["c_double", "c_double"], 1.0, None),
    ("scale", ["c_double", "c_double"], 1.0, 2**2000),
    ("swap_ints", ["c_char_p", "c_char_p"], b"x", "str"),
    ("swap_ints", ["c_char_p", "c_char_p"], b"x", 1),
    ("swap_ints", ["c_char_p", "c_char_p"], b"x", bytearray(b"x")),
    ("swap_ints", ["c_wchar_p", "c_wchar_p"], "x", b"bytes"),
    ("swap_ints", ["c_wchar_p", "c_wchar_p"], "x", 1),
    ("swap_ints", ["c_void_p", "c_void_p"], None, 1.5),
    ("swap_ints", ["c_char", "c_char"], b"a", "a"),
    ("swap_ints", ["c_char", "c_char"], b"a", b"ab"),
    ("swap_ints", ["c_char", "c_char"], b"a", 300),
    ("swap_ints", ["c_wchar", "c_wchar"], "a", b"a"),
    ("swap_ints", ["c_wchar", "c_wchar"], "a", "ab"),
    ("swap_ints", ["c_wchar", "c_wchar"], "a", 97),
    ("swap_ints", ["c_float", "c_float"], 1.0, "x"),
    ("swap_ints", ["c_longdouble", "c_longdouble"], 1.0, 2**2000),
]


@pytest.mark.parametrize("func, argtypes, good, bad", WRONG_TYPE)
def test_wrong_argument_type(ct, fixture_path, func, argtypes, good, bad):
    # The argument check runs before the call, so the C function is never reached. The
    # message is ctypes' own: "wrong type" on 3.11, the conversion's error from 3.12.
    def declared(m):
        f = getattr(m.CDLL(fixture_path), func)
        f.argtypes = [getattr(m, n) for n in argtypes]
        return f

    error = raises_like_stdlib(ct, lambda m: declared(m)(good, bad))
    assert type(error) is ct.ArgumentError
    assert str(error).startswith("argument 2: ")
    error = raises_like_stdlib(ct, lambda m: declared(m)(bad, good))
    assert str(error).startswith("argument 1: ")


@pytest.mark.parametrize(
    "argtype, instance",
    [("c_int", ("c_long", 2)), ("c_int", ("c_short", 2)), ("c_int", ("c_double", 2.0)),
     ("c_double", ("c_float", 1.5)), ("c_double", ("c_int", 2)),
     ("c_char_p", ("c_wchar_p", "x")), ("c_char_p", ("c_void_p", 0)),
     ("c_void_p", ("c_int", 1))],
)  # fmt: skip
def test_wrong_simple_instance_type(ct, fixture_path, argtype, instance):
    # No implicit conversion between simple types, even where C would convert.
    name, value = instance

    def call(m):
        f = m.CDLL(fixture_path).swap_ints
        f.argtypes = [getattr(m, argtype)]
        return f(getattr(m, name)(value))

    error = raises_like_stdlib(ct, call)
    assert type(error) is ct.ArgumentError
    assert str(error).startswith("argument 1: TypeError: ")


def test_accepted_argument_conversions(ct, cfunc):
    str_len = cfunc("str_len", ct.c_size_t, ct.c_char_p)
    assert str_len(b"abc") == 3
    assert str_len(None) == 2**64 - 1  # NULL reached the function
    assert str_len(ct.create_string_buffer(b"abcd")) == 4
    assert str_len(ct.c_char_p(b"xy")) == 2
    assert str_len(ct.pointer(ct.c_char(b"q"))) == 1
    wstr_len = cfunc("wstr_len", ct.c_size_t, ct.c_wchar_p)
    assert wstr_len("abc") == 3
    assert wstr_len(ct.create_unicode_buffer("abcd")) == 4
    is_null = cfunc("is_null", ct.c_int, ct.c_void_p)
    assert is_null(None) == 1
    assert is_null(0) == 1
    assert is_null(1) == 0
    assert is_null(b"x") == 0  # c_void_p accepts bytes and str
    assert is_null("x") == 0
    assert is_null(ct.byref(ct.c_int(1))) == 0
    assert is_null(ct.create_string_buffer(1)) == 0
    echo_char = cfunc("echo_char", ct.c_char, ct.c_char)
    assert echo_char(97) == b"a"
    assert echo_char(bytearray(b"z")) == b"z"
    echo_bool = cfunc("echo_bool", ct.c_bool, ct.c_bool)
    assert echo_bool(5) is True
    assert echo_bool([]) is False
    assert echo_bool(None) is False
    echo_float = cfunc("echo_float", ct.c_float, ct.c_float)
    assert echo_float(1e300) == float("inf")
    assert echo_float(0.1) == ct.c_float(0.1).value


@pytest.mark.parametrize(
    "func, argtypes, args, expected",
    [
        ("add", ["c_int", "c_int"], (2**31, 1), -(2**31) + 1),
        ("add", ["c_int", "c_int"], (2**32 - 1, 1), 0),
        ("echo_uint8", ["c_uint8"], (-1,), 255),
        ("echo_int64", ["c_int64"], (2**64 - 1,), -1),
        ("echo_uint64", ["c_uint64"], (-(2**63),), 2**63),
    ],
)
def test_int_argtypes_wrap_inside_union_range(ct, lib, func, argtypes, args, expected):
    f = getattr(lib, func)
    f.argtypes = [getattr(ct, n) for n in argtypes]
    f.restype = f.argtypes[0]
    assert f(*args) == expected


@pytest.mark.parametrize(
    "func, argtypes, args, index, truncated",
    [
        ("add", ["c_int", "c_int"], (2**40, 1), 1, 1),
        ("add", ["c_int", "c_int"], (1, 2**40), 2, 1),
        ("add", ["c_int", "c_int"], (2**64, 1), 1, 1),
        ("add", ["c_int", "c_int"], (-(2**31) - 1, 0), 1, 2**31 - 1),
        ("echo_uint8", ["c_uint8"], (300,), 1, 44),
        ("echo_int64", ["c_int64"], (2**64,), 1, 0),
        ("echo_uint64", ["c_uint64"], (-(2**63) - 1,), 1, 2**63 - 1),
    ],
)
def test_int_argtypes_out_of_range(ct, lib, func, argtypes, args, index, truncated):
    f = getattr(lib, func)
    f.argtypes = [getattr(ct, n) for n in argtypes]
    f.restype = f.argtypes[0]
    assert f(*args) == truncated


# ---- _as_parameter_ -----------------------------------------------------------------------------


class _Param:
    def __init__(self, value):
        self._as_parameter_ = value


class _ClassParam:
    _as_parameter_ = 7


@pytest.mark.parametrize("declared", [False, True], ids=["no-argtypes", "argtypes"])
def test_as_parameter(ct, lib, declared):
    f = lib.add
    if declared:
        f.argtypes = [ct.c_int, ct.c_int]
    assert f(_Param(2), _Param(3)) == 5
    assert f(_Param(_Param(2)), 3) == 5  # nested
    assert f(_Param(ct.c_int(4)), 3) == 7
    assert f(_ClassParam(), 1) == 8
    assert f(_ClassParam, 1) == 8  # looked up with getattr, so a class works too


def test_as_parameter_wrong_type(ct, lib):
    with pytest.raises(ct.ArgumentError, match="^argument 1: TypeError: Don't know how to convert"):
        lib.add(_Param(1.5), 3)

    def call(m):
        f = m.CDLL(lib._name).add
        f.argtypes = [m.c_int, m.c_int]
        return f(_Param(1.5), 3)

    error = raises_like_stdlib(ct, call)
    assert str(error).startswith("argument 1: TypeError: ")


def test_as_parameter_pointer(ct, lib):
    x = ct.c_int(0)
    lib.set_int(_Param(ct.byref(x)), 99)
    assert x.value == 99


# ---- pointers and out-parameters --------------------------------------------------------------


def test_out_parameter_without_argtypes(ct, lib):
    x = ct.c_int(0)
    lib.set_int(ct.byref(x), 77)
    assert x.value == 77
    lib.set_int(ct.pointer(x), 78)
    assert x.value == 78
    assert lib.get_through(ct.byref(x)) == 78


def test_out_parameter_with_pointer_argtypes(ct, cfunc):
    set_int = cfunc("set_int", None, ct.POINTER(ct.c_int), ct.c_int)
    x = ct.c_int(0)
    assert set_int(ct.byref(x), 79) is None
    assert x.value == 79
    set_int(ct.pointer(x), 80)
    assert x.value == 80
    set_int(x, 81)  # an instance of the pointed-to type is passed by reference
    assert x.value == 81
    arr = (ct.c_int * 3)()
    set_int(arr, 82)  # an array of the pointed-to type decays to a pointer
    assert list(arr) == [82, 0, 0]


def test_more_out_parameters(ct, cfunc):
    d = ct.c_double()
    cfunc("set_double", None, ct.POINTER(ct.c_double), ct.c_double)(ct.byref(d), 2.5)
    assert d.value == 2.5
    i = ct.c_int64()
    cfunc("set_i64", None, ct.POINTER(ct.c_int64), ct.c_int64)(ct.byref(i), -(2**62))
    assert i.value == -(2**62)
    s = ct.c_char_p()
    cfunc("set_char_p", None, ct.POINTER(ct.c_char_p))(ct.byref(s))
    assert s.value == b"hello from C"
    a, b = ct.c_int(1), ct.c_int(2)
    cfunc("swap_ints", None, ct.POINTER(ct.c_int), ct.POINTER(ct.c_int))(a, ct.pointer(b))
    assert (a.value, b.value) == (2, 1)


def test_pointer_argtype_accepts_null(ct, cfunc):
    is_null = cfunc("is_null", ct.c_int, ct.POINTER(ct.c_int))
    assert is_null(None) == 1
    assert is_null(ct.POINTER(ct.c_int)()) == 1
    assert is_null(ct.c_int(0)) == 0


@pytest.mark.parametrize(
    "make, described",
    [
        (lambda ct: ct.c_long(1), "c_long"),
        (lambda ct: ct.byref(ct.c_long(1)), "pointer to c_long"),
        (lambda ct: ct.pointer(ct.c_long(1)), "LP_c_long"),
        (lambda ct: 5, "int"),
        (lambda ct: b"abcd", "bytes"),
        (lambda ct: (ct.c_short * 2)(), "c_short_Array_2"),
    ],
    ids=["c_long", "byref-c_long", "pointer-c_long", "int", "bytes", "short-array"],
)
def test_pointer_argtype_wrong_type(ct, cfunc, make, described):
    set_int = cfunc("set_int", None, ct.POINTER(ct.c_int), ct.c_int)
    with pytest.raises(ct.ArgumentError) as info:
        set_int(make(ct), 1)
    assert str(info.value) == (
        f"argument 1: TypeError: expected LP_c_int instance instead of {described}"
    )


def test_pointer_argtype_names_the_aliased_class(ct, cfunc):
    # c_int64 *is* c_long on LP64, so its pointer type is LP_c_long.
    sum_i64 = cfunc("sum_i64", ct.c_int64, ct.POINTER(ct.c_int64), ct.c_int)
    with pytest.raises(ct.ArgumentError) as info:
        sum_i64((ct.c_int * 4)(), 4)
    assert str(info.value) == (
        "argument 1: TypeError: expected LP_c_long instance instead of c_int_Array_4"
    )


def test_arrays_as_pointers(ct, cfunc, lib):
    arr = (ct.c_int * 4)(1, 2, 3, 4)
    assert lib.sum_ints(arr, 4) == 10
    sum_ints = cfunc("sum_ints", ct.c_int, ct.POINTER(ct.c_int), ct.c_int)
    assert sum_ints(arr, 4) == 10
    a64 = (ct.c_int64 * 3)(2**40, 2**41, -1)
    sum_i64 = cfunc("sum_i64", ct.c_int64, ct.POINTER(ct.c_int64), ct.c_int)
    assert sum_i64(a64, 3) == 2**40 + 2**41 - 1
    dbl = (ct.c_double * 3)(0.5, 0.25, 0.125)
    assert cfunc("sum_doubles", ct.c_double, ct.POINTER(ct.c_double), ct.c_int)(dbl, 3) == 0.875
    out = (ct.c_int * 5)()
    cfunc("fill_iota", None, ct.POINTER(ct.c_int), ct.c_int)(out, 5)
    assert list(out) == [0, 1, 2, 3, 4]


# ---- restype ----------------------------------------------------------------------------------


def test_restype_string_pointers(ct, cfunc):
    assert cfunc("get_static_string", ct.c_char_p)() == b"hello from C"
    assert cfunc("get_null_string", ct.c_char_p)() is None
    assert cfunc("get_static_wstring", ct.c_wchar_p)() == "wide \u00e9\u4e2d"
    assert cfunc("get_null_pointer", ct.c_wchar_p)() is None


def test_restype_c_void_p(ct, cfunc):
    assert cfunc("get_null_pointer", ct.c_void_p)() is None
    address = cfunc("get_static_string", ct.c_void_p)()
    assert type(address) is int
    assert ct.string_at(address) == b"hello from C"
    assert ct.cast(address, ct.c_char_p).value == b"hello from C"


def test_restype_pointer(ct, cfunc):
    p = cfunc("get_static_int_ptr", ct.POINTER(ct.c_int))()
    assert isinstance(p, ct.POINTER(ct.c_int))
    assert p.contents.value == 1234
    assert p[0] == 1234
    get_static_int = cfunc("get_static_int", ct.c_int)
    try:
        p[0] = 99
        assert get_static_int() == 99
    finally:
        p[0] = 1234
    null = cfunc("get_null_pointer", ct.POINTER(ct.c_int))()
    assert isinstance(null, ct.POINTER(ct.c_int))
    assert not null


def test_restype_callable(ct, lib):
    f = lib.add
    seen = []

    def restype(value):
        seen.append(value)
        return ("got", value)

    f.restype = restype
    assert f.restype is restype
    assert f(2, 3) == ("got", 5)
    assert seen == [5]
    assert type(seen[0]) is int
    f.restype = int  # any callable, here a plain type
    assert f(1, 1) == 2


def test_restype_invalid(ct, lib):
    with pytest.raises(TypeError, match="^restype must be a type, a callable, or None$"):
        lib.add.restype = 5


def test_restype_delete_restores_default(ct, lib):
    f = lib.add
    f.restype = ct.c_double
    del f.restype
    assert f.restype is ct.c_int
    assert f(1, 2) == 3


def test_restype_subclass_is_not_converted(ct, lib):
    # A subclass of a simple type as restype returns an instance, not a Python value.
    class MyInt(ct.c_int):
        pass

    f = lib.neg_int
    f.restype = MyInt
    got = f(7)
    assert type(got) is MyInt
    assert got.value == -7

    class MyCharP(ct.c_char_p):
        pass

    g = lib.get_static_string
    g.restype = MyCharP
    got = g()
    assert type(got) is MyCharP
    assert got.value == b"hello from C"


def test_restype_is_per_function_object(ct, fixture_path):
    a = ct.CDLL(fixture_path)
    b = ct.CDLL(fixture_path)
    a.neg_int.restype = None
    assert b.neg_int(3) == -3
    assert a.neg_int(3) is None


# ---- errcheck ---------------------------------------------------------------------------------


def test_errcheck(ct, lib):
    calls = []

    def errcheck(result, func, args):
        calls.append((result, func, args))
        return result * 10

    f = lib.add
    f.errcheck = errcheck
    assert f.errcheck is errcheck
    assert f(2, 3) == 50
    result, func, args = calls[0]
    assert result == 5
    assert type(result) is int
    assert func is f
    assert args == (2, 3)


def test_errcheck_gets_the_original_arguments(ct, lib):
    calls = []
    f = lib.add
    f.argtypes = [ct.c_int, ct.c_int]
    f.errcheck = lambda result, func, args: calls.append(args) or result
    x = ct.c_int(2)
    assert f(x, 3) == 5
    assert calls[0][0] is x
    assert calls[0][1] == 3


def test_errcheck_with_restype(ct, lib):
    f = lib.get_static_string
    f.restype = ct.c_char_p
    f.errcheck = lambda result, func, args: (result, args)
    assert f() == (b"hello from C", ())
    g = lib.noop
    g.restype = None
    g.errcheck = lambda result, func, args: ("none", result)
    assert g() == ("none", None)


def test_errcheck_exception_propagates(ct, lib):
    def errcheck(result, func, args):
        raise ValueError(f"bad result {result}")

    f = lib.add
    f.errcheck = errcheck
    with pytest.raises(ValueError, match="^bad result 3$"):
        f(1, 2)


def test_errcheck_must_be_callable(ct, lib):
    f = lib.add
    with pytest.raises(TypeError, match="^the errcheck attribute must be callable$"):
        f.errcheck = 5
    with pytest.raises(TypeError, match="^the errcheck attribute must be callable$"):
        f.errcheck = None  # use del to remove it
    f.errcheck = lambda r, fn, a: r + 1
    del f.errcheck
    assert f.errcheck is None
    assert f(1, 2) == 3


def test_restype_exception_propagates(ct, lib):
    f = lib.add
    f.restype = lambda value: 1 / 0
    with pytest.raises(ZeroDivisionError):
        f(1, 2)


# ---- strings through C ------------------------------------------------------------------------


def test_wide_strings(ct, cfunc):
    buf = ct.create_unicode_buffer("abc\u00e9")
    assert cfunc("wupper_in_place", ct.c_int, ct.c_wchar_p)(buf) == 3
    assert buf.value == "ABC\u00e9"
    assert cfunc("wstr_len", ct.c_size_t, ct.c_wchar_p)("\U0001f600\U0001f600") == 2


def test_copy_string_returns_the_destination(ct, cfunc):
    copy = cfunc("copy_string", ct.c_char_p, ct.c_char_p, ct.c_char_p)
    dst = ct.create_string_buffer(16)
    assert copy(dst, b"copied") == b"copied"
    assert dst.value == b"copied"


def test_high_bytes_survive(ct, cfunc):
    byte_at = cfunc("byte_at", ct.c_int, ct.c_char_p, ct.c_int)
    data = bytes([0x41, 0x80, 0xFF, 0x7F])
    assert [byte_at(data, i) for i in range(4)] == list(data)
