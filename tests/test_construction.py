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
