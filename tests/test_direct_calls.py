"""The direct call path against stdlib ctypes.

A function whose arguments all pass in registers and convert inline (integers, floats,
addresses, pointers), whose result is a simple value or ``void``, and which has nothing
around the call (no ``errcheck``, ``paramflags``, ``_check_retval_``, ``use_errno``,
``PyDLL``) is called on a short path: the arguments are read into a register image, the
call loads only the registers the signature can use, and the result is made from its
register. Everything else, and any argument the inline conversions do not take, goes the
general way. These tests hold both ways to the same outcome as stdlib ctypes, including
when a function changes from one to the other between calls.
"""

from __future__ import annotations

import ctypes as stdlib_ctypes
import sys
import textwrap

import ferrotype
import pytest
from conftest import build_shared_library
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="builds a shared library with cc"
)

SOURCE = textwrap.dedent(
    """
    #include <stdint.h>
    #include <errno.h>
    int64_t i6(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f)
    { return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f; }
    int add_int(int a, int b) { return a + b; }
    unsigned long long widen_u64(uint64_t a) { return a; }
    long long widen_i32(int32_t a) { return a; }
    unsigned long long widen_u32(uint32_t a) { return a; }
    double f1(double a) { return a * 2.0; }
    double f2(double a, double b) { return a - b; }
    double f3(double a, double b, double c) { return a * 100.0 + b * 10.0 + c; }
    double f8(double a, double b, double c, double d, double e, double f, double g, double h)
    { return a + 2*b + 3*c + 4*d + 5*e + 6*f + 7*g + 8*h; }
    float fl2(float a, float b) { return a * b; }
    double int_to_double(int a) { return a / 4.0; }
    float int_to_float(long a) { return (float)a / 8.0f; }
    int double_to_int(double a, int b) { return (int)a + b; }
    int d2i(double a, double b) { return (int)(a * b); }
    float d2f(double a) { return (float)(a / 3.0); }
    double mixed(int a, double b, const char *s, long c, float d, void *p)
    { return a + b + (s ? s[0] : 0) + c + d + (p ? 1000 : 0); }
    static int counter;
    void bump(int by) { counter += by; }
    int get_counter(void) { return counter; }
    int set_errno_to(int v) { errno = v; return -1; }
    long first_of(const long *p) { return p ? p[0] : -1; }
    void *same_address(void *p) { return p; }
    typedef struct { double x, y; } DPoint;
    typedef struct { int a; long b; } IPair;
    typedef struct { int a; double d; } Mixed;
    typedef struct { char c[3]; } Three;
    DPoint dp_add(DPoint p, DPoint q) { DPoint r = {p.x + q.x, p.y + q.y}; return r; }
    IPair ip_swap(IPair p) { IPair r = {(int)p.b, p.a}; return r; }
    Mixed mx_scale(Mixed m, int k) { Mixed r = {m.a * k, m.d * k}; return r; }
    Three three_next(Three t) { Three r = {{t.c[0] + 1, t.c[1] + 1, t.c[2] + 1}}; return r; }
    long *same_ptr(long *p) { return p; }
    int through(int (*cb)(int), int x) { return cb(x) + 1; }
    double through_d(double (*cb)(double), double x) { return cb(x) + 0.5; }
    int plain_int(int v) { return v; }
    """
)


@pytest.fixture(scope="module")
def libpath(tmp_path_factory):
    d = tmp_path_factory.mktemp("direct")
    src = d / "direct.c"
    src.write_text(SOURCE)
    return str(build_shared_library([src], "direct", build_dir=d))


def _outcome(f, *args, **kwargs):
    try:
        return ("returns", f(*args, **kwargs))
    except Exception as e:  # noqa: BLE001 - the exception is the outcome compared
        return ("raises", type(e).__name__, str(e))


def _func(ct, libpath, name, argtypes, restype, release_gil=True):
    f = getattr(ct.CDLL(libpath), name)
    f.argtypes = [getattr(ct, a) for a in argtypes]
    f.restype = None if restype is None else getattr(ct, restype)
    if not release_gil and hasattr(f, "release_gil"):
        f.release_gil = False
    return f


SIGNATURES = [
    ("i6", ["c_int64"] * 6, "c_int64"),
    ("add_int", ["c_int", "c_int"], "c_int"),
    ("widen_u64", ["c_uint64"], "c_uint64"),
    ("widen_i32", ["c_int32"], "c_longlong"),
    ("widen_u32", ["c_uint32"], "c_ulonglong"),
    ("f1", ["c_double"], "c_double"),
    ("f2", ["c_double", "c_double"], "c_double"),
    ("f3", ["c_double"] * 3, "c_double"),
    ("f8", ["c_double"] * 8, "c_double"),
    ("fl2", ["c_float", "c_float"], "c_float"),
    ("int_to_double", ["c_int"], "c_double"),
    ("int_to_float", ["c_long"], "c_float"),
    ("double_to_int", ["c_double", "c_int"], "c_int"),
    ("d2i", ["c_double", "c_double"], "c_int"),
    ("d2f", ["c_double"], "c_float"),
]

INTS = [
    0,
    1,
    -1,
    (1 << 30) - 1,
    -((1 << 30) - 1),
    1 << 30,
    -(1 << 30),
    (1 << 31) - 1,
    -(1 << 31),
    1 << 31,
    (1 << 32) - 1,
    1 << 32,
    (1 << 63) - 1,
    -(1 << 63),
    1 << 63,
    (1 << 64) - 1,
    1 << 64,
]


def _values_for(argtype):
    if argtype in ("c_double", "c_float"):
        return [0.0, -1.5, 2.25, 1e300, float("inf"), 3, True, None, "x"]
    return [*INTS, True, 2.5, None, "x", b"x"]


@pytest.mark.parametrize("release_gil", [True, False])
@pytest.mark.parametrize("name, argtypes, restype", SIGNATURES, ids=[s[0] for s in SIGNATURES])
def test_signatures_agree_with_ctypes(libpath, name, argtypes, restype, release_gil):
    mine = _func(ferrotype, libpath, name, argtypes, restype, release_gil)
    ref = _func(stdlib_ctypes, libpath, name, argtypes, restype)
    n = len(argtypes)
    for i, t in enumerate(argtypes):
        for v in _values_for(t):
            args = [1] * n
            if argtypes[0] in ("c_double", "c_float"):
                args = [1.0] * n
            args[i] = v
            assert _outcome(mine, *args) == _outcome(ref, *args), (i, v)
    # Wrong counts and keyword arguments take the general path and agree too.
    assert _outcome(mine) == _outcome(ref)
    assert _outcome(mine, *([1] * (n + 1))) == _outcome(ref, *([1] * (n + 1)))


@given(st.lists(st.integers(min_value=-(1 << 64), max_value=1 << 64), min_size=6, max_size=6))
def test_six_int64_registers(libpath, values):
    mine = _func(ferrotype, libpath, "i6", ["c_int64"] * 6, "c_int64")
    ref = _func(stdlib_ctypes, libpath, "i6", ["c_int64"] * 6, "c_int64")
    assert _outcome(mine, *values) == _outcome(ref, *values)


@given(st.lists(st.floats(min_value=-1e100, max_value=1e100), min_size=8, max_size=8))
def test_eight_double_registers(libpath, values):
    mine = _func(ferrotype, libpath, "f8", ["c_double"] * 8, "c_double")
    ref = _func(stdlib_ctypes, libpath, "f8", ["c_double"] * 8, "c_double")
    assert _outcome(mine, *values) == _outcome(ref, *values)


def test_mixed_arguments_of_every_inline_kind(libpath):
    argtypes = ["c_int", "c_double", "c_char_p", "c_long", "c_float", "c_void_p"]
    mine = _func(ferrotype, libpath, "mixed", argtypes, "c_double")
    ref = _func(stdlib_ctypes, libpath, "mixed", argtypes, "c_double")
    cases = {}
    for ct in (ferrotype, stdlib_ctypes):
        buf = ct.create_string_buffer(b"A", 8)
        arr = (ct.c_char * 4)(b"B")
        cases[ct] = [
            (1, 2.0, b"a", 3, 4.0, None),
            (1, 2.0, None, 3, 4.0, buf),
            (1, 2.0, buf, 3, 4.0, 12345),
            (1, 2.0, arr, 3, 4.0, arr),
            (1, 2.0, ct.pointer(ct.c_char(b"C")), 3, 4.0, ct.c_void_p(8)),
            (ct.c_int(5), ct.c_double(1.0), ct.c_char_p(b"z"), ct.c_long(1), ct.c_float(2), None),
            (1, 2.0, "not bytes", 3, 4.0, None),
            (1, 2.0, b"a", 3, 4.0, object()),
        ]
    for a, b in zip(cases[ferrotype], cases[stdlib_ctypes], strict=True):
        assert _outcome(mine, *a) == _outcome(ref, *b)


def test_arrays_as_void_pointers(libpath):
    # An array for a `c_void_p` parameter passes its buffer's address (an instance of a
    # class made from the array base is taken inline, others by the converter).
    for ct in (ferrotype, stdlib_ctypes):
        f = ct.CDLL(libpath).same_address
        f.argtypes = [ct.c_void_p]
        f.restype = ct.c_void_p

        class Point(ct.Structure):
            _fields_ = [("x", ct.c_int), ("y", ct.c_int)]

        IntArray = ct.c_int * 3

        class Sub(IntArray):
            pass

        resized = (ct.c_char * 4)()
        ct.resize(resized, 4096)
        shared = bytearray(64)
        arrays = [
            IntArray(1, 2, 3),
            Sub(),
            (Point * 2)(),
            (ct.c_char * 0)(),
            resized,
            (ct.c_double * 8).from_buffer(shared),
            (ct.c_int * 2).from_buffer(shared, 8),
            ct.create_string_buffer(100),
        ]
        for arr in arrays:
            assert f(arr) == ct.addressof(arr), (ct.__name__, type(arr))
        # not arrays: a structure is refused, as the converter refuses it
        with pytest.raises(ct.ArgumentError):
            f(Point())


def test_void_result_and_side_effects(libpath):
    for ct in (ferrotype, stdlib_ctypes):
        lib = ct.CDLL(libpath)
        lib.bump.argtypes = [ct.c_int]
        lib.bump.restype = None
        lib.get_counter.argtypes = []
        before = lib.get_counter()
        assert lib.bump(5) is None
        assert lib.get_counter() == before + 5


def test_pointer_arguments(libpath):
    for ct in (ferrotype, stdlib_ctypes):
        f = ct.CDLL(libpath).first_of
        f.argtypes = [ct.POINTER(ct.c_long)]
        f.restype = ct.c_long
        x = ct.c_long(42)
        assert f(ct.pointer(x)) == 42
        assert f(None) == -1
        assert f(ct.byref(x)) == 42  # not a pointer instance: the converter's path
        arr = (ct.c_long * 2)(7, 8)
        assert f(arr) == 7
        with pytest.raises(ct.ArgumentError):
            f(ct.pointer(ct.c_int(1)))


@pytest.mark.parametrize("release_gil", [True, False])
def test_small_int_results_are_the_shared_objects(libpath, release_gil):
    """Integer results the interpreter keeps as shared small ints are those objects (what
    ``PyLong_FromLong`` returns, as stdlib ctypes' results are), their reference counts
    balanced; others are new ints."""
    calls = [
        ("i6", ["c_int64"] * 6, "c_int64", lambda f, v: f(v, 0, 0, 0, 0, 0)),
        ("widen_u32", ["c_uint32"], "c_ulonglong", lambda f, v: f(v & 0xFFFFFFFF)),
        ("add_int", ["c_int", "c_int"], "c_int", lambda f, v: f(v, 0)),
    ]
    for name, argtypes, restype, call in calls:
        mine = _func(ferrotype, libpath, name, argtypes, restype, release_gil)
        ref = _func(stdlib_ctypes, libpath, name, argtypes, restype)
        for v in [-6, -5, -1, 0, 1, 100, 255, 256, 257, 1024, 1025, 1 << 20]:
            r, s = call(mine, v), call(ref, v)
            assert r == s and type(r) is int, (name, v)
            # (The interpreter's own range: -5..256, and up to 1024 from 3.15.)
            shared = int(str(s)) is int(str(s))
            assert (r is s) == shared, (name, v)
        call(mine, 7)
        before = sys.getrefcount(7)
        for _ in range(1000):
            call(mine, 7)
        after = sys.getrefcount(7)
        assert after == before


def test_switching_between_direct_and_general(libpath):
    """Everything that puts something around the call is honoured from the next call on,
    and taking it away restores the short path's results."""
    f = _func(ferrotype, libpath, "add_int", ["c_int", "c_int"], "c_int")
    assert f(2, 3) == 5
    f.errcheck = lambda result, func, args: ("checked", result, args)
    assert f(2, 3) == ("checked", 5, (2, 3))
    del f.errcheck
    assert f(2, 3) == 5

    class CheckedInt(ferrotype.c_int):
        @classmethod
        def _check_retval_(cls, value):
            return ("retval", value)

    f.restype = CheckedInt
    tag, value = f(2, 3)  # (a subclass result stays an instance, as in ctypes)
    assert (tag, type(value), value.value) == ("retval", CheckedInt, 5)
    f.restype = ferrotype.c_long
    assert f(2, 3) == 5
    f.argtypes = [ferrotype.c_char_p, ferrotype.c_int]
    with pytest.raises(ferrotype.ArgumentError):
        f(2, 3)
    f.argtypes = [ferrotype.c_int, ferrotype.c_int]
    assert f(2, 3) == 5
    f.release_gil = False
    assert f(2, 3) == 5
    f.release_gil = True
    assert f(-2, 3) == 1


def test_use_errno_is_not_bypassed(libpath):
    for ct in (ferrotype, stdlib_ctypes):
        lib = ct.CDLL(libpath, use_errno=True)
        f = lib.set_errno_to
        f.argtypes = [ct.c_int]
        ct.set_errno(0)
        assert f(7) == -1
        assert ct.get_errno() == 7


def test_pydll_checks_the_error_indicator(libpath):
    lib = ferrotype.PyDLL(libpath)
    f = lib.add_int
    f.argtypes = [ferrotype.c_int, ferrotype.c_int]
    assert f(1, 2) == 3
    ref = stdlib_ctypes.PyDLL(libpath).add_int
    ref.argtypes = [stdlib_ctypes.c_int, stdlib_ctypes.c_int]
    assert ref(1, 2) == 3


def test_paramflags_functions_take_keywords(libpath):
    for ct in (ferrotype, stdlib_ctypes):
        proto = ct.CFUNCTYPE(ct.c_int, ct.c_int, ct.c_int)
        f = proto(("add_int", ct.CDLL(libpath)), ((1, "a"), (1, "b", 10)))
        assert f(1) == 11
        assert f(b=2, a=1) == 3


def test_keywords_without_paramflags_agree(libpath):
    mine = _func(ferrotype, libpath, "add_int", ["c_int", "c_int"], "c_int")
    ref = _func(stdlib_ctypes, libpath, "add_int", ["c_int", "c_int"], "c_int")
    assert _outcome(mine, 1, 2, x=3) == _outcome(ref, 1, 2, x=3)
    assert _outcome(mine, 1, x=3) == _outcome(ref, 1, x=3)


def test_null_function_pointer():
    # (stdlib ctypes crashes on this call; see docs/differences.md)
    proto = ferrotype.CFUNCTYPE(ferrotype.c_int, ferrotype.c_int, ferrotype.c_int)
    f = proto()
    with pytest.raises(ValueError, match="NULL function pointer"):
        f(1, 2)


def test_debug_mode_takes_the_general_path(libpath):
    f = _func(ferrotype, libpath, "add_int", ["c_int", "c_int"], "c_int")
    old = ferrotype.debug(True) if hasattr(ferrotype, "debug") else None
    try:
        assert f(2, 3) == 5
    finally:
        if hasattr(ferrotype, "debug"):
            ferrotype.debug(bool(old))


def _struct_types(ct):
    class DPoint(ct.Structure):
        _fields_ = [("x", ct.c_double), ("y", ct.c_double)]

    class IPair(ct.Structure):
        _fields_ = [("a", ct.c_int), ("b", ct.c_long)]

    class Mixed(ct.Structure):
        _fields_ = [("a", ct.c_int), ("d", ct.c_double)]

    class Three(ct.Structure):
        _fields_ = [("c", ct.c_char * 3)]

    return DPoint, IPair, Mixed, Three


@pytest.mark.parametrize("release_gil", [True, False])
def test_structures_by_value_in_registers(libpath, release_gil):
    seen = {}
    for ct in (ferrotype, stdlib_ctypes):
        DPoint, IPair, Mixed, Three = _struct_types(ct)
        lib = ct.CDLL(libpath)
        out = []
        for name, argtypes, restype, args in [
            ("dp_add", [DPoint, DPoint], DPoint, (DPoint(1.5, 2), DPoint(3, 4.25))),
            ("ip_swap", [IPair], IPair, (IPair(7, -9),)),
            ("mx_scale", [Mixed, ct.c_int], Mixed, (Mixed(3, 0.5), 4)),
            ("three_next", [Three], Three, (Three(b"abc"),)),
        ]:
            f = getattr(lib, name)
            f.argtypes, f.restype = argtypes, restype
            if not release_gil and hasattr(f, "release_gil"):
                f.release_gil = False
            for _ in range(3):
                r = f(*args)
                assert type(r) is restype
                out.append(bytes(r))
            # A subclass instance takes the inline path too; another type is refused.
            sub = type("Sub", (argtypes[0],), {})
            sub_args = (sub.from_buffer_copy(bytes(args[0])), *args[1:])
            out.append(bytes(f(*sub_args)))
            out.append(_outcome(f, *((object(),) + args[1:]))[:2])
        seen[ct] = out
    assert seen[ferrotype] == seen[stdlib_ctypes]


def test_instance_results_in_registers(libpath):
    for ct in (ferrotype, stdlib_ctypes):
        lib = ct.CDLL(libpath)
        f = lib.same_ptr
        f.argtypes = [ct.POINTER(ct.c_long)]
        f.restype = ct.POINTER(ct.c_long)
        x = ct.c_long(99)
        r = f(ct.pointer(x))
        assert type(r) is ct.POINTER(ct.c_long)
        assert r.contents.value == 99
        assert not f(None)

        class MyInt(ct.c_int):
            pass

        g = lib.plain_int
        g.argtypes = [ct.c_int]
        g.restype = MyInt
        r = g(-5)
        assert type(r) is MyInt and r.value == -5


@pytest.mark.parametrize("release_gil", [True, False])
def test_state_replaced_during_the_call(libpath, release_gil):
    """A callback that reassigns the running functions' restype and argtypes (dropping
    the state the call started with) does not change how this call ends: its result is
    converted as declared when it started."""
    ct = ferrotype
    lib = ct.CDLL(libpath)
    f = lib.through
    g = lib.through_d

    def replace_state(x):
        for fn in (f, g):
            fn.restype = ct.c_char_p
            fn.argtypes = [ct.c_char_p]
        return x * 2

    cb = ct.CFUNCTYPE(ct.c_int, ct.c_int)(replace_state)
    cbd = ct.CFUNCTYPE(ct.c_double, ct.c_double)(replace_state)
    for _ in range(50):
        # `through`: integers and an address (the register-only path).
        f.argtypes, f.restype = [ct.c_void_p, ct.c_int], ct.c_int
        f.release_gil = release_gil
        assert f(ct.cast(cb, ct.c_void_p).value, 20) == 41
        assert f.restype is ct.c_char_p
        # `through_d`: an address and a double (the register image).
        g.argtypes, g.restype = [ct.c_void_p, ct.c_double], ct.c_double
        g.release_gil = release_gil
        assert g(ct.cast(cbd, ct.c_void_p).value, 1.25) == 3.0
        assert g.restype is ct.c_char_p
