"""`set_type` of pointer types: completing an incomplete one and changing the target of a
complete one (allowed by every version's ctypes), what existing instances, fields and
elements then see, `_type_`, `__pointer_type__` (3.14+), the buffer format (changed by
3.15), and the errors. Each scenario runs on stdlib ctypes and ferrotype (`ct`); where
the expectation depends on the version, it is taken from running the same scenario on
the stdlib. Reads that would go past the object a pointer was aimed at are ferrotype's
deliberate difference (docs/differences.md), tested with the `ferrotype` fixture alone."""

import ctypes as std_ctypes
import importlib
import struct
import warnings

import pytest

HAS_POINTER_TYPE_ATTR = hasattr(std_ctypes.c_int, "__pointer_type__") or hasattr(
    std_ctypes, "memoryview_at"
)


def _private(ct):
    return importlib.import_module("_ctypes" if ct is std_ctypes else "ferrotype._ctypes")


def _pointer_class(ct, target, name="LP"):
    """A pointer type outside the POINTER cache (so the test changes no shared type).
    From 3.14 a pointer type made for a target without one becomes the target's
    `__pointer_type__`: `POINTER(target)` first keeps the shared one in place."""
    ct.POINTER(target)
    return type(ct._Pointer)(name, (ct._Pointer,), {"_type_": target})


def _set_type(ct, lp, typ):
    """`lp.set_type(typ)` for a shared target type, which keeps the pointer type it has
    (from 3.14 one without would get `lp` as its `__pointer_type__`, for good)."""
    ct.POINTER(typ)
    lp.set_type(typ)


def _incomplete(ct, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return ct.POINTER(name)


def test_set_type_same_target(ct):
    class MyInt(ct.c_int):
        pass

    lp = ct.POINTER(MyInt)
    lp.set_type(MyInt)
    assert lp._type_ is MyInt
    assert lp(MyInt(7))[0].value == 7
    if HAS_POINTER_TYPE_ATTR:
        assert MyInt.__pointer_type__ is lp


def test_set_type_changes_target(ct):
    lp = _pointer_class(ct, ct.c_int)
    _set_type(ct, lp, ct.c_float)
    assert lp.__dict__["_type_"] is ct.c_float
    assert lp._type_ is ct.c_float
    assert lp(ct.c_float(1.5))[0] == 1.5
    assert lp(ct.c_float(2.5)).contents.value == 2.5
    with pytest.raises(TypeError):
        lp(ct.c_float())[0] = "x"


@pytest.mark.skipif(not HAS_POINTER_TYPE_ATTR, reason="3.13's type cache keeps the old _type_")
def test_set_type_type_attribute_after_reads(ct):
    # gh-133290: `_type_` read (and cached) before set_type is the new one after it.
    class C(ct.Structure):
        _fields_ = [("a", ct.c_int)]

    lp = _pointer_class(ct, C)
    for _ in range(5):
        assert lp._type_ is C
    _set_type(ct, lp, ct.c_int)
    assert lp._type_ is ct.c_int


def test_existing_instances_follow_the_new_target(ct):
    lp = _pointer_class(ct, ct.c_int)
    value = ct.c_int(struct.unpack("<i", struct.pack("<f", 1.5))[0])
    p = lp(value)

    class Holder(ct.Structure):
        _fields_ = [("p", lp)]

    h = Holder(p)
    arr = (lp * 2)(p, p)
    _set_type(ct, lp, ct.c_float)
    assert p[0] == 1.5
    assert type(p.contents) is ct.c_float
    assert p.contents.value == 1.5
    assert h.p[0] == 1.5
    assert arr[1].contents.value == 1.5
    p[0] = 2.0
    assert struct.unpack("<f", bytes(value))[0] == 2.0
    # Assigning contents takes the new target type now.
    p.contents = ct.c_float(3.0)
    assert p[0] == 3.0


def test_set_type_to_subclass_and_back(ct):
    class C(ct.c_int):
        pass

    lp = _pointer_class(ct, ct.c_int)
    lp.set_type(C)
    assert lp(C(123))[0].value == 123
    _set_type(ct, lp, ct.c_int)
    assert lp(C(5))[0] == 5


def test_set_type_pointer_type_attribute(ct):
    if not HAS_POINTER_TYPE_ATTR:
        pytest.skip("__pointer_type__ is new in 3.14")

    class A(ct.Structure):
        _fields_ = [("x", ct.c_int)]

    class B(ct.Structure):
        _fields_ = [("x", ct.c_int)]

    class D(ct.Structure):
        _fields_ = [("x", ct.c_int)]

    pa = ct.POINTER(A)
    pb = ct.POINTER(B)
    pa.set_type(B)
    # The old target keeps its pointer type, the new one keeps the one it had.
    assert A.__pointer_type__ is pa
    assert B.__pointer_type__ is pb
    assert ct.POINTER(B) is pb
    # A target without a pointer type gets this one.
    pa.set_type(D)
    assert D.__pointer_type__ is pa
    assert ct.POINTER(D) is pa


@pytest.mark.parametrize("bad", [int, 42, None, "c_int"])
def test_set_type_refuses_what_is_not_a_ctypes_type(ct, bad):
    lp = _pointer_class(ct, ct.c_uint)
    p = lp(ct.c_uint(3))
    with pytest.raises(TypeError) as err:
        lp.set_type(bad)
    with pytest.raises(TypeError) as expected:
        _pointer_class(std_ctypes, std_ctypes.c_uint).set_type(bad)
    assert str(err.value) == str(expected.value).replace("_ctypes.", "")
    # Nothing changed.
    assert lp._type_ is ct.c_uint
    assert p[0] == 3
    assert lp(ct.c_uint(4)).contents.value == 4


def test_set_type_refuses_abstract_types(ct):
    lp = _pointer_class(ct, ct.c_int)
    for abstract in (ct.Structure, ct._SimpleCData):
        with pytest.raises(TypeError, match="must have storage info"):
            lp.set_type(abstract)
    for arg in (ct.c_int, 42):
        with pytest.raises(TypeError, match="^abstract class$"):
            ct._Pointer.set_type(arg)


@pytest.mark.parametrize(
    "args, kwargs",
    [((), {}), ((1, 2), {}), ((), {"x": 1}), ((1,), {"x": 1}), ((1, 2, 3), {"x": 1})],
)
def test_set_type_argument_errors(ct, args, kwargs):
    lp = _pointer_class(ct, ct.c_int, "LP_arg")
    with pytest.raises(TypeError) as err:
        lp.set_type(*args, **kwargs)
    with pytest.raises(TypeError) as expected:
        _pointer_class(std_ctypes, std_ctypes.c_int, "LP_arg").set_type(*args, **kwargs)
    assert str(err.value) == str(expected.value)


_NAMES = iter(range(1_000_000))


def _formats(mod):
    """The buffer formats around set_type, as `mod` reports them."""
    buffer_info = _private(mod).buffer_info
    seen = {}
    # (A new name each time: ctypes caches POINTER("name").)
    lp = _incomplete(mod, f"node_fmt{next(_NAMES)}")

    class node(mod.Structure):
        _fields_ = [("value", mod.c_int64), ("next", lp)]

    seen["incomplete"] = buffer_info(lp)[0]
    seen["member"] = memoryview(node()).format
    lp.set_type(node)
    seen["completed"] = buffer_info(lp)[0]
    seen["completed view"] = memoryview(lp(node())).format
    seen["member after"] = memoryview(node()).format

    p = _pointer_class(mod, mod.c_int)
    pp = _pointer_class(mod, p)
    arr = p * 2

    class Holder(mod.Structure):
        _fields_ = [("p", p)]

    inst = p(mod.c_int(1))
    _set_type(mod, p, mod.c_double * 2)
    seen["retargeted"] = buffer_info(p)[0]
    seen["old instance"] = memoryview(inst).format
    seen["pointer to it"] = buffer_info(pp)[0]
    seen["array of it"] = buffer_info(arr)[0]
    seen["field of it"] = buffer_info(Holder)[0]
    sub = type(p)("Sub", (p,), {})
    seen["subclass"] = buffer_info(sub)[0]
    _set_type(mod, sub, mod.c_byte)
    seen["subclass completed"] = buffer_info(sub)[0]
    return seen


def test_set_type_formats(ct):
    assert _formats(ct) == _formats(std_ctypes)


def test_set_type_on_incomplete_pointer(ct):
    lp = _incomplete(ct, f"cell_st{next(_NAMES)}")

    class cell(ct.Structure):
        _fields_ = [("name", ct.c_char_p), ("next", lp)]

    with pytest.raises(TypeError, match="has no _type_"):
        lp()
    lp.set_type(cell)
    assert lp._type_ is cell
    c1, c2 = cell(b"a"), cell(b"b")
    c1.next = lp(c2)
    assert c1.next.contents.name == b"b"
    assert c1.next[0].name == b"b"
    # Completed, it can change its target again.
    _set_type(ct, lp, ct.c_char_p)
    assert lp(ct.c_char_p(b"z"))[0] == b"z"


def test_set_type_follows_in_calls(ct):
    lp = _pointer_class(ct, ct.c_int)
    f = ct.CFUNCTYPE(ct.c_double, lp)(lambda p: p[0])
    assert f(ct.c_int(3)) == 3.0
    _set_type(ct, lp, ct.c_float)
    assert f(ct.c_float(2.5)) == 2.5
    assert f(ct.byref(ct.c_float(1.5))) == 1.5
    assert f((ct.c_float * 2)(4.5, 0)) == 4.5
    with pytest.raises(ct.ArgumentError):
        f(ct.c_int(3))
    with pytest.raises(TypeError):
        lp.from_param(ct.byref(ct.c_int()))


# ---- ferrotype's guarantee: a pointer never reads past the object it was aimed at ----


def test_grown_target_refuses_reads_past_the_object(ferrotype):
    ct = ferrotype

    class S(ct.Structure):
        _fields_ = [("a", ct.c_int), ("b", ct.c_double)]

    lp = _pointer_class(ct, ct.c_int)
    small = ct.c_int(5)
    p = lp(small)

    class Holder(ct.Structure):
        _fields_ = [("p", lp)]

    h = Holder(p)
    arr = (lp * 1)(p)
    raw = lp.from_address(ct.addressof(p))
    lp.set_type(S)
    for read in (
        lambda: p.contents,
        lambda: p[0],
        lambda: p[0:1],
        lambda: h.p.contents,
        lambda: h.p[0],
        lambda: arr[0].contents,
    ):
        with pytest.raises(ValueError, match="points at 4 bytes, fewer than the 16"):
            read()
    with pytest.raises(ValueError, match="fewer than the 16"):
        p[0] = S()
    # A new instance aimed at a large enough object reads it; one aimed at a smaller
    # object is refused as before.
    s = S(1, 2.5)
    assert lp(s).contents.b == 2.5
    assert lp(s)[0].b == 2.5
    with pytest.raises(TypeError, match="smaller than the 16"):
        lp(ct.c_int())
    # Aimed again, the old instance reads the new object.
    p.contents = s
    assert p.contents.b == 2.5
    assert p[0].a == 1
    # A pointer made from a raw address is trusted, as in ctypes.
    assert raw is not None
    # Shrinking back makes the old reads valid again.
    _set_type(ct, lp, ct.c_int)
    assert h.p[0] == 5
    assert arr[0].contents.value == 5


def test_grown_target_of_a_pointer_to_a_byte_array(ferrotype):
    ct = ferrotype
    lp = _pointer_class(ct, ct.c_char)
    buf = ct.create_string_buffer(b"abcdefgh", 8)
    p = lp(buf)
    _set_type(ct, lp, ct.c_int64)
    assert p[0] == struct.unpack("<q", b"abcdefgh")[0]
    _set_type(ct, lp, ct.c_char * 9)
    with pytest.raises(ValueError, match="points at 8 bytes, fewer than the 9"):
        _ = p.contents


def test_structure_target_given_fields_later(ferrotype):
    ct = ferrotype

    class Later(ct.Structure):
        pass

    lp = _pointer_class(ct, Later)
    p = lp(ct.c_char(b"x"))
    Later._fields_ = [("a", ct.c_int), ("b", ct.c_int)]
    with pytest.raises(ValueError, match="points at 1 bytes, fewer than the 8"):
        _ = p.contents
    assert lp(Later(1, 2)).contents.b == 2
