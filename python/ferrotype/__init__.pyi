"""ferrotype: a fast, safe, drop-in replacement for ``ctypes``, written in Rust.

Use it as ``import ferrotype as ctypes``. The names are those of the running
interpreter's ``ctypes``, plus ferrotype's own: ``strict``, ``is_strict``,
``StrictMode``, ``install``, ``debug_callbacks``, ``c_float16``, ``layout``,
``check_layout``, ``CCompilerError``, ``LayoutMismatch``, ``cdef``, ``CDefNamespace``,
``Refusal``, ``CDefError``, ``include`` and ``stubgen``.
"""

import sys
from types import GenericAlias
from typing import Any, ClassVar, Final, Generic, Literal, TypeVar, overload, type_check_only

from _typeshed import StrPath
from typing_extensions import deprecated

from ._cdef import CDefError as CDefError
from ._cdef import CDefNamespace as CDefNamespace
from ._cdef import Refusal as Refusal
from ._cdef import cdef as cdef
from ._cdef import include as include
from ._ctypes import (
    DEFAULT_MODE as DEFAULT_MODE,
)
from ._ctypes import (
    RTLD_GLOBAL as RTLD_GLOBAL,
)
from ._ctypes import (
    RTLD_LOCAL as RTLD_LOCAL,
)
from ._ctypes import (
    ArgumentError as ArgumentError,
)
from ._ctypes import (
    Array as Array,
)
from ._ctypes import (
    CFuncPtr as _CFuncPtr,
)
from ._ctypes import (
    Structure as Structure,
)
from ._ctypes import (
    Union as Union,
)
from ._ctypes import (
    _CanCastTo,
    _CArgObject,
    _CData,
    _PointerLike,
)
from ._ctypes import (
    _Pointer as _Pointer,
)
from ._ctypes import (
    _SimpleCData as _SimpleCData,
)
from ._ctypes import (
    addressof as addressof,
)
from ._ctypes import (
    alignment as alignment,
)
from ._ctypes import (
    byref as byref,
)
from ._ctypes import (
    get_errno as get_errno,
)
from ._ctypes import (
    resize as resize,
)
from ._ctypes import (
    set_errno as set_errno,
)
from ._ctypes import (
    sizeof as sizeof,
)
from ._endian import (
    BigEndianStructure as BigEndianStructure,
)
from ._endian import (
    BigEndianUnion as BigEndianUnion,
)
from ._endian import (
    LittleEndianStructure as LittleEndianStructure,
)
from ._endian import (
    LittleEndianUnion as LittleEndianUnion,
)
from ._inspect import layout as layout
from ._inspect_check import CCompilerError as CCompilerError
from ._inspect_check import LayoutMismatch as LayoutMismatch
from ._inspect_check import check_layout as check_layout
from ._install import install as install
from ._native import StrictMode as StrictMode
from ._native import is_strict as is_strict
from ._native import strict as strict
from ._stubgen import stubgen as stubgen

if sys.version_info >= (3, 12):
    from ._ctypes import SIZEOF_TIME_T as SIZEOF_TIME_T
if sys.version_info >= (3, 14):
    from ._ctypes import CField as CField
else:
    from ._ctypes import POINTER as POINTER
    from ._ctypes import pointer as pointer

_T = TypeVar("_T")
_PyT = TypeVar("_PyT", default=Any)
_CT = TypeVar("_CT", bound=_CData)
_DLLT = TypeVar("_DLLT", bound=CDLL)
_CastT = TypeVar("_CastT", bound=_CanCastTo)

if sys.version_info < (3, 15):
    __version__: Final[str]
    _ctypes_version: Final[str]

#: ferrotype's own version (the package's; ``__version__`` is the ctypes version mirrored).
__ferrotype_version__: str

# The module's names, with the tools imported on first use (`layout`, `cdef`...).
def __dir__() -> list[str]: ...

if sys.version_info >= (3, 14):
    @overload
    @deprecated("ctypes.POINTER with string")
    def POINTER(cls: str) -> type[_Pointer[Any]]: ...
    @overload
    def POINTER(cls: None) -> type[c_void_p]: ...
    @overload
    def POINTER(cls: type[_CT]) -> type[_Pointer[_CT]]: ...
    def pointer(obj: _CT) -> _Pointer[_CT]:
        """A new ``POINTER(type(obj))`` instance pointing to ``obj``."""

# ---- libraries and functions -------------------------------------------------------------

# The function pointer class of a CDLL (made in CDLL.__init__; no name at runtime).
@type_check_only
class _CDLLFuncPointer(_CFuncPtr):
    _flags_: ClassVar[int]
    _restype_: ClassVar[type[_CData]]

# A _CDLLFuncPointer with its `__name__` set: what `lib.name` and `lib["name"]` give.
@type_check_only
class _NamedFuncPointer(_CDLLFuncPointer):
    __name__: str

# The classes CFUNCTYPE and PYFUNCTYPE make.
@type_check_only
class _CFunctionType(_CFuncPtr):
    _argtypes_: ClassVar[tuple[type[_CData], ...]]
    _restype_: ClassVar[type[_CData] | None]
    _flags_: ClassVar[int]

if sys.version_info >= (3, 12):
    _NameTypes = StrPath | None
else:
    _NameTypes = str | None

class CDLL:
    """A loaded shared library whose functions use the C calling convention and return
    ``int`` unless told otherwise. The GIL is released during calls."""

    _func_flags_: ClassVar[int]
    _func_restype_: ClassVar[type[_CData]]
    _name: str
    _handle: int
    _FuncPtr: type[_CDLLFuncPointer]
    def __init__(
        self,
        name: _NameTypes,
        mode: int = ...,
        handle: int | None = None,
        use_errno: bool = False,
        use_last_error: bool = False,
        winmode: int | None = None,
    ) -> None: ...
    def __getattr__(self, name: str) -> _NamedFuncPointer: ...
    def __getitem__(self, name_or_ordinal: str | int) -> _NamedFuncPointer: ...

class PyDLL(CDLL):
    """Like :class:`CDLL`, but the GIL is held during calls and a Python error set by
    the function is raised."""

class LibraryLoader(Generic[_DLLT]):
    """Loads libraries by attribute access: ``cdll.LoadLibrary(name)``, ``cdll[name]``."""

    def __init__(self, dlltype: type[_DLLT]) -> None: ...
    def __getattr__(self, name: str) -> _DLLT: ...
    def __getitem__(self, name: str) -> _DLLT: ...
    def LoadLibrary(self, name: str) -> _DLLT: ...
    def __class_getitem__(cls, item: Any, /) -> GenericAlias: ...

cdll: LibraryLoader[CDLL]
pydll: LibraryLoader[PyDLL]
pythonapi: PyDLL

def CFUNCTYPE(
    restype: type[_CData] | None,
    *argtypes: type[_CData],
    use_errno: bool = False,
    use_last_error: bool = False,
) -> type[_CFunctionType]:
    """A C function pointer type (cached per signature); call it with a Python callable
    to make a callback, or with an address."""

def PYFUNCTYPE(restype: type[_CData] | None, *argtypes: type[_CData]) -> type[_CFunctionType]:
    """A function pointer type for functions that use the Python C API."""

def debug_callbacks(on: bool = True) -> bool:
    """Callback debug mode (ferrotype only): a freed callback called from C raises
    ``RuntimeError`` instead of jumping into freed memory. Returns the previous setting."""

# ---- memory ------------------------------------------------------------------------------

# What converts to `void *` as an argument (bytes excluded, see below).
_CVoidPLike = _PointerLike | Array[Any] | _CArgObject | int
# The same plus bytes (read-only memory), for the source side.
_CVoidConstPLike = _CVoidPLike | bytes

def cast(obj: _CData | _CArgObject | int | None, typ: type[_CastT]) -> _CastT:
    """``obj`` (an address, instance or bytes) as an instance of the pointer type ``typ``."""

def create_string_buffer(init: int | bytes, size: int | None = None) -> Array[c_char]:
    """A mutable ``c_char`` array: of ``init`` bytes, or holding ``init`` and a NUL."""

c_buffer = create_string_buffer

def create_unicode_buffer(init: int | str, size: int | None = None) -> Array[c_wchar]:
    """A mutable ``c_wchar`` array: of ``init`` characters, or holding ``init`` and a NUL."""

def memmove(dst: _CVoidPLike, src: _CVoidConstPLike, count: int) -> int:
    """Copy ``count`` bytes from ``src`` to ``dst`` (may overlap); returns ``dst``'s address."""

def memset(dst: _CVoidPLike, c: int, count: int) -> int:
    """Fill ``count`` bytes at ``dst`` with ``c``; returns ``dst``'s address."""

def string_at(ptr: _CVoidConstPLike, size: int = -1) -> bytes:
    """The bytes at ``ptr``: ``size`` of them, or up to the first NUL."""

def wstring_at(ptr: _CVoidConstPLike, size: int = -1) -> str:
    """The wide string at ``ptr``: ``size`` characters, or up to the first NUL."""

if sys.version_info >= (3, 14):
    def memoryview_at(ptr: _CVoidConstPLike, size: int, readonly: bool = False) -> memoryview:
        """A memoryview of the ``size`` bytes at ``ptr`` (no copy)."""

if sys.version_info < (3, 13):
    def SetPointerType(pointer: type[_Pointer[Any]], cls: type[Any]) -> None:
        """Complete the incomplete pointer type ``pointer`` with ``cls``."""

elif sys.version_info < (3, 15):
    @deprecated("Deprecated; use pointer.set_type(cls). Removed in Python 3.15.")
    def SetPointerType(pointer: type[_Pointer[Any]], cls: type[Any]) -> None:
        """Complete the incomplete pointer type ``pointer`` with ``cls``."""

def ARRAY(typ: type[_CT], len: int) -> type[Array[_CT]]:
    """``typ * len`` (soft deprecated)."""

# ---- simple types ------------------------------------------------------------------------
# `__ctype_be__`/`__ctype_le__` are the type in that byte order: the class itself in the
# native order, else its byte-swapped twin, a class of its own (not a subclass).
# Where C types have the same size ctypes makes one name an alias of another; which ones
# depends on the platform, so the platform-dependent names are classes here (as typeshed
# has them), and only the aliases that hold everywhere are aliases.

class py_object(_CanCastTo, _SimpleCData[_PyT]):
    """A Python object (C ``PyObject *``)."""

    _type_: ClassVar[Literal["O"]]
    if sys.version_info >= (3, 14):
        def __class_getitem__(cls, item: Any, /) -> GenericAlias: ...

class c_bool(_SimpleCData[bool]):
    """C ``_Bool``."""

    _type_: ClassVar[Literal["?"]]
    __ctype_be__: ClassVar[type[_SimpleCData[bool]]]
    __ctype_le__: ClassVar[type[_SimpleCData[bool]]]
    def __init__(self, value: object = ..., /) -> None: ...

class c_byte(_SimpleCData[int]):
    """C ``signed char``."""

    _type_: ClassVar[Literal["b"]]
    __ctype_be__: ClassVar[type[_SimpleCData[int]]]
    __ctype_le__: ClassVar[type[_SimpleCData[int]]]

class c_ubyte(_SimpleCData[int]):
    """C ``unsigned char``."""

    _type_: ClassVar[Literal["B"]]
    __ctype_be__: ClassVar[type[_SimpleCData[int]]]
    __ctype_le__: ClassVar[type[_SimpleCData[int]]]

class c_short(_SimpleCData[int]):
    """C ``short``."""

    _type_: ClassVar[Literal["h"]]
    __ctype_be__: ClassVar[type[_SimpleCData[int]]]
    __ctype_le__: ClassVar[type[_SimpleCData[int]]]

class c_ushort(_SimpleCData[int]):
    """C ``unsigned short``."""

    _type_: ClassVar[Literal["H"]]
    __ctype_be__: ClassVar[type[_SimpleCData[int]]]
    __ctype_le__: ClassVar[type[_SimpleCData[int]]]

class c_int(_SimpleCData[int]):
    """C ``int`` (an alias of ``c_long`` where they have the same size)."""

    _type_: ClassVar[Literal["i", "l"]]
    __ctype_be__: ClassVar[type[_SimpleCData[int]]]
    __ctype_le__: ClassVar[type[_SimpleCData[int]]]

class c_uint(_SimpleCData[int]):
    """C ``unsigned int`` (an alias of ``c_ulong`` where they have the same size)."""

    _type_: ClassVar[Literal["I", "L"]]
    __ctype_be__: ClassVar[type[_SimpleCData[int]]]
    __ctype_le__: ClassVar[type[_SimpleCData[int]]]

class c_long(_SimpleCData[int]):
    """C ``long``."""

    _type_: ClassVar[Literal["l"]]
    __ctype_be__: ClassVar[type[_SimpleCData[int]]]
    __ctype_le__: ClassVar[type[_SimpleCData[int]]]

class c_ulong(_SimpleCData[int]):
    """C ``unsigned long``."""

    _type_: ClassVar[Literal["L"]]
    __ctype_be__: ClassVar[type[_SimpleCData[int]]]
    __ctype_le__: ClassVar[type[_SimpleCData[int]]]

class c_longlong(_SimpleCData[int]):
    """C ``long long`` (an alias of ``c_long`` where they have the same size)."""

    _type_: ClassVar[Literal["q", "l"]]
    __ctype_be__: ClassVar[type[_SimpleCData[int]]]
    __ctype_le__: ClassVar[type[_SimpleCData[int]]]

class c_ulonglong(_SimpleCData[int]):
    """C ``unsigned long long`` (an alias of ``c_ulong`` where they have the same size)."""

    _type_: ClassVar[Literal["Q", "L"]]
    __ctype_be__: ClassVar[type[_SimpleCData[int]]]
    __ctype_le__: ClassVar[type[_SimpleCData[int]]]

c_int8 = c_byte
c_uint8 = c_ubyte

class c_int16(_SimpleCData[int]):
    """A signed 16-bit integer (an alias of ``c_short``)."""

    _type_: ClassVar[Literal["h", "i"]]
    __ctype_be__: ClassVar[type[_SimpleCData[int]]]
    __ctype_le__: ClassVar[type[_SimpleCData[int]]]

class c_uint16(_SimpleCData[int]):
    """An unsigned 16-bit integer (an alias of ``c_ushort``)."""

    _type_: ClassVar[Literal["H", "I"]]
    __ctype_be__: ClassVar[type[_SimpleCData[int]]]
    __ctype_le__: ClassVar[type[_SimpleCData[int]]]

class c_int32(_SimpleCData[int]):
    """A signed 32-bit integer (an alias of ``c_int`` or ``c_long``)."""

    _type_: ClassVar[Literal["i", "l"]]
    __ctype_be__: ClassVar[type[_SimpleCData[int]]]
    __ctype_le__: ClassVar[type[_SimpleCData[int]]]

class c_uint32(_SimpleCData[int]):
    """An unsigned 32-bit integer (an alias of ``c_uint`` or ``c_ulong``)."""

    _type_: ClassVar[Literal["I", "L"]]
    __ctype_be__: ClassVar[type[_SimpleCData[int]]]
    __ctype_le__: ClassVar[type[_SimpleCData[int]]]

class c_int64(_SimpleCData[int]):
    """A signed 64-bit integer (an alias of ``c_long`` or ``c_longlong``)."""

    _type_: ClassVar[Literal["l", "q"]]
    __ctype_be__: ClassVar[type[_SimpleCData[int]]]
    __ctype_le__: ClassVar[type[_SimpleCData[int]]]

class c_uint64(_SimpleCData[int]):
    """An unsigned 64-bit integer (an alias of ``c_ulong`` or ``c_ulonglong``)."""

    _type_: ClassVar[Literal["L", "Q"]]
    __ctype_be__: ClassVar[type[_SimpleCData[int]]]
    __ctype_le__: ClassVar[type[_SimpleCData[int]]]

class c_ssize_t(_SimpleCData[int]):
    """C ``ssize_t`` (an alias of the signed integer type of its size)."""

    _type_: ClassVar[Literal["i", "l", "q"]]
    __ctype_be__: ClassVar[type[_SimpleCData[int]]]
    __ctype_le__: ClassVar[type[_SimpleCData[int]]]

class c_size_t(_SimpleCData[int]):
    """C ``size_t`` (an alias of the unsigned integer type of its size)."""

    _type_: ClassVar[Literal["I", "L", "Q"]]
    __ctype_be__: ClassVar[type[_SimpleCData[int]]]
    __ctype_le__: ClassVar[type[_SimpleCData[int]]]

if sys.version_info >= (3, 12):
    class c_time_t(_SimpleCData[int]):
        """C ``time_t`` (an alias of ``c_int32`` or ``c_int64``)."""

        _type_: ClassVar[Literal["i", "l", "q"]]
        __ctype_be__: ClassVar[type[_SimpleCData[int]]]
        __ctype_le__: ClassVar[type[_SimpleCData[int]]]

class c_float(_SimpleCData[float]):
    """C ``float``."""

    _type_: ClassVar[Literal["f"]]
    __ctype_be__: ClassVar[type[_SimpleCData[float]]]
    __ctype_le__: ClassVar[type[_SimpleCData[float]]]

class c_double(_SimpleCData[float]):
    """C ``double``."""

    _type_: ClassVar[Literal["d"]]
    __ctype_be__: ClassVar[type[_SimpleCData[float]]]
    __ctype_le__: ClassVar[type[_SimpleCData[float]]]

class c_longdouble(_SimpleCData[float]):
    """C ``long double`` (an alias of ``c_double`` where they have the same size)."""

    _type_: ClassVar[Literal["d", "g"]]

class c_float16(_SimpleCData[float]):
    """IEEE 754 half precision (C ``_Float16``) in 2 bytes; ferrotype only.

    Values round to the nearest half as ``numpy.float16`` does. Fields, arrays and
    buffers of it work; libffi cannot pass it, so it cannot be a call's argument or
    result (``TypeError``).
    """

    _type_: ClassVar[Literal["e"]]
    __ctype_be__: ClassVar[type[_SimpleCData[float]]]
    __ctype_le__: ClassVar[type[_SimpleCData[float]]]

if sys.version_info >= (3, 14):
    class c_float_complex(_SimpleCData[complex]):
        """C ``float complex``."""

        if sys.version_info >= (3, 15):
            _type_: ClassVar[Literal["Zf"]]
        else:
            _type_: ClassVar[Literal["F"]]
        __ctype_be__: ClassVar[type[_SimpleCData[complex]]]
        __ctype_le__: ClassVar[type[_SimpleCData[complex]]]

    class c_double_complex(_SimpleCData[complex]):
        """C ``double complex``."""

        if sys.version_info >= (3, 15):
            _type_: ClassVar[Literal["Zd"]]
        else:
            _type_: ClassVar[Literal["D"]]
        __ctype_be__: ClassVar[type[_SimpleCData[complex]]]
        __ctype_le__: ClassVar[type[_SimpleCData[complex]]]

    class c_longdouble_complex(_SimpleCData[complex]):
        """C ``long double complex``."""

        if sys.version_info >= (3, 15):
            _type_: ClassVar[Literal["Zg"]]
        else:
            _type_: ClassVar[Literal["G"]]

class c_char(_SimpleCData[bytes]):
    """C ``char``: one byte, read as ``bytes`` of length 1."""

    _type_: ClassVar[Literal["c"]]
    __ctype_be__: ClassVar[type[_SimpleCData[bytes]]]
    __ctype_le__: ClassVar[type[_SimpleCData[bytes]]]
    def __init__(self, value: int | bytes | bytearray = ..., /) -> None: ...

class c_char_p(_PointerLike, _SimpleCData[bytes | None]):
    """C ``char *``: a NUL-terminated byte string (``None`` for NULL)."""

    _type_: ClassVar[Literal["z"]]
    def __init__(self, value: int | bytes | None = ..., /) -> None: ...

class c_void_p(_PointerLike, _SimpleCData[int | None]):
    """C ``void *``: an address (``None`` for NULL)."""

    _type_: ClassVar[Literal["P"]]

c_voidp = c_void_p

class c_wchar(_SimpleCData[str]):
    """C ``wchar_t``: one character."""

    _type_: ClassVar[Literal["u"]]

class c_wchar_p(_PointerLike, _SimpleCData[str | None]):
    """C ``wchar_t *``: a NUL-terminated wide string (``None`` for NULL)."""

    _type_: ClassVar[Literal["Z"]]
    def __init__(self, value: int | str | None = ..., /) -> None: ...
