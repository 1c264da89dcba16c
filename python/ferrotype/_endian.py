"""Structures and unions in a fixed byte order (``BigEndianStructure`` and friends).

As in ctypes, the field types are replaced by their byte-swapped twins
(``__ctype_be__``/``__ctype_le__``) when ``_fields_`` is set, and a non-native class
carries ``_swappedbytes_`` so the layout numbers its bit-fields from the other end.
"""

import sys

from . import _version
from ._ctypes import Array, PyCStructType, Structure, Union, UnionType

if _version.ENDIAN_HAS_CTYPES_NAMES:
    # ctypes' module did `from ctypes import *` (up to 3.12): ctypes' public names as
    # far as ctypes had defined them when it imported this module, so not its sized
    # integer types nor `c_time_t`, defined after, nor ferrotype's own names.
    from . import *  # noqa: F403

    for _name in (
        "c_int8 c_int16 c_int32 c_int64 c_uint8 c_uint16 c_uint32 c_uint64 c_time_t "
        "c_float16 debug_callbacks install"
    ).split():
        globals().pop(_name, None)
    del _name
del _version

_array_type = type(Array)


def _other_endian(typ):
    """The twin of ``typ`` in the other byte order: simple types through their swapped
    twin, arrays element-wise, structures and unions as they are."""
    attr = _OTHER_ENDIAN
    if hasattr(typ, attr):
        return getattr(typ, attr)
    if isinstance(typ, _array_type):
        return _other_endian(typ._type_) * typ._length_
    if issubclass(typ, (Structure, Union)):
        return typ
    raise TypeError(f"This type does not support other endian: {typ}")


class _swapped_meta:
    def __setattr__(self, attrname, value):
        if attrname == "_fields_":
            fields = []
            for desc in value:
                # As ctypes: each entry by index and its tail by slicing, so an entry
                # of the wrong shape raises ctypes' error (a pointer, which has no end,
                # is refused by its slice before any item is read).
                rest = desc[2:]
                name, typ = desc[0], desc[1]
                fields.append((name, _other_endian(typ)) + rest)
            value = fields
        super().__setattr__(attrname, value)


class _swapped_struct_meta(_swapped_meta, PyCStructType):
    pass


class _swapped_union_meta(_swapped_meta, UnionType):
    pass


if sys.byteorder == "little":
    _OTHER_ENDIAN = "__ctype_be__"

    LittleEndianStructure = Structure
    LittleEndianUnion = Union

    class BigEndianStructure(Structure, metaclass=_swapped_struct_meta):
        """Structure with big endian byte order"""

        __slots__ = ()
        _swappedbytes_ = None
        _ft_abstract_ = True

    class BigEndianUnion(Union, metaclass=_swapped_union_meta):
        """Union with big endian byte order"""

        __slots__ = ()
        _swappedbytes_ = None
        _ft_abstract_ = True

else:
    _OTHER_ENDIAN = "__ctype_le__"

    BigEndianStructure = Structure
    BigEndianUnion = Union

    class LittleEndianStructure(Structure, metaclass=_swapped_struct_meta):
        """Structure with little endian byte order"""

        __slots__ = ()
        _swappedbytes_ = None
        _ft_abstract_ = True

    class LittleEndianUnion(Union, metaclass=_swapped_union_meta):
        """Union with little endian byte order"""

        __slots__ = ()
        _swappedbytes_ = None
        _ft_abstract_ = True
