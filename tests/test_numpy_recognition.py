"""NumPy treats ferrotype's classes and instances as it treats ctypes': ``np.dtype`` of a
type or an instance, ``np.asarray`` of instances (unions too) and their ``memoryview``,
without ``install()``. (With it, see ``test_install.py``.)

NumPy tells a ctypes class by ``_ctypes`` in the module of the base before ``object`` in
its MRO: ferrotype's bases live in ``ferrotype._ctypes``.
"""

import warnings

import pytest

np = pytest.importorskip("numpy")


def declare(ct):
    class Point(ct.Structure):
        _fields_ = [("a", ct.c_int), ("b", ct.c_double), ("c", ct.c_char * 3)]

    class Num(ct.Union):
        _fields_ = [("i", ct.c_int), ("d", ct.c_double), ("b", ct.c_ubyte * 8)]

    class Nested(ct.Structure):
        _fields_ = [("p", Point), ("u", Num), ("grid", (ct.c_float * 2) * 3)]

    class Big(ct.BigEndianStructure):
        _fields_ = [("a", ct.c_int), ("b", ct.c_short)]

    return {
        "c_ulong": ct.c_ulong,
        "c_double": ct.c_double,
        "c_bool": ct.c_bool,
        "c_int_be": ct.c_int.__ctype_be__,
        "array": ct.c_int * 3,
        "array2d": (ct.c_short * 2) * 3,
        "struct": Point,
        "union": Num,
        "nested": Nested,
        "big_endian": Big,
    }


NAMES = sorted(declare(__import__("ctypes")))


def test_bases_look_like_ctypes_to_numpy(ct):
    from numpy._core._internal import npy_ctypes_check

    for cls in (ct.c_int, ct.c_int * 2, ct.POINTER(ct.c_int), ct.Structure, ct.Union):
        assert npy_ctypes_check(cls)
    assert "_ctypes" in ct.Structure.__mro__[-2].__module__


@pytest.mark.parametrize("name", NAMES)
def test_dtype_of_type_and_instance(ct, name):
    import ctypes

    cls, stdlib_cls = declare(ct)[name], declare(ctypes)[name]
    expected = np.dtype(stdlib_cls)
    assert np.dtype(cls) == expected
    assert np.dtype(cls()) == expected
    assert np.dtype(stdlib_cls()) == expected


def quiet_asarray(obj):
    # NumPy warns when a ctypes object's buffer format disagrees with its size (the
    # stdlib's unions, and its padded structures before 3.13).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r".*\bctypes\b", RuntimeWarning)
        return np.asarray(obj)


@pytest.mark.parametrize("name", NAMES)
def test_asarray_of_instances(ct, is_ferrotype, name):
    import ctypes

    obj = declare(ct)[name]()
    arr = quiet_asarray(obj)
    expected = quiet_asarray(declare(ctypes)[name]())
    if is_ferrotype and name == "nested":
        # Deliberate (docs/differences.md, "Buffer formats describe every byte"): the union member
        # is `(8)B` in ferrotype's format, so NumPy reads it as bytes; ctypes' format
        # disagrees with the size, so NumPy converts the type instead. Viewed with the
        # type's dtype, the array is the same.
        assert arr.dtype.fields["u"][0] == np.dtype(("u1", (8,)))
        arr = arr.view(np.dtype(type(obj)))
    assert arr.dtype == expected.dtype
    assert arr.shape == expected.shape
    assert arr.tobytes() == bytes(obj)


def test_asarray_of_union_shares_memory(ct):
    obj = declare(ct)["union"]()
    arr = quiet_asarray(obj)
    obj.i = 7
    assert arr["i"] == 7
    arr["d"] = 2.5
    assert obj.d == 2.5


def test_memoryview_of_union(ct):
    import ctypes

    ours = memoryview(declare(ct)["union"]())
    theirs = memoryview(declare(ctypes)["union"]())
    assert (ours.format, ours.itemsize, ours.shape, ours.nbytes, ours.readonly) == (
        theirs.format,
        theirs.itemsize,
        theirs.shape,
        theirs.nbytes,
        theirs.readonly,
    )


def test_pointer_instances_have_no_dtype(ct):
    with pytest.raises((TypeError, NotImplementedError)):
        np.dtype(ct.pointer(ct.c_int()))
    # (the attribute NumPy reads is absent, not an error, for code that asks)
    assert not hasattr(ct.pointer(ct.c_int()), "dtype")
