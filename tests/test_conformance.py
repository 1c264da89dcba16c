"""Behaviours found by running CPython's own ctypes test suite against ferrotype
(``test_cpython_suite.py``), pinned here against stdlib ctypes: keep-alive of function
pointers stored in memory, garbage collection of callbacks, finalisation of incomplete
structures, pointer slices, string conversions of character pointers and fields, and the
errors ctypes raises for the rest."""

import ctypes
import gc
import weakref

import pytest
from stdlib_errors import raises_like_stdlib


def _collect():
    for _ in range(3):
        gc.collect()


def _raises(exc, fn, *args):
    with pytest.raises(exc) as info:
        fn(*args)
    return str(info.value)


# ---- function pointers stored in memory ---------------------------------------------------------


def _adder_type(ct):
    return ct.CFUNCTYPE(ct.c_int, ct.c_int, ct.c_int)


def test_callback_stored_in_a_field_is_kept_alive(ct):
    CB = _adder_type(ct)

    class Inner(ct.Structure):
        _fields_ = [("op", CB), ("n", ct.c_int)]

    class Outer(ct.Structure):
        _fields_ = [("inner", Inner)]

    def sub(a, b):
        return a - b

    held = weakref.ref(sub)
    o = Outer()
    o.inner.op = CB(sub)
    del sub
    _collect()
    assert held() is not None
    # New callbacks would take the freed one's place if it had been released.
    others = [CB(lambda a, b: 0) for _ in range(50)]
    assert o.inner.op(5, 3) == 2
    del others, o
    _collect()
    assert held() is None


def test_callback_stored_in_an_array_is_kept_alive(ct):
    CB = _adder_type(ct)
    arr = (CB * 2)(CB(lambda a, b: a * b))
    arr[1] = CB(lambda a, b: a + b)
    _collect()
    others = [CB(lambda a, b: 0) for _ in range(50)]
    assert (arr[0](3, 4), arr[1](3, 4)) == (12, 7)
    del others


def test_callback_cycle_through_a_bound_method_is_collected(ct):
    proto = ct.CFUNCTYPE(None)

    class Holder:
        def func(self):
            pass

        def __init__(self):
            self.cb = proto(self.func)

    refs = [weakref.ref(Holder()) for _ in range(8)]
    _collect()
    assert [r() for r in refs] == [None] * 8


def test_function_cycle_through_errcheck_is_collected(ct):
    libc = ct.CDLL(None)

    class Wrapper:
        def __init__(self):
            self.f = ct.CFUNCTYPE(ct.c_int)(("getpid", libc))
            self.f.errcheck = self.check

        def check(self, result, func, args):
            return result

    w = Wrapper()
    assert w.f() > 0
    ref = weakref.ref(w)
    del w
    _collect()
    assert ref() is None


# ---- incomplete structures ----------------------------------------------------------------------


@pytest.mark.parametrize("use", ["instance", "field", "subclass"])
def test_incomplete_structure_is_final_once_used(ct, use):
    class X(ct.Structure):
        pass

    if use == "instance":
        X()
    elif use == "field":

        class Y(ct.Structure):
            _fields_ = [("x", X)]
    else:

        class Z(X):
            pass

    assert ct.sizeof(X) == 0
    assert _raises(AttributeError, setattr, X, "_fields_", [("a", ct.c_int)]) == "_fields_ is final"
    assert ct.sizeof(X) == 0


def test_instance_made_before_fields_never_sees_a_larger_layout(ct):
    class X(ct.Structure):
        pass

    x = X()
    with pytest.raises(AttributeError):
        X._fields_ = [("big", ct.c_char * 4096)]
    assert ct.sizeof(x) == 0
    assert not hasattr(x, "big")


def test_structure_cannot_contain_itself(ct):
    class R(ct.Structure):
        pass

    msg = _raises(AttributeError, setattr, R, "_fields_", [("next", R)])
    assert "Structure or union cannot contain itself" in msg

    class Node(ct.Structure):
        pass

    # A pointer to itself is the way.
    Node._fields_ = [("next", ct.POINTER(Node)), ("v", ct.c_int)]
    r = Node(v=3)
    r.next = ct.pointer(r)
    assert r.next.contents.next.contents.v == 3


def test_structures_cannot_contain_each_other(ct):
    class First(ct.Structure):
        pass

    class Second(ct.Structure):
        pass

    First._fields_ = [("second", Second)]
    assert _raises(AttributeError, setattr, Second, "_fields_", [("first", First)]) == (
        "_fields_ is final"
    )


def test_abstract_class_has_no_instances(ct):
    class Base(ct.Structure):
        _fields_ = [("a", ct.c_int)]

    class X(Base):
        _abstract_ = "yes"

    assert _raises(TypeError, X) == "abstract class"
    assert Base(1).a == 1


def test_pack_is_checked_before_fields(ct):
    # _layout_: without it, 3.14 warns about _pack_ before it checks it
    ns = {"_fields_": [("a", "not a type")], "_layout_": "ms", "_pack_": -1}
    with pytest.raises(ValueError):
        type(ct.Structure)("X", (ct.Structure,), ns)


def test_invalid_bit_count_message(ct):
    # The field is named from 3.14 on: the message comes from the stdlib.
    def define(m):
        class X(m.Structure):
            _fields_ = [("a", m.c_int, 0)]

    raises_like_stdlib(ct, define)


# ---- fields and elements ------------------------------------------------------------------------


def test_none_is_the_null_pointer_for_pointer_fields_and_elements(ct):
    class S(ct.Structure):
        _fields_ = [("p", ct.POINTER(ct.c_int))]

    s = S(ct.pointer(ct.c_int(5)))
    assert s.p.contents.value == 5
    s.p = None
    assert not s.p
    arr = (ct.POINTER(ct.c_int) * 2)(ct.pointer(ct.c_int(1)))
    arr[0] = None
    assert not arr[0]
    CB = ct.CFUNCTYPE(None)

    class T(ct.Structure):
        _fields_ = [("f", CB)]

    with pytest.raises(TypeError):
        T().f = None


def test_char_array_field_takes_bytes_up_to_the_first_nul(ct):
    class X(ct.Structure):
        _fields_ = [("c", ct.c_char * 5)]

    x = X(b"#####")
    x.c = b"a\0b\0"
    assert bytes(x) == b"a\0###"
    x.c = b"abcde"
    assert bytes(x) == b"abcde"
    x.c = b"ab\0" + b"x" * 20  # ctypes measures up to the NUL
    assert bytes(x) == b"ab\0de"
    assert _raises(ValueError, setattr, x, "c", b"abcdef") == "bytes too long (6, maximum length 5)"
    assert _raises(TypeError, setattr, x, "c", 1) == "expected bytes, int found"
    arr = (ct.c_char * 5)()
    arr.value = b"a\0b"  # the array's own .value copies every byte
    assert arr.raw == b"a\0b\0\0"


def test_wchar_array_field_errors(ct):
    class X(ct.Structure):
        _fields_ = [("w", ct.c_wchar * 4)]

    x = X()
    x.w = "abc"
    assert x.w == "abc"
    msg = _raises(ValueError, setattr, x, "w", "abcde")
    assert msg == "string too long (5, maximum length 4)"
    msg = _raises(TypeError, setattr, x, "w", 1)
    assert msg == "unicode string expected instead of int instance"


def test_tuple_initialised_field_errors_are_runtime_errors(ct):
    class Phone(ct.Structure):
        _fields_ = [("areacode", ct.c_char * 6), ("number", ct.c_char * 12)]

    class Person(ct.Structure):
        _fields_ = [("name", ct.c_char * 12), ("phone", Phone), ("age", ct.c_int)]

    msg = _raises(RuntimeError, Person, b"Someone", (1, 2))
    assert msg == "(Phone) TypeError: expected bytes, int found"
    msg = _raises(RuntimeError, Person, b"Someone", (b"a", b"b", b"c"))
    assert msg == "(Phone) TypeError: too many initializers"

    class Ints(ct.Structure):
        _fields_ = [("a", ct.c_int * 4)]

    assert Ints((1, 2)).a[:] == [1, 2, 0, 0]
    with pytest.raises(RuntimeError):
        Ints((1, 2, 3, 4, 5))


def test_item_deletion_is_a_type_error(ct):
    arr = (ct.c_int * 2)()
    assert _raises(TypeError, arr.__delitem__, 0) == "Array does not support item deletion"
    p = ct.pointer(ct.c_int())
    assert _raises(TypeError, p.__delitem__, 0) == "Pointer does not support item deletion"


# ---- pointers -----------------------------------------------------------------------------------


def test_pointer_slices_with_a_negative_step(ct):
    arr = (ct.c_int * 5)(1, 2, 3, 4, 5)
    p = ct.cast(arr, ct.POINTER(ct.c_int))
    assert p[3:-1:-1] == [4, 3, 2, 1]
    assert p[4:0:-2] == [5, 3]
    assert p[0:3:-1] == []
    assert _raises(ValueError, p.__getitem__, slice(None, 0, -1)) == (
        "slice start is required for step < 0"
    )
    s = ct.cast(ct.c_char_p(b"abc"), ct.POINTER(ct.c_char))
    assert s[2:-1:-1] == b"cba"


def test_pointer_subclass_without_its_own_type_has_no_instances(ct):
    class A(ct.POINTER(ct.c_ulong)):
        pass

    assert ct.POINTER(ct.c_ulong)(ct.c_ulong(22)).contents.value == 22
    assert _raises(TypeError, A, ct.c_ulong(33)) == "Cannot create instance: has no _type_"

    class B(ct.POINTER(ct.c_ulong)):
        _type_ = ct.c_ulong

    assert B(ct.c_ulong(44)).contents.value == 44


def test_char_pointer_parameters_take_strings(ct):
    libc = ct.CDLL(None)
    strchr = libc.strchr
    strchr.argtypes = [ct.POINTER(ct.c_char), ct.c_char]
    strchr.restype = ct.c_char_p
    assert strchr(b"abcdef", b"c") == b"cdef"
    assert strchr(ct.create_string_buffer(b"xyz"), b"y") == b"yz"
    assert strchr(ct.cast(ct.c_char_p(b"hello"), ct.POINTER(ct.c_char)), b"l") == b"llo"

    def call_with_str(m):
        f = m.CDLL(None).strchr
        f.argtypes = [m.POINTER(m.c_char), m.c_char]
        return f("text", b"t")

    # 3.11, 3.12: "wrong type"; 3.13 names the type ("'str' object cannot be ...")
    error = raises_like_stdlib(ct, call_with_str)
    assert str(error).startswith("argument 1: TypeError: ")
    wcslen = libc.wcslen
    wcslen.argtypes = [ct.POINTER(ct.c_wchar)]
    wcslen.restype = ct.c_size_t
    assert wcslen("hello") == 5
    with pytest.raises(ct.ArgumentError):
        wcslen(b"hello")
    assert ct.POINTER(ct.c_char).from_param == ct.c_char_p.from_param


def test_borrowed_from_param_of_a_native_type(ct):
    libc = ct.CDLL(None)

    class Text(ct.c_void_p):
        from_param = ct.c_char_p.from_param

    strlen = libc.strlen
    strlen.argtypes = [Text]
    strlen.restype = ct.c_size_t
    assert strlen(b"four") == 4
    with pytest.raises(ct.ArgumentError):
        strlen(4)


# ---- instances ----------------------------------------------------------------------------------


def test_slots_leave_instances_without_a_dict(ct):
    class P(ct.BigEndianStructure):
        __slots__ = ()
        _fields_ = [("x", ct.c_int)]

    class Q(ct.Structure):
        __slots__ = ("tag",)
        _fields_ = [("x", ct.c_int)]

    p = P(3)
    assert p.x == 3
    with pytest.raises(AttributeError):
        p.z = 1
    q = Q(4)
    q.tag = "t"
    assert (q.x, q.tag) == (4, "t")
    with pytest.raises(AttributeError):
        q.z = 1
    c = ct.c_int(1)
    c.extra = 2
    assert c.__dict__ == {"extra": 2}


def test_setstate_needs_a_dict(ct):
    class Bad(ct.Structure):
        _fields_ = [("a", ct.c_int)]

        @property
        def __dict__(self):
            return None

    class Worse(ct.Structure):
        _fields_ = [("a", ct.c_int)]

        @property
        def __dict__(self):
            raise ZeroDivisionError

    with pytest.raises(TypeError):
        Bad().__setstate__({}, b"foo")
    with pytest.raises(ZeroDivisionError):
        Worse().__setstate__({}, b"foo")


@pytest.mark.parametrize("base", ["Structure", "Union"])
def test_fields_cannot_be_set_before_the_class_has_its_type_information(ct, base):
    # ctypes refuses `_fields_` on a class that has no type information yet: one being
    # made (an `__init_subclass__` assigning it) or an `_abstract_` one.
    class Base(getattr(ct, base)):
        def __init_subclass__(cls, **kwargs):
            super().__init_subclass__(**kwargs)
            cls._fields_ = [("a", ct.c_int), ("b", ct.c_int)]

    with pytest.raises(TypeError, match="^ctypes state is not initialized$"):

        class Sub(Base):
            pass

    class Abstract(getattr(ct, base)):
        _abstract_ = True

    with pytest.raises(TypeError, match="^ctypes state is not initialized$"):
        Abstract._fields_ = [("a", ct.c_int)]


def _fields_on_new_alone(mod):
    meta = type(mod.Structure)
    cls = meta.__new__(meta, "X", (mod.Structure,), {})
    try:
        cls._fields_ = [("a", mod.c_int)]
    except TypeError as e:
        return str(e)
    return mod.sizeof(cls)


def test_fields_on_a_class_made_by_the_metaclass_new_alone(ferrotype):
    # Up to 3.12 the metaclass's `__new__` gives the class its type information; from
    # 3.13 its `__init__` does, so before that `_fields_` is refused.
    assert _fields_on_new_alone(ferrotype) == _fields_on_new_alone(ctypes)


# ---- found by the differential fuzzer (test_fuzz_differential.py) -------------------------------


def test_pointer_may_point_at_an_instance_of_another_type(ct):
    # ctypes lets a pointer point at any instance: a character array through
    # POINTER(c_char), a structure through a pointer to its first field's type.
    buf = ct.create_string_buffer(b"hi")
    p = ct.POINTER(ct.c_char)(buf)
    assert p[0] == b"h" and p._objects is not None

    class S(ct.Structure):
        _fields_ = [("a", ct.c_int), ("b", ct.c_int)]

    s = S(5, 6)
    q = ct.POINTER(ct.c_int)()
    q.contents = s
    assert q[0] == 5
    q.contents = ct.c_uint(7)
    assert q[0] == 7
    with pytest.raises(TypeError, match="^expected c_int instead of int$"):
        ct.POINTER(ct.c_int)(3)


def test_pointer_refuses_a_smaller_target(ferrotype):
    # Beyond ctypes (which accepts it, and whose p[0] then reads past the object).
    ct = ferrotype
    with pytest.raises(TypeError, match=r"expected c_int instead of c_short \(2 bytes"):
        ct.POINTER(ct.c_int)(ct.c_short(1))


def _setitem(obj, key, value):
    obj[key] = value


def test_index_beyond_ssize_t_is_an_index_error(ct):
    a = (ct.c_int * 3)()
    p = ct.pointer(ct.c_int(1))
    for op in (lambda: a[2**70], lambda: _setitem(a, 2**70, 1), lambda: p[2**70]):
        assert _raises(IndexError, op) == "cannot fit 'int' into an index-sized integer"
    assert _raises(TypeError, lambda: a["x"]) == "indices must be integers"
    assert _raises(TypeError, _setitem, p, slice(0, 1), [1]) == (
        "sequence index must be integer, not 'slice'"
    )


def test_slice_assignment_of_a_non_sequence(ct):
    a = (ct.c_int * 3)()
    assert _raises(ValueError, _setitem, a, slice(0, 2), 5) == (
        "Can only assign sequence of same size"
    )


def test_tuple_assigned_to_a_pointer_field_or_element(ct):
    class S(ct.Structure):
        _fields_ = [("p", ct.POINTER(ct.c_int))]

    x = ct.c_int(4)
    s = S((x,))
    assert s.p[0] == 4
    a = (ct.POINTER(ct.c_int) * 1)(())
    assert not a[0]
    msg = _raises(RuntimeError, _setitem, a, 0, (1,))
    assert msg == "(LP_c_int) TypeError: expected c_int instead of int"


def test_errors_assigning_fields_and_elements(ct):
    class S(ct.Structure):
        _fields_ = [("p", ct.POINTER(ct.c_int)), ("b", ct.c_bool), ("s", ct.c_char_p)]

    assert _raises(TypeError, S, 5) == "expected LP_c_int instance, got int"
    assert _raises(TypeError, S, None, ct.c_int(0)) == (
        "incompatible types, c_int instance instead of c_bool instance"
    )
    assert _raises(TypeError, S, None, True, ct.create_string_buffer(b"x")) == (
        "incompatible types, c_char_Array_2 instance instead of c_char_p instance"
    )
    a = (ct.c_int * 1)()
    assert _raises(TypeError, _setitem, a, 0, ct.c_uint(3)) == (
        "incompatible types, c_uint instance instead of c_int instance"
    )
    # fields are assigned before surplus initializers are refused
    assert _raises(RuntimeError, S, (1,), True, None, 4).startswith("(LP_c_int) TypeError")


def test_str_without_argtypes_cannot_hold_a_nul(ct, lib):
    msg = _raises(ct.ArgumentError, lib.wstr_len, "a\0b")
    assert msg == "argument 1: ValueError: embedded null character"
    f = lib.wstr_len
    f.argtypes = [ct.c_wchar_p]
    f.restype = ct.c_size_t
    assert f("a\0b") == 1


def test_bool_bit_fields_keep_their_neighbours(ferrotype):
    # Deliberate difference: ctypes stores a `c_bool` bit-field as the whole byte, which
    # clears the bit-fields beside it; ferrotype stores only the field's bits.
    ct = ferrotype

    class S(ct.Structure):
        _fields_ = [("a", ct.c_bool, 1), ("b", ct.c_bool, 1), ("c", ct.c_uint8, 6)]

    s = S()
    s.c = 63
    s.b = True
    s.a = True
    s.a = False
    assert (s.a, s.b, s.c, bytes(s)) == (False, True, 63, b"\xfe")


@pytest.mark.parametrize(
    "fields",
    [
        [("a", "c_byte", 0), ("b", "c_char", 0)],
        [("a", "c_byte", 9), ("b", "c_float", 1)],
        [("a", "c_char", 1), ("b", "c_byte", 0)],
        [("a", "c_int", 33)],
        [("a", "c_bool", 9)],
    ],
)
def test_bit_field_errors_come_field_by_field(ct, fields):
    # ctypes checks each field in turn (its type, then its width), so the first bad field
    # decides the error.
    def define(mod):
        class S(mod.Structure):
            _fields_ = [(n, getattr(mod, t), w) for n, t, w in fields]

    raises_like_stdlib(ct, define)


def test_string_at_sizes_and_null_results(ct):
    buf = ct.create_string_buffer(b"abc")
    wbuf = ct.create_unicode_buffer("abc")
    assert ct.string_at(buf) == ct.string_at(buf, -1) == b"abc"
    assert ct.wstring_at(wbuf) == ct.wstring_at(wbuf, -1) == "abc"
    # An explicit None is not the default: ctypes refuses it as a C int.
    raises_like_stdlib(ct, lambda m: m.string_at(m.create_string_buffer(b"ab"), None))
    raises_like_stdlib(ct, lambda m: m.wstring_at(m.create_unicode_buffer("ab"), None))
    # memmove and memset give their destination as a c_void_p result: None for NULL.
    assert ct.memmove(0, 0, 0) is None
    assert ct.memset(0, 0, 0) is None
    assert ct.memset(buf, 0, 1) == ct.addressof(buf)


def test_fields_read_by_index_up_to_their_length(ct):
    # Found by the crash fuzzer: an object whose `__getitem__` never raises IndexError is
    # read only up to its `__len__` (ferrotype once listed it without end).
    endless = type("Endless", (), {"__len__": lambda s: 3, "__getitem__": lambda s, i: 1})
    raises_like_stdlib(ct, lambda m: type("S", (m.Structure,), {"_fields_": endless()}))


def test_metaclass_called_with_odd_arguments(ct):
    # Found by the crash fuzzer: the namespace argument was searched before type.__new__
    # checked it, so an endless iterator there hung. (ctypes' metaclasses are C types, so
    # its message names them with their module.)
    import itertools

    meta = type(ct.Structure)
    with pytest.raises(TypeError, match=r"argument 1 must be str, not (_ctypes\.)?PyCSimpleType"):
        meta(ct.c_int16, 10**100, itertools.repeat(b"x"))
    with pytest.raises(
        TypeError, match=r"argument 3 must be dict( or frozendict)?, not itertools.repeat"
    ):
        meta("S", (ct.Structure,), itertools.repeat(1))
