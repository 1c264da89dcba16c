"""ferrotype: a fast, safe, drop-in replacement for ``ctypes``, written in Rust.

Use it as ``import ferrotype as ctypes``. The names here are those of the standard
library's ``ctypes`` module; the work happens in the ``_native`` extension.
"""

import os as _os
import sys as _sys
import types as _types
from struct import calcsize as _calcsize

from . import _native, _version
from ._ctypes import (
    DEFAULT_MODE,
    RTLD_GLOBAL,
    RTLD_LOCAL,
    ArgumentError,
    Array,
    Structure,
    Union,
    _Pointer,
    _SimpleCData,
    addressof,
    alignment,
    byref,
    get_errno,
    resize,
    set_errno,
    sizeof,
)
from ._ctypes import (
    FUNCFLAG_CDECL as _FUNCFLAG_CDECL,
)
from ._ctypes import (
    FUNCFLAG_PYTHONAPI as _FUNCFLAG_PYTHONAPI,
)
from ._ctypes import (
    FUNCFLAG_USE_ERRNO as _FUNCFLAG_USE_ERRNO,
)
from ._ctypes import (
    FUNCFLAG_USE_LASTERROR as _FUNCFLAG_USE_LASTERROR,
)
from ._ctypes import CFuncPtr as _CFuncPtr
from ._ctypes import dlopen as _dlopen

if _version.CFIELD_PUBLIC:
    from ._ctypes import CField

if _version.POINTER_TYPE_ATTR:
    from ._pointer_cache import (
        POINTER,
        _pointer_type_cache,
        _pointer_type_cache_fallback,
        _PointerTypeCache,
        pointer,
    )
else:
    from ._ctypes import POINTER, _pointer_type_cache, pointer

if not _version.VERSION_DEPRECATED:  # (else `__version__` warns: see __getattr__)
    __version__ = "1.1.0"  # the ctypes version this module mirrors
    _ctypes_version = __version__  # ctypes: _ctypes.__version__, checked equal to it


def _check_size(typ, typecode=None):
    """ctypes' import-time check that ``sizeof(typ)`` equals ``struct.calcsize`` of its
    type code (or of ``typecode``): ``SystemError`` when they differ."""
    expected = _calcsize(typ._type_ if typecode is None else typecode)
    if sizeof(typ) != expected:
        raise SystemError(f"sizeof({typ}) wrong: {sizeof(typ)} instead of {expected}")


def debug_callbacks(on=True):
    """Callback debug mode (ferrotype only). While on, a callback object that is freed
    keeps its C trampoline, marked dead: C code calling it later gets a zero result and
    the foreign call that triggered it raises ``RuntimeError`` (on threads Python did not
    create, the error goes to ``sys.unraisablehook``) instead of jumping into freed
    memory. Costs a few dozen bytes per freed callback. Also enabled by the environment
    variable ``FERROTYPE_DEBUG_CALLBACKS=1``. Returns the previous setting."""
    return _native.debug_callbacks(bool(on))


if _os.environ.get("FERROTYPE_DEBUG_CALLBACKS", "") not in ("", "0"):
    debug_callbacks(True)

_c_functype_cache = {}


def CFUNCTYPE(restype, *argtypes, use_errno=False, use_last_error=False):
    """A C function pointer type (cached per signature)."""
    flags = _FUNCFLAG_CDECL
    if use_errno:
        flags |= _FUNCFLAG_USE_ERRNO
    if use_last_error:
        flags |= _FUNCFLAG_USE_LASTERROR
    key = (restype, argtypes, flags)
    try:
        return _c_functype_cache[key]
    except KeyError:
        pass

    class CFunctionType(_CFuncPtr):
        _argtypes_ = argtypes
        _restype_ = restype
        _flags_ = flags

    _c_functype_cache[key] = CFunctionType
    return CFunctionType


def PYFUNCTYPE(restype, *argtypes):
    """A function pointer type for functions that use the Python C API."""

    class CFunctionType(_CFuncPtr):
        _argtypes_ = argtypes
        _restype_ = restype
        _flags_ = _FUNCFLAG_CDECL | _FUNCFLAG_PYTHONAPI

    return CFunctionType


# The simple types. Where two C types have the same size, ctypes makes one name an
# alias of the other; we follow the same rules so identities match.
class py_object(_SimpleCData):
    _type_ = "O"

    if _version.PY_OBJECT_GENERIC:
        __class_getitem__ = classmethod(_types.GenericAlias)

    def __repr__(self):
        try:
            return super().__repr__()
        except ValueError:
            return f"{type(self).__name__}(<NULL>)"


class c_short(_SimpleCData):
    _type_ = "h"


class c_ushort(_SimpleCData):
    _type_ = "H"


class c_long(_SimpleCData):
    _type_ = "l"


class c_ulong(_SimpleCData):
    _type_ = "L"


if sizeof(c_long) == 4:
    c_int = c_long
    c_uint = c_ulong
else:

    class c_int(_SimpleCData):
        _type_ = "i"

    class c_uint(_SimpleCData):
        _type_ = "I"


class c_float(_SimpleCData):
    _type_ = "f"


class c_double(_SimpleCData):
    _type_ = "d"


class c_float16(_SimpleCData):
    """IEEE 754 half precision (C ``_Float16``) in 2 bytes; ferrotype only.

    Values round to the nearest half as ``numpy.float16`` does. Fields, arrays and
    buffers of it work; libffi cannot pass it, so it cannot be a call's argument or
    result (``TypeError``).
    """

    _type_ = "e"


class c_longdouble(_SimpleCData):
    _type_ = "g"


if sizeof(c_longdouble) == sizeof(c_double):
    c_longdouble = c_double

if _version.HAS_COMPLEX_TYPES:

    class c_double_complex(_SimpleCData):
        _type_ = _version.COMPLEX_TYPE_CODES[1]

    class c_float_complex(_SimpleCData):
        _type_ = _version.COMPLEX_TYPE_CODES[0]

    class c_longdouble_complex(_SimpleCData):
        _type_ = _version.COMPLEX_TYPE_CODES[2]


if sizeof(c_long) == 8:
    c_longlong = c_long
    c_ulonglong = c_ulong
else:

    class c_longlong(_SimpleCData):
        _type_ = "q"

    class c_ulonglong(_SimpleCData):
        _type_ = "Q"


class c_ubyte(_SimpleCData):
    _type_ = "B"


class c_byte(_SimpleCData):
    _type_ = "b"


class c_char(_SimpleCData):
    _type_ = "c"


class c_char_p(_SimpleCData):
    _type_ = "z"

    def __repr__(self):
        return f"{type(self).__name__}({c_void_p.from_address(addressof(self)).value})"


class c_void_p(_SimpleCData):
    _type_ = "P"


c_voidp = c_void_p  # backwards compatibility (to a bug)


class c_bool(_SimpleCData):
    _type_ = "?"


class c_wchar_p(_SimpleCData):
    _type_ = "Z"

    def __repr__(self):
        return f"{type(self).__name__}({c_void_p.from_address(addressof(self)).value})"


class c_wchar(_SimpleCData):
    _type_ = "u"


def _reset_cache():
    """Forgets the cached pointer and function types (ctypes' function of that name)."""
    if _version.POINTER_TYPE_ATTR:
        _pointer_type_cache_fallback.clear()
    else:
        _pointer_type_cache.clear()
    _c_functype_cache.clear()
    # As in ctypes: pointer-to-character arguments convert as character strings do
    # (bytes for POINTER(c_char), str for POINTER(c_wchar)).
    POINTER(c_wchar).from_param = c_wchar_p.from_param
    POINTER(c_char).from_param = c_char_p.from_param
    if not _version.POINTER_TYPE_ATTR:
        _pointer_type_cache[None] = c_void_p


_reset_cache()


if sizeof(c_uint) == sizeof(c_void_p):
    c_size_t = c_uint
    c_ssize_t = c_int
elif sizeof(c_ulong) == sizeof(c_void_p):
    c_size_t = c_ulong
    c_ssize_t = c_long
elif sizeof(c_ulonglong) == sizeof(c_void_p):
    c_size_t = c_ulonglong
    c_ssize_t = c_longlong

c_int8 = c_byte
c_uint8 = c_ubyte
for _kind in (c_short, c_int, c_long, c_longlong):
    if sizeof(_kind) == 2:
        c_int16 = _kind
    elif sizeof(_kind) == 4:
        c_int32 = _kind
    elif sizeof(_kind) == 8:
        c_int64 = _kind
for _kind in (c_ushort, c_uint, c_ulong, c_ulonglong):
    if sizeof(_kind) == 2:
        c_uint16 = _kind
    elif sizeof(_kind) == 4:
        c_uint32 = _kind
    elif sizeof(_kind) == 8:
        c_uint64 = _kind
del _kind

if _version.HAS_TIME_T:
    from ._ctypes import SIZEOF_TIME_T

    if SIZEOF_TIME_T == 8:
        c_time_t = c_int64
    elif SIZEOF_TIME_T == 4:
        c_time_t = c_int32


# Native: ctypes' rules (bytes/str NUL-terminated, or a size; TypeError(init) for
# anything else), with the array class found in a per-length cache.
_native._set_char_types(c_char, c_wchar)
create_string_buffer = _native.create_string_buffer
c_buffer = create_string_buffer
create_unicode_buffer = _native.create_unicode_buffer


if _version.HAS_SETPOINTERTYPE:

    def SetPointerType(pointer, cls):
        """Completes the incomplete pointer type ``pointer`` (made by
        ``POINTER("name")``) with ``cls`` (deprecated: use ``pointer.set_type(cls)``)."""
        if _version.SETPOINTERTYPE_DEPRECATED:
            _version.warn_deprecated("ctypes.SetPointerType", remove=(3, 15))
        if _version.POINTER_TYPE_ATTR:
            # set_type records it as cls.__pointer_type__ if cls has none.
            pointer.set_type(cls)
            return
        if _pointer_type_cache.get(cls) is not None:
            raise RuntimeError("This type already exists in the cache")
        if id(pointer) not in _pointer_type_cache:
            raise RuntimeError("What's this???")
        pointer.set_type(cls)
        # Cached under the completed type from now on, no longer under its id.
        _pointer_type_cache[cls] = _pointer_type_cache.pop(id(pointer))


def ARRAY(typ, len):
    return typ * len


class CDLL:
    """A loaded shared library whose functions use the C calling convention and return
    ``int`` unless told otherwise. The GIL is released during calls."""

    _func_flags_ = _FUNCFLAG_CDECL
    _func_restype_ = c_int
    _name = "<uninitialized>"
    _handle = 0
    _FuncPtr = None

    def __init__(
        self,
        name,
        mode=DEFAULT_MODE,
        handle=None,
        use_errno=False,
        use_last_error=False,
        winmode=None,
    ):
        if name and _version.CDLL_NAME_IS_FSPATH:
            name = _os.fspath(name)
        self._name = name
        flags = self._func_flags_
        if use_errno:
            flags |= _FUNCFLAG_USE_ERRNO
        if use_last_error:
            flags |= _FUNCFLAG_USE_LASTERROR

        class _FuncPtr(_CFuncPtr):
            _flags_ = flags
            _restype_ = self._func_restype_

        self._FuncPtr = _FuncPtr
        if handle is None:
            self._handle = _dlopen(self._name, mode)
        else:
            self._handle = handle

    def __repr__(self):
        mask = _sys.maxsize * 2 + 1
        handle = self._handle & mask
        return f"<{type(self).__name__} '{self._name}', handle {handle:x} at {id(self) & mask:#x}>"

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        func = self.__getitem__(name)
        setattr(self, name, func)
        return func

    def __getitem__(self, name_or_ordinal):
        func = self._FuncPtr((name_or_ordinal, self))
        if not isinstance(name_or_ordinal, int):
            func.__name__ = name_or_ordinal
        return func


class PyDLL(CDLL):
    """Like ``CDLL``, but the GIL is held during calls and a Python error set by
    the function is raised."""

    _func_flags_ = _FUNCFLAG_CDECL | _FUNCFLAG_PYTHONAPI


class LibraryLoader:
    """Loads libraries by attribute access: ``cdll.LoadLibrary(name)``, ``cdll[name]``."""

    def __init__(self, dlltype):
        self._dlltype = dlltype

    def __getattr__(self, name):
        if name[0] == "_":
            raise AttributeError(name)
        if _version.LOADER_GETATTR_RAISES_ATTRIBUTE_ERROR:
            try:
                dll = self._dlltype(name)
            except OSError:
                raise AttributeError(name)  # noqa: B904 - ctypes chains it implicitly too
        else:
            dll = self._dlltype(name)
        setattr(self, name, dll)
        return dll

    def __getitem__(self, name):
        return getattr(self, name)

    def LoadLibrary(self, name):
        return self._dlltype(name)

    __class_getitem__ = classmethod(type(list[int]))


cdll = LibraryLoader(CDLL)
pydll = LibraryLoader(PyDLL)
pythonapi = PyDLL(None)

from ._native import cast as _native_cast  # noqa: E402
from ._native import memmove, memset  # noqa: E402


def string_at(ptr, size=-1):
    """string_at(ptr[, size]) -> string

    Return the byte string at void *ptr."""
    return _native.string_at(ptr, size)


def wstring_at(ptr, size=-1):
    """wstring_at(ptr[, size]) -> string

    Return the string at void *ptr."""
    return _native.wstring_at(ptr, size)


if _version.HAS_MEMORYVIEW_AT:

    def memoryview_at(ptr, size, readonly=False):
        """memoryview_at(ptr, size[, readonly]) -> memoryview

        Return a memoryview representing the memory at void *ptr."""
        return _native.memoryview_at(ptr, size, bool(readonly))


def cast(obj, typ):
    """``obj`` (an address, instance or bytes) as an instance of the pointer type ``typ``."""
    return _native_cast(obj, typ)


# ctypes' C functions by address, wrapped as ctypes' own module wraps them (ferrotype's
# public `cast`, `string_at`, ... above call the extension directly instead).
from ._ctypes import (  # noqa: E402
    _cast_addr,
    _memmove_addr,
    _memset_addr,
    _string_at_addr,
    _wstring_at_addr,
)

_cast = PYFUNCTYPE(py_object, c_void_p, py_object, py_object)(_cast_addr)
_string_at = PYFUNCTYPE(py_object, c_void_p, c_int)(_string_at_addr)
_wstring_at = PYFUNCTYPE(py_object, c_void_p, c_int)(_wstring_at_addr)
if _version.HAS_MEMORYVIEW_AT:
    from ._ctypes import _memoryview_at_addr  # noqa: E402

    _memoryview_at = PYFUNCTYPE(py_object, c_void_p, c_ssize_t, c_int)(_memoryview_at_addr)


from ._endian import (  # noqa: E402
    BigEndianStructure,
    BigEndianUnion,
    LittleEndianStructure,
    LittleEndianUnion,
)

# ferrotype only: ferrotype as the process's `ctypes` (see _install.py).
from ._install import install  # noqa: E402

# Strict mode (ferrotype only): checks ctypes does not make, such as integers too wide for
# their C type, which ctypes (and ferrotype by default) silently truncates.
from ._native import StrictMode, is_strict, strict  # noqa: E402, F401

#: The version of the ferrotype package (ferrotype only). It is written in one place, the
#: workspace's Cargo.toml, from which the extension (and the wheel's metadata) take it;
#: ``__version__`` is the ctypes version this module stands for, as in ctypes.
__ferrotype_version__: str = _native.PACKAGE_VERSION

# The tools beyond ctypes, imported on first use (PEP 562), so that `import ferrotype`
# costs about what `import ctypes` does and loads none of what they need (dataclasses,
# subprocess, tempfile, pickle...):
# - layout inspection: where the layout engine put every field, as data, a pahole-style
#   table and a byte map; check_layout holds a type against the C compiler;
# - binding from C declarations: a namespace of ordinary ferrotype types, functions and
#   constants from C text (see _cdef.py and docs/cdef.md), and stubs for it.
_LAZY = {
    "layout": "_inspect",
    "CCompilerError": "_inspect_check",
    "LayoutMismatch": "_inspect_check",
    "check_layout": "_inspect_check",
    "CDefError": "_cdef",
    "CDefNamespace": "_cdef",
    "Refusal": "_cdef",
    "cdef": "_cdef",
    "include": "_cdef",
    "stubgen": "_stubgen",
}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is not None:
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        globals()[name] = value
        return value
    if name == "__version__" and _version.VERSION_DEPRECATED:
        _version.warn_deprecated("__version__", remove=(3, 20))
        return "1.1.0"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_LAZY})
