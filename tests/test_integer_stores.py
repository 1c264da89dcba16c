"""Out-of-range integers keep their low bits, as in ctypes, everywhere an integer is stored.

ctypes converts an int for an n-bit integer type by keeping its low n bits, whatever its size
(``c_uint8(256)`` is 0, ``c_int(2**64 + 5)`` is 5, ``c_uint(-1)`` is 4294967295), in values,
fields, bit-fields, array elements and slices, pointer elements, arguments and callback
results. Each test here takes its expectation from the running interpreter's stdlib ctypes
(``PLACES[...](ctypes, ...)``) and, where the rule is plain C's, checks it against ``wrap``.
Strict mode, which refuses these values, is tested in ``test_strict.py``.
"""

from __future__ import annotations

import ctypes

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdlib_errors import raises_like_stdlib

# name, bits, signed
INT_TYPES = [
    ("c_byte", 8, True), ("c_ubyte", 8, False), ("c_short", 16, True),
    ("c_ushort", 16, False), ("c_int", 32, True), ("c_uint", 32, False),
    ("c_long", 64, True), ("c_ulong", 64, False), ("c_longlong", 64, True),
    ("c_ulonglong", 64, False), ("c_int8", 8, True), ("c_uint8", 8, False),
    ("c_int16", 16, True), ("c_uint16", 16, False), ("c_int32", 32, True),
    ("c_uint32", 32, False), ("c_int64", 64, True), ("c_uint64", 64, False),
    ("c_size_t", 64, False), ("c_ssize_t", 64, True),
]  # fmt: skip
INT_IDS = [t[0] for t in INT_TYPES]
BITS = {name: (bits, signed) for name, bits, signed in INT_TYPES}

# The fixture's echo_<x> per type, and its callback caller ft_cb_call_<x> where there is one.
ECHO = {
    "c_byte": "schar", "c_ubyte": "uchar", "c_short": "short", "c_ushort": "ushort",
    "c_int": "int", "c_uint": "uint", "c_long": "long", "c_ulong": "ulong",
    "c_longlong": "longlong", "c_ulonglong": "ulonglong", "c_int8": "int8", "c_uint8": "uint8",
    "c_int16": "int16", "c_uint16": "uint16", "c_int32": "int32", "c_uint32": "uint32",
    "c_int64": "int64", "c_uint64": "uint64", "c_size_t": "size_t", "c_ssize_t": "ssize_t",
}  # fmt: skip
CB_CALL = {
    "c_int8": "int8", "c_uint8": "uint8", "c_int16": "int16", "c_uint16": "uint16",
    "c_int32": "int32", "c_uint32": "uint32", "c_int64": "int64", "c_uint64": "uint64",
    "c_int": "int", "c_long": "long", "c_size_t": "size_t",
}  # fmt: skip


def wrap(value, bits, signed):
    """What C gives for ``value`` stored in an n-bit integer: the low bits."""
    value &= (1 << bits) - 1
    if signed and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def out_of_range(bits):
    """Values outside [-2**(n-1), 2**n - 1], including ones wider than 64 bits."""
    lo, hi = -(1 << (bits - 1)), (1 << bits) - 1
    return [hi + 1, hi + 7, lo - 1, lo - 7, 2**64, 2**64 + 5, 2**70 + 3, -(2**70) - 3, 2**200 + 9]


def in_range(bits):
    """Values inside [-2**(n-1), 2**n - 1], where the signed and unsigned readings wrap."""
    lo, hi = -(1 << (bits - 1)), (1 << bits) - 1
    return [0, 1, -1, lo, hi, 1 << (bits - 1)]


class Index:
    """An object with ``__index__`` (ctypes' integer setters accept it)."""

    def __init__(self, v):
        self.v = v

    def __index__(self):
        return self.v


class AsParameter:
    def __init__(self, v):
        self._as_parameter_ = v


# ---- the places an integer is stored --------------------------------------------------------
# Each takes (module, type name, value, lib) and returns what Python reads back.


def _value(m, t, v, lib):
    x = getattr(m, t)(3)
    x.value = v
    return x.value


def _field(m, t, v, lib):
    S = type("S", (m.Structure,), {"_fields_": [("pad", m.c_char), ("f", getattr(m, t))]})
    s = S()
    s.f = v
    return s.f, s.pad


def _field_init(m, t, v, lib):
    S = type("S", (m.Structure,), {"_fields_": [("f", getattr(m, t)), ("g", m.c_int)]})
    s = S(v, 7)
    return s.f, s.g


def _union(m, t, v, lib):
    U = type("U", (m.Union,), {"_fields_": [("f", getattr(m, t)), ("raw", m.c_char * 8)]})
    u = U()
    u.raw = b"\xaa" * 8
    u.f = v
    return u.f, bytes(u)


def _swapped_field(m, t, v, lib):
    S = type("S", (m.BigEndianStructure,), {"_fields_": [("f", getattr(m, t))]})
    s = S()
    s.f = v
    return s.f, bytes(s)


def _swapped_value(m, t, v, lib):
    T = getattr(m, t)
    other = T.__ctype_be__ if T.__ctype_le__ is T else T.__ctype_le__
    return other(v).value, bytes(other(v))


def _array_init(m, t, v, lib):
    return list((getattr(m, t) * 3)(1, v, 3))


def _element(m, t, v, lib):
    a = (getattr(m, t) * 3)(1, 2, 3)
    a[1] = v
    return list(a)


def _slice(m, t, v, lib):
    a = (getattr(m, t) * 4)(1, 2, 3, 4)
    a[1:3] = [v, v]
    return list(a)


def _extended_slice(m, t, v, lib):
    a = (getattr(m, t) * 4)(1, 2, 3, 4)
    a[::2] = [v, v]
    return list(a)


def _pointer_element(m, t, v, lib):
    a = (getattr(m, t) * 3)(1, 2, 3)
    p = m.cast(a, m.POINTER(getattr(m, t)))
    p[2] = v
    return list(a)


def _pointer_contents(m, t, v, lib):
    x = getattr(m, t)()
    m.pointer(x).contents.value = v
    return x.value


def _from_param(m, t, v, lib):
    return repr(getattr(m, t).from_param(v))


def _argument(m, t, v, lib):
    f = getattr(lib, "echo_" + ECHO[t])
    f.argtypes = [getattr(m, t)]
    f.restype = getattr(m, t)
    return f(v)


def _argument_as_parameter(m, t, v, lib):
    return _argument(m, t, AsParameter(v), lib)


def _index_object(m, t, v, lib):
    return getattr(m, t)(Index(v)).value


def _callback_result(m, t, v, lib):
    T = getattr(m, t)
    if t in CB_CALL:
        # C calls the callback and returns what it got back.
        caller = getattr(lib, "ft_cb_call_" + CB_CALL[t])
        proto = m.CFUNCTYPE(T, T)
        caller.argtypes = [proto, T]
        caller.restype = T
        return caller(proto(lambda a: v), 0)
    return m.CFUNCTYPE(T)(lambda: v)()


PLACES = {
    "constructor": lambda m, t, v, lib: getattr(m, t)(v).value,
    "value": _value,
    "field": _field,
    "field-init": _field_init,
    "union": _union,
    "swapped-field": _swapped_field,
    "swapped-value": _swapped_value,
    "array-init": _array_init,
    "element": _element,
    "slice": _slice,
    "extended-slice": _extended_slice,
    "pointer-element": _pointer_element,
    "pointer-contents": _pointer_contents,
    "from_param": _from_param,
    "argument": _argument,
    "argument-as-parameter": _argument_as_parameter,
    "index-object": _index_object,
    "callback-result": _callback_result,
}


class Libs:
    """A fresh ``CDLL`` of the fixture for each use (function objects are cached on a CDLL,
    and their argtypes must not leak from one place into another)."""

    def __init__(self, path, ferrotype):
        self.path = path
        self.modules = {"ctypes": ctypes, "ferrotype": ferrotype}

    def __getitem__(self, name):
        return self.modules[name].CDLL(self.path)


@pytest.fixture(scope="module")
def libs(fixture_path, ferrotype):
    return Libs(fixture_path, ferrotype)


def _expected(place, t, v, libs):
    return PLACES[place](ctypes, t, v, libs["ctypes"])


@pytest.mark.parametrize("place", list(PLACES))
@pytest.mark.parametrize("name, bits, signed", INT_TYPES, ids=INT_IDS)
def test_out_of_range_keeps_the_low_bits(ct, libs, place, name, bits, signed):
    for v in out_of_range(bits) + in_range(bits):
        got = PLACES[place](ct, name, v, libs[ct.__name__])
        assert got == _expected(place, name, v, libs), (place, name, v)
    # The rule itself, on the simplest place.
    for v in out_of_range(bits):
        assert ct.__dict__[name](v).value == wrap(v, bits, signed)


_ints = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.integers(min_value=-(2**16), max_value=2**16),
    st.sampled_from([2**63, 2**64 - 1, 2**64, -(2**63) - 1, 2**32, -(2**31) - 1, 256, -129]),
)


@settings(max_examples=25, deadline=None)
@given(v=_ints)
@pytest.mark.parametrize("place", list(PLACES))
@pytest.mark.parametrize("name", INT_IDS)
def test_random_ints_stored_as_in_ctypes(ferrotype, libs, place, name, v):
    assert PLACES[place](ferrotype, name, v, libs["ferrotype"]) == _expected(place, name, v, libs)


# ---- bit-fields ------------------------------------------------------------------------------
# Two fields of one type that share one storage unit: laid out alike by every ctypes version
# and the C compiler, so the stored bits can be compared.


def _bitfield_struct(m, t, width):
    T = getattr(m, t)
    total = m.sizeof(T) * 8
    return type("B", (m.Structure,), {"_fields_": [("lo", T, width), ("hi", T, total - width)]})


def _bitfield_store(m, t, width, field, v):
    s = _bitfield_struct(m, t, width)()
    s.lo, s.hi = 1, 1  # neighbours that must keep their bits
    setattr(s, field, v)
    return s.lo, s.hi, bytes(s)


BITFIELD_TYPES = ["c_byte", "c_ubyte", "c_short", "c_ushort", "c_int", "c_uint", "c_long",
                  "c_ulong", "c_longlong", "c_ulonglong"]  # fmt: skip


@pytest.mark.parametrize("width", [1, 3, 7])
@pytest.mark.parametrize("name", BITFIELD_TYPES)
def test_bitfield_keeps_the_low_bits(ct, name, width):
    bits, signed = BITS[name]
    for field, w in (("lo", width), ("hi", bits - width)):
        for v in out_of_range(w) + in_range(w) + [2**64 + 3, -(2**64) - 3]:
            got = _bitfield_store(ct, name, width, field, v)
            assert got == _bitfield_store(ctypes, name, width, field, v), (field, v)
            # read back sign-extended for a signed type, zero-extended otherwise
            assert got[0 if field == "lo" else 1] == wrap(v, w, signed), (field, v)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
@pytest.mark.parametrize("name", BITFIELD_TYPES)
def test_random_bitfield_stores_as_in_ctypes(ferrotype, name, data):
    bits, _ = BITS[name]
    width = data.draw(st.integers(1, bits - 1))
    field = data.draw(st.sampled_from(["lo", "hi"]))
    v = data.draw(_ints)
    got = _bitfield_store(ferrotype, name, width, field, v)
    assert got == _bitfield_store(ctypes, name, width, field, v)


def test_bitfield_float_is_refused_as_in_ctypes(ct):
    raises_like_stdlib(ct, lambda m: setattr(_bitfield_struct(m, "c_int", 3)(), "lo", 1.5))


# ---- arguments without argtypes -------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [2**31, 2**32 - 1, 2**32, 2**32 + 5, 2**40 + 7, 2**63, 2**64 - 1, -(2**31) - 1, -(2**63)],
)
def test_int_without_argtypes_is_its_low_32_bits(ct, libs, value):
    lib = libs[ct.__name__]
    expected = wrap(value, 32, True)
    assert lib.echo_int(value) == expected == libs["ctypes"].echo_int(value)
    assert lib.echo_int(AsParameter(value)) == expected  # through _as_parameter_
    assert lib.echo_int(type("MyInt", (int,), {})(value)) == expected  # an int subclass


@pytest.mark.parametrize("value", [2**64, 2**100, -(2**63) - 1, -(2**100)])
def test_int_without_argtypes_beyond_64_bits_raises(ct, libs, value):
    raises_like_stdlib(ct, lambda m: libs[m.__name__].echo_int(value))


def test_variadic_extra_int_is_its_low_32_bits(ct, libs):
    lib = libs[ct.__name__]
    f = lib.add
    f.argtypes = [ct.c_int, ct.c_int]
    f.restype = ct.c_int
    assert f(2**40 + 1, 2, 2**40) == 3  # the extra is converted (as a C int) and ignored


# ---- the other simple types -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["c_void_p", "c_char_p", "c_wchar_p"])
@pytest.mark.parametrize("value", [2**64, 2**64 + 8, 2**70 + 16, -1, -(2**70) - 1])
def test_address_keeps_the_low_64_bits(ct, name, value):
    T = getattr(ct, name)
    got = ct.cast(T(value), ct.c_void_p).value
    assert got == ctypes.cast(getattr(ctypes, name)(value), ctypes.c_void_p).value
    assert got == (value % 2**64 or None)


@pytest.mark.parametrize("value", [2**64 + 8, -(2**70) - 1])
def test_void_p_argument_and_cast_keep_the_low_64_bits(ct, libs, value):
    f = libs[ct.__name__].echo_voidp
    f.argtypes = [ct.c_void_p]
    f.restype = ct.c_void_p
    assert f(value) == value % 2**64
    assert ct.cast(value, ct.c_void_p).value == value % 2**64
    assert repr(ct.c_void_p.from_param(value)) == repr(ctypes.c_void_p.from_param(value))


@pytest.mark.parametrize("value", [2, 2**70, -(2**70), Index(5)])
def test_c_bool_takes_truth(ct, value):
    assert ct.c_bool(value).value is ctypes.c_bool(value).value


@pytest.mark.parametrize("value", [256, -1, 2**70, -(2**70)])
def test_c_char_refuses_ints_outside_range_256(ct, value):
    # ctypes does not wrap here: an int for c_char must be in range(256)
    raises_like_stdlib(ct, lambda m: m.c_char(value))


@pytest.mark.parametrize("name", ["c_int", "c_longlong", "c_uint8"])
@pytest.mark.parametrize("value", [1.5, "1", None, 2.0])
def test_non_integers_keep_ctypes_errors(ct, name, value):
    raises_like_stdlib(ct, lambda m: getattr(m, name)(value))


@pytest.mark.parametrize("value", [2**2000, -(2**2000)])
@pytest.mark.parametrize("name", ["c_float", "c_double"])
def test_huge_int_to_float_raises_as_in_ctypes(ct, name, value):
    raises_like_stdlib(ct, lambda m: getattr(m, name)(value))


# ---- the functions ctypes declares in Python ------------------------------------------------
# memset is CFUNCTYPE(c_void_p, c_void_p, c_int, c_size_t), memmove takes a c_size_t count,
# string_at and wstring_at a c_int size: their integers wrap as those arguments do.


def test_memset_byte_and_count_wrap(ct):
    b = ct.create_string_buffer(b"abcdef")
    ct.memset(b, 2**70 + ord("B"), 2**64 + 2)
    assert b.raw == b"BBcdef\x00"
    ct.memset(b, -256 + ord("C"), 1)
    assert b.raw == b"CBcdef\x00"


def test_memmove_count_wraps(ct):
    b = ct.create_string_buffer(b"abcdef")
    ct.memmove(b, b"xyz", 2**64 + 2)
    assert b.raw == b"xycdef\x00"


@pytest.mark.parametrize("size", [2**32 + 2, 2**64 + 2, 2**70 + 2])
def test_string_at_size_is_a_c_int(ct, size):
    b = ct.create_string_buffer(b"abcdef")
    assert ct.string_at(b, size) == b"ab"
    w = ct.create_unicode_buffer("abcdef")
    assert ct.wstring_at(w, size) == "ab"


@pytest.mark.parametrize(
    "action",
    [
        lambda m: m.memset(m.create_string_buffer(2), 1.5, 1),
        lambda m: m.memset(m.create_string_buffer(2), "a", 1),
        lambda m: m.memset(m.create_string_buffer(2), 65, 1.5),
        lambda m: m.memmove(m.create_string_buffer(2), b"x", 1.5),
        lambda m: m.string_at(m.create_string_buffer(2), 1.5),
    ],
)
def test_integer_argument_errors_as_in_ctypes(ct, action):
    raises_like_stdlib(ct, action)


def test_negative_string_sizes_are_overflow_errors(ferrotype):
    # Deliberate difference: ctypes passes a size below -1 (a huge size wrapped to a C
    # int) on to the C API, which raises SystemError (the exception for an interpreter
    # bug); ferrotype raises OverflowError, also through the C functions at
    # `_string_at_addr`/`_wstring_at_addr`.
    m = ferrotype
    b, w = m.create_string_buffer(2), m.create_unicode_buffer(2)
    for call in (
        lambda: m.string_at(b, -2),
        lambda: m.wstring_at(w, -2),
        lambda: m._string_at(b, -2),
        lambda: m._wstring_at(w, -2),
    ):
        with pytest.raises(OverflowError, match=r"size is negative \(or overflowed\): -2"):
            call()
    assert m._string_at(b, -1) == b""


def test_memset_takes_instances_of_its_argument_types(ct):
    b = ct.create_string_buffer(b"abc")
    ct.memset(b, ct.c_int(ord("F")), ct.c_size_t(1))
    assert b.raw == b"Fbc\x00"
    assert ct.string_at(b, ct.c_int(2)) == b"Fb"


@pytest.mark.skipif(not hasattr(ctypes, "memoryview_at"), reason="memoryview_at is new in 3.14")
def test_memoryview_at_size_is_a_c_ssize_t(ct):
    b = ct.create_string_buffer(b"abcdef")
    assert bytes(ct.memoryview_at(b, 2**64 + 2)) == b"ab"
    raises_like_stdlib(ct, lambda m: m.memoryview_at(m.create_string_buffer(2), 2**64 - 1))


# ---- conversions that do not wrap in ctypes either ------------------------------------------


@pytest.mark.parametrize("value", [2**64, 2**70, -(2**63) - 1])
def test_address_conversions_raise_as_in_ctypes(ct, value):
    # from_address and a function pointer's address convert like PyLong_AsVoidPtr
    raises_like_stdlib(ct, lambda m: m.c_int.from_address(value))
    raises_like_stdlib(ct, lambda m: m.CFUNCTYPE(m.c_int)(value))


def test_function_pointer_address_wraps_negative_values(ct):
    f = ct.CFUNCTYPE(ct.c_int)(-1)
    assert ct.cast(f, ct.c_void_p).value == 2**64 - 1


@pytest.mark.parametrize("value", [2**63, 2**70, -(2**70)])
@pytest.mark.parametrize(
    "action",
    [
        lambda m, v: m.resize(m.c_int(), v),
        lambda m, v: m.c_int.from_buffer(bytearray(8), v),
        lambda m, v: m.c_int.from_buffer_copy(bytes(8), v),
    ],
    ids=["resize", "from_buffer", "from_buffer_copy"],
)
def test_size_arguments_beyond_ssize_t_raise_as_in_ctypes(ct, action, value):
    raises_like_stdlib(ct, lambda m: action(m, value))
