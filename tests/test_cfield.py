"""Structure fields as objects (``CField``): the attributes 3.14 added, the 3.14 repr, and
3.14's private constructor, each against the stdlib of the running interpreter."""

from __future__ import annotations

import pytest


def outcome(f):
    try:
        return ("ok", f())
    except Exception as exc:  # the type and message are what is compared
        return ("raises", type(exc).__name__, str(exc))


def describe(field):
    attrs = ("name", "byte_offset", "byte_size", "bit_offset", "bit_size", "is_bitfield")
    return (
        repr(field),
        field.offset,
        field.size,
        field.type.__name__,
        *(getattr(field, a) for a in attrs),
        field.is_anonymous,
    )


def fields_of(ct):
    class Inner(ct.Structure):
        _fields_ = [("i", ct.c_short)]

    class S(ct.Structure):
        _anonymous_ = ("anon",)
        _fields_ = [
            ("a", ct.c_int),
            ("b", ct.c_uint, 3),
            ("c", ct.c_uint, 7),
            ("d", ct.c_char * 3),
            ("anon", Inner),
            ("e", ct.c_double),
        ]

    class B(ct.BigEndianStructure):
        _fields_ = [("x", ct.c_int), ("y", ct.c_ushort, 5), ("z", ct.c_ushort, 2)]

    assert ct.CField is type(S.a)
    got = [describe(getattr(S, n)) for n in ("a", "b", "c", "d", "anon", "i", "e")]
    return got + [describe(getattr(B, n)) for n in ("x", "y", "z")]


def test_field_attributes(ferrotype) -> None:
    import ctypes

    if not hasattr(ctypes, "CField"):
        pytest.skip("CField is public from 3.14")
    assert fields_of(ferrotype) == fields_of(ctypes)


CASES = {
    "plain": dict(name="a", byte_size=4, byte_offset=4, index=0),
    "bits": dict(name="a", byte_size=4, byte_offset=0, index=0, bit_size=3, bit_offset=5),
    "wrong size": dict(name="a", byte_size=2, byte_offset=0, index=0),
    "bit overflow": dict(name="x", byte_size=4, byte_offset=0, index=0, bit_size=30, bit_offset=3),
    "bit size 0": dict(name="x", byte_size=4, byte_offset=0, index=0, bit_size=0, bit_offset=0),
    "bit offset -1": dict(name="x", byte_size=4, byte_offset=0, index=0, bit_size=3, bit_offset=-1),
    "no bit offset": dict(name="x", byte_size=4, byte_offset=0, index=0, bit_size=3),
    "no bit size": dict(name="x", byte_size=4, byte_offset=0, index=0, bit_offset=3),
    "not internal": dict(name="x", byte_size=4, byte_offset=0, index=0, _internal_use=False),
}


def construct(ct, case):
    kwargs = {"type": ct.c_int, "_internal_use": True, **CASES[case]}

    def make():
        f = ct.CField(**kwargs)

        class S(ct.Structure):
            _fields_ = [("p", ct.c_int), ("q", ct.c_int)]

        s = S(1, 0x12345678)
        f.__set__(s, 3)
        return describe(f), bytes(s), f.__get__(s)

    return outcome(make)


@pytest.mark.parametrize("case", CASES)
def test_constructor(ferrotype, case) -> None:
    import ctypes

    if not hasattr(ctypes, "CField"):
        pytest.skip("CField has a constructor from 3.14")
    assert construct(ferrotype, case) == construct(ctypes, case)


def test_constructed_field_outside_the_instance(ferrotype) -> None:
    """A field made by hand never reads or writes past the instance (ctypes would)."""
    import ctypes

    if not hasattr(ctypes, "CField"):
        pytest.skip("CField has a constructor from 3.14")
    f = ferrotype.CField(
        name="far", type=ferrotype.c_int, byte_size=4, byte_offset=6, index=0, _internal_use=True
    )
    small = ferrotype.c_int(5)
    with pytest.raises(ValueError, match="outside the memory"):
        f.__get__(small)
    with pytest.raises(ValueError, match="outside the memory"):
        f.__set__(small, 1)
    with pytest.raises(ValueError, match="out of range"):
        ferrotype.CField(
            name="x", type=ferrotype.c_int, byte_size=4, byte_offset=-1, index=0, _internal_use=True
        )
