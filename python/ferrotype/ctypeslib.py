"""NumPy's ``numpy.ctypeslib`` over ferrotype types, fixed and extended.

The same API (``as_array``, ``as_ctypes``, ``as_ctypes_type``, ``ndpointer``,
``load_library``, ``c_intp``) plus ``array_ctypes`` (the ``ndarray.ctypes`` helper).
Differences from NumPy's module, all on purpose:

- ``as_ctypes`` converts with the array's *dtype*, so structured arrays work, and
  ``as_ctypes(a, readonly=True)`` views read-only arrays as objects refusing writes.
- ``as_ctypes_type`` also converts ``S<n>``, ``U<n>``, complex, ``float16``, datetime and
  timedelta dtypes, and caches its results per dtype.
- ``ndpointer`` checks arguments in Rust (no Python-level ``from_param``), accepts
  ``nullable=True`` for ``None`` as NULL, and objects exposing ``__array_interface__`` or
  a C-contiguous buffer whose dtype and shape match.
- ``load_library`` also tries the name with and without a ``lib`` prefix, caches the
  library per path and lists every path it tried when nothing loads.
- Everything ``array_ctypes`` returns keeps the array alive.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import warnings

import numpy as np

from . import (
    BigEndianStructure,
    LittleEndianStructure,
    _native,
    alignment,
    c_bool,
    c_char,
    c_double,
    c_float,
    c_int8,
    c_int16,
    c_int32,
    c_int64,
    c_long,
    c_longdouble,
    c_longlong,
    c_uint8,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
    c_wchar,
    cast,
    cdll,
    sizeof,
)
from . import c_int as _c_int
from ._ctypes import Array, Structure, Union, _CData, _Pointer

__all__ = [
    "load_library",
    "ndpointer",
    "c_intp",
    "as_ctypes",
    "as_array",
    "as_ctypes_type",
    "array_ctypes",
]

# ---- c_intp ----------------------------------------------------------------------------------


def _intp_type():
    size = np.dtype(np.intp).itemsize
    for t in (c_long, _c_int, c_longlong):
        if sizeof(t) == size:
            return t
    raise ImportError("no ctypes integer type matches numpy.intp")


c_intp = _intp_type()
"""The ctypes integer type of NumPy's ``intp`` (pointer-sized)."""

# ---- as_ctypes_type --------------------------------------------------------------------------

_type_cache: dict = {}

_SCALARS = {
    ("b", 1): c_bool,
    ("i", 1): c_int8,
    ("i", 2): c_int16,
    ("i", 4): c_int32,
    ("i", 8): c_int64,
    ("u", 1): c_uint8,
    ("u", 2): c_uint16,
    ("u", 4): c_uint32,
    ("u", 8): c_uint64,
    ("f", 4): c_float,
    ("f", 8): c_double,
    ("M", 8): c_int64,
    ("m", 8): c_int64,
}
if sizeof(c_longdouble) > sizeof(c_double):
    _SCALARS[("f", np.dtype(np.longdouble).itemsize)] = c_longdouble


def as_ctypes_type(dtype):
    """The ferrotype type of a NumPy dtype (anything ``numpy.dtype()`` accepts).

    Scalars keep their byte order (``'>i4'`` gives the big-endian ``c_int32``);
    structured dtypes give a ``Structure`` (fields at the dtype's offsets, padding
    inserted), or a ``Union`` when every field starts at offset 0; subarrays give
    nested arrays. ``S<n>`` gives ``c_char * n``, ``U<n>`` ``c_wchar * n``, complex a
    ``(real, imag)`` structure laid out as C ``_Complex``, ``float16`` ``c_float16``,
    datetimes ``c_int64``. Results are cached per dtype.
    """
    try:
        return _type_cache[dtype]
    except (KeyError, TypeError):
        pass
    dt = np.dtype(dtype)
    if dt is not dtype:
        try:
            return _type_cache[dt]
        except KeyError:
            pass
    t = _from_dtype(dt)
    _type_cache[dt] = t
    return t


def _from_dtype(dt):
    if dt.fields is not None:
        return _from_structured(dt)
    if dt.subdtype is not None:
        base, shape = dt.subdtype
        t = as_ctypes_type(base)
        for n in reversed(shape):
            t = t * n
        return t
    return _from_scalar(dt)


def _unsupported(dt):
    return NotImplementedError(f"Converting {dt!r} to a ctypes type")


def _from_scalar(dt):
    kind, size = dt.kind, dt.itemsize
    if kind == "S":
        return c_char * size
    if kind == "U":
        if sizeof(c_wchar) != 4:
            raise NotImplementedError(
                f"Converting {dt!r} to a ctypes type needs a 4-byte wchar_t "
                f"(this platform's is {sizeof(c_wchar)} bytes)"
            )
        if not dt.isnative:
            raise NotImplementedError(f"Converting {dt!r} (non-native byte order) to a ctypes type")
        return c_wchar * (size // 4)
    if kind == "c":
        return _complex_type(dt)
    if (kind, size) == ("f", 2):
        from . import c_float16

        base = c_float16
    else:
        base = _SCALARS.get((kind, size))
    if base is None:
        raise _unsupported(dt)
    if dt.byteorder == ">":
        return base.__ctype_be__
    if dt.byteorder == "<":
        return base.__ctype_le__
    return base


def _complex_type(dt):
    size = dt.itemsize // 2
    part = {4: c_float, 8: c_double}.get(size)
    if part is None and size == sizeof(c_longdouble) and size > 8:
        part = c_longdouble
    if part is None:
        raise _unsupported(dt)
    # The endian structure bases give the fields the structure's byte order.
    if dt.byteorder == ">":
        base = BigEndianStructure
    elif dt.byteorder == "<":
        base = LittleEndianStructure
    else:
        base = Structure
    ns = {
        "_fields_": [("real", part), ("imag", part)],
        "__module__": __name__,
        "_ft_dtype_": dt,  # so that as_array gives the complex dtype back
    }
    return type(base)(f"complex{dt.itemsize * 8}", (base,), ns)


def _offset(field):
    return field[0]


def _from_structured(dt):
    by_name = dt.fields
    fields = []
    for name in dt.names:
        fdt, offset = by_name[name][:2]
        if fdt.hasobject:
            raise _unsupported(dt)
        fields.append((offset, name, fdt))
    fields.sort(key=_offset)
    out = []
    # The natural C layout reproduces the dtype when every field is aligned (then the type
    # keeps its C alignment, for nesting and passing by value); otherwise pack to bytes.
    natural = True
    align = 1
    if len(fields) > 1 and all(offset == 0 for offset, _, _ in fields):
        base, name = Union, "union"
        size = 0
        for _, fname, fdt in fields:
            t = as_ctypes_type(fdt)
            out.append((fname, t))
            align = max(align, alignment(t))
            size = max(size, fdt.itemsize)
        if size != dt.itemsize:
            out.append(("", c_char * dt.itemsize))
    else:
        base, name = Structure, "struct"
        end = 0
        for offset, fname, fdt in fields:
            gap = offset - end
            if gap < 0:
                raise NotImplementedError("Overlapping fields")
            if gap > 0:
                out.append(("", c_char * gap))
            t = as_ctypes_type(fdt)
            out.append((fname, t))
            a = alignment(t)
            if offset % a:
                natural = False
            elif a > align:
                align = a
            end = offset + fdt.itemsize
        if dt.itemsize > end:
            out.append(("", c_char * (dt.itemsize - end)))
    ns = {"_fields_": out, "__module__": __name__, "_ft_dtype_": dt}
    if not natural or dt.itemsize % align:
        ns["_pack_"] = 1
        ns["_layout_"] = "ms"
    t = type(base)(name, (base,), ns)
    if sizeof(t) != dt.itemsize:  # pragma: no cover - a layout rule was missed
        raise NotImplementedError(f"Converting {dt!r} to a ctypes type: size mismatch")
    return t


# ---- as_ctypes / as_array --------------------------------------------------------------------


def _array_type(elem, shape):
    for n in reversed(shape):
        elem = elem * n
    return elem


def _as_ctypes_class(dtype, shape):
    """The class of ``as_ctypes``' view of an array of ``dtype`` and ``shape``."""
    return _array_type(as_ctypes_type(dtype), shape)


def as_ctypes(obj, readonly=False):
    """A ferrotype object sharing the memory of ``obj`` (anything with
    ``__array_interface__``), typed from its dtype; it keeps ``obj`` alive.

    Strided arrays raise ``TypeError``; so do read-only arrays, unless ``readonly=True``,
    which gives an object that refuses writes.
    """
    facts = _native.ndarray_facts(obj, np.ndarray)
    if facts is not None:
        address, shape, contiguous, writeable, dtype = facts
        if not contiguous:
            raise TypeError("strided arrays not supported")
    else:
        ai = obj.__array_interface__
        if ai.get("strides"):
            raise TypeError("strided arrays not supported")
        if ai["version"] != 3:
            raise TypeError("only __array_interface__ version 3 supported")
        address, ro = ai["data"]
        writeable = not ro
        shape = tuple(ai["shape"])
        descr = ai.get("descr")
        if descr and not (len(descr) == 1 and descr[0][0] == "" and len(descr[0]) == 2):
            dtype = np.dtype(descr)
        else:
            dtype = np.dtype(ai["typestr"])
    if not writeable and not readonly:
        raise TypeError("readonly arrays unsupported")
    cls = _array_type(as_ctypes_type(dtype), shape)
    return _native.view_keeping(cls, address, obj, bool(readonly))


_array_specs: dict = {}
_DATA, _POINTER, _OTHER = 0, 1, 2


def _numpy_c_api():
    """Hands NumPy's C-API table to the extension, which then makes ``as_array``'s views
    itself (``_native.ndarray_view``) instead of through ``numpy.frombuffer``."""
    try:
        from numpy._core import _multiarray_umath as m
    except ImportError:  # NumPy 1.x
        try:
            from numpy.core import _multiarray_umath as m
        except ImportError:
            return False
    capsule = getattr(m, "_ARRAY_API", None)
    return capsule is not None and _native._numpy_c_api(capsule)


_NATIVE_VIEWS = _numpy_c_api()


def _array_spec(cls):
    """(kind, element dtype, shape, element count, size in bytes) of a class, cached."""
    try:
        return _array_specs[cls]
    except KeyError:
        pass
    if issubclass(cls, _Pointer):
        spec = (_POINTER, None, None, 0, 0)
    elif not issubclass(cls, _CData):
        spec = (_OTHER, None, None, 0, 0)
    else:
        shape = []
        t = cls
        while issubclass(t, Array):
            shape.append(t._length_)
            t = t._type_
        count = 1
        for n in shape:
            count *= n
        dtype = np.dtype(t)
        spec = (_DATA, dtype, tuple(shape), count, count * dtype.itemsize)
    _array_specs[cls] = spec
    return spec


def _shape_tuple(shape):
    """``shape`` as a tuple: the items of a sized or iterable object, else one dimension.
    An object iterable only by index, without a length (a pointer), would never end:
    TypeError (NumPy's ``tuple(shape)`` reads past the pointer's target)."""
    tp = type(shape)
    if hasattr(tp, "__len__") or hasattr(tp, "__iter__"):
        return tuple(shape)
    if hasattr(tp, "__getitem__"):
        raise TypeError(f"shape must be an integer or a sequence of integers, not {tp.__name__}")
    return (shape,)


def _as_array(obj, shape=None):
    """``as_array`` where the extension does not make the view itself: the first view
    of each array type (which is then described for the extension), pointers, other
    objects, and interpreters whose NumPy C API is not known to the extension."""
    kind, dtype, dims, count, nbytes = _array_spec(type(obj))
    if kind == _DATA and count and _NATIVE_VIEWS:
        _native._set_numpy_spec(type(obj), (dtype, dims, nbytes))
    if kind == _POINTER:
        if shape is None:
            raise TypeError("as_array() requires a shape argument when called on a pointer")
        shape = _shape_tuple(shape)
        address = cast(obj, c_void_p).value
        if not address:
            raise ValueError("NULL pointer access")
        obj = _native.view_keeping(_array_type(obj._type_, shape), address, obj, False)
        kind, dtype, dims, count, nbytes = _array_spec(type(obj))
    if kind == _OTHER:
        return np.asarray(obj)
    if count == 0:
        return np.empty(dims, dtype)  # no memory to share
    a = np.frombuffer(obj, dtype, count)
    if len(dims) != 1:
        a = a.reshape(dims)
    return a


def as_array(obj, shape=None):  # noqa: F811  (replaced by the extension's below)
    """A NumPy array sharing the memory of a ferrotype array (nested arrays give
    several dimensions) or of a pointer's target (``shape`` required); it keeps the
    source alive. Anything else goes to ``numpy.asarray``."""
    return _as_array(obj, shape)


_as_ctypes = as_ctypes  # what the extension's `as_ctypes` leaves to Python

if _NATIVE_VIEWS:
    # The views made in Rust (api/numpy.rs), through NumPy's C API.
    as_array = _native.as_array  # noqa: F811
    as_ctypes = _native.as_ctypes  # noqa: F811


# ---- ndpointer -------------------------------------------------------------------------------

_FLAG_NAMES = ["C_CONTIGUOUS", "F_CONTIGUOUS", "ALIGNED", "WRITEABLE", "OWNDATA", "WRITEBACKIFCOPY"]
_FLAGS = {
    "C_CONTIGUOUS": 0x1,
    "C": 0x1,
    "CONTIGUOUS": 0x1,
    "F_CONTIGUOUS": 0x2,
    "F": 0x2,
    "FORTRAN": 0x2,
    "OWNDATA": 0x4,
    "O": 0x4,
    "ALIGNED": 0x100,
    "A": 0x100,
    "WRITEABLE": 0x400,
    "W": 0x400,
    "WRITEBACKIFCOPY": 0x2000,
    "X": 0x2000,
}


def _flags_fromnum(num):
    return [name for name in _FLAG_NAMES if num & _FLAGS[name]]


def _num_fromflags(names):
    num = 0
    for name in names:
        try:
            num |= _FLAGS[name]
        except KeyError:
            raise KeyError(
                f"unknown ndpointer flag {name!r}; known flags: {', '.join(_FLAGS)}"
            ) from None
    return num


class _ndptr(c_void_p):
    """Base of the ``ndpointer`` classes: a ``c_void_p`` whose ``from_param`` checks
    an array's dtype, dimensions, shape and flags (in Rust)."""

    _dtype_ = None
    _shape_ = None
    _ndim_ = None
    _flags_ = None


class _concrete_ndptr(_ndptr):
    """``ndpointer`` with a dtype and a shape: as a ``restype``, results are arrays."""

    def _check_retval_(self):
        return self.contents

    @property
    def contents(self):
        """An ndarray of the declared dtype and shape viewing the pointed-to memory."""
        full = np.dtype((self._dtype_, self._shape_))
        address = self.value
        if not address:
            raise ValueError("NULL pointer access")
        raw = _native.view_keeping(c_char * full.itemsize, address, self, False)
        return np.frombuffer(raw, dtype=full).squeeze(axis=0)


_ndpointer_cache: dict = {}
_flagsobj = type(np.empty(0).flags)


def ndpointer(dtype=None, ndim=None, shape=None, flags=None, *, nullable=False):
    """An argument type accepting NumPy arrays with the given dtype, number of
    dimensions, shape and flags (NumPy's names and abbreviations, a comma-separated
    string, a list, an int or an ``arr.flags`` object). The same arguments give the same
    class. ``nullable=True`` also accepts ``None`` (NULL)."""
    if dtype is not None:
        dtype = np.dtype(dtype)
    num = None
    if flags is not None:
        if isinstance(flags, str):
            flags = flags.split(",")
        elif isinstance(flags, (int, np.integer)):
            num = int(flags)
            flags = _flags_fromnum(num)
        elif isinstance(flags, _flagsobj):
            num = flags.num
            flags = _flags_fromnum(num)
        if num is None:
            try:
                flags = [x.strip().upper() for x in flags]
            except Exception as e:
                raise TypeError("invalid flags specification") from e
            num = _num_fromflags(flags)
    if shape is not None:
        shape = _shape_tuple(shape)
    key = (dtype, ndim, shape, num, bool(nullable))
    try:
        return _ndpointer_cache[key]
    except KeyError:
        pass
    if dtype is None:
        name = "any"
    elif dtype.names is not None:
        name = str(id(dtype))
    else:
        name = dtype.str
    if ndim is not None:
        name += f"_{ndim}d"
    if shape is not None:
        name += "_" + "x".join(str(x) for x in shape)
    if flags is not None:
        name += "_" + "_".join(flags)
    if nullable:
        name += "_nullable"
    spec = _native.NdSpec(
        np.ndarray,
        np.asarray,
        dtype,
        ndim,
        shape,
        num,
        bool(nullable),
        str(dtype),
        str(shape),
        str(_flags_fromnum(num or 0)),
    )
    base = _concrete_ndptr if dtype is not None and shape is not None else _ndptr
    klass = type(base)(
        f"ndpointer_{name}",
        (base,),
        {
            "_dtype_": dtype,
            "_shape_": shape,
            "_ndim_": ndim,
            "_flags_": num,
            "_ft_ndspec_": spec,
            "from_param": spec.from_param,
            "__module__": __name__,
        },
    )
    _ndpointer_cache[key] = klass
    return klass


# ---- load_library ----------------------------------------------------------------------------


def load_library(libname, loader_path):
    """Loads ``libname`` from the directory of ``loader_path`` (a directory, or a file in
    it): with the platform's extensions (``.so``/``.dylib``/``.dll``, and Python's
    extension suffix) when ``libname`` has none, and with or without a ``lib`` prefix.
    The same path gives the same library object; ``OSError`` lists every path tried."""
    libname = os.fsdecode(libname)
    loader_path = os.path.abspath(os.fsdecode(loader_path))
    libdir = loader_path if os.path.isdir(loader_path) else os.path.dirname(loader_path)
    if sys.platform.startswith("darwin"):
        base_ext = ".dylib"
    elif sys.platform.startswith("win"):
        base_ext = ".dll"
    else:
        base_ext = ".so"
    stems = [libname]
    head, tail = os.path.split(libname)
    if tail.startswith("lib") and len(tail) > 3:
        stems.append(os.path.join(head, tail[3:]))
    else:
        stems.append(os.path.join(head, "lib" + tail))
    if os.path.splitext(libname)[1]:
        names = stems
    else:
        exts = [base_ext]
        so_ext = sysconfig.get_config_var("EXT_SUFFIX")
        if so_ext and so_ext != base_ext:
            exts.insert(0, so_ext)
        names = [stem + ext for stem in stems for ext in exts]
    tried = []
    for name in names:
        path = os.path.join(libdir, name)
        tried.append(path)
        if os.path.exists(path):
            return cdll[path]
    raise OSError("no file with expected extension; tried: " + ", ".join(tried))


def ctypes_load_library(*args, **kwargs):
    """Deprecated alias of ``load_library``."""
    warnings.warn(
        "ctypes_load_library is deprecated, use load_library instead",
        DeprecationWarning,
        stacklevel=2,
    )
    return load_library(*args, **kwargs)


# ---- array_ctypes ----------------------------------------------------------------------------


class _ArrayCTypes:
    """``ndarray.ctypes`` for ferrotype: every object it hands out keeps the array alive."""

    __slots__ = ("_arr", "_data")

    def __init__(self, arr):
        arr = np.asarray(arr)
        self._arr = arr
        self._data = c_void_p(arr.__array_interface__["data"][0])
        _native.keep_alive(self._data, arr)

    def data_as(self, obj):
        """The data address cast to ``obj`` (a pointer type); it keeps the array alive."""
        return cast(self._data, obj)

    def shape_as(self, obj):
        """The shape as an array of the integer type ``obj`` (``None`` for 0-d arrays)."""
        if self._arr.ndim == 0:
            return None
        return (obj * self._arr.ndim)(*self._arr.shape)

    def strides_as(self, obj):
        """The strides as an array of the integer type ``obj`` (``None`` for 0-d arrays)."""
        if self._arr.ndim == 0:
            return None
        return (obj * self._arr.ndim)(*self._arr.strides)

    @property
    def data(self):
        """The address of the array's data, as an ``int``."""
        return self._data.value or 0

    @property
    def shape(self):
        """The shape, a ``c_intp`` array."""
        return self.shape_as(c_intp)

    @property
    def strides(self):
        """The strides, a ``c_intp`` array."""
        return self.strides_as(c_intp)

    @property
    def _as_parameter_(self):
        return self._data


def array_ctypes(arr):
    """The equivalent of ``arr.ctypes`` over ferrotype types (``data``, ``shape``,
    ``strides``, ``data_as``, ``shape_as``, ``strides_as``, ``_as_parameter_``), whose
    results keep ``arr`` alive, so ``array_ctypes(a + b).data_as(P)`` cannot dangle."""
    return _ArrayCTypes(arr)
