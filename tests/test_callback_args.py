"""Pointer arguments of callbacks behave as new objects on every call.

ferrotype refills the argument instance of the previous call when nothing else can
reach it (see ``cdata::reusable``); these tests pin down that no trace of a previous
call is visible, with stdlib ctypes as the reference.
"""

import gc
import weakref

import pytest


@pytest.fixture
def qsort(ct):
    libc = ct.CDLL(None)
    proto = ct.CFUNCTYPE(ct.c_int, ct.POINTER(ct.c_int), ct.POINTER(ct.c_int))
    qsort = libc.qsort
    qsort.argtypes = [ct.c_void_p, ct.c_size_t, ct.c_size_t, proto]
    qsort.restype = None

    def sort(values, compare):
        arr = (ct.c_int * len(values))(*values)
        cb = proto(compare)
        qsort(arr, len(values), ct.sizeof(ct.c_int), cb)
        return list(arr)

    return sort


def test_kept_arguments_stay_distinct(ct, qsort):
    kept = []

    def compare(a, b):
        kept.append((a, a[0], b, b[0]))
        return a[0] - b[0]

    assert qsort([5, 3, 9, 1, 7], compare) == [1, 3, 5, 7, 9]
    objects = [x for (a, _, b, _) in kept for x in (a, b)]
    assert len({id(o) for o in objects}) == len(objects)
    assert all(isinstance(o, ct.POINTER(ct.c_int)) for o in objects)


def test_attributes_do_not_carry_over(ct, qsort):
    seen = []

    def compare(a, b):
        seen.append(hasattr(a, "mark") or hasattr(b, "mark"))
        a.mark = b.mark = True
        return a[0] - b[0]

    assert qsort([4, 2, 8, 6, 1, 3], compare) == [1, 2, 3, 4, 6, 8]
    assert seen and not any(seen)


def test_weak_references_see_the_argument_die(ct, qsort):
    refs = []

    def compare(a, b):
        for r in refs:
            # An argument of an earlier call is never handed out again.
            assert r() is not a and r() is not b
        refs.append(weakref.ref(a))
        return a[0] - b[0]

    assert qsort([3, 1, 2, 5, 4], compare) == [1, 2, 3, 4, 5]
    gc.collect()
    assert all(r() is None for r in refs)


def test_kept_objects_do_not_carry_over(ct, qsort):
    seen = []

    def compare(a, b):
        seen.append(a._objects)
        result = a[0] - b[0]
        a.contents = ct.c_int(0)  # keeps the new c_int in a._objects
        return result

    qsort([2, 1, 3], compare)
    assert seen and all(o is None for o in seen)


def test_values_are_fresh_each_call(ct, qsort):
    pairs = []

    def compare(a, b):
        pairs.append((a[0], b[0], ct.addressof(a.contents), ct.addressof(b.contents)))
        return a[0] - b[0]

    values = list(range(20, 0, -1))
    assert qsort(values, compare) == sorted(values)
    # Each call sees the two elements being compared, at their current addresses.
    assert all(ca != cb for (_, _, ca, cb) in pairs)
    assert {v for (a, b, _, _) in pairs for v in (a, b)} == set(values)


def test_emptied_and_dict_valued_attributes_do_not_carry_over(ct, qsort):
    seen = []

    def compare(a, b):
        seen.append((vars(a).copy(), vars(b).copy()))
        a.tmp = 1
        del a.tmp  # an emptied instance dict
        b.d = {}  # an attribute whose value is an empty dict
        vars(b)  # the dict made for the attributes
        return a[0] - b[0]

    assert qsort([6, 2, 5, 1, 4, 3], compare) == [1, 2, 3, 4, 5, 6]
    assert seen and all(x == {} and y == {} for (x, y) in seen)


def test_arguments_of_an_outer_call_survive_a_nested_one(ct):
    libc = ct.CDLL(None)
    proto = ct.CFUNCTYPE(ct.c_int, ct.POINTER(ct.c_int), ct.POINTER(ct.c_int))
    qsort = libc.qsort
    qsort.argtypes = [ct.c_void_p, ct.c_size_t, ct.c_size_t, proto]
    qsort.restype = None
    inner = (ct.c_int * 4)(4, 3, 2, 1)
    checked = []

    def compare(a, b):
        if not checked:
            before = (a[0], b[0], ct.addressof(a.contents), ct.addressof(b.contents))
            checked.append(None)
            # The same callback, called again from C while this call runs.
            qsort(inner, len(inner), ct.sizeof(ct.c_int), cb)
            after = (a[0], b[0], ct.addressof(a.contents), ct.addressof(b.contents))
            checked.append(before == after)
        return a[0] - b[0]

    cb = proto(compare)
    outer = (ct.c_int * 5)(5, 1, 4, 2, 3)
    qsort(outer, len(outer), ct.sizeof(ct.c_int), cb)
    assert list(outer) == [1, 2, 3, 4, 5] and list(inner) == [1, 2, 3, 4]
    assert checked == [None, True]


def test_arguments_nothing_kept_are_refilled(ferrotype):
    """Performance, not behaviour: on every supported version an argument instance that
    nothing kept (no reference, attribute or weak reference) is reused by the next call."""
    ct = ferrotype
    libc = ct.CDLL(None)
    proto = ct.CFUNCTYPE(ct.c_int, ct.POINTER(ct.c_int), ct.POINTER(ct.c_int))
    qsort = libc.qsort
    qsort.argtypes = [ct.c_void_p, ct.c_size_t, ct.c_size_t, proto]
    qsort.restype = None
    ids = set()

    def compare(a, b):
        ids.update((id(a), id(b)))
        return a[0] - b[0]

    arr = (ct.c_int * 50)(*range(50, 0, -1))
    qsort(arr, len(arr), ct.sizeof(ct.c_int), proto(compare))
    assert list(arr) == list(range(1, 51))
    assert len(ids) <= 4


def test_slot_attributes_do_not_carry_over(ct):
    class IntPtr(ct._Pointer):
        _type_ = ct.c_int
        __slots__ = ("tag",)

    libc = ct.CDLL(None)
    proto = ct.CFUNCTYPE(ct.c_int, IntPtr, IntPtr)
    qsort = libc.qsort
    qsort.argtypes = [ct.c_void_p, ct.c_size_t, ct.c_size_t, proto]
    qsort.restype = None
    seen = []

    def compare(a, b):
        seen.append(hasattr(a, "tag") or hasattr(b, "tag"))
        a.tag = b.tag = True
        return a[0] - b[0]

    arr = (ct.c_int * 6)(4, 2, 6, 1, 5, 3)
    qsort(arr, len(arr), ct.sizeof(ct.c_int), proto(compare))
    assert list(arr) == [1, 2, 3, 4, 5, 6]
    assert seen and not any(seen)
