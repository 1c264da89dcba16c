"""The byte map of a ``Layout`` (its ``_repr_html_``): self-contained HTML with inline CSS.

Rows of 16 bytes (32 for types over 256 bytes); each byte is eight bit columns, drawn in the
structure's memory order (lowest bit first on a little-endian layout, highest first on a
big-endian one), so a bit-field is one contiguous span. Members are coloured spans labelled
with their names (nested structures are drawn member by member, paths ``outer.inner``),
holes and padding are hatched, and a bracket under a row marks each bit-field storage unit.
A union draws one band per member. Types larger than ``MAX_BYTES`` are drawn up to it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._inspect import FieldLayout, Hole, Layout

MAX_BYTES = 1024
LABEL_WIDTH = 56  # px, the offset column

PALETTE = (
    "#8ecae6",
    "#ffb703",
    "#b5e48c",
    "#f4a3a8",
    "#cdb4db",
    "#f9c74f",
    "#90dbf4",
    "#ffd6a5",
    "#a0c4ff",
    "#caffbf",
    "#fdffb6",
    "#ffadad",
)
HATCH = "repeating-linear-gradient(135deg,#f3f3f3 0 3px,#c9c9c9 3px 5px)"


@dataclass
class _Item:
    label: str
    title: str
    colour: str | None  # None: a hole
    spans: list[tuple[int, int]] = field(default_factory=list)  # bits, memory order
    legend: tuple[str, str, str] = ("", "", "")  # type, offset, size


@dataclass
class _Unit:
    offset: int
    size: int
    ctype: str


def _esc(s: object) -> str:
    return html.escape(str(s), quote=True)


def _convert(span: tuple[int, int], from_big: bool, to_big: bool) -> list[tuple[int, int]]:
    """A run of bits in one memory order as runs in another (bit by bit when they differ)."""
    a, b = span
    if from_big == to_big or (a % 8 == 0 and b % 8 == 0):
        return [(a, b)]
    out: list[tuple[int, int]] = []
    for i in range(a, b):
        j = i // 8 * 8 + 7 - i % 8
        if out and out[-1][1] == j:
            out[-1] = (out[-1][0], j + 1)
        else:
            out.append((j, j + 1))
    return out


class _Collector:
    def __init__(self, big_endian: bool) -> None:
        self.big = big_endian
        self.items: list[_Item] = []
        self.units: dict[tuple[int, int], _Unit] = {}
        self.colours = 0

    def colour(self) -> str:
        c = PALETTE[self.colours % len(PALETTE)]
        self.colours += 1
        return c

    def field(self, f: FieldLayout, offset: int, path: str, big: bool) -> None:
        from ._inspect import c_name

        a, b = f.bit_span()
        shift = (offset - f.offset) * 8
        spans = _convert((a + shift, b + shift), big, self.big)
        if f.bit_size is not None:
            where = f"byte {offset}, bits {f.bit_offset}..{(f.bit_offset or 0) + f.bit_size - 1}"
            size = f"{f.bit_size} bit{'s' if f.bit_size != 1 else ''}"
            title = f"{path}: {c_name(f.type)}:{f.bit_size}, unit of {f.size} bytes at {where}"
            self.units.setdefault((offset, f.size), _Unit(offset, f.size, c_name(f.type)))
            label = f"{path}:{f.bit_size}"
        else:
            size = f"{f.size} byte{'s' if f.size != 1 else ''}"
            title = f"{path}: {c_name(f.type)}, offset {offset}, size {f.size}"
            label = path
        legend_offset = str(offset) if f.bit_size is None else f"{offset}:{f.bit_offset}"
        self.items.append(
            _Item(label, title, self.colour(), spans, (c_name(f.type), legend_offset, size))
        )

    def hole(self, h: Hole, owner: str, big: bool) -> None:
        """A hole at its absolute place, found in the layout ``owner`` (``""``: the top)."""
        start = h.start(big)
        spans = _convert((start, start + h.bits), big, self.big)
        what = "padding" if h.tail else "hole"
        if owner:
            what += f" in {owner}"
        size = f"{h.bits} bits" if h.is_bits else f"{h.size} byte{'s' if h.size != 1 else ''}"
        where = f"{h.offset}:{h.bit_offset}" if h.is_bits else f"{h.offset}"
        self.items.append(_Item("", f"{what}: {size} at {where}", None, spans, (what, where, size)))

    def struct(self, lay: Layout, offset: int, prefix: str) -> None:
        """Members of a structure at ``offset``, nested structures entered."""
        from ._ctypes import Structure
        from ._inspect import _is_type

        if lay.base is not None:
            self.struct(lay.base, offset, prefix)
        for f in lay.fields:
            sub = f.layout if _is_type(f.type, Structure) else None
            if sub is not None and sub.fields:
                self.struct(sub, offset + f.offset, f"{prefix}{f.name}.")
            else:
                self.field(f, offset + f.offset, f"{prefix}{f.name}", lay.big_endian)
        for h in lay.holes:
            moved = type(h)(h.offset + offset, h.bit_offset, h.bits, h.tail)
            self.hole(moved, prefix.rstrip("."), lay.big_endian)


def _owners(items: list[_Item], nbits: int) -> list[int]:
    owner = [-1] * nbits
    for k, item in enumerate(items):
        for a, b in item.spans:
            for i in range(max(a, 0), min(b, nbits)):
                owner[i] = k
    return owner


def _rows(
    items: list[_Item], units: list[_Unit], nbytes: int, per_row: int, big: bool
) -> list[str]:
    nbits = nbytes * 8
    owner = _owners(items, nbits)
    out = []
    row_bits = per_row * 8
    for r0 in range(0, nbits, row_bits):
        r1 = min(r0 + row_bits, nbits)
        cells = []
        i = r0
        while i < r1:
            k = owner[i]
            j = i
            while j < r1 and owner[j] == k:
                j += 1
            cells.append(_cell(items[k] if k >= 0 else None, i - r0, j - i))
            i = j
        out.append(
            f'<div class="ftl-row"><div class="ftl-off">{r0 // 8}</div>'
            f'<div class="ftl-bits" style="grid-template-columns:repeat({row_bits},1fr)">'
            f"{''.join(cells)}</div></div>"
        )
        bars = []
        tracks: list[int] = []  # per track, the end of its last bar (overlapping units stack)
        for u in units:
            a, b = max(u.offset * 8, r0), min((u.offset + u.size) * 8, r1)
            if a >= b:
                continue
            track = next((t for t, end in enumerate(tracks) if end <= a), len(tracks))
            if track == len(tracks):
                tracks.append(b)
            tracks[track] = b
            open_l = " ftl-cont-l" if a > u.offset * 8 else ""
            open_r = " ftl-cont-r" if b < (u.offset + u.size) * 8 else ""
            bars.append(
                f'<div class="ftl-unit{open_l}{open_r}" style="grid-column:{a - r0 + 1}'
                f' / span {b - a};grid-row:{track + 1}" title="storage unit: '
                f'{_esc(u.ctype)} at byte {u.offset}, {u.size} bytes">'
                f"{_esc(u.ctype)} @ {u.offset}</div>"
            )
        if bars:
            out.append(
                '<div class="ftl-row ftl-unitrow"><div class="ftl-off"></div>'
                f'<div class="ftl-bits" style="grid-template-columns:repeat({row_bits},1fr)">'
                f"{''.join(bars)}</div></div>"
            )
    return out


def _cell(item: _Item | None, start: int, width: int) -> str:
    pos = f"grid-column:{start + 1} / span {width}"
    if item is None:
        return f'<div class="ftl-cell ftl-none" style="{pos}" title="not this member"></div>'
    if item.colour is None:
        return f'<div class="ftl-cell ftl-hole" style="{pos}" title="{_esc(item.title)}"></div>'
    bg = item.colour
    if start % 8 == 0 and width % 8 == 0 and width > 8:
        # faint ticks between the bytes of a member several bytes wide
        n = width // 8
        bg = (
            f"repeating-linear-gradient(90deg,{item.colour} 0 calc(100%/{n} - 1px),"
            f"rgba(0,0,0,.18) calc(100%/{n} - 1px) calc(100%/{n})),{item.colour}"
        )
    return (
        f'<div class="ftl-cell" style="{pos};background:{bg}" title="{_esc(item.title)}">'
        f"{_esc(item.label)}</div>"
    )


STYLE = """
.ftl{font:12px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;
color:#222;background:#fff;padding:8px 10px;border:1px solid #ddd;
border-radius:6px}
.ftl-title{font-weight:bold;margin:0 0 2px}
.ftl-sub{color:#666;margin:0 0 8px}
.ftl-band{margin:6px 0 2px;font-weight:bold;color:#444}
.ftl-row{display:flex;align-items:stretch}
.ftl-off{width:LABELpx;flex:none;text-align:right;padding-right:6px;color:#888;font-size:11px;
line-height:26px}
.ftl-bits{flex:1;display:grid;min-width:0}
.ftl-head .ftl-bits div{font-size:10px;color:#999;text-align:center;
border-left:1px solid #eee}
.ftl-cell{height:24px;line-height:24px;margin:1px 0;box-sizing:border-box;
border:1px solid rgba(0,0,0,.35);border-radius:3px;overflow:hidden;white-space:nowrap;
text-overflow:ellipsis;text-align:center;font-size:11px;padding:0 2px;min-width:0}
.ftl-hole{background:HATCH;border:1px dashed #aaa}
.ftl-none{background:#fafafa;border:1px dotted #ddd}
.ftl-unitrow .ftl-bits{margin-top:-1px}
.ftl-unit{height:13px;line-height:11px;font-size:9px;color:#666;box-sizing:border-box;
border:1.5px solid #777;border-top:none;border-radius:0 0 4px 4px;text-align:center;
overflow:hidden;white-space:nowrap;margin-bottom:3px}
.ftl-cont-l{border-left-style:dotted;border-bottom-left-radius:0}
.ftl-cont-r{border-right-style:dotted;border-bottom-right-radius:0}
.ftl-legend{border-collapse:collapse;margin-top:10px;font-size:11px}
.ftl-legend td,.ftl-legend th{padding:1px 8px 1px 0;text-align:left;vertical-align:middle}
.ftl-legend th{color:#666;font-weight:normal;border-bottom:1px solid #ddd}
.ftl-sw{display:inline-block;width:14px;height:12px;border:1px solid rgba(0,0,0,.35);
border-radius:2px;vertical-align:middle}
.ftl-note{color:#888;font-size:11px;margin-top:6px}
""".replace("LABEL", str(LABEL_WIDTH)).replace("HATCH", HATCH)


def _header(per_row: int) -> str:
    cols = "".join(
        f'<div style="grid-column:{b * 8 + 1} / span 8">{b}</div>' for b in range(per_row)
    )
    return (
        '<div class="ftl-row ftl-head"><div class="ftl-off" style="line-height:14px">'
        f'byte</div><div class="ftl-bits" style="grid-template-columns:repeat({per_row * 8},1fr)">'
        f"{cols}</div></div>"
    )


def _legend(items: list[_Item]) -> str:
    rows = ["<tr><th></th><th>member</th><th>type</th><th>offset</th><th>size</th></tr>"]
    for it in items:
        if it.colour is None:
            sw = f'<span class="ftl-sw" style="background:{HATCH}"></span>'
            name = ""
        else:
            sw = f'<span class="ftl-sw" style="background:{it.colour}"></span>'
            name = it.label.rsplit(":", 1)[0] if ":" in it.label else it.label
        t, off, size = it.legend
        rows.append(
            f"<tr><td>{sw}</td><td>{_esc(name)}</td><td>{_esc(t)}</td>"
            f"<td>{_esc(off)}</td><td>{_esc(size)}</td></tr>"
        )
    return f'<table class="ftl-legend">{"".join(rows)}</table>'


def _per_row(lay: Layout) -> int:
    """Bytes a row: few for small types (bits stay wide enough to see), more for large."""
    size = lay.size
    if size <= 8:
        return 4 if size <= 4 else 8
    has_bits = any(f.is_bitfield for _, f, _ in lay.leaves())
    if has_bits and size <= 64:
        return 8
    return 16 if size <= 256 else 32


def render(lay: Layout, per_row: int | None = None) -> str:
    """The byte map of ``lay`` as an HTML fragment, ``per_row`` bytes a row."""
    from ._inspect import FieldLayout, c_name

    size = lay.size
    shown = min(size, MAX_BYTES)
    if per_row is None:
        per_row = _per_row(lay)
    if per_row < 1:
        raise ValueError("per_row must be at least 1")
    width = per_row * (100 if per_row <= 8 else 56 if per_row <= 16 else 28) + LABEL_WIDTH
    big = lay.big_endian
    options = []
    if lay.rule:
        options.append(lay.rule)
    if lay.pack is not None:
        options.append(f"_pack_ {lay.pack}")
    if lay.min_align and lay.min_align > 1:
        options.append(f"_align_ {lay.min_align}")
    options.append("big-endian" if big else "little-endian")
    sub = f"size {size}, align {lay.align}, " + ", ".join(options)
    parts = [
        f'<div class="ftl" style="max-width:{width + 20}px"><style>{STYLE}</style>',
        f'<div class="ftl-title">{_esc(lay.name)}</div><div class="ftl-sub">{_esc(sub)}</div>',
    ]
    bands: list[tuple[str, _Collector]] = []
    if lay.kind == "struct":
        col = _Collector(big)
        col.struct(lay, 0, "")
        bands.append(("", col))
    elif lay.kind == "union":
        shared = _Collector(big)
        for f in lay.fields:
            col = _Collector(big)
            col.colours = shared.colours
            sub_lay = f.layout if f.layout is not None and f.layout.kind == "struct" else None
            if sub_lay is not None and sub_lay.fields and not f.is_bitfield:
                col.struct(sub_lay, 0, f"{f.name}.")
            else:
                col.field(f, 0, f.name, big)
            for h in lay.holes:
                col.hole(h, "", big)
            shared.colours = col.colours
            bands.append((f"member {f.name}: {c_name(f.type)}", col))
    else:
        col = _Collector(big)
        if lay.kind == "array" and lay.element is not None and lay.length:
            step = lay.element.size
            for i in range(min(lay.length, max(1, shown // max(step, 1)))):
                f = FieldLayout(f"[{i}]", lay.element.type, i * step, step, lay.element.align)
                col.field(f, i * step, f"[{i}]", big)
        else:
            col.field(FieldLayout(c_name(lay.type), lay.type, 0, size, lay.align), 0, "", big)
        bands.append(("", col))
    parts.append(_header(per_row))
    legend_items: list[_Item] = []
    for title, col in bands:
        if title:
            parts.append(f'<div class="ftl-band">{_esc(title)}</div>')
        units = sorted(col.units.values(), key=lambda u: (u.offset, u.size))
        parts += _rows(col.items, units, shown, per_row, big)
        for it in sorted(col.items, key=lambda x: min(x.spans, default=(0, 0))):
            if it.colour is not None or not any(
                x.colour is None and x.title == it.title for x in legend_items
            ):
                legend_items.append(it)
    if shown < size:
        parts.append(f'<div class="ftl-note">first {shown} of {size} bytes shown</div>')
    order = "highest" if big else "lowest"
    parts.append(
        f'<div class="ftl-note">{per_row} bytes a row; bits of each byte drawn {order} first;'
        " hatched: holes and padding; brackets: bit-field storage units</div>"
    )
    parts.append(_legend(legend_items))
    parts.append("</div>")
    return "".join(parts)
