"""Callbacks into Python from C: libc's `qsort` sorting C arrays with Python comparators,
and `bsearch` finding an element with one. Errors raised inside a callback go to
`sys.unraisablehook` (C sees 0) instead of crashing the process."""

import sys

import ferrotype as ctypes
from ferrotype.util import find_library

libc = ctypes.CDLL(find_library("c"))

CMPFUNC = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
libc.qsort.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, CMPFUNC]
libc.qsort.restype = None
libc.bsearch.argtypes = [ctypes.c_void_p] * 2 + [ctypes.c_size_t] * 2 + [CMPFUNC]
libc.bsearch.restype = ctypes.c_void_p

failures = 0


def show(label, value, expected):
    global failures
    ok = value == expected
    failures += not ok
    print(f"{label:<44} -> {value!r}{'' if ok else f'  (expected {expected!r})'}")


# 1. Integers, through typed pointers.
IntCmp = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))
qsort_ints = libc["qsort"]
qsort_ints.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, IntCmp]
qsort_ints.restype = None
calls = 0


@IntCmp
def by_value(a, b):
    global calls
    calls += 1
    return (a[0] > b[0]) - (a[0] < b[0])


numbers = (ctypes.c_int * 10)(5, -3, 99, 0, 42, 7, -100, 8, 1, 3)
qsort_ints(numbers, len(numbers), ctypes.sizeof(ctypes.c_int), by_value)
show("qsort(int[10]) ascending", list(numbers), sorted(numbers))
show("the comparator was called from C", calls > 0, True)


# 2. Structures, by a field, through void pointers.
class Person(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 16), ("age", ctypes.c_int)]


people = (Person * 4)(
    Person(b"Ada", 36), Person(b"Linus", 21), Person(b"Grace", 85), Person(b"Dennis", 70)
)


@CMPFUNC
def by_age(a, b):
    pa = Person.from_address(a)
    pb = Person.from_address(b)
    return pa.age - pb.age


libc.qsort(people, len(people), ctypes.sizeof(Person), by_age)
show("qsort(Person[4]) by age", [p.name for p in people], [b"Linus", b"Ada", b"Dennis", b"Grace"])

key = Person(b"", 70)
found = libc.bsearch(ctypes.byref(key), people, len(people), ctypes.sizeof(Person), by_age)
show("bsearch(age 70) finds", Person.from_address(found).name, b"Dennis")

# 3. An exception in a callback is reported, not fatal.
reported = []
sys.unraisablehook, old_hook = (lambda u: reported.append(u.exc_type)), sys.unraisablehook
try:

    @CMPFUNC
    def broken(a, b):
        raise ValueError("comparator failed")

    libc.qsort(people, len(people), ctypes.sizeof(Person), broken)
finally:
    sys.unraisablehook = old_hook
show("exceptions reported through unraisablehook", set(reported), {ValueError})

sys.exit(1 if failures else 0)
