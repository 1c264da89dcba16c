"""Lifetime and ownership: ctypes' keep-alive rules (`_objects`, `_b_base_`,
`_b_needsfree_`) proved with weakref and gc, `resize`, pickling, and a leak test."""

import gc
import os
import pickle
import re
import sys
import weakref

import pytest


def _collect():
    for _ in range(3):
        gc.collect()


def _point(ct):
    class Point(ct.Structure):
        _fields_ = [("x", ct.c_int), ("y", ct.c_int)]

    return Point


# ---- keep-alive ---------------------------------------------------------------------------------


def test_bytes_in_char_p_field_are_kept(ct):
    class Rec(ct.Structure):
        _fields_ = [("name", ct.c_char_p), ("n", ct.c_int)]

    r = Rec()
    data = b"kept alive " * 10
    r.name = data
    assert data in r._objects.values()
    del data
    _collect()
    assert r.name == b"kept alive " * 10
    r.name = b"other"  # replacing the value replaces the kept object
    assert list(r._objects.values()) == [b"other"]


def test_bytes_in_char_p_array_element_are_kept(ct):
    arr = (ct.c_char_p * 2)()
    arr[1] = b"x" * 50
    _collect()
    assert arr[1] == b"x" * 50
    assert b"x" * 50 in arr._objects.values()


def test_assigning_a_structure_into_an_array_copies_it(ct):
    Point = _point(ct)
    arr = (Point * 2)()
    p = Point(1, 2)
    arr[0] = p
    p.x = 100
    assert (arr[0].x, arr[0].y) == (1, 2)
    ref = weakref.ref(p)
    del p
    _collect()
    assert ref() is None  # the array holds a copy, not the structure
    assert arr[0].x == 1


def test_assigning_a_structure_into_a_field_copies_it(ct):
    Point = _point(ct)

    class Line(ct.Structure):
        _fields_ = [("a", Point), ("b", Point)]

    line = Line()
    p = Point(3, 4)
    line.b = p
    p.y = 0
    assert (line.b.x, line.b.y) == (3, 4)


def test_a_field_shares_memory_and_keeps_its_base_alive(ct):
    Point = _point(ct)

    class Line(ct.Structure):
        _fields_ = [("a", Point), ("b", Point)]

    line = Line()
    b = line.b
    assert b._b_base_ is line
    assert not b._b_needsfree_ and line._b_needsfree_
    b.x = 7
    assert line.b.x == 7
    assert ct.addressof(b) == ct.addressof(line) + ct.sizeof(Point)
    ref = weakref.ref(line)
    del line
    _collect()
    assert ref() is not None
    assert b.x == 7
    del b
    _collect()
    assert ref() is None


def test_an_element_shares_memory_and_keeps_its_array_alive(ct):
    Point = _point(ct)
    arr = (Point * 3)()
    elem = arr[2]
    elem.y = 5
    assert arr[2].y == 5
    assert elem._b_base_ is arr
    ref = weakref.ref(arr)
    del arr
    _collect()
    assert ref() is not None and elem.y == 5
    del elem
    _collect()
    assert ref() is None


def test_a_row_of_a_nested_array_keeps_the_array_alive(ct):
    grid = (ct.c_int * 3 * 2)()
    row = grid[1]
    row[2] = 9
    assert grid[1][2] == 9
    ref = weakref.ref(grid)
    del grid
    _collect()
    assert ref() is not None and row[2] == 9


def test_pointer_keeps_its_target_alive(ct):
    x = ct.c_int(42)
    ref = weakref.ref(x)
    p = ct.pointer(x)
    del x
    _collect()
    assert ref() is not None
    assert p.contents.value == 42
    assert p[0] == 42
    del p
    _collect()
    assert ref() is None


def test_setting_contents_keeps_the_new_target_alive(ct):
    p = ct.POINTER(ct.c_double)()
    d = ct.c_double(2.5)
    ref = weakref.ref(d)
    p.contents = d
    del d
    _collect()
    assert ref() is not None and p.contents.value == 2.5


def test_pointer_field_keeps_its_target_alive(ct):
    Point = _point(ct)

    class Node(ct.Structure):
        _fields_ = [("pt", ct.POINTER(Point))]

    n = Node()
    pt = Point(1, 2)
    ref = weakref.ref(pt)
    n.pt = ct.pointer(pt)
    del pt
    _collect()
    assert ref() is not None
    assert n.pt.contents.y == 2


def test_cast_keeps_its_source_alive(ct):
    arr = (ct.c_int * 4)(1, 2, 3, 4)
    ref = weakref.ref(arr)
    p = ct.cast(arr, ct.POINTER(ct.c_int))
    del arr
    _collect()
    assert ref() is not None
    assert [p[i] for i in range(4)] == [1, 2, 3, 4]
    del p
    _collect()
    assert ref() is None


def test_from_buffer_keeps_its_source_alive(ct):
    import array

    data = array.array("i", [5, 6, 7])
    ref = weakref.ref(data)
    view = (ct.c_int * 3).from_buffer(data)
    del data
    _collect()
    assert ref() is not None
    assert list(view) == [5, 6, 7]
    del view
    _collect()
    assert ref() is None


def test_byref_keeps_its_object_alive(ct):
    x = ct.c_int(3)
    ref = weakref.ref(x)
    arg = ct.byref(x)
    del x
    _collect()
    assert ref() is not None
    assert arg._obj.value == 3


def test_from_address_does_not_own(ct):
    x = ct.c_int(11)
    y = ct.c_int.from_address(ct.addressof(x))
    assert y.value == 11
    assert not y._b_needsfree_
    assert y._b_base_ is None


def test_instances_are_freed(ct):
    Point = _point(ct)
    for make in (lambda: ct.c_int(1), lambda: Point(1, 2), lambda: (ct.c_int * 100)()):
        obj = make()
        ref = weakref.ref(obj)
        del obj
        _collect()
        assert ref() is None


def test_freeing_an_instance_releases_what_it_keeps_at_once(ct):
    """Reference counting alone frees what an instance kept: no collection needed."""
    Point = _point(ct)

    class Outer(ct.Structure):
        _fields_ = [("pt", Point), ("n", ct.c_int)]

    target = ct.c_int(1)
    p = ct.pointer(target)
    ref = weakref.ref(target)
    del target
    assert ref() is not None
    del p
    assert ref() is None

    outer = Outer()
    view = outer.pt  # a view keeps the memory's owner alive
    ref = weakref.ref(outer)
    del outer
    assert ref() is not None
    del view
    assert ref() is None

    data = b"kept" * 8
    s = ct.c_char_p(data)
    ref_count = sys.getrefcount(data)
    del s
    assert sys.getrefcount(data) == ref_count - 1


def test_instances_release_their_class(ct):
    """Every instance holds a reference to its (heap) class and gives it back."""
    Point = _point(ct)
    IntArray = ct.c_int * 4
    IntPtr = ct.POINTER(ct.c_int)

    class U(ct.Union):
        _fields_ = [("i", ct.c_int), ("d", ct.c_double)]

    class MyInt(ct.c_int):
        pass

    for cls, make in [
        (Point, lambda: Point(1, 2)),
        (IntArray, lambda: IntArray(1, 2, 3)),
        (IntPtr, lambda: IntPtr()),
        (U, lambda: U()),
        (MyInt, lambda: MyInt(3)),
        (Point, lambda: _element_view(Point)),
    ]:
        make()  # types made on first use (`Point * 1`) hold their own references
        before = sys.getrefcount(cls)
        objs = [make() for _ in range(100)]
        assert sys.getrefcount(cls) >= before + 100
        del objs
        assert sys.getrefcount(cls) == before


def _element_view(cls):
    """An instance made by the library rather than by calling the class: an element
    of an array (a view that keeps the array alive)."""
    return (cls * 1)()[0]


def test_abstract_methods_do_not_stop_instantiation(ct):
    """ctypes allocates instances directly, so ABC bookkeeping does not refuse them."""
    import abc

    class Meta(type(ct.Structure), abc.ABCMeta):
        pass

    class A(ct.Structure, metaclass=Meta):
        _fields_ = [("x", ct.c_int)]

        @abc.abstractmethod
        def f(self): ...

    assert A(3).x == 3


def test_cycles_through_objects_are_collected(ct):
    """A structure whose kept objects refer back to it is reclaimed by the gc."""

    class Holder(ct.Structure):
        _fields_ = [("p", ct.POINTER(ct.c_int))]

    h = Holder()
    target = ct.c_int(1)
    h.p = ct.pointer(target)
    target.back = h
    ref = weakref.ref(h)
    del h, target
    _collect()
    assert ref() is None


# ---- resize -------------------------------------------------------------------------------------


def test_resize_grows_and_keeps_contents(ct):
    arr = (ct.c_int * 2)(1, 2)
    ct.resize(arr, 32)
    assert ct.sizeof(arr) == 32
    assert len(bytes(arr)) == 32 and memoryview(arr).nbytes == 32
    assert list(arr) == [1, 2] and len(arr) == 2
    wide = (ct.c_int * 8).from_address(ct.addressof(arr))
    assert list(wide) == [1, 2, 0, 0, 0, 0, 0, 0]
    wide[7] = 8
    assert bytes(arr)[28:] == (8).to_bytes(4, "little")
    ct.resize(arr, 64)
    assert bytes(arr)[28:32] == (8).to_bytes(4, "little")
    ct.resize(arr, 8)  # back down to the type's size
    assert ct.sizeof(arr) == 8 and list(arr) == [1, 2]


def test_resize_small_object_within_inline_storage(ct):
    x = ct.c_short(5)
    ct.resize(x, 12)
    assert ct.sizeof(x) == 12 and x.value == 5


def test_resize_variable_size_struct(ct):
    class Msg(ct.Structure):
        _fields_ = [("n", ct.c_int), ("data", ct.c_char * 1)]

    m = Msg(5)
    ct.resize(m, ct.sizeof(Msg) + 31)
    payload = (ct.c_char * 32).from_address(ct.addressof(m) + Msg.data.offset)
    payload.value = b"variable length payload"
    assert ct.string_at(ct.addressof(m) + Msg.data.offset) == b"variable length payload"
    assert m.n == 5


@pytest.mark.parametrize(
    "make, size, exc, message",
    [
        (lambda ct: ct.c_int(), 2, ValueError, "minimum size is 4"),
        (lambda ct: ct.c_int(), -1, ValueError, "minimum size is 4"),
        (
            lambda ct: ct.c_int.from_buffer(bytearray(4)),
            64,
            ValueError,
            "Memory cannot be resized because this object doesn't own it",
        ),
        # 3.11 "expected ctypes instance", 3.14 "resize() argument 1 must be _ctypes._CData,
        # not int": the running stdlib's message
        (lambda ct: 5, 8, TypeError, None),
    ],
)
def test_resize_errors(ct, make, size, exc, message):
    if message is None:
        import ctypes

        with pytest.raises(exc) as expected:
            ctypes.resize(make(ctypes), size)
        message = f"^{re.escape(str(expected.value))}$"
    with pytest.raises(exc, match=message):
        ct.resize(make(ct), size)


def test_resize_of_a_field_view_is_refused(ct):
    Point = _point(ct)

    class Line(ct.Structure):
        _fields_ = [("a", Point)]

    with pytest.raises(ValueError, match="doesn't own it"):
        ct.resize(Line().a, 64)


def test_views_taken_before_resize_stay_valid(ferrotype):
    """ferrotype keeps the memory a resize replaced until the object dies, so a field
    taken before the resize reads the old bytes instead of freed memory."""
    ct = ferrotype
    Point = _point(ct)

    class Line(ct.Structure):
        _fields_ = [("a", Point), ("b", Point)]

    line = Line(Point(1, 2), Point(3, 4))
    b = line.b
    exported = memoryview(line)
    for size in (64, 4096, 1 << 16):
        ct.resize(line, size)
    assert (b.x, b.y) == (3, 4)
    assert exported.tobytes()[8:12] == (3).to_bytes(4, "little")
    assert (line.b.x, line.b.y) == (3, 4)


# ---- pickling -----------------------------------------------------------------------------------


def _module_level_types(ct):
    """Structure classes published at module level, so pickle can find them by name."""
    ns = {}

    class Vec(ct.Structure):
        _fields_ = [("x", ct.c_double), ("y", ct.c_double), ("tag", ct.c_char * 4)]

    class WithPtr(ct.Structure):
        _fields_ = [("p", ct.c_char_p)]

    class Num(ct.Union):
        _fields_ = [("i", ct.c_int), ("f", ct.c_float)]

    for cls in (Vec, WithPtr, Num):
        cls.__qualname__ = cls.__name__ = f"{cls.__name__}_{ct.__name__}"
        globals()[cls.__name__] = cls
        ns[cls.__name__.split("_")[0]] = cls
    return ns


@pytest.mark.parametrize(
    "make",
    [
        lambda ct, t: ct.c_int(-7),
        lambda ct, t: ct.c_double(2.5),
        lambda ct, t: ct.c_char(b"z"),
        lambda ct, t: ct.c_wchar("\u00e9"),
        lambda ct, t: ct.c_ulonglong(2**64 - 1),
        lambda ct, t: t["Vec"](1.5, -2.0, b"ab"),
        lambda ct, t: t["Num"](i=0x3F800000),
    ],
)
def test_pickle_round_trip(ct, make):
    obj = make(ct, _module_level_types(ct))
    obj.note = "instance dict travels too"
    copy = pickle.loads(pickle.dumps(obj))
    assert type(copy) is type(obj)
    assert bytes(copy) == bytes(obj)
    assert copy.note == obj.note
    assert ct.addressof(copy) != ct.addressof(obj)


@pytest.mark.parametrize(
    "make",
    [
        lambda ct, t: ct.c_char_p(b"x"),
        lambda ct, t: ct.c_wchar_p("x"),
        lambda ct, t: ct.c_void_p(1),
        lambda ct, t: ct.py_object(1),
        lambda ct, t: ct.pointer(ct.c_int()),
        lambda ct, t: (ct.POINTER(ct.c_int) * 2)(),
        lambda ct, t: t["WithPtr"](),
        lambda ct, t: ct.CFUNCTYPE(None)(),
    ],
)
def test_pickle_refuses_pointers(ct, make):
    with pytest.raises(ValueError, match="ctypes objects containing pointers cannot be pickled"):
        pickle.dumps(make(ct, _module_level_types(ct)))


def test_pickle_arrays(ferrotype):
    """ctypes cannot pickle `c_int * 3` instances (pickle looks the class up by a name it
    does not have); ferrotype pickles them through the element type and length."""
    ct = ferrotype
    t = _module_level_types(ct)
    for obj in ((ct.c_int * 3)(1, 2, 3), (t["Vec"] * 2)(), (ct.c_short * 2 * 2)((1, 2), (3, 4))):
        copy = pickle.loads(pickle.dumps(obj))
        assert type(copy) is type(obj)
        assert bytes(copy) == bytes(obj)


# ---- leaks --------------------------------------------------------------------------------------


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.slow
def test_no_leak_over_a_million_cycles(ferrotype):
    """10**6 create/fill/release cycles of buffers, structures and pointers."""
    ct = ferrotype
    Point = _point(ct)

    class Rec(ct.Structure):
        _fields_ = [("pt", Point), ("name", ct.c_char_p), ("vals", ct.c_double * 4)]

    def cycle(i):
        buf = ct.create_string_buffer(64)
        buf.value = b"payload"
        r = Rec()
        r.pt = Point(i & 0xFFFF, 2)
        r.name = b"name"
        r.vals[1] = 1.5
        p = ct.pointer(r)
        p.contents.pt.y = 3
        q = ct.cast(buf, ct.POINTER(ct.c_char))
        return q[0]

    for i in range(20_000):  # warm up caches and allocator pools
        cycle(i)
    _collect()
    before = _rss_bytes()
    for i in range(1_000_000):
        cycle(i)
    _collect()
    growth = _rss_bytes() - before
    print(f"RSS growth over 10**6 cycles: {growth / 1e6:.2f} MB")
    assert growth < 5 * 1024 * 1024
