"""Weak references to instances, on stdlib ctypes and ferrotype (``ct``).

ferrotype's native data classes hold the weak-reference list of their instances (ctypes'
classes each add one when made), so freeing an instance clears its weak references in
ferrotype's deallocator. These tests hold both to ctypes' behaviour: the references die
with the instance and their callbacks run, ``x.__weakref__`` names the first one, and
``__slots__`` naming ``"__weakref__"`` is accepted or refused as ctypes does. The one
difference (a class with ``__slots__`` that do not name it still allows weak
references in ferrotype) is in docs/differences.md.
"""

from __future__ import annotations

import gc
import weakref

import pytest


def _instances(ct):
    class Point(ct.Structure):
        _fields_ = [("x", ct.c_int), ("y", ct.c_int)]

    class Both(ct.Union):
        _fields_ = [("i", ct.c_int), ("d", ct.c_double)]

    class MyInt(ct.c_int):
        pass

    proto = ct.CFUNCTYPE(ct.c_int, ct.c_int)
    return {
        "c_int": lambda: ct.c_int(5),
        "c_double": lambda: ct.c_double(1.5),
        "subclass": lambda: MyInt(3),
        "structure": lambda: Point(1, 2),
        "union": lambda: Both(7),
        "array": lambda: (ct.c_int * 4)(1, 2, 3, 4),
        "big array": lambda: (ct.c_char * 4096)(),
        "pointer": lambda: ct.pointer(ct.c_int(9)),
        "contents": lambda: ct.pointer(Point(3, 4)).contents,
        "field": lambda: (Point * 2)()[1],
        "callback": lambda: proto(lambda v: v),
        "string buffer": lambda: ct.create_string_buffer(b"abc"),
    }


KINDS = list(_instances(__import__("ctypes")))


@pytest.mark.parametrize("kind", KINDS)
def test_weak_reference_dies_with_the_instance(ct, kind):
    make = _instances(ct)[kind]
    obj = make()
    called = []
    ref = weakref.ref(obj, called.append)
    assert ref() is obj
    assert obj.__weakref__ is ref
    del obj
    assert ref() is None
    assert called == [ref]


@pytest.mark.parametrize("kind", KINDS)
def test_no_weak_reference_reads_as_none(ct, kind):
    obj = _instances(ct)[kind]()
    assert obj.__weakref__ is None


def test_several_references_and_proxies(ct):
    x = ct.c_int(1)
    order = []
    refs = [weakref.ref(x, lambda r, i=i: order.append(i)) for i in range(3)]
    proxy = weakref.proxy(x)
    assert proxy.value == 1
    assert weakref.getweakrefcount(x) == 4
    del x
    assert all(r() is None for r in refs)
    assert sorted(order) == [0, 1, 2]
    with pytest.raises(ReferenceError):
        proxy.value  # noqa: B018


def test_weak_value_dictionary(ct):
    cache = weakref.WeakValueDictionary()
    items = [ct.c_int(i) for i in range(100)]
    for i, item in enumerate(items):
        cache[i] = item
    assert len(cache) == 100
    del items, item
    assert len(cache) == 0


def test_reference_to_an_instance_in_a_cycle(ct):
    class Node(ct.Structure):
        _fields_ = [("v", ct.c_int)]

    node = Node(5)
    node.me = node
    called = []
    ref = weakref.ref(node, called.append)
    del node
    gc.collect()
    assert ref() is None
    assert called == [ref]


def test_callback_sees_the_reference_dead_and_may_allocate(ct):
    seen = []

    def callback(ref):
        # Runs while the instance is being freed: new instances of the same type
        # and a collection are both fine.
        seen.append((ref(), ct.c_int(42).value))
        gc.collect()

    x = ct.c_int(1)
    ref = weakref.ref(x, callback)
    del x
    assert seen == [(None, 42)]
    assert ref() is None


SLOTS = [
    ("__weakref__",),
    "__weakref__",
    ["a", "__weakref__"],
    {"__weakref__": "the list", "a": "a slot"},
]


@pytest.mark.parametrize("base_name", ["Structure", "Union", "Array", "BigEndianStructure"])
@pytest.mark.parametrize("slots", SLOTS, ids=repr)
def test_weakref_slot_is_accepted_on_a_native_base(ct, base_name, slots):
    base = getattr(ct, base_name)
    ns = {"__slots__": slots}
    if base_name == "Array":
        ns.update(_type_=ct.c_int, _length_=2)
    cls = type(base)("X", (base,), ns)
    assert cls.__dict__["__slots__"] is slots
    obj = cls()
    assert not hasattr(obj, "__dict__")
    ref = weakref.ref(obj)
    assert obj.__weakref__ is ref
    del obj
    assert ref() is None


def test_weakref_slot_from_an_iterator(ct):
    slots = iter(["__weakref__", "a"])

    class X(ct.Structure):
        __slots__ = slots
        _fields_ = [("v", ct.c_int)]

    assert X.__dict__["__slots__"] is slots
    x = X(3)
    x.a = 1
    ref = weakref.ref(x)
    assert (x.v, x.a, ref() is x) == (3, 1, True)


@pytest.mark.parametrize("slots", SLOTS, ids=repr)
def test_weakref_slot_is_refused_where_a_base_has_one(ct, slots):
    class WithDict(ct.Structure):
        _fields_ = [("v", ct.c_int)]

    class Named(ct.Structure):
        __slots__ = ("__weakref__",)
        _fields_ = [("v", ct.c_int)]

    for base in (WithDict, Named, ct.c_int):
        with pytest.raises(TypeError, match="__weakref__ slot disallowed"):
            type(base)("Y", (base,), {"__slots__": slots})


def test_weakref_slot_on_a_base_made_with_empty_slots(ct):
    class Empty(ct.Structure):
        __slots__ = ()
        _fields_ = [("v", ct.c_int)]

    class Weak(Empty):
        __slots__ = ("__weakref__",)

    class Plain(Weak):
        pass

    for cls in (Weak, Plain):
        obj = cls(4)
        ref = weakref.ref(obj)
        assert ref().v == 4
        del obj
        assert ref() is None


def test_empty_slots_keep_instances_without_a_dict(ct):
    class Empty(ct.Structure):
        __slots__ = ()
        _fields_ = [("v", ct.c_int)]

    obj = Empty(1)
    with pytest.raises(AttributeError):
        obj.other = 2
    if ct.__name__ == "ctypes":
        # ctypes' class adds no weak-reference list: refused.
        with pytest.raises(TypeError, match="cannot create weak reference"):
            weakref.ref(obj)
    else:
        # ferrotype's native base holds one (docs/differences.md).
        ref = weakref.ref(obj)
        del obj
        assert ref() is None
