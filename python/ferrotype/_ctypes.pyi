"""ferrotype's ``_ctypes``: the base classes, their metaclasses and the low-level functions.

The stubs of the data classes made by ``ferrotype._native`` live here, in the module
they report as theirs.
"""

import builtins
import sys
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import GenericAlias
from typing import (
    Any,
    ClassVar,
    Final,
    Generic,
    Literal,
    Self,
    SupportsIndex,
    TypeVar,
    final,
    overload,
    type_check_only,
)

from _typeshed import ReadableBuffer, StrOrBytesPath, WriteableBuffer
from numpy import dtype as _np_dtype
from typing_extensions import disjoint_base

from . import CDLL, c_void_p
from ._native import ArgumentError as ArgumentError
from ._native import CArgObject as _CArgObject

if sys.version_info >= (3, 14):
    from ._native import dllist as dllist

_T = TypeVar("_T")
_M = TypeVar("_M", bound=type)
_S = TypeVar("_S")
_CT = TypeVar("_CT", bound=_CData)
_GetT = TypeVar("_GetT")
_SetT = TypeVar("_SetT")

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
if sys.version_info >= (3, 12):
    __all__ += ["SIZEOF_TIME_T"]
if sys.version_info >= (3, 14):
    __all__ += ["dllist", "CField", "_memoryview_at_addr"]
else:
    __all__ += ["POINTER", "pointer", "_pointer_type_cache"]

DEFAULT_MODE: Final[int]
RTLD_LOCAL: Final[int]
RTLD_GLOBAL: Final[int]
FUNCFLAG_CDECL: Final = 1
FUNCFLAG_HRESULT: Final = 2
FUNCFLAG_PYTHONAPI: Final = 4
FUNCFLAG_USE_ERRNO: Final = 8
FUNCFLAG_USE_LASTERROR: Final = 16
CTYPES_MAX_ARGCOUNT: Final[int]
if sys.version_info >= (3, 12):
    SIZEOF_TIME_T: Final[int]

_cast_addr: Final[int]
_memmove_addr: Final[int]
_memset_addr: Final[int]
_string_at_addr: Final[int]
_wstring_at_addr: Final[int]
if sys.version_info >= (3, 14):
    _memoryview_at_addr: Final[int]

if sys.version_info < (3, 15):
    __version__: Final[str]

# ---- metaclasses -------------------------------------------------------------------------

class _CDataType(type):
    """What every ctypes type can do (ctypes' ``CDataType`` methods)."""

    def __new__(
        mcls: type[_M], name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any
    ) -> _M: ...
    if sys.version_info >= (3, 13):
        # From 3.13 a class gets its type information in its metaclass's __init__.
        def __init__(cls, *args: Any, **kwargs: Any) -> None: ...

    def from_address(cls: type[_S], address: int) -> _S:
        """An instance sharing the memory at ``address`` (no copy)."""
    def from_buffer(
        cls: type[_S], obj: WriteableBuffer, offset: int = 0, *, readonly: bool = False
    ) -> _S:
        """An instance sharing the memory of the buffer ``obj`` from ``offset``.

        ``readonly=True`` (ferrotype only) accepts read-only buffers and gives an object
        that refuses writes.
        """
    def from_buffer_copy(cls: type[_S], obj: ReadableBuffer, offset: int = 0) -> _S:
        """An instance holding a copy of the bytes of ``obj`` from ``offset``."""
    def from_param(cls: type[_S], obj: Any) -> _S | _CArgObject:
        """``obj`` converted for a foreign call that declared this type in ``argtypes``."""
    def in_dll(cls: type[_S], dll: CDLL, name: str) -> _S:
        """The exported variable ``name`` of the library ``dll``, as an instance."""
    @property
    def dtype(cls) -> _np_dtype[Any]:
        """The NumPy dtype of this type (ferrotype only; needs NumPy)."""
    def __mul__(cls: type[_CT], length: SupportsIndex) -> type[Array[_CT]]: ...  # type: ignore[misc]  # pyright: ignore[reportGeneralTypeIssues]
    def __rmul__(cls: type[_CT], length: SupportsIndex) -> type[Array[_CT]]: ...  # type: ignore[misc]  # pyright: ignore[reportGeneralTypeIssues]
    if sys.version_info >= (3, 14):
        __pointer_type__: type[Any]

class PyCSimpleType(_CDataType):
    """Metaclass of the simple types (``c_int``, ``c_char_p``, ...)."""

class PyCArrayType(_CDataType):
    """Metaclass of the array types (``c_int * 4``)."""

class PyCPointerType(_CDataType):
    """Metaclass of the pointer types (``POINTER(c_int)``)."""

    def __init__(cls, *args: Any, **kwargs: Any) -> None: ...
    def set_type(cls, typ: type[Any], /) -> None:
        """Make ``typ`` the target type (completes an incomplete pointer type)."""

class PyCFuncPtrType(_CDataType):
    """Metaclass of the function pointer types (``CFUNCTYPE(...)``, ``CDLL._FuncPtr``)."""

class PyCStructType(_CDataType):
    """Metaclass of the structure types."""

    def __setattr__(cls, name: str, value: Any) -> None: ...
    # Each field is a class attribute made from `_fields_`, which no stub can list.
    def __getattr__(cls, name: str) -> _CField[Any, Any, Any]: ...

class UnionType(PyCStructType):
    """Metaclass of the union types."""

# ---- data classes ------------------------------------------------------------------------

if sys.version_info >= (3, 12):
    # The native data classes hold their instances' weak-reference list, one word more
    # than `_CData`'s instances: from 3.12 each is a disjoint base (PEP 800), which 3.11's
    # layout rules do not count.
    from typing_extensions import disjoint_base as _native_base
else:
    def _native_base(cls: _M) -> _M: ...

@disjoint_base
class _CData:
    """Base of every ctypes data type."""

    _b_base_: _CData | None
    _b_needsfree_: int
    _objects: Mapping[Any, Any] | None
    dtype: _InstanceDtype
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __ctypes_from_outparam__(self) -> Any: ...
    def __reduce__(self) -> tuple[Any, ...]: ...
    def __setstate__(self, dict: dict[str, Any], data: bytes, /) -> None: ...
    # The buffer protocol (a C slot, seen as a method from 3.12).
    def __buffer__(self, flags: int, /) -> memoryview: ...

class _InstanceDtype:
    """``x.dtype``: the NumPy dtype of the instance's type (ferrotype only)."""

    def __get__(self, obj: object, cls: type | None = None) -> _np_dtype[Any]: ...

@type_check_only
class _CanCastTo(_CData): ...

@type_check_only
class _PointerLike(_CanCastTo): ...

@_native_base
class _SimpleCData(_CData, Generic[_T], metaclass=PyCSimpleType):
    """Base of the simple types: one C value, read and written as ``value``."""

    _type_: ClassVar[str]
    value: _T
    # The TypeVar can be unsolved here (`c_int()`), as in typeshed.
    def __init__(self, value: _T = ..., /) -> None: ...  # pyright: ignore[reportInvalidTypeVarUse]
    def __bool__(self) -> bool: ...

@_native_base
class _Pointer(_PointerLike, _CData, Generic[_CT], metaclass=PyCPointerType):
    """Base of the pointer types; ``contents`` is the object pointed to."""

    _type_: type[_CT]
    contents: _CT
    @overload
    def __init__(self) -> None: ...
    @overload
    def __init__(self, arg: _CT, /) -> None: ...
    @overload
    def __getitem__(self, key: int, /) -> Any: ...
    @overload
    def __getitem__(self, key: slice, /) -> list[Any]: ...
    def __setitem__(self, key: int, value: Any, /) -> None: ...
    def __delitem__(self, key: int | slice, /) -> None: ...
    def __bool__(self) -> bool: ...

@_native_base
class Array(_CData, Generic[_CT], metaclass=PyCArrayType):
    """Base of the array types (``c_int * 4``).

    Items of a simple type read as Python values (``int``, ``bytes``, ...), other items
    as objects sharing the array's memory.
    """

    @property
    @abstractmethod
    def _length_(self) -> int: ...
    @_length_.setter
    def _length_(self, value: int) -> None: ...
    @property
    @abstractmethod
    def _type_(self) -> type[_CT]: ...
    @_type_.setter
    def _type_(self, value: type[_CT]) -> None: ...
    # Only on arrays of c_char (raw, value: bytes) and c_wchar (value: str).
    raw: bytes
    value: Any
    def __init__(self, *args: Any) -> None: ...
    @overload
    def __getitem__(self, key: int, /) -> Any: ...
    @overload
    def __getitem__(self, key: slice, /) -> list[Any]: ...
    @overload
    def __setitem__(self, key: int, value: Any, /) -> None: ...
    @overload
    def __setitem__(self, key: slice, value: Iterable[Any], /) -> None: ...
    def __delitem__(self, key: int | slice, /) -> None: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __len__(self) -> int: ...
    def __class_getitem__(cls, item: Any, /) -> GenericAlias: ...

_PF = tuple[int] | tuple[int, str | None] | tuple[int, str | None, Any]

@disjoint_base
class CFuncPtr(_PointerLike, _CData, metaclass=PyCFuncPtrType):
    """Base of the function pointer types.

    Set ``argtypes``, ``restype`` and ``errcheck`` as in ctypes. ferrotype adds
    ``release_gil`` (release the GIL during calls; default True, False for ``PyDLL``)
    and ``variadic`` (call as a C variadic function).
    """

    restype: type[_CData] | Callable[[int], Any] | None
    argtypes: Sequence[type[_CData]]
    errcheck: Callable[[Any, CFuncPtr, tuple[Any, ...]], Any]
    release_gil: bool
    variadic: bool
    _flags_: ClassVar[int]
    @overload
    def __new__(cls) -> Self: ...
    @overload
    def __new__(cls, address: int, /) -> Self: ...
    @overload
    def __new__(cls, callable: Callable[..., Any], /) -> Self: ...
    @overload
    def __new__(
        cls, func_spec: tuple[str | int, CDLL], paramflags: tuple[_PF, ...] | None = ..., /
    ) -> Self: ...
    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...
    def __bool__(self) -> bool: ...

_FieldSpec = tuple[str, type[_CData]] | tuple[str, type[_CData], int]

@_native_base
class Structure(_CData, metaclass=PyCStructType):
    """Base of the structure types; the fields come from ``_fields_``."""

    _fields_: ClassVar[Sequence[_FieldSpec]]
    _pack_: ClassVar[int]
    _anonymous_: ClassVar[Sequence[str]]
    if sys.version_info >= (3, 13):
        _align_: ClassVar[int]
    if sys.version_info >= (3, 14):
        _layout_: ClassVar[Literal["ms", "gcc-sysv"]]
    def __init__(self, *args: Any, **kw: Any) -> None: ...
    # Fields are descriptors made from `_fields_`: their values are not known statically.
    def __getattr__(self, name: str, /) -> Any: ...
    def __setattr__(self, name: str, value: Any, /) -> None: ...

@_native_base
class Union(_CData, metaclass=UnionType):
    """Base of the union types; the fields come from ``_fields_``."""

    _fields_: ClassVar[Sequence[_FieldSpec]]
    _pack_: ClassVar[int]
    _anonymous_: ClassVar[Sequence[str]]
    if sys.version_info >= (3, 13):
        _align_: ClassVar[int]
    if sys.version_info >= (3, 14):
        _layout_: ClassVar[Literal["ms", "gcc-sysv"]]
    def __init__(self, *args: Any, **kw: Any) -> None: ...
    def __getattr__(self, name: str, /) -> Any: ...
    def __setattr__(self, name: str, value: Any, /) -> None: ...

@final
class _CField(Generic[_CT, _GetT, _SetT]):
    """A field of a structure or union (``CField`` in ctypes from 3.14)."""

    def __new__(
        cls,
        *,
        name: str,
        type: builtins.type[_CT],
        byte_size: int,
        byte_offset: int,
        index: int,
        _internal_use: bool,
        bit_size: int | None = None,
        bit_offset: int | None = None,
    ) -> Self: ...
    @property
    def offset(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def type(self) -> builtins.type[_CT]: ...
    @property
    def byte_offset(self) -> int: ...
    @property
    def byte_size(self) -> int: ...
    @property
    def is_bitfield(self) -> bool: ...
    @property
    def bit_offset(self) -> int: ...
    @property
    def bit_size(self) -> int: ...
    @property
    def is_anonymous(self) -> bool: ...
    @overload
    def __get__(self, instance: None, owner: builtins.type[Any] | None = None, /) -> Self: ...
    @overload
    def __get__(self, instance: Any, owner: builtins.type[Any] | None = None, /) -> _GetT: ...
    def __set__(self, instance: Any, value: _SetT, /) -> None: ...
    def __delete__(self, instance: Any, /) -> None: ...

if sys.version_info >= (3, 14):
    CField = _CField

# ---- functions ---------------------------------------------------------------------------

def addressof(obj: _CData, /) -> int:
    """The address of the memory of ``obj``."""

def alignment(obj: _CData | type[_CData]) -> int:
    """The alignment in bytes of a ctypes type or instance."""

def sizeof(obj: _CData | type[_CData], /) -> int:
    """The size in bytes of a ctypes type or instance."""

def byref(obj: _CData, offset: int = ...) -> _CArgObject:
    """A light-weight pointer to ``obj`` (plus ``offset`` bytes), only for passing as an
    argument."""

def resize(obj: _CData, size: int) -> None:
    """Grow the memory of ``obj`` to ``size`` bytes (its type stays the same)."""

def get_errno() -> int:
    """The ctypes-private copy of ``errno`` (functions loaded with ``use_errno=True``)."""

def set_errno(value: int) -> int:
    """Set the ctypes-private copy of ``errno``; returns the old value."""

def buffer_info(obj: _CData | type[_CData]) -> tuple[str | None, int, tuple[int, ...]]: ...
def PyObj_FromPtr(address: int) -> Any: ...
def Py_INCREF(obj: _T) -> _T: ...
def Py_DECREF(obj: _T) -> _T: ...
def dlopen(name: StrOrBytesPath | None, mode: int = ...) -> int: ...
def dlsym(handle: int, name: str) -> int: ...
def dlclose(handle: int) -> None: ...
def call_function(address: int, arguments: tuple[Any, ...], /) -> int: ...
def call_cdeclfunction(address: int, arguments: tuple[Any, ...], /) -> int: ...
def _unpickle(cls: type[_CT], state: tuple[Any, ...]) -> _CT: ...

if sys.version_info < (3, 14):
    # From 3.14 these live in ctypes itself.
    @overload
    def POINTER(cls: None) -> type[c_void_p]: ...
    @overload
    def POINTER(cls: type[_CT]) -> type[_Pointer[_CT]]: ...
    @overload
    def POINTER(cls: str) -> type[_Pointer[Any]]: ...
    def pointer(obj: _CT) -> _Pointer[_CT]:
        """A new pointer instance pointing to ``obj``."""
    _pointer_type_cache: dict[Any, type[Any]]
