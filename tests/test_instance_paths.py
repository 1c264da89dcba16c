"""The short paths that make instances: ``p.contents`` (a pointer type's target found
plain on the first read, then made without looking further) and structure results of
direct calls (written straight into the new instance's bytes).

Each behaviour runs on stdlib ctypes and ferrotype (``ct``), read several times so that
both the first read (which looks the target up and marks it) and the later ones (the
short path) are compared; the refcount checks hold the short paths to releasing what
they take.
"""

from __future__ import annotations

import ctypes as stdlib_ctypes
import sys
import textwrap
import warnings

import ferrotype
import pytest
from conftest import build_shared_library


class _Reads:
    """Reads `p.contents` a few times and records what each gives."""

    def __init__(self, ct):
        self.ct = ct

    def __call__(self, p, fields):
        out = []
        for _ in range(3):
            c = p.contents
            out.append(
                (
                    type(c).__name__,
                    c._b_base_ is p,
                    c._b_needsfree_,
                    self.ct.addressof(c) == self.ct.cast(p, self.ct.c_void_p).value,
                    tuple(getattr(c, f) for f in fields),
                )
            )
        return out


def test_contents_repeated_reads(ct):
    class Point(ct.Structure):
        _fields_ = [("x", ct.c_int), ("y", ct.c_int)]

    pt = Point(1, 2)
    p = ct.pointer(pt)
    out = _Reads(ct)(p, ("x", "y"))
    # Writes through the view reach the object, and the pointer follows a new target.
    p.contents.x = 10
    assert pt.x == 10
    other = Point(3, 4)
    p.contents = other
    out += _Reads(ct)(p, ("x", "y"))
    assert out[-1][-1] == (3, 4)
    assert [r[:4] for r in out] == [("Point", True, 0, True)] * 6


def test_contents_of_a_target_completed_later(ct):
    class Node(ct.Structure):
        pass

    PN = ct.POINTER(Node)
    p_before = PN()
    Node._fields_ = [("v", ct.c_int), ("next", PN)]
    n = Node(5)
    for p in (ct.pointer(n), PN(n)):
        out = _Reads(ct)(p, ("v",))
        assert [r[-1] for r in out] == [(5,)] * 3
        assert all(r[:4] == ("Node", True, 0, True) for r in out)
    with pytest.raises(ValueError, match="NULL pointer access"):
        p_before.contents  # noqa: B018


def test_contents_of_a_structure_used_before_its_fields(ct):
    """A structure made into an instance before `_fields_` is final: its pointer
    type's target is final from then on, and reads take the short path."""

    class Empty(ct.Structure):
        pass

    PE = ct.POINTER(Empty)
    e = Empty()
    p = PE(e)
    first = [type(p.contents).__name__ for _ in range(3)]
    try:
        Empty._fields_ = [("a", ct.c_int)]
        outcome = "set"
    except AttributeError as err:
        outcome = str(err)
    assert first == ["Empty"] * 3
    assert outcome == "_fields_ is final"
    assert ct.sizeof(p.contents) == 0


def test_contents_of_a_subclass_of_a_structure(ct):
    class Point(ct.Structure):
        _fields_ = [("x", ct.c_int), ("y", ct.c_int)]

    class Point3(Point):
        _fields_ = [("z", ct.c_int)]

    class Plain(Point3):
        pass

    for cls, fields, values in [
        (Point3, ("x", "y", "z"), (1, 2, 3)),
        (Plain, ("x", "y", "z"), (4, 5, 6)),
    ]:
        out = _Reads(ct)(ct.pointer(cls(*values)), fields)
        assert out == [(cls.__name__, True, 0, True, values)] * 3


def test_contents_of_simple_and_array_targets(ct):
    class MyInt(ct.c_int):
        pass

    arr = (ct.c_short * 3)(1, 2, 3)
    pa = ct.pointer(arr)
    for _ in range(3):
        assert list(pa.contents) == [1, 2, 3]
        assert type(pa.contents) is type(arr)
    pm = ct.pointer(MyInt(7))
    for _ in range(3):
        assert type(pm.contents) is MyInt
        assert pm.contents.value == 7


def _pointer_class(ct, target, name="LP"):
    """A pointer type outside the POINTER cache (see tests/test_set_type.py)."""
    ct.POINTER(target)
    return type(ct._Pointer)(name, (ct._Pointer,), {"_type_": target})


def test_contents_after_set_type_of_the_same_size(ct):
    lp = _pointer_class(ct, ct.c_int)
    x = ct.c_int(-5)
    p = lp(x)
    assert [p.contents.value for _ in range(3)] == [-5] * 3
    ct.POINTER(ct.c_uint)
    lp.set_type(ct.c_uint)
    assert [type(p.contents) for _ in range(3)] == [ct.c_uint] * 3
    assert p.contents.value == 2**32 - 5


def test_grown_target_after_short_reads(ferrotype):
    """ferrotype's guarantee (docs/differences.md) holds after reads that took the
    short path: the pointer type's new target is checked again."""
    ct = ferrotype

    class S(ct.Structure):
        _fields_ = [("a", ct.c_int), ("b", ct.c_double)]

    lp = _pointer_class(ct, ct.c_int)
    p = lp(ct.c_int(5))
    assert [p.contents.value for _ in range(3)] == [5] * 3
    lp.set_type(S)
    for _ in range(2):
        with pytest.raises(ValueError, match="points at 4 bytes, fewer than the 16"):
            p.contents  # noqa: B018
    s = S(1, 2.5)
    q = lp(s)
    assert [q.contents.b for _ in range(3)] == [2.5] * 3


def test_strict_mode_after_short_reads(ferrotype):
    ct = ferrotype
    buf = (ct.c_char * 2)()
    p = ct.cast(buf, ct.POINTER(ct.c_int))
    ok = ct.pointer(ct.c_int(3))
    assert [ok.contents.value for _ in range(3)] == [3] * 3
    p.contents  # noqa: B018  (outside strict mode, as in ctypes)
    p.contents  # noqa: B018
    with ct.strict(True):
        assert ok.contents.value == 3
        for _ in range(2):
            with pytest.raises(ValueError):
                p.contents  # noqa: B018
    p.contents  # noqa: B018


def test_contents_references(ct):
    class Point(ct.Structure):
        _fields_ = [("x", ct.c_int), ("y", ct.c_int)]

    p = ct.pointer(Point(1, 2))
    p.contents  # noqa: B018  (the first read)
    fresh = Point(3, 4)
    alone = sys.getrefcount(fresh)  # a local nothing else holds (1 from 3.14, 2 before)
    del fresh
    before = (sys.getrefcount(Point), sys.getrefcount(p))
    for _ in range(100):
        c = p.contents
        assert sys.getrefcount(c) == alone
    del c
    assert (sys.getrefcount(Point), sys.getrefcount(p)) == before


# ---- argument objects (`byref`, `from_param` results) ----


def test_argument_objects_hold_and_release(ct):
    # `byref` and the `from_param` results are made and freed by raw slots in ferrotype:
    # what they keep alive is held while they live and released with them.
    class Point(ct.Structure):
        _fields_ = [("x", ct.c_int), ("y", ct.c_int)]

    pt, n = Point(1, 2), ct.c_int(7)
    before = (sys.getrefcount(pt), sys.getrefcount(n))
    made = [
        ct.byref(pt),
        ct.byref(pt, 4),
        ct.byref(n),
        ct.POINTER(Point).from_param(ct.byref(pt)),
        ct.POINTER(ct.c_int).from_param(n),
    ]
    assert [a._obj for a in made] == [pt, pt, n, pt, n]
    assert sys.getrefcount(pt) > before[0] and sys.getrefcount(n) > before[1]
    del made
    assert (sys.getrefcount(pt), sys.getrefcount(n)) == before
    for _ in range(1000):
        ct.byref(pt)
        ct.c_int.from_param(5)
        ct.c_char_p.from_param(b"abc")
    assert (sys.getrefcount(pt), sys.getrefcount(n)) == before


def test_argument_object_keeps_a_temporary_alive(ct):
    arg = ct.byref(ct.c_double(2.5))
    kept = arg._obj
    assert isinstance(kept, ct.c_double) and kept.value == 2.5
    s = ct.c_char_p.from_param(b"xyz")
    assert s._obj == b"xyz"
    assert repr(ct.c_int.from_param(42)) == "<cparam 'i' (42)>"


def test_from_param_returns_argument_objects_as_they_are(ct):
    class Point(ct.Structure):
        _fields_ = [("x", ct.c_int)]

    pt, n, arr = Point(1), ct.c_int(3), (ct.c_int * 2)()
    accepted = [
        (ct.POINTER(Point), ct.byref(pt)),
        (ct.POINTER(ct.c_int), ct.byref(n)),
        (ct.c_void_p, ct.byref(pt)),
        # an array type takes `byref` of an element, not of an array
        (ct.c_int * 2, ct.byref(n)),
    ]
    for cls, arg in accepted:
        assert cls.from_param(arg) is arg, cls
    refused = [
        (ct.POINTER(ct.c_int), ct.byref(pt), "pointer to Point"),
        (ct.c_int * 2, ct.byref(arr), "pointer to c_int_Array_2"),
        # (3.13 names the object's type: "'_ctypes.CArgObject' object cannot be ...")
        (ct.c_char_p, ct.byref(n), "wrong type|CArgObject' object cannot be interpreted"),
    ]
    for cls, arg, message in refused:
        with pytest.raises(TypeError, match=message):
            cls.from_param(arg)


# ---- structure results of direct calls ----

SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 24, 32]

SOURCE = "\n".join(
    textwrap.dedent(
        f"""
        typedef struct {{ unsigned char b[{n}]; }} B{n};
        B{n} next{n}(B{n} v) {{
            B{n} r;
            for (int i = 0; i < {n}; i++) r.b[i] = (unsigned char)(v.b[i] + i + 1);
            return r;
        }}
        """
    )
    for n in SIZES
) + textwrap.dedent(
    """
    typedef struct { double x, y; } DPoint;
    DPoint dp_make(double x, double y) { DPoint r = {x, y}; return r; }
    typedef struct { float f; int i; } FI;
    FI fi_make(int i) { FI r = {i / 2.0f, -i}; return r; }
    """
)


@pytest.fixture(scope="module")
def libpath(tmp_path_factory):
    if not sys.platform.startswith("linux"):
        pytest.skip("builds a shared library with cc")
    d = tmp_path_factory.mktemp("results")
    src = d / "results.c"
    src.write_text(SOURCE)
    return str(build_shared_library([src], "results", build_dir=d))


@pytest.mark.parametrize("release_gil", [True, False])
def test_structure_results_of_every_size(libpath, release_gil):
    seen = {}
    for ct in (ferrotype, stdlib_ctypes):
        lib = ct.CDLL(libpath)
        out = []
        for n in SIZES:
            cls = type(f"B{n}", (ct.Structure,), {"_fields_": [("b", ct.c_ubyte * n)]})
            f = getattr(lib, f"next{n}")
            f.argtypes, f.restype = [cls], cls
            if not release_gil and hasattr(f, "release_gil"):
                f.release_gil = False
            v = cls()
            for i in range(n):
                v.b[i] = 10 * i
            for _ in range(3):
                r = f(v)
                assert type(r) is cls
                assert r._b_needsfree_ == 1 and r._b_base_ is None and r._objects is None
                out.append(bytes(r))
                # The result owns its bytes: writing it leaves the argument alone.
                r.b[0] = 0xFF
                assert v.b[0] == 0
        seen[ct] = out
    assert seen[ferrotype] == seen[stdlib_ctypes]


def test_structure_results_of_subclasses(libpath):
    """A restype derived from a structure class (not from the native class directly)
    and one whose `_fields_` came from a base."""
    seen = {}
    for ct in (ferrotype, stdlib_ctypes):
        lib = ct.CDLL(libpath)

        class DPoint(ct.Structure):
            _fields_ = [("x", ct.c_double), ("y", ct.c_double)]

        class Sub(DPoint):
            pass

        class FI(ct.Structure):
            _fields_ = [("f", ct.c_float), ("i", ct.c_int)]

        out = []
        for restype in (DPoint, Sub):
            f = lib.dp_make
            f.argtypes, f.restype = [ct.c_double, ct.c_double], restype
            r = f(1.5, -2.25)
            out.append((type(r).__name__, r.x, r.y))
        g = lib.fi_make
        g.argtypes, g.restype = [ct.c_int], FI
        r = g(7)
        out.append((type(r).__name__, r.f, r.i))
        seen[ct] = out
    assert seen[ferrotype] == seen[stdlib_ctypes]


def test_structure_result_references(libpath, ct):
    class DPoint(ct.Structure):
        _fields_ = [("x", ct.c_double), ("y", ct.c_double)]

    f = ct.CDLL(libpath).dp_make
    f.argtypes, f.restype = [ct.c_double, ct.c_double], DPoint
    f(1.0, 2.0)
    fresh = DPoint(1.0, 2.0)
    alone = sys.getrefcount(fresh)  # a local nothing else holds (1 from 3.14, 2 before)
    del fresh
    before = sys.getrefcount(DPoint)
    for i in range(200):
        r = f(float(i), 0.5)
        assert sys.getrefcount(r) == alone
        assert (r.x, r.y) == (float(i), 0.5)
    del r
    assert sys.getrefcount(DPoint) == before


def test_structure_result_type_given_fields_late(libpath, ct):
    """A restype without `_fields_` when assigned, completed before the call."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")

        class DPoint(ct.Structure):
            pass

        f = ct.CDLL(libpath).dp_make
        f.argtypes = [ct.c_double, ct.c_double]
        DPoint._fields_ = [("x", ct.c_double), ("y", ct.c_double)]
        f.restype = DPoint
    r = f(3.0, 4.0)
    assert (type(r), r.x, r.y) == (DPoint, 3.0, 4.0)


# -- where each instance's bytes are: a small value lives inside its object, and every
# path that makes an instance must leave the instance pointing at its own bytes.


def test_small_values_address_their_own_bytes(ct):
    """A value that fits in the object: made by the class call, by `__new__`, by a
    Python `__new__` calling the base's, copied from a buffer; its address is that of
    its bytes (read back through `from_address` and `string_at`)."""

    class Point(ct.Structure):
        _fields_ = [("x", ct.c_int), ("y", ct.c_int)]

    class Sub(Point):
        def __new__(cls, *args):
            return super().__new__(cls)

    made = [
        ct.c_int(7),
        ct.c_double(1.5),
        Point(7, 8),
        Sub(7, 8),
        ct.c_int.__new__(ct.c_int),
        Point.from_buffer_copy(bytes(Point(7, 8))),
        ct.c_int.from_buffer_copy(bytes(ct.c_int(7))),
        (ct.c_short * 3)(7, 8, 9),
    ]
    made[4].value = 7
    seen = []
    for obj in made:
        addr = ct.addressof(obj)
        seen.append(
            (
                ct.string_at(addr, ct.sizeof(obj)) == bytes(obj),
                bytes(memoryview(obj).cast("B")) == bytes(obj),
                type(obj).from_address(addr)._b_needsfree_,
                ct.cast(ct.pointer(obj), ct.c_void_p).value == addr,
            )
        )
    assert seen == [(True, True, 0, True)] * len(made)
    # Two instances never share bytes.
    a, b = ct.c_int(1), ct.c_int(2)
    assert ct.addressof(a) != ct.addressof(b)
    ct.memmove(ct.addressof(a), ct.addressof(b), 4)
    assert (a.value, b.value) == (2, 2)


def test_function_pointer_addresses_its_own_bytes(ct):
    """A function pointer instance (made by its class, by `cast`, or by a Python
    `__new__`) holds the function's address in its own bytes."""
    proto = ct.CFUNCTYPE(ct.c_int, ct.c_int)

    class Sub(proto):
        _argtypes_ = (ct.c_int,)
        _restype_ = ct.c_int
        _flags_ = proto._flags_

        def __new__(cls, *args):
            return super().__new__(cls, *args)

    def twice(x):
        return 2 * x

    cb = proto(twice)
    target = ct.cast(cb, ct.c_void_p).value
    for f in (proto(target), Sub(target), ct.cast(ct.c_void_p(target), proto)):
        assert ct.c_void_p.from_address(ct.addressof(f)).value == target
        assert ct.c_void_p.from_buffer(f).value == target
        assert f(21) == 42
    cb2 = Sub(twice)
    assert cb2(4) == 8
    assert ct.c_void_p.from_address(ct.addressof(cb2)).value == ct.cast(cb2, ct.c_void_p).value


def test_resize_of_inline_and_heap_values(ct):
    """`resize` moves a value's bytes out of the object (or into a larger buffer): the
    instance follows them, and its old contents are kept."""
    for v in (ct.c_int(5), (ct.c_int * 10)(*range(10))):
        before = bytes(v)
        ct.resize(v, ct.sizeof(v) + 64)
        assert ct.string_at(ct.addressof(v), len(before)) == before
        assert bytes(memoryview(v).cast("B"))[: len(before)] == before
        if isinstance(v, ct.c_int):
            assert v.value == 5
            v.value = 6
            assert ct.c_int.from_address(ct.addressof(v)).value == 6
        else:
            assert list(v) == list(range(10))
            v[3] = 33
            assert ct.c_int.from_address(ct.addressof(v) + 12).value == 33
        # The added bytes are zero and writable.
        ct.memset(ct.addressof(v) + len(before), 0x41, 64)
        assert ct.string_at(ct.addressof(v) + len(before), 64) == b"A" * 64


def test_large_values_own_a_heap_buffer(ct):
    """A value too large for the object owns a zeroed buffer: two such instances never
    share one, and writes reach it."""

    class S20(ct.Structure):
        _fields_ = [(f"f{i}", ct.c_double) for i in range(20)]

    a, b = S20(), S20(*range(20))
    assert bytes(a) == bytes(ct.sizeof(S20)) and a._b_needsfree_ == 1
    assert ct.addressof(a) != ct.addressof(b)
    assert [getattr(b, f"f{i}") for i in range(20)] == [float(i) for i in range(20)]
    ct.memmove(ct.addressof(a), ct.addressof(b), ct.sizeof(S20))
    assert bytes(a) == bytes(b)
