"""from_buffer / from_buffer_copy: shared and copied memory, keep-alive of the source,
and ctypes' errors for read-only, non-contiguous, too-small buffers and bad offsets."""

import gc
import weakref

import pytest


def test_from_buffer_shares_memory(ct):
    buf = bytearray(8)
    x = ct.c_int.from_buffer(buf, 4)
    x.value = 0x01020304
    assert buf[4:] == (0x01020304).to_bytes(4, "little")
    buf[4] = 9
    assert x.value & 0xFF == 9


def test_from_buffer_keeps_the_source_alive_and_locked(ct):
    buf = bytearray(16)
    arr = (ct.c_int * 4).from_buffer(buf)
    with pytest.raises(BufferError):
        buf.append(1)
    holder = ct.c_int.from_buffer(bytearray(b"\x07\x00\x00\x00"))
    gc.collect()
    assert holder.value == 7
    arr[3] = 5
    assert buf[12] == 5


def test_from_buffer_of_array_module(ct):
    import array

    data = array.array("i", [1, 2, 3])
    arr = (ct.c_int * 3).from_buffer(data)
    assert list(arr) == [1, 2, 3]
    arr[1] = 20
    assert data[1] == 20


@pytest.mark.parametrize(
    "args, exc, message",
    [
        ((b"abcd",), TypeError, "underlying buffer is not writable"),
        ((bytearray(2),), ValueError, r"Buffer size too small \(2 instead of at least 4 bytes\)"),
        ((bytearray(8), -1), ValueError, "offset cannot be negative"),
        (
            (bytearray(8), 6),
            ValueError,
            r"Buffer size too small \(8 instead of at least 10 bytes\)",
        ),
        ((5,), TypeError, "bytes-like object is required"),
    ],
)
def test_from_buffer_errors(ct, args, exc, message):
    with pytest.raises(exc, match=message):
        ct.c_int.from_buffer(*args)


def test_from_buffer_refuses_non_contiguous(ct):
    np = pytest.importorskip("numpy")
    column = np.zeros((4, 4), np.int32)[:, 0]
    with pytest.raises(TypeError, match="underlying buffer is not C contiguous"):
        ct.c_int.from_buffer(column)


def test_from_buffer_copy(ct):
    x = ct.c_int.from_buffer_copy(b"abcd")
    assert x.value == int.from_bytes(b"abcd", "little")
    src = bytearray(b"\x01\x00\x00\x00\x02\x00\x00\x00")
    pair = (ct.c_int * 2).from_buffer_copy(src)
    src[0] = 9
    assert list(pair) == [1, 2]
    assert (ct.c_int * 1).from_buffer_copy(src, 4)[0] == 2
    ref = weakref.ref(pair)
    del pair
    gc.collect()
    assert ref() is None


@pytest.mark.parametrize(
    "args, exc, message",
    [
        ((b"ab",), ValueError, r"Buffer size too small \(2 instead of at least 4 bytes\)"),
        ((b"abcdef", -1), ValueError, "offset cannot be negative"),
        ((5,), TypeError, "bytes-like object is required"),
    ],
)
def test_from_buffer_copy_errors(ct, args, exc, message):
    with pytest.raises(exc, match=message):
        ct.c_int.from_buffer_copy(*args)


def test_structure_from_buffer(ct):
    class Point(ct.Structure):
        _fields_ = [("x", ct.c_double), ("y", ct.c_double)]

    raw = bytearray(16)
    p = Point.from_buffer(raw)
    p.y = 2.0
    assert raw[8:] == bytes(ct.c_double(2.0))
    q = Point.from_buffer_copy(bytes(raw))
    assert (q.x, q.y) == (0.0, 2.0)


# ---- the buffer protocol ------------------------------------------------------------------------


def _format_table(ct):
    """(type, format, shape, strides, itemsize type) as CPython 3.12+ exports them (LP64,
    little-endian), for the types whose format 3.11 already agrees on except padding."""

    class Point(ct.Structure):
        _fields_ = [("x", ct.c_long), ("y", ct.c_long)]

    class PackedPoint(ct.Structure):
        _layout_ = "ms"
        _pack_ = 2
        _fields_ = [("x", ct.c_long), ("y", ct.c_long)]

    class PointMidPad(ct.Structure):
        _fields_ = [("x", ct.c_byte), ("y", ct.c_uint)]

    class PointEndPad(ct.Structure):
        _fields_ = [("x", ct.c_uint), ("y", ct.c_byte)]

    class EmptyStruct(ct.Structure):
        _fields_ = []

    class AUnion(ct.Union):
        _fields_ = [("a", ct.c_int)]

    class StructWithArrays(ct.Structure):
        _fields_ = [("x", ct.c_long * 3 * 2), ("y", Point * 4)]

    class Incomplete(ct.Structure):
        pass

    class Complete(ct.Structure):
        pass

    p_complete = ct.POINTER(Complete)
    Complete._fields_ = [("a", ct.c_long)]

    class BEPoint(ct.BigEndianStructure):
        _fields_ = [("x", ct.c_long), ("y", ct.c_long)]

    class LEPoint(ct.LittleEndianStructure):
        _fields_ = [("x", ct.c_long), ("y", ct.c_long)]

    swa = "T{(2,3)<q:x:(4)T{<q:x:<q:y:}:y:}"
    return [
        (ct.c_char, "<c", (), ()),
        (ct.c_byte, "<b", (), ()),
        (ct.c_ubyte, "<B", (), ()),
        (ct.c_short, "<h", (), ()),
        (ct.c_ushort, "<H", (), ()),
        (ct.c_int, "<i", (), ()),
        (ct.c_uint, "<I", (), ()),
        (ct.c_long, "<q", (), ()),
        (ct.c_ulong, "<Q", (), ()),
        (ct.c_float, "<f", (), ()),
        (ct.c_double, "<d", (), ()),
        (ct.c_longdouble, "<g", (), ()),
        (ct.c_bool, "<?", (), ()),
        (ct.py_object, "<O", (), ()),
        (ct.c_int.__ctype_be__, ">i", (), ()),
        (ct.POINTER(ct.c_byte), "&<b", (), ()),
        (ct.POINTER(ct.POINTER(ct.c_long)), "&&<q", (), ()),
        (ct.c_double * 4, "<d", (4,), (8,)),
        (ct.c_double * 0, "<d", (0,), (8,)),
        (ct.c_float * 4 * 3 * 2, "<f", (2, 3, 4), (48, 16, 4)),
        (ct.c_float * 4 * 0 * 2, "<f", (2, 0, 4), (0, 16, 4)),
        (ct.POINTER(ct.c_short) * 2, "&<h", (2,), (8,)),
        (ct.POINTER(ct.c_short) * 2 * 3, "&<h", (3, 2), (16, 8)),
        (ct.POINTER(ct.c_short * 2), "&(2)<h", (), ()),
        (Point, "T{<q:x:<q:y:}", (), ()),
        (PackedPoint, "T{<q:x:<q:y:}", (), ()),
        (PointMidPad, "T{<b:x:3x<I:y:}", (), ()),
        (PointEndPad, "T{<I:x:<b:y:3x}", (), ()),
        (EmptyStruct, "T{}", (), ()),
        (AUnion, "B", (), ()),
        (StructWithArrays, swa, (), ()),
        (StructWithArrays * 3, swa, (3,), (112,)),
        (Incomplete, "B", (), ()),
        (ct.POINTER(Incomplete), "&B", (), ()),
        (Complete, "T{<q:a:}", (), ()),
        (p_complete, "&B", (), ()),
        (ct.CFUNCTYPE(None), "X{}", (), ()),
        (BEPoint, "T{>q:x:>q:y:}", (), ()),
        (LEPoint * 1, "T{<q:x:<q:y:}", (1,), (16,)),
        (ct.POINTER(BEPoint), "&T{>q:x:>q:y:}", (), ()),
    ]


def _innermost(tp):
    while hasattr(tp, "_length_"):
        tp = tp._type_
    return tp


def test_buffer_shape_strides_itemsize(ct):
    for tp, _fmt, shape, strides in _format_table(ct):
        v = memoryview(tp())
        assert v.shape == shape, tp
        assert v.strides == strides, tp
        assert v.itemsize == ct.sizeof(_innermost(tp)), tp
        assert not v.readonly
        assert v.nbytes == ct.sizeof(tp) == len(v.tobytes())
        if shape:
            assert len(v) == shape[0]


def test_buffer_formats_follow_cpython_312(ferrotype):
    """The format strings of CPython 3.12+, padding bytes included (3.11 leaves them out)."""
    for tp, fmt, _shape, _strides in _format_table(ferrotype):
        assert memoryview(tp()).format == fmt, tp


def test_buffer_formats_describe_every_byte(ferrotype):
    """Where CPython's format disagrees with the itemsize (bit-fields, derived structures,
    unions inside structures), ferrotype's describes every byte, so NumPy reads it."""
    ct = ferrotype

    class Base(ct.Structure):
        _fields_ = [("a", ct.c_byte), ("b", ct.c_int)]

    class Derived(Base):
        _fields_ = [("z", ct.c_double)]

    class U(ct.Union):
        _fields_ = [("i", ct.c_int), ("s", ct.c_short)]

    class WithUnion(ct.Structure):
        _fields_ = [("u", U), ("us", U * 2), ("k", ct.c_char)]

    class Bits(ct.Structure):
        _fields_ = [("a", ct.c_int, 3), ("b", ct.c_int, 5), ("c", ct.c_short)]

    assert memoryview(Derived()).format == "T{<b:a:3x<i:b:<d:z:}"
    assert memoryview(WithUnion()).format == "T{(4)B:u:(2,4)B:us:<c:k:3x}"
    assert memoryview(Bits()).format == "T{2x<h:c:}"
    np = pytest.importorskip("numpy")
    for tp in (Derived, WithUnion, Bits):
        assert np.asarray(tp()).dtype.itemsize == ct.sizeof(tp)


def test_numpy_reads_structures_field_by_field(ferrotype):
    np = pytest.importorskip("numpy")
    ct = ferrotype

    class Inner(ct.Structure):
        _fields_ = [("x", ct.c_short), ("y", ct.c_double)]

    class Outer(ct.Structure):
        _fields_ = [
            ("tag", ct.c_char),
            ("inner", Inner),
            ("grid", ct.c_int * 3 * 2),
            ("flag", ct.c_bool),
            ("big", ct.c_uint32.__ctype_be__),
        ]

    o = Outer(b"t", Inner(3, 1.5), ((1, 2, 3), (4, 5, 6)), True, 0x01020304)
    arr = np.asarray(o)
    inner = np.dtype(
        {"names": ["x", "y"], "formats": ["<i2", "<f8"], "offsets": [0, 8], "itemsize": 16}
    )
    expected = np.dtype(
        {
            "names": ["tag", "inner", "grid", "flag", "big"],
            "formats": ["S1", inner, ("<i4", (2, 3)), "?", ">u4"],
            "offsets": [0, 8, 24, 48, 52],
            "itemsize": 56,
        }
    )
    assert arr.dtype == expected
    for name in expected.names:
        assert arr.dtype.fields[name][1] == getattr(Outer, name).offset
    assert arr["inner"]["y"] == 1.5
    assert arr["grid"].tolist() == [[1, 2, 3], [4, 5, 6]]
    assert arr["big"] == 0x01020304
    # shared memory, both ways
    arr["inner"]["x"] = 99
    assert o.inner.x == 99
    o.grid[1][2] = 60
    assert arr["grid"][1, 2] == 60


def test_numpy_and_memoryview_share_memory(ct):
    np = pytest.importorskip("numpy")
    a = (ct.c_double * 3)(1.0, 2.0, 3.0)
    view = np.asarray(a)
    assert view.dtype == np.float64 and view.shape == (3,)
    view[1] = 20.0
    assert a[1] == 20.0
    raw = np.frombuffer(a, dtype=np.float64)
    a[2] = 30.0
    assert raw[2] == 30.0
    m = memoryview(a).cast("B").cast("d")
    m[0] = 10.0
    assert a[0] == 10.0
    assert bytes(a) == np.array([10.0, 20.0, 30.0]).tobytes()
    grid = np.asarray((ct.c_int * 3 * 2)())
    assert grid.shape == (2, 3) and grid.strides == (12, 4)


# ---- read-only instances (ferrotype) -------------------------------------------------------------


def test_readonly_from_buffer(ferrotype):
    ct = ferrotype

    class Pair(ct.Structure):
        _fields_ = [("a", ct.c_int), ("b", ct.c_int * 2)]

    data = bytes(range(12))
    p = Pair.from_buffer(data, readonly=True)
    assert p.a == int.from_bytes(data[:4], "little")
    assert memoryview(p).readonly
    with pytest.raises(TypeError, match="read-only"):
        p.a = 1
    with pytest.raises(TypeError, match="read-only"):
        p.b[0] = 1
    with pytest.raises(TypeError, match="read-only"):
        ct.c_int.from_buffer(data, readonly=True).value = 3
    # nothing was written, and a writable view of a read-only object is refused
    assert data == bytes(range(12))
    with pytest.raises(TypeError, match="not writable"):
        ct.c_int.from_buffer(p)
    assert ct.c_int.from_buffer(p, readonly=True).value == p.a
    np = pytest.importorskip("numpy")
    assert not np.asarray(p).flags.writeable
