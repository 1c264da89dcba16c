"""Which engine takes which signature on Linux aarch64, and that each one agrees with C there.

On AArch64 the register engine (``ferrotype_core::regcall``) calls a function itself when every
argument is a scalar that fits in the argument registers (at most eight in x0-x7, eight in
v0-v7) and the result is a scalar or ``void``; it hands every other signature to libffi:
structures and unions by value (homogeneous floating-point aggregates in v0-v3, other
aggregates of up to 16 bytes in x registers, larger ones by reference), structure results (in
registers, or in memory through x8), arguments beyond the registers (on the stack), ``long
double`` (binary128, in a q register) and declared variadic functions (AAPCS64 on Linux passes
the variadic arguments like fixed ones, but libffi's ``ffi_prep_cif_var`` is the one path that
knows it). ``docs/aarch64.md`` has the table; this file holds it, with
``_native._register_plan`` (``None``: libffi), and checks every shape's result against the
value the C function computes with both engine settings. Only on aarch64 (``make
test-aarch64``).
"""

from __future__ import annotations

import platform
from fractions import Fraction

import pytest
from test_byvalue import SHAPES, K, _construct, _values, make_struct
from test_stack_calls import ctype_of, fname, shape, shapes_path, weight  # noqa: F401

pytestmark = pytest.mark.skipif(
    platform.machine() not in ("aarch64", "arm64"), reason="the AArch64 engine table"
)


@pytest.fixture(params=["reg", "ffi"])
def eng(request, ferrotype):
    """The register engine on (``reg``) or off (``ffi``) for declarations made in the test."""
    previous = ferrotype._native._set_register_calls(request.param == "reg")
    try:
        yield request.param
    finally:
        ferrotype._native._set_register_calls(previous)


def plan(ft, f):
    return ft._native._register_plan(f)


@pytest.mark.parametrize("ni, nf", [(0, 0), (8, 8), (8, 0), (0, 8), (9, 0), (0, 9), (12, 12)])
@pytest.mark.parametrize("pattern", ["ints-first", "alternating"])
def test_scalars_in_registers_else_libffi(ferrotype, shapes_path, eng, ni, nf, pattern):  # noqa: F811
    ft = ferrotype
    f = getattr(ft.CDLL(shapes_path), fname(ni, nf, pattern))
    args = shape(ni, nf, pattern)
    f.argtypes = [getattr(ft, ctype_of(kind, k)[1]) for kind, k in args]
    f.restype = ft.c_double
    in_registers = ni <= 8 and nf <= 8
    assert plan(ft, f) == ((0, False) if eng == "reg" and in_registers else None)
    values = [ctype_of(kind, k)[2] for kind, k in args]
    assert f(*values) == float(sum(Fraction(v) * weight(p) for p, v in enumerate(values)))


@pytest.mark.parametrize("name", list(SHAPES))
def test_structures_by_value_go_to_libffi(ferrotype, fixture_path, eng, name):
    """HFAs (``ff``, ``fff``, ``dd``, ``f2``, ``d4``, ``nest`` is none: mixed float/double),
    small integer and mixed aggregates, and ones larger than 16 bytes (``icd``, ``ll5``,
    ``u17``, passed by reference), as arguments and results."""
    ft = ferrotype
    S = make_struct(ft, name)
    f = getattr(ft.CDLL(fixture_path), f"ft_bv_{name}")
    f.restype, f.argtypes = S, [S, ft.c_int]
    assert plan(ft, f) is None
    inputs, expected = SHAPES[name]
    r = f(_construct(S, inputs), K)
    assert type(r) is S and _values(r) == expected


def test_long_double_goes_to_libffi(ferrotype, eng):
    ft = ferrotype
    f = ft.CDLL("libm.so.6").ldexpl
    f.restype, f.argtypes = ft.c_longdouble, [ft.c_longdouble, ft.c_int]
    assert plan(ft, f) is None
    assert f(1.5, 3) == 12.0
    assert f(f(1.0, -1074), 1074) == 1.0  # the smallest double, and back
    assert f(1.0, -1080) == 0.0  # below every double: binary128 holds it, a Python float not


@pytest.mark.parametrize(
    "value, bits",
    [
        (1.5, 0x3FFF_8000 << 96),
        (-2.0, 0xC000 << 112),
        (2.0**-1074, (0x3FFF - 1074) << 112),  # a double subnormal is a binary128 normal
        (float("inf"), 0x7FFF << 112),
    ],
)
def test_long_double_is_binary128(ct, value, bits):
    """Values, fields, arrays and buffer formats of ``c_longdouble``, as the stdlib has them."""
    assert ct.sizeof(ct.c_longdouble) == ct.alignment(ct.c_longdouble) == 16
    assert bytes(ct.c_longdouble(value)) == bits.to_bytes(16, "little")
    assert ct.c_longdouble.from_buffer_copy(bits.to_bytes(16, "little")).value == value

    class S(ct.Structure):
        _fields_ = [("c", ct.c_char), ("g", ct.c_longdouble), ("a", ct.c_longdouble * 2)]

    assert (S.g.offset, S.a.offset, ct.sizeof(S)) == (16, 32, 64)
    s = S(b"x", value, (value, -value))
    assert (s.g, s.a[0], s.a[1]) == (value, value, -value)
    assert bytes(s)[16:32] == bits.to_bytes(16, "little")
    assert memoryview(s.a).format == memoryview((ct.c_longdouble * 2)()).format == "<g"


def test_declared_variadic_goes_to_libffi(ferrotype, eng):
    ft = ferrotype
    libc = ft.CDLL(None)
    f = libc.snprintf
    f.variadic = True
    f.argtypes = [ft.c_char_p, ft.c_size_t, ft.c_char_p]
    f.restype = ft.c_int
    assert plan(ft, f) is None
    buf = ft.create_string_buffer(128)
    big = ft.c_longlong(2**40)
    n = f(buf, 128, b"%d %.2f %s %lld %d %d %d %d %.1f", 1, 2.5, b"x", big, 5, 6, 7, 8, 9.5)
    assert buf.value[:n] == b"1 2.50 x 1099511627776 5 6 7 8 9.5"
    # All arguments declared (ctypes' idiom for printf): fixed arguments on AArch64, which
    # passes variadic arguments as it does fixed ones, so the register engine may take it.
    g = libc.snprintf
    g.variadic = False
    g.argtypes = [ft.c_char_p, ft.c_size_t, ft.c_char_p, ft.c_int, ft.c_double]
    assert plan(ft, g) == ((0, False) if eng == "reg" else None)
    n = g(buf, 128, b"%d %.1f", 4, 0.5)
    assert buf.value[:n] == b"4 0.5"
