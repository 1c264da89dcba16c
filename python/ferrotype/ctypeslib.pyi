"""NumPy's ``numpy.ctypeslib`` over ferrotype types, fixed and extended.

The same API (``as_array``, ``as_ctypes``, ``as_ctypes_type``, ``ndpointer``,
``load_library``, ``c_intp``) plus ``array_ctypes`` (the ``ndarray.ctypes`` helper),
whose results keep the array alive.
"""

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Protocol, TypeVar, overload, type_check_only

import numpy as np
from _typeshed import StrOrBytesPath
from numpy.typing import ArrayLike, DTypeLike, NDArray
from typing_extensions import deprecated

from . import (
    CDLL,
    Array,
    c_ssize_t,
    c_void_p,
)
from ._ctypes import _CanCastTo, _CData

__all__ = [
    "load_library",
    "ndpointer",
    "c_intp",
    "as_ctypes",
    "as_array",
    "as_ctypes_type",
    "array_ctypes",
]

_CT = TypeVar("_CT", bound=_CData)
_CastT = TypeVar("_CastT", bound=_CanCastTo)

# The ctypes integer type of NumPy's ``intp`` (pointer-sized, signed).
c_intp = c_ssize_t

@type_check_only
class _FlagsObject(Protocol):
    @property
    def num(self) -> int: ...

# NumPy's flag names or abbreviations (a list, or one comma-separated string), their
# numeric value, or an ``arr.flags`` object.
_Flags = str | Iterable[str] | int | _FlagsObject

@type_check_only
class _HasArrayInterface(Protocol):
    @property
    def __array_interface__(self) -> dict[str, Any]: ...

class _ndptr(c_void_p):
    """Base of the ``ndpointer`` classes: a ``c_void_p`` whose ``from_param`` checks an
    array's dtype, dimensions, shape and flags (in Rust)."""

    _dtype_: ClassVar[np.dtype[Any] | None]
    _shape_: ClassVar[tuple[int, ...] | None]
    _ndim_: ClassVar[int | None]
    _flags_: ClassVar[int | None]

class _concrete_ndptr(_ndptr):
    """``ndpointer`` with a dtype and a shape: as a ``restype``, results are arrays."""

    @property
    def contents(self) -> NDArray[Any]:
        """An ndarray of the declared dtype and shape viewing the pointed-to memory."""

@overload
def ndpointer(
    dtype: DTypeLike,
    ndim: int | None = None,
    *,
    shape: int | Iterable[int],
    flags: _Flags | None = None,
    nullable: bool = False,
) -> type[_concrete_ndptr]: ...
@overload
def ndpointer(
    dtype: DTypeLike | None = None,
    ndim: int | None = None,
    shape: int | Iterable[int] | None = None,
    flags: _Flags | None = None,
    *,
    nullable: bool = False,
) -> type[_ndptr]:
    """An argument type accepting NumPy arrays with the given dtype, number of
    dimensions, shape and flags; ``nullable=True`` also accepts ``None`` (NULL). The
    same arguments give the same class."""

def as_ctypes_type(dtype: DTypeLike) -> type[Any]:
    """The ferrotype type of a NumPy dtype (anything ``numpy.dtype()`` accepts).

    Scalars keep their byte order; structured dtypes give a ``Structure`` (or a
    ``Union`` when every field is at offset 0); subarrays give nested arrays; ``S<n>``
    gives ``c_char * n``, ``U<n>`` ``c_wchar * n``, ``float16`` ``c_float16``.
    """

def as_ctypes(obj: NDArray[Any] | _HasArrayInterface, readonly: bool = False) -> Any:
    """A ferrotype object sharing the memory of ``obj``, typed from its dtype (an array
    type for arrays of one dimension or more, a scalar type for 0-d ones); it keeps
    ``obj`` alive. ``readonly=True`` accepts read-only arrays and refuses writes."""

def as_array(obj: _CData | ArrayLike, shape: int | Sequence[int] | None = None) -> NDArray[Any]:
    """A NumPy array sharing the memory of a ferrotype array or of a pointer's target
    (``shape`` required); it keeps the source alive."""

def load_library(libname: StrOrBytesPath, loader_path: StrOrBytesPath) -> CDLL:
    """Load ``libname`` from the directory of ``loader_path`` (a directory or a file in
    it), trying the platform's extensions and a ``lib`` prefix."""

@deprecated("ctypes_load_library is deprecated, use load_library instead")
def ctypes_load_library(libname: StrOrBytesPath, loader_path: StrOrBytesPath) -> CDLL: ...

class _ArrayCTypes:
    """``ndarray.ctypes`` for ferrotype: every object it hands out keeps the array alive."""

    def __init__(self, arr: ArrayLike) -> None: ...
    def data_as(self, obj: type[_CastT]) -> _CastT:
        """The data address cast to the pointer type ``obj``."""
    def shape_as(self, obj: type[_CT]) -> Array[_CT] | None:
        """The shape as an array of the integer type ``obj`` (None for 0-d arrays)."""
    def strides_as(self, obj: type[_CT]) -> Array[_CT] | None:
        """The strides as an array of the integer type ``obj`` (None for 0-d arrays)."""
    @property
    def data(self) -> int:
        """The address of the array's data."""
    @property
    def shape(self) -> Array[c_ssize_t] | None:
        """The shape, a ``c_intp`` array."""
    @property
    def strides(self) -> Array[c_ssize_t] | None:
        """The strides, a ``c_intp`` array."""
    @property
    def _as_parameter_(self) -> c_void_p: ...

def array_ctypes(arr: ArrayLike) -> _ArrayCTypes:
    """The equivalent of ``arr.ctypes`` over ferrotype types, whose results keep ``arr``
    alive, so ``array_ctypes(a + b).data_as(P)`` cannot dangle."""
