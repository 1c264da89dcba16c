"""Structures and unions: declaration, fields, initialisation, by-reference and
by-value calls, nested types and byte order, against stdlib ctypes."""

import ctypes
import warnings

import pytest


def raises_as_stdlib(ct, declare):
    """``declare(module)`` raises with ``ct`` what it raises with stdlib ctypes: the same
    exception type and message (3.14 reworded some ``_fields_`` errors, and checks the bit
    count before the type)."""
    with pytest.raises(Exception) as expected:
        declare(ctypes)
    with pytest.raises(Exception) as info:
        declare(ct)
    assert (type(info.value), str(info.value)) == (type(expected.value), str(expected.value))


def _rec(m):
    class Rec(m.Structure):
        _fields_ = [("a", m.c_int), ("name", m.c_char * 8), ("d", m.c_double)]

    return Rec


@pytest.fixture
def Point(ct):
    class Point(ct.Structure):
        _fields_ = [("x", ct.c_double), ("y", ct.c_double)]

    return Point


@pytest.fixture
def Rec(ct):
    return _rec(ct)


def test_sizes_offsets_and_field_reprs(ct, Rec):
    assert ct.sizeof(Rec) == 24
    assert ct.alignment(Rec) == 8
    assert (Rec.a.offset, Rec.a.size) == (0, 4)
    assert (Rec.name.offset, Rec.name.size) == (4, 8)
    assert (Rec.d.offset, Rec.d.size) == (16, 8)
    Twin = _rec(ctypes)
    assert repr(Twin.a) in (
        "<Field type=c_int, ofs=0, size=4>",  # 3.11 to 3.13
        "<ctypes.CField 'a' type=c_int, ofs=0, size=4>",  # 3.14 on
    )
    # the format changed in 3.14; ferrotype's is the stdlib's, "ctypes.CField" included
    assert repr(Rec.a) == repr(Twin.a)
    assert repr(Rec.name) == repr(Twin.name)


def test_positional_and_keyword_init(ct, Point, Rec):
    p = Point(1.5, y=2.5)
    assert (p.x, p.y) == (1.5, 2.5)
    r = Rec(7, b"abc", 2.0)
    assert (r.a, r.name, r.d) == (7, b"abc", 2.0)
    with pytest.raises(TypeError, match="too many initializers"):
        Point(1, 2, 3)
    with pytest.raises(TypeError, match="duplicate values for field 'x'"):
        Point(1, x=2)


def test_init_through_the_class_hierarchy(ct, Point):
    """`__init__` as inherited, overridden, chained with super() and called explicitly,
    for every kind of data class."""

    class Point3(Point):
        _fields_ = [("z", ct.c_double)]

    class Scaled(Point):
        def __init__(self, x, y, k=2.0):
            super().__init__(x * k, y=y * k)

    class Again(Scaled):
        pass

    class MyInt(ct.c_int):
        def __init__(self, v):
            ct.c_int.__init__(self, v + 1)

    class MyIntPlain(ct.c_int):
        pass

    IntPtr = ct.POINTER(ct.c_int)

    class MyArr(ct.c_int * 3):
        def __init__(self, *values):
            super().__init__(*reversed(values))

    assert (Point3(1, 2, 3).x, Point3(1, 2, 3).z) == (1.0, 3.0)
    assert (Scaled(1, 2).x, Scaled(1, 2).y) == (2.0, 4.0)
    assert (Again(1, 2, k=3).x, Again(1, 2, k=3).y) == (3.0, 6.0)
    assert MyInt(4).value == 5
    assert MyIntPlain(4).value == 4
    target = ct.c_int(9)
    assert IntPtr(target).contents.value == 9
    assert list(MyArr(1, 2, 3)) == [3, 2, 1]
    p = Point(1, 2)
    Point.__init__(p, 5)  # re-initialising an instance, as ctypes allows
    assert (p.x, p.y) == (5.0, 2.0)
    with pytest.raises(TypeError, match="too many initializers"):
        Point3(1, 2, 3, 4)
    with pytest.raises(TypeError, match="at most 1 argument"):
        MyIntPlain(1, 2)


def test_char_array_field_reads_bytes(ct, Rec):
    r = Rec()
    r.name = b"hello"
    assert r.name == b"hello"
    with pytest.raises(ValueError):
        r.name = b"123456789"


@pytest.mark.parametrize(
    "fields",
    [
        lambda m: [("x",)],
        lambda m: [("x", int)],
        lambda m: [("x", m.c_double, 3)],
        lambda m: [("x", m.c_char, 3)],
        lambda m: [("x", m.c_wchar, 3)],
        lambda m: [("x", m.c_int, 33)],
        lambda m: [("x", m.c_char, 0)],
    ],
    ids=["short-tuple", "not-a-type", "double-bits", "char-bits", "wchar-bits", "33-bits",
         "char-0-bits"],
)  # fmt: skip
def test_fields_errors(ct, fields):
    raises_as_stdlib(ct, lambda m: type("Bad", (m.Structure,), {"_fields_": fields(m)}))


def test_fields_are_final(ct, Point):
    with pytest.raises(AttributeError, match="_fields_ is final"):
        Point._fields_ = []


def test_incomplete_type_completed_later(ct):
    class Node(ct.Structure):
        pass

    Node._fields_ = [("value", ct.c_int), ("next", ct.POINTER(Node))]
    first = Node(1)
    second = Node(2, ct.pointer(first))
    assert second.next.contents.value == 1
    assert not first.next


def test_subclass_appends_fields(ct, Point):
    class Point3(Point):
        _fields_ = [("z", ct.c_double)]

    p = Point3(1, 2, 3)
    assert ct.sizeof(Point3) == 24
    assert (p.x, p.y, p.z) == (1, 2, 3)
    assert Point3.z.offset == 16


def test_nested_structs_share_memory(ct, Point):
    class Line(ct.Structure):
        _fields_ = [("a", Point), ("b", Point)]

    line = Line(Point(1, 2), (3, 4))
    assert (line.b.x, line.b.y) == (3, 4)
    a = line.a
    a.x = 10
    assert line.a.x == 10
    assert a._b_base_ is line
    line.b = Point(5, 6)
    assert line.b.y == 6


def test_arrays_of_structs(ct, Point):
    arr = (Point * 3)()
    arr[1].x = 4.0
    arr[2] = Point(7, 8)
    assert [p.x for p in arr] == [0.0, 4.0, 7.0]
    assert ct.sizeof(arr) == 48


def test_union(ct):
    class Num(ct.Union):
        _fields_ = [("i", ct.c_int), ("f", ct.c_float), ("b", ct.c_ubyte * 4)]

    n = Num()
    n.f = 1.0
    assert ct.sizeof(Num) == 4
    assert n.i == 0x3F800000
    assert list(n.b) == [0, 0, 0x80, 0x3F]


def test_anonymous_fields(ct):
    class Inner(ct.Union):
        _fields_ = [("i", ct.c_int), ("f", ct.c_float)]

    class Outer(ct.Structure):
        _anonymous_ = ("u",)
        _fields_ = [("tag", ct.c_int), ("u", Inner)]

    o = Outer()
    o.i = 5
    assert o.u.i == 5
    assert Outer.i.offset == 4
    # ctypes 3.11 says "type object 'Bad' has no attribute 'missing'"; 3.14 (and
    # ferrotype) name the problem. Both raise AttributeError.
    with pytest.raises(AttributeError, match="missing"):

        class Bad(ct.Structure):
            _anonymous_ = ("missing",)
            _fields_ = [("tag", ct.c_int)]


def test_bitfields_simple(ct):
    class Bits(ct.Structure):
        _fields_ = [("x", ct.c_int, 3), ("y", ct.c_uint, 5), ("z", ct.c_int)]

    b = Bits()
    b.x = -2
    b.y = 17
    b.z = 9
    assert (b.x, b.y, b.z) == (-2, 17, 9)
    assert ct.sizeof(Bits) == 8

    class Twin(ctypes.Structure):
        _fields_ = [("x", ctypes.c_int, 3), ("y", ctypes.c_uint, 5), ("z", ctypes.c_int)]

    assert repr(Twin.y) in (
        "<Field type=c_uint, ofs=0:3, bits=5>",  # 3.11 to 3.13
        "<ctypes.CField 'y' type=c_uint, ofs=0, bit_size=5, bit_offset=3>",  # 3.14 on
    )
    assert repr(Bits.y) == repr(Twin.y)


def test_bitfields_match_c(ct, cfunc):
    class Bits(ct.Structure):
        _fields_ = [("x", ct.c_int, 3), ("y", ct.c_uint, 5), ("z", ct.c_int)]

    pack = cfunc("ft_bits_pack", ct.c_int, ct.c_int, ct.c_uint, ct.c_int, ct.POINTER(Bits))
    out = Bits()
    assert pack(-3, 21, 77, ct.byref(out)) == ct.sizeof(Bits)
    assert (out.x, out.y, out.z) == (-3, 21, 77)
    mine = Bits(-3, 21, 77)
    assert bytes(mine) == bytes(out)


def test_big_endian_structure(ct):
    class BE(ct.BigEndianStructure):
        _fields_ = [("a", ct.c_int), ("b", ct.c_short)]

    assert bytes(BE(1, 2)) == b"\x00\x00\x00\x01\x00\x02\x00\x00"
    assert BE(1, 2).a == 1
    with pytest.raises(TypeError, match="This type does not support other endian"):

        class Bad(ct.BigEndianStructure):
            _fields_ = [("p", ct.c_char_p)]


def test_by_reference_calls(ct, cfunc, Point, Rec):
    norm2 = cfunc("ft_pt_norm2", ct.c_double, ct.POINTER(Point))
    scale = cfunc("ft_pt_scale", None, ct.POINTER(Point), ct.c_double)
    p = Point(3, 4)
    assert norm2(ct.byref(p)) == 25.0
    assert norm2(p) == 25.0  # a T instance for POINTER(T) is passed byref
    scale(ct.pointer(p), 2.0)
    assert (p.x, p.y) == (6.0, 8.0)
    fill = cfunc("ft_rec_fill", None, ct.POINTER(Rec), ct.c_int)
    r = Rec()
    fill(ct.byref(r), 4)
    assert (r.a, r.name, r.d) == (4, b"filled", 2.0)


def test_by_value_calls(ct, cfunc, Point, Rec):
    add = cfunc("ft_pt_add", Point, Point, Point)
    s = add(Point(1, 2), Point(10, 20))
    assert isinstance(s, Point)
    assert (s.x, s.y) == (11.0, 22.0)
    rec_sum = cfunc("ft_rec_sum", ct.c_int, Rec)
    assert rec_sum(Rec(1, b"A", 2.9)) == 1 + 2 + 65
    make = cfunc("ft_rec_make", Rec, ct.c_int, ct.c_double)
    r = make(5, 1.25)
    assert (r.a, r.name, r.d) == (5, b"made", 1.25)


def test_small_structs_with_arrays_by_value(ct, cfunc):
    class Small(ct.Structure):
        _fields_ = [("c", ct.c_char * 3)]

    class Floats(ct.Structure):
        _fields_ = [("f", ct.c_float * 2)]

    class Big(ct.Structure):
        _fields_ = [("a", ct.c_longlong * 5)]

    make = cfunc("ft_small_make", Small, ct.c_char, ct.c_char, ct.c_char)
    s = make(b"a", b"b", b"c")
    assert s.c == b"abc"
    total = cfunc("ft_small_sum", ct.c_int, Small)
    assert total(s) == ord("a") + ord("b") + ord("c")
    fsum = cfunc("ft_floats_sum", ct.c_float, Floats)
    f = Floats()
    f.f[0], f.f[1] = 1.5, 2.25
    assert fsum(f) == 3.75
    bmake = cfunc("ft_big_make", Big, ct.c_longlong)
    bsum = cfunc("ft_big_sum", ct.c_longlong, Big)
    big = bmake(10)
    assert list(big.a) == [10, 11, 12, 13, 14]
    assert bsum(big) == 60


def test_struct_in_dll(ct, fixture_path, Point):
    lib = ct.CDLL(fixture_path)
    g = Point.in_dll(lib, "ft_global_point")
    assert (g.x, g.y) == (1.5, -2.5)


def test_union_by_reference(ct, cfunc):
    class Num(ct.Union):
        _fields_ = [("i", ct.c_int), ("f", ct.c_float), ("b", ct.c_ubyte * 4)]

    as_float = cfunc("ft_num_as_float", ct.c_float, ct.POINTER(Num))
    n = Num()
    n.i = 0x40490FDB
    assert abs(as_float(ct.byref(n)) - 3.14159274) < 1e-6


def _warnings_of(action):
    """``action()``'s result and the warnings it emitted, as (category, message) pairs."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = action()
    return result, [(w.category, str(w.message)) for w in caught]


def _incomplete_pointer(m, tag):
    """A structure pointing to itself through ``POINTER(name)``, completed afterwards."""
    lp_cell = m.POINTER(f"cell{tag}")

    class cell(m.Structure):
        _fields_ = [("name", m.c_char_p), ("next", lp_cell)]

    with pytest.raises(TypeError, match="has no _type_"):
        m.POINTER(f"other{tag}")()
    if hasattr(ctypes, "SetPointerType"):  # removed in 3.15
        m.SetPointerType(lp_cell, cell)
    else:
        lp_cell.set_type(cell)
    return lp_cell, cell


def test_incomplete_pointer_type_completed_later(ct):
    # 3.14 deprecates POINTER(str) and SetPointerType: the same warnings as the stdlib's
    _, expected = _warnings_of(lambda: _incomplete_pointer(ctypes, "_stdlib"))
    (lp_cell, cell), got = _warnings_of(lambda: _incomplete_pointer(ct, ""))
    assert got == expected
    assert lp_cell._type_ is cell
    assert ct.POINTER(cell) is lp_cell
    first = cell(b"first")
    second = cell(b"second", ct.pointer(first))
    assert second.next.contents.name == b"first"
    first.next = ct.pointer(second)
    assert first.next.contents.next.contents.name == b"first"


def test_array_of_structs_from_tuples(ct, Point):
    arr = (Point * 2)((1, 2), (3, 4))
    assert [(p.x, p.y) for p in arr] == [(1, 2), (3, 4)]
    arr[0] = (5, 6)
    assert arr[0].y == 6
    with pytest.raises(TypeError):
        arr[1] = 7
