"""Callbacks whose arguments and result all travel in registers.

On x86-64 Linux ferrotype gives such callbacks C entries of its own
(``ferrotype_core::trampoline``: a stub per callback, one assembly entry storing the argument
registers, each argument's place worked out when the callback is made) instead of libffi's
closures; every other signature, and every other target, keeps libffi's. The tests call each
callback through its C address, as a foreign function of the same prototype (``through_c``),
so the arguments and the result cross the C calling convention both ways; the expectations come
from stdlib ctypes (the ``ct`` fixture), and the ferrotype-only checks say which entry a
callback got (``_native._callback_trampoline``).
"""

from __future__ import annotations

import gc
import platform
import sys
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

TRAMPOLINES = platform.machine() == "x86_64" and sys.platform.startswith("linux")

INTS = [
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
    "c_int8",
    "c_uint16",
    "c_int32",
    "c_uint64",
    "c_size_t",
    "c_ssize_t",
]


def through_c(ct, proto, cb):
    """The callback's C entry, called as a foreign function of the same prototype."""
    return proto(ct.cast(cb, ct.c_void_p).value)


def int_range(ct, name):
    t = getattr(ct, name)
    bits = 8 * ct.sizeof(t)
    signed = t(-1).value == -1
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def entry(ct, cb):
    """Whether ferrotype's callback ``cb`` enters through its own trampoline (None: stdlib)."""
    if ct.__name__ != "ferrotype":
        return None
    from ferrotype import _native

    return _native._callback_trampoline(cb._objects["0"])


@pytest.fixture(params=["trampoline", "libffi"])
def entries(request, ct):
    """Runs the test with ferrotype's trampolines on (where the target has them) and off."""
    if ct.__name__ != "ferrotype":
        if request.param == "libffi":
            pytest.skip("stdlib ctypes has one kind of entry")
        yield request.param
        return
    from ferrotype import _native

    was = _native._set_callback_trampolines(request.param == "trampoline")
    try:
        yield request.param
    finally:
        _native._set_callback_trampolines(was)


def expect_entry(ct, cb, entries, registers=True):
    kind = entry(ct, cb)
    if kind is not None:
        assert kind == (entries == "trampoline" and TRAMPOLINES and registers)


# ---- every register shape ----------------------------------------------------------------------


@pytest.mark.parametrize("name", INTS)
def test_integer_identity_at_the_edges(ct, entries, name):
    t = getattr(ct, name)
    proto = ct.CFUNCTYPE(t, t)
    cb = proto(lambda x: x)
    expect_entry(ct, cb, entries)
    f = through_c(ct, proto, cb)
    lo, hi = int_range(ct, name)
    for v in {lo, lo + 1, -1 if lo else 1, 0, 1, hi - 1, hi}:
        assert f(v) == v


@pytest.mark.parametrize("name", INTS)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_integer_arithmetic_wraps_as_ctypes(ct, name, data):
    t = getattr(ct, name)
    lo, hi = int_range(ct, name)
    a = data.draw(st.integers(lo, hi))
    b = data.draw(st.integers(lo, hi))
    proto = ct.CFUNCTYPE(t, t, t)
    cb = proto(lambda x, y: x + y)  # results outside the type are truncated, as ctypes does
    assert through_c(ct, proto, cb)(a, b) == t(a + b).value


def test_bool_char_and_pointer_shapes(ct, entries):
    bproto = ct.CFUNCTYPE(ct.c_bool, ct.c_bool, ct.c_int)
    b = bproto(lambda x, n: x and n > 0)
    expect_entry(ct, b, entries)
    fb = through_c(ct, bproto, b)
    assert fb(True, 1) is True and fb(True, 0) is False and fb(False, 5) is False
    cproto = ct.CFUNCTYPE(ct.c_char, ct.c_char)
    c = cproto(lambda x: x.upper())
    assert through_c(ct, cproto, c)(b"q") == b"Q"
    wproto = ct.CFUNCTYPE(ct.c_wchar, ct.c_wchar)
    w = wproto(lambda x: x.upper())
    assert through_c(ct, wproto, w)("\u00e9") == "\u00c9"
    pproto = ct.CFUNCTYPE(ct.c_void_p, ct.c_void_p, ct.c_ssize_t)
    p = pproto(lambda a, d: (a or 0) + d or None)
    fp = through_c(ct, pproto, p)
    assert fp(0x1000, 8) == 0x1008
    assert fp(None, 0) is None
    buf = (ct.c_int * 4)(10, 20, 30, 40)
    iproto = ct.CFUNCTYPE(ct.c_int, ct.POINTER(ct.c_int), ct.c_int)
    i = iproto(lambda q, k: q[k])
    expect_entry(ct, i, entries)
    assert [through_c(ct, iproto, i)(buf, k) for k in range(4)] == [10, 20, 30, 40]
    oproto = ct.CFUNCTYPE(ct.py_object, ct.py_object)
    o = oproto(lambda x: [x])
    assert through_c(ct, oproto, o)("obj") == ["obj"]


@settings(max_examples=40, deadline=None)
@given(
    x=st.floats(allow_nan=False, width=32),
    y=st.floats(allow_nan=False),
)
def test_float_and_double(ct, x, y):
    fproto = ct.CFUNCTYPE(ct.c_float, ct.c_float)
    assert through_c(ct, fproto, fproto(lambda v: v))(x) == ct.c_float(x).value
    dproto = ct.CFUNCTYPE(ct.c_double, ct.c_double, ct.c_float)
    got = through_c(ct, dproto, dproto(lambda a, b: a))(y, x)
    assert got == y


def test_mixed_arguments_keep_their_order(ct, entries):
    args = (ct.c_int, ct.c_double, ct.c_byte, ct.c_float, ct.c_void_p, ct.c_double, ct.c_ushort)
    proto = ct.CFUNCTYPE(ct.c_double, *args)
    seen = []

    def cb(*a):
        seen.append(a)
        return sum(v or 0 for v in a)

    c = proto(cb)
    expect_entry(ct, c, entries)
    assert through_c(ct, proto, c)(-3, 0.5, -128, 0.25, 4096, -1.5, 65535) == (
        -3 + 0.5 - 128 + 0.25 + 4096 - 1.5 + 65535
    )
    assert seen == [(-3, 0.5, -128, 0.25, 4096, -1.5, 65535)]


def test_six_ints_and_eight_doubles(ct, entries):
    proto = ct.CFUNCTYPE(ct.c_double, *[ct.c_long] * 6, *[ct.c_double] * 8)

    def cb(*a):
        return sum((k + 1) * v for k, v in enumerate(a))

    c = proto(cb)
    expect_entry(ct, c, entries)
    ints = [1, -2, 3, -4, 5, -6]
    dbls = [0.5, 1.5, -2.5, 3.25, 4.0, -5.0, 6.75, 7.125]
    assert through_c(ct, proto, c)(*ints, *dbls) == cb(*ints, *dbls)


@pytest.mark.parametrize(
    "argtypes",
    [["c_int"] * 7, ["c_double"] * 9, ["c_longdouble"], ["c_int", "c_longdouble"]],
    ids=["7-ints", "9-doubles", "long-double", "int-long-double"],
)
def test_signatures_beyond_the_registers_use_libffi(ct, entries, argtypes):
    types = [getattr(ct, n) for n in argtypes]
    proto = ct.CFUNCTYPE(ct.c_double, *types)
    c = proto(lambda *a: sum(a))
    expect_entry(ct, c, entries, registers=False)
    vals = list(range(1, len(types) + 1))
    assert through_c(ct, proto, c)(*vals) == sum(vals)


@pytest.mark.parametrize(
    "restype, value, expected",
    [
        ("c_int", 2**31 + 5, -(2**31) + 5),
        ("c_uint", -1, 2**32 - 1),
        ("c_short", 70000, 70000 - 65536),
        ("c_ubyte", 300, 44),
        ("c_longlong", -(2**63), -(2**63)),
        ("c_ulonglong", 2**64 - 1, 2**64 - 1),
        ("c_double", 2.5, 2.5),
        ("c_float", 0.1, None),
        ("c_bool", 7, True),
        ("c_void_p", 0xDEAD0, 0xDEAD0),
    ],
)
def test_results_of_each_kind(ct, entries, restype, value, expected):
    t = getattr(ct, restype)
    proto = ct.CFUNCTYPE(t)
    c = proto(lambda: value)
    expect_entry(ct, c, entries)
    if expected is None:
        expected = t(value).value
    assert through_c(ct, proto, c)() == expected


def test_void_result(ct, entries):
    seen = []
    proto = ct.CFUNCTYPE(None, ct.c_int, ct.c_double)
    c = proto(lambda i, d: seen.append((i, d)))
    expect_entry(ct, c, entries)
    assert through_c(ct, proto, c)(7, 0.5) is None
    assert seen == [(7, 0.5)]


# ---- many callbacks, freed and made again ------------------------------------------------------


def test_many_callbacks_alive_at_once(ct, entries):
    # More than a page of stubs (128 per 4 KiB page).
    proto = ct.CFUNCTYPE(ct.c_int, ct.c_int)
    cbs = [proto(lambda x, k=k: x * 1000 + k) for k in range(600)]
    addrs = {ct.cast(c, ct.c_void_p).value for c in cbs}
    assert len(addrs) == len(cbs)
    for k, c in enumerate(cbs):
        assert through_c(ct, proto, c)(3) == 3000 + k


def test_freed_callbacks_leave_room_for_new_ones(ct, entries):
    proto = ct.CFUNCTYPE(ct.c_long, ct.c_long, ct.c_double)
    for rnd in range(5):
        cbs = [proto(lambda x, d, k=k: x + k + int(d)) for k in range(300)]
        for k in (0, 150, 299):
            assert through_c(ct, proto, cbs[k])(rnd, 2.0) == rnd + k + 2
        del cbs
        gc.collect()


def test_freed_stubs_are_reused(ferrotype):
    if not TRAMPOLINES:
        pytest.skip("no trampolines of ferrotype's own on this target")
    proto = ferrotype.CFUNCTYPE(ferrotype.c_int, ferrotype.c_int)
    # Earlier tests' callbacks still waiting for the collector would be freed by the
    # collection below, after `first`, and their stubs taken first.
    gc.collect()
    first = [proto(lambda x: x) for _ in range(50)]
    addrs = {ferrotype.cast(c, ferrotype.c_void_p).value for c in first}
    del first
    gc.collect()
    again = [proto(lambda x, k=k: x + k) for k in range(50)]
    new = {ferrotype.cast(c, ferrotype.c_void_p).value for c in again}
    assert new == addrs
    assert [through_c(ferrotype, proto, c)(1) for c in again] == [1 + k for k in range(50)]


def test_debug_mode_keeps_the_stub_of_a_freed_callback(ferrotype):
    proto = ferrotype.CFUNCTYPE(ferrotype.c_int, ferrotype.c_int)
    was = ferrotype.debug_callbacks(True)
    try:
        cb = proto(lambda x: x)
        addr = ferrotype.cast(cb, ferrotype.c_void_p).value
        del cb
        gc.collect()
        fresh = [proto(lambda x: x) for _ in range(20)]
        assert addr not in {ferrotype.cast(c, ferrotype.c_void_p).value for c in fresh}
        with pytest.raises(RuntimeError, match="after its CFUNCTYPE object was freed"):
            proto(addr)(1)
    finally:
        ferrotype.debug_callbacks(was)


# ---- threads, exceptions, re-entry -------------------------------------------------------------


def test_callbacks_from_python_threads(ct, entries):
    proto = ct.CFUNCTYPE(ct.c_double, ct.c_int, ct.c_double)
    c = proto(lambda i, d: i * d)
    f = through_c(ct, proto, c)
    results = {}

    def work(t):
        results[t] = sum(f(i, 0.5) for i in range(2000))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {t: 0.5 * sum(range(2000)) for t in range(4)}


def test_callbacks_from_foreign_threads(ct, entries, fixture_path):
    proto = ct.CFUNCTYPE(ct.c_int, ct.c_int)
    run = ct.CDLL(fixture_path).ft_cb_threads
    run.argtypes = [proto, ct.c_int, ct.c_int]
    run.restype = ct.c_int
    cb = proto(lambda i: i % 7)
    expect_entry(ct, cb, entries)
    assert run(cb, 4, 5000) == 4 * sum(i % 7 for i in range(5000))


@pytest.fixture
def unraisable():
    records = []
    old = sys.unraisablehook
    sys.unraisablehook = lambda args: records.append((args.exc_type, args.exc_value))
    try:
        yield records
    finally:
        sys.unraisablehook = old


def test_callback_raising(ct, entries, unraisable, is_ferrotype):
    proto = ct.CFUNCTYPE(ct.c_double, ct.c_int, ct.c_double)

    def cb(i, d):
        if i < 0:
            raise ValueError(i)
        return i + d

    c = proto(cb)
    f = through_c(ct, proto, c)
    assert f(1, 0.5) == 1.5
    got = f(-2, 0.5)
    if is_ferrotype:  # stdlib leaves the result undefined; ferrotype returns zero
        assert got == 0.0
    assert [(t, v.args) for t, v in unraisable] == [(ValueError, (-2,))]
    assert f(2, 0.25) == 2.25


def test_nested_callbacks(ct, entries):
    proto = ct.CFUNCTYPE(ct.c_long, ct.c_long)
    f = None

    def fact(n):
        return 1 if n <= 1 else n * f(n - 1)

    c = proto(fact)
    f = through_c(ct, proto, c)
    assert f(15) == 1307674368000
