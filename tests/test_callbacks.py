"""Callbacks: CFUNCTYPE / PYFUNCTYPE instances that wrap Python callables, called from C (on the
calling thread and on threads Python did not create); function pointers returned by C; output
parameters declared with ``paramflags``.

Stdlib ctypes (3.11.7) facts these tests pin, each checked against it:

* ``CFUNCTYPE`` types are cached per (restype, argtypes, flags); ``PYFUNCTYPE`` types are not.
* A callback's restype must be a simple type or None: a Structure or POINTER restype raises
  ``TypeError("invalid result type for callback function")`` when the callback is made.
* An exception in a callback goes to ``sys.unraisablehook`` with ``err_msg`` "Exception ignored on
  calling ctypes callback function" and ``object`` the callable; a result that cannot be converted
  goes there with "Exception ignored on converting result of ctypes callback function" (from 3.13
  the message ends with the callable's repr and ``object`` is None; 3.14 says "while calling",
  "while converting": the tests take the wording from the running stdlib). What C then
  receives is undefined in stdlib (an uninitialised result buffer); ferrotype zeroes it, and only
  the ferrotype run asserts that.
* Returning ``bytes``/``str`` from a ``c_char_p``/``c_wchar_p`` callback makes stdlib leak the
  object and warn ("memory leak in callback function."), which pytest turns into an error; the tests
  return integer addresses or None there instead.
* Calling a NULL function pointer (``CFUNCTYPE(c_int)(0)()``) crashes stdlib with SIGSEGV; the
  tests that call one are ferrotype-only.
* paramflag 3 (in + out) is accepted: the argument object itself is returned. Values 4 and 7 raise
  ``TypeError("paramflag value N not supported")``; other flag bits (8, ...) are ignored.
"""

import ctypes.util
import gc
import random
import sys
import types
import weakref

import pytest
from stdlib_errors import stdlib_error

# ---- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def unraisable():
    """Replaces ``sys.unraisablehook`` with a recorder for the test; returns the records (plain
    namespaces, so no traceback or object is kept alive past the hook's own lifetime rules)."""
    records = []

    def hook(args):
        records.append(
            types.SimpleNamespace(
                exc_type=args.exc_type,
                exc_value=args.exc_value,
                err_msg=args.err_msg,
                object=args.object,
            )
        )

    old = sys.unraisablehook
    sys.unraisablehook = hook
    try:
        yield records
    finally:
        sys.unraisablehook = old


@pytest.fixture
def Point(ct):
    class Point(ct.Structure):
        _fields_ = [("x", ct.c_double), ("y", ct.c_double)]

    return Point


@pytest.fixture
def Big(ct):
    class Big(ct.Structure):
        _fields_ = [("a", ct.c_longlong * 5)]

    return Big


@pytest.fixture
def Rec(ct):
    class Rec(ct.Structure):
        _fields_ = [("a", ct.c_int), ("name", ct.c_char * 8), ("d", ct.c_double)]

    return Rec


@pytest.fixture
def libc(ct):
    return ct.CDLL(ctypes.util.find_library("c"))


def _stdlib_report(proto, callback, *args):
    """The ``(err_msg, object)`` stdlib ctypes reports for a callback that fails."""
    seen = []
    old = sys.unraisablehook
    sys.unraisablehook = lambda a: seen.append((a.err_msg, a.object))
    try:
        proto(callback)(*args)
    finally:
        sys.unraisablehook = old
    ((err_msg, obj),) = seen
    return err_msg, obj


def _fails(v):
    raise ValueError(v)


def _bad_result(v):
    return "not an int"


_CALLING = _stdlib_report(ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int), _fails, 1)
_CONVERTING = _stdlib_report(ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int), _bad_result, 1)
# 3.11, 3.12: the message is fixed and the object is the callable; from 3.13 the message ends
# with the callable's repr and the object is None. 3.14 says "while" where 3.11 says "on".
_NAMES_CALLABLE = _CALLING[1] is None
CALLING_MSG = _CALLING[0].removesuffix(f" {_fails!r}")
CONVERTING_MSG = _CONVERTING[0].removesuffix(f" {_bad_result!r}")


def calling_msg(callback):
    """The ``err_msg`` of an exception raised by ``callback``."""
    return f"{CALLING_MSG} {callback!r}" if _NAMES_CALLABLE else CALLING_MSG


def converting_msg(callback):
    """The ``err_msg`` of a result of ``callback`` that cannot be converted."""
    return f"{CONVERTING_MSG} {callback!r}" if _NAMES_CALLABLE else CONVERTING_MSG


def reported_object(callback):
    """The ``object`` of an unraisable report about ``callback``."""
    return None if _NAMES_CALLABLE else callback


# ---- prototypes ------------------------------------------------------------------------------


def test_cfunctype_is_cached_per_signature(ct):
    assert ct.CFUNCTYPE(ct.c_int, ct.c_int) is ct.CFUNCTYPE(ct.c_int, ct.c_int)
    assert ct.CFUNCTYPE(None) is ct.CFUNCTYPE(None)
    assert ct.CFUNCTYPE(ct.c_int, ct.c_int) is not ct.CFUNCTYPE(ct.c_long, ct.c_int)
    assert ct.CFUNCTYPE(ct.c_int, ct.c_int) is not ct.CFUNCTYPE(ct.c_int, ct.c_int, ct.c_int)
    errno_proto = ct.CFUNCTYPE(ct.c_int, ct.c_int, use_errno=True)
    assert errno_proto is not ct.CFUNCTYPE(ct.c_int, ct.c_int)
    assert errno_proto is ct.CFUNCTYPE(ct.c_int, ct.c_int, use_errno=True)


def test_prototype_attributes(ct):
    proto = ct.CFUNCTYPE(ct.c_int, ct.c_double, ct.c_char_p)
    assert proto._restype_ is ct.c_int
    assert proto._argtypes_ == (ct.c_double, ct.c_char_p)
    assert proto._flags_ == ct._FUNCFLAG_CDECL
    assert ct.CFUNCTYPE(None)._restype_ is None
    assert ct.CFUNCTYPE(None)._argtypes_ == ()
    assert ct.CFUNCTYPE(ct.c_int, use_errno=True)._flags_ == (
        ct._FUNCFLAG_CDECL | ct._FUNCFLAG_USE_ERRNO
    )
    assert ct.PYFUNCTYPE(ct.c_int)._flags_ == ct._FUNCFLAG_CDECL | ct._FUNCFLAG_PYTHONAPI
    assert issubclass(proto, ct._CFuncPtr)


def test_too_many_argtypes_in_prototype(ct):
    with pytest.raises(ct.ArgumentError) as exc:
        ct.CFUNCTYPE(ct.c_int, *[ct.c_int] * 1025)
    assert str(exc.value) == "_argtypes_ has too many arguments (1025), maximum is 1024"


@pytest.mark.parametrize("restype", ["struct", "pointer", "array"])
def test_callback_restype_must_be_simple(ct, Point, restype):
    rt = {
        "struct": Point,
        "pointer": ct.POINTER(ct.c_int),
        "array": ct.c_int * 2,
    }[restype]
    proto = ct.CFUNCTYPE(rt, ct.c_int)
    with pytest.raises(TypeError) as exc:
        proto(lambda x: None)
    assert str(exc.value) == "invalid result type for callback function"


@pytest.mark.parametrize(
    "arg, message",
    [
        ("x", "argument must be callable or integer function address"),
        (1.5, "argument must be callable or integer function address"),
        (None, "argument must be callable or integer function address"),
    ],
)
def test_prototype_bad_argument(ct, arg, message):
    with pytest.raises(TypeError) as exc:
        ct.CFUNCTYPE(ct.c_int)(arg)
    assert str(exc.value) == message


def test_prototype_from_name_and_dll(ct, lib):
    add = ct.CFUNCTYPE(ct.c_int, ct.c_int, ct.c_int)(("add", lib))
    assert add(2, 3) == 5
    with pytest.raises(AttributeError, match="ft_no_such_function"):
        ct.CFUNCTYPE(ct.c_int)(("ft_no_such_function", lib))
    with pytest.raises(TypeError) as exc:
        ct.CFUNCTYPE(ct.c_int)(("add",))
    assert str(exc.value) == "illegal func_spec argument"


def test_prototype_from_address(ct, lib):
    address = ct.cast(lib.add, ct.c_void_p).value
    add = ct.CFUNCTYPE(ct.c_int, ct.c_int, ct.c_int)(address)
    assert add(2, 3) == 5
    assert ct.cast(add, ct.c_void_p).value == address


# ---- one callback per simple type ------------------------------------------------------------

# (fixture suffix, ctypes type, argument, callback, expected result): the callback changes the
# value, so C returning its own argument cannot pass.
SIMPLE = [
    ("int8", "c_int8", -100, lambda v: v - 20, -120),
    ("uint8", "c_uint8", 200, lambda v: v + 55, 255),
    ("int16", "c_int16", -30000, lambda v: v - 2000, -32000),
    ("uint16", "c_uint16", 60000, lambda v: v + 5000, 65000),
    ("int32", "c_int32", -(2**31) + 1, lambda v: v - 1, -(2**31)),
    ("uint32", "c_uint32", 2**32 - 2, lambda v: v + 1, 2**32 - 1),
    ("int64", "c_int64", -(2**62), lambda v: v * 2, -(2**63)),
    ("uint64", "c_uint64", 2**63, lambda v: v + 2**63 - 1, 2**64 - 1),
    ("int", "c_int", 7, lambda v: -v, -7),
    ("long", "c_long", 2**40, lambda v: v + 1, 2**40 + 1),
    ("size_t", "c_size_t", 2**64 - 2, lambda v: v + 1, 2**64 - 1),
    ("float", "c_float", 1.5, lambda v: v * 2, 3.0),
    ("double", "c_double", 0.1, lambda v: v * 3, 0.1 * 3),
    ("longdouble", "c_longdouble", 1.5, lambda v: v / 4, 0.375),
    ("bool", "c_bool", True, lambda v: not v, False),
    ("char", "c_char", b"a", lambda v: bytes([v[0] + 1]), b"b"),
    ("wchar", "c_wchar", "\u00e9", lambda v: chr(ord(v) + 1), "\u00ea"),
    ("voidp", "c_void_p", 0x1234, lambda v: v + 1, 0x1235),
    ("obj", "py_object", [1, 2], lambda v: tuple(v), (1, 2)),
]


@pytest.mark.parametrize("suffix, tname, value, fn, expected", SIMPLE, ids=[s[0] for s in SIMPLE])
def test_callback_simple_type(ct, cfunc, unraisable, suffix, tname, value, fn, expected):
    T = getattr(ct, tname)
    proto = ct.CFUNCTYPE(T, T)
    seen = []

    def callback(v):
        seen.append(v)
        return fn(v)

    cb = proto(callback)
    call = cfunc(f"ft_cb_call_{suffix}", T, proto, T)
    result = call(cb, value)
    assert result == expected
    assert type(result) is type(expected)
    assert seen == [value]
    assert type(seen[0]) is type(value)
    # the callback object is callable from Python too, through its C entry point
    assert cb(value) == expected
    assert len(seen) == 2
    assert unraisable == []


def test_callback_bool_result_uses_truth(ct, cfunc, unraisable):
    proto = ct.CFUNCTYPE(ct.c_bool, ct.c_bool)
    call = cfunc("ft_cb_call_bool", ct.c_bool, proto, ct.c_bool)
    assert call(proto(lambda v: []), True) is False
    assert call(proto(lambda v: "x"), False) is True
    assert call(proto(lambda v: 5), False) is True
    assert unraisable == []


def test_callback_char_result_from_int(ct, cfunc, unraisable):
    proto = ct.CFUNCTYPE(ct.c_char, ct.c_char)
    call = cfunc("ft_cb_call_char", ct.c_char, proto, ct.c_char)
    assert call(proto(lambda v: 66), b"a") == b"B"
    assert unraisable == []


def test_callback_char_p(ct, cfunc, unraisable):
    proto = ct.CFUNCTYPE(ct.c_char_p, ct.c_char_p)
    call = cfunc("ft_cb_call_charp", ct.c_char_p, proto, ct.c_char_p)
    buf = ct.create_string_buffer(b"from python")
    seen = []

    def callback(s):
        seen.append(s)
        return None if s is None else ct.addressof(buf)

    cb = proto(callback)
    assert call(cb, b"hello") == b"from python"
    assert call(cb, None) is None
    assert seen == [b"hello", None]
    assert unraisable == []


def test_callback_wchar_p(ct, cfunc, unraisable):
    proto = ct.CFUNCTYPE(ct.c_wchar_p, ct.c_wchar_p)
    call = cfunc("ft_cb_call_wcharp", ct.c_wchar_p, proto, ct.c_wchar_p)
    buf = ct.create_unicode_buffer("from \u4e2d python")
    seen = []

    def callback(s):
        seen.append(s)
        return None if s is None else ct.addressof(buf)

    cb = proto(callback)
    assert call(cb, "wide \u00e9") == "from \u4e2d python"
    assert call(cb, None) is None
    assert seen == ["wide \u00e9", None]
    assert unraisable == []


def test_callback_void_p_null(ct, cfunc, unraisable):
    proto = ct.CFUNCTYPE(ct.c_void_p, ct.c_void_p)
    call = cfunc("ft_cb_call_voidp", ct.c_void_p, proto, ct.c_void_p)
    seen = []
    cb = proto(lambda p: seen.append(p))  # returns None: a NULL result
    assert call(cb, None) is None
    assert seen == [None]
    assert unraisable == []


def test_callback_py_object_reference_counts(ct, cfunc, unraisable):
    proto = ct.CFUNCTYPE(ct.py_object, ct.py_object)
    call = cfunc("ft_cb_call_obj", ct.py_object, proto, ct.py_object)
    arg, res = object(), object()
    cb = proto(lambda v: res if v is arg else None)
    assert call(cb, arg) is res
    before = sys.getrefcount(arg), sys.getrefcount(res)
    for _ in range(1000):
        assert call(cb, arg) is res
    assert (sys.getrefcount(arg), sys.getrefcount(res)) == before
    assert unraisable == []


def test_callback_argtype_subclass_gets_instance(ct, cfunc):
    """A subclass of a simple type is not converted to a Python value (as for restype)."""

    class MyInt(ct.c_int):
        pass

    proto = ct.CFUNCTYPE(ct.c_int, MyInt)
    seen = []

    def callback(v):
        seen.append(v)
        return v.value * 2

    call = cfunc("ft_cb_call_int", ct.c_int, proto, ct.c_int)
    assert call(proto(callback), 21) == 42
    assert type(seen[0]) is MyInt
    assert seen[0].value == 21


# ---- several and mixed arguments -------------------------------------------------------------


def test_callback_mixed_arguments(ct, cfunc, Point, unraisable):
    proto = ct.CFUNCTYPE(
        ct.c_int, ct.c_int, ct.c_double, ct.c_float, ct.c_char_p, ct.POINTER(Point)
    )
    seen = []

    def callback(i, d, f, s, p):
        seen.append((i, d, f, s, type(p), p.contents.x, p.contents.y))
        p.contents.x = 3.0
        p[0].y = 4.0
        return 5

    mixed = cfunc("ft_cb_mixed", ct.c_double, proto)
    assert mixed(proto(callback)) == 5 + 10 * 3.0 + 100 * 4.0
    assert seen == [(7, 2.5, 0.25, b"mixed", ct.POINTER(Point), 1.5, -2.5)]
    assert unraisable == []


def test_callback_many_arguments_some_on_the_stack(ct, cfunc):
    ints = [ct.c_int] * 8
    doubles = [ct.c_double] * 9
    proto = ct.CFUNCTYPE(ct.c_double, *ints, *doubles)
    seen = []

    def callback(*args):
        seen.append(args)
        return sum(a * 10.0**i for i, a in enumerate(args[:8])) + sum(args[8:])

    many = cfunc("ft_cb_many", ct.c_double, proto)
    expected_args = (1, 2, 3, 4, 5, 6, 7, 8, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5)
    assert many(proto(callback)) == callback(*expected_args)
    assert seen[0] == expected_args


def test_callback_writes_through_struct_pointer(ct, cfunc, Point):
    proto = ct.CFUNCTYPE(None, ct.POINTER(Point), ct.c_int)

    def callback(p, i):
        p.contents.x = i
        p.contents.y = i * i

    fill = cfunc("ft_cb_fill_points", ct.c_double, proto, ct.c_int)
    assert fill(proto(callback), 5) == sum(i + 2.0 * i * i for i in range(5))


def test_callback_void_restype(ct, cfunc, unraisable):
    proto = ct.CFUNCTYPE(None, ct.c_int)
    seen = []

    def callback(i):
        seen.append(i)
        return 123  # ignored: the callback returns void

    call = cfunc("ft_cb_call_void", None, proto, ct.c_int)
    assert call(proto(callback), 5) is None
    assert seen == [0, 1, 2, 3, 4]
    assert unraisable == []


def test_callback_without_arguments(ct, cfunc):
    proto = ct.CFUNCTYPE(ct.c_int)
    calls = []

    def callback():
        calls.append(1)
        return len(calls)

    call = cfunc("ft_cb_call_noargs", ct.c_int, proto)
    assert call(proto(callback)) == 1 + 2


def test_callback_passed_without_argtypes(ct, lib):
    cb = ct.CFUNCTYPE(ct.c_int, ct.c_int)(lambda v: v * 3)
    assert lib.ft_cb_call_int(cb, 14) == 42


def test_plain_function_is_not_a_callback(ct, cfunc):
    proto = ct.CFUNCTYPE(ct.c_int, ct.c_int)
    call = cfunc("ft_cb_call_int", ct.c_int, proto, ct.c_int)
    with pytest.raises(ct.ArgumentError) as exc:
        call(lambda v: v, 1)
    assert str(exc.value) == (
        "argument 1: TypeError: expected CFunctionType instance instead of function"
    )


def test_calling_a_callback_from_python(ct, Point):
    cb = ct.CFUNCTYPE(ct.c_double, ct.c_int, ct.c_float)(lambda i, f: i + f)
    assert cb(1, 0.5) == 1.5
    with pytest.raises(TypeError) as exc:
        cb(1)
    assert str(exc.value) == "this function takes at least 2 arguments (1 given)"
    with pytest.raises(ct.ArgumentError):
        cb("x", 0.5)
    by_value = ct.CFUNCTYPE(ct.c_double, Point)(lambda p: p.x + p.y)
    assert by_value(Point(1.0, 2.0)) == 3.0


# ---- structs by value into a callback --------------------------------------------------------


def test_callback_receives_struct_by_value(ct, cfunc, Point):
    proto = ct.CFUNCTYPE(ct.c_double, Point)
    kept = []

    def callback(p):
        kept.append(p)
        total = p.x + p.y
        p.x = 99.0  # a copy: the caller's struct does not change
        return total

    call = cfunc("ft_cb_point_byval", ct.c_double, proto, ct.c_double, ct.c_double)
    assert call(proto(callback), 1.5, 2.5) == 4.0 + 1000.0  # 1000: C's struct was untouched
    (p,) = kept
    assert type(p) is Point
    # the copy owns its memory and outlives the call
    gc.collect()
    assert (p.x, p.y) == (99.0, 2.5)


def test_callback_receives_large_struct_by_value(ct, cfunc, Big):
    proto = ct.CFUNCTYPE(ct.c_longlong, Big)
    seen = []

    def callback(b):
        seen.append(list(b.a))
        return sum(b.a) * 2

    call = cfunc("ft_cb_big_byval", ct.c_longlong, proto, ct.c_longlong)
    assert call(proto(callback), 10) == 2 * (10 + 11 + 12 + 13 + 14)
    assert seen == [[10, 11, 12, 13, 14]]


def test_callback_receives_struct_between_scalars(ct, cfunc, Rec):
    proto = ct.CFUNCTYPE(ct.c_int, ct.c_int, Rec, ct.c_double)
    seen = []

    def callback(first, r, last):
        seen.append((first, r.a, r.name, r.d, last))
        return 11

    call = cfunc("ft_cb_rec_byval", ct.c_int, proto, ct.c_int, ct.c_double)
    assert call(proto(callback), 4, 2.25) == 11
    assert seen == [(-1, 4, b"byval", 2.25, 0.5)]


# ---- libc qsort --------------------------------------------------------------------------------


def test_qsort_with_python_comparator(ct, libc):
    IntArray = ct.c_int * 1000
    values = list(range(1000))
    random.Random(1234).shuffle(values)
    arr = IntArray(*values)
    calls = 0
    CMP = ct.CFUNCTYPE(ct.c_int, ct.POINTER(ct.c_int), ct.POINTER(ct.c_int))

    def compare(a, b):
        nonlocal calls
        calls += 1
        return (a[0] > b[0]) - (a[0] < b[0])

    qsort = libc.qsort
    qsort.argtypes = [ct.c_void_p, ct.c_size_t, ct.c_size_t, CMP]
    qsort.restype = None
    qsort(arr, len(arr), ct.sizeof(ct.c_int), CMP(compare))
    assert list(arr) == list(range(1000))
    assert calls > 0


def test_qsort_structs_by_field(ct, libc, Point):
    points = (Point * 50)(*((float((i * 37) % 50), float(i)) for i in range(50)))
    CMP = ct.CFUNCTYPE(ct.c_int, ct.POINTER(Point), ct.POINTER(Point))

    def compare(a, b):
        return (a.contents.x > b.contents.x) - (a.contents.x < b.contents.x)

    qsort = libc.qsort
    qsort.argtypes = [ct.c_void_p, ct.c_size_t, ct.c_size_t, CMP]
    qsort.restype = None
    qsort(points, len(points), ct.sizeof(Point), CMP(compare))
    assert [p.x for p in points] == [float(i) for i in range(50)]
    assert sorted(p.y for p in points) == [float(i) for i in range(50)]


# ---- PYFUNCTYPE ------------------------------------------------------------------------------


def test_pyfunctype_calls_the_python_api(ct):
    repr_ = ct.PYFUNCTYPE(ct.py_object, ct.py_object)(("PyObject_Repr", ct.pythonapi))
    assert repr_([1, "a"]) == "[1, 'a']"
    as_long = ct.PYFUNCTYPE(ct.c_long, ct.py_object)(("PyLong_AsLong", ct.pythonapi))
    assert as_long(2**40) == 2**40
    with pytest.raises(TypeError):  # the error the function sets is raised
        as_long("x")


def test_pyfunctype_callback(ct, cfunc):
    proto = ct.PYFUNCTYPE(ct.c_int, ct.c_int)
    call = cfunc("ft_cb_call_int", ct.c_int, proto, ct.c_int)
    assert call(proto(lambda v: v + 1), 41) == 42


# ---- errors inside callbacks -----------------------------------------------------------------


def test_exception_in_callback_is_unraisable(ct, cfunc, unraisable, is_ferrotype):
    proto = ct.CFUNCTYPE(ct.c_int, ct.c_int)

    def callback(v):
        raise ZeroDivisionError(f"boom {v}")

    call = cfunc("ft_cb_call_int", ct.c_int, proto, ct.c_int)
    result = call(proto(callback), 5)
    (rec,) = unraisable
    assert rec.exc_type is ZeroDivisionError
    assert str(rec.exc_value) == "boom 5"
    assert rec.err_msg == calling_msg(callback)
    assert rec.object is reported_object(callback)
    if is_ferrotype:  # stdlib leaves the result buffer uninitialised; ferrotype zeroes it
        assert result == 0
    # the interpreter and the prototype survive
    assert call(proto(lambda v: v + 1), 5) == 6
    assert len(unraisable) == 1


def test_exception_in_double_callback_gives_zero(ct, cfunc, unraisable, is_ferrotype):
    proto = ct.CFUNCTYPE(ct.c_double, ct.c_double)

    def callback(v):
        raise KeyError(v)

    call = cfunc("ft_cb_call_double", ct.c_double, proto, ct.c_double)
    result = call(proto(callback), 2.5)
    assert [(r.exc_type, r.err_msg) for r in unraisable] == [(KeyError, calling_msg(callback))]
    if is_ferrotype:  # undefined in stdlib
        assert result == 0.0


@pytest.mark.parametrize(
    "tname, suffix, arg, bad",
    [
        ("c_int", "int", 1, "str"),
        ("c_int", "int", 1, None),
        ("c_int", "int", 1, 1.5),
        ("c_double", "double", 1.0, "str"),
        ("c_void_p", "voidp", None, 1.5),
    ],
)
def test_wrong_result_type_is_unraisable(
    ct, cfunc, unraisable, is_ferrotype, tname, suffix, arg, bad
):
    T = getattr(ct, tname)
    proto = ct.CFUNCTYPE(T, T)

    def callback(v):
        return bad

    call = cfunc(f"ft_cb_call_{suffix}", T, proto, T)
    result = call(proto(callback), arg)
    (rec,) = unraisable
    assert rec.exc_type is TypeError
    assert rec.err_msg == converting_msg(callback)
    assert rec.object is reported_object(callback)
    if is_ferrotype:  # undefined in stdlib (for c_double it returns stack garbage)
        assert not result


def test_int_result_conversion_message(ct, cfunc, unraisable):
    proto = ct.CFUNCTYPE(ct.c_int, ct.c_int)
    call = cfunc("ft_cb_call_int", ct.c_int, proto, ct.c_int)
    call(proto(lambda v: "str"), 1)
    (rec,) = unraisable
    assert str(rec.exc_value) == "'str' object cannot be interpreted as an integer"


def test_exceptions_in_many_calls(ct, cfunc, unraisable):
    """Every failing call is reported, and the calls after a failure still run."""
    proto = ct.CFUNCTYPE(None, ct.c_int)
    seen = []

    def callback(i):
        seen.append(i)
        raise ValueError(i)

    call = cfunc("ft_cb_call_void", None, proto, ct.c_int)
    call(proto(callback), 50)
    assert seen == list(range(50))
    assert [r.exc_value.args for r in unraisable] == [(i,) for i in range(50)]
    assert {(r.exc_type, r.err_msg) for r in unraisable} == {(ValueError, calling_msg(callback))}


# ---- callbacks from threads Python did not create --------------------------------------------


@pytest.mark.parametrize(
    "nthreads, calls, fn, expected",
    [
        (4, 25000, lambda i: 1, 100_000),
        (4, 1000, lambda i: i, 4 * sum(range(1000))),
        (1, 10, lambda i: i * i, sum(i * i for i in range(10))),
    ],
    ids=["4x25000-ones", "4x1000-index", "1x10-squares"],
)
def test_callbacks_from_foreign_threads(ct, cfunc, unraisable, nthreads, calls, fn, expected):
    proto = ct.CFUNCTYPE(ct.c_int, ct.c_int)
    run = cfunc("ft_cb_threads", ct.c_int, proto, ct.c_int, ct.c_int)
    cb = proto(fn)
    assert run(cb, nthreads, calls) == expected
    assert unraisable == []


def test_exception_in_foreign_thread_callback(ct, cfunc, unraisable, is_ferrotype):
    proto = ct.CFUNCTYPE(ct.c_int, ct.c_int)

    def callback(i):
        if i == 3:
            raise RuntimeError("thread boom")
        return 1

    run = cfunc("ft_cb_threads", ct.c_int, proto, ct.c_int, ct.c_int)
    total = run(proto(callback), 4, 100)
    assert len(unraisable) == 4
    assert {(r.exc_type, r.err_msg) for r in unraisable} == {(RuntimeError, calling_msg(callback))}
    if is_ferrotype:  # each failed call counts 0; undefined in stdlib
        assert total == 4 * 99


# ---- int results of character callbacks -------------------------------------------------------


@pytest.mark.parametrize(
    "rtype, arg, value, expected, fails",
    [
        ("c_char", b"a", 65, b"A", False),
        ("c_char", b"a", -1, b"\x00", True),
        ("c_char", b"a", 256, b"\x00", True),
        ("c_wchar", "a", 65, "\x00", True),
        ("c_int8", 1, 255, -1, False),
    ],
)
def test_int_results_of_character_callbacks(
    ct, cfunc, unraisable, rtype, arg, value, expected, fails
):
    """An int returned for `c_char` must be a byte value; for `c_wchar` it is refused, with
    the message of the type's constructor (whose wording changed in 3.14)."""
    error = stdlib_error(lambda m: getattr(m, rtype)(value))[1] if fails else None
    t = getattr(ct, rtype)
    proto = ct.CFUNCTYPE(t, t)
    caller = {
        "c_char": "ft_cb_call_char",
        "c_wchar": "ft_cb_call_wchar",
        "c_int8": "ft_cb_call_int8",
    }
    call = cfunc(caller[rtype], t, proto, t)
    stdlib = ct.__name__ == "ctypes"
    try:
        got = call(proto(lambda x: value), arg)
    except ValueError:
        # The stdlib's result of a failed callback is undefined: from 3.13 it may be a
        # character its c_wchar cannot decode. ferrotype's is 0.
        assert fails and stdlib
    else:
        if not (fails and stdlib):
            assert got == expected
    assert [str(r.exc_value) for r in unraisable] == ([error] if error else [])


# ---- where the GIL is when a callback runs ----------------------------------------------------
# A foreign call gives the GIL up; a callback on the same thread takes it back and gives it up
# again, also when C code took the GIL itself (PyGILState_Ensure) before calling the callback.


@pytest.mark.parametrize("loader", ["CDLL", "PyDLL"])
def test_callback_called_with_the_gil_taken_by_c(ct, fixture_path, unraisable, loader):
    lib = getattr(ct, loader)(fixture_path)
    proto = ct.CFUNCTYPE(ct.c_int, ct.c_int)
    with_gil = lib.ft_cb_with_gil
    with_gil.restype, with_gil.argtypes = ct.c_int, [proto, ct.c_int]
    in_thread = lib.ft_cb_in_thread_with_gil
    in_thread.restype, in_thread.argtypes = ct.c_int, [proto, ct.c_int]
    call = lib.ft_cb_call_int
    call.restype, call.argtypes = ct.c_int, [proto, ct.c_int]
    seen = []

    def inner(x):
        seen.append(x)
        return x * 2

    inner_cb = proto(inner)

    def outer(x):
        # Python code inside the callback makes further foreign calls, which give the
        # GIL up and call back again.
        return call(inner_cb, x) + with_gil(inner_cb, x + 1) + 1

    cb = proto(outer)
    assert with_gil(cb, 10) == 20 + 22 + 1
    assert call(cb, 7) == 14 + 16 + 1
    if loader == "CDLL":  # (PyDLL keeps the GIL: the thread could never take it)
        assert in_thread(cb, 5) == 10 + 12 + 1
        assert seen == [10, 11, 7, 8, 5, 6]
    else:
        assert seen == [10, 11, 7, 8]
    assert unraisable == []


def _nest(ct, call, proto, depth, trail):
    def cb(x):
        trail.append(x)
        if x >= depth:
            return x
        return call(proto(_nest(ct, call, proto, depth, trail)), x + 1) + 1

    return cb


@pytest.mark.parametrize("depth", [1, 8])
def test_nested_callbacks_through_foreign_calls(ct, cfunc, unraisable, depth):
    proto = ct.CFUNCTYPE(ct.c_int, ct.c_int)
    call = cfunc("ft_cb_call_int", ct.c_int, proto, ct.c_int)
    trail = []
    assert call(proto(_nest(ct, call, proto, depth, trail)), 0) == 2 * depth
    assert trail == list(range(depth + 1))
    assert unraisable == []


def test_other_threads_run_during_a_call_with_callbacks(ct, cfunc):
    """The GIL is given up between callbacks: a Python thread makes progress meanwhile."""
    import threading

    proto = ct.CFUNCTYPE(ct.c_int, ct.c_int)
    run = cfunc("ft_cb_threads", ct.c_int, proto, ct.c_int, ct.c_int)
    call = cfunc("ft_cb_call_int", ct.c_int, proto, ct.c_int)
    stop = threading.Event()
    ticks = []

    def spin():
        while not stop.is_set():
            ticks.append(1)

    t = threading.Thread(target=spin)
    t.start()
    try:
        done = 0
        for _ in range(200):
            done += call(proto(lambda x: x), 1)
        # and callbacks from foreign threads while this thread waits in a foreign call
        assert run(proto(lambda i: 1), 2, 500) == 1000
    finally:
        stop.set()
        t.join()
    assert done == 200
    assert ticks


# ---- function pointers returned by C ---------------------------------------------------------


def test_function_pointer_returned_by_c(ct, cfunc):
    NEG = ct.CFUNCTYPE(ct.c_int, ct.c_int)
    neg = cfunc("ft_get_neg_int", NEG)()
    assert isinstance(neg, NEG)
    assert neg(5) == -5
    scale = cfunc("ft_get_scale", ct.CFUNCTYPE(ct.c_double, ct.c_double, ct.c_double))()
    assert scale(1.5, 4.0) == 6.0
    # and handed back to C as a callback: C calls C, no Python in between
    call = cfunc("ft_cb_call_int", ct.c_int, NEG, ct.c_int)
    assert call(neg, 9) == -9


def test_null_function_pointer_is_false(ct, cfunc):
    proto = ct.CFUNCTYPE(ct.c_int)
    assert not proto(0)
    assert not proto()
    assert not cfunc("ft_get_null_funcptr", proto)()
    assert proto(lambda: 0)


def test_calling_null_function_pointer_raises(ferrotype, fixture_path):
    """stdlib 3.11 dies with SIGSEGV here."""
    ft = ferrotype
    proto = ft.CFUNCTYPE(ft.c_int)
    with pytest.raises(ValueError, match="NULL"):
        proto(0)()
    with pytest.raises(ValueError, match="NULL"):
        proto()()
    get = ft.CDLL(fixture_path).ft_get_null_funcptr
    get.restype = proto
    with pytest.raises(ValueError, match="NULL"):
        get()()


# ---- lifetime ----------------------------------------------------------------------------------


def test_callback_kept_by_c_works_while_alive(ct, cfunc):
    proto = ct.CFUNCTYPE(ct.c_int, ct.c_int)
    register = cfunc("ft_cb_register", None, proto)
    fire = cfunc("ft_cb_fire", ct.c_int, ct.c_int)
    cb = proto(lambda v: v * 10)
    with pytest.raises(ct.ArgumentError):
        register(None)  # a CFUNCTYPE argument does not take None; a NULL proto() does
    register(cb)
    try:
        for _ in range(3):
            gc.collect()
            assert fire(4) == 40
        # garbage made by other callbacks in between does not disturb it
        for i in range(200):
            assert proto(lambda v, i=i: v + i)(1) == 1 + i
        gc.collect()
        assert fire(5) == 50
    finally:
        register(proto())  # a NULL function pointer clears it (None is refused)
    assert fire(5) == -1


def test_callback_keeps_its_callable_alive_and_releases_it(ct):
    class Callable:
        def __call__(self, v):
            return v + 1

    target = Callable()
    ref = weakref.ref(target)
    cb = ct.CFUNCTYPE(ct.c_int, ct.c_int)(target)
    del target
    gc.collect()
    assert ref() is not None
    assert cb(1) == 2
    del cb
    gc.collect()
    assert ref() is None


def test_debug_callbacks_reports_freed_callback(ferrotype, fixture_path, unraisable):
    ft = ferrotype
    lib = ft.CDLL(fixture_path)
    proto = ft.CFUNCTYPE(ft.c_int, ft.c_int)
    register = lib.ft_cb_register
    register.argtypes = [proto]
    register.restype = None
    fire = lib.ft_cb_fire
    fire.argtypes = [ft.c_int]
    fire.restype = ft.c_int
    previous = ft.debug_callbacks(True)
    try:
        cb = proto(lambda v: v + 1)
        register(cb)
        assert fire(1) == 2
        del cb
        gc.collect()
        with pytest.raises(RuntimeError, match="freed"):
            fire(1)
        # the interpreter survives and the next callback works
        ok = proto(lambda v: v * 2)
        register(ok)
        assert fire(21) == 42
    finally:
        register(proto())  # a NULL function pointer clears it (None is refused)
        ft.debug_callbacks(previous)


# ---- use_errno -------------------------------------------------------------------------------


def test_use_errno_callback_swaps_errno(ct, cfunc):
    """With use_errno, C's errno is the private copy while the callback runs, and the private
    copy the callback sets is C's errno when it returns."""
    proto = ct.CFUNCTYPE(ct.c_int, ct.c_int, use_errno=True)
    seen = []

    def callback(e):
        seen.append(ct.get_errno())
        ct.set_errno(77)
        return 0

    run = cfunc("ft_cb_errno", ct.c_int, proto, ct.c_int)
    ct.set_errno(5)
    assert run(proto(callback), 42) == 77
    assert seen == [42]


def test_callback_without_use_errno_sees_private_copy(ct, cfunc):
    proto = ct.CFUNCTYPE(ct.c_int, ct.c_int)
    seen = []

    def callback(e):
        seen.append(ct.get_errno())
        return 0

    run = cfunc("ft_cb_errno", ct.c_int, proto, ct.c_int)
    ct.set_errno(5)
    run(proto(callback), 42)
    assert seen == [5]


# ---- paramflags: output parameters, keywords, defaults ---------------------------------------


@pytest.fixture
def divmod_proto(ct):
    return ct.CFUNCTYPE(ct.c_int, ct.c_int, ct.c_int, ct.POINTER(ct.c_int), ct.POINTER(ct.c_int))


DIVMOD_FLAGS = ((1, "a"), (1, "b"), (2, "q"), (2, "r"))


def test_paramflags_output_parameters(ct, lib, divmod_proto):
    dm = divmod_proto(("ft_divmod", lib), DIVMOD_FLAGS)
    assert dm(17, 5) == (3, 2)
    assert dm(b=5, a=17) == (3, 2)
    assert dm(17, b=5) == (3, 2)
    assert dm(-17, 5) == (-3, -2)  # C truncation


def test_paramflags_argument_errors(ct, lib, divmod_proto):
    dm = divmod_proto(("ft_divmod", lib), DIVMOD_FLAGS)
    cases = [
        ((17,), {}, "required argument 'b' missing"),
        ((), {"a": 17}, "required argument 'b' missing"),
        ((17, 5, 3), {}, "call takes exactly 2 arguments (3 given)"),
        ((17, 5), {"c": 3}, "call takes exactly 2 arguments (3 given)"),
        ((17, 5), {"a": 3}, "call takes exactly 2 arguments (3 given)"),
    ]
    for args, kwargs, message in cases:
        with pytest.raises(TypeError) as exc:
            dm(*args, **kwargs)
        assert str(exc.value) == message, (args, kwargs)


def test_paramflags_default_values(ct, lib, divmod_proto):
    dm = divmod_proto(("ft_divmod", lib), ((1, "a"), (1, "b", 5), (2, "q"), (2, "r")))
    assert dm(17) == (3, 2)
    assert dm(17, 3) == (5, 2)
    assert dm(a=17, b=4) == (4, 1)


def test_paramflags_single_output_returns_the_value(ct, lib, divmod_proto):
    dm = divmod_proto(("ft_divmod", lib), ((1, "a"), (1, "b"), (2, "q"), (1, "r")))
    r = ct.c_int()
    assert dm(17, 5, ct.byref(r)) == 3
    assert r.value == 2


def test_paramflags_double_outputs(ct, lib):
    proto = ct.CFUNCTYPE(
        ct.c_double, ct.c_double, ct.c_double, ct.POINTER(ct.c_double), ct.POINTER(ct.c_double)
    )
    sp = proto(("ft_sum_prod", lib), ((1, "a"), (1, "b"), (2, "s"), (2, "p")))
    assert sp(3, 4) == (7.0, 12.0)


def test_paramflags_struct_output_returns_instance(ct, lib, Rec):
    proto = ct.CFUNCTYPE(None, ct.POINTER(Rec), ct.c_int)
    fill = proto(("ft_rec_fill", lib), ((2, "r"), (1, "a")))
    r = fill(4)
    assert type(r) is Rec
    assert (r.a, r.name, r.d) == (4, b"filled", 2.0)
    assert fill(a=6).a == 6


def test_paramflags_in_out_returns_the_argument(ct, lib):
    proto = ct.CFUNCTYPE(ct.c_int, ct.POINTER(ct.c_int), ct.c_int)
    twice = proto(("ft_twice_inplace", lib), ((3, "p"), (1, "add")))
    x = ct.c_int(10)
    result = twice(x, 1)
    assert result is x
    assert x.value == 21
    assert twice(p=x, add=0) is x
    assert x.value == 42


def test_paramflags_without_names(ct, lib):
    proto = ct.CFUNCTYPE(ct.c_int, ct.POINTER(ct.c_int), ct.c_int)
    twice = proto(("ft_twice_inplace", lib), ((3,), (1,)))
    x = ct.c_int(4)
    assert twice(x, 1) is x
    assert x.value == 9
    with pytest.raises(TypeError) as exc:
        twice(x, add=1)
    assert str(exc.value) == "not enough arguments"
    plain = proto(("ft_twice_inplace", lib), ((0, "p"), (0, "add")))
    assert plain(x, add=0) == 7  # flag 0 is an input parameter: the C result comes back
    assert x.value == 18


def test_paramflags_with_errcheck(ct, lib, divmod_proto):
    dm = divmod_proto(("ft_divmod", lib), DIVMOD_FLAGS)
    seen = []

    def passthrough(result, func, args):
        seen.append((result, func, type(args), args[:2], [type(a) for a in args[2:]]))
        seen.append([a.value for a in args[2:]])
        return args  # the very args tuple: the output parameters are then built as usual

    dm.errcheck = passthrough
    assert dm(17, 5) == (3, 2)
    assert seen == [(0, dm, tuple, (17, 5), [ct.c_int, ct.c_int]), [3, 2]]

    def check(result, func, args):
        if result != 0:
            raise ZeroDivisionError("b is 0")
        return ("custom", args[2].value, args[3].value)

    dm.errcheck = check
    assert dm(17, 5) == ("custom", 3, 2)
    with pytest.raises(ZeroDivisionError, match="b is 0"):
        dm(17, 0)


PARAMFLAG_ERRORS = [
    (((4, "x"), (1, "y")), TypeError, "paramflag value 4 not supported"),
    (((7, "x"), (1, "y")), TypeError, "paramflag value 7 not supported"),
    (((1, "x"), (2, "y")), TypeError, "'out' parameter 2 must be a pointer type, not c_int"),
    ([(1, "x"), (1, "y")], TypeError, "paramflags must be a tuple or None"),
    (5, TypeError, "paramflags must be a tuple or None"),
    ((1, 2), TypeError, "paramflags must be a sequence of (int [,string [,value]]) tuples"),
    (("a", "b"), TypeError, "paramflags must be a sequence of (int [,string [,value]]) tuples"),
    (
        ((1, b"x"), (1, "y")),
        TypeError,
        "paramflags must be a sequence of (int [,string [,value]]) tuples",
    ),
    (
        ((1, "x", 1, 2), (1, "y")),
        TypeError,
        "paramflags must be a sequence of (int [,string [,value]]) tuples",
    ),
    (((), (1, "y")), TypeError, "paramflags must be a sequence of (int [,string [,value]]) tuples"),
    (((1, "x"),), ValueError, "paramflags must have the same length as argtypes"),
    (
        ((1, "x"), (1, "y"), (1, "z")),
        ValueError,
        "paramflags must have the same length as argtypes",
    ),
    (("ab",), ValueError, "paramflags must have the same length as argtypes"),
]


@pytest.mark.parametrize(
    "flags, exc_type, message", PARAMFLAG_ERRORS, ids=[str(i) for i in range(len(PARAMFLAG_ERRORS))]
)
def test_paramflags_errors(ct, lib, flags, exc_type, message):
    proto = ct.CFUNCTYPE(ct.c_int, ct.POINTER(ct.c_int), ct.c_int)
    with pytest.raises(exc_type) as exc:
        proto(("ft_twice_inplace", lib), flags)
    assert type(exc.value) is exc_type
    assert str(exc.value) == message


@pytest.mark.parametrize(
    "flags",
    [
        ((3, "p"), (1, "add")),  # in + out
        ((8, "p"), (1, "add")),  # unknown bits beyond FLCID are ignored
        ((1, None), (1, "add")),  # no name
        ((2, "p"), (1, "add")),
        None,
    ],
)
def test_paramflags_accepted_shapes(ct, lib, flags):
    proto = ct.CFUNCTYPE(ct.c_int, ct.POINTER(ct.c_int), ct.c_int)
    assert proto(("ft_twice_inplace", lib), flags)


def test_paramflags_length_checked_against_prototype_without_argtypes(ct, lib):
    with pytest.raises(ValueError) as exc:
        ct.CFUNCTYPE(ct.c_int)(("add", lib), ((1, "a"), (1, "b")))
    assert str(exc.value) == "paramflags must have the same length as argtypes"


def test_paramflags_lcid_takes_the_default_or_zero(ct):
    """['in', 'lcid'] (flag 5) never consumes an argument: its default, else 0."""
    libm = ct.CDLL(ctypes.util.find_library("m"))
    proto = ct.CFUNCTYPE(ct.c_double, ct.c_double, ct.POINTER(ct.c_int))
    with_default = proto(("frexp", libm), ((5, "x", 4.0), (2, "exp")))
    assert with_default() == 3
    without = proto(("frexp", libm), ((5, "x"), (2, "exp")))
    assert without() == 0
    with pytest.raises(TypeError, match="call takes exactly 0 arguments"):
        without(8.0)
