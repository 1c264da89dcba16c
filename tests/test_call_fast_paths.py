"""The inline conversions of the call path against stdlib ctypes.

A call reads an exact ``int`` argument of at most one 30-bit digit straight from the object
(the layout is checked at import), and makes an integer or float result straight from its
register. Both must agree with stdlib ctypes for every value: around the one-digit bound,
at the edges of each C type (where the general conversion takes over and truncates, or
raises in strict mode), and for results narrower than the register.
"""

from __future__ import annotations

import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

LIBC = "libc.so.6" if sys.platform.startswith("linux") else None

EDGES = [
    0,
    1,
    -1,
    7,
    -7,
    (1 << 30) - 1,
    -((1 << 30) - 1),
    1 << 30,
    -(1 << 30),
    (1 << 31) - 1,
    -(1 << 31),
    1 << 31,
    (1 << 32) + 5,
    (1 << 62) + 3,
    -(1 << 62) - 3,
    (1 << 63) - 1,
    -(1 << 63),
]

RESTYPES = ["c_byte", "c_ubyte", "c_short", "c_ushort", "c_int", "c_uint", "c_long", "c_ulong"]


def _outcome(f, *args):
    try:
        return ("returns", f(*args))
    except Exception as e:  # noqa: BLE001 - the exception is the outcome compared
        return ("raises", type(e).__name__, str(e))


def _labs(ct, argtype, restype, release_gil=True):
    f = ct.CDLL(LIBC).labs
    f.argtypes = [getattr(ct, argtype)]
    f.restype = getattr(ct, restype)
    if not release_gil and hasattr(f, "release_gil"):
        f.release_gil = False
    return f


@pytest.mark.skipif(LIBC is None, reason="needs glibc's labs")
@pytest.mark.parametrize("argtype", ["c_int", "c_long", "c_uint", "c_short", "c_longlong"])
@pytest.mark.parametrize("release_gil", [True, False])
def test_int_arguments_at_the_edges(ct, argtype, release_gil):
    import ctypes

    mine = _labs(ct, argtype, "c_long", release_gil)
    ref = _labs(ctypes, argtype, "c_long")
    for v in EDGES:
        assert _outcome(mine, v) == _outcome(ref, v), v


@pytest.mark.skipif(LIBC is None, reason="needs glibc's labs")
@pytest.mark.parametrize("restype", RESTYPES)
def test_narrow_results_from_the_register(ct, restype):
    import ctypes

    mine = _labs(ct, "c_long", restype)
    ref = _labs(ctypes, "c_long", restype)
    for v in EDGES[:-1]:
        assert _outcome(mine, v) == _outcome(ref, v), v


@pytest.mark.skipif(LIBC is None, reason="needs glibc's labs")
@given(st.integers(min_value=-(1 << 63) + 1, max_value=(1 << 63) - 1))
def test_any_long_round_trips(v):
    import ctypes

    import ferrotype

    mine = _labs(ferrotype, "c_long", "c_long")
    ref = _labs(ctypes, "c_long", "c_long")
    assert mine(v) == ref(v) == abs(v)


@pytest.mark.skipif(LIBC is None, reason="needs glibc's libm")
def test_float_results_from_the_register(ct):
    libm = ct.CDLL("libm.so.6")
    f, g = libm.fabs, libm.fabsf
    f.argtypes, f.restype = [ct.c_double], ct.c_double
    g.argtypes, g.restype = [ct.c_float], ct.c_float
    for v in [0.0, -1.5, -3.25, -1e300, float("-inf"), 1e-310]:
        assert f(v) == abs(v)
    for v in [0.0, -1.5, -3.25, float("-inf")]:
        assert g(v) == abs(v)
    assert g(0.1) == abs(ct.c_float(0.1).value)


KEYS = [0, 3, -1, -4, 4, -5, True, 1 << 30, -(1 << 30), 1 << 62, 1 << 63, -(1 << 63) - 1, 1 << 80]


@pytest.mark.parametrize("key", KEYS)
def test_subscript_keys(ct, key):
    """Array and pointer subscripts read a small exact int key inline; other keys as
    ctypes reads them (IndexError text included)."""
    import ctypes

    def outcome(mod):
        a = (mod.c_int * 4)(10, 20, 30, 40)
        p = mod.cast(a, mod.POINTER(mod.c_int))
        results = [_outcome(lambda: a[key])]
        if 0 <= key < 4 or abs(key) > 1 << 63:
            results.append(_outcome(lambda: p[key]))
        return results

    assert outcome(ct) == outcome(ctypes)
