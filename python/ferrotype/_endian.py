"""Structures and unions in a fixed byte order (``BigEndianStructure`` and friends).

As in ctypes, the field types are replaced by their byte-swapped twins
(``__ctype_be__``/``__ctype_le__``) when ``_fields_`` is set, and a non-native class
carries ``_swappedbytes_`` so the layout numbers its bit-fields from the other end.
"""

import sys

from ._ctypes import Array, PyCStructType, Structure, Union, UnionType

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
                name, typ, *rest = desc
                fields.append((name, _other_endian(typ), *rest))
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
