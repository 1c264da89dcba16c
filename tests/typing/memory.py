"""Memory: simple values, pointers, byref, cast, buffers, memmove/memset, string_at."""

import ctypes


def simple_values() -> None:
    i = ctypes.c_int(3)
    i.value += 1
    assert i.value == 4
    d = ctypes.c_double(1.5)
    assert d.value == 1.5
    c = ctypes.c_char(b"x")
    assert c.value == b"x"
    s = ctypes.c_char_p(b"text")
    assert s.value == b"text"
    v = ctypes.c_void_p(None)
    assert v.value is None
    b = ctypes.c_bool(True)
    assert b.value is True
    u = ctypes.c_uint8(255)
    assert u.value == 255
    w = ctypes.c_wchar_p("wide")
    assert w.value == "wide"
    assert ctypes.sizeof(ctypes.c_int16) == 2
    assert ctypes.sizeof(i) == ctypes.sizeof(ctypes.c_int)
    assert ctypes.alignment(ctypes.c_double) >= 4


def pointers() -> None:
    x = ctypes.c_long(7)
    p = ctypes.pointer(x)
    assert p.contents.value == 7
    p.contents.value = 8
    assert x.value == 8
    assert p[0] == 8
    LP = ctypes.POINTER(ctypes.c_long)
    q: ctypes._Pointer[ctypes.c_long] = LP(x)
    assert q.contents.value == 8
    null = LP()
    assert not null
    addr = ctypes.addressof(x)
    as_void = ctypes.cast(p, ctypes.c_void_p)
    assert as_void.value == addr
    back = ctypes.cast(as_void, ctypes.POINTER(ctypes.c_long))
    assert back.contents.value == 8
    ref = ctypes.byref(x)
    assert ref is not None
    y = ctypes.c_long.from_address(addr)
    assert y.value == 8


def buffers() -> None:
    buf = ctypes.create_string_buffer(16)
    assert ctypes.sizeof(buf) == 16
    ctypes.memmove(buf, b"hello", 5)
    assert buf.value == b"hello"
    assert buf.raw[:5] == b"hello"
    ctypes.memset(buf, 0, 16)
    assert buf.value == b""
    text = ctypes.create_string_buffer(b"abc")
    assert ctypes.string_at(text) == b"abc"
    assert ctypes.string_at(ctypes.addressof(text), 2) == b"ab"
    wide = ctypes.create_unicode_buffer("wide")
    assert ctypes.wstring_at(wide) == "wide"
    arr = (ctypes.c_int * 4)(1, 2, 3, 4)
    assert len(arr) == 4
    assert sum(arr) == 10
    assert arr[1:3] == [2, 3]
    copy = (ctypes.c_int * 4).from_buffer_copy(bytes(arr))
    assert list(copy) == [1, 2, 3, 4]
    shared = (ctypes.c_int * 4).from_buffer(arr)
    shared[0] = 9
    assert arr[0] == 9
    mv = memoryview(arr)
    assert mv.nbytes == ctypes.sizeof(arr)
    ctypes.resize(buf, 32)
    assert ctypes.sizeof(buf) == 32


def main() -> None:
    simple_values()
    pointers()
    buffers()


if __name__ == "__main__":
    main()
