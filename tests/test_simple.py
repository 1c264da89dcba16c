"""Simple types (the ``c_*`` classes): layout, values, conversions, reprs, errors, byte order.

Integers behave as in ctypes: an n-bit integer type keeps the low n bits of any int (even of
one wider than 64 bits), so ``c_uint(-1)`` is 4294967295 and ``c_int(2**40 + 5)`` is 5. Strict
mode, which refuses values outside [-2**(n-1), 2**n - 1], is tested in ``test_strict.py``.
"""

import ctypes
import gc
import re
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdlib_errors import raises_like_stdlib

# (name, bits, signed) for every integer type, aliases included.
INT_TYPES = [
    ("c_byte", 8, True),
    ("c_ubyte", 8, False),
    ("c_short", 16, True),
    ("c_ushort", 16, False),
    ("c_int", 32, True),
    ("c_uint", 32, False),
    ("c_long", 64, True),
    ("c_ulong", 64, False),
    ("c_longlong", 64, True),
    ("c_ulonglong", 64, False),
    ("c_int8", 8, True),
    ("c_uint8", 8, False),
    ("c_int16", 16, True),
    ("c_uint16", 16, False),
    ("c_int32", 32, True),
    ("c_uint32", 32, False),
    ("c_int64", 64, True),
    ("c_uint64", 64, False),
    ("c_size_t", 64, False),
    ("c_ssize_t", 64, True),
]
INT_IDS = [t[0] for t in INT_TYPES]


def wrap(value, bits, signed):
    """What C gives for ``value`` stored in an n-bit integer: keep the low bits."""
    value &= (1 << bits) - 1
    if signed and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


# ---- layout -----------------------------------------------------------------------------------


# On LP64 ctypes makes several names the *same class*, which shows in reprs: c_longlong(1) is
# printed as c_long(1).
@pytest.mark.parametrize(
    "alias, target",
    [
        ("c_int8", "c_byte"),
        ("c_uint8", "c_ubyte"),
        ("c_int16", "c_short"),
        ("c_uint16", "c_ushort"),
        ("c_int32", "c_int"),
        ("c_uint32", "c_uint"),
        ("c_int64", "c_long"),
        ("c_uint64", "c_ulong"),
        ("c_longlong", "c_long"),
        ("c_ulonglong", "c_ulong"),
        ("c_size_t", "c_ulong"),
        ("c_ssize_t", "c_long"),
        ("c_voidp", "c_void_p"),
    ],
)
def test_alias_identity(ct, alias, target):
    assert getattr(ct, alias) is getattr(ct, target)


LAYOUT = [
    # name, _type_, sizeof, alignment
    ("c_bool", "?", 1, 1),
    ("c_char", "c", 1, 1),
    ("c_byte", "b", 1, 1),
    ("c_ubyte", "B", 1, 1),
    ("c_short", "h", 2, 2),
    ("c_ushort", "H", 2, 2),
    ("c_int", "i", 4, 4),
    ("c_uint", "I", 4, 4),
    ("c_long", "l", 8, 8),
    ("c_ulong", "L", 8, 8),
    ("c_float", "f", 4, 4),
    ("c_double", "d", 8, 8),
    ("c_longdouble", "g", 16, 16),
    ("c_wchar", "u", 4, 4),
    ("c_char_p", "z", 8, 8),
    ("c_wchar_p", "Z", 8, 8),
    ("c_void_p", "P", 8, 8),
]


@pytest.mark.parametrize("name, code, size, align", LAYOUT, ids=[t[0] for t in LAYOUT])
def test_layout(ct, name, code, size, align):
    cls = getattr(ct, name)
    assert cls._type_ == code
    assert cls.__name__ == name
    assert ct.sizeof(cls) == size
    assert ct.alignment(cls) == align
    assert ct.sizeof(cls()) == size
    assert ct.alignment(cls()) == align


@pytest.mark.parametrize(
    "func, name",
    [
        ("ft_sizeof_long_double", "c_longdouble"),
        ("ft_sizeof_wchar_t", "c_wchar"),
        ("ft_sizeof_bool", "c_bool"),
        ("ft_sizeof_long", "c_long"),
    ],
)
def test_sizes_match_the_c_compiler(ct, cfunc, func, name):
    assert cfunc(func, ct.c_size_t)() == ct.sizeof(getattr(ct, name))


@pytest.mark.parametrize("name, bits, signed", INT_TYPES, ids=INT_IDS)
def test_int_sizes(ct, name, bits, signed):
    assert ct.sizeof(getattr(ct, name)) * 8 == bits


# ---- default values and reprs ----------------------------------------------------------------


DEFAULTS = [
    ("c_bool", False, "c_bool(False)"),
    ("c_char", b"\x00", "c_char(b'\\x00')"),
    ("c_byte", 0, "c_byte(0)"),
    ("c_ubyte", 0, "c_ubyte(0)"),
    ("c_short", 0, "c_short(0)"),
    ("c_ushort", 0, "c_ushort(0)"),
    ("c_int", 0, "c_int(0)"),
    ("c_uint", 0, "c_uint(0)"),
    ("c_long", 0, "c_long(0)"),
    ("c_ulong", 0, "c_ulong(0)"),
    ("c_longlong", 0, "c_long(0)"),
    ("c_ulonglong", 0, "c_ulong(0)"),
    ("c_int8", 0, "c_byte(0)"),
    ("c_uint64", 0, "c_ulong(0)"),
    ("c_size_t", 0, "c_ulong(0)"),
    ("c_ssize_t", 0, "c_long(0)"),
    ("c_float", 0.0, "c_float(0.0)"),
    ("c_double", 0.0, "c_double(0.0)"),
    ("c_longdouble", 0.0, "c_longdouble(0.0)"),
    ("c_wchar", "\x00", "c_wchar('\\x00')"),
    ("c_char_p", None, "c_char_p(None)"),
    ("c_wchar_p", None, "c_wchar_p(None)"),
    ("c_void_p", None, "c_void_p(None)"),
]


@pytest.mark.parametrize("name, value, text", DEFAULTS, ids=[t[0] for t in DEFAULTS])
def test_default_value_and_repr(ct, name, value, text):
    obj = getattr(ct, name)()
    assert obj.value == value
    assert type(obj.value) is type(value)
    assert repr(obj) == text


REPRS = [
    ("c_int", 5, "c_int(5)"),
    ("c_int", -5, "c_int(-5)"),
    ("c_uint", 7, "c_uint(7)"),
    ("c_longlong", 2**40, "c_long(1099511627776)"),
    ("c_double", 1.5, "c_double(1.5)"),
    ("c_double", 1e300, "c_double(1e+300)"),
    ("c_double", float("inf"), "c_double(inf)"),
    ("c_double", float("nan"), "c_double(nan)"),
    ("c_float", 0.1, "c_float(0.10000000149011612)"),
    ("c_longdouble", 0.1, "c_longdouble(0.1)"),
    ("c_bool", 1, "c_bool(True)"),
    ("c_char", b"x", "c_char(b'x')"),
    ("c_char", b"\xff", "c_char(b'\\xff')"),
    ("c_wchar", "\u4e2d", "c_wchar('\u4e2d')"),
    ("c_void_p", 16, "c_void_p(16)"),
    ("c_void_p", 0, "c_void_p(None)"),
    ("c_char_p", None, "c_char_p(None)"),
    ("c_char_p", 0, "c_char_p(None)"),
]


@pytest.mark.parametrize("name, value, text", REPRS)
def test_repr(ct, name, value, text):
    assert repr(getattr(ct, name)(value)) == text


def test_repr_of_string_pointers_shows_the_address(ct):
    # c_char_p / c_wchar_p repr is "<class name>(<address as int>)", not the string.
    s = ct.c_char_p(b"x")
    assert repr(s) == f"c_char_p({ct.cast(s, ct.c_void_p).value})"
    w = ct.c_wchar_p("x")
    assert re.fullmatch(r"c_wchar_p\(\d+\)", repr(w))
    assert repr(w) == f"c_wchar_p({ct.cast(w, ct.c_void_p).value})"


# ---- integers ---------------------------------------------------------------------------------


def _in_range_samples(bits, signed):
    lo, hi = -(1 << (bits - 1)), (1 << bits) - 1
    smax = (1 << (bits - 1)) - 1
    return sorted({lo, lo + 1, -1, 0, 1, smax, smax + 1, hi - 1, hi})


@pytest.mark.parametrize("name, bits, signed", INT_TYPES, ids=INT_IDS)
def test_int_values_in_range(ct, name, bits, signed):
    # The union of the signed and unsigned ranges wraps the same way in both implementations.
    cls = getattr(ct, name)
    for v in _in_range_samples(bits, signed):
        expected = wrap(v, bits, signed)
        obj = cls(v)
        assert obj.value == expected, v
        assert type(obj.value) is int
        assert repr(obj) == f"{cls.__name__}({expected})"
        obj.value = v
        assert obj.value == expected
        assert bytes(obj) == v.to_bytes(bits // 8, "little", signed=v < 0)


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("c_uint", -1, 4294967295),
        ("c_int", 0xFFFFFFFF, -1),
        ("c_ubyte", -1, 255),
        ("c_byte", 255, -1),
        ("c_ushort", -32768, 32768),
        ("c_ulong", -1, 2**64 - 1),
        ("c_long", 2**64 - 1, -1),
        ("c_long", 2**63, -(2**63)),
        ("c_int", True, 1),
    ],
)
def test_int_wraps_inside_union_range(ct, name, value, expected):
    assert getattr(ct, name)(value).value == expected


def _out_of_range_samples(bits):
    lo, hi = -(1 << (bits - 1)), (1 << bits) - 1
    return [hi + 1, hi + 5, lo - 1, 2**64, 2**64 + 5, -(2**64), 2**100, -(2**100)]


@pytest.mark.parametrize("name, bits, signed", INT_TYPES, ids=INT_IDS)
def test_int_out_of_range(ct, name, bits, signed):
    cls = getattr(ct, name)
    for v in _out_of_range_samples(bits):
        # ctypes keeps the low bits, even of ints wider than 64 bits.
        assert cls(v).value == wrap(v, bits, signed), v
        obj = cls(1)
        obj.value = v
        assert obj.value == wrap(v, bits, signed)


@pytest.mark.parametrize(
    "name, value, truncated",
    [("c_int", 2**40, 0), ("c_ubyte", 300, 44), ("c_byte", -129, 127), ("c_int", 2**64 + 5, 5)],
)
def test_int_truncation_examples(ct, name, value, truncated):
    assert getattr(ct, name)(value).value == truncated


@settings(max_examples=60, deadline=None)
@given(data=st.data())
@pytest.mark.parametrize("name, bits, signed", INT_TYPES, ids=INT_IDS)
def test_int_roundtrip_property(ct, name, bits, signed, data):
    cls = getattr(ct, name)
    v = data.draw(st.integers(min_value=-(1 << (bits - 1)), max_value=(1 << bits) - 1))
    assert cls(v).value == wrap(v, bits, signed)
    outside = data.draw(
        st.integers(min_value=1 << bits, max_value=1 << 70)
        | st.integers(min_value=-(1 << 70), max_value=-(1 << (bits - 1)) - 1)
    )
    assert cls(outside).value == wrap(outside, bits, signed)


class _Index:
    def __index__(self):
        return 7


class _IntOnly:
    def __int__(self):
        return 7


def test_int_accepts_index_but_not_int(ct):
    assert ct.c_int(_Index()).value == 7
    assert ct.c_ulong(_Index()).value == 7
    with pytest.raises(TypeError, match="'_IntOnly' object cannot be interpreted as an integer"):
        ct.c_int(_IntOnly())


# ---- floating point ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["c_float", "c_double", "c_longdouble"])
@pytest.mark.parametrize("value", [0.0, -0.0, 1.5, -2.25, 1e-300, 1e300, 0.1, 3])
def test_float_values(ct, name, value):
    obj = getattr(ct, name)(value)
    expected = float(value)
    if name == "c_float":
        try:
            expected = struct.unpack("f", struct.pack("f", value))[0]
        except OverflowError:  # too large for a float: C gives infinity
            expected = float("inf")
    assert type(obj.value) is float
    assert obj.value == expected
    assert str(obj.value) == str(expected)  # keeps the sign of zero


def test_float_special_values(ct):
    assert ct.c_float(1e300).value == float("inf")  # no OverflowError, like C
    assert ct.c_float(-1e300).value == float("-inf")
    assert ct.c_double(float("nan")).value != ct.c_double(float("nan")).value
    assert ct.c_double(float("-inf")).value == float("-inf")
    assert ct.c_double(-0.0).value.hex() == "-0x0.0p+0"


def test_float_accepts_dunder_float_and_index(ct):
    class F:
        def __float__(self):
            return 2.5

    assert ct.c_double(F()).value == 2.5
    assert ct.c_float(F()).value == 2.5
    assert ct.c_double(_Index()).value == 7.0


def test_float_bytes(ct):
    assert bytes(ct.c_double(1.0)) == struct.pack("<d", 1.0)
    assert bytes(ct.c_float(1.5)) == struct.pack("<f", 1.5)


# ---- characters and strings --------------------------------------------------------------------


@pytest.mark.parametrize(
    "arg, expected", [(b"a", b"a"), (97, b"a"), (bytearray(b"z"), b"z"), (255, b"\xff"), (0, b"\0")]
)
def test_c_char_values(ct, arg, expected):
    assert ct.c_char(arg).value == expected


@pytest.mark.parametrize("arg", ["a", "\U0001f600", "\u4e2d", "\x00"])
def test_c_wchar_values(ct, arg):
    assert ct.c_wchar(arg).value == arg


def test_c_char_p_values(ct):
    assert ct.c_char_p(b"hello").value == b"hello"
    assert ct.c_char_p(b"").value == b""
    assert ct.c_char_p(b"ab\x00cd").value == b"ab"  # stops at the NUL
    assert ct.c_char_p(None).value is None
    assert ct.c_char_p(0).value is None
    assert ct.c_char_p().value is None
    x = ct.c_char_p(b"abc")
    x.value = b"zz"
    assert x.value == b"zz"
    x.value = None
    assert x.value is None


def test_c_wchar_p_values(ct):
    assert ct.c_wchar_p("h\u00e9llo \u4e2d \U0001f600").value == "h\u00e9llo \u4e2d \U0001f600"
    assert ct.c_wchar_p("x\x00y").value == "x"
    assert ct.c_wchar_p(None).value is None
    assert ct.c_wchar_p(0).value is None


def test_c_char_p_keeps_its_bytes_alive(ct):
    data = bytes(range(65, 91)) * 3  # a fresh object, not interned
    x = ct.c_char_p(data)
    expected = bytes(data)
    del data
    gc.collect()
    assert x.value == expected
    assert x._objects == expected


def test_c_void_p_values(ct):
    assert ct.c_void_p(None).value is None
    assert ct.c_void_p(0).value is None
    assert ct.c_void_p(1).value == 1
    assert ct.c_void_p(2**64 - 1).value == 2**64 - 1
    assert ct.c_void_p(-1).value == 2**64 - 1  # inside the union range: wraps in both
    v = ct.c_void_p(5)
    v.value = None
    assert v.value is None
    # Beyond 64 bits, the low 64 bits.
    assert ct.c_void_p(2**64).value is None
    assert ct.c_void_p(2**64 + 8).value == 8


@pytest.mark.parametrize(
    "arg, expected",
    [
        (5, True),
        (0, False),
        ([], False),
        ([0], True),
        ("", False),
        ("x", True),
        (None, False),
        (2**100, True),
        (0.0, False),
        (0.5, True),
        (_Index(), True),
    ],
)
def test_c_bool_truthiness(ct, arg, expected):
    obj = ct.c_bool(arg)
    assert obj.value is expected
    obj.value = not expected
    assert obj.value is (not expected)


# ---- errors -----------------------------------------------------------------------------------


# (type, argument, exception); the message is the running interpreter's ctypes' own.
CONSTRUCTOR_ERRORS = [
    ("c_int", 1.5, TypeError),
    ("c_int", "1", TypeError),
    ("c_int", None, TypeError),
    ("c_int", b"1", TypeError),
    ("c_uint", 1.5, TypeError),
    ("c_longlong", 1.5, TypeError),
    ("c_ubyte", 1.5, TypeError),
    ("c_double", "x", TypeError),
    ("c_double", None, TypeError),
    ("c_float", "x", TypeError),
    ("c_longdouble", "x", TypeError),
    ("c_double", 2**2000, OverflowError),
    ("c_char", b"ab", TypeError),
    ("c_char", b"", TypeError),
    ("c_char", "a", TypeError),
    ("c_char", 256, TypeError),
    ("c_char", -1, TypeError),
    ("c_wchar", "ab", TypeError),
    ("c_wchar", "", TypeError),
    ("c_wchar", b"a", TypeError),
    ("c_wchar", 97, TypeError),
    ("c_char_p", "str", TypeError),
    ("c_char_p", bytearray(b"x"), TypeError),
    ("c_char_p", 1.5, TypeError),
    ("c_wchar_p", b"x", TypeError),
    ("c_wchar_p", 1.5, TypeError),
    ("c_void_p", b"x", TypeError),
    ("c_void_p", "x", TypeError),
    ("c_void_p", 1.5, TypeError),
]


@pytest.mark.parametrize("name, arg, exc", CONSTRUCTOR_ERRORS)
def test_constructor_errors(ct, name, arg, exc):
    error = raises_like_stdlib(ct, lambda m: getattr(m, name)(arg))
    assert type(error) is exc
    # the value setter uses the same conversion
    raises_like_stdlib(ct, lambda m: setattr(getattr(m, name)(), "value", arg))


def test_constructor_takes_one_argument(ct):
    with pytest.raises(TypeError, match="expected at most 1 argument, got 2"):
        ct.c_int(1, 2)


def test_value_cannot_be_deleted(ct):
    x = ct.c_int(3)
    with pytest.raises(TypeError, match="can't delete attribute"):
        del x.value
    assert x.value == 3


# ---- bytes and byte order -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, value, raw",
    [
        ("c_int", 1, b"\x01\x00\x00\x00"),
        ("c_int", -2, b"\xfe\xff\xff\xff"),
        ("c_ushort", 0x0102, b"\x02\x01"),
        ("c_long", 1, b"\x01" + b"\x00" * 7),
        ("c_char", b"A", b"A"),
        ("c_bool", True, b"\x01"),
        ("c_wchar", "A", b"A\x00\x00\x00"),
        ("c_void_p", 0x1234, b"\x34\x12" + b"\x00" * 6),
    ],
)
def test_bytes(ct, name, value, raw):
    assert bytes(getattr(ct, name)(value)) == raw


WITH_BYTE_ORDER = ["c_byte", "c_ubyte", "c_char", "c_short", "c_ushort", "c_int", "c_uint",
                   "c_long", "c_ulong", "c_float", "c_double"]  # fmt: skip
WITHOUT_BYTE_ORDER = ["c_bool", "c_wchar", "c_char_p", "c_wchar_p", "c_void_p", "c_longdouble"]


def _stdlib_swaps(name):
    """Whether the running stdlib has byte-order variants of ``name`` (``c_bool`` from 3.14)."""
    return hasattr(getattr(ctypes, name), "__ctype_be__")


@pytest.mark.parametrize("name", WITH_BYTE_ORDER + WITHOUT_BYTE_ORDER)
def test_byte_order_variants_exist(ct, name):
    if name in WITH_BYTE_ORDER:
        assert _stdlib_swaps(name)
    elif not _stdlib_swaps(name):
        pytest.skip(f"{name} has no byte-order variants in this version's ctypes")
    cls = getattr(ct, name)
    # little-endian machine: the native type is its own __ctype_le__
    assert cls.__ctype_le__ is cls
    be = cls.__ctype_be__
    assert ct.sizeof(be) == ct.sizeof(cls)
    assert be._type_ == cls._type_
    assert be.__ctype_be__ is be
    assert be.__ctype_le__ is cls
    std = getattr(ctypes, name)
    if std.__ctype_be__ is std:  # one byte, nothing to swap (3.14's c_bool has its own class)
        assert be is cls
    else:
        assert be is not cls
        assert be.__name__ == std.__ctype_be__.__name__  # c_int_be...; 3.14: c_bool


@pytest.mark.parametrize("name", WITHOUT_BYTE_ORDER)
def test_byte_order_variants_missing(ct, name):
    if _stdlib_swaps(name):
        pytest.skip(f"{name} has byte-order variants in this version's ctypes")
    cls = getattr(ct, name)
    assert not hasattr(cls, "__ctype_be__")
    assert not hasattr(cls, "__ctype_le__")


@pytest.mark.parametrize(
    "name, value, raw",
    [
        ("c_int", 1, b"\x00\x00\x00\x01"),
        ("c_int", -2, b"\xff\xff\xff\xfe"),
        ("c_uint", 0xFFFFFFFF, b"\xff\xff\xff\xff"),
        ("c_short", 0x0102, b"\x01\x02"),
        ("c_long", -2, b"\xff" * 7 + b"\xfe"),
        ("c_ulong", 2**64 - 2, b"\xff" * 7 + b"\xfe"),
        ("c_double", 1.0, struct.pack(">d", 1.0)),
        ("c_float", 1.5, struct.pack(">f", 1.5)),
    ],
)
def test_big_endian_values(ct, name, value, raw):
    be = getattr(ct, name).__ctype_be__
    obj = be(value)
    assert bytes(obj) == raw
    assert obj.value == value
    assert repr(obj) == f"{be.__name__}({value!r})"
    obj.value = value
    assert bytes(obj) == raw


# ---- from_param ---------------------------------------------------------------------------------


FROM_PARAM = [
    ("c_int", 5, "<cparam 'i' (5)>"),
    ("c_int", -5, "<cparam 'i' (-5)>"),
    ("c_uint", 5, "<cparam 'I' (5)>"),
    ("c_short", 5, "<cparam 'h' (5)>"),
    ("c_ushort", 5, "<cparam 'H' (5)>"),
    ("c_byte", 5, "<cparam 'b' (5)>"),
    ("c_ubyte", 5, "<cparam 'B' (5)>"),
    ("c_long", 5, "<cparam 'l' (5)>"),
    ("c_ulong", 5, "<cparam 'L' (5)>"),
    ("c_ulonglong", 5, "<cparam 'L' (5)>"),
    # the repr prints the slot as a signed long long
    ("c_ulong", 2**64 - 1, "<cparam 'L' (-1)>"),
    ("c_double", 1.5, "<cparam 'd' (1.5)>"),
    ("c_double", 1e300, "<cparam 'd' (1e+300)>"),
    ("c_float", 0.1, "<cparam 'f' (0.10000000149011612)>"),
    ("c_char", b"a", "<cparam 'c' ('a')>"),
    ("c_char", b"\x01", "<cparam 'c' ('\\x01')>"),
    ("c_char", b"'", "<cparam 'c' ('\\x27')>"),
    ("c_void_p", 5, "<cparam 'P' (0x5)>"),
]


@pytest.mark.parametrize("name, value, text", FROM_PARAM)
def test_from_param_repr(ct, name, value, text):
    param = getattr(ct, name).from_param(value)
    assert type(param).__name__ == "CArgObject"
    assert repr(param) == text


@pytest.mark.parametrize(
    "name, value, pattern",
    [
        ("c_bool", 1, r"<cparam '\?' at 0x[0-9a-f]+>"),
        ("c_longdouble", 1.5, r"<cparam 'g' at 0x[0-9a-f]+>"),
        ("c_wchar", "a", r"<cparam 'u' at 0x[0-9a-f]+>"),
        ("c_char_p", b"x", r"<cparam 'z' \(0x[0-9a-f]+\)>"),
        ("c_wchar_p", "x", r"<cparam 'Z' \(0x[0-9a-f]+\)>"),
        # c_void_p accepts bytes, and then passes it as a char*
        ("c_void_p", b"x", r"<cparam 'z' \(0x[0-9a-f]+\)>"),
    ],
)
def test_from_param_repr_shape(ct, name, value, pattern):
    assert re.fullmatch(pattern, repr(getattr(ct, name).from_param(value)))


@pytest.mark.parametrize("name", ["c_char_p", "c_wchar_p", "c_void_p"])
def test_from_param_none(ct, name):
    assert getattr(ct, name).from_param(None) is None


@pytest.mark.parametrize("name, value", [("c_int", 3), ("c_double", 1.5), ("c_char_p", b"z")])
def test_from_param_instance_is_returned_as_is(ct, name, value):
    obj = getattr(ct, name)(value)
    assert getattr(ct, name).from_param(obj) is obj


@pytest.mark.parametrize(
    "name, value",
    [("c_int", 1.5), ("c_int", "x"), ("c_char_p", "x"), ("c_wchar_p", b"x"), ("c_double", "x")],
)
def test_from_param_wrong_type(ct, name, value):
    # 3.11: "wrong type"; 3.12+ the conversion's error; 3.13+ c_char_p names the type
    error = raises_like_stdlib(ct, lambda m: getattr(m, name).from_param(value))
    assert type(error) is TypeError


def test_from_param_other_simple_instance_is_wrong_type(ct):
    # c_long is not a c_int: from_param does not convert between simple types
    error = raises_like_stdlib(ct, lambda m: m.c_int.from_param(m.c_long(1)))
    assert type(error) is TypeError


def test_from_param_overflow(ct):
    assert repr(ct.c_int.from_param(2**40)) == "<cparam 'i' (0)>"
    assert repr(ct.c_int.from_param(2**64 + 5)) == "<cparam 'i' (5)>"


# ---- subclasses ---------------------------------------------------------------------------------


def test_subclass_value_and_repr(ct):
    class MyInt(ct.c_int):
        pass

    x = MyInt(5)
    assert isinstance(x, ct.c_int)
    assert x.value == 5
    assert type(x.value) is int
    assert MyInt._type_ == "i"
    assert ct.sizeof(MyInt) == 4
    # Subclasses of a simple type print as a plain object, not as "MyInt(5)"...
    assert re.fullmatch(r"<MyInt object at 0x[0-9a-f]+>", repr(x))

    class MyDouble(ct.c_double):
        pass

    assert MyDouble(2.5).value == 2.5
    assert re.fullmatch(r"<MyDouble object at 0x[0-9a-f]+>", repr(MyDouble(2.5)))


def test_subclass_of_c_char_p_repr(ct):
    # ... except c_char_p, whose Python-level __repr__ uses the class name and the address.
    class MyCP(ct.c_char_p):
        pass

    assert repr(MyCP(None)) == "MyCP(None)"
    assert MyCP(b"q").value == b"q"


def test_subclass_from_param(ct):
    class MyInt(ct.c_int):
        pass

    assert repr(MyInt.from_param(5)) == "<cparam 'i' (5)>"
    x = MyInt(3)
    assert MyInt.from_param(x) is x
    assert ct.c_int.from_param(x) is x  # a subclass instance is a c_int


# ---- identity, equality, hashing ----------------------------------------------------------------


def test_equality_is_identity(ct):
    a, b = ct.c_int(1), ct.c_int(1)
    assert a != b
    assert not (a == b)
    assert a == a
    assert ct.c_double(1.0) != ct.c_double(1.0)


def test_unhashable(ct):
    with pytest.raises(TypeError, match="unhashable type"):
        hash(ct.c_int(1))


def test_simple_instances_own_their_memory(ct):
    x = ct.c_int(5)
    assert x._b_base_ is None
    assert x._objects is None
    assert x._b_needsfree_ == 1
