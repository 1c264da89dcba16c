"""The names of CPython's private ``_ctypes`` module, assembled on top of ``_native``.

This layer holds only what must be Python: the metaclasses (PyO3 cannot define one)
and the abstract base classes. Every check, layout and conversion happens in Rust.
"""

import copyreg as _copyreg
import operator as _operator
import sys as _sys
import types as _types
import weakref as _weakref

from . import _interop, _native, _version
from ._native import (
    CTYPES_MAX_ARGCOUNT,
    DEFAULT_MODE,
    FUNCFLAG_CDECL,
    FUNCFLAG_HRESULT,
    FUNCFLAG_PYTHONAPI,
    FUNCFLAG_USE_ERRNO,
    FUNCFLAG_USE_LASTERROR,
    RTLD_GLOBAL,
    RTLD_LOCAL,
    ArgumentError,
    Py_DECREF,
    Py_INCREF,
    PyObj_FromPtr,
    _cast_addr,
    _CData,
    _memmove_addr,
    _memset_addr,
    _string_at_addr,
    _unpickle,
    _wstring_at_addr,
    addressof,
    alignment,
    buffer_info,
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
from ._version import POINTER_TYPE_ATTR as _POINTER_TYPE_ATTR
from ._version import VERSION_DEPRECATED as _VERSION_DEPRECATED

if _HAS_TIME_T:
    from ._native import SIZEOF_TIME_T  # noqa: F401  (in __all__ below)
if _HAS_DLLIST:
    from ._native import dllist  # noqa: F401 (re-exported, in __all__)
if _version.CFIELD_PUBLIC:
    from ._native import CField  # noqa: F401 (re-exported, in __all__)
if _version.HAS_MEMORYVIEW_AT:
    from ._native import _memoryview_at_addr  # noqa: F401 (re-exported, in __all__)

__all__ = [
    "ArgumentError",
    "Array",
    "CFuncPtr",
    "CTYPES_MAX_ARGCOUNT",
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
    "PyObj_FromPtr",
    "Py_DECREF",
    "Py_INCREF",
    "UnionType",
    "RTLD_GLOBAL",
    "RTLD_LOCAL",
    "Structure",
    "Union",
    "_CData",
    "_CArgObject",
    "_Pointer",
    "_SimpleCData",
    "_cast_addr",
    "_memmove_addr",
    "_memset_addr",
    "_string_at_addr",
    "_unpickle",
    "_wstring_at_addr",
    "addressof",
    "alignment",
    "buffer_info",
    "byref",
    "call_cdeclfunction",
    "call_function",
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
if _version.CFIELD_PUBLIC:
    __all__.append("CField")
if _version.HAS_MEMORYVIEW_AT:
    __all__.append("_memoryview_at_addr")
if not _POINTER_TYPE_ATTR:
    __all__.extend(["POINTER", "pointer", "_pointer_type_cache"])

if _VERSION_DEPRECATED:

    def __getattr__(name):
        if name == "__version__":
            from ._version import warn_deprecated

            warn_deprecated("__version__", remove=(3, 20))
            return "1.1.0"
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

else:
    __version__ = "1.1.0"  # the version of ctypes' _ctypes this module stands for

_pointer_type_cache = {}
_array_type_cache = {}


def _caller_module(depth=2):
    """The module of the code ``depth`` frames up (by default, the caller's caller): the
    ``__module__`` ctypes gives a class it makes in C, such as ``c_int * 3``, a direct
    metaclass call or, before 3.14, ``POINTER(c_int)``."""
    return _sys._getframe(depth).f_globals.get("__name__")


_INIT_LAYS_OUT = _version.METACLASS_INIT_LAYS_OUT
# Classes made by a metaclass's __new__ whose __init__ has not run yet (3.13+).
_fresh = _weakref.WeakSet()

# Where `T.__pointer_type__` is kept: T's own namespace, so that subclasses do not
# inherit it (ctypes keeps it in T's type information, which subclasses do not share).
_POINTER_TYPE_KEY = "_ft_pointer_type_"


def _note_pointer_type(ptr):
    """From 3.14, a pointer type that gets its ``_type_`` T (when made, or by
    ``set_type``) becomes ``T.__pointer_type__``, unless T has one already."""
    if not _POINTER_TYPE_ATTR:
        return
    target = ptr.__dict__.get("_type_")
    if isinstance(target, type) and _POINTER_TYPE_KEY not in target.__dict__:
        type.__setattr__(target, _POINTER_TYPE_KEY, ptr)


# Classes whose `__slots__` named "__weakref__", which `type.__new__` was not given
# (see `_slots_without_weakref`).
_weakref_named = _weakref.WeakSet()


def _weak_in_ctypes(cls):
    """Whether ctypes' counterpart of the data class ``cls`` has a weak-reference list:
    a class on its chain of solid bases up to the native one was made without
    ``__slots__``, or named ``"__weakref__"`` in them."""
    while cls not in _NATIVES:
        own = cls.__dict__
        if "__slots__" not in own or "__weakref__" in own or cls in _weakref_named:
            return True
        cls = cls.__base__
    return False


def _slots_without_weakref(bases, slots):
    """The ``__slots__`` to give ``type.__new__`` for a data class made from ``bases``
    whose class body has ``slots``: None to give those unchanged; and whether a
    ``"__weakref__"`` slot was left out.

    The native data classes hold the weak-reference list of their instances, so a class
    made from them has one without adding it, and ``type.__new__`` would refuse a
    ``"__weakref__"`` slot that ctypes accepts (on a base without a list in ctypes'
    terms, ``_weak_in_ctypes``): it is left out then. Where ctypes refuses the slot,
    ``type.__new__`` is given it, and refuses it too. An iterable other than a string,
    list, tuple or dict is read here, once, and its items are given as a tuple. The class
    body's ``__slots__`` is put back on the class once it is made (``_restore_slots``)."""
    if isinstance(slots, str):
        names = (slots,)
    elif isinstance(slots, (list, tuple, dict)):
        names = slots
    else:
        names = tuple(slots)
    if "__weakref__" in names:
        base = next((b for b in bases if isinstance(b, _CDataType)), None)
        if base is not None and base.__weakrefoffset__ != 0 and not _weak_in_ctypes(base):
            if isinstance(slots, dict):
                return {k: v for k, v in slots.items() if k != "__weakref__"}, True
            return tuple(name for name in names if name != "__weakref__"), True
    read = not isinstance(slots, (str, list, tuple, dict))
    return (names if read else None), False


def _restore_slots(cls, slots, weakref_named):
    """Puts the class body's ``__slots__`` back on the new class ``cls``, and records
    whether a ``"__weakref__"`` slot was left out of them (``_slots_without_weakref``)."""
    type.__setattr__(cls, "__slots__", slots)
    if weakref_named:
        _weakref_named.add(cls)


class _CDataType(type):
    """What every ferrotype type can do (ctypes' CDataType methods).

    A class gets its type information (layout, conversions) when it is made: in the
    metaclass's ``__new__`` up to 3.12, in its ``__init__`` from 3.13 on (so a class made
    by ``__new__`` alone is abstract, and a second ``__init__`` is refused), as in ctypes.
    """

    def __new__(mcls, name, bases, namespace, **kwargs):
        if isinstance(namespace, dict) and "__module__" not in namespace:
            # A direct call of the metaclass: the class belongs to the caller's module
            # (CPython would take this frame's, as ctypes' metaclasses are not Python).
            # Anything but a dict is left to `type.__new__`, which refuses it (an
            # endless iterator must not be searched).
            namespace = {**namespace, "__module__": _caller_module()}
        given = None
        if isinstance(namespace, dict) and "__slots__" in namespace:
            slots = namespace["__slots__"]
            given, named = _slots_without_weakref(bases, slots)
            if given is not None:
                namespace = {**namespace, "__slots__": given}
        cls = super().__new__(mcls, name, bases, namespace, **kwargs)
        if given is not None:
            _restore_slots(cls, slots, named)
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
        if type(length) is not int:
            length = _repeat_count(length)
        key = (cls, length)
        try:
            return _array_type_cache[key]
        except KeyError:
            pass
        if not -_sys.maxsize - 1 <= length <= _sys.maxsize:
            raise OverflowError("cannot fit 'int' into an index-sized integer")
        if length < 0:
            raise ValueError(f"Array length must be >= 0, not {length}")
        arr = PyCArrayType(
            f"{cls.__name__}_Array_{length}",
            (Array,),
            # ctypes makes the class in C: it belongs to the module multiplying.
            {"_type_": cls, "_length_": length, "__module__": _caller_module()},
        )
        _array_type_cache[key] = arr
        return arr

    __rmul__ = __mul__


def _repeat_count(obj):
    """The length in ``T * obj``: as for a sequence's repeat in ctypes, any object with
    ``__index__`` (``True`` is 1), as an exact int; TypeError for others."""
    if not hasattr(type(obj), "__index__"):
        raise TypeError(f"can't multiply sequence by non-int of type '{type(obj).__name__}'")
    return int.__index__(_operator.index(obj))


# The simple types with a byte-swapped twin: the integers, the binary floats and, from
# 3.14, their complex types and `c_bool` (`long double` and its complex type have none).
_SWAPPABLE_CODES = frozenset("cbBhHiIlLqQfde") | frozenset(("F", "D", "Zf", "Zd"))
if _version.BOOL_HAS_SWAPPED_TWIN:
    _SWAPPABLE_CODES |= {"?"}


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
                {"_type_": code, "__module__": cls.__module__, "__qualname__": cls.__qualname__},
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

    def __init__(cls, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # ctypes (3.14): recorded by the metaclass's __init__, so a subclass of the
        # metaclass sees no `__pointer_type__` on the target before calling it.
        _note_pointer_type(cls)

    def _ft_init_(cls):
        _native.init_pointer_type(cls)

    def from_param(cls, obj):
        return _native.pointer_from_param(cls, obj)

    def set_type(cls, *args, **kwargs):
        """Makes ``typ`` the target type: completes an incomplete pointer type (one made
        by ``POINTER("name")``), or changes the target of a complete one."""
        typ = _one_argument(f"{cls.__name__}.set_type", args, kwargs)
        _native.set_pointer_type(cls, typ)
        # ctypes: the class's `_type_` follows (up to 3.13 its type attribute cache may
        # keep answering the old one, gh-133290; ferrotype's never does).
        type.__setattr__(cls, "_type_", typ)
        _note_pointer_type(cls)


def _one_argument(name, args, kwargs):
    """The single positional argument of a ctypes method, with ctypes' errors for the
    others (worded by Argument Clinic from 3.13)."""
    if _version.METHODS_USE_CLINIC:
        given = len(args) + len(kwargs)
        short = name.rpartition(".")[2]
        if given > 1:
            raise TypeError(f"{short}() takes at most 1 argument ({given} given)")
        if not args:
            raise TypeError(f"{short}() takes exactly 1 positional argument (0 given)")
    else:
        if kwargs:
            raise TypeError(f"{name}() takes no keyword arguments")
        if len(args) != 1:
            raise TypeError(f"{name}() takes exactly one argument ({len(args)} given)")
    return args[0]


class PyCFuncPtrType(_CDataType):
    """Metaclass of the function pointer types (``CFUNCTYPE(...)``, ``CDLL._FuncPtr``)."""

    def _ft_init_(cls):
        _native.init_funcptr_type(cls)


class PyCStructType(_CDataType):
    """Metaclass of the structure types. `_fields_` may be set in the class body or
    assigned once later (incomplete types); the layout is computed in Rust then.

    Making a class is native, as ctypes' C metaclass is: `__new__` (up to 3.12) or
    `__init__` (3.13+) lays it out, setting `_fields_` through a metaclass's own
    `__setattr__` when a subclass of this one defines one (the byte-order variants).
    """

    _ft_union_ = False
    __new__ = staticmethod(_native.struct_type_new)
    if _INIT_LAYS_OUT:
        __init__ = _native.struct_type_init

    def __setattr__(cls, name, value):
        if name == "_fields_":
            # Refused before the class has its type information; field types of the
            # stdlib's ctypes become their ferrotype equivalents; stored by the call.
            _native.set_struct_fields(cls, cls._ft_union_, value)
        else:
            type.__setattr__(cls, name, value)


class UnionType(PyCStructType):
    """Metaclass of the union types."""

    _ft_union_ = True
    __new__ = staticmethod(_native.union_type_new)
    if _INIT_LAYS_OUT:
        __init__ = _native.union_type_init


class _InstanceDtype:
    """``x.dtype`` of an instance: the NumPy dtype of its type (ferrotype only).

    ``numpy.dtype(x)`` reads ``x.dtype`` before anything else. For an instance of a
    stdlib ctypes type NumPy converts the type with its own code, which imports the
    stdlib's ``_ctypes`` and so knows only ferrotype's simple types (unless
    ``ferrotype.install()`` made ``_ctypes`` ferrotype's); this attribute gives NumPy the
    same dtype for the others. Where there is none (pointers, bit-fields, no NumPy) it
    is absent (``AttributeError``), and NumPy's own conversion decides.
    """

    def __get__(self, obj, cls=None):
        if obj is None:
            raise AttributeError("dtype")
        try:
            return type(obj).dtype
        except Exception as exc:
            raise AttributeError("dtype") from exc


# The public bases are the native classes themselves, given their metaclass here, so
# that each is a direct subclass of `_CData` (`Structure.__mro__` is `(Structure, _CData,
# object)`, as in ctypes). Instances are unhashable: ctypes data is mutable. The bases and
# the metaclasses are then immutable, as ctypes' are.
type.__setattr__(_CData, "__hash__", None)
type.__setattr__(_CData, "dtype", _InstanceDtype())
# ctypes: `Array[c_int]` is a generic alias (for annotations evaluated at run time).
type.__setattr__(_native.Array, "__class_getitem__", classmethod(_types.GenericAlias))
_SimpleCData = _native._SimpleCData
Array = _native.Array
_Pointer = _native._Pointer
CFuncPtr = _native.CFuncPtr
Structure = _native.Structure
Union = _native.Union
_NATIVES = frozenset((_CData, _SimpleCData, Array, _Pointer, CFuncPtr, Structure, Union))
for _cls, _meta in (
    (_SimpleCData, PyCSimpleType),
    (Array, PyCArrayType),
    (_Pointer, PyCPointerType),
    (CFuncPtr, PyCFuncPtrType),
    (Structure, PyCStructType),
    (Union, UnionType),
):
    _native._set_metaclass(_cls, _meta)
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
        klass = PyCPointerType(f"LP_{cls}", (_Pointer,), {"__module__": _caller_module()})
        _pointer_type_cache[id(klass)] = klass
        return klass
    if not isinstance(cls, type):
        raise TypeError("must be a ctypes type")
    if getattr(cls, "_ft_info_", None) is None and _interop._stdlib_kind(cls) is not None:
        # A type of the stdlib's ctypes: the pointer to its ferrotype equivalent.
        return POINTER(_interop.ferrotype_type(cls))
    klass = PyCPointerType(
        f"LP_{cls.__name__}", (_Pointer,), {"_type_": cls, "__module__": _caller_module()}
    )
    _pointer_type_cache[cls] = klass
    return klass


def pointer(obj):
    """A new pointer instance pointing to ``obj``."""
    # The cached pointer type looked up here, saving the call of POINTER (as ctypes'
    # C `pointer` does); POINTER makes it the first time.
    try:
        cls = _pointer_type_cache[type(obj)]
    except KeyError:
        cls = POINTER(type(obj))
    return cls(obj)


if _POINTER_TYPE_ATTR:
    # 3.14: POINTER and pointer live in ctypes (ferrotype/_pointer_cache.py), and the
    # pointer type to T is recorded on T.
    del POINTER, pointer, _pointer_type_cache


class _PointerTypeAttr:
    """``T.__pointer_type__`` (3.14): the pointer type recorded for the ctypes type T.

    A data descriptor on the metaclasses, so it is read from T's own namespace and
    never inherited; it may be replaced by any value or deleted, as in ctypes.
    """

    @staticmethod
    def _check(cls):
        if getattr(cls, "_ft_info_", None) is None:
            raise TypeError(f"{cls!r} must have storage info")

    def __get__(self, cls, meta=None):
        if cls is None:
            return self
        self._check(cls)
        try:
            return cls.__dict__[_POINTER_TYPE_KEY]
        except KeyError:
            raise AttributeError(f"{cls!r} has no attribute '__pointer_type__'") from None

    def __set__(self, cls, value):
        self._check(cls)
        type.__setattr__(cls, _POINTER_TYPE_KEY, value)

    def __delete__(self, cls):
        self._check(cls)
        if _POINTER_TYPE_KEY in cls.__dict__:
            type.__delattr__(cls, _POINTER_TYPE_KEY)


if _POINTER_TYPE_ATTR:
    _CDataType.__pointer_type__ = _PointerTypeAttr()

# immutable once complete (3.14's __pointer_type__ descriptor is installed above)
for _cls in (_CData, _SimpleCData, Array, _Pointer, CFuncPtr, Structure, Union, _CDataType):
    _native._make_immutable(_cls)
for _cls in (PyCSimpleType, PyCArrayType, PyCPointerType, PyCFuncPtrType, PyCStructType, UnionType):
    _native._make_immutable(_cls)
del _cls


class _FunctionAt(CFuncPtr):
    """A function at an address, called without ``argtypes`` and returning C ``int``."""

    _flags_ = FUNCFLAG_CDECL


def call_function(*args, **kwargs):
    """Calls the C function at ``address`` with the arguments in a tuple, converting
    them as a call without ``argtypes`` does; returns its ``int`` result."""
    return _call_at("call_function", args, kwargs)


def call_cdeclfunction(*args, **kwargs):
    """As ``call_function`` (the calling conventions are one on this platform)."""
    return _call_at("call_cdeclfunction", args, kwargs)


def _call_at(name, args, kwargs):
    # ctypes parses these as positional C arguments: its messages, in its order.
    if kwargs:
        raise TypeError(f"{name}() takes no keyword arguments")
    if len(args) != 2:
        raise TypeError(f"function takes exactly 2 arguments ({len(args)} given)")
    address, arguments = args
    if not isinstance(address, int):
        raise TypeError("an integer is required")
    if not isinstance(arguments, tuple):
        raise TypeError(f"argument 2 must be tuple, not {type(arguments).__name__}")
    _sys.audit("ctypes.call_function", address, arguments)
    return _FunctionAt(address)(*arguments)
