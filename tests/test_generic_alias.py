"""Subscripting the generic ctypes classes at run time, as annotations evaluated eagerly
(without ``from __future__ import annotations``) do."""

import ctypes
import types

import pytest


def test_array_is_subscriptable(ct):
    alias = ct.Array[ct.c_int]
    assert isinstance(alias, types.GenericAlias)
    assert alias.__origin__ is ct.Array
    assert alias.__args__ == (ct.c_int,)


def test_library_loader_is_subscriptable(ct):
    alias = ct.LibraryLoader[ct.CDLL]
    assert alias.__origin__ is ct.LibraryLoader


def test_py_object_is_subscriptable_as_in_ctypes(ct):
    # 3.14: py_object[T]; before, not subscriptable.
    if hasattr(ctypes.py_object, "__class_getitem__"):
        assert ct.py_object[int].__origin__ is ct.py_object
    else:
        with pytest.raises(TypeError, match="is not subscriptable"):
            ct.py_object[int]


@pytest.mark.parametrize("name", ["_Pointer", "_SimpleCData"])
def test_other_bases_are_not(ct, name):
    with pytest.raises(TypeError, match="is not subscriptable"):
        getattr(ct, name)[ct.c_int]
