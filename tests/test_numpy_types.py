"""`numpy.dtype(T)` of ferrotype types equals NumPy's conversion of the same stdlib
ctypes type: simple types (with byte order), arrays, structures with padding and
packing, unions; bit-fields are refused with NumPy's message."""

import ctypes

import pytest

np = pytest.importorskip("numpy")
ft = pytest.importorskip("ferrotype")


def build(mod):
    """The same declarations in either module."""

    class Padded(mod.Structure):
        _fields_ = [("a", mod.c_char), ("b", mod.c_double), ("arr", mod.c_int * 3)]

    class Packed(mod.Structure):
        _layout_ = "ms"
        _pack_ = 1
        _fields_ = [("a", mod.c_char), ("b", mod.c_int), ("c", mod.c_short)]

    class Nested(mod.Structure):
        _fields_ = [("p", Padded), ("grid", (mod.c_float * 2) * 3), ("n", mod.c_ubyte)]

    class Num(mod.Union):
        _fields_ = [("i", mod.c_int), ("d", mod.c_double), ("b", mod.c_ubyte * 8)]

    class Big(mod.BigEndianStructure):
        _fields_ = [("a", mod.c_int), ("b", mod.c_short), ("c", mod.c_double)]

    return {
        "c_int": mod.c_int,
        "c_uint8": mod.c_uint8,
        "c_int64": mod.c_int64,
        "c_double": mod.c_double,
        "c_float": mod.c_float,
        "c_bool": mod.c_bool,
        "c_char": mod.c_char,
        "c_void_p": mod.c_void_p,
        "c_longdouble": mod.c_longdouble,
        "c_int_be": mod.c_int.__ctype_be__,
        "c_double_be": mod.c_double.__ctype_be__,
        "array": mod.c_int * 4,
        "array2d": (mod.c_short * 2) * 3,
        "padded": Padded,
        "packed": Packed,
        "nested": Nested,
        "union": Num,
        "big_endian": Big,
    }


FT_TYPES = build(ft)
CT_TYPES = build(ctypes)


@pytest.mark.parametrize("name", sorted(FT_TYPES))
def test_dtype_matches_numpy_ctypes_conversion(name):
    ours = np.dtype(FT_TYPES[name])
    theirs = np.dtype(CT_TYPES[name])
    assert ours == theirs
    assert ours.itemsize == ft.sizeof(FT_TYPES[name])
    if ours.names:
        for field in ours.names:
            assert ours.fields[field][1] == theirs.fields[field][1]  # offsets


def test_bitfields_have_no_dtype():
    class Bits(ft.Structure):
        _fields_ = [("a", ft.c_int, 3)]

    with pytest.raises(TypeError, match="ctypes bitfields have no dtype equivalent"):
        np.dtype(Bits)


def test_structured_array_view_shares_memory():
    Padded = FT_TYPES["padded"]
    arr = (Padded * 2)()
    view = np.frombuffer(memoryview(arr).cast("B"), dtype=np.dtype(Padded))
    view["b"][1] = 2.5
    assert arr[1].b == 2.5
