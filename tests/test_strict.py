"""Strict mode (ferrotype only): ``ferrotype.strict()``, ``ferrotype.is_strict()`` and
``FERROTYPE_STRICT``.

By default ferrotype stores integers as ctypes does, keeping the low bits of a value too wide
for its type (``test_integer_stores.py``). Strict mode refuses such values instead: an n-bit
integer type accepts [-2**(n-1), 2**n - 1] (the signed and the unsigned range, so
``c_uint(-1)`` still works) and raises ``OverflowError`` beyond, ``ArgumentError("argument N:
OverflowError: ...")`` in a call, in every place ``test_integer_stores.py`` covers.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import threading

import pytest
from test_integer_stores import (
    BITFIELD_TYPES,
    BITS,
    INT_IDS,
    INT_TYPES,
    PLACES,
    AsParameter,
    _bitfield_store,
    _expected,
    in_range,
    libs,  # noqa: F401  (the fixture)
    out_of_range,
)

CALLS = {"argument", "argument-as-parameter"}


@pytest.fixture(autouse=True)
def _strict_restored(ferrotype):
    """No test may leave strict mode on for the rest of the suite."""
    before = ferrotype.is_strict()
    yield
    ferrotype.strict(before)


@pytest.fixture
def unraisable():
    records = []
    old = sys.unraisablehook
    sys.unraisablehook = records.append
    try:
        yield records
    finally:
        sys.unraisablehook = old


# ---- what it checks ------------------------------------------------------------------------


@pytest.mark.parametrize("place", sorted(set(PLACES) - {"callback-result"}))
@pytest.mark.parametrize("name, bits, signed", INT_TYPES, ids=INT_IDS)
def test_strict_mode_raises_in_every_place(ferrotype, libs, place, name, bits, signed):  # noqa: F811
    with ferrotype.strict():
        for v in out_of_range(bits):
            if place in CALLS:
                with pytest.raises(ferrotype.ArgumentError, match=r"^argument 1: OverflowError: "):
                    PLACES[place](ferrotype, name, v, libs["ferrotype"])
            else:
                with pytest.raises(OverflowError, match=r"^int too long to convert"):
                    PLACES[place](ferrotype, name, v, libs["ferrotype"])
        # The union of the signed and unsigned ranges is accepted, as ctypes stores it.
        for v in in_range(bits):
            got = PLACES[place](ferrotype, name, v, libs["ferrotype"])
            assert got == _expected(place, name, v, libs), (v, got)


@pytest.mark.parametrize("name, bits, signed", INT_TYPES, ids=INT_IDS)
def test_strict_mode_callback_result(ferrotype, libs, unraisable, name, bits, signed):  # noqa: F811
    with ferrotype.strict():
        got = PLACES["callback-result"](ferrotype, name, 2**70, libs["ferrotype"])
    # The error goes to sys.unraisablehook, as any error of a callback, and C gets 0.
    assert got == 0
    assert [r.exc_type for r in unraisable] == [OverflowError]


def test_strict_mode_messages(ferrotype):
    with ferrotype.strict():
        with pytest.raises(OverflowError, match=r"^int too long to convert to int \(32-bit\)$"):
            ferrotype.c_int(2**40)
        with pytest.raises(OverflowError, match=r"^int too long to convert$"):
            ferrotype.c_int(2**70)
        with pytest.raises(OverflowError, match=r"^int too long to convert to unsigned char"):
            ferrotype.c_uint8(256)
        assert ferrotype.c_uint(-1).value == 2**32 - 1
        assert ferrotype.c_int(2**32 - 1).value == -1


@pytest.mark.parametrize("width", [1, 3, 7])
@pytest.mark.parametrize("name", BITFIELD_TYPES)
def test_strict_mode_bitfields(ferrotype, name, width):
    bits, _ = BITS[name]
    with ferrotype.strict():
        for field, w in (("lo", width), ("hi", bits - width)):
            for v in out_of_range(w):
                message = rf"^int too long to convert( to a {w}-bit field)?$"
                with pytest.raises(OverflowError, match=message):
                    _bitfield_store(ferrotype, name, width, field, v)
            for v in in_range(w):
                got = _bitfield_store(ferrotype, name, width, field, v)
                assert got == _bitfield_store(ctypes, name, width, field, v)


@pytest.mark.parametrize("value", [2**32, 2**40, -(2**31) - 1, 2**63])
def test_strict_mode_int_without_argtypes(ferrotype, libs, value):  # noqa: F811
    lib = libs["ferrotype"]
    with ferrotype.strict():
        for arg in (value, AsParameter(value)):
            with pytest.raises(ferrotype.ArgumentError) as info:
                lib.echo_int(arg)
            assert str(info.value) == (
                "argument 1: OverflowError: int too long to convert to C int; "
                "declare argtypes to pass a wider integer"
            )
        assert lib.echo_int(2**32 - 1) == -1  # the unsigned half still wraps


@pytest.mark.parametrize("name", ["c_void_p", "c_char_p", "c_wchar_p"])
def test_strict_mode_addresses(ferrotype, name):
    with ferrotype.strict():
        with pytest.raises(OverflowError):
            getattr(ferrotype, name)(2**64)
        with pytest.raises(ferrotype.ArgumentError, match="OverflowError"):
            ferrotype.cast(2**64 + 8, ferrotype.c_void_p)
        assert ferrotype.c_void_p(-1).value == 2**64 - 1


@pytest.mark.parametrize(
    "action",
    [
        lambda m: m.memset(m.create_string_buffer(2), 2**40, 1),
        lambda m: m.memset(m.create_string_buffer(2), 65, 2**64 + 1),
        lambda m: m.memmove(m.create_string_buffer(2), b"x", -(2**64)),
        lambda m: m.string_at(m.create_string_buffer(2), 2**32 + 1),
    ],
)
def test_strict_mode_library_functions(ferrotype, action):
    with ferrotype.strict():
        with pytest.raises(ferrotype.ArgumentError, match=r"^argument \d: OverflowError: "):
            action(ferrotype)


def test_strict_mode_leaves_other_conversions_alone(ferrotype):
    with ferrotype.strict():
        assert ferrotype.c_bool(2**70).value is True
        assert ferrotype.c_float(1e300).value == float("inf")
        with pytest.raises(TypeError):
            ferrotype.c_int(1.5)


# ---- how it is switched ----------------------------------------------------------------------


def test_off_by_default(ferrotype):
    assert ferrotype.is_strict() is False
    assert ferrotype.c_uint8(256).value == 0


def test_strict_true_and_false_switch_process_wide(ferrotype):
    mode = ferrotype.strict(True)
    assert ferrotype.is_strict() is True
    assert (mode.enabled, mode.previous) == (True, False)
    assert repr(mode) == "ferrotype.strict(True) (was False)"
    with pytest.raises(OverflowError):
        ferrotype.c_uint8(256)
    ferrotype.strict(False)
    assert ferrotype.is_strict() is False
    assert ferrotype.c_uint8(256).value == 0


def test_context_manager_restores_the_previous_state(ferrotype):
    with ferrotype.strict() as mode:
        assert isinstance(mode, ferrotype.StrictMode)
        assert ferrotype.is_strict()
        with ferrotype.strict(False):
            assert not ferrotype.is_strict()
            assert ferrotype.c_uint8(256).value == 0
        assert ferrotype.is_strict()
    assert not ferrotype.is_strict()
    ferrotype.strict(True)
    with ferrotype.strict(False):
        assert not ferrotype.is_strict()
    assert ferrotype.is_strict()


def test_context_manager_restores_on_exception(ferrotype):
    with pytest.raises(OverflowError):
        with ferrotype.strict(True):
            ferrotype.c_int(2**40)
    assert not ferrotype.is_strict()
    with pytest.raises(KeyError):
        with ferrotype.strict(True):
            raise KeyError("x")
    assert not ferrotype.is_strict()


def test_argument_must_be_a_bool(ferrotype):
    with pytest.raises(TypeError):
        ferrotype.strict("yes")
    assert not ferrotype.is_strict()


def test_process_wide_across_threads(ferrotype):
    seen = []
    with ferrotype.strict():
        t = threading.Thread(target=lambda: seen.append(ferrotype.is_strict()))
        t.start()
        t.join()
    t = threading.Thread(target=lambda: seen.append(ferrotype.is_strict()))
    t.start()
    t.join()
    assert seen == [True, False]


@pytest.mark.parametrize(
    "value, on",
    [("1", True), ("true", True), ("YES", True), ("0", False), ("", False), ("off", False),
     (None, False)],
)  # fmt: skip
def test_environment_variable_at_import(value, on):
    env = {k: v for k, v in os.environ.items() if k != "FERROTYPE_STRICT"}
    if value is not None:
        env["FERROTYPE_STRICT"] = value
    code = (
        "import ferrotype\n"
        "try:\n"
        "    ferrotype.c_uint16(70000)\n"
        "    raised = False\n"
        "except OverflowError:\n"
        "    raised = True\n"
        "print(ferrotype.is_strict(), raised)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == [str(on), str(on)]
