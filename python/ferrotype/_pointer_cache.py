"""``POINTER``, ``pointer`` and the pointer-type cache as ctypes has them from 3.14.

From 3.14 the pointer type to ``T`` is recorded on ``T`` itself, as
``T.__pointer_type__`` (see ``_ctypes._PointerTypeAttr``), and ``POINTER(T)`` reads it.
What cannot carry the attribute (the names of the old string-named incomplete
pointer types, or anything stored through the old cache) goes to the dict
``_pointer_type_cache_fallback``. ``_pointer_type_cache`` remains as a deprecated view
over both. Before 3.14 these names come from ``_ctypes`` instead.
"""

from . import _interop
from ._ctypes import PyCPointerType, _Pointer
from ._version import warn_deprecated

__all__ = [
    "POINTER",
    "pointer",
    "_PointerTypeCache",
    "_pointer_type_cache",
    "_pointer_type_cache_fallback",
]

_pointer_type_cache_fallback: dict[object, type] = {}


def POINTER(cls):
    """The pointer type to ``cls``, made once and then found on ``cls``
    (``POINTER(None)`` is ``c_void_p``)."""
    if cls is None:
        from . import c_void_p

        return c_void_p
    if getattr(cls, "_ft_info_", None) is None and _interop._stdlib_kind(cls) is not None:
        # A type of the stdlib's ctypes: the pointer to its ferrotype equivalent.
        return POINTER(_interop.ferrotype_type(cls))
    try:
        return cls.__pointer_type__
    except AttributeError:
        pass
    if isinstance(cls, str):
        # The incomplete pointer types of early ctypes, completed by set_type later.
        warn_deprecated("ctypes.POINTER with string", remove=(3, 19))
        incomplete = _pointer_type_cache_fallback.get(cls)
        if incomplete is None:
            incomplete = PyCPointerType(f"LP_{cls}", (_Pointer,), {"__module__": "ferrotype"})
            _pointer_type_cache_fallback[cls] = incomplete
        return incomplete
    # Making the type records it as cls.__pointer_type__ (PyCPointerType).
    return PyCPointerType(
        f"LP_{cls.__name__}", (_Pointer,), {"_type_": cls, "__module__": "ferrotype"}
    )


def pointer(obj):
    """A new ``POINTER(type(obj))`` instance pointing to ``obj`` (to pass a pointer
    as an argument, ``byref(obj)`` is cheaper)."""
    return POINTER(type(obj))(obj)


class _PointerTypeCache:
    """What ``ctypes._pointer_type_cache`` is from 3.14: a deprecated mapping view of
    ``T.__pointer_type__``, with ``_pointer_type_cache_fallback`` for keys that cannot
    carry the attribute."""

    def __getitem__(self, cls):
        warn_deprecated("ctypes._pointer_type_cache", remove=(3, 19))
        try:
            return cls.__pointer_type__
        except AttributeError:
            return _pointer_type_cache_fallback[cls]

    def get(self, cls, default=None):
        warn_deprecated("ctypes._pointer_type_cache", remove=(3, 19))
        try:
            return cls.__pointer_type__
        except AttributeError:
            return _pointer_type_cache_fallback.get(cls, default)

    def __setitem__(self, cls, pointer_type):
        warn_deprecated("ctypes._pointer_type_cache", remove=(3, 19))
        try:
            cls.__pointer_type__ = pointer_type
        except AttributeError:
            _pointer_type_cache_fallback[cls] = pointer_type

    def __contains__(self, cls):
        # ctypes: membership looks at the attribute only, and does not warn.
        return hasattr(cls, "__pointer_type__")


_pointer_type_cache = _PointerTypeCache()
