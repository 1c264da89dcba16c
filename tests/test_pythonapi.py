"""PyDLL / pythonapi: calls that keep the GIL, raise the Python error a function sets,
and hand over `py_object` results with correct reference counts."""

import sys

import pytest


def test_py_get_version(ct):
    f = ct.pythonapi.Py_GetVersion
    f.restype = ct.c_char_p
    assert f().decode() == sys.version


def test_py_object_result_reference_count(ct):
    make = ct.pythonapi.PyLong_FromLong
    make.restype = ct.py_object
    make.argtypes = [ct.c_long]
    obj = make(200)  # a cached small int: its count shows any leaked reference
    before = sys.getrefcount(obj)
    for _ in range(1000):
        assert make(200) == 200
    assert sys.getrefcount(obj) == before


def test_error_set_by_the_function_is_raised(ct):
    set_string = ct.pythonapi.PyErr_SetString
    set_string.argtypes = [ct.py_object, ct.c_char_p]
    with pytest.raises(ValueError, match="^boom$"):
        set_string(ValueError, b"boom")


def test_pydll_flags(ct):
    assert ct.PyDLL._func_flags_ & ct._FUNCFLAG_PYTHONAPI
    assert not ct.CDLL._func_flags_ & ct._FUNCFLAG_PYTHONAPI
