"""``_pack_`` and ``_align_`` of odd values, read as the running interpreter's ctypes reads
them (the conversion, the exception type and message, and the order of the checks), and
the ``_obj`` of what ``from_param`` returns."""

import sys
import warnings

import pytest

PY314 = sys.version_info >= (3, 14)
# `_align_` exists from 3.13; ferrotype honours it on 3.11 and 3.12 too (an addition,
# read as 3.13 reads it), where the stdlib ignores it.
ALIGN_IN_STDLIB = sys.version_info >= (3, 13)

ODD = ["x", "5", 2**70, -(2**70), 1.5, None, -1, 0, 2**31, 2**31 - 1, 2**32, True, 8]


def outcome(make):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            cls = make()
        except Exception as e:
            return type(e).__name__, str(e)
    return "ok", cls


def layout(ct, cls):
    return ct.sizeof(cls), ct.alignment(cls)


def make_plain(m, **extra):
    return type("S", (m.Structure,), {**extra, "_fields_": [("a", m.c_char), ("b", m.c_int)]})


def same_outcome(ct, got, want):
    import ctypes

    assert got[0] == want[0], (got, want)
    if got[0] == "ok":
        assert layout(ct, got[1]) == layout(ctypes, want[1])
    else:
        assert got[1] == want[1]


@pytest.mark.parametrize("value", ODD, ids=repr)
def test_pack_values(ct, value):
    import ctypes

    got = outcome(lambda: make_plain(ct, _pack_=value))
    same_outcome(ct, got, outcome(lambda: make_plain(ctypes, _pack_=value)))


@pytest.mark.parametrize("value", ODD, ids=repr)
def test_pack_values_with_ms_layout(ct, value):
    import ctypes

    if not PY314 and ct is ctypes:
        pytest.skip("the stdlib reads _layout_ from 3.14 on")
    got = outcome(lambda: make_plain(ct, _pack_=value, _layout_="ms"))
    # Before 3.14 (where ferrotype honours `_layout_` as an addition) `_pack_` alone
    # selects the same layout in the stdlib.
    extra = {"_layout_": "ms"} if PY314 else {}
    same_outcome(ct, got, outcome(lambda: make_plain(ctypes, _pack_=value, **extra)))


@pytest.mark.parametrize("value", ODD, ids=repr)
def test_align_values(ct, value):
    import ctypes

    got = outcome(lambda: make_plain(ct, _align_=value))
    if ALIGN_IN_STDLIB or ct is ctypes:
        same_outcome(ct, got, outcome(lambda: make_plain(ctypes, _align_=value)))
        return
    # 3.11/3.12 with ferrotype: read as 3.13 reads it (a C int).
    if isinstance(value, int) and 0 <= value <= 2**31 - 1:
        assert got[0] == "ok"
        assert ct.alignment(got[1]) == max(4, value)
    else:
        assert got == ("ValueError", "_align_ must be a non-negative integer")


@pytest.mark.skipif(not PY314, reason="3.14's order of the checks")
def test_checks_in_ctypes_order(ct):
    # 3.14: `_layout_`, then `_align_`, then `_pack_`.
    def err(**ns):
        return outcome(lambda: make_plain(ct, **ns))

    assert err(_layout_="x", _pack_="x", _align_=-1) == ("ValueError", "unknown _layout_: 'x'")
    assert err(_layout_="ms", _pack_="x", _align_=-1) == (
        "ValueError",
        "_align_ must be a non-negative integer",
    )
    assert err(_layout_="ms", _pack_="x") == ("ValueError", "_pack_ must be an integer")


def test_pack_before_align_before_314(ct):
    if PY314:
        pytest.skip("3.14 checks _align_ first")
    import ctypes

    if ct is ctypes and not ALIGN_IN_STDLIB:
        pytest.skip("the stdlib ignores _align_ before 3.13")
    got = outcome(lambda: make_plain(ct, _pack_=-1, _align_=-1))
    assert got == ("ValueError", "_pack_ must be a non-negative integer")


FROM_PARAM = [
    ("c_int", 5),
    ("c_uint", -1),
    ("c_double", 1.5),
    ("c_float", 2),
    ("c_char", b"x"),
    ("c_bool", 1),
    ("c_wchar", "a"),
    ("c_void_p", 5),
    ("c_void_p", b"x"),
    ("c_char_p", b"ab"),
]


@pytest.mark.parametrize("name, value", FROM_PARAM, ids=[f"{n}-{v!r}" for n, v in FROM_PARAM])
def test_from_param_obj(ct, name, value):
    # `_obj` is what the conversion keeps alive: the bytes of a pointer to them, None for
    # a plain value.
    arg = getattr(ct, name).from_param(value)
    if isinstance(value, bytes) and name != "c_char":
        assert arg._obj is value
    else:
        assert arg._obj is None


def test_from_param_wchar_p_keeps_a_copy(ct):
    arg = ct.c_wchar_p.from_param("ab")
    assert arg._obj is not None and arg._obj != "ab"
