"""ferrotype.cdef: C declarations to ordinary ferrotype types, checked against the C
compiler, and functions of a C fixture library called through them."""

from __future__ import annotations

import pathlib

import ferrotype
import pytest
from ccoracle import find_cc
from conftest import build_shared_library
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HERE = pathlib.Path(__file__).resolve().parent / "fixtures" / "cdef"
HEADER = (HERE / "cdeflib.h").read_text()
needs_cc = pytest.mark.skipif(find_cc() is None, reason="no C compiler")


@pytest.fixture(scope="module")
def ns():
    lib = build_shared_library([HERE / "cdeflib.c"], "ftcdef", depends=[HERE / "cdeflib.h"])
    return ferrotype.cdef(HEADER, str(lib))


def test_constants_and_types(ns):
    assert (ns.CDL_VERSION, ns.CDL_MAX, ns.CDL_SCALE) == (b"1.2", 16, 2.5)
    assert (ns.CDL_NONE, ns.CDL_POINT, ns.CDL_RECT) == (0, 3, 4)
    assert ns.enum_cdl_kind is ferrotype.c_uint
    assert ns.cdl_point is ns.struct_cdl_point
    assert issubclass(ns.cdl_shape, ferrotype.Structure)
    assert ns.__refused__ == []
    s = ns.cdl_shape(kind=ns.CDL_POINT)
    s.origin.x = 6  # through the anonymous union
    s.visible, s.layer = 1, 99
    assert (s.origin.x, s.visible, s.layer) == (6, 1, 99)


@needs_cc
@pytest.mark.parametrize("name", ["cdl_point", "cdl_shape"])
def test_layouts_match_the_compiler(ns, name):
    ferrotype.check_layout(getattr(ns, name), name, source=HEADER, raises=True)


def test_interchangeable_with_hand_written(ns):
    class Point(ferrotype.Structure):
        _fields_ = [("x", ferrotype.c_int), ("y", ferrotype.c_int)]

    p = ns.cdl_point(3, 5)
    q = Point.from_buffer_copy(bytes(p))
    assert (q.x, q.y) == (3, 5)
    assert ns.cdl_shape.tag.size == 4


def test_calls_through_declarations(ns):
    s = ns.cdl_shape(kind=ns.CDL_POINT)
    s.origin.x, s.origin.y = 6, 7
    assert ns.cdl_area(ferrotype.byref(s)) == 42
    t = ns.cdl_shape(kind=ns.CDL_NONE, next=ferrotype.pointer(s))
    seen = []

    @ns.cdl_visit
    def visit(shape, ctx):
        seen.append(shape.contents.kind)
        return 1

    assert ns.cdl_walk(ferrotype.byref(t), visit, None) == 2
    assert seen == [ns.CDL_NONE, ns.CDL_POINT]
    assert ns.cdl_sum.variadic
    assert ns.cdl_sum(3, 1, 2, 3) == 6
    m = ns.cdl_mid(ns.cdl_point(0, 10), ns.cdl_point(4, 20))
    assert (m.x, m.y) == (2, 15)
    assert ns.cdl_counter.value == 41
    assert ns.cdl_name.value == b"cdeflib"


def test_refusals_are_listed_and_the_rest_binds():
    ns = ferrotype.cdef(
        "__int128 wide;\n"
        "struct __attribute__((vector_size(16))) p { char c; int i; };\n"
        "#define MACRO(x) (x)\n"
        "long double ld(long double);\n"
        "typedef struct ok { int a; } ok;\n"
    )
    refused = {r.name: r for r in ns.__refused__}
    assert set(refused) == {"wide", "p", "MACRO", "ld"}
    assert all(r.reason.startswith("cannot represent") for r in refused.values())
    assert refused["p"].line == 2
    assert ferrotype.sizeof(ns.ok) == 4
    assert ns.__found__ >= 5


def test_missing_symbol_is_refused():
    ns = ferrotype.cdef("int no_such_function_here(int);", ferrotype.CDLL(None))
    assert [r.name for r in ns.__refused__] == ["no_such_function_here"]
    assert "not found" in ns.__refused__[0].reason


@pytest.mark.parametrize(
    ("source", "line", "column"),
    [("int a;\nstruct s { int x };", 2, 18), ("typedef int t;\n\n  t t t;", 3, 7)],
)
def test_syntax_error_names_line_and_column(source, line, column):
    with pytest.raises(ferrotype.CDefError) as e:
        ferrotype.cdef(source)
    assert (e.value.lineno, e.value.offset) == (line, column)
    assert str(e.value).startswith(f"line {line}, column {column}: syntax error")
    assert isinstance(e.value, SyntaxError)


SCALARS = [
    "char",
    "short",
    "int",
    "long",
    "long long",
    "float",
    "double",
    "unsigned char",
    "unsigned short",
    "unsigned",
    "void *",
    "char *",
    "_Bool",
]
INTS = ["char", "short", "int", "unsigned", "long", "unsigned char", "unsigned long long"]


@st.composite
def members(draw):
    n = draw(st.integers(1, 6))
    out = []
    for i in range(n):
        if draw(st.booleans()) and draw(st.booleans()):
            t = draw(st.sampled_from(INTS))
            width = {"char": 8, "unsigned char": 8, "short": 16}.get(t, 32)
            if "long" in t:
                width = 64
            out.append(f"{t} m{i} : {draw(st.integers(1, width))};")
        else:
            t = draw(st.sampled_from(SCALARS))
            dim = draw(st.sampled_from(["", "[3]", "[2][2]"]))
            out.append(f"{t} m{i}{dim};")
    return out


@needs_cc
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(members(), st.booleans())
def test_generated_layouts_match_the_compiler(body, union):
    kind = "union" if union else "struct"
    source = f"{kind} gen {{ {' '.join(body)} }};"
    ns = ferrotype.cdef(source)
    assert ns.__refused__ == []
    ferrotype.check_layout(ns.gen, f"{kind} gen", source=source, raises=True)


PACKED = """
struct pk { char c; int i; short s; } __attribute__((packed));
typedef struct { char c; double d; } __attribute__((aligned(32))) al_t;
struct pa { char c; long l; } __attribute__((packed, aligned(8)));
struct holder { char c; struct pk inner; int z; al_t a; };
typedef struct {
    long long ll __attribute__((__aligned__(__alignof__(long long))));
    long double ld __attribute__((__aligned__(__alignof__(long double))));
} max_align_like;
union pu { char c[3]; int i; } __attribute__((packed));
struct __attribute__((packed)) tagpk { char c; long l; short s; };
union __attribute__ ((__aligned__(16))) tagal { char c; int i; };
"""


@needs_cc
@pytest.mark.parametrize(
    ("name", "c_name"),
    [
        ("struct_pk", "struct pk"),
        ("al_t", "al_t"),
        ("struct_pa", "struct pa"),
        ("struct_holder", "struct holder"),
        ("max_align_like", "max_align_like"),
        ("union_pu", "union pu"),
        ("struct_tagpk", "struct tagpk"),
        ("union_tagal", "union tagal"),
    ],
)
def test_packed_and_aligned_records_match_the_compiler(name, c_name, recwarn):
    ns = ferrotype.cdef(PACKED)
    assert ns.__refused__ == []
    t = getattr(ns, name)
    ferrotype.check_layout(t, c_name, source=PACKED, raises=True)
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


PRAGMA = """
#pragma pack(push, 2)
struct pp2 { char c; int i; double d; };
#pragma pack(push, 1)
struct pp1 { char c; short s; long l; };
union pu1 { char c[3]; int i; };
#pragma pack(pop)
struct pp2b { char c; long long ll; };
#pragma pack(pop)
struct pn { char c; int i; };
#pragma pack(4)
struct pp4 { char c; double d; struct pp1 inner; };
#pragma pack()
struct pn2 { char c; double d; };
"""


@needs_cc
@pytest.mark.parametrize(
    ("name", "c_name"),
    [
        ("struct_pp2", "struct pp2"),
        ("struct_pp1", "struct pp1"),
        ("union_pu1", "union pu1"),
        ("struct_pp2b", "struct pp2b"),
        ("struct_pn", "struct pn"),
        ("struct_pp4", "struct pp4"),
        ("struct_pn2", "struct pn2"),
    ],
)
def test_pragma_pack_matches_the_compiler(name, c_name, recwarn):
    ns = ferrotype.cdef(PRAGMA)
    assert ns.__refused__ == []
    ferrotype.check_layout(getattr(ns, name), c_name, source=PRAGMA, raises=True)
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


def test_pragma_pack_values():
    ns = ferrotype.cdef(PRAGMA)
    assert ns.struct_pp2._pack_ == 2 and ns.struct_pp1._pack_ == 1
    assert not hasattr(ns.struct_pn, "_pack_") and not hasattr(ns.struct_pn2, "_pack_")
    with pytest.raises(ferrotype.CDefError, match="pragma pack"):
        ferrotype.cdef("#pragma pack(3)\nstruct s { int a; };")


def test_packed_and_aligned_become_pack_and_align():
    ns = ferrotype.cdef(PACKED)
    assert (ns.struct_pk._pack_, ns.struct_pk._layout_) == (1, "ms")
    assert ferrotype.sizeof(ns.struct_pk) == 7
    assert ns.al_t._align_ == 32 and ferrotype.alignment(ns.al_t) == 32
    assert not hasattr(ns.max_align_like, "_pack_")


def test_layout_attributes_that_cannot_be_represented():
    ns = ferrotype.cdef(
        """
        struct bits { char c; int i : 3; } __attribute__((packed));
        struct member { char c; int x __attribute__((aligned(8))); };
        struct fine { int a; };
        """
    )
    reasons = {r.name: r.reason for r in ns.__refused__}
    assert "bit-field in a packed struct" in reasons["bits"]
    assert "aligned(8)" in reasons["member"] and "per-field" in reasons["member"]
    assert ferrotype.sizeof(ns.struct_fine) == 4
