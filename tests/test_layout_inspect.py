"""ferrotype.layout() and ferrotype.check_layout() (ferrotype only).

- Random structures and unions (the generator of test_layout_vs_cc.py: bit-fields,
  ``_pack_``, ``_layout_ = 'ms'``, ``_align_``, nested aggregates, arrays,
  BigEndianStructure) are held against ``cc`` with ``check_layout``, which reads every
  offset, size and bit position from ``layout()``: both must agree with the compiler. The
  members and holes of each layout must also tile the type's bytes exactly.
- ``str()`` is compared with golden tables; ``_repr_html_`` is parsed and checked for
  balance, colours, hatching and self-containment.
- ``check_layout`` finds a deliberately wrong declaration, passes right ones, and refuses
  bad input with clear errors.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from ccoracle import find_cc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ft = pytest.importorskip("ferrotype")

CC = find_cc()
needs_cc = pytest.mark.skipif(CC is None, reason="no C compiler (cc or $CC) on PATH")


# ---- layout(): data -----------------------------------------------------------------------------


class Inner(ft.Structure):
    _fields_ = [("x", ft.c_short), ("y", ft.c_int)]


class Packet(ft.Structure):
    _fields_ = [
        ("a", ft.c_uint, 3),
        ("b", ft.c_uint, 7),
        ("c", ft.c_char),
        ("d", ft.c_double),
        ("e", Inner),
        ("f", ft.c_char * 5),
        ("p", ft.POINTER(ft.c_int)),
        ("g", ft.c_longlong, 40),
    ]


PACKET_C = """
struct Inner { short x; int y; };
struct Packet {
    unsigned a:3; unsigned b:7; char c; double d; struct Inner e; char f[5]; int *p;
    long long g:40;
};
"""


def test_fields_from_the_layout_engine():
    lay = ft.layout(Packet)
    assert (lay.kind, lay.size, lay.align) == ("struct", ft.sizeof(Packet), 8)
    assert [f.name for f in lay.fields] == ["a", "b", "c", "d", "e", "f", "p", "g"]
    for f in lay.fields:
        descr = getattr(Packet, f.name)
        assert f.offset == descr.offset
        assert f.align == ft.alignment(f.type)
    b = lay["b"]
    assert (b.offset, b.size, b.bit_offset, b.bit_size, b.is_bitfield) == (0, 4, 3, 7, True)
    assert not lay["d"].is_bitfield and lay["d"].bit_offset is None
    assert lay["e"].layout is not None and lay["e"].layout.type is Inner
    assert lay["f"].c_type == "char [5]" and lay["p"].c_type == "int *"
    assert lay["p"].c_declaration() == "int *p" and b.c_declaration() == "unsigned int b:7"
    assert (lay.rule, lay.pack, lay.min_align, lay.big_endian) == ("gcc-sysv", None, 1, False)
    with pytest.raises(KeyError):
        lay["nope"]


def test_holes():
    holes = [(h.offset, h.bit_offset, h.bits, h.tail) for h in ft.layout(Packet).holes]
    # 6 bits after b, 5 bytes before d, 3 bytes after f, 3 bytes of tail padding
    assert holes == [(1, 2, 6, False), (3, 0, 40, False), (29, 0, 24, False), (45, 0, 24, True)]


def test_instances_and_other_types():
    assert ft.layout(Packet()).type is Packet
    arr = ft.layout(Inner * 3)
    assert (arr.kind, arr.length, arr.size, arr.element.type) == ("array", 3, 24, Inner)
    assert ft.layout(ft.c_int).kind == "scalar"
    assert str(ft.layout(ft.c_int * 4)) == "int [4]; /* size: 16, align: 4 */"
    assert ft.layout(ft.POINTER(Inner)).kind == "pointer"


def test_options_and_byte_order():
    class W(ft.BigEndianStructure):
        _layout_ = "ms"
        _pack_ = 1
        _fields_ = [("a", ft.c_int, 3), ("b", ft.c_short)]

    lay = ft.layout(W)
    assert (lay.rule, lay.pack, lay.big_endian) == ("ms", 1, True)
    assert lay["a"].bit_offset == 29  # ctypes counts from the unit's low end
    assert lay["a"].bit_span() == (0, 3)  # memory order: the first bits of byte 0


def test_base_and_incomplete():
    class Derived(Inner):
        _fields_ = [("z", ft.c_char)]

    lay = ft.layout(Derived)
    assert lay.base is not None and lay.base.type is Inner
    assert [f.name for f in lay.members()] == ["x", "y", "z"]
    assert lay["x"].offset == 0 and lay["z"].offset == 8

    class Empty(ft.Structure):
        pass

    assert not ft.layout(Empty).complete
    assert "no _fields_ yet" in str(ft.layout(Empty))


def test_layout_refuses_other_objects():
    for bad in (int, 3, "struct", ft.Structure.__class__):
        with pytest.raises(TypeError, match="layout\\(\\) expects a ferrotype"):
            ft.layout(bad)


def _tiles(lay) -> None:
    """Members and holes cover every bit of the type once (structures), or members cover
    from 0 and the holes cover the rest (unions)."""
    total = lay.size * 8
    spans = [f.bit_span() for f in lay.fields]
    if lay.base is not None:
        spans.append((0, lay.base.size * 8))
    spans += [(h.start(lay.big_endian), h.start(lay.big_endian) + h.bits) for h in lay.holes]
    covered = [0] * total
    for a, b in spans:
        assert 0 <= a < b <= total, (a, b, total)
        for i in range(a, b):
            covered[i] += 1
    if lay.kind == "struct":
        assert set(covered) <= {1}, covered
    else:
        assert 0 not in covered


# ---- layout() and check_layout() against cc, on random types ------------------------------------

if CC is not None:
    import test_layout_vs_cc as gen


def _check_case(case) -> None:
    classes = gen.ft_classes(case)
    source = "".join(gen.c_aggregate(a) for a in case.aggs)
    for a in case.aggs:
        _tiles(ft.layout(classes[a.name]))
    report = ft.check_layout(classes[case.top.name], case.top.tag, source=source)
    assert not report, f"{report}\n--- C ---\n{source}"
    assert report.checked >= 2


@needs_cc
@pytest.mark.parametrize("flavor", ["sysv", "ms", "ms_pack", "big_endian"])
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_random_layouts_match_cc(flavor, data, tmp_path_factory):
    features = _features(tmp_path_factory)
    gen.require(flavor, features)
    _check_case(data.draw(gen.cases(flavor), label="case"))


_FEATURES: dict = {}


def _features(tmp_path_factory) -> dict:
    if not _FEATURES:
        oracle = gen.CCOracle(CC, tmp_path_factory.mktemp("features"))
        _FEATURES.update({k: oracle.compiles(src, "-Werror") for k, src in gen.PROBES.items()})
    return _FEATURES


# ---- check_layout -------------------------------------------------------------------------------


@needs_cc
def test_check_layout_passes_the_right_declaration():
    report = ft.check_layout(Packet, "struct Packet", source=PACKET_C)
    assert not report and len(report) == 0
    assert str(report).startswith("Packet matches struct Packet (")
    # nested members are checked by path
    assert "offsetof(ft_probe_t, e.y)" in report.source


@needs_cc
def test_check_layout_of_a_flexible_array_member():
    class Msg(ft.Structure):
        _fields_ = [("len", ft.c_uint16), ("kind", ft.c_char), ("data", ft.c_int64 * 0)]

    src = "struct msg { unsigned short len; char kind; long long data[]; };"
    report = ft.check_layout(Msg, "struct msg", source=src, raises=True)
    assert not report
    assert "_Alignof(__typeof__(v.data[0]))" in report.source

    class Off(ft.Structure):  # the flexible member at the wrong offset
        _pack_ = 1
        _layout_ = "ms"
        _fields_ = [("len", ft.c_uint16), ("kind", ft.c_char), ("data", ft.c_int64 * 0)]

    report = ft.check_layout(Off, "struct msg", source=src)
    assert any(d.what == "offsetof" and d.member == "data" for d in report)


@needs_cc
def test_check_layout_finds_a_missing_member():
    class Wrong(ft.Structure):  # `d` forgotten, and a member C does not have
        _fields_ = [
            ("a", ft.c_uint, 3),
            ("b", ft.c_uint, 7),
            ("c", ft.c_char),
            ("e", Inner),
            ("f", ft.c_char * 5),
            ("p", ft.POINTER(ft.c_int)),
            ("g", ft.c_longlong, 40),
            ("extra", ft.c_int),
        ]

    report = ft.check_layout(Wrong, "struct Packet", source=PACKET_C)
    assert report
    facts = {(d.what, d.member) for d in report}
    assert ("member", "extra") in facts
    assert {
        ("offsetof", "e"),
        ("offsetof", "e.x"),
        ("offsetof", "p"),
        ("bit-field bits", "g"),
    } <= facts
    assert ("offsetof", "c") not in facts
    text = str(report)
    assert text.startswith("Wrong differs from struct Packet in ")
    assert "extra: member: ferrotype present, C absent" in text
    with pytest.raises(ft.LayoutMismatch) as info:
        ft.check_layout(Wrong, "struct Packet", source=PACKET_C, raises=True)
    assert info.value.report.differences == report.differences


@needs_cc
def test_check_layout_finds_shifted_members_and_bits():
    class Shifted(ft.Structure):  # `b` one bit narrower, `c` a char where C has a short
        _fields_ = [("a", ft.c_uint, 3), ("b", ft.c_uint, 6), ("c", ft.c_char), ("d", ft.c_int)]

    c = "struct S { unsigned a:3; unsigned b:7; short c; int d; };"
    found = {(d.what, d.member): d for d in ft.check_layout(Shifted, "struct S", source=c)}
    bits = found[("bit-field bits", "b")]
    assert (bits.ferrotype, bits.c) == (
        "byte 0 mask 0xf8, byte 1 mask 0x01",
        "byte 0 mask 0xf8, byte 1 mask 0x03",
    )
    assert ("offsetof", "c") not in found  # at 2 in both (the unit's bits are left over)
    assert (found[("sizeof member", "c")].ferrotype, found[("sizeof member", "c")].c) == (1, 2)
    assert found[("alignment of member type", "c")].c == 2
    assert len(found) == 3


@needs_cc
def test_check_layout_headers_and_anonymous_members(tmp_path):
    header = tmp_path / "decl.h"
    header.write_text("struct tagged { int kind; union { int i; double d; }; char t[3]; };\n")

    class U(ft.Union):
        _fields_ = [("i", ft.c_int), ("d", ft.c_double)]

    class Tagged(ft.Structure):
        _anonymous_ = ["_u"]
        _fields_ = [("kind", ft.c_int), ("_u", U), ("t", ft.c_char * 3)]

    report = ft.check_layout(Tagged, "struct tagged", header=header)
    assert not report, str(report)

    # a system header by name
    class Pollfd(ft.Structure):
        _fields_ = [("fd", ft.c_int), ("events", ft.c_short), ("revents", ft.c_short)]

    assert not ft.check_layout(Pollfd, "struct pollfd", header="poll.h")
    assert not ft.check_layout(Pollfd(), "struct pollfd", header=["stddef.h", "poll.h"])


@needs_cc
def test_check_layout_bad_input(monkeypatch):
    with pytest.raises(TypeError, match="expects a Structure or Union type, not int"):
        ft.check_layout(ft.c_int, "int", source="")
    with pytest.raises(TypeError, match="header= or source="):
        ft.check_layout(Packet, "struct Packet")
    with pytest.raises(ft.CCompilerError, match="incomplete type .*struct nope") as info:
        ft.check_layout(Packet, "struct nope", source=PACKET_C)
    assert "struct nope" in info.value.source and info.value.stderr
    with pytest.raises(ft.CCompilerError, match="no_such_header_xyz.h") as info:
        ft.check_layout(Packet, "struct Packet", header="no_such_header_xyz.h")
    assert info.value.command[0].endswith(("cc", "gcc", "clang"))
    with pytest.raises(ft.CCompilerError, match="expected"):
        ft.check_layout(Packet, "struct Packet", source="struct Packet { int a }")
    monkeypatch.setenv("CC", "no-such-compiler-xyz")
    with pytest.raises(ft.CCompilerError, match="no C compiler: 'no-such-compiler-xyz'"):
        ft.check_layout(Packet, "struct Packet", source=PACKET_C)


# ---- str(): golden tables -----------------------------------------------------------------------

PACKET_TABLE = """\
/* _layout_ = 'gcc-sysv', little-endian */
struct Packet {
    unsigned int               a:3;                     /*     0: 0   4 */
    unsigned int               b:7;                     /*     0: 3   4 */

    /* XXX 6 bits hole, try to pack */

    char                       c;                       /*     2     1 */

    /* XXX 5 bytes hole, try to pack */

    double                     d;                       /*     8     8 */
    struct Inner               e;                       /*    16     8 */
    char                       f[5];                    /*    24     5 */

    /* XXX 3 bytes hole, try to pack */

    int                        *p;                      /*    32     8 */
    long                       g:40;                    /*    40: 0   8 */

    /* size: 48, cachelines: 1, members: 8 */
    /* sum members: 30, holes: 2, sum holes: 8 */
    /* sum bitfield members: 50 bits, bit holes: 1, sum bit holes: 6 bits */
    /* padding: 3 */
    /* last cacheline: 48 bytes */
};
"""

WIRE_TABLE = """\
/* _layout_ = 'ms', _pack_ = 1, big-endian */
struct Wire {
    unsigned int               magic;                   /*     0     4 */
    unsigned short             kind:3;                  /*     4:13   2 */
    unsigned short             urgent:1;                /*     4:12   2 */
    unsigned short             length:12;               /*     4: 0   2 */
    unsigned short             crc;                     /*     6     2 */

    /* size: 8, cachelines: 1, members: 5 */
    /* sum members: 6, holes: 0, sum holes: 0 */
    /* sum bitfield members: 16 bits, bit holes: 0, sum bit holes: 0 bits */
    /* last cacheline: 8 bytes */
};
"""

UNION_TABLE = """\
/* _layout_ = 'gcc-sysv', little-endian */
union Value {
    int                        i;                       /*     0     4 */
    char                       s[9];                    /*     0     9 */

    /* size: 12, cachelines: 1, members: 2 */
    /* padding: 3 */
    /* last cacheline: 12 bytes */
};
"""


class Wire(ft.BigEndianStructure):
    _layout_ = "ms"
    _pack_ = 1
    _fields_ = [
        ("magic", ft.c_uint32),
        ("kind", ft.c_uint16, 3),
        ("urgent", ft.c_uint16, 1),
        ("length", ft.c_uint16, 12),
        ("crc", ft.c_uint16),
    ]


class Value(ft.Union):
    _fields_ = [("i", ft.c_int), ("s", ft.c_char * 9)]


@pytest.mark.parametrize(
    ("cls", "table"), [(Packet, PACKET_TABLE), (Wire, WIRE_TABLE), (Value, UNION_TABLE)]
)
def test_str_golden(cls, table):
    if ft.sizeof(ft.c_long) != 8:
        pytest.skip("the golden tables are written for an LP64 platform")
    assert str(ft.layout(cls)) == table


def test_str_expanded_and_cachelines():
    text = ft.layout(Packet).format(expand=True)
    assert "    struct Inner {\n        short" in text
    assert "    } e;" in text and "/* XXX 2 bytes hole, try to pack */" in text

    class Big(ft.Structure):
        _fields_ = [("a", ft.c_char * 60), ("b", ft.c_int * 2), ("c", ft.c_char * 70)]

    text = str(ft.layout(Big))
    assert "/* --- cacheline 1 boundary (64 bytes) was 4 bytes ago --- */" in text
    assert "/* --- cacheline 2 boundary (128 bytes) --- */" not in text
    assert "cachelines: 3, members: 3" in text


# ---- _repr_html_ --------------------------------------------------------------------------------


class _Checker(HTMLParser):
    VOID = {"br", "img", "meta", "hr", "input", "col"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.titles: list[str] = []
        self.text: list[str] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        assert "src" not in a and "href" not in a, (tag, a)
        if "title" in a:
            self.titles.append(a["title"])
        if "style" in a:
            self.styles.append(a["style"])
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (self.stack, tag)
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def _parse(html_text: str) -> _Checker:
    p = _Checker()
    p.feed(html_text)
    p.close()
    assert not p.stack, p.stack
    assert not re.search(r"https?:|url\(|@import|<script|<link", html_text)
    return p


@pytest.mark.parametrize("cls", [Packet, Wire, Value, Inner * 4, ft.c_double])
def test_repr_html_is_well_formed(cls):
    p = _parse(ft.layout(cls)._repr_html_())
    assert p.titles


def test_repr_html_draws_members_holes_and_units():
    p = _parse(ft.layout(Packet)._repr_html_())
    text = " ".join(p.text)
    for name in ("a:3", "b:7", "c", "d", "e.x", "e.y", "f", "p", "g:40"):
        assert name in text, name
    holes = [t for t in p.titles if t.startswith(("hole", "padding"))]
    # 6 bits, 5 bytes, 2 bytes inside e, 3 bytes, 3 bytes of tail padding
    assert sorted(holes) == sorted(
        [
            "hole: 6 bits at 1:2",
            "hole: 5 bytes at 3",
            "hole in e: 2 bytes at 18",
            "hole: 3 bytes at 29",
            "padding: 3 bytes at 45",
        ]
    )
    units = [t for t in p.titles if t.startswith("storage unit")]
    assert "storage unit: unsigned int at byte 0, 4 bytes" in units
    assert "storage unit: long at byte 40, 8 bytes" in units


def test_repr_html_union_bands_and_large_types():
    p = _parse(ft.layout(Value)._repr_html_())
    assert "member i: int" in p.text and "member s: char [9]" in p.text

    class Huge(ft.Structure):
        _fields_ = [("blob", ft.c_char * 5000), ("n", ft.c_int)]

    p = _parse(ft.layout(Huge).html(per_row=32))
    assert any("first 1024 of 5004 bytes shown" in t for t in p.text)
    with pytest.raises(ValueError, match="per_row"):
        ft.layout(Huge).html(per_row=0)
