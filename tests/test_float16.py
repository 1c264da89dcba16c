"""c_float16 (``_type_ = 'e'``, IEEE 754 binary16): a ferrotype-only simple type.

Stdlib ctypes has no half-precision type, so these tests run against ferrotype alone and
hold it against NumPy's ``float16`` (conversions, bytes, dtypes) and the C compiler's
``_Float16`` (layout).
"""

import math
import struct
import sys

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

ft = pytest.importorskip("ferrotype")
np = pytest.importorskip("numpy")

from ccoracle import CCOracle, find_cc  # noqa: E402
from stdlib_errors import stdlib_error  # noqa: E402

h = ft.c_float16
NATIVE = "<" if sys.byteorder == "little" else ">"
OTHER = ">" if sys.byteorder == "little" else "<"
UNSUPPORTED = "^ferrotype: float16 arguments and results are not supported by libffi$"


def np_half(x):
    """NumPy's float16 of ``x``, without its overflow warning."""
    with np.errstate(all="ignore"):
        return np.float16(x)


def half_bits(x):
    return int(np_half(x).view(np.uint16))


def test_type_basics():
    assert h._type_ == "e"
    assert ft.sizeof(h) == 2
    assert ft.alignment(h) == 2
    assert h().value == 0.0
    assert bytes(h()) == b"\0\0"
    assert isinstance(h(1).value, float)
    assert memoryview(h(1.0)).format == NATIVE + "e"
    assert h.dtype == np.dtype(NATIVE + "f2")


@given(st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True))
@example(0.1)
@example(-0.0)
@example(65504.0)
@example(65519.99)
@example(65520.0)
@example(1e6)
@example(-1e300)
@example(2.0**-24)
@example(2.0**-25)
@example(3 * 2.0**-25)
@example(5e-324)
@example(1 + 2.0**-11)
# Rounded once from double, not through float: via float32 this would tie down to 1.0.
@example(1 + 2.0**-11 + 2.0**-40)
def test_value_matches_numpy(x):
    v = h(x)
    ref = np_half(x)
    if math.isnan(x):
        assert math.isnan(v.value)
        assert math.copysign(1, v.value) == math.copysign(1, x)
        return
    assert bytes(v) == ref.tobytes()
    got = v.value
    assert got == float(ref)
    assert math.copysign(1, got) == math.copysign(1, float(ref))


def test_spot_values():
    assert h(1e6).value == math.inf
    assert h(-1e6).value == -math.inf
    assert h(65504).value == 65504.0
    assert h(65520).value == math.inf
    assert math.isnan(h(math.nan).value)
    assert math.copysign(1, h(-0.0).value) == -1
    assert h(2.0**-24).value == 2.0**-24
    assert h(2.0**-25).value == 0.0
    assert h(0.1).value == 0.0999755859375
    assert bytes(h(1.0)) == (b"\x00\x3c" if sys.byteorder == "little" else b"\x3c\x00")


@given(st.integers(min_value=-(2**60), max_value=2**60))
@example(2049)
@example(65519)
@example(65520)
def test_ints_convert_like_numpy(n):
    assert bytes(h(n)) == np_half(n).tobytes()
    x = h()
    x.value = n
    assert bytes(x) == np_half(n).tobytes()


def test_every_bit_pattern_reads_exactly():
    data = np.arange(65536, dtype=np.uint16).view(np.float16)
    raw = data.tobytes()
    arr = (h * 65536).from_buffer_copy(raw)
    values = list(arr)
    with np.errstate(invalid="ignore"):  # (qemu-user flags widening a signalling NaN)
        want = data.astype(np.float64)
    for i, (got, ref) in enumerate(zip(values, want, strict=True)):
        if math.isnan(ref):
            assert math.isnan(got), hex(i)
        else:
            assert got == ref and math.copysign(1, got) == math.copysign(1, ref), hex(i)
            # Reading is exact, so storing the value back gives the same bits.
            assert bytes(h(got)) == raw[2 * i : 2 * i + 2], hex(i)


def test_non_numbers_raise_like_c_float():
    for bad in ("1.0", b"x", None, [1.0], object()):
        with pytest.raises(TypeError) as want:
            ft.c_float(bad)
        with pytest.raises(TypeError) as got:
            h(bad)
        assert str(got.value) == str(want.value)
    x = h(2.0)
    with pytest.raises(TypeError, match="must be real number, not str"):
        x.value = "3"
    assert x.value == 2.0


def test_accepts_what_c_float_accepts():
    class WithFloat:
        def __float__(self):
            return 2.5

    class WithIndex:
        def __index__(self):
            return 7

    assert h(WithFloat()).value == 2.5
    assert h(WithIndex()).value == 7.0
    assert h(True).value == 1.0
    assert h(np.float32(0.5)).value == 0.5
    with pytest.raises(OverflowError):
        h(10**400)


def test_swapped_twin():
    be = h.__ctype_be__
    le = h.__ctype_le__
    swapped = be if sys.byteorder == "little" else le
    assert (le if sys.byteorder == "little" else be) is h
    assert swapped is not h
    assert swapped.__ctype_be__ is be and swapped.__ctype_le__ is le
    assert ft.sizeof(swapped) == 2 and ft.alignment(swapped) == 2
    for x in (1.0, -2.5, 0.1, 65504.0, 1e6, -0.0, 2.0**-24):
        assert bytes(swapped(x)) == bytes(h(x))[::-1]
        assert bytes(swapped(x)) == np.array([np_half(x)], dtype=OTHER + "f2").tobytes()
        assert swapped(x).value == h(x).value
    assert memoryview(swapped(1.0)).format == OTHER + "e"
    assert swapped.dtype == np.dtype(OTHER + "f2")


def test_endian_structures():
    class BE(ft.BigEndianStructure):
        _fields_ = [("x", h), ("y", h * 2)]

    class LE(ft.LittleEndianStructure):
        _fields_ = [("x", h), ("y", h * 2)]

    for cls, order in ((BE, ">"), (LE, "<")):
        s = cls(1.5, (2.0, -0.25))
        want = np.array([1.5, 2.0, -0.25], dtype=order + "f2").tobytes()
        assert bytes(s) == want
        assert (s.x, list(s.y)) == (1.5, [2.0, -0.25])
        s.x = 1e6
        assert s.x == math.inf


def test_structure_fields():
    class S(ft.Structure):
        _fields_ = [("c", ft.c_char), ("x", h), ("i", ft.c_int), ("y", h), ("z", h * 3)]

    assert ft.sizeof(S) == 16
    assert ft.alignment(S) == 4
    assert [S.c.offset, S.x.offset, S.i.offset, S.y.offset, S.z.offset] == [0, 2, 4, 8, 10]
    assert S.x.size == 2
    s = S(b"a", 0.1, 7, -3.0, (1.0, 2.0, 3.0))
    assert s.x == float(np_half(0.1))
    assert (s.i, s.y, list(s.z)) == (7, -3.0, [1.0, 2.0, 3.0])
    s.y = 65520
    assert s.y == math.inf
    assert bytes(s)[2:4] == np_half(0.1).tobytes()
    assert memoryview(s).format == f"T{{<c:c:x{NATIVE}e:x:{NATIVE}i:i:{NATIVE}e:y:(3){NATIVE}e:z:}}"
    dt = np.dtype(S)
    assert dt == np.dtype(
        {
            "names": ["c", "x", "i", "y", "z"],
            "formats": ["S1", NATIVE + "f2", NATIVE + "i4", NATIVE + "f2", (NATIVE + "f2", (3,))],
            "offsets": [0, 2, 4, 8, 10],
            "itemsize": 16,
        }
    )
    rec = np.frombuffer(bytes(s), dtype=dt)[0]
    assert float(rec["x"]) == s.x and list(rec["z"]) == [1.0, 2.0, 3.0]


def test_packed_structure():
    class P(ft.Structure):
        _layout_ = "ms"
        _pack_ = 1
        _fields_ = [("c", ft.c_char), ("x", h)]

    p = P(b"a", 1.5)
    assert ft.sizeof(P) == 3 and P.x.offset == 1
    assert p.x == 1.5
    assert bytes(p)[1:] == np_half(1.5).tobytes()


def test_not_a_bitfield_type():
    with pytest.raises(TypeError, match="bit fields not allowed for type c_float16"):

        class B(ft.Structure):
            _fields_ = [("x", h, 3)]


def test_arrays_and_numpy():
    A = h * 5
    vals = [0.0, -1.5, 0.1, 65504.0, 1e6]
    a = A(*vals)
    ref = np.array([np_half(v) for v in vals])
    assert bytes(a) == ref.tobytes()
    assert list(a) == [float(v) for v in ref]
    assert memoryview(a).format == NATIVE + "e"
    assert memoryview(a).shape == (5,)
    assert memoryview(a).itemsize == 2
    arr = np.asarray(a)
    assert arr.dtype == np.float16
    assert arr.shape == (5,)
    assert arr.tobytes() == bytes(a)
    assert A.dtype == np.dtype((np.float16, (5,)))
    a[2] = 3.0
    assert np.asarray(a)[2] == 3.0
    # The other way: NumPy's bytes read as c_float16.
    src = np.array([0.5, -2.0, np.inf], dtype=np.float16)
    b = (h * 3).from_buffer_copy(src.tobytes())
    assert list(b) == [0.5, -2.0, math.inf]
    m = (h * 3).from_buffer(bytearray(src.tobytes()))
    assert list(m) == [0.5, -2.0, math.inf]


def test_pointers():
    x = h(2.5)
    p = ft.pointer(x)
    assert p.contents.value == 2.5
    p[0] = -1.0
    assert x.value == -1.0
    assert ft.cast(ft.pointer(x), ft.POINTER(ft.c_uint16)).contents.value == 0xBC00


def test_calls_refuse_float16(fixture_path):
    lib = ft.CDLL(fixture_path)
    # Declared argument: refused when argtypes is set.
    add = lib.add
    with pytest.raises(TypeError, match=UNSUPPORTED):
        add.argtypes = [h, ft.c_int]
    assert add(2, 3) == 5
    # Declared result: refused when the interface is prepared (argtypes already set) ...
    scale = lib.scale
    scale.argtypes = [ft.c_double, ft.c_double]
    with pytest.raises(TypeError, match=UNSUPPORTED):
        scale.restype = h
    assert scale.restype is ft.c_int
    # ... or at the call otherwise.
    sub = ft.CDLL(fixture_path).add
    sub.restype = h
    with pytest.raises(TypeError, match=UNSUPPORTED):
        sub(1, 2)
    # An instance passed without argtypes.
    with pytest.raises(TypeError, match=UNSUPPORTED):
        ft.CDLL(fixture_path).add(h(1.0), 2)
    # The swapped twin too.
    with pytest.raises(TypeError, match=UNSUPPORTED):
        ft.CDLL(fixture_path).add.argtypes = [h.__ctype_be__, ft.c_int]
    # A pointer to one is fine.
    f = ft.CDLL(fixture_path).add
    f.argtypes = [ft.POINTER(h), ft.c_int]
    f.restype = ft.c_int


def test_calls_refuse_structures_holding_float16(fixture_path):
    class S(ft.Structure):
        _fields_ = [("i", ft.c_int), ("x", h)]

    class Outer(ft.Structure):
        _fields_ = [("s", S), ("d", ft.c_double)]

    class WithArray(ft.Structure):
        _fields_ = [("x", h * 2)]

    for cls in (S, Outer, WithArray):
        f = ft.CDLL(fixture_path).add
        with pytest.raises(TypeError, match=UNSUPPORTED):
            f.argtypes = [cls]
        g = ft.CDLL(fixture_path).scale
        g.argtypes = [ft.c_double, ft.c_double]
        with pytest.raises(TypeError, match=UNSUPPORTED):
            g.restype = cls
        with pytest.raises(TypeError, match=UNSUPPORTED):
            ft.CDLL(fixture_path).add(cls(), 1)


def test_from_param():
    p = h.from_param(1.5)
    assert repr(p).startswith("<cparam 'e' ")
    # as c_float's: "wrong type" on 3.11, the conversion's error from 3.12
    _, message = stdlib_error(lambda m: m.c_float.from_param("x"))
    with pytest.raises(TypeError) as info:
        h.from_param("x")
    assert str(info.value) == message


@pytest.fixture(scope="module")
def cc_float16(tmp_path_factory):
    cc = find_cc()
    if cc is None:
        pytest.skip("no C compiler")
    oracle = CCOracle(cc, tmp_path_factory.mktemp("float16cc"))
    if not oracle.compiles("_Float16 x; int main(void) { return 0; }"):
        pytest.skip("this C compiler has no _Float16")
    return oracle


def test_layout_and_bytes_match_cc(cc_float16):
    out = cc_float16.run(
        r"""
        int printf(const char *, ...);
        struct S { char c; _Float16 x; int i; _Float16 y[3]; double d; _Float16 z; };
        int main(void) {
            struct S s;
            __builtin_memset(&s, 0, sizeof s);
            s.x = (_Float16)0.1; s.y[1] = (_Float16)-65504.0; s.z = (_Float16)(1.0/3.0);
            printf("%d %d %d %d %d %d %d\n", (int)sizeof(struct S), (int)_Alignof(struct S),
                   (int)__builtin_offsetof(struct S, x), (int)__builtin_offsetof(struct S, i),
                   (int)__builtin_offsetof(struct S, y), (int)__builtin_offsetof(struct S, d),
                   (int)__builtin_offsetof(struct S, z));
            const unsigned char *p = (const unsigned char *)&s;
            for (unsigned k = 0; k < sizeof s; k++) printf("%02x", p[k]);
            printf("\n");
            return 0;
        }
        """
    )
    numbers, hexbytes = out.split("\n")[:2]

    class S(ft.Structure):
        _fields_ = [
            ("c", ft.c_char),
            ("x", h),
            ("i", ft.c_int),
            ("y", h * 3),
            ("d", ft.c_double),
            ("z", h),
        ]

    want = [int(n) for n in numbers.split()]
    assert [ft.sizeof(S), ft.alignment(S), S.x.offset, S.i.offset, S.y.offset] == want[:5]
    assert [S.d.offset, S.z.offset] == want[5:]
    s = S()
    s.x = 0.1
    s.y[1] = -65504.0
    s.z = 1.0 / 3.0
    assert bytes(s).hex() == hexbytes
    # Reading C's bytes back gives C's values.
    back = S.from_buffer_copy(bytes.fromhex(hexbytes))
    assert (back.x, back.y[1], back.z) == (h(0.1).value, -65504.0, h(1.0 / 3.0).value)


def test_struct_module_agrees():
    # Python's struct module has its own binary16 packer ('e'): same bytes.
    for x in (0.1, -2.5, 65504.0, 2.0**-24, 1 / 3):
        assert bytes(h(x)) == struct.pack(NATIVE + "e", x)
