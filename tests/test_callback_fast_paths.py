"""The short paths of callbacks and pointer subscripts behave as ctypes' general ones.

`p[i]` with a small int key reads the element directly for pointers to simple types;
a callback's small int result is written without a range check where it always fits.
Stdlib ctypes is the reference for every value and error.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

SIMPLE = [
    "c_byte",
    "c_ubyte",
    "c_short",
    "c_ushort",
    "c_int",
    "c_uint",
    "c_long",
    "c_ulong",
    "c_longlong",
    "c_ulonglong",
    "c_float",
    "c_double",
    "c_bool",
    "c_char",
]

RESULTS = [
    "c_byte",
    "c_ubyte",
    "c_short",
    "c_ushort",
    "c_int",
    "c_uint",
    "c_long",
    "c_ulong",
    "c_longlong",
    "c_ulonglong",
    "c_size_t",
    "c_ssize_t",
]


def outcome(f):
    try:
        return ("ok", f())
    except Exception as e:  # the exception type and message are what is compared
        return (type(e).__name__, str(e))


@pytest.mark.parametrize("name", SIMPLE)
def test_pointer_subscripts_of_simple_types(ct, name):
    t = getattr(ct, name)
    arr = (t * 7)()
    for i in range(7):
        if name == "c_char":
            arr[i] = bytes([65 + i])
        elif name == "c_bool":
            arr[i] = bool(i % 2)
        else:
            arr[i] = (i * 37) % 120 - 50
    p = ct.cast(ct.byref(arr, 3 * ct.sizeof(t)), ct.POINTER(t))
    got = [p[i] for i in range(-3, 4)]
    assert got == [arr[i] for i in range(7)]
    assert [p[i] for i in (True, False)] == [arr[4], arr[3]]


def test_null_pointer_subscripts(ct):
    p = ct.POINTER(ct.c_int)()
    for key in (0, 1, -1, 2**40):
        assert outcome(lambda key=key: p[key]) == ("ValueError", "NULL pointer access")


def test_subscripts_of_a_pointer_subclass_with_its_own_getitem(ct):
    class P(ct.POINTER(ct.c_int)):
        _type_ = ct.c_int

        def __getitem__(self, i):
            return ("mine", i)

    x = ct.c_int(5)
    p = P(x)
    assert p[0] == ("mine", 0)


def test_pointer_subscripts_of_structures_stay_views(ct):
    class S(ct.Structure):
        _fields_ = [("a", ct.c_int), ("b", ct.c_double)]

    arr = (S * 3)((1, 1.5), (2, 2.5), (3, 3.5))
    p = ct.cast(arr, ct.POINTER(S))
    s = p[1]
    assert (s.a, s.b) == (2, 2.5)
    s.a = 20
    assert arr[1].a == 20


@pytest.mark.parametrize("name", RESULTS)
@settings(max_examples=60, deadline=None)
@given(
    value=st.one_of(
        st.integers(-(2**30) + 1, 2**30 - 1),
        st.integers(-(2**70), 2**70),
        st.sampled_from([0, -1, 255, 256, -129, 65535, 2**31 - 1, 2**31, -(2**31), 2**32 - 1]),
    )
)
def test_callback_int_results(ct, name, value):
    t = getattr(ct, name)
    cb = ct.CFUNCTYPE(t)(lambda: value)
    assert outcome(cb) == outcome(lambda: t(value).value)


def test_callback_comparator_through_qsort(ct):
    libc = ct.CDLL(None)
    proto = ct.CFUNCTYPE(ct.c_int, ct.POINTER(ct.c_int), ct.POINTER(ct.c_int))
    qsort = libc.qsort
    qsort.argtypes = [ct.c_void_p, ct.c_size_t, ct.c_size_t, proto]
    qsort.restype = None
    values = [(i * 7919) % 1000 - 500 for i in range(300)]
    arr = (ct.c_int * len(values))(*values)
    cb = proto(lambda a, b: a[0] - b[0])
    qsort(arr, len(values), ct.sizeof(ct.c_int), cb)
    assert list(arr) == sorted(values)
    desc = proto(lambda a, b: (b[0] > a[0]) - (b[0] < a[0]))
    qsort(arr, len(values), ct.sizeof(ct.c_int), desc)
    assert list(arr) == sorted(values, reverse=True)
