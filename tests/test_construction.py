"""Construction paths that skip generic machinery for speed (positional `Structure`
initialisers written through the field descriptors, `sizeof`/`byref`/`addressof` entered
without keyword parsing) still behave as stdlib ctypes does."""

import pytest


def _point(ct, base=None):
    class P(base or ct.Structure):
        _fields_ = [("x", ct.c_int), ("y", ct.c_double)]

    return P


def test_positional_init_calls_an_overridden_setattr(ct):
    seen = []

    class P(_point(ct)):
        def __setattr__(self, name, value):
            seen.append((name, value))
            super().__setattr__(name, value)

    p = P(1, 2.5)
    assert seen == [("x", 1), ("y", 2.5)]
    assert (p.x, p.y) == (1, 2.5)


def test_positional_init_honours_a_field_shadowed_in_a_subclass(ct):
    seen = []

    class P(_point(ct)):
        @property
        def x(self):
            return "shadowed"

        @x.setter
        def x(self, value):
            seen.append(value)

    p = P(7, 1.5)
    assert seen == [7]
    assert p.x == "shadowed"
    assert p.y == 1.5


def test_positional_init_after_the_class_attribute_is_replaced(ct):
    P = _point(ct)
    p0 = P(1, 2.0)
    P.x = property(lambda self: "gone", lambda self, v: None)
    try:
        p = P(5, 3.0)
        assert p.x == "gone"
        assert p.y == 3.0
    finally:
        del P.x
    assert p0.y == 2.0


def test_positional_init_of_derived_structures(ct):
    Base = _point(ct)

    class D(Base):
        _fields_ = [("z", ct.c_char)]

    d = D(1, 2.0, b"z")
    assert (d.x, d.y, d.z) == (1, 2.0, b"z")
    with pytest.raises(TypeError, match="too many initializers"):
        D(1, 2.0, b"z", 4)

    class E(D):  # no fields of its own
        pass

    e = E(3, 4.0)
    assert (e.x, e.y, e.z) == (3, 4.0, b"\x00")


def test_positional_init_conversion_errors(ct):
    P = _point(ct)
    with pytest.raises(TypeError):
        P("no", 1.0)
    with pytest.raises(TypeError):
        P(1, "no")


def test_raw_module_functions_arguments(ct):
    x = ct.c_int(5)
    assert ct.sizeof(x) == ct.sizeof(ct.c_int) == 4
    assert ct.addressof(x) == ct.cast(ct.byref(x), ct.c_void_p).value
    assert ct.cast(ct.byref(x, 2), ct.c_void_p).value == ct.addressof(x) + 2
    with pytest.raises(TypeError, match="byref expected at least 1 argument, got 0"):
        ct.byref()
    with pytest.raises(TypeError, match="byref expected at most 2 arguments, got 3"):
        ct.byref(x, 1, 2)
    with pytest.raises(TypeError, match="takes no keyword arguments"):
        ct.byref(x, offset=1)
    for f in (ct.sizeof, ct.addressof):
        with pytest.raises(TypeError, match="takes exactly one argument"):
            f()
        with pytest.raises(TypeError, match="takes no keyword arguments"):
            f(obj=x)
    with pytest.raises(TypeError):
        ct.sizeof(42)
    with pytest.raises(TypeError):
        ct.addressof(42)
    with pytest.raises(TypeError):
        ct.byref(42)


# The class call (`T(...)` entered without the argument tuple) stands for
# `type.__call__` only while the class keeps the native `__new__`/`__init__` and the
# metaclass keeps `type`'s call; each case below changes one of those.


@pytest.mark.parametrize("kind", ["simple", "struct", "pointer", "array"])
def test_class_call_arguments_and_errors(ct, kind):
    P = _point(ct)
    cls, good, too_many = {
        "simple": (ct.c_int, (5,), (1, 2)),
        "struct": (P, (1, 2.5), (1, 2.5, 3)),
        "pointer": (ct.POINTER(ct.c_int), (ct.c_int(3),), (ct.c_int(1), ct.c_int(2))),
        "array": (ct.c_int * 2, (1, 2), (1, 2, 3)),
    }[kind]
    assert bytes(cls(*good)) == bytes(cls.__new__(cls).__class__(*good))
    assert bytes(cls()) == bytes(cls.__new__(cls))
    with pytest.raises((TypeError, IndexError)) as info:
        cls(*too_many)
    assert info.value.args


def test_class_call_with_keywords(ct):
    P = _point(ct)
    p = P(1, y=2.5)
    assert (p.x, p.y) == (1, 2.5)
    with pytest.raises(TypeError, match="duplicate values for field 'x'"):
        P(1, x=2)


def test_class_call_respects_python_new_and_init(ct):
    seen = []

    class N(_point(ct)):
        def __new__(cls, *args):
            seen.append(("new", args))
            return super().__new__(cls)

    class Init(_point(ct)):
        def __init__(self, *args):
            seen.append(("init", args))
            super().__init__(*args)

    class J(ct.c_int):
        pass

    assert N(1, 2).x == 1 and Init(3, 4).y == 4
    assert seen == [("new", (1, 2)), ("init", (3, 4))]
    # Set after the class was made: the class call must notice.
    J.__init__ = lambda self, v: seen.append(("late", v))
    assert J(9).value == 0
    del J.__init__
    assert J(9).value == 9
    J.__new__ = staticmethod(lambda cls, *a: "not an instance")
    assert J(1) == "not an instance"
    assert seen[-1] == ("late", 9)


def test_class_call_respects_a_metaclass_call(ct):
    seen = []

    class Meta(type(ct.Structure)):
        def __call__(cls, *args, **kwargs):
            seen.append(args)
            return super().__call__(*args, **kwargs)

    class S(ct.Structure, metaclass=Meta):
        _fields_ = [("a", ct.c_int)]

    class T(S):
        pass

    assert S(7).a == 7 and T(8).a == 8
    assert seen == [(7,), (8,)]


def test_class_call_errors_in_new_and_init(ct):
    class Abstract(ct.Structure):
        pass

    # No _fields_: an empty structure, made as in ctypes.
    assert ct.sizeof(Abstract()) == 0
    with pytest.raises(TypeError):
        ct.Structure()
    with pytest.raises(TypeError):
        ct.c_int("no")
    with pytest.raises(TypeError):
        ct.POINTER(ct.c_int)(5)
