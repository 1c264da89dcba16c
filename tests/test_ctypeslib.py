"""``ferrotype.ctypeslib`` against ``numpy.ctypeslib``.

The ``npct`` fixture gives the pair ``(ct, npct)``: stdlib ``ctypes`` with ``numpy.ctypeslib``, or
``ferrotype`` with ``ferrotype.ctypeslib``. Every test that takes it runs the same assertions
against both, so it pins down the NumPy behaviour ferrotype must reproduce (exception types and
message strings included). Where NumPy is wrong or stops short (structured arrays in
``as_ctypes``, ``S``/``U``/complex/half/datetime dtypes, ``readonly=True``, ``nullable=True``,
buffers in ``ndpointer``, ``array_ctypes``...), the test takes ``ftnp`` and runs on ferrotype
alone; a few differential tests branch on ``is_ferrotype`` to assert NumPy's limitation and
ferrotype's fix side by side.

Facts about NumPy 2.x these tests rely on (checked against numpy 2.4):

* ``as_ctypes(5)`` raises ``AttributeError`` (it reads ``obj.__array_interface__``).
* ``as_ctypes`` of a structured array raises ``NotImplementedError`` ("Converting dtype('V12') to
  a ctypes type"): it converts ``typestr``, not ``descr``.
* strided / read-only arrays: ``TypeError('strided arrays not supported')`` /
  ``TypeError('readonly arrays unsupported')``.
* ``as_array(pointer)`` without a shape: ``TypeError``.
* ``ndpointer(flags='BOGUS')`` raises ``KeyError``; a non-iterable ``flags`` raises
  ``TypeError('invalid flags specification')``.
* ``load_library`` does not add a ``lib`` prefix, and returns ``ctypes.cdll[path]``, so the same
  path gives the same (cached) ``CDLL``. ``ctypes_load_library`` is gone in NumPy 2.
"""

from __future__ import annotations

import array
import contextlib
import ctypes
import functools
import gc
import importlib
import os
import sys
import sysconfig
import warnings
import weakref
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")

LITTLE = sys.byteorder == "little"


# ---- fixtures and helpers -----------------------------------------------------------------------


class _NumpyCtypeslib:
    """``numpy.ctypeslib``, its functions called with one warning silenced: NumPy makes its
    structures with ``_pack_ = 1`` and no ``_layout_``, for which ctypes 3.14 warns (a
    DeprecationWarning from NumPy's code, not the test's)."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        value = getattr(self._module, name)
        if isinstance(value, type) or not callable(value):
            return value

        @functools.wraps(value)
        def call(*args, **kwargs):
            with warnings.catch_warnings():
                warnings.filterwarnings(
                    "ignore", message="Due to '_pack_'", category=DeprecationWarning
                )
                return value(*args, **kwargs)

        return call


@pytest.fixture(scope="session")
def npct(ct):
    """``(ct, ctypeslib)``: stdlib ctypes with ``numpy.ctypeslib``, or ferrotype with
    ``ferrotype.ctypeslib``. The ferrotype import is not guarded: while the module is missing,
    the ferrotype half fails (rather than skips)."""
    if ct.__name__ == "ctypes":
        import numpy.ctypeslib

        return ct, _NumpyCtypeslib(numpy.ctypeslib)
    return ct, importlib.import_module("ferrotype.ctypeslib")


@pytest.fixture(scope="session")
def ftnp(ferrotype):
    """``(ferrotype, ferrotype.ctypeslib)``, for the fixes and extensions NumPy lacks."""
    return ferrotype, importlib.import_module("ferrotype.ctypeslib")


@pytest.fixture
def ftcfunc(ferrotype, fixture_path):
    """``ftcfunc(name, restype, *argtypes)``: a declared function of a fresh ferrotype CDLL."""
    lib = ferrotype.CDLL(fixture_path)

    def declare(name, restype, *argtypes):
        f = getattr(lib, name)
        f.restype = restype
        f.argtypes = list(argtypes)
        return f

    return declare


def _collect():
    for _ in range(3):
        gc.collect()


def _is_stdlib(ct) -> bool:
    return ct.__name__ == "ctypes"


@contextlib.contextmanager
def _quiet_py311_struct_format(ct):
    """CPython < 3.12 ctypes gives structures a PEP 3118 format without their padding, so
    ``np.asarray`` warns before falling back to the (right) ctypes-based dtype. That is a stdlib
    limitation, not NumPy's: ignore it for stdlib ctypes only. ferrotype must not warn."""
    with warnings.catch_warnings():
        if _is_stdlib(ct):
            warnings.filterwarnings(
                "ignore", "A builtin ctypes object gave a PEP3118 format string", RuntimeWarning
            )
        yield


class Weakrefable(np.ndarray):
    """An ndarray subclass (instances take weak references and can carry attributes)."""


def _owning(values, dtype=None):
    """A Weakrefable that owns its memory (``base is None``), so keeping the memory alive means
    keeping this very object alive, whatever the implementation chooses to hold on to."""
    values = np.asarray(values, dtype=dtype)
    a = Weakrefable(values.shape, values.dtype)
    a[...] = values
    assert a.base is None
    return a


class Interface:
    """Not an ndarray: only exposes the ``__array_interface__`` of the array it wraps."""

    def __init__(self, arr):
        self._arr = arr

    @property
    def __array_interface__(self):
        return self._arr.__array_interface__


def _be(ct, t):
    return t.__ctype_be__ if LITTLE else t


def _le(ct, t):
    return t if LITTLE else t.__ctype_le__


# ---- as_ctypes_type: scalars ---------------------------------------------------------------------


SCALARS = [
    ("i1", "c_int8"),
    ("i2", "c_int16"),
    ("i4", "c_int32"),
    ("i8", "c_int64"),
    ("u1", "c_uint8"),
    ("u2", "c_uint16"),
    ("u4", "c_uint32"),
    ("u8", "c_uint64"),
    ("f4", "c_float"),
    ("f8", "c_double"),
    ("?", "c_bool"),
]


@pytest.mark.parametrize(("code", "name"), SCALARS)
def test_scalar_types(npct, code, name):
    """Native scalar dtypes map to the module's own simple types."""
    ct, lib = npct
    assert lib.as_ctypes_type(np.dtype(code)) is getattr(ct, name)
    assert lib.as_ctypes_type(code) is getattr(ct, name)


def test_scalar_from_any_dtype_spelling(npct):
    """Anything ``np.dtype`` accepts is accepted: type objects, strings, dtypes."""
    ct, lib = npct
    assert lib.as_ctypes_type(np.float64) is ct.c_double
    assert lib.as_ctypes_type(np.intc) is ct.c_int
    assert lib.as_ctypes_type("=i4") is ct.c_int32
    assert lib.as_ctypes_type(np.dtype("int8")) is ct.c_byte


def test_big_endian_scalar(npct):
    """'>i4' gives the big-endian type: its own ``__ctype_be__``, big-endian bytes."""
    ct, lib = npct
    t = lib.as_ctypes_type(">i4")
    assert t is _be(ct, ct.c_int32)
    assert t.__ctype_be__ is t
    assert bytes(t(1)) == b"\x00\x00\x00\x01"
    assert t(0x01020304).value == 0x01020304


def test_little_endian_scalar(npct):
    ct, lib = npct
    t = lib.as_ctypes_type("<i4")
    assert t is _le(ct, ct.c_int32)
    assert bytes(t(1)) == b"\x01\x00\x00\x00"


def test_big_endian_double(npct):
    ct, lib = npct
    t = lib.as_ctypes_type(">f8")
    assert bytes(t(1.5)) == np.array(1.5, ">f8").tobytes()
    assert t(1.5).value == 1.5


def test_scalar_types_are_cached(npct):
    """The same dtype gives the same type object."""
    ct, lib = npct
    assert lib.as_ctypes_type("i4") is lib.as_ctypes_type(np.dtype("i4"))
    assert lib.as_ctypes_type(">u2") is lib.as_ctypes_type(np.dtype(">u2"))


@pytest.mark.parametrize("dt", ["O", [("a", "<i4"), ("b", "O")]], ids=["object", "field"])
def test_object_dtype_refused(npct, dt):
    """Python objects have no C layout: NotImplementedError naming the dtype."""
    ct, lib = npct
    with pytest.raises(NotImplementedError, match=r"dtype\(.*'O'"):
        lib.as_ctypes_type(dt)


# ---- as_ctypes_type: structures, unions, subarrays ----------------------------------------------


def test_unaligned_struct(npct):
    """A packed dtype: fields back to back, no padding, alignment 1."""
    ct, lib = npct
    dt = np.dtype([("a", "u1"), ("b", "<i4"), ("c", "<f8")])
    T = lib.as_ctypes_type(dt)
    assert issubclass(T, ct.Structure)
    assert ct.sizeof(T) == dt.itemsize == 13
    assert (T.a.offset, T.b.offset, T.c.offset) == (0, 1, 5)
    assert ct.alignment(T) == 1


def test_aligned_struct_layout(npct):
    """``align=True``: the C layout, padding included."""
    ct, lib = npct
    dt = np.dtype([("a", "u1"), ("b", "<i4"), ("c", "u1")], align=True)
    T = lib.as_ctypes_type(dt)
    assert ct.sizeof(T) == dt.itemsize == 12
    assert (T.a.offset, T.b.offset, T.c.offset) == (0, 4, 8)


def test_aligned_struct_alignment(npct, is_ferrotype):
    """NumPy builds every structure with ``_pack_ = 1``, so an aligned dtype gives a type of
    alignment 1 (it lands misaligned when embedded in another ctypes Structure); ferrotype
    keeps the dtype's alignment."""
    ct, lib = npct
    dt = np.dtype([("a", "u1"), ("b", "<i4")], align=True)
    T = lib.as_ctypes_type(dt)
    if is_ferrotype:
        assert ct.alignment(T) == dt.alignment == 4
    else:
        assert ct.alignment(T) == 1  # NumPy's limitation, documented here


def test_explicit_offsets_with_padding(npct):
    """Explicit offsets and itemsize: leading, inner and trailing gaps are kept."""
    ct, lib = npct
    dt = np.dtype(
        {"names": ["a", "b"], "formats": ["<i2", "<f8"], "offsets": [2, 12], "itemsize": 24}
    )
    T = lib.as_ctypes_type(dt)
    assert ct.sizeof(T) == 24
    assert (T.a.offset, T.b.offset) == (2, 12)
    s = T()
    s.a, s.b = -3, 2.5
    raw = bytes(s)
    assert np.frombuffer(raw, dt)[0].tolist() == (-3, 2.5)


def test_fields_out_of_offset_order(npct):
    ct, lib = npct
    dt = np.dtype({"names": ["late", "early"], "formats": ["<i4", "<i4"], "offsets": [4, 0]})
    T = lib.as_ctypes_type(dt)
    assert (T.late.offset, T.early.offset) == (4, 0)
    assert ct.sizeof(T) == 8


def test_overlapping_fields_at_zero_are_a_union(npct):
    """Several fields all at offset 0 become a Union, padded to the itemsize."""
    ct, lib = npct
    dt = np.dtype(
        {"names": ["i", "f"], "formats": ["<i4", "<f4"], "offsets": [0, 0], "itemsize": 8}
    )
    T = lib.as_ctypes_type(dt)
    assert issubclass(T, ct.Union)
    assert ct.sizeof(T) == 8
    assert T.i.offset == T.f.offset == 0
    u = T()
    u.f = 1.0
    assert u.i == 0x3F800000


def test_other_overlaps_refused(npct):
    ct, lib = npct
    dt = np.dtype({"names": ["a", "b"], "formats": ["<i4", "<i2"], "offsets": [0, 2]})
    with pytest.raises(NotImplementedError):
        lib.as_ctypes_type(dt)


def test_subarray(npct):
    """('<i4', (2, 3)) gives (c_int32 * 3) * 2."""
    ct, lib = npct
    T = lib.as_ctypes_type(("<i4", (2, 3)))
    assert issubclass(T, ct.Array)
    assert T._length_ == 2
    assert T._type_._length_ == 3
    assert T._type_._type_ is _le(ct, ct.c_int32)
    assert ct.sizeof(T) == 24


def test_nested_struct(npct):
    """Structured fields become nested structures; subarray fields become arrays."""
    ct, lib = npct
    inner = np.dtype([("x", "<f8"), ("y", "<f8")])
    dt = np.dtype([("p", inner), ("grid", "<i2", (2, 3)), ("n", "<i4")])
    T = lib.as_ctypes_type(dt)
    assert ct.sizeof(T) == dt.itemsize == 32
    assert (T.p.offset, T.grid.offset, T.n.offset) == (0, 16, 28)
    s = T()
    P = type(s.p)
    assert issubclass(P, ct.Structure)
    assert ct.sizeof(P) == 16 and P.y.offset == 8
    assert len(s.grid) == 2 and len(s.grid[0]) == 3
    s.p.y = 4.5
    s.grid[1][2] = 7
    s.n = -1
    back = np.frombuffer(bytes(s), dt)[0]
    assert back["p"].tolist() == (0.0, 4.5)
    assert back["grid"].tolist() == [[0, 0, 0], [0, 0, 7]]
    assert back["n"] == -1


def test_struct_with_big_endian_fields(npct):
    ct, lib = npct
    dt = np.dtype([("a", ">i4"), ("b", "<i2")])
    T = lib.as_ctypes_type(dt)
    s = T()
    s.a, s.b = 1, 1
    assert bytes(s) == b"\x00\x00\x00\x01\x01\x00"


# ---- as_ctypes_type: ferrotype's extra dtypes ---------------------------------------------------


def test_bytes_dtype(ftnp):
    """'S5' gives c_char * 5 (NumPy: NotImplementedError)."""
    ft, lib = ftnp
    T = lib.as_ctypes_type("S5")
    assert issubclass(T, ft.Array)
    assert T._type_ is ft.c_char and T._length_ == 5


def test_unicode_dtype(ftnp):
    """'U3' gives c_wchar * 3 (NumPy: NotImplementedError)."""
    ft, lib = ftnp
    T = lib.as_ctypes_type("U3")
    assert issubclass(T, ft.Array)
    assert T._type_ is ft.c_wchar and T._length_ == 3


@pytest.mark.parametrize(("code", "real"), [("c8", "c_float"), ("c16", "c_double")])
def test_complex_dtype(ftnp, code, real):
    """Complex dtypes give a struct {real, imag} laid out like C's ``float _Complex`` /
    ``double _Complex``: C11 6.2.5p13 gives them the size and alignment of an array of two
    reals (8/4 and 16/8 on x86-64)."""
    ft, lib = ftnp
    R = getattr(ft, real)
    T = lib.as_ctypes_type(code)
    assert issubclass(T, ft.Structure)
    assert [f[0] for f in T._fields_] == ["real", "imag"]
    assert all(f[1] is R for f in T._fields_)
    assert ft.sizeof(T) == 2 * ft.sizeof(R) == np.dtype(code).itemsize
    assert ft.alignment(T) == ft.alignment(R)
    assert (T.real.offset, T.imag.offset) == (0, ft.sizeof(R))
    v = T(1.5, -2.0)
    assert np.frombuffer(bytes(v), code)[0] == 1.5 - 2.0j


def test_half_dtype(ftnp):
    """'f2' gives ferrotype.c_float16: 2 bytes, IEEE binary16, converts to/from float."""
    ft, lib = ftnp
    T = lib.as_ctypes_type("f2")
    assert T is ft.c_float16
    assert ft.sizeof(T) == 2
    assert T().value == 0.0
    assert T(1.5).value == 1.5
    assert isinstance(T(1.5).value, float)
    assert bytes(T(-2.25)) == np.float16(-2.25).tobytes()
    v = T()
    v.value = 0.1
    assert v.value == float(np.float16(0.1))


@pytest.mark.parametrize("code", ["M8[s]", "m8[ns]", "M8[D]"])
def test_datetime_dtypes_are_int64(ftnp, code):
    ft, lib = ftnp
    assert lib.as_ctypes_type(code) is ft.c_int64


@pytest.mark.parametrize("code", ["S5", "U3", "c8", "c16", "f2", "M8[s]", "m8[ns]"])
def test_numpy_refuses_the_extra_dtypes(code):
    """What the ferrotype extensions above go beyond (documents NumPy's behaviour)."""
    import numpy.ctypeslib

    with pytest.raises(NotImplementedError, match="to a ctypes type"):
        numpy.ctypeslib.as_ctypes_type(code)


def test_struct_types_are_cached(ftnp):
    """One type per dtype, also for an equal dtype built separately (NumPy builds a new class
    every call)."""
    ft, lib = ftnp
    dt = np.dtype([("x", "<i4"), ("y", "<f8")])
    assert lib.as_ctypes_type(dt) is lib.as_ctypes_type(dt)
    same = np.dtype({"names": ["x", "y"], "formats": ["<i4", "<f8"]})
    assert lib.as_ctypes_type(same) is lib.as_ctypes_type(dt)
    assert lib.as_ctypes_type(("<i4", (2, 3))) is lib.as_ctypes_type(np.dtype(("<i4", (2, 3))))
    assert lib.as_ctypes_type("c16") is lib.as_ctypes_type(np.complex128)
    other = np.dtype([("x", "<i4"), ("z", "<f8")])
    assert lib.as_ctypes_type(other) is not lib.as_ctypes_type(dt)


# ---- as_ctypes ----------------------------------------------------------------------------------


def test_as_ctypes_1d(npct):
    ct, lib = npct
    a = np.array([1, -2, 3], dtype=np.int64)
    c = lib.as_ctypes(a)
    assert isinstance(c, ct.Array)
    assert c._type_ is ct.c_int64
    assert len(c) == 3
    assert c[:] == [1, -2, 3]
    assert ct.addressof(c) == a.__array_interface__["data"][0]


def test_as_ctypes_shares_memory(npct):
    """Writes through either side are seen by the other."""
    ct, lib = npct
    a = np.zeros(4, dtype=np.float64)
    c = lib.as_ctypes(a)
    c[1] = 2.5
    assert a[1] == 2.5
    a[3] = -1.0
    assert c[3] == -1.0


def test_as_ctypes_multidimensional(npct):
    """A 2-d array gives an array of arrays, indexed like the ndarray."""
    ct, lib = npct
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    c = lib.as_ctypes(a)
    assert len(c) == 2 and len(c[0]) == 3
    assert [list(row) for row in c] == a.tolist()
    assert c[1][2] == 5
    c[0][1] = 40
    assert a[0, 1] == 40
    assert ct.sizeof(c) == a.nbytes


def test_as_ctypes_zero_dim(npct):
    """A 0-d array gives a scalar instance over the array's memory."""
    ct, lib = npct
    a = np.array(5, dtype=np.int64)
    z = lib.as_ctypes(a)
    assert isinstance(z, ct.c_int64)
    assert z.value == 5
    z.value = 7
    assert a[()] == 7


def test_as_ctypes_big_endian_array(npct):
    ct, lib = npct
    a = np.array([1, 0x01020304], dtype=">i4")
    c = lib.as_ctypes(a)
    assert c[:] == [1, 0x01020304]
    c[0] = 2
    assert a[0] == 2


def test_as_ctypes_array_interface_object(npct):
    """Anything exposing ``__array_interface__`` is accepted, and kept alive."""
    ct, lib = npct
    c = lib.as_ctypes(Interface(np.arange(4, dtype=np.int16)))
    _collect()
    assert c[:] == [0, 1, 2, 3]


@pytest.mark.parametrize("kind", ["subclass", "ndarray"])
def test_as_ctypes_keeps_array_alive(npct, kind):
    ct, lib = npct
    a = _owning(np.arange(5), np.int64) if kind == "subclass" else np.arange(5, dtype=np.int64)
    ref = weakref.ref(a)
    c = lib.as_ctypes(a)
    del a
    _collect()
    assert ref() is not None
    assert c[:] == [0, 1, 2, 3, 4]
    del c
    _collect()
    assert ref() is None


@pytest.mark.parametrize(
    "make",
    [
        lambda: np.arange(10)[::2],
        lambda: np.zeros((3, 2), order="F"),
        lambda: np.zeros((4, 4))[:, 1],
    ],
    ids=["step", "fortran", "column"],
)
def test_as_ctypes_strided_refused(npct, make):
    ct, lib = npct
    with pytest.raises(TypeError, match="^strided arrays not supported$"):
        lib.as_ctypes(make())


def test_as_ctypes_readonly_refused(npct):
    ct, lib = npct
    a = np.arange(3)
    a.flags.writeable = False
    with pytest.raises(TypeError, match="^readonly arrays unsupported$"):
        lib.as_ctypes(a)


@pytest.mark.parametrize("obj", [5, [1, 2, 3], None], ids=["int", "list", "None"])
def test_as_ctypes_non_array(npct, obj):
    """NumPy reads ``obj.__array_interface__`` and so raises AttributeError."""
    ct, lib = npct
    with pytest.raises(AttributeError):
        lib.as_ctypes(obj)


STRUCT_DT = np.dtype([("x", "<i4"), ("y", "<f8")])


def test_as_ctypes_structured(npct, is_ferrotype):
    """NumPy converts the ``typestr`` ('|V12') and fails on every structured array; ferrotype
    converts the full dtype."""
    ct, lib = npct
    a = np.zeros(3, STRUCT_DT)
    if not is_ferrotype:
        with pytest.raises(NotImplementedError, match=r"dtype\('V12'\)"):
            lib.as_ctypes(a)  # NumPy's bug, documented here
        return
    c = lib.as_ctypes(a)
    assert len(c) == 3
    assert ct.sizeof(c[0]) == 12
    assert (type(c[0]).x.offset, type(c[0]).y.offset) == (0, 4)
    c[1].x = 5
    c[2].y = 2.5
    assert a["x"].tolist() == [0, 5, 0]
    assert a["y"].tolist() == [0.0, 0.0, 2.5]
    a[0] = (-1, 1.25)
    assert (c[0].x, c[0].y) == (-1, 1.25)


def test_as_ctypes_aligned_structured(ftnp):
    ft, lib = ftnp
    dt = np.dtype([("a", "u1"), ("b", "<i4"), ("c", "<i2", (2,))], align=True)
    a = np.zeros(2, dt)
    c = lib.as_ctypes(a)
    c[1].b = 9
    c[1].c[1] = -4
    assert (a[1]["a"], a[1]["b"], a[1]["c"].tolist()) == (0, 9, [0, -4])
    assert ft.sizeof(c) == a.nbytes


def test_as_ctypes_extra_dtypes(ftnp):
    """S, U, complex, half and datetime arrays convert too."""
    ft, lib = ftnp
    s = np.array([b"hello", b"hi"], "S5")
    cs = lib.as_ctypes(s)
    assert (cs[0].value, cs[1].value) == (b"hello", b"hi")
    cs[1].value = b"yo"
    assert s[1] == b"yo"

    z = np.array([1 + 2j, -3.5j], np.complex128)
    cz = lib.as_ctypes(z)
    assert (cz[0].real, cz[0].imag, cz[1].imag) == (1.0, 2.0, -3.5)
    cz[1].real = 4.0
    assert z[1] == 4 - 3.5j

    h = np.array([1.5, -2.0], np.float16)
    ch = lib.as_ctypes(h)
    assert ch[:] == [1.5, -2.0]
    ch[0] = 0.25
    assert h[0] == 0.25

    t = np.array(["2020-01-01T00:00:01"], "M8[s]")
    assert lib.as_ctypes(t)[0] == int(t.view(np.int64)[0])


@pytest.mark.skipif(np.dtype("U1").itemsize != 4, reason="numpy U is UCS-4")
def test_as_ctypes_unicode_array(ftnp):
    ft, lib = ftnp
    if ft.sizeof(ft.c_wchar) != 4:
        pytest.skip("wchar_t is not 32-bit here")
    u = np.array(["abc", "é"], "U3")
    cu = lib.as_ctypes(u)
    assert (cu[0].value, cu[1].value) == ("abc", "é")


# ---- as_ctypes(readonly=True) (ferrotype only) --------------------------------------------------


def test_readonly_view_reads(ftnp):
    ft, lib = ftnp
    a = np.arange(4, dtype=np.int32)
    a.flags.writeable = False
    c = lib.as_ctypes(a, readonly=True)
    assert c[:] == [0, 1, 2, 3]
    assert ft.addressof(c) == a.__array_interface__["data"][0]
    assert memoryview(c).readonly


def test_readonly_view_refuses_element_writes(ftnp):
    ft, lib = ftnp
    a = np.arange(6, dtype=np.int32).reshape(2, 3)  # writable array, read-only view
    c = lib.as_ctypes(a, readonly=True)
    with pytest.raises(TypeError):
        c[0] = c[1]
    with pytest.raises(TypeError):
        c[1][2] = 9
    assert a.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert c[1][2] == 5


def test_readonly_view_refuses_field_writes(ftnp):
    ft, lib = ftnp
    a = np.array([(1, 2.0)], STRUCT_DT)
    a.flags.writeable = False
    c = lib.as_ctypes(a, readonly=True)
    assert (c[0].x, c[0].y) == (1, 2.0)
    with pytest.raises(TypeError):
        c[0].x = 5
    assert a[0]["x"] == 1


def test_readonly_view_scalar(ftnp):
    ft, lib = ftnp
    a = np.array(3.5)
    a.flags.writeable = False
    z = lib.as_ctypes(a, readonly=True)
    assert z.value == 3.5
    with pytest.raises(TypeError):
        z.value = 1.0
    assert a[()] == 3.5


# ---- as_array -----------------------------------------------------------------------------------


def test_as_array_from_ctypes_array(npct):
    ct, lib = npct
    c = (ct.c_int * 5)(0, 1, 2, 3, 4)
    a = lib.as_array(c)
    assert isinstance(a, np.ndarray)
    assert a.dtype == np.dtype(np.intc)
    assert a.tolist() == [0, 1, 2, 3, 4]
    assert a.__array_interface__["data"][0] == ct.addressof(c)


def test_as_array_shares_memory(npct):
    ct, lib = npct
    c = (ct.c_double * 3)()
    a = lib.as_array(c)
    a[0] = 1.5
    assert c[0] == 1.5
    c[2] = -4.0
    assert a[2] == -4.0


def test_as_array_nested(npct):
    """Nested ctypes arrays give a multi-dimensional array."""
    ct, lib = npct
    c = ((ct.c_short * 3) * 2)()
    c[1][2] = 7
    a = lib.as_array(c)
    assert a.shape == (2, 3)
    assert a.dtype == np.dtype(np.int16)
    assert a[1, 2] == 7


def test_as_array_shape_ignored_for_arrays(npct):
    ct, lib = npct
    a = lib.as_array((ct.c_int * 4)(), shape=(2, 2))
    assert a.shape == (4,)


def test_as_array_from_pointer(npct):
    ct, lib = npct
    buf = (ct.c_int * 6)(*range(6))
    p = ct.cast(buf, ct.POINTER(ct.c_int))
    a = lib.as_array(p, (2, 3))
    assert a.shape == (2, 3)
    assert a.tolist() == [[0, 1, 2], [3, 4, 5]]
    a[1, 0] = 30
    assert buf[3] == 30


def test_as_array_from_pointer_to_scalar(npct):
    ct, lib = npct
    x = ct.c_double(2.5)
    a = lib.as_array(ct.pointer(x), (1,))
    assert a.tolist() == [2.5]


def test_as_array_pointer_needs_shape(npct):
    ct, lib = npct
    p = ct.pointer(ct.c_int(1))
    with pytest.raises(TypeError, match="shape"):
        lib.as_array(p)


def test_as_array_keeps_ctypes_array_alive(npct):
    ct, lib = npct
    buf = (ct.c_int * 5)(*range(5))
    ref = weakref.ref(buf)
    a = lib.as_array(buf)
    del buf
    _collect()
    assert ref() is not None
    assert a.tolist() == [0, 1, 2, 3, 4]
    del a
    _collect()
    assert ref() is None


def test_as_array_from_pointer_keeps_target_alive(npct):
    ct, lib = npct
    buf = (ct.c_int * 5)(*range(5))
    ref = weakref.ref(buf)
    a = lib.as_array(ct.cast(buf, ct.POINTER(ct.c_int)), (5,))
    del buf
    _collect()
    assert ref() is not None
    assert a.tolist() == [0, 1, 2, 3, 4]
    del a
    _collect()
    assert ref() is None


def test_as_array_structured_element(npct):
    """A Structure element type gives a structured dtype with the same names and offsets."""
    ct, lib = npct

    class S(ct.Structure):
        _fields_ = [("x", ct.c_int), ("y", ct.c_double), ("z", ct.c_short)]

    class Packed(ct.Structure):
        _layout_ = "ms"
        _pack_ = 1
        _fields_ = [("x", ct.c_int), ("y", ct.c_double)]

    cs = (S * 3)()
    cs[1].y = 2.5
    cp = (Packed * 2)()
    cp[1].x = -3
    with _quiet_py311_struct_format(ct):
        a = lib.as_array(cs)
        p = lib.as_array(cp)
    assert a.dtype.names == ("x", "y", "z")
    assert [a.dtype.fields[n][1] for n in a.dtype.names] == [S.x.offset, S.y.offset, S.z.offset]
    assert a.dtype.itemsize == ct.sizeof(S) == 24
    assert a["y"].tolist() == [0.0, 2.5, 0.0]
    assert p.dtype.names == ("x", "y")
    assert [p.dtype.fields[n][1] for n in p.dtype.names] == [0, 4]
    assert p.dtype.itemsize == 12
    assert p["x"].tolist() == [0, -3]
    a["z"][2] = 9
    assert cs[2].z == 9


def test_as_array_round_trip_plain(npct):
    ct, lib = npct
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    b = lib.as_array(lib.as_ctypes(a))
    assert b.dtype == a.dtype and b.shape == a.shape
    assert np.shares_memory(a, b)
    b[2, 3] = -1
    assert a[2, 3] == -1


ROUND_TRIP_DTYPES = {
    "packed": np.dtype([("x", "<i4"), ("y", "<f8")]),
    "aligned": np.dtype([("x", "<i4"), ("y", "<f8")], align=True),
    "offsets": np.dtype(
        {"names": ["a", "b"], "formats": ["<i2", "<f8"], "offsets": [2, 12], "itemsize": 24}
    ),
    "nested": np.dtype(
        [("p", [("x", "<f4"), ("y", "<f4")]), ("grid", "<i2", (2, 3)), ("flag", "?")]
    ),
    "big_endian": np.dtype([("a", ">i4"), ("b", ">f8")]),
    "complex_field": np.dtype([("z", "<c16"), ("n", "<u2")]),
}


@pytest.mark.parametrize("name", sorted(ROUND_TRIP_DTYPES))
def test_as_array_round_trip_structured(ftnp, name):
    """as_array(as_ctypes(a)) gives back a's dtype exactly (names, offsets, itemsize), over the
    same memory (ferrotype only: NumPy cannot convert structured arrays at all)."""
    ft, lib = ftnp
    dt = ROUND_TRIP_DTYPES[name]
    a = np.zeros(3, dt)
    a.view(np.uint8)[:] = np.arange(a.nbytes) % 251
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b = lib.as_array(lib.as_ctypes(a))
    assert b.dtype == dt
    assert b.dtype.itemsize == dt.itemsize
    assert b.dtype.names == dt.names
    assert all(b.dtype.fields[n][1] == dt.fields[n][1] for n in dt.names)
    assert b.shape == a.shape
    assert b.tobytes() == a.tobytes()
    assert b.__array_interface__["data"][0] == a.__array_interface__["data"][0]


def _garbage_after(make, n=50):
    """How many objects ``gc.collect`` finds after ``n`` calls of ``make`` with gc disabled."""
    for _ in range(10):  # settle: finalizers of earlier tests can free more on a second pass
        if gc.collect() == 0:
            break
    gc.disable()
    try:
        for _ in range(n):
            x = make()
            del x
    finally:
        gc.enable()
    return gc.collect()


@pytest.mark.parametrize("shape", [(10,), (2, 5)], ids=["1d", "2d"])
def test_no_reference_cycles(npct, shape):
    """as_array(as_ctypes(a)) leaves nothing for the cycle collector. The ctypes array types
    used are held alive first: stdlib ctypes drops (and gc-collects) array types nobody uses."""
    ct, lib = npct
    keep = [type(lib.as_ctypes(np.zeros(shape, np.int64)))]
    keep.append(type(lib.as_array(lib.as_ctypes(np.zeros(shape, np.int64)))))
    assert _garbage_after(lambda: lib.as_ctypes(np.zeros(shape, np.int64))) == 0
    assert _garbage_after(lambda: lib.as_array(lib.as_ctypes(np.arange(10).reshape(shape)))) == 0
    del keep


# ---- ndpointer: construction, flags, caching ----------------------------------------------------


def test_ndpointer_is_a_void_pointer_type(npct):
    ct, lib = npct
    P = lib.ndpointer(np.float64, ndim=2, shape=(2, 3), flags="C")
    assert issubclass(P, ct.c_void_p)
    assert P._dtype_ == np.dtype(np.float64)
    assert P._ndim_ == 2
    assert P._shape_ == (2, 3)
    assert isinstance(P._flags_, int)


def test_ndpointer_same_args_same_class(npct):
    ct, lib = npct
    P = lib.ndpointer(np.int32, 1, (3,), "C")
    assert lib.ndpointer(np.int32, 1, (3,), "C") is P
    assert lib.ndpointer("i4", ndim=1, shape=[3], flags="C_CONTIGUOUS") is P
    assert lib.ndpointer(np.int32, 1, (4,), "C") is not P
    assert lib.ndpointer(np.int32, 2, (3,), "C") is not P
    assert lib.ndpointer(np.int64, 1, (3,), "C") is not P
    assert lib.ndpointer(np.int32, 1, (3,)) is not P


def test_ndpointer_flag_spellings(npct):
    """Names, aliases, lower case, comma-separated strings, sequences, ints and ``arr.flags``
    all normalise to the same flag set, hence the same class."""
    ct, lib = npct
    P = lib.ndpointer(np.float32, flags="C_CONTIGUOUS")
    # 1 is NPY_ARRAY_C_CONTIGUOUS
    for spelling in ["C", "CONTIGUOUS", "c_contiguous", " C ", ["C_CONTIGUOUS"], ("c",), 1]:
        assert lib.ndpointer(np.float32, flags=spelling) is P, spelling
    Q = lib.ndpointer(np.float32, flags="C_CONTIGUOUS,ALIGNED")
    for spelling in ["A,C", "aligned, c_contiguous", ["ALIGNED", "C"], ("A", "CONTIGUOUS")]:
        assert lib.ndpointer(np.float32, flags=spelling) is Q, spelling
    R = lib.ndpointer(np.float32, flags=np.zeros(3, np.float32).flags)
    assert lib.ndpointer(np.float32, flags="C,F,A,W,O") is R
    assert lib.ndpointer(np.float32, flags="FORTRAN") is lib.ndpointer(np.float32, flags="F")


def test_ndpointer_repeated_flags(npct, is_ferrotype):
    """NumPy adds the values of the names given, so a repeated flag turns into another one:
    'C,CONTIGUOUS' is 1 + 1 = F_CONTIGUOUS. ferrotype combines them with OR."""
    ct, lib = npct
    P = lib.ndpointer(np.complex64, flags="C,CONTIGUOUS")
    if is_ferrotype:
        assert P is lib.ndpointer(np.complex64, flags="C")
    else:
        assert P is lib.ndpointer(np.complex64, flags="F")  # NumPy's bug, documented here


@pytest.mark.parametrize(
    "flags", ["BOGUS", "C,BOGUS", ["C_CONTIGUOUS", "nope"]], ids=["name", "in-string", "in-list"]
)
def test_ndpointer_unknown_flag(npct, flags):
    """NumPy looks names up in a dict: KeyError."""
    ct, lib = npct
    with pytest.raises(KeyError):
        lib.ndpointer(np.uint32, flags=flags)


def test_ndpointer_invalid_flags_object(npct):
    ct, lib = npct
    with pytest.raises(TypeError, match="^invalid flags specification$"):
        lib.ndpointer(np.uint32, flags=5.5)


def _endian(code):
    return np.dtype(code).str


@pytest.mark.parametrize(
    ("kwargs", "suffix"),
    [
        (dict(dtype=np.int64, ndim=1, flags="C"), _endian("i8") + "_1d_C"),
        ({}, "any"),
        (dict(shape=3), "any_3"),
        (dict(dtype=">i4"), ">i4"),
        (dict(dtype=np.float64, shape=(2, 3)), _endian("f8") + "_2x3"),
        (
            dict(dtype=np.uint8, ndim=2, shape=(2, 3), flags="c_contiguous, aligned"),
            "|u1_2d_2x3_C_CONTIGUOUS_ALIGNED",
        ),
        (dict(dtype=np.int16, flags=1), _endian("i2") + "_C_CONTIGUOUS"),
        (
            dict(dtype=np.int16, flags=np.zeros(3, np.int16).flags),
            _endian("i2") + "_C_CONTIGUOUS_F_CONTIGUOUS_ALIGNED_WRITEABLE_OWNDATA",
        ),
    ],
    ids=["int64-1d-C", "any", "shape-int", "big-endian", "shape", "all", "int-flags", "flagsobj"],
)
def test_ndpointer_class_names(npct, kwargs, suffix):
    """NumPy's naming: dtype.str, ``_<n>d``, the shape joined by 'x', and the flags as given
    (ints and flag objects are spelled out). Each key here is unique in this file, as the class
    (hence its name) is cached from the first spelling seen."""
    ct, lib = npct
    assert lib.ndpointer(**kwargs).__name__ == "ndpointer_" + suffix


# ---- ndpointer: from_param checks ---------------------------------------------------------------


def _readonly(a):
    a.flags.writeable = False
    return a


FROM_PARAM_CASES = [
    (dict(dtype=np.int64), lambda: [1, 2], "argument must be an ndarray"),
    (dict(dtype=np.int64), lambda: None, "argument must be an ndarray"),
    (dict(dtype=np.int64), lambda: np.zeros(3), "array must have data type int64"),
    (dict(dtype=np.float32), lambda: np.zeros(3), "array must have data type float32"),
    (dict(ndim=2), lambda: np.zeros(3), "array must have 2 dimension(s)"),
    (dict(ndim=1), lambda: np.zeros((1, 1)), "array must have 1 dimension(s)"),
    (dict(shape=(3,)), lambda: np.zeros(4), "array must have shape (3,)"),
    (dict(shape=(2, 3)), lambda: np.zeros((3, 2)), "array must have shape (2, 3)"),
    (dict(flags="C"), lambda: np.zeros((3, 3)).T, "array must have flags ['C_CONTIGUOUS']"),
    (dict(flags="F"), lambda: np.zeros((3, 3)), "array must have flags ['F_CONTIGUOUS']"),
    (dict(flags="W"), lambda: _readonly(np.zeros(3)), "array must have flags ['WRITEABLE']"),
    (
        dict(flags="W,C"),
        lambda: _readonly(np.zeros((3, 3)).T),
        "array must have flags ['C_CONTIGUOUS', 'WRITEABLE']",
    ),
    (
        dict(flags="O,W,A,F"),
        lambda: np.zeros((3, 3))[1:],
        "array must have flags ['F_CONTIGUOUS', 'ALIGNED', 'WRITEABLE', 'OWNDATA']",
    ),
    # checked in order: dtype, ndim, shape, flags
    (dict(dtype=np.int64, ndim=2), lambda: np.zeros(3), "array must have data type int64"),
    (dict(ndim=2, shape=(3,)), lambda: np.zeros(3), "array must have 2 dimension(s)"),
    (dict(shape=(4,), flags="F"), lambda: np.zeros((2, 2)), "array must have shape (4,)"),
]


@pytest.mark.parametrize(("kwargs", "make", "message"), FROM_PARAM_CASES)
def test_from_param_messages(npct, kwargs, make, message):
    """Each failed check raises TypeError with NumPy's exact message."""
    ct, lib = npct
    P = lib.ndpointer(**kwargs)
    with pytest.raises(TypeError) as info:
        P.from_param(make())
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("kwargs", "make"),
    [
        (dict(dtype=np.int64), lambda: np.zeros(3, np.int64)),
        (dict(dtype="<f8", ndim=2, shape=(2, 3), flags="C,W,A"), lambda: np.zeros((2, 3))),
        (dict(flags="F"), lambda: np.zeros((3, 2), order="F")),
        (dict(ndim=0), lambda: np.array(1.0)),
        ({}, lambda: _readonly(np.zeros(2))),
    ],
)
def test_from_param_accepts(npct, kwargs, make):
    ct, lib = npct
    lib.ndpointer(**kwargs).from_param(make())


# ---- ndpointer in calls -------------------------------------------------------------------------


def test_ndpointer_argtype_sum(npct, cfunc):
    ct, lib = npct
    f = cfunc("sum_i64", ct.c_int64, lib.ndpointer(np.int64, flags="C_CONTIGUOUS"), ct.c_int)
    a = np.arange(1, 6, dtype=np.int64)
    assert f(a, 5) == 15
    assert f(a[2:], 3) == 12  # the data pointer includes the view's offset


def test_ndpointer_argtype_doubles_2d(npct, cfunc):
    ct, lib = npct
    P = lib.ndpointer(np.float64, ndim=2, shape=(2, 3), flags="C_CONTIGUOUS")
    f = cfunc("sum_doubles", ct.c_double, P, ct.c_int)
    assert f(np.arange(6.0).reshape(2, 3), 6) == 15.0


def test_ndpointer_argtype_writes(npct, cfunc):
    """The C function writes into the array's memory."""
    ct, lib = npct
    P = lib.ndpointer(np.intc, ndim=1, flags="C_CONTIGUOUS,WRITEABLE")
    f = cfunc("fill_iota", None, P, ct.c_int)
    a = np.full(5, -1, dtype=np.intc)
    f(a, 4)
    assert a.tolist() == [0, 1, 2, 3, -1]


def test_ndpointer_passes_the_data_address(npct, cfunc):
    ct, lib = npct
    f = cfunc("addr_of", ct.c_size_t, lib.ndpointer(np.float64))
    a = np.zeros((4, 4))
    assert f(a) == a.__array_interface__["data"][0]
    assert f(a[1:, 2:]) == a[1:, 2:].__array_interface__["data"][0]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: np.arange(5.0), "array must have data type int64"),
        (lambda: np.arange(10, dtype=np.int64)[::2], "array must have flags ['C_CONTIGUOUS']"),
        (lambda: [1, 2, 3], "argument must be an ndarray"),
        (lambda: None, "argument must be an ndarray"),
    ],
    ids=["dtype", "flags", "list", "None"],
)
def test_ndpointer_bad_argument(npct, cfunc, make, message):
    """A failed check surfaces as the module's ArgumentError, NumPy's message inside."""
    ct, lib = npct
    f = cfunc("sum_i64", ct.c_int64, lib.ndpointer(np.int64, flags="C_CONTIGUOUS"), ct.c_int)
    with pytest.raises(ct.ArgumentError) as info:
        f(make(), 3)
    assert str(info.value) == f"argument 1: TypeError: {message}"


def test_ndpointer_restype_with_shape(npct, cfunc):
    """With dtype and shape, the restype turns the returned pointer into an ndarray viewing it
    (``echo_voidp`` returns its argument)."""
    ct, lib = npct
    P = lib.ndpointer(np.float64, shape=(2, 3))
    f = cfunc("echo_voidp", P, P)
    a = np.arange(6.0).reshape(2, 3)
    out = f(a)
    assert isinstance(out, np.ndarray)
    assert out.shape == (2, 3) and out.dtype == np.float64
    assert out.__array_interface__["data"][0] == a.__array_interface__["data"][0]
    assert out.tolist() == a.tolist()
    out[1, 1] = -7.0
    assert a[1, 1] == -7.0


def test_ndpointer_restype_without_shape(npct, cfunc):
    """Without a shape there is nothing to rebuild: the result is an instance of the class,
    whose value is the address."""
    ct, lib = npct
    P = lib.ndpointer(np.float64)
    f = cfunc("echo_voidp", P, P)
    a = np.zeros(3)
    out = f(a)
    assert isinstance(out, P)
    assert out.value == a.__array_interface__["data"][0]


def test_ndpointer_contents(npct):
    """``contents`` of a shaped ndpointer instance is an ndarray over the pointed-to memory."""
    ct, lib = npct
    P = lib.ndpointer(np.int32, shape=(3,))
    buf = (ct.c_int32 * 3)(4, 5, 6)
    p = P(ct.addressof(buf))
    assert p.contents.tolist() == [4, 5, 6]


# ---- ndpointer extensions (ferrotype only) ------------------------------------------------------


def test_nullable_accepts_none(ftnp, ftcfunc):
    ft, lib = ftnp
    P = lib.ndpointer(np.float64, ndim=1, nullable=True)
    assert P is lib.ndpointer(np.float64, ndim=1, nullable=True)
    assert P is not lib.ndpointer(np.float64, ndim=1)
    f = ftcfunc("is_null", ft.c_int, P)
    assert f(None) == 1
    assert f(np.zeros(2)) == 0
    with pytest.raises(ft.ArgumentError, match="array must have data type float64"):
        f(np.zeros(2, np.int32))
    with pytest.raises(ft.ArgumentError, match="argument must be an ndarray"):
        f([1.0])


def test_nullable_sum_of_nothing(ftnp, ftcfunc):
    ft, lib = ftnp
    P = lib.ndpointer(np.int64, flags="C", nullable=True)
    f = ftcfunc("sum_i64", ft.c_int64, P, ft.c_int)
    assert f(None, 0) == 0
    assert f(np.arange(4), 4) == 6


def test_array_interface_argument(ftnp, ftcfunc):
    """Objects exposing ``__array_interface__`` are checked like arrays."""
    ft, lib = ftnp
    f = ftcfunc("sum_i64", ft.c_int64, lib.ndpointer(np.int64, flags="C"), ft.c_int)
    assert f(Interface(np.arange(5, dtype=np.int64)), 5) == 10
    with pytest.raises(ft.ArgumentError, match="array must have data type int64"):
        f(Interface(np.arange(5, dtype=np.int32)), 5)
    with pytest.raises(ft.ArgumentError, match=r"(?i)C.contiguous"):
        f(Interface(np.arange(10, dtype=np.int64)[::2]), 5)


def test_buffer_arguments(ftnp, ftcfunc):
    """C-contiguous buffers (array.array, bytearray) are accepted when dtype and shape match."""
    ft, lib = ftnp
    f = ftcfunc("sum_i64", ft.c_int64, lib.ndpointer(np.int64, shape=(3,)), ft.c_int)
    assert f(array.array("q", [1, 2, 3]), 3) == 6
    with pytest.raises(ft.ArgumentError, match=r"array must have shape \(3,\)"):
        f(array.array("q", [1, 2]), 2)
    with pytest.raises(ft.ArgumentError, match="array must have data type int64"):
        f(array.array("i", [1, 2, 3]), 3)

    g = ftcfunc("byte_at", ft.c_int, lib.ndpointer(np.uint8, ndim=1), ft.c_int)
    assert g(bytearray(b"\x01\xff"), 1) == 255


def test_buffer_argument_written(ftnp, ftcfunc):
    ft, lib = ftnp
    f = ftcfunc("fill_iota", None, lib.ndpointer(np.intc, ndim=1, flags="C,W"), ft.c_int)
    buf = array.array("i", [9] * 4)
    f(buf, 3)
    assert buf.tolist() == [0, 1, 2, 9]


# ---- load_library -------------------------------------------------------------------------------


def _forms(fixture_path):
    d = os.path.dirname(fixture_path)
    return {
        "dir": ("libftfixture", d),
        "ext": ("libftfixture.so", d),
        "file": ("libftfixture", fixture_path),
        "bytes": (b"libftfixture", os.fsencode(d)),
        "pathlike": ("libftfixture", Path(d)),
        "pathlike-name": (Path("libftfixture.so"), Path(fixture_path)),
    }


@pytest.mark.parametrize("form", ["dir", "ext", "file", "bytes", "pathlike", "pathlike-name"])
def test_load_library(npct, fixture_path, form):
    """With or without the extension; loader_path a directory or a file in it; str, bytes or
    os.PathLike."""
    ct, lib = npct
    name, where = _forms(fixture_path)[form]
    loaded = lib.load_library(name, where)
    assert isinstance(loaded, ct.CDLL)
    assert loaded._name == fixture_path
    assert loaded.add(2, 3) == 5


def test_load_library_is_cached(npct, fixture_path):
    """NumPy returns ``ctypes.cdll[path]``, so one path gives one object."""
    ct, lib = npct
    d = os.path.dirname(fixture_path)
    first = lib.load_library("libftfixture", d)
    assert lib.load_library("libftfixture", d) is first
    assert lib.load_library("libftfixture.so", fixture_path) is first


def test_load_library_without_lib_prefix(npct, fixture_path, is_ferrotype):
    """NumPy takes libname as the file's name: 'ftfixture' finds no 'libftfixture.so'.
    ferrotype also tries the 'lib' prefix."""
    ct, lib = npct
    d = os.path.dirname(fixture_path)
    if not is_ferrotype:
        with pytest.raises(OSError):
            lib.load_library("ftfixture", d)  # NumPy's behaviour, documented here
        return
    loaded = lib.load_library("ftfixture", d)
    assert loaded._name == fixture_path
    assert loaded is lib.load_library("libftfixture", d)


def test_load_library_missing(npct, tmp_path):
    ct, lib = npct
    with pytest.raises(OSError):
        lib.load_library("libnothere", tmp_path)
    with pytest.raises(OSError):
        lib.load_library("libnothere.so", str(tmp_path))


def test_load_library_defective(npct, tmp_path):
    """A file that is not a shared library: what ``cdll[path]`` raises, the loader's OSError
    (3.11) or, as ``LibraryLoader`` turns it into one from 3.12 on, AttributeError."""
    ct, lib = npct
    path = tmp_path / "libbroken.so"
    path.write_bytes(b"this is not an ELF file\n")
    with pytest.raises((OSError, AttributeError)) as stdlib:
        ctypes.cdll[str(path)]
    with pytest.raises(type(stdlib.value)) as info:
        lib.load_library("libbroken", tmp_path)
    assert type(info.value) is type(stdlib.value)


def test_load_library_error_lists_paths(ftnp, tmp_path):
    """ferrotype's OSError names every path it tried."""
    ft, lib = ftnp
    with pytest.raises(OSError) as info:
        lib.load_library("libnothere", tmp_path)
    message = str(info.value)
    for suffix in {sysconfig.get_config_var("EXT_SUFFIX"), ".so"}:
        assert str(tmp_path / ("libnothere" + suffix)) in message


def test_ctypes_load_library_alias(npct, fixture_path):
    """The deprecated alias, where the module still has it (NumPy 2 removed it)."""
    ct, lib = npct
    if not hasattr(lib, "ctypes_load_library"):
        pytest.skip(f"{lib.__name__} has no ctypes_load_library")
    with pytest.warns(DeprecationWarning):
        loaded = lib.ctypes_load_library("libftfixture", os.path.dirname(fixture_path))
    assert loaded._name == fixture_path


# ---- module contents ----------------------------------------------------------------------------


def test_public_names(npct):
    import numpy.ctypeslib

    ct, lib = npct
    for name in numpy.ctypeslib.__all__:
        assert hasattr(lib, name), name


def test_c_intp(npct):
    ct, lib = npct
    assert issubclass(lib.c_intp, ct._SimpleCData)
    assert ct.sizeof(lib.c_intp) == np.dtype(np.intp).itemsize
    assert np.dtype(lib.c_intp) == np.dtype(np.intp)


# ---- array_ctypes: ndarray.ctypes for ferrotype (ferrotype only) --------------------------------


def test_array_ctypes_data(ftnp):
    ft, lib = ftnp
    a = np.arange(6.0).reshape(2, 3)
    x = lib.array_ctypes(a)
    assert isinstance(x.data, int)
    assert x.data == a.__array_interface__["data"][0] == a.ctypes.data


@pytest.mark.parametrize(
    "make",
    [
        lambda: np.zeros((2, 3)),
        lambda: np.zeros((2, 3)).T,
        lambda: np.zeros((4, 6), np.int16)[::2, 1:],
    ],
    ids=["c", "transposed", "sliced"],
)
def test_array_ctypes_shape_and_strides(ftnp, make):
    """shape and strides are ctypes arrays of c_intp with NumPy's values."""
    ft, lib = ftnp
    a = make()
    x = lib.array_ctypes(a)
    assert isinstance(x.shape, ft.Array) and isinstance(x.strides, ft.Array)
    assert x.shape._type_ is lib.c_intp and x.strides._type_ is lib.c_intp
    assert list(x.shape) == list(a.ctypes.shape) == list(a.shape)
    assert list(x.strides) == list(a.ctypes.strides) == list(a.strides)


def test_array_ctypes_zero_dim(ftnp):
    ft, lib = ftnp
    a = np.array(1.0)
    x = lib.array_ctypes(a)
    assert x.shape is None and x.strides is None  # as ndarray.ctypes
    assert x.data == a.ctypes.data


def test_array_ctypes_data_as(ftnp):
    ft, lib = ftnp
    a = np.arange(4.0)
    p = lib.array_ctypes(a).data_as(ft.POINTER(ft.c_double))
    assert isinstance(p, ft.POINTER(ft.c_double))
    assert [p[i] for i in range(4)] == [0.0, 1.0, 2.0, 3.0]
    p[2] = 20.0
    assert a[2] == 20.0


def test_array_ctypes_shape_as_strides_as(ftnp):
    ft, lib = ftnp
    a = np.zeros((3, 5), np.int32)
    x = lib.array_ctypes(a)
    s = x.shape_as(ft.c_long)
    assert isinstance(s, ft.Array) and s._type_ is ft.c_long
    assert list(s) == [3, 5]
    assert list(x.strides_as(ft.c_long)) == [20, 4]
    assert list(x.strides_as(ft.c_int16)) == [20, 4]


def test_array_ctypes_as_parameter(ftnp, ftcfunc):
    """The object passes as the data pointer, declared as c_void_p or undeclared."""
    ft, lib = ftnp
    a = np.arange(1.0, 5.0)
    f = ftcfunc("sum_doubles", ft.c_double, ft.c_void_p, ft.c_int)
    assert f(lib.array_ctypes(a), 4) == 10.0
    g = ftcfunc("sum_doubles", ft.c_double)
    g.argtypes = None
    assert g(lib.array_ctypes(a), 4) == 10.0
    assert lib.array_ctypes(a)._as_parameter_.value == a.ctypes.data


def test_array_ctypes_keeps_temporary_alive(ftnp):
    """The trap NumPy's docs warn about: a pointer from a temporary array must keep it alive."""
    ft, lib = ftnp
    p = lib.array_ctypes(np.arange(5.0) + 1).data_as(ft.POINTER(ft.c_double))
    _collect()
    np.ones(1000)  # reuse freed memory, if it were freed
    assert p[4] == 5.0
    x = lib.array_ctypes(np.arange(3.0) + 7)
    _collect()
    assert x.data_as(ft.POINTER(ft.c_double))[2] == 9.0


def test_array_ctypes_keep_alive_is_released(ftnp):
    ft, lib = ftnp
    a = _owning([0.0, 1.0, 2.0])
    ref = weakref.ref(a)
    p = lib.array_ctypes(a).data_as(ft.POINTER(ft.c_double))
    del a
    _collect()
    assert ref() is not None
    del p
    _collect()
    assert ref() is None


# ---- the views made in Rust (api/numpy.rs) ------------------------------------------------------


def test_repeated_as_array_views_share_memory_and_keep_the_source(npct):
    """The first view of an array type is made in Python, later ones in Rust (through
    NumPy's C API): every one shares the memory, has the type's dtype and shape, and keeps
    the source alive."""
    ct, lib = npct
    for typ, shape in [(ct.c_double * 4, (4,)), ((ct.c_int16 * 3) * 2, (2, 3))]:
        for _ in range(3):
            x = typ()
            a = lib.as_array(x)
            assert a.shape == shape
            assert a.flags.writeable and a.flags.c_contiguous
            a.flat[-1] = 7
            last = x[-1] if len(shape) == 1 else x[-1][-1]
            assert last == 7
            ref = weakref.ref(x) if hasattr(x, "__weakref__") else None
            del x
            _collect()
            assert a.flat[-1] == 7
            if ref is not None:
                assert ref() is not None
            del a
            _collect()
            if ref is not None:
                assert ref() is None


def test_as_array_of_a_read_only_instance_is_read_only(ftnp):
    ft, lib = ftnp
    typ = ft.c_int32 * 2
    for _ in range(3):
        x = typ.from_buffer_copy(b"\x01\x00\x00\x00\x02\x00\x00\x00")
        assert list(lib.as_array(x)) == [1, 2]
        ro = ft.c_int32 * 2
        y = ro.from_buffer(bytearray(8))
        assert lib.as_array(y).flags.writeable
    mv = memoryview(b"\x00" * 8)
    z = lib.as_ctypes(np.frombuffer(mv, np.int32), readonly=True)
    for _ in range(2):
        a = lib.as_array(z)
        assert not a.flags.writeable
        with pytest.raises(ValueError):
            a[0] = 1


def test_repeated_as_ctypes_views(npct):
    """Views of arrays of one dtype and shape share one class (remembered in Rust); the checks
    (strides, read-only) still apply to every call."""
    ct, lib = npct
    a, b = np.arange(6.0).reshape(2, 3), np.zeros((2, 3))
    x, y = lib.as_ctypes(a), lib.as_ctypes(b)
    assert type(x) is type(y)
    assert x[1][2] == 5.0
    y[0][0] = 4.0
    assert b[0, 0] == 4.0
    with pytest.raises(TypeError, match="strided arrays not supported"):
        lib.as_ctypes(a[:, ::2])
    ro = np.arange(3.0)
    ro.flags.writeable = False
    for _ in range(2):
        with pytest.raises(TypeError, match="readonly arrays unsupported"):
            lib.as_ctypes(ro)
    owner = _owning([1.0, 2.0])
    ref = weakref.ref(owner)
    v = lib.as_ctypes(owner)
    del owner
    _collect()
    assert ref() is not None and v[1] == 2.0
    del v
    _collect()
    assert ref() is None
