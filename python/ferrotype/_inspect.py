"""``ferrotype.layout()``: where the layout engine put every field of a structure or union,
and the padding it left, as data, as a ``pahole``-style table (``str()``) and as a byte map
for Jupyter (``_repr_html_``).

Nothing here recomputes a layout rule: the offsets, sizes and bit positions come from the
extension (``_native.struct_layout``), which reports what the field descriptors were made
with when ``_fields_`` was set. This module only arranges them: it finds the bytes and bits
no member covers (holes and tail padding) and draws the result.

Bits are numbered two ways. A bit-field's ``bit_offset`` is ctypes' own: the shift of its
lowest bit in the storage unit read as an integer in the structure's byte order. Holes and
the byte map use the memory order of the structure: byte by byte, and inside a byte from
the least significant bit (little-endian layouts) or from the most significant bit
(big-endian ones), so that a bit-field is always one contiguous run.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import _native, _version
from ._ctypes import Array, CFuncPtr, Structure, Union, _Pointer, _SimpleCData, alignment, sizeof

__all__ = ["FieldLayout", "Hole", "Layout", "layout"]

CACHELINE = 64

# ---- C spellings --------------------------------------------------------------------------------

_C_NAMES: dict[str, str] = {
    "c": "char",
    "b": "signed char",
    "B": "unsigned char",
    "h": "short",
    "H": "unsigned short",
    "i": "int",
    "I": "unsigned int",
    "l": "long",
    "L": "unsigned long",
    "q": "long long",
    "Q": "unsigned long long",
    "f": "float",
    "d": "double",
    "g": "long double",
    "e": "_Float16",
    "?": "_Bool",
    "u": "wchar_t",
    "z": "char *",
    "Z": "wchar_t *",
    "P": "void *",
    "O": "PyObject *",
    "v": "VARIANT_BOOL",
    "X": "BSTR",
}
for _code, _name in zip(
    _version.COMPLEX_TYPE_CODES,
    ("float _Complex", "double _Complex", "long double _Complex"),
    strict=True,
):
    _C_NAMES[_code] = _name


def _is_type(t: object, base: type | tuple[type, ...]) -> bool:
    return isinstance(t, type) and issubclass(t, base)


def c_declaration(t: Any, declarator: str = "") -> tuple[str, str]:
    """The C spelling of type ``t`` around ``declarator`` (a name), as a specifier and a
    declarator: ``(c_int * 3, "a")`` gives ``("int", "a[3]")``."""
    if t is None:
        return "void", declarator
    if _is_type(t, _SimpleCData):
        name = _C_NAMES.get(getattr(t, "_type_", ""), t.__name__)
        if name.endswith(" *"):
            return name[:-2], f"*{declarator}"
        return name, declarator
    if _is_type(t, Structure):
        return f"struct {t.__name__}", declarator
    if _is_type(t, Union):
        return f"union {t.__name__}", declarator
    if _is_type(t, Array):
        inner = f"({declarator})" if declarator.startswith("*") else declarator
        return c_declaration(getattr(t, "_type_", None), f"{inner}[{getattr(t, '_length_', 0)}]")
    if _is_type(t, _Pointer):
        return c_declaration(getattr(t, "_type_", None), f"*{declarator}")
    if _is_type(t, CFuncPtr):
        args = ", ".join(" ".join(p for p in c_declaration(a) if p) for a in t._argtypes_ or ())
        return c_declaration(t._restype_, f"(*{declarator})({args or 'void'})")
    return getattr(t, "__name__", repr(t)), declarator


def c_name(t: Any) -> str:
    """The C name of type ``t`` (``unsigned int``, ``struct S``, ``int [3]``, ``char *``)."""
    spec, decl = c_declaration(t)
    return f"{spec} {decl}" if decl else spec


# ---- the data -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FieldLayout:
    """One member of a structure or union, where the layout engine put it.

    ``offset`` and ``size`` are in bytes; for a bit-field they are its storage unit's, and
    ``bit_offset``/``bit_size`` say which bits of the unit it holds (``bit_offset`` as
    ctypes counts it: from the unit's least significant bit, the unit read in the
    structure's byte order). ``align`` is the alignment of the member's type.
    """

    name: str
    type: Any
    offset: int
    size: int
    align: int
    bit_offset: int | None = None
    bit_size: int | None = None
    anonymous: bool = False
    big_endian: bool = False

    @property
    def is_bitfield(self) -> bool:
        """Whether the member is a bit-field."""
        return self.bit_size is not None

    @property
    def c_type(self) -> str:
        """The member's type in C (``unsigned int``, ``struct S``, ``char [8]``)."""
        return c_name(self.type)

    def c_declaration(self) -> str:
        """The member as a C declaration, without the semicolon: ``unsigned int flags:3``."""
        spec, decl = c_declaration(self.type, self.name)
        text = f"{spec} {decl}"
        return text if self.bit_size is None else f"{text}:{self.bit_size}"

    @property
    def layout(self) -> Layout | None:
        """The nested layout: of the member's structure or union type, or of the element
        type of an array of them; ``None`` for other members."""
        t = self.type
        while _is_type(t, Array):
            t = getattr(t, "_type_", None)
        return layout(t) if _is_type(t, (Structure, Union)) else None

    def bit_span(self) -> tuple[int, int]:
        """The bits the member covers, as ``(first, end)`` in the structure's memory order
        (byte ``i // 8``; bit ``i % 8`` counted from the least significant end on a
        little-endian layout, from the most significant on a big-endian one)."""
        if self.bit_offset is None or self.bit_size is None:
            return self.offset * 8, (self.offset + self.size) * 8
        if self.big_endian:
            end = (self.offset + self.size) * 8 - self.bit_offset
            return end - self.bit_size, end
        start = self.offset * 8 + self.bit_offset
        return start, start + self.bit_size

    def __repr__(self) -> str:
        where = f"offset={self.offset}, size={self.size}"
        if self.is_bitfield:
            where += f", bit_offset={self.bit_offset}, bit_size={self.bit_size}"
        return f"<FieldLayout {self.name!r} {self.c_type}, {where}>"


@dataclass(frozen=True)
class Hole:
    """Bytes or bits that no member covers: between members (a hole) or at the end
    (``tail``: padding).

    ``offset`` is the byte where it starts. A hole of whole bytes has ``bit_offset`` 0 and
    ``bits`` a multiple of 8; one of a few bits lies inside the byte at ``offset``, from
    its bit ``bit_offset`` (counted from the least significant bit) up.
    """

    offset: int
    bit_offset: int
    bits: int
    tail: bool

    @property
    def size(self) -> int:
        """The size in whole bytes (0 for a hole of a few bits)."""
        return self.bits // 8 if self.bits % 8 == 0 else 0

    @property
    def is_bits(self) -> bool:
        """Whether the hole is a few bits inside one byte."""
        return self.bits % 8 != 0

    def start(self, big_endian: bool) -> int:
        """Its first bit in the memory order of a layout (see ``FieldLayout.bit_span``)."""
        if not self.is_bits:
            return self.offset * 8
        if big_endian:
            return self.offset * 8 + 8 - self.bit_offset - self.bits
        return self.offset * 8 + self.bit_offset


def _gaps(spans: list[tuple[int, int]], total_bits: int) -> list[tuple[int, int]]:
    """The runs of ``[0, total_bits)`` that no span covers."""
    gaps = []
    pos = 0
    for start, end in sorted(spans):
        if start > pos:
            gaps.append((pos, start))
        pos = max(pos, end)
    if pos < total_bits:
        gaps.append((pos, total_bits))
    return gaps


def _holes(spans: list[tuple[int, int]], size: int, big_endian: bool) -> tuple[Hole, ...]:
    total = size * 8
    holes = []
    for a, b in _gaps(spans, total):
        tail = b == total
        up = -(-a // 8) * 8
        down = b // 8 * 8
        parts = []
        if a % 8:
            parts.append((a, min(b, up)))
        if down > up:
            parts.append((up, down))
        if b % 8 and down >= up:
            parts.append((max(down, a), b))
        for s, e in parts:
            if (e - s) % 8 == 0 and s % 8 == 0:
                holes.append(Hole(s // 8, 0, e - s, tail))
            else:
                # a few bits inside one byte: name its lowest bit physically
                low = 7 - (e - 1) % 8 if big_endian else s % 8
                holes.append(Hole(s // 8, low, e - s, tail))
    return tuple(holes)


class Layout:
    """The layout of a ferrotype type, as ``ferrotype.layout(T)`` returns it.

    For a structure or union: ``fields`` (its own members, in declaration order), ``base``
    (the layout of the structure it derives from, laid out first, or ``None``), ``holes``
    (what no member covers, tail padding included), ``size``, ``align``, and the options
    it was laid out with: ``rule`` (``'gcc-sysv'`` or ``'ms'``), ``pack``, ``min_align``
    (``_align_``) and ``big_endian``. For an array: ``length`` and ``element`` (the element
    type's layout). Simple and pointer types have a size and an alignment only.

    ``str()`` gives a ``pahole``-style table; in Jupyter the layout draws itself as a byte
    map (``_repr_html_``).
    """

    type: Any
    kind: str
    size: int
    align: int
    fields: tuple[FieldLayout, ...]
    holes: tuple[Hole, ...]
    base: Layout | None
    rule: str | None
    pack: int | None
    min_align: int | None
    big_endian: bool
    complete: bool
    length: int | None
    element: Layout | None

    def __init__(self, t: Any) -> None:
        self.type = t
        self.size = sizeof(t)
        self.align = alignment(t)
        self.fields = ()
        self.holes = ()
        self.base = None
        self.rule = self.pack = self.min_align = None
        self.big_endian = False
        self.complete = True
        self.length = None
        self.element = None
        if _is_type(t, (Structure, Union)):
            self._init_compound(t)
        elif _is_type(t, Array):
            self.kind = "array"
            self.length = getattr(t, "_length_", 0)
            self.element = layout(getattr(t, "_type_", None))
        elif _is_type(t, _Pointer):
            self.kind = "pointer"
        elif _is_type(t, CFuncPtr):
            self.kind = "function pointer"
        else:
            self.kind = "scalar"

    def _init_compound(self, t: Any) -> None:
        facts = _native.struct_layout(t)
        self.kind = "union" if facts["union"] else "struct"
        self.complete = bool(facts["final"])
        self.rule = facts["rule"]
        self.pack = facts["pack"]
        self.min_align = facts["min_align"]
        self.big_endian = bool(facts["swapped"]) != (sys.byteorder == "big")
        if facts["base"] is not None:
            self.base = layout(facts["base"])
        fields = []
        for name, ftype, offset, size, bits, anonymous in facts["fields"]:
            shift, width = bits if bits is not None else (None, None)
            fields.append(
                FieldLayout(
                    name,
                    ftype,
                    offset,
                    size,
                    alignment(ftype),
                    shift,
                    width,
                    anonymous,
                    self.big_endian,
                )
            )
        self.fields = tuple(fields)
        spans = [f.bit_span() for f in fields]
        if self.base is not None and self.base.size:
            spans.append((0, self.base.size * 8))
        self.holes = _holes(spans, self.size, self.big_endian)

    # ---- reading -----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The C name of the type (``struct S``, ``union U``, ``int [4]``)."""
        return c_name(self.type)

    def __repr__(self) -> str:
        parts = [f"size {self.size}", f"align {self.align}"]
        if self.kind in ("struct", "union"):
            parts.append(f"{len(self.fields)} fields")
            parts.append(f"{len(self.holes)} holes")
        return f"<Layout {self.name}: {', '.join(parts)}>"

    def __iter__(self) -> Iterator[FieldLayout]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def __getitem__(self, name: str) -> FieldLayout:
        """The member called ``name`` (the last one, when a derived class repeats a name)."""
        for f in reversed(self.fields):
            if f.name == name:
                return f
        if self.base is not None:
            return self.base[name]
        raise KeyError(name)

    def members(self) -> tuple[FieldLayout, ...]:
        """Every member, the base structure's first."""
        return (self.base.members() if self.base is not None else ()) + self.fields

    def leaves(self, offset: int = 0, prefix: str = "") -> Iterator[tuple[str, FieldLayout, int]]:
        """Every member that is not itself a structure or union, nested ones included, as
        ``(path, field, absolute offset)``: ``("hdr.len", <FieldLayout 'len'>, 12)``.
        Structures and unions in arrays are not entered."""
        if self.base is not None:
            yield from self.base.leaves(offset, prefix)
        for f in self.fields:
            path = f"{prefix}{f.name}"
            sub = layout(f.type) if _is_type(f.type, (Structure, Union)) else None
            if sub is not None and sub.fields:
                yield from sub.leaves(offset + f.offset, f"{path}.")
            else:
                yield path, f, offset + f.offset

    # ---- the table -----------------------------------------------------------------------------

    def __str__(self) -> str:
        return self.format()

    def format(self, expand: bool = False) -> str:
        """The ``pahole``-style table; ``expand`` also writes out nested structures and
        unions member by member (with offsets from the start of the outer type)."""
        if self.kind not in ("struct", "union"):
            return f"{self.name}; /* size: {self.size}, align: {self.align} */"
        out = [self._options_comment()]
        out += self._body(0, 0, expand, self.name)
        out[-1] += ";"
        return "\n".join(out) + "\n"

    def _options_comment(self) -> str:
        opts = [f"_layout_ = {self.rule!r}" if self.rule else "no _fields_ yet"]
        if self.pack is not None:
            opts.append(f"_pack_ = {self.pack}")
        if self.min_align is not None and self.min_align > 1:
            opts.append(f"_align_ = {self.min_align}")
        opts.append("big-endian" if self.big_endian else "little-endian")
        return f"/* {', '.join(opts)} */"

    def _body(self, base_offset: int, indent: int, expand: bool, head: str) -> list[str]:
        pad = " " * (indent + 4)
        lines = [f"{' ' * indent}{head} {{"]
        items: list[tuple[int, int, object]] = []
        if self.base is not None:
            items.append((0, 0, "base"))
        for i, f in enumerate(self.fields):
            items.append((f.bit_span()[0], 1 + i, f))
        for h in self.holes:
            if not h.tail:
                items.append((h.start(self.big_endian), -1, h))
        items.sort(key=lambda x: (x[0], x[1]))
        boundary = CACHELINE
        for _, _, item in items:
            if isinstance(item, Hole):
                unit = "bits" if item.is_bits else "bytes"
                n = item.bits if item.is_bits else item.size
                lines += ["", f"{pad}/* XXX {n} {unit} hole, try to pack */", ""]
                continue
            if isinstance(item, FieldLayout):
                offset = base_offset + item.offset
            else:
                offset = base_offset
            while self.kind == "struct" and offset - base_offset >= boundary:
                ago = offset - base_offset - boundary
                was = f" was {ago} bytes ago" if ago else ""
                n = boundary // CACHELINE
                lines.append(f"{pad}/* --- cacheline {n} boundary ({boundary} bytes){was} --- */")
                boundary += CACHELINE
            if item == "base":
                assert self.base is not None
                lines.append(_line(pad, self.base.name, "<ancestor>", offset, self.base.size))
                continue
            assert isinstance(item, FieldLayout)
            sub = item.layout if expand and _is_type(item.type, (Structure, Union)) else None
            if sub is not None and sub.complete:
                body = sub._body(offset, indent + 4, expand, sub.name)
                lines += body[:-1]
                tail = f"{body[-1]} {item.name};"
                lines.append(f"{tail:<{COMMENT_COLUMN}}/* {offset:5} {item.size:5} */")
                continue
            spec, decl = c_declaration(item.type, item.name)
            if item.bit_size is not None:
                decl = f"{decl}:{item.bit_size}"
            lines.append(_line(pad, spec, decl, offset, item.size, item.bit_offset, item.anonymous))
        lines.append("")
        lines += [f"{pad}/* {s} */" for s in self._summary()]
        lines.append(f"{' ' * indent}}}")
        return lines

    def _summary(self) -> list[str]:
        members = len(self.fields) + (self.base is not None)
        cachelines = -(-self.size // CACHELINE)
        out = [f"size: {self.size}, cachelines: {cachelines}, members: {members}"]
        inner = [h for h in self.holes if not h.tail]
        tail = [h for h in self.holes if h.tail]
        byte_holes = [h for h in inner if not h.is_bits]
        bit_holes = [h for h in inner if h.is_bits]
        bitfields = [f for f in self.fields if f.bit_size is not None]
        if self.kind == "struct":
            sum_members = sum(f.size for f in self.fields if f.bit_size is None)
            sum_members += self.base.size if self.base is not None else 0
            out.append(
                f"sum members: {sum_members}, holes: {len(byte_holes)}, "
                f"sum holes: {sum(h.size for h in byte_holes)}"
            )
            if bitfields or bit_holes:
                bits = sum(f.bit_size or 0 for f in bitfields)
                out.append(
                    f"sum bitfield members: {bits} bits, bit holes: {len(bit_holes)}, "
                    f"sum bit holes: {sum(h.bits for h in bit_holes)} bits"
                )
        padding = sum(h.size for h in tail if not h.is_bits)
        bit_padding = sum(h.bits for h in tail if h.is_bits)
        if padding:
            out.append(f"padding: {padding}")
        if bit_padding:
            out.append(f"bit_padding: {bit_padding} bits")
        if self.size % CACHELINE:
            out.append(f"last cacheline: {self.size % CACHELINE} bytes")
        if not self.complete:
            out.append("incomplete: no _fields_ yet")
        return out

    # ---- the byte map --------------------------------------------------------------------------

    def _repr_html_(self) -> str:
        return self.html()

    def html(self, per_row: int | None = None) -> str:
        """The byte map (what Jupyter shows): an HTML fragment with inline CSS and nothing
        loaded from elsewhere, ``per_row`` bytes a row (by default 4 to 32, by size)."""
        from ._inspect_html import render

        return render(self, per_row)


COMMENT_COLUMN = 56


def _line(
    pad: str,
    spec: str,
    decl: str,
    offset: int,
    size: int,
    bit_offset: int | None = None,
    anonymous: bool = False,
) -> str:
    text = f"{pad}{spec:<26} {decl};"
    where = f"{offset:5} {size:5}" if bit_offset is None else f"{offset:5}:{bit_offset:2} {size:3}"
    note = " anonymous" if anonymous else ""
    return f"{text:<{COMMENT_COLUMN}}/* {where}{note} */"


def layout(t: Any) -> Layout:
    """The layout of the ferrotype type ``t`` (or of the type of the instance ``t``).

    For a ``Structure`` or ``Union`` (little- or big-endian): every member's offset, size,
    alignment and, for a bit-field, bit offset and width, as the layout engine placed them;
    the holes and tail padding no member covers; the size, the alignment and the options
    (``_layout_``, ``_pack_``, ``_align_``, byte order). Arrays, simple and pointer types
    give their size and alignment (and an array its element's layout).

    ``str()`` of the result is a ``pahole``-style table; in Jupyter it draws a byte map.

    :raises TypeError: ``t`` is not a ferrotype type or instance.
    """
    if not isinstance(t, type):
        t = type(t)
    if not _is_type(t, (Structure, Union, Array, _Pointer, _SimpleCData, CFuncPtr)):
        raise TypeError(
            "layout() expects a ferrotype Structure, Union, array, pointer or simple type "
            f"(or an instance of one), not {t.__module__}.{t.__qualname__}"
        )
    return Layout(t)
