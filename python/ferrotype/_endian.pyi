"""Structures and unions in a fixed byte order."""

import sys
from typing import TypeVar

from ._ctypes import Structure, Union

_M = TypeVar("_M", bound=type)

if sys.version_info >= (3, 12):
    # On this machine's byte order these two are the native classes themselves (see
    # `_native_base` in _ctypes.pyi): disjoint bases from 3.12.
    from typing_extensions import disjoint_base as _native_base
else:
    def _native_base(cls: _M) -> _M: ...

if sys.version_info < (3, 13):
    # Up to 3.12 the module did `from ctypes import *`: ctypes' names defined before it.
    from ._ctypes import DEFAULT_MODE as DEFAULT_MODE
    from ._ctypes import RTLD_GLOBAL as RTLD_GLOBAL
    from ._ctypes import RTLD_LOCAL as RTLD_LOCAL

    if sys.version_info >= (3, 12):
        from ._ctypes import SIZEOF_TIME_T as SIZEOF_TIME_T

# On this machine's byte order one of each pair is the plain base class; the stubs keep
# both as classes, as the other order's has a metaclass of its own.
class BigEndianStructure(Structure):
    """Structure with big endian byte order."""

@_native_base
class LittleEndianStructure(Structure):
    """Structure with little endian byte order."""

class BigEndianUnion(Union):
    """Union with big endian byte order."""

@_native_base
class LittleEndianUnion(Union):
    """Union with little endian byte order."""
