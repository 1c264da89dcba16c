"""What differs between the CPython versions ferrotype supports, in one place.

On interpreter 3.X, ferrotype behaves as 3.X's ``ctypes``. Every name, default and
behaviour of the Python layer that depends on the version is one flag here, named for
the behaviour and documented with the version that brought it; the rest of the package
reads these flags and never tests ``sys.version_info`` itself. The extension's own table
is ``crates/ferrotype-py/src/capi/version.rs``.
"""

import sys as _sys

PYTHON = _sys.version_info[:2]

#: 3.12: ``CDLL`` keeps ``os.fspath(name)`` as ``_name`` (3.11 keeps the object it was given).
CDLL_NAME_IS_FSPATH = PYTHON >= (3, 12)

#: 3.12: ``LibraryLoader``'s attribute access turns the loader's ``OSError`` into
#: ``AttributeError(name)``, so ``hasattr(cdll, name)`` is false for a missing library.
LOADER_GETATTR_RAISES_ATTRIBUTE_ERROR = PYTHON >= (3, 12)

#: 3.12: ``c_time_t`` and ``SIZEOF_TIME_T``.
HAS_TIME_T = PYTHON >= (3, 12)

#: 3.13: a ctypes class gets its type information in its metaclass's ``__init__``, not
#: ``__new__``: a class made by ``__new__`` alone is abstract, and calling ``__init__``
#: again raises SystemError.
METACLASS_INIT_LAYS_OUT = PYTHON >= (3, 13)

#: 3.14: ``CField`` (the type of structure fields) is public, in ``ctypes`` and ``_ctypes``.
CFIELD_PUBLIC = PYTHON >= (3, 14)

#: 3.14: ``c_bool`` has a byte-swapped twin, ``c_bool_be`` (a class of its own, although
#: one byte has no order), as ``BigEndianStructure`` fields of type ``c_bool`` use.
BOOL_HAS_SWAPPED_TWIN = PYTHON >= (3, 14)

#: 3.14: ``c_float_complex``, ``c_double_complex``, ``c_longdouble_complex``,
#: ``memoryview_at`` and ``dllist``.
HAS_COMPLEX_TYPES = PYTHON >= (3, 14)
HAS_MEMORYVIEW_AT = PYTHON >= (3, 14)
HAS_DLLIST = PYTHON >= (3, 14)

#: 3.14: ``py_object[T]`` is a generic alias (``py_object.__class_getitem__``).
PY_OBJECT_GENERIC = PYTHON >= (3, 14)

#: The complex types' ``_type_`` (float, double, long double): 3.14's ``F``, ``D``,
#: ``G``; 3.15 spells them ``Zf``, ``Zd``, ``Zg``.
COMPLEX_TYPE_CODES = ("Zf", "Zd", "Zg") if PYTHON >= (3, 15) else ("F", "D", "G")

#: 3.12: ``wintypes.BYTE`` is unsigned (``c_ubyte``; ``c_byte`` before).
WINTYPES_BYTE_UNSIGNED = PYTHON >= (3, 12)

#: 3.14: ``wintypes`` gains ``HCONV``, ``HCONVLIST``, ``HCURSOR``, ``HDDEDATA``,
#: ``HDROP``, ``HSZ`` (handles), ``HFILE`` (an ``INT``) and ``HRESULT`` (a ``LONG``).
WINTYPES_MORE_HANDLES = PYTHON >= (3, 14)

#: 3.13: ctypes' methods parse their arguments with Argument Clinic, which words the
#: errors differently (``set_type() takes at most 1 argument (2 given)`` instead of
#: ``LP_c_int.set_type() takes exactly one argument (2 given)``).
METHODS_USE_CLINIC = PYTHON >= (3, 13)

#: 3.13: ``ctypes.util``'s ELF check counts a file named in a linker trace that does
#: not exist as "not a library" (gh-114257) instead of raising FileNotFoundError.
UTIL_MISSING_FILE_NOT_ELF = PYTHON >= (3, 13)

#: 3.14: a pointer type is recorded on the type it points to, as ``T.__pointer_type__``
#: (set when the pointer type gets its ``_type_``, read by ``POINTER(T)``), instead of
#: in a dict. ``POINTER`` and ``pointer`` move from ``_ctypes`` to ``ctypes``;
#: ``ctypes._pointer_type_cache`` becomes a deprecated view of the attribute (with
#: ``_pointer_type_cache_fallback`` for what has no such attribute), and
#: ``POINTER("name")`` is deprecated.
POINTER_TYPE_ATTR = PYTHON >= (3, 14)

#: 3.13: ``ctypes._endian`` imports only what it uses from ctypes; before, it did
#: ``from ctypes import *``, so it has ctypes' public names (those defined before ctypes
#: imports it).
ENDIAN_HAS_CTYPES_NAMES = PYTHON < (3, 13)

#: 3.13: ``SetPointerType`` warns (DeprecationWarning). (From 3.14, with
#: ``POINTER_TYPE_ATTR``, it only calls ``set_type``.)
SETPOINTERTYPE_DEPRECATED = PYTHON >= (3, 13)

#: 3.15: ``SetPointerType`` is gone.
HAS_SETPOINTERTYPE = PYTHON < (3, 15)

#: 3.15: ``ctypes.__version__`` and ``_ctypes.__version__`` warn (DeprecationWarning,
#: through a module ``__getattr__``), and ``ctypes._ctypes_version`` is gone.
VERSION_DEPRECATED = PYTHON >= (3, 15)


def warn_deprecated(name, *, remove):
    """A DeprecationWarning as ctypes words it ("'name' is deprecated and slated for
    removal in Python 3.N"), reported at the caller of the function that calls this."""
    import warnings

    warnings.warn(
        f"{name!r} is deprecated and slated for removal in Python {remove[0]}.{remove[1]}",
        DeprecationWarning,
        stacklevel=3,
    )
