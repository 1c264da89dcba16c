"""Structures and unions with _fields_, nested arrays, bit-fields, pointers to themselves."""

import ctypes


class Point(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int)]


class Rect(ctypes.Structure):
    _fields_ = [
        ("corners", Point * 2),
        ("matrix", (ctypes.c_double * 3) * 3),
        ("name", ctypes.c_char * 16),
    ]


class Flags(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("a", ctypes.c_uint, 3), ("b", ctypes.c_uint, 5), ("c", ctypes.c_ubyte)]


class Value(ctypes.Union):
    _fields_ = [("i", ctypes.c_int32), ("f", ctypes.c_float), ("raw", ctypes.c_ubyte * 4)]


class Node(ctypes.Structure):
    pass


Node._fields_ = [("value", ctypes.c_int), ("next", ctypes.POINTER(Node))]


class Header(ctypes.BigEndianStructure):
    _fields_ = [("magic", ctypes.c_uint32), ("length", ctypes.c_uint16)]


def main() -> None:
    p = Point(1, 2)
    assert p.x + p.y == 3
    p.x = 10
    assert p.x == 10
    r = Rect()
    r.corners[1].x = 5
    assert r.corners[1].x == 5
    r.matrix[2][2] = 1.5
    assert r.matrix[2][2] == 1.5
    r.name = b"box"
    assert r.name == b"box"
    assert ctypes.sizeof(Rect) == 2 * ctypes.sizeof(Point) + 9 * 8 + 16
    f = Flags(a=5, b=17, c=200)
    assert (f.a, f.b, f.c) == (5, 17, 200)
    v = Value(i=0x3F800000)
    assert v.f == 1.0
    assert ctypes.sizeof(Value) == 4
    first = Node(1)
    second = Node(2, ctypes.pointer(first))
    assert second.next.contents.value == 1
    h = Header(0xCAFEBABE, 8)
    assert bytes(h)[:4] == b"\xca\xfe\xba\xbe"
    assert Point.x.offset == 0
    assert Point.y.offset == ctypes.sizeof(ctypes.c_int)
    pp = ctypes.pointer(p)
    assert pp.contents.x == 10
    raw = bytearray(ctypes.sizeof(Point))
    view = Point.from_buffer(raw)
    view.y = 4
    assert raw[4] == 4


if __name__ == "__main__":
    main()
