"""Behaviour where ferrotype deliberately goes beyond stdlib ctypes (which crashes or
has no answer here), so these tests run against ferrotype alone."""

import pytest

ft = pytest.importorskip("ferrotype")


class _SelfParameter:
    """An object whose `_as_parameter_` is itself: stdlib ctypes recurses until the C
    stack overflows; ferrotype raises RecursionError inside an ArgumentError."""

    @property
    def _as_parameter_(self):
        return self


def test_as_parameter_cycle_raises(fixture_path):
    lib = ft.CDLL(fixture_path)
    with pytest.raises(ft.ArgumentError, match="RecursionError"):
        lib.add(_SelfParameter(), 1)
    add = lib.add
    add.argtypes = [ft.c_int, ft.c_int]
    with pytest.raises(ft.ArgumentError, match="RecursionError"):
        add(_SelfParameter(), 1)


def test_null_string_at_raises():
    with pytest.raises(ValueError, match="NULL pointer access"):
        ft.string_at(0)
    with pytest.raises(ValueError, match="NULL pointer access"):
        ft.wstring_at(None)


def test_null_function_pointer_raises():
    proto = ft.CFUNCTYPE(ft.c_int)
    with pytest.raises(ValueError, match="NULL function pointer"):
        proto(0)()


def test_layouts_libffi_cannot_describe_are_refused_by_value(fixture_path):
    """A packed structure, an over-aligned one and a union with a `long double` member
    have no libffi description: passing or returning them by value raises TypeError
    (stdlib ctypes passes them with libffi's natural layout: wrong bytes)."""

    class Packed(ft.Structure):
        _layout_ = "ms"
        _pack_ = 1
        _fields_ = [("a", ft.c_char), ("b", ft.c_int)]

    class Wide(ft.Structure):
        _align_ = 32
        _fields_ = [("a", ft.c_int)]

    class U(ft.Union):
        _fields_ = [("a", ft.c_int), ("b", ft.c_longdouble)]

    for tp in (Packed, Wide, U):
        f = ft.CDLL(None).abs
        with pytest.raises(ft.ArgumentError, match="TypeError: .*cannot be passed by value"):
            f(tp())
        with pytest.raises(TypeError, match="cannot be passed by value"):
            f.restype = tp
        with pytest.raises(TypeError, match="cannot be passed by value"):
            ft.CFUNCTYPE(None, tp)(lambda v: None)
    # By reference they are fine.
    lib = ft.CDLL(fixture_path)
    assert lib.ft_pt_norm2(ft.byref(Packed())) is not None


def test_call_plan_survives_reassignment_during_a_call(fixture_path):
    """A converter that replaces argtypes while the call converts its arguments must
    not pull the plan out from under the call."""
    lib = ft.CDLL(fixture_path)
    add = lib.add

    class Sneaky:
        @classmethod
        def from_param(cls, obj):
            add.argtypes = [ft.c_double, ft.c_double]
            return ft.c_int(obj)

    add.argtypes = [Sneaky, ft.c_int]
    assert add(2, 3) == 5
    assert add.argtypes == [ft.c_double, ft.c_double]


def test_vectorcall_and_tp_call_agree(fixture_path):
    add = ft.CDLL(fixture_path).add
    add.argtypes = [ft.c_int, ft.c_int]
    assert add(2, 3) == type(add).__call__(add, 2, 3) == 5


def test_from_address_zero_is_refused():
    """stdlib ctypes makes the instance and crashes on the first access."""
    for cls in (ft.c_int, ft.c_char * 4, ft.POINTER(ft.c_int)):
        with pytest.raises(ValueError, match="NULL pointer access"):
            cls.from_address(0)
