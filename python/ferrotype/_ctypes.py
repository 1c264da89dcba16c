"""The names of CPython's private ``_ctypes`` module, assembled on top of ``_native``.

This layer holds only what must be Python: the metaclasses (PyO3 cannot define one)
and the abstract base classes. Every check, layout and conversion happens in Rust.
"""

import copyreg as _copyreg
import operator as _operator
import sys as _sys
import weakref as _weakref

from . import _native, _version
from ._native import (
    DEFAULT_MODE,
    FUNCFLAG_CDECL,
    FUNCFLAG_HRESULT,
    FUNCFLAG_PYTHONAPI,
    FUNCFLAG_USE_ERRNO,
    FUNCFLAG_USE_LASTERROR,
    RTLD_GLOBAL,
    RTLD_LOCAL,
    ArgumentError,
    _CData,
    addressof,
    alignment,
    byref,
    dlclose,
    dlopen,
    dlsym,
    get_errno,
    set_errno,
    sizeof,
)
from ._native import CArgObject as _CArgObject
from ._version import HAS_DLLIST as _HAS_DLLIST
from ._version import HAS_TIME_T as _HAS_TIME_T

if _HAS_TIME_T:
    from ._native import SIZEOF_TIME_T  # noqa: F401 (re-exported, in __all__)
if _HAS_DLLIST:
    from ._native import dllist  # noqa: F401 (re-exported, in __all__)

__all__ = [
    "ArgumentError",
    "Array",
    "CFuncPtr",
    "DEFAULT_MODE",
    "FUNCFLAG_CDECL",
    "FUNCFLAG_HRESULT",
    "FUNCFLAG_PYTHONAPI",
    "FUNCFLAG_USE_ERRNO",
    "FUNCFLAG_USE_LASTERROR",
    "PyCArrayType",
    "PyCFuncPtrType",
    "PyCPointerType",
    "PyCSimpleType",
    "PyCStructType",
    "UnionType",
    "RTLD_GLOBAL",
    "RTLD_LOCAL",
    "Structure",
    "Union",
    "_CData",
    "_CArgObject",
    "_Pointer",
    "_SimpleCData",
    "_pointer_type_cache",
    "addressof",
    "alignment",
    "byref",
    "dlclose",
    "dlopen",
    "dlsym",
    "get_errno",
    "resize",
    "set_errno",
    "sizeof",
]
if _HAS_TIME_T:
    __all__.append("SIZEOF_TIME_T")
if _HAS_DLLIST:
    __all__.append("dllist")

_pointer_type_cache = {}
_array_type_cache = {}
_INIT_LAYS_OUT = _version.METACLASS_INIT_LAYS_OUT
# Classes made by a metaclass's __new__ whose __init__ has not run yet (3.13+).
_fresh = _weakref.WeakSet()


class _CDataType(type):
    """What every ferrotype type can do (ctypes' CDataType methods).

    A class gets its type information (layout, conversions) when it is made: in the
    metaclass's ``__new__`` up to 3.12, in its ``__init__`` from 3.13 on (so a class made
    by ``__new__`` alone is abstract, and a second ``__init__`` is refused), as in ctypes.
    """

    def __new__(mcls, name, bases, namespace, **kwargs):
        if "__module__" not in namespace:
            # A direct call of the metaclass: the class belongs to the caller's module
            # (CPython would take this frame's, as ctypes' metaclasses are not Python).
            namespace = dict(namespace)
            namespace["__module__"] = _sys._getframe(1).f_globals.get("__name__")
        cls = super().__new__(mcls, name, bases, namespace, **kwargs)
        if _INIT_LAYS_OUT:
            _fresh.add(cls)
        else:
            cls._ft_setup_()
        return cls

    if _INIT_LAYS_OUT:

        def __init__(cls, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if cls in _fresh:
                _fresh.discard(cls)
            elif "_ft_info_" in cls.__dict__:
                raise SystemError(f"StgInfo of '{cls.__name__}' is already initialized.")
            cls._ft_setup_()

    def _ft_setup_(cls):
        if cls.__dict__.get("_ft_abstract_") or "_ft_info_" in cls.__dict__:
            return
        if "_abstract_" in cls.__dict__:
            # ctypes: a class declaring `_abstract_` gets no type information of its
            # own (not its base's either), so it cannot be instantiated.
            type.__setattr__(cls, "_ft_info_", None)
        else:
            cls._ft_init_()

    def _ft_init_(cls):
        pass

    def from_param(cls, obj):
        return _native.generic_from_param(cls, obj)

    def from_address(cls, address):
        return _native.from_address(cls, address)

    def in_dll(cls, dll, name):
        return _native.in_dll(cls, dll, name)

    def from_buffer(cls, obj, offset=0, *, readonly=False):
        return _native.from_buffer(cls, obj, offset, readonly)

    def from_buffer_copy(cls, obj, offset=0):
        return _native.from_buffer_copy(cls, obj, offset)

    @property
    def dtype(cls):
        """The NumPy dtype of this type (NumPy reads it in ``numpy.dtype(T)``)."""
        import numpy

        return numpy.dtype(_native.dtype_spec(cls))

    def __mul__(cls, length):
        key = (cls, length)
        try:
            return _array_type_cache[key]
        except (KeyError, TypeError):
            pass
        if not isinstance(length, int):
            raise TypeError(f"can't multiply sequence by non-int of type '{type(length).__name__}'")
        if length < 0:
            raise ValueError(f"Array length must be >= 0, not {length}")
        arr = PyCArrayType(
            f"{cls.__name__}_Array_{length}",
            (Array,),
            {"_type_": cls, "_length_": length, "__module__": cls.__module__},
        )
        _array_type_cache[key] = arr
        return arr

    __rmul__ = __mul__


# The simple types with a byte-swapped twin: the integers, the binary floats and, from
# 3.14, their complex types (`long double` and its complex type have none).
_SWAPPABLE_CODES = frozenset("cbBhHiIlLqQfde") | frozenset(("F", "D", "Zf", "Zd"))


class PyCSimpleType(_CDataType):
    """Metaclass of the simple types (``c_int``, ``c_char_p``, ...)."""

    def _ft_init_(cls):
        _native.init_simple_type(cls)
        code = cls._type_
        if code not in _SWAPPABLE_CODES or "__ctype_be__" in cls.__dict__:
            return
        if code in ("c", "b", "B"):
            swapped = cls  # one byte: nothing to swap
        else:
            swapped = type.__new__(
                type(cls),
                cls.__name__ + ("_be" if _sys.byteorder == "little" else "_le"),
                (_SimpleCData,),
                {"_type_": code, "__module__": cls.__module__},
            )
            _native.init_simple_type(swapped, True)
        native_attr, other_attr = (
            ("__ctype_le__", "__ctype_be__")
            if _sys.byteorder == "little"
            else ("__ctype_be__", "__ctype_le__")
        )
        for klass in {cls, swapped}:
            type.__setattr__(klass, native_attr, cls)
            type.__setattr__(klass, other_attr, swapped)

    def from_param(cls, obj):
        return _native.simple_from_param(cls, obj)


class PyCArrayType(_CDataType):
    """Metaclass of the array types (``c_int * 4``)."""

    def _ft_init_(cls):
        _native.init_array_type(cls)
        code = getattr(cls._type_, "_type_", None)
        if code == "c":
            type.__setattr__(cls, "value", _native.CharArrayAttr(False))
            type.__setattr__(cls, "raw", _native.CharArrayAttr(True))
        elif code == "u":
            type.__setattr__(cls, "value", _native.CharArrayAttr(False))


def _reduce_array_type(cls):
    # `c_int * 3` has no importable name; pickle it as the product that makes it (cached,
    # so unpickling gives the same class). Named array classes pickle by name.
    try:
        if cls._type_ * cls._length_ is cls:
            return _operator.mul, (cls._type_, cls._length_)
    except AttributeError:
        pass
    return cls.__qualname__


_copyreg.pickle(PyCArrayType, _reduce_array_type)


class PyCPointerType(_CDataType):
    """Metaclass of the pointer types (``POINTER(c_int)``)."""

    def _ft_init_(cls):
        _native.init_pointer_type(cls)

    def from_param(cls, obj):
        return _native.pointer_from_param(cls, obj)

    def set_type(cls, typ):
        """Completes an incomplete pointer type (one made by ``POINTER("name")``)."""
        if "_type_" in cls.__dict__:
            raise AttributeError("_type_ already set")
        type.__setattr__(cls, "_type_", typ)
        try:
            _native.init_pointer_type(cls)
        except BaseException:
            type.__delattr__(cls, "_type_")
            raise
        _pointer_type_cache[typ] = cls


class PyCFuncPtrType(_CDataType):
    """Metaclass of the function pointer types (``CFUNCTYPE(...)``, ``CDLL._FuncPtr``)."""

    def _ft_init_(cls):
        _native.init_funcptr_type(cls)


class PyCStructType(_CDataType):
    """Metaclass of the structure types. `_fields_` may be set in the class body or
    assigned once later (incomplete types); the layout is computed in Rust then."""

    _ft_union_ = False

    def _ft_init_(cls):
        # (When `_fields_` was assigned while the class was being made, by an
        # `__init_subclass__`, the class is laid out already and this is not called.)
        _native.init_struct_type(cls, cls._ft_union_, None)
        fields = cls.__dict__.get("_fields_")
        if fields is not None:
            # Through setattr, so metaclasses that rewrite `_fields_` (the byte-order
            # variants) see it, as in ctypes.
            cls._fields_ = fields

    def __setattr__(cls, name, value):
        if name == "_fields_":
            _native.init_struct_type(cls, cls._ft_union_, value)
        type.__setattr__(cls, name, value)


class UnionType(PyCStructType):
    """Metaclass of the union types."""

    _ft_union_ = True


# The public bases are the native classes themselves, given their metaclass here, so
# that each is a direct subclass of `_CData` (`Structure.__mro__` is `(Structure, _CData,
# object)`, as in ctypes). Instances are unhashable: ctypes data is mutable. The bases and
# the metaclasses are then immutable, as ctypes' are.
type.__setattr__(_CData, "__hash__", None)
_SimpleCData = _native._SimpleCData
Array = _native.Array
_Pointer = _native._Pointer
CFuncPtr = _native.CFuncPtr
Structure = _native.Structure
Union = _native.Union
for _cls, _meta in (
    (_SimpleCData, PyCSimpleType),
    (Array, PyCArrayType),
    (_Pointer, PyCPointerType),
    (CFuncPtr, PyCFuncPtrType),
    (Structure, PyCStructType),
    (Union, UnionType),
):
    _native._set_metaclass(_cls, _meta)
for _cls in (_CData, _SimpleCData, Array, _Pointer, CFuncPtr, Structure, Union, _CDataType):
    _native._make_immutable(_cls)
for _cls in (PyCSimpleType, PyCArrayType, PyCPointerType, PyCFuncPtrType, PyCStructType, UnionType):
    _native._make_immutable(_cls)
del _cls, _meta

resize = _native.resize


def POINTER(cls):
    """The pointer type to ``cls`` (cached, like ctypes); ``POINTER(None)`` is ``c_void_p``."""
    if cls is None:
        from . import c_void_p

        return c_void_p
    try:
        return _pointer_type_cache[cls]
    except KeyError:
        pass
    except TypeError:
        raise TypeError("must be a ctypes type") from None
    if isinstance(cls, str):
        # An incomplete pointer type, completed later with set_type/SetPointerType.
        klass = PyCPointerType(f"LP_{cls}", (_Pointer,), {})
        _pointer_type_cache[id(klass)] = klass
        return klass
    if not isinstance(cls, type):
        raise TypeError("must be a ctypes type")
    klass = PyCPointerType(
        f"LP_{cls.__name__}", (_Pointer,), {"_type_": cls, "__module__": cls.__module__}
    )
    _pointer_type_cache[cls] = klass
    return klass


def pointer(obj):
    """A new pointer instance pointing to ``obj``."""
    return POINTER(type(obj))(obj)
