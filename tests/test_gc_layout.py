"""Instances and the cycle collector (assumption 1 of ``crates/ferrotype-py/src/capi/mod.rs``).

The native data classes have no collector header, as ctypes' own do; the classes made from them
are collected. These tests check that instances of every kind are tracked as ctypes' are, that
cycles through ``_objects`` and instance dicts are collected, and that views (pointer contents,
elements, fields) are freed with what they keep alive released, on each kind of deallocation
(plain, with ``__del__``, with a resurrecting ``__del__``, with ``__slots__``).
"""

from __future__ import annotations

import gc
import weakref

import pytest


def _kinds(ct):
    class Point(ct.Structure):
        _fields_ = [("x", ct.c_int), ("y", ct.c_int)]

    class U(ct.Union):
        _fields_ = [("i", ct.c_int), ("d", ct.c_double)]

    class S20(ct.Structure):
        _fields_ = [(f"f{i}", ct.c_double) for i in range(20)]

    return {
        "simple": lambda: ct.c_int(5),
        "double": lambda: ct.c_double(1.5),
        "struct": lambda: Point(1, 2),
        "big struct": lambda: S20(),
        "union": lambda: U(),
        "array": lambda: (ct.c_int * 4)(1, 2, 3, 4),
        "big array": lambda: (ct.c_int * 1000)(),
        "pointer": lambda: ct.pointer(ct.c_int(3)),
        "contents": lambda: ct.pointer(Point(1, 2)).contents,
        "element": lambda: (Point * 3)()[1],
        "field": lambda: _outer(ct)().p,
    }


def _outer(ct):
    class Point(ct.Structure):
        _fields_ = [("x", ct.c_int), ("y", ct.c_int)]

    class Outer(ct.Structure):
        _fields_ = [("a", ct.c_int), ("p", Point)]

    return Outer


KINDS = list(_kinds(__import__("ctypes")))


@pytest.mark.parametrize("kind", KINDS)
def test_instances_are_tracked_as_in_ctypes(ct, kind) -> None:
    obj = _kinds(ct)[kind]()
    assert gc.is_tracked(obj)


@pytest.mark.parametrize("kind", KINDS)
def test_instances_are_freed(ct, kind) -> None:
    obj = _kinds(ct)[kind]()
    ref = weakref.ref(obj)
    del obj
    assert ref() is None


@pytest.mark.parametrize("kind", KINDS)
def test_a_cycle_through_the_instance_dict_is_collected(ct, kind) -> None:
    obj = _kinds(ct)[kind]()
    obj.me = obj
    ref = weakref.ref(obj)
    del obj
    gc.collect()
    assert ref() is None


def test_a_cycle_through_objects_is_collected(ct) -> None:
    class Node(ct.Structure):
        _fields_ = [("obj", ct.py_object), ("n", ct.c_int)]

    arr = Node()
    arr.obj = [arr]
    assert arr._objects
    ref = weakref.ref(arr)
    del arr
    gc.collect()
    assert ref() is None


def test_a_view_keeps_its_base_and_releases_it(ct) -> None:
    class Point(ct.Structure):
        _fields_ = [("x", ct.c_int), ("y", ct.c_int)]

    arr = (Point * 3)((1, 2), (3, 4), (5, 6))
    base = weakref.ref(arr)
    view = arr[1]
    del arr
    assert base() is not None and view._b_base_ is base()
    assert (view.x, view.y) == (3, 4)
    del view
    assert base() is None

    target = Point(7, 8)
    p = ct.pointer(target)
    contents = p.contents
    assert contents._b_base_ is p
    ref_p = weakref.ref(p)
    del p
    assert ref_p() is not None
    assert (contents.x, contents.y) == (7, 8)
    del contents
    assert ref_p() is None


@pytest.mark.parametrize("kind", KINDS)
def test_subclass_with_del_and_slots(ct, kind) -> None:
    made = _kinds(ct)[kind]()
    seen = []

    extra = {"_type_": ct.c_int} if kind == "pointer" else {}
    WithDel = type(type(made))(
        "WithDel", (type(made),), {"__del__": lambda self: seen.append("WithDel"), **extra}
    )
    Slotted = type(type(made))("Slotted", (type(made),), {"__slots__": ("extra",), **extra})

    for cls in (WithDel, Slotted):
        if kind == "pointer":
            obj = cls(ct.c_int(3))
        else:
            obj = cls()
        ref = weakref.ref(obj) if cls is WithDel else None
        if cls is Slotted:
            obj.extra = [obj]  # a cycle through a slot
            ref = weakref.ref(obj)
        assert gc.is_tracked(obj)
        del obj
        gc.collect()
        assert ref() is None
    assert seen == ["WithDel"]


def test_resurrection_in_del(ct) -> None:
    kept = []

    class Point(ct.Structure):
        _fields_ = [("x", ct.c_int), ("y", ct.c_int)]

        def __del__(self):
            if len(kept) < 10:
                kept.append(self)

    owner = (Point * 2)((3, 4), (5, 6))
    view = owner[1]
    del owner
    obj = Point(1, 2)
    del obj, view
    gc.collect()
    assert {(k.x, k.y) for k in kept} >= {(1, 2), (5, 6)}
    view = next(k for k in kept if k._b_base_ is not None)
    assert view._b_base_[0].x == 3
    kept.append(None)
    del kept[:]
    gc.collect()
