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
