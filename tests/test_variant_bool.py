"""``wintypes.VARIANT_BOOL`` (type code ``'v'``): a ``short`` that is 0 or -1, read as a bool,
against the stdlib (whose ``wintypes`` imports on every platform)."""

from __future__ import annotations

import importlib

import pytest


@pytest.fixture
def V(ct):
    return importlib.import_module(f"{ct.__name__}.wintypes").VARIANT_BOOL


@pytest.mark.parametrize("value", [True, False, 0, 1, -1, 5, 2**70, 0.0, 0.5, "", "x", [], None])
def test_values(ct, V, value) -> None:
    v = V(value)
    assert (v.value, bytes(v), repr(v)) == (bool(value), b"\xff\xff" * bool(value) or b"\0\0",
                                            f"VARIANT_BOOL({bool(value)})")  # fmt: skip


def test_type(ct, V) -> None:
    assert V._type_ == "v"
    assert (ct.sizeof(V), ct.alignment(V)) == (2, 2)
    assert memoryview(V()).format == "<v"
    assert V.from_buffer_copy(b"\x02\x00").value is True
    assert V.from_buffer_copy(b"\x00\x00").value is False


def test_fields_arrays_and_callbacks(ct, V) -> None:
    class S(ct.Structure):
        _fields_ = [("a", ct.c_byte), ("v", V)]

    s = S(1, True)
    assert (s.v, bytes(s)) == (True, b"\x01\x00\xff\xff")
    s.v = 0
    assert (s.v, bytes(s)) == (False, b"\x01\x00\x00\x00")
    arr = (V * 3)(True, False, 7)
    assert list(arr) == [True, False, True]
    assert bytes(arr) == b"\xff\xff\x00\x00\xff\xff"
    proto = ct.CFUNCTYPE(V, V)
    flip = proto(lambda x: not x)
    assert (flip(True), flip(False)) == (False, True)
