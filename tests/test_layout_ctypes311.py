"""Where stdlib ctypes 3.11 lays structures out correctly, it agrees with ferrotype
(whose layouts `test_layout_vs_cc.py` proves equal to the C compiler's), and where
3.11 is wrong — bit-fields whose storage units it packs differently from the compiler,
as 3.12 and 3.13 do too, fixed only in CPython 3.14 — ferrotype follows the compiler.
Each such case is named below and checked against `cc` directly, and against the
stdlib of the running interpreter: different before 3.14, equal from 3.14 on."""

import ctypes
import sys
import tempfile
from pathlib import Path

import pytest
from ccoracle import CCOracle, find_cc
from hypothesis import given, settings
from hypothesis import strategies as st

ft = pytest.importorskip("ferrotype")

SCALARS = [
    "c_char",
    "c_byte",
    "c_ubyte",
    "c_short",
    "c_ushort",
    "c_int",
    "c_uint",
    "c_long",
    "c_ulong",
    "c_longlong",
    "c_float",
    "c_double",
    "c_bool",
    "c_void_p",
]


@st.composite
def declarations(draw, depth=0):
    """A random structure declaration without bit-fields: (is_union, pack, members),
    members being ("scalar", name) | ("array", decl-or-name, n) | ("nested", decl)."""
    members = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(
            st.sampled_from(["scalar", "scalar", "array"] + (["nested"] if depth < 2 else []))
        )
        if kind == "scalar":
            members.append(("scalar", draw(st.sampled_from(SCALARS))))
        elif kind == "array":
            inner = (
                draw(st.sampled_from(SCALARS))
                if draw(st.booleans()) or depth >= 2
                else draw(declarations(depth + 1))
            )
            members.append(("array", inner, draw(st.integers(1, 3))))
        else:
            members.append(("nested", draw(declarations(depth + 1))))
    pack = draw(st.sampled_from([None, None, 1, 2, 4, 8]))
    return (draw(st.integers(0, 3)) == 0, pack, members)


def build(mod, decl, counter=[0]):  # noqa: B006 - a counter for unique class names
    is_union, pack, members = decl
    fields = []
    for i, m in enumerate(members):
        if m[0] == "scalar":
            t = getattr(mod, m[1])
        elif m[0] == "array":
            inner = getattr(mod, m[1]) if isinstance(m[1], str) else build(mod, m[1])
            t = inner * m[2]
        else:
            t = build(mod, m[1])
        fields.append((f"m{i}", t))
    counter[0] += 1
    ns = {"_fields_": fields}
    if pack is not None:
        ns["_layout_"] = "ms"
        ns["_pack_"] = pack
    return type(f"S{counter[0]}", (mod.Union if is_union else mod.Structure,), ns)


@settings(max_examples=300, deadline=None)
@given(declarations())
def test_stdlib_ctypes_agrees_without_bitfields(decl):
    theirs = build(ctypes, decl)
    ours = build(ft, decl)
    assert ft.sizeof(ours) == ctypes.sizeof(theirs)
    assert ft.alignment(ours) == ctypes.alignment(theirs)
    for name, _ in theirs._fields_:
        assert getattr(ours, name).offset == getattr(theirs, name).offset


# Bit-field layouts where CPython 3.11 differs from the C compiler (and from 3.14).
KNOWN_311_BITFIELD_CASES = {
    # 3.11 puts `c` into the byte after `b`'s first byte: 3 bytes instead of 4.
    "u8_7-u16_9-u8_3": [
        ("uint8_t", "c_uint8", 7),
        ("uint16_t", "c_uint16", 9),
        ("uint8_t", "c_uint8", 3),
    ],
    "u8_1-u16_15-u8_1": [
        ("uint8_t", "c_uint8", 1),
        ("uint16_t", "c_uint16", 15),
        ("uint8_t", "c_uint8", 1),
    ],
    # 3.11 packs the 64-bit unit early: 12 bytes instead of 16.
    "u8_3-u32_30-u64_3": [
        ("uint8_t", "c_uint8", 3),
        ("uint32_t", "c_uint32", 30),
        ("uint64_t", "c_uint64", 3),
    ],
    # 3.11 makes the structure larger than the compiler: 10 bytes instead of 8.
    "u16_9-u16_9-u64_9": [
        ("uint16_t", "c_uint16", 9),
        ("uint16_t", "c_uint16", 9),
        ("uint64_t", "c_uint64", 9),
    ],
}


@pytest.fixture(scope="module")
def oracle():
    cc = find_cc()
    if cc is None:
        pytest.skip("no C compiler (cc) on PATH")
    with tempfile.TemporaryDirectory(prefix="ft-layout311-") as d:
        yield CCOracle(cc, Path(d))


@pytest.mark.parametrize("case", sorted(KNOWN_311_BITFIELD_CASES))
def test_known_311_bitfield_bugs_follow_the_compiler(case, oracle):
    members = KNOWN_311_BITFIELD_CASES[case]
    body = " ".join(f"{c} m{i} : {bits};" for i, (c, _, bits) in enumerate(members))
    sets = " ".join(f"s.m{i} = {(1 << bits) - 1};" for i, (_, _, bits) in enumerate(members))
    source = (
        "typedef unsigned char uint8_t; typedef unsigned short uint16_t;"
        " typedef unsigned int uint32_t; typedef unsigned long long uint64_t;"
        "int printf(const char *, ...);"
        f"struct S {{ {body} }};"
        "int main(void) { struct S s; __builtin_memset(&s, 0, sizeof s);"
        f" {sets} unsigned char *p = (unsigned char *)&s;"
        ' printf("%zu\\n", sizeof s);'
        ' for (unsigned i = 0; i < sizeof s; i++) printf("%02x", p[i]); printf("\\n"); return 0; }'
    )
    size_text, hex_bytes = oracle.run(source).split()
    fields = [(f"m{i}", getattr(ft, t), bits) for i, (_, t, bits) in enumerate(members)]
    ours = type("S", (ft.Structure,), {"_fields_": fields})
    inst = ours()
    for i, (_, _, bits) in enumerate(members):
        setattr(inst, f"m{i}", (1 << bits) - 1)
    assert ft.sizeof(ours) == int(size_text)
    assert bytes(inst).hex() == hex_bytes
    theirs = type(
        "S",
        (ctypes.Structure,),
        {"_fields_": [(n, getattr(ctypes, t.__name__), b) for n, t, b in fields]},
    )
    if sys.version_info < (3, 14):  # 3.12 and 3.13 lay these out as 3.11 does
        assert ctypes.sizeof(theirs) != int(size_text), "stdlib ctypes agrees now: drop the case"
    else:  # 3.14 lays bit-fields out as the compiler does
        mine = theirs()
        for i, (_, _, bits) in enumerate(members):
            setattr(mine, f"m{i}", (1 << bits) - 1)
        assert ctypes.sizeof(theirs) == int(size_text)
        assert bytes(mine).hex() == hex_bytes
