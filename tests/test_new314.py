"""What CPython 3.14 added to ctypes: the complex types (``c_float_complex``,
``c_double_complex``, ``c_longdouble_complex``), ``memoryview_at`` and ``dllist``.

Every test runs against stdlib ``ctypes`` and ferrotype (the ``ct`` fixture) and skips
where the running interpreter's ctypes lacks the name, so on 3.11-3.13 they check that
ferrotype lacks it too.
"""

import cmath
import math
import sys

import pytest

COMPLEX_NAMES = ("c_float_complex", "c_double_complex", "c_longdouble_complex")


def raises_same(fn, *args):
    """(exception type name, message) of ``fn(*args)``, or ("ok", result)."""
    try:
        return "ok", fn(*args)
    except Exception as e:  # noqa: BLE001 - the exception is the result here
        return type(e).__name__, str(e)


@pytest.fixture
def cx(ct):
    if not hasattr(ct, "c_double_complex"):
        pytest.skip("this interpreter's ctypes has no complex types")
    return ct


# ---- presence, per version -------------------------------------------------------------------


def test_names_follow_the_stdlib(ct):
    import ctypes
    import ctypes.util

    for name in (*COMPLEX_NAMES, "memoryview_at"):
        assert hasattr(ct, name) == hasattr(ctypes, name), name
    if ct.__name__ == "ferrotype":
        import ferrotype._ctypes as private
        import ferrotype.util as util
    else:
        import _ctypes as private

        util = ctypes.util
    assert hasattr(util, "dllist") == hasattr(ctypes.util, "dllist")
    assert hasattr(private, "dllist") == hasattr(ctypes.util, "dllist")


def test_complex_type_codes_are_refused_before_314(ct):
    import ctypes

    for code in ("F", "D", "G", "Zd"):
        expect = raises_same(type, "X", (ctypes._SimpleCData,), {"_type_": code})
        got = raises_same(type, "X", (ct._SimpleCData,), {"_type_": code})
        assert (got[0], got[0] != "ok" and got[1]) == (expect[0], expect[0] != "ok" and expect[1])


def test_bad_type_code_message(ct):
    import ctypes

    for code in ("x", "ab", ""):
        expect = raises_same(type, "X", (ctypes._SimpleCData,), {"_type_": code})
        got = raises_same(type, "X", (ct._SimpleCData,), {"_type_": code})
        assert got == expect


# ---- the complex types ------------------------------------------------------------------------


@pytest.mark.parametrize("name", COMPLEX_NAMES)
def test_complex_type_facts(cx, name):
    import ctypes

    T, S = getattr(cx, name), getattr(ctypes, name)
    assert T._type_ == S._type_
    assert (cx.sizeof(T), cx.alignment(T)) == (ctypes.sizeof(S), ctypes.alignment(S))
    assert memoryview(T()).format == memoryview(S()).format
    assert memoryview((T * 2)()).format == memoryview((S * 2)()).format
    assert hasattr(T, "__ctype_be__") == hasattr(S, "__ctype_be__")
    assert repr(T(1 + 2j)) == repr(S(1 + 2j))


@pytest.mark.parametrize(
    "value",
    [0, 1, 1.5, 1 + 2j, -3j, True, complex(math.inf, -0.0), 1e300 + 1e-300j, 2**60],
)
@pytest.mark.parametrize("name", COMPLEX_NAMES)
def test_complex_values(cx, name, value):
    import ctypes

    T, S = getattr(cx, name), getattr(ctypes, name)
    got, want = T(value), S(value)
    assert type(got.value) is complex
    assert got.value == want.value
    assert bytes(got)[: ctypes.sizeof(S) // 2 * 2] == bytes(want)[: ctypes.sizeof(S) // 2 * 2] or (
        # long double: only the 10 significant bytes of each half are defined
        name == "c_longdouble_complex"
    )
    got.value = value
    assert got.value == want.value


@pytest.mark.parametrize("name", COMPLEX_NAMES)
def test_complex_conversion_rules(cx, name):
    import ctypes

    class WithComplex:
        def __complex__(self):
            return 5 + 6j

    class WithFloat:
        def __float__(self):
            return 7.0

    class WithIndex:
        def __index__(self):
            return 7

    class BadComplex:
        def __complex__(self):
            return 5

    class Sub(complex):
        pass

    T, S = getattr(cx, name), getattr(ctypes, name)
    for v in [
        "x",
        None,
        b"1",
        2**2000,
        WithComplex(),
        WithFloat(),
        WithIndex(),
        BadComplex(),
        Sub(1, 2),
        ctypes.c_double(1),
        cx.c_double(1),
        complex,
    ]:
        want = raises_same(lambda t, v: t(v).value, S, v)
        got = raises_same(lambda t, v: t(v).value, T, v)
        assert got == want, v

        def assign(x, v=v):
            x.value = v
            return x.value

        assert raises_same(lambda: assign(T())) == raises_same(lambda: assign(S()))


def test_complex_float_rounds_like_c(cx):
    import ctypes

    for v in (1e300 + 2j, 1e-50j, complex(math.nan, 1)):
        got, want = cx.c_float_complex(v).value, ctypes.c_float_complex(v).value
        assert cmath.isnan(got) == cmath.isnan(want)
        if not cmath.isnan(want):
            assert got == want


def test_complex_byte_order_twins(cx):
    import ctypes

    for name in ("c_float_complex", "c_double_complex"):
        T, S = getattr(cx, name), getattr(ctypes, name)
        for attr in ("__ctype_be__", "__ctype_le__"):
            t, s = getattr(T, attr), getattr(S, attr)
            assert t.__name__ == s.__name__
            assert bytes(t(1.5 - 2j)) == bytes(s(1.5 - 2j))
            assert t(1.5 - 2j).value == 1.5 - 2j
            assert memoryview(t()).format == memoryview(s()).format
            assert repr(t(1j)) == repr(s(1j))

    def big(mod, typ):
        class BS(mod.BigEndianStructure):
            _fields_ = [("a", mod.c_char), ("z", typ(mod))]

        return BS

    for typ in (lambda m: m.c_double_complex, lambda m: m.c_float_complex):
        b, s = big(cx, typ), big(ctypes, typ)
        assert bytes(b(b"x", 1 + 2j)) == bytes(s(b"x", 1 + 2j))
        assert b(b"x", 1 + 2j).z == 1 + 2j
        assert memoryview(b()).format == memoryview(s()).format
    got = raises_same(lambda: big(cx, lambda m: m.c_longdouble_complex))
    want = raises_same(lambda: big(ctypes, lambda m: m.c_longdouble_complex))
    assert got == (want[0], want[1].replace("'ctypes.", f"'{cx.__name__}."))


def test_complex_fields_and_arrays(cx):
    import ctypes

    def make(mod):
        class S(mod.Structure):
            _fields_ = [
                ("a", mod.c_char),
                ("z", mod.c_double_complex),
                ("f", mod.c_float_complex),
                ("g", mod.c_longdouble_complex),
            ]

        return S

    F, C = make(cx), make(ctypes)
    assert cx.sizeof(F) == ctypes.sizeof(C)
    for field in ("z", "f", "g"):
        assert getattr(F, field).offset == getattr(C, field).offset
        assert getattr(F, field).size == getattr(C, field).size
    assert memoryview(F()).format == memoryview(C()).format
    s = F(b"a", 1 + 2j, 3, 4j)
    assert (s.z, s.f, s.g) == (1 + 2j, 3 + 0j, 4j)
    s.z = 5
    assert s.z == 5 + 0j
    assert raises_same(lambda: setattr(F(), "z", "x")) == raises_same(
        lambda: setattr(C(), "z", "x")
    )

    arr = (cx.c_double_complex * 3)(1, 2 + 1j, 3j)
    assert arr[:] == [1 + 0j, 2 + 1j, 3j]
    arr[1] = -1j
    assert arr[1] == -1j
    p = cx.pointer(cx.c_float_complex(2 - 1j))
    assert p[0] == 2 - 1j
    assert p.contents.value == 2 - 1j


def test_complex_from_param(cx):
    import ctypes

    for name in COMPLEX_NAMES:
        T, S = getattr(cx, name), getattr(ctypes, name)
        for v in (1, 1.5, 1 + 2j, "x", None, ctypes.c_double(1)):
            want, got = raises_same(S.from_param, v), raises_same(T.from_param, v)
            assert got[0] == want[0]
            if want[0] == "ok":
                assert type(got[1]).__name__ == type(want[1]).__name__
                assert repr(got[1]).split(" at ")[0] == repr(want[1]).split(" at ")[0]
            else:
                assert got[1] == want[1]
        inst = T(1j)
        assert T.from_param(inst) is inst

        class Holder:
            _as_parameter_ = 3j

        assert raises_same(T.from_param, Holder())[0] == raises_same(S.from_param, Holder())[0]


def test_complex_pickle(cx):
    import pickle

    for name in COMPLEX_NAMES:
        T = getattr(cx, name)
        assert pickle.loads(pickle.dumps(T(1.5 + 2j))).value == 1.5 + 2j


# ---- complex numbers in calls (the C fixture) --------------------------------------------------


@pytest.mark.parametrize("name", ["f", "d", "g"])
def test_complex_arguments_and_results(cx, cfunc, name):
    T = {"f": cx.c_float_complex, "d": cx.c_double_complex, "g": cx.c_longdouble_complex}[name]
    mul = cfunc(f"ft_cmul_{name}", T, T, T)
    assert mul(1 + 2j, 3 - 1j) == (1 + 2j) * (3 - 1j)
    assert mul(T(2j), 2) == 4j
    # ctypes: a converted argument (CArgObject) is not taken again for a complex type
    with pytest.raises(cx.ArgumentError, match="must be real number, not .*CArgObject"):
        mul(T.from_param(1 + 1j), 1)
    # on the register engine's path or not, the same answer
    assert mul(0.5, 4) == 2 + 0j


def test_complex_mixed_with_reals(cx, cfunc):
    c = cx.c_double_complex
    mix = cfunc("ft_cmix_d", c, cx.c_int, c, cx.c_double, cx.c_int)
    assert mix(1, 2 + 3j, 2.0, 4) == (2 + 3j) * 2 + (1 + 4j)
    g = cx.c_longdouble_complex
    mixg = cfunc("ft_cmix_g", g, cx.c_int, g, cx.c_double, cx.c_int)
    assert mixg(1, 2 + 3j, 2.0, 4) == (2 + 3j) * 2 + (1 + 4j)

    for name, T in (("f", cx.c_float_complex), ("g", cx.c_longdouble_complex)):
        pd = cx.POINTER(cx.c_double)
        parts = cfunc(f"ft_cparts_{name}", None, T, pd, pd)
        re, im = cx.c_double(), cx.c_double()
        parts(1.25 - 0.5j, cx.byref(re), cx.byref(im))
        assert (re.value, im.value) == (1.25, -0.5)
        make = cfunc(f"ft_cmake_{name}", T, cx.c_double, cx.c_double)
        assert make(-2.5, 8.0) == -2.5 + 8j


def test_complex_argument_errors(cx, fixture_path):
    import ctypes

    mine, theirs = cx.CDLL(fixture_path), ctypes.CDLL(fixture_path)
    for name, tname in (("d", "c_double_complex"), ("g", "c_longdouble_complex")):
        f, s = getattr(mine, f"ft_cmul_{name}"), getattr(theirs, f"ft_cmul_{name}")
        f.restype, s.restype = getattr(cx, tname), getattr(ctypes, tname)
        f.argtypes, s.argtypes = [f.restype] * 2, [s.restype] * 2
        bad = (("x", "x"), (None, None), (cx.c_double(1), ctypes.c_double(1)))
        for bad_mine, bad_theirs in bad:
            got, want = raises_same(f, 1, bad_mine), raises_same(s, 1, bad_theirs)
            assert got == want
    # without argtypes, a Python complex is not converted
    assert (
        raises_same(lambda: mine.ft_cmul_d(1j, 1j))[1]
        == raises_same(lambda: theirs.ft_cmul_d(1j, 1j))[1]
    )


@pytest.mark.parametrize("name", ["f", "d", "g"])
def test_complex_callbacks(cx, cfunc, name):
    T = {"f": cx.c_float_complex, "d": cx.c_double_complex, "g": cx.c_longdouble_complex}[name]
    seen = []
    if name == "f":
        proto = cx.CFUNCTYPE(T, T, cx.c_int)

        def py(z, k):
            seen.append(z)
            return z * k

        expect = (1 + 1j) * 3 * 2
    else:
        proto = cx.CFUNCTYPE(T, T)

        def py(z):
            seen.append(z)
            return z + 1

        expect = (1 + 1j + 1) * 2
    cb = proto(py)
    call = cfunc(f"ft_ccall_{name}", T, proto, T)
    assert call(cb, 1 + 1j) == expect
    assert seen == [1 + 1j] and type(seen[0]) is complex
    # a Python-level call of the callback object converts both ways too
    assert cb(*([2j] if name != "f" else [2j, 1])) in (2j + 1, 2j)


@pytest.mark.parametrize("engine", ["register", "libffi"])
def test_structures_with_complex_members_by_value(cx, cfunc, engine):
    if cx.__name__ == "ferrotype":
        # a structure of complex members may take the register engine (as its reals)
        previous = cx._native._set_register_calls(engine == "register")
    elif engine == "libffi":
        pytest.skip("stdlib ctypes has one engine")
    try:
        _structures_with_complex_members(cx, cfunc)
    finally:
        if cx.__name__ == "ferrotype":
            cx._native._set_register_calls(previous)


def _structures_with_complex_members(cx, cfunc):
    class Pair(cx.Structure):
        _fields_ = [("z", cx.c_double_complex), ("w", cx.c_float_complex)]

    class One(cx.Structure):
        _fields_ = [("z", cx.c_double_complex)]

    swap = cfunc("ft_cpair_swap", Pair, Pair)
    r = swap(Pair(1 + 2j, 3 - 4j))
    assert (r.z, r.w) == (3 - 4j, 1 + 2j)
    conj = cfunc("ft_cone_conj", One, One)
    assert conj(One(1 + 2j)).z == 1 - 2j


def test_complex_numpy_dtype(cx):
    np = pytest.importorskip("numpy")
    if cx.__name__ != "ferrotype":
        pytest.skip("the dtype mapping is ferrotype's (T.dtype)")
    assert np.dtype(cx.c_float_complex) == np.dtype(np.complex64)
    assert np.dtype(cx.c_double_complex) == np.dtype(np.complex128)
    assert np.dtype(cx.c_longdouble_complex) == np.dtype(np.clongdouble)
    assert np.dtype(cx.c_double_complex.__ctype_be__) == np.dtype(">c16")
    a = (cx.c_double_complex * 3)(1, 2j, 3 + 3j)
    from ferrotype import ctypeslib

    assert list(ctypeslib.as_array(a)) == [1, 2j, 3 + 3j]


# ---- memoryview_at -----------------------------------------------------------------------------


@pytest.fixture
def mv(ct):
    if not hasattr(ct, "memoryview_at"):
        pytest.skip("this interpreter's ctypes has no memoryview_at")
    return ct


def test_memoryview_at_views_the_memory(mv):
    buf = mv.create_string_buffer(b"hello world")
    addr = mv.addressof(buf)
    for ptr in (buf, addr, mv.byref(buf), mv.cast(buf, mv.c_void_p), mv.c_void_p(addr)):
        v = mv.memoryview_at(ptr, 5)
        assert isinstance(v, memoryview)
        facts = (v.tobytes(), v.readonly, v.format, v.shape, v.obj)
        assert facts == (b"hello", False, "B", (5,), None)
        v[0] = ord("J")
        assert buf.value == b"Jello world"
        buf[0] = b"h"
    ro = mv.memoryview_at(buf, 3, readonly=True)
    assert ro.readonly and ro.tobytes() == b"hel"
    with pytest.raises(TypeError):
        ro[0] = 1
    assert mv.memoryview_at(buf, 3, "yes").readonly
    assert not mv.memoryview_at(buf, 3, None).readonly
    assert mv.memoryview_at(buf, 0).tobytes() == b""
    assert mv.memoryview_at(None, 0).tobytes() == b""
    assert mv.memoryview_at(mv.c_char_p(b"abc"), 3).tobytes() == b"abc"


def test_memoryview_at_errors(mv):
    import ctypes

    buf = mv.create_string_buffer(8)
    sbuf = ctypes.create_string_buffer(8)
    cases = [
        lambda m, b: m.memoryview_at(b, -1),
        lambda m, b: m.memoryview_at(b, sys.maxsize + 1),
        lambda m, b: m.memoryview_at(b, "x"),
        lambda m, b: m.memoryview_at(b, 5.0),
        lambda m, b: m.memoryview_at(b, m.c_int(3)),
        lambda m, b: m.memoryview_at(b),
        lambda m, b: m.memoryview_at(b, 1, 2, 3),
        lambda m, b: m.memoryview_at(b, size=2).tobytes(),
    ]
    for case in cases:
        assert raises_same(case, mv, buf) == raises_same(case, ctypes, sbuf)


def test_private_memoryview_at_wrapper(mv):
    # ctypes' own `memoryview_at` calls `_memoryview_at`, a function pointer to the C
    # function at `_ctypes._memoryview_at_addr`; code copied from it does the same.
    import importlib

    _ctypes = importlib.import_module("_ctypes" if mv.__name__ == "ctypes" else "ferrotype._ctypes")
    assert isinstance(_ctypes._memoryview_at_addr, int)
    buf = mv.create_string_buffer(b"hello")
    v = mv._memoryview_at(buf, 4, 0)
    assert (v.tobytes(), v.readonly, v.obj) == (b"hell", False, None)
    assert mv._memoryview_at(mv.addressof(buf), 2, 1).readonly
    with pytest.raises(ValueError, match="size is negative"):
        mv._memoryview_at(buf, -1, 0)


# ---- dllist ------------------------------------------------------------------------------------


@pytest.fixture
def dll_util(ct):
    import ctypes.util

    if not hasattr(ctypes.util, "dllist"):
        pytest.skip("this interpreter's ctypes has no dllist")
    if ct.__name__ == "ferrotype":
        import ferrotype.util as util

        return ct, util, ct._ctypes
    import _ctypes

    return ct, ctypes.util, _ctypes


def test_dllist_matches_the_loader(dll_util, fixture_path):
    import _ctypes

    ct, util, private = dll_util
    assert util.dllist is private.dllist
    ct.CDLL(fixture_path)
    mine, stdlib = util.dllist(), _ctypes.dllist()
    assert isinstance(mine, list) and all(isinstance(n, str) for n in mine)
    assert mine == stdlib
    assert mine[0] == ""  # the main program
    assert any("libftfixture" in n for n in mine)
    assert any("libc.so" in n for n in mine)
