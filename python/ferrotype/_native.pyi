"""Type stubs of the ``ferrotype._native`` extension (the Rust side of ferrotype).

The data classes are made here but take their metaclass (and their public home) in
``ferrotype._ctypes``; their stubs live there and are re-exported below.
"""

import sys
from collections.abc import Callable
from typing import Any, Final, Self, TypeVar, final

from _typeshed import ReadableBuffer, StrOrBytesPath, WriteableBuffer

from ._ctypes import (
    Array as Array,
)
from ._ctypes import (
    CFuncPtr as CFuncPtr,
)
from ._ctypes import (
    Structure as Structure,
)
from ._ctypes import (
    Union as Union,
)
from ._ctypes import (
    _CData as _CData,
)
from ._ctypes import (
    _CField,
)
from ._ctypes import (
    _Pointer as _Pointer,
)
from ._ctypes import (
    _SimpleCData as _SimpleCData,
)

_T = TypeVar("_T")
_D = TypeVar("_D", bound=_CData)

__all__ = [
    "PACKAGE_VERSION",
    "_CData",
    "_SimpleCData",
    "Array",
    "_Pointer",
    "CFuncPtr",
    "CArgObject",
    "StgInfo",
    "Structure",
    "Union",
    "CField",
    "CharArrayAttr",
    "NdSpec",
    "ArgumentError",
    "init_struct_type",
    "struct_type_new",
    "union_type_new",
    "struct_type_init",
    "union_type_init",
    "set_struct_fields",
    "init_simple_type",
    "init_array_type",
    "init_pointer_type",
    "set_pointer_type",
    "init_funcptr_type",
    "char_array_get_value",
    "_set_char_types",
    "create_string_buffer",
    "create_unicode_buffer",
    "char_array_set_value",
    "char_array_get_raw",
    "char_array_set_raw",
    "debug_callbacks",
    "_set_callback_trampolines",
    "_callback_trampoline",
    "_set_register_calls",
    "_register_plan",
    "strict",
    "is_strict",
    "StrictMode",
    "_set_metaclass",
    "_make_immutable",
    "dtype_spec",
    "ndarray_facts",
    "as_array",
    "as_ctypes",
    "_numpy_c_api",
    "_set_numpy_spec",
    "_fields_are_native",
    "struct_layout",
    "cdef_parse",
    "sizeof",
    "alignment",
    "byref",
    "addressof",
    "cast",
    "memmove",
    "memset",
    "string_at",
    "wstring_at",
    "memoryview_at",
    "dllist",
    "get_errno",
    "set_errno",
    "dlopen",
    "dlsym",
    "dlclose",
    "from_address",
    "in_dll",
    "from_buffer",
    "from_buffer_copy",
    "resize",
    "view_keeping",
    "keep_alive",
    "_unpickle",
    "PyObj_FromPtr",
    "Py_INCREF",
    "Py_DECREF",
    "buffer_info",
    "simple_from_param",
    "pointer_from_param",
    "generic_from_param",
    "_slot_report",
    "FUNCFLAG_CDECL",
    "FUNCFLAG_HRESULT",
    "FUNCFLAG_PYTHONAPI",
    "FUNCFLAG_USE_ERRNO",
    "FUNCFLAG_USE_LASTERROR",
    "RTLD_LOCAL",
    "RTLD_GLOBAL",
    "DEFAULT_MODE",
    "SIZEOF_TIME_T",
    "CTYPES_MAX_ARGCOUNT",
    "_memmove_addr",
    "_memset_addr",
    "_string_at_addr",
    "_wstring_at_addr",
    "_cast_addr",
    "_ldcache_find",
]
if sys.version_info >= (3, 14):
    __all__ += ["_memoryview_at_addr"]

#: The package's version, from its one source (the workspace's Cargo.toml).
PACKAGE_VERSION: Final[str]
DEFAULT_MODE: Final[int]
RTLD_LOCAL: Final[int]
RTLD_GLOBAL: Final[int]
FUNCFLAG_CDECL: Final = 1
FUNCFLAG_HRESULT: Final = 2
FUNCFLAG_PYTHONAPI: Final = 4
FUNCFLAG_USE_ERRNO: Final = 8
FUNCFLAG_USE_LASTERROR: Final = 16
SIZEOF_TIME_T: Final[int]
CTYPES_MAX_ARGCOUNT: Final[int]
_memmove_addr: Final[int]
_memset_addr: Final[int]
_string_at_addr: Final[int]
_wstring_at_addr: Final[int]
_cast_addr: Final[int]
if sys.version_info >= (3, 14):
    _memoryview_at_addr: Final[int]

class ArgumentError(Exception):
    """A foreign function's argument could not be converted."""

# `CField` is public in ctypes from 3.14; the class exists in every version.
CField = _CField

@final
class StgInfo:
    """A type's layout and conversion information, computed once per class."""

    @property
    def size(self) -> int: ...
    @property
    def align(self) -> int: ...
    @property
    def length(self) -> int: ...
    @property
    def format(self) -> str | None: ...

@final
class CArgObject:
    """What ``byref()`` returns: a reference to a ctypes object, valid only as an argument."""

    @property
    def _obj(self) -> Any: ...

@final
class CharArrayAttr:
    """``value`` (or ``raw``) of the character array classes."""

    def __new__(cls, raw: bool) -> Self: ...
    def __get__(self, instance: Any, owner: Any = None, /) -> Any: ...
    def __set__(self, instance: Any, value: Any, /) -> None: ...
    def __delete__(self, instance: Any, /) -> None: ...

@final
class NdSpec:
    """The requirements of an ``ndpointer`` class, checked in Rust on every argument."""

    def __new__(
        cls,
        ndarray: type[Any],
        asarray: Callable[[Any], Any],
        dtype: Any,
        ndim: int | None,
        shape: tuple[int, ...] | None,
        flags: int | None,
        nullable: bool,
        dtype_text: str,
        shape_text: str,
        flags_text: str,
    ) -> Self: ...
    def from_param(self, /, obj: Any) -> Any: ...

@final
class StrictMode:
    """What ``ferrotype.strict()`` returns: the setting applied and the one it replaced.

    Usable as a context manager, which restores the previous setting on exit.
    """

    @property
    def enabled(self) -> bool: ...
    @property
    def previous(self) -> bool: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> bool: ...
    def __bool__(self) -> bool: ...

def strict(enabled: bool = True) -> StrictMode:
    """Turn strict mode on (or off) for the whole process (ferrotype only).

    Strict mode refuses integers too wide for their C type (ctypes truncates them) and
    checks pointer provenance. Used in a ``with`` statement, the previous setting comes
    back when the block exits.
    """

def is_strict() -> bool:
    """Whether strict mode is on."""

def debug_callbacks(on: bool) -> bool: ...
def _set_callback_trampolines(on: bool) -> bool: ...
def _callback_trampoline(thunk: object) -> bool: ...
def _set_register_calls(on: bool) -> bool: ...
def _register_plan(func: CFuncPtr) -> tuple[int, bool] | None: ...
def _set_metaclass(cls: type, meta: type) -> None: ...
def _make_immutable(cls: type) -> None: ...
def _set_char_types(c_char: type, c_wchar: type) -> None: ...
def _slot_report(cls: type) -> Any: ...
def _unpickle(cls: type[_D], state: tuple[Any, ...]) -> _D: ...
def _ldcache_find(name: str) -> str | None: ...

# Type set-up, called by the metaclasses of ferrotype._ctypes.
def init_simple_type(cls: type, swapped: bool = False) -> None: ...
def init_array_type(cls: type) -> None: ...
def init_pointer_type(cls: type) -> None: ...
def set_pointer_type(cls: type, typ: Any) -> None: ...
def init_funcptr_type(cls: type) -> None: ...
def init_struct_type(cls: type, is_union: bool, fields: Any = None) -> None: ...
def struct_type_new(*args: Any, **kwargs: Any) -> Any: ...
def union_type_new(*args: Any, **kwargs: Any) -> Any: ...

# `__init__` of the structure and union metaclasses (3.13+), bound as methods.
struct_type_init: Any
union_type_init: Any

def set_struct_fields(cls: type, is_union: bool, fields: Any) -> None: ...
def char_array_get_value(obj: Any) -> bytes | str: ...
def char_array_set_value(obj: Any, value: bytes | str) -> None: ...
def char_array_get_raw(obj: Any) -> bytes: ...
def char_array_set_raw(obj: Any, value: ReadableBuffer) -> None: ...
def dtype_spec(cls: type) -> Any: ...
def as_array(obj: Any, shape: Any = None) -> Any:
    """``ctypeslib.as_array``: a NumPy array viewing ``obj``'s memory (Python slow path
    for what the fast path does not handle)."""

def as_ctypes(obj: Any, readonly: bool = False) -> Any:
    """``ctypeslib.as_ctypes``: a ferrotype object viewing an array's memory."""

def _numpy_c_api(capsule: Any) -> bool: ...
def _set_numpy_spec(cls: type, spec: tuple[Any, ...]) -> None: ...
def _fields_are_native(fields: Any) -> bool: ...
def ndarray_facts(
    obj: Any, ndarray: type[Any]
) -> tuple[int, tuple[int, ...], bool, bool, Any] | None: ...
def struct_layout(cls: type) -> dict[str, Any]: ...
def cdef_parse(
    source: str, recover: bool = False, keep_files: list[str] | None = None
) -> dict[str, Any]: ...
def simple_from_param(cls: type, obj: Any) -> Any: ...
def pointer_from_param(cls: type, obj: Any) -> Any: ...
def generic_from_param(cls: type, obj: Any) -> Any: ...
def from_address(cls: type[_D], address: int) -> _D: ...
def in_dll(cls: type[_D], dll: Any, name: str) -> _D: ...
def from_buffer(
    cls: type[_D], obj: WriteableBuffer, offset: int = ..., readonly: bool = False
) -> _D: ...
def from_buffer_copy(cls: type[_D], obj: ReadableBuffer, offset: int = ...) -> _D: ...
def view_keeping(cls: type[_D], address: int, owner: object, readonly: bool) -> _D: ...
def keep_alive(obj: _CData, value: object) -> None: ...

# The functions of ctypes (ferrotype's public module wraps or re-exports them).
def create_string_buffer(init: bytes | int, size: int | None = None) -> Array[Any]: ...
def create_unicode_buffer(init: str | int, size: int | None = None) -> Array[Any]: ...
def sizeof(obj: _CData | type[_CData], /) -> int: ...
def alignment(obj: _CData | type[_CData]) -> int: ...
def byref(obj: _CData, offset: int = ...) -> CArgObject: ...
def addressof(obj: _CData, /) -> int: ...
def cast(obj: _CData | CArgObject | int | None, typ: type[_D]) -> _D: ...
def memmove(dst: Any, src: Any, count: int) -> int: ...
def memset(dst: Any, c: int, count: int) -> int: ...
def string_at(ptr: Any, size: int) -> bytes: ...
def wstring_at(ptr: Any, size: int) -> str: ...
def memoryview_at(ptr: Any, size: int, readonly: bool) -> memoryview: ...
def dllist() -> list[str]: ...
def get_errno() -> int: ...
def set_errno(value: int) -> int: ...
def dlopen(name: StrOrBytesPath | None, mode: int = ...) -> int: ...
def dlsym(handle: int, name: str) -> int: ...
def dlclose(handle: int) -> None: ...
def resize(obj: _CData, size: int) -> None: ...
def PyObj_FromPtr(address: int) -> Any: ...
def Py_INCREF(obj: _T) -> _T: ...
def Py_DECREF(obj: _T) -> _T: ...
def buffer_info(obj: _CData | type[_CData]) -> tuple[str | None, int, tuple[int, ...]]: ...
