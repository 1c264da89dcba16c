"""Two details of the class protocol, as in ctypes: the length in ``T * n`` is any
object with ``__index__`` (``True`` is 1), and a member listed in ``_anonymous_`` of an
anonymous member promotes its fields to the outer structure, not its own name."""

import sys

import pytest


class Three:
    def __index__(self):
        return 3


@pytest.mark.parametrize("length, expected", [(Three(), 3), (True, 1), (False, 0), (2, 2)])
def test_length_with_index(ct, length, expected):
    for cls in (ct.c_int * length, length * ct.c_int):
        assert cls._length_ == expected and type(cls._length_) is int
        assert cls.__name__ == f"c_int_Array_{expected}"
        assert cls is ct.c_int * expected
        assert len(cls()) == expected


@pytest.mark.parametrize(
    "length, error, message",
    [
        (3.0, TypeError, "can't multiply sequence by non-int of type 'float'"),
        ("3", TypeError, "can't multiply sequence by non-int of type 'str'"),
        (-1, ValueError, "Array length must be >= 0, not -1"),
        (sys.maxsize + 1, OverflowError, "cannot fit 'int' into an index-sized integer"),
        (-sys.maxsize - 2, OverflowError, "cannot fit 'int' into an index-sized integer"),
    ],
)
def test_bad_lengths(ct, length, error, message):
    with pytest.raises(error) as info:
        ct.c_int * length
    assert str(info.value) == message


def declare(ct):
    class Inner(ct.Structure):
        _fields_ = [("x", ct.c_int), ("y", ct.c_int)]

    class Mid(ct.Structure):
        _anonymous_ = ("i",)
        _fields_ = [("i", Inner), ("z", ct.c_int)]

    class Outer(ct.Structure):
        _anonymous_ = ("m",)
        _fields_ = [("w", ct.c_int), ("m", Mid)]

    class Top(ct.Structure):
        _anonymous_ = ("o",)
        _fields_ = [("q", ct.c_short), ("o", Outer)]

    class Plain(ct.Structure):  # Mid not anonymous here: nothing promoted
        _fields_ = [("m", Mid)]

    return Outer, Top, Plain


NAMES = ("x", "y", "z", "w", "q", "i", "m", "o")


def test_nested_anonymous(ct):
    import ctypes

    for ours, theirs in zip(declare(ct), declare(ctypes), strict=True):
        assert [n for n in NAMES if hasattr(ours, n)] == [n for n in NAMES if hasattr(theirs, n)]
        for name in NAMES:
            if hasattr(theirs, name):
                assert getattr(ours, name).offset == getattr(theirs, name).offset, name
    Outer, Top, Plain = declare(ct)
    assert not hasattr(Outer, "i") and not hasattr(Top, "m") and not hasattr(Plain, "x")
    top = Top()
    top.x, top.z, top.w = 1, 2, 3
    assert (top.o.m.i.x, top.o.m.z, top.o.w) == (1, 2, 3)
