"""Arguments beyond the argument registers, and structure results of every size.

On x86-64 the register engine passes what does not fit in the six integer and eight vector
registers on the stack, structures by value that no longer fit (or are larger than 16 bytes)
as stack copies, and takes structure results larger than 16 bytes in memory, straight into the
new instance (`ferrotype_core::regcall`). Every shape here runs through stdlib ctypes, the
register engine (``reg``) and libffi (``ffi``, `_native._set_register_calls(False)`), and is
checked against the value the C function computes. AArch64 leaves stack arguments to libffi.

The C functions are generated (one per shape) into their own library.
"""

from __future__ import annotations

import contextlib
import itertools
import platform
from fractions import Fraction

import pytest

X86_64 = platform.machine() in ("x86_64", "AMD64")

# (C type, ctypes name, a value of the type, another) per integer and floating argument slot
INTS = [
    ("long long", "c_longlong", -(2**40) + 3, 2**38 + 7),
    ("signed char", "c_byte", -128, 127),
    ("unsigned short", "c_ushort", 65535, 1234),
    ("int", "c_int", -(2**31), 2**31 - 1),
    ("unsigned int", "c_uint", 4_000_000_000, 5),
    ("long", "c_long", -123456789, 987654321),
]
FLOATS = [("double", "c_double", -1.5e10, 0.25), ("float", "c_float", 3.5, -0.125)]
PATTERNS = ("ints-first", "floats-first", "alternating")
COUNTS = range(13)


def shape(ni: int, nf: int, pattern: str) -> list[tuple[str, int]]:
    """The argument list as (kind, index within its kind) in order."""
    i = [("i", k) for k in range(ni)]
    f = [("f", k) for k in range(nf)]
    if pattern == "ints-first":
        return i + f
    if pattern == "floats-first":
        return f + i
    return [a for pair in itertools.zip_longest(i, f) for a in pair if a is not None]


def ctype_of(kind: str, k: int):
    return INTS[k % len(INTS)] if kind == "i" else FLOATS[k % len(FLOATS)]


def weight(pos: int) -> int:
    return pos * 3 + 1


def fname(ni: int, nf: int, pattern: str) -> str:
    return f"sh_{ni}_{nf}_{pattern.replace('-', '_')}"


def c_source() -> str:
    out = ["#include <stdint.h>", "#include <string.h>"]
    for ni, nf, pattern in itertools.product(COUNTS, COUNTS, PATTERNS):
        args = shape(ni, nf, pattern)
        params = ", ".join(f"{ctype_of(kind, k)[0]} a{p}" for p, (kind, k) in enumerate(args))
        # Each argument, weighted by its position, in a long double (exact for every value here).
        body = " + ".join(f"(long double)a{p} * {weight(p)}" for p in range(len(args))) or "0"
        out.append(f"double {fname(ni, nf, pattern)}({params or 'void'}) {{ return {body}; }}")
    out.append(STRUCT_C)
    return "\n".join(out)


# Structures by value that spill, and structure results of each size, with stack arguments.
STRUCT_C = r"""
typedef struct { int64_t a, b; } I2;
typedef struct { double x, y; } D2;
typedef struct { double x; int64_t n; } DI;
typedef struct { int64_t v[3]; } S24;
typedef struct { char c[20]; } C20;
typedef struct { double v[8]; } S64;
typedef struct { int32_t v[32]; } S128;
#define L int64_t
/* five integers then I2: I2 no longer fits in the integer registers and goes on the stack;
   the sixth integer register then takes g */
double sv_i2_spill(L a, L b, L c, L d, L e, I2 s, L g) {
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * s.a + 7 * s.b + 8 * g;
}
double sv_d2_spill(double a, double b, double c, double d, double e, double f, double g,
                   D2 s, double h) {
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * s.x + 9 * s.y + 10 * h;
}
double sv_di_spill(L a, L b, L c, L d, L e, L f, DI s, double x) {
    return a + b + c + d + e + f + 3 * s.x + 5 * s.n + 7 * x;
}
double sv_big(S24 s, int k, S64 t, C20 c, double x) {
    double r = s.v[0] + 2 * s.v[1] + 3 * s.v[2] + 4 * k + 11 * x;
    for (int i = 0; i < 8; ++i) r += (i + 5) * t.v[i];
    for (int i = 0; i < 20; ++i) r += (i + 1) * 1000 * c.c[i];
    return r;
}
S24 sr_24(L a, L b, L c, L d, L e, L f, L g) {
    S24 s = {{a + b + c, d + e + f, g}};
    return s;
}
S64 sr_64(double a, L b, S24 s, double c, double d, double e, double f, double g, double h,
          double i, double j) {
    S64 r = {{a, (double)b, (double)(s.v[0] + s.v[1] + s.v[2]), c + d, e + f, g + h, i, j}};
    return r;
}
S128 sr_128(L a, C20 c) {
    S128 r;
    for (int i = 0; i < 32; ++i) r.v[i] = (int32_t)(a * i + c.c[i % 20]);
    return r;
}
C20 sr_c20(C20 c, L shift) {
    C20 r;
    for (int i = 0; i < 20; ++i) r.c[i] = (char)(c.c[i] + shift);
    return r;
}
"""


@pytest.fixture(scope="module")
def shapes_path(build_library, tmp_path_factory) -> str:
    src = tmp_path_factory.mktemp("stackcalls") / "stackcalls.c"
    src.write_text(c_source())
    return str(build_library([src], "ftstackcalls"))


@contextlib.contextmanager
def engine(ct, name: str):
    """Declarations made inside use the register engine (`reg`) or libffi (`ffi`)."""
    if ct.__name__ != "ferrotype":
        yield
        return
    prev = ct._native._set_register_calls(name == "reg")
    try:
        yield
    finally:
        ct._native._set_register_calls(prev)


def variants():
    return [
        pytest.param("ctypes", "-", id="ctypes"),
        pytest.param("ferrotype", "reg", id="reg"),
        pytest.param("ferrotype", "ffi", id="ffi"),
    ]


def load(name: str):
    import importlib

    return importlib.import_module(name)


@pytest.mark.parametrize("module, eng", variants())
@pytest.mark.parametrize("pattern", PATTERNS)
def test_integer_and_float_counts(shapes_path, module, eng, pattern):
    ct = load(module)
    lib = ct.CDLL(shapes_path)
    bad = []
    for ni, nf in itertools.product(COUNTS, COUNTS):
        args = shape(ni, nf, pattern)
        f = getattr(lib, fname(ni, nf, pattern))
        with engine(ct, eng):
            f.argtypes = [getattr(ct, ctype_of(kind, k)[1]) for kind, k in args]
            f.restype = ct.c_double
        if eng == "reg" and X86_64:
            spill = max(ni - 6, 0) + max(nf - 8, 0)
            assert ct._native._register_plan(f) == (spill, False), (ni, nf)
        for variant in (2, 3):
            values = [ctype_of(kind, k)[variant] for kind, k in args]
            # (every value and sum is exact in a double)
            expected = sum(Fraction(v) * weight(p) for p, v in enumerate(values))
            got = f(*values)
            if got != float(expected):
                bad.append((ni, nf, variant, got, expected))
    assert not bad


@pytest.fixture
def structs(request, shapes_path):
    module, eng = request.param
    ct = load(module)
    lib = ct.CDLL(shapes_path)
    L = ct.c_int64

    class I2(ct.Structure):
        _fields_ = [("a", L), ("b", L)]

    class D2(ct.Structure):
        _fields_ = [("x", ct.c_double), ("y", ct.c_double)]

    class DI(ct.Structure):
        _fields_ = [("x", ct.c_double), ("n", L)]

    class S24(ct.Structure):
        _fields_ = [("v", L * 3)]

    class C20(ct.Structure):
        _fields_ = [("c", ct.c_char * 20)]

    class S64(ct.Structure):
        _fields_ = [("v", ct.c_double * 8)]

    class S128(ct.Structure):
        _fields_ = [("v", ct.c_int32 * 32)]

    D = ct.c_double
    decl = {
        "sv_i2_spill": (D, [L] * 5 + [I2, L]),
        "sv_d2_spill": (D, [D] * 7 + [D2, D]),
        "sv_di_spill": (D, [L] * 6 + [DI, D]),
        "sv_big": (D, [S24, ct.c_int, S64, C20, D]),
        "sr_24": (S24, [L] * 7),
        "sr_64": (S64, [D, L, S24] + [D] * 8),
        "sr_128": (S128, [L, C20]),
        "sr_c20": (C20, [C20, L]),
    }
    funcs = {}
    with engine(ct, eng):
        for name, (res, args) in decl.items():
            f = getattr(lib, name)
            f.restype, f.argtypes = res, args
            funcs[name] = f
    types = dict(I2=I2, D2=D2, DI=DI, S24=S24, C20=C20, S64=S64, S128=S128)
    return ct, eng, funcs, types


STRUCT_VARIANTS = [
    pytest.param(("ctypes", "-"), id="ctypes"),
    pytest.param(("ferrotype", "reg"), id="reg"),
    pytest.param(("ferrotype", "ffi"), id="ffi"),
]


@pytest.mark.parametrize("structs", STRUCT_VARIANTS, indirect=True)
def test_structures_that_spill(structs):
    ct, eng, f, t = structs
    if eng == "reg" and X86_64:
        assert ct._native._register_plan(f["sv_i2_spill"]) == (2, False)
        assert ct._native._register_plan(f["sv_d2_spill"]) == (2, False)
        # DI needs an integer register, none is left: all of it goes on the stack
        assert ct._native._register_plan(f["sv_di_spill"]) == (2, False)
        assert ct._native._register_plan(f["sv_big"]) == (3 + 8 + 3, False)
    assert f["sv_i2_spill"](1, 2, 3, 4, 5, t["I2"](6, 7), 8) == (1 + 4 + 9 + 16 + 25 + 36 + 49 + 64)
    assert f["sv_d2_spill"](*[float(i) for i in range(1, 8)], t["D2"](8.0, 9.0), 10.0) == sum(
        i * i for i in range(1, 11)
    )
    assert f["sv_di_spill"](1, 2, 3, 4, 5, 6, t["DI"](0.5, 10), 2.0) == 21 + 1.5 + 50 + 14
    c = t["C20"](bytes(range(1, 21)))
    s64 = t["S64"]((ct.c_double * 8)(*[i / 4 for i in range(8)]))
    expected = 1 + 2 * 2 + 3 * 3 + 4 * 7 + 11 * 0.5
    expected += sum((i + 5) * i / 4 for i in range(8))
    expected += sum((i + 1) * 1000 * (i + 1) for i in range(20))
    s24 = t["S24"]((ct.c_int64 * 3)(1, 2, 3))
    assert f["sv_big"](s24, 7, s64, c, 0.5) == expected


@pytest.mark.parametrize("structs", STRUCT_VARIANTS, indirect=True)
def test_structure_results_in_memory(structs):
    ct, eng, f, t = structs
    if eng == "reg" and X86_64:
        assert ct._native._register_plan(f["sr_24"]) == (2, True)  # 7 ints after the hidden one
        assert ct._native._register_plan(f["sr_64"]) == (3 + 1, True)
        assert ct._native._register_plan(f["sr_128"]) == (3, True)
        assert ct._native._register_plan(f["sr_c20"]) == (3, True)
    r = f["sr_24"](1, 2, 3, 4, 5, 6, -7)
    assert type(r) is t["S24"] and list(r.v) == [6, 15, -7]
    s24 = t["S24"]((ct.c_int64 * 3)(1, 1, 1))
    r = f["sr_64"](0.5, 3, s24, *[float(i) for i in range(8)])
    assert list(r.v) == [0.5, 3.0, 3.0, 1.0, 5.0, 9.0, 6.0, 7.0]
    c = t["C20"](b"abcdefghijklmnopqrst")
    r = f["sr_128"](3, c)
    assert list(r.v) == [3 * i + b"abcdefghijklmnopqrst"[i % 20] for i in range(32)]
    r = f["sr_c20"](c, 1)
    assert r.c == b"bcdefghijklmnopqrstu"
    # Each call makes a new instance, owning its memory.
    a, b = f["sr_24"](1, 0, 0, 0, 0, 0, 0), f["sr_24"](2, 0, 0, 0, 0, 0, 0)
    assert (a.v[0], b.v[0]) == (1, 2) and a._b_needsfree_ and a._b_base_ is None


def test_check_retval_and_errcheck_on_results_in_memory(shapes_path):
    ct = load("ferrotype")
    lib = ct.CDLL(shapes_path)

    class S24(ct.Structure):
        _fields_ = [("v", ct.c_int64 * 3)]

        @classmethod
        def _check_retval_(cls, r):
            return ("checked", list(r.v))

    f = lib.sr_24
    f.restype, f.argtypes = S24, [ct.c_int64] * 7
    assert f(1, 2, 3, 4, 5, 6, 7) == ("checked", [6, 15, 7])
    f.errcheck = lambda r, func, args: (r, len(args))
    assert f(1, 2, 3, 4, 5, 6, 7) == (("checked", [6, 15, 7]), 7)


def test_variadic_functions_keep_libffi(ferrotype):
    """A function declared variadic never takes the register engine (its variadic arguments
    may travel differently), however many arguments it has."""
    libc = ferrotype.CDLL(None)
    f = libc.snprintf
    f.variadic = True
    buf = ferrotype.create_string_buffer(128)
    f.argtypes = [ferrotype.c_char_p, ferrotype.c_size_t, ferrotype.c_char_p]
    f.restype = ferrotype.c_int
    assert ferrotype._native._register_plan(f) is None
    n = f(buf, 128, b"%d %d %d %d %d %d %d %.1f", 1, 2, 3, 4, 5, 6, 7, 8.5)
    assert buf.value[:n] == b"1 2 3 4 5 6 7 8.5"
    # and with argtypes naming every argument (ctypes' idiom for printf): the register
    # engine, stack arguments included, with %al set for the vector registers
    g = libc.snprintf
    g.variadic = False
    g.argtypes = (
        [ferrotype.c_char_p, ferrotype.c_size_t, ferrotype.c_char_p]
        + [ferrotype.c_int] * 7
        + [ferrotype.c_double]
    )
    if X86_64:
        assert ferrotype._native._register_plan(g) == (4, False)
    n = g(buf, 128, b"%d %d %d %d %d %d %d %.1f", 1, 2, 3, 4, 5, 6, 7, 8.5)
    assert buf.value[:n] == b"1 2 3 4 5 6 7 8.5"


@pytest.mark.parametrize("module, eng", variants())
def test_argument_errors_beyond_the_registers(shapes_path, module, eng):
    """Conversion errors of stack arguments are ctypes' ArgumentErrors, naming the position."""
    ct = load(module)
    lib = ct.CDLL(shapes_path)
    f = getattr(lib, fname(9, 0, "ints-first"))
    with engine(ct, eng):
        f.argtypes = [getattr(ct, ctype_of("i", k)[1]) for k in range(9)]
        f.restype = ct.c_double
    with pytest.raises(ct.ArgumentError) as e:
        f(*range(8), "x")
    assert str(e.value).startswith("argument 9: TypeError")
    with pytest.raises(TypeError):
        f(*range(8))
