"""Register calls: every scalar signature of the fixture, through the register engine and libffi.

ferrotype calls a foreign function whose declared signature is all scalars (integers of any
width, bool, char, wchar, pointers, float, double; at most 6 integer-class and 8 floating
arguments; a scalar or None restype) through its register engine, which loads the argument
registers itself instead of going through libffi. ``_native._set_register_calls(False)`` makes
the plans prepared afterwards use libffi only, so every call below runs in these variants and
must give the same outcome (result, bytes written through pointer arguments, or exception type
and text) in all of them:

* ``ctypes``: stdlib ctypes, the behaviour reference;
* ``reg`` / ``ffi``: ferrotype with the register engine on / off when the function is declared;
* ``reg-gil`` / ``ffi-gil``: the same with ``func.release_gil = False``;
* ``reg-pydll`` / ``ffi-pydll``: the function loaded through ``PyDLL`` (GIL kept, Python error
  checked after the call).

Signatures the register engine does not take (``long double``, seven integer or nine double
arguments, function-pointer arguments...) are in the table too: they must keep working through
libffi whatever the switch says. ``test_table_covers_every_exported_function`` checks that the
table names every function the fixture exports, apart from a short list of signatures with a
structure or union passed by value and functions tested on their own below.

An integer argument beyond its C type's range passes its low bits on every engine, as in stdlib
ctypes; in strict mode every engine raises ``ArgumentError("argument N: OverflowError: ...")``
instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import enum
import errno
import functools
import gc
import math
import os
import platform
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

INF = float("inf")
NAN = float("nan")

# Where the widening of narrow arguments and the narrowing of results can be observed by
# calling a C function through a wider (or narrower) declaration than its definition: both
# pass the first integer arguments in 64-bit registers whatever their C type.
REGISTER_ABI = platform.machine() in ("x86_64", "AMD64", "aarch64", "arm64")


# ---- the variants ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    name: str
    module: str  # "ctypes" or "ferrotype"
    registers: bool = True  # ferrotype: the register engine is on while the function is declared
    release_gil: bool = True  # ferrotype: func.release_gil
    loader: str = "CDLL"

    def __str__(self) -> str:
        return self.name


REFERENCE = Variant("ctypes", "ctypes")
REG = Variant("reg", "ferrotype", registers=True)
FFI = Variant("ffi", "ferrotype", registers=False)
FERROTYPE_VARIANTS = (
    REG,
    FFI,
    Variant("reg-gil", "ferrotype", registers=True, release_gil=False),
    Variant("ffi-gil", "ferrotype", registers=False, release_gil=False),
    Variant("reg-pydll", "ferrotype", registers=True, loader="PyDLL"),
    Variant("ffi-pydll", "ferrotype", registers=False, loader="PyDLL"),
)
ALL_VARIANTS = (REFERENCE, *FERROTYPE_VARIANTS)
# The three that differ in the call path only, for the smaller tests.
MAIN_VARIANTS = (REFERENCE, REG, FFI)


@contextlib.contextmanager
def register_calls(ft, on: bool):
    """Function plans prepared inside use the register engine iff ``on``."""
    prev = ft._native._set_register_calls(on)
    try:
        yield
    finally:
        ft._native._set_register_calls(prev)


def engine_of(ct, variant: Variant):
    """The engine switch of ``variant`` (nothing for stdlib ctypes)."""
    if ct.__name__ == "ferrotype":
        return register_calls(ct, variant.registers)
    return contextlib.nullcontext()


@pytest.fixture(scope="session")
def modules(ferrotype):
    return {"ctypes": ctypes, "ferrotype": ferrotype}


@pytest.fixture(autouse=True)
def _register_calls_restored(ferrotype):
    """No test may leave the engine switched off for the rest of the suite."""
    before = ferrotype._native._set_register_calls(True)
    ferrotype._native._set_register_calls(before)
    yield
    assert ferrotype._native._set_register_calls(before) == before


class Declarer:
    """Declares functions of one library for one variant, each on a fresh library object (so
    no declaration leaks between variants or tests)."""

    def __init__(self, variant: Variant, modules, path: str | None):
        self.variant = variant
        self.ct = modules[variant.module]
        self.path = path

    def __call__(self, name, restype=None, argtypes=None, *, use_errno=False, **attrs):
        v, ct = self.variant, self.ct
        with engine_of(ct, v):
            lib = getattr(ct, v.loader)(self.path, use_errno=use_errno)
            f = getattr(lib, name)
            f.restype = resolve(ct, restype)
            if argtypes is not None:
                f.argtypes = [resolve(ct, a) for a in argtypes]
            for k, val in attrs.items():
                setattr(f, k, val)
            if ct.__name__ == "ferrotype" and not v.release_gil:
                f.release_gil = False
        return f


# ---- type specifications, resolved per module -------------------------------------------------


@dataclass(frozen=True)
class Fn:
    """A CFUNCTYPE type: ``Fn(restype, *argtypes)`` with type specs."""

    restype: object
    argtypes: tuple

    def __init__(self, restype, *argtypes):
        object.__setattr__(self, "restype", restype)
        object.__setattr__(self, "argtypes", argtypes)


@dataclass(frozen=True)
class NdPtr:
    """numpy.ctypeslib.ndpointer (stdlib) or ferrotype.ctypeslib.ndpointer."""

    dtype: str
    flags: str | None = None


@functools.cache
def structs(ct):
    class Point(ct.Structure):
        _fields_ = [("x", ct.c_double), ("y", ct.c_double)]

    class Rec(ct.Structure):
        _fields_ = [("a", ct.c_int), ("name", ct.c_char * 8), ("d", ct.c_double)]

    class Bits(ct.Structure):
        _fields_ = [("x", ct.c_int, 3), ("y", ct.c_uint, 5), ("z", ct.c_int)]

    class Num(ct.Union):
        _fields_ = [("i", ct.c_int), ("f", ct.c_float), ("b", ct.c_ubyte * 4)]

    class Big(ct.Structure):
        _fields_ = [("a", ct.c_longlong * 5)]

    return {"Point": Point, "Rec": Rec, "Bits": Bits, "Num": Num, "Big": Big}


@functools.cache
def resolve(ct, spec):
    """``"c_int"``, ``"*c_int"`` (POINTER), ``"Point"`` (a fixture struct), ``Fn(...)`` or
    ``NdPtr(...)``, as a type of module ``ct``; anything else is passed through."""
    if spec is None or not isinstance(spec, (str, Fn, NdPtr)):
        return spec  # None, or already a type (or a restype callable)
    if isinstance(spec, Fn):
        return ct.CFUNCTYPE(resolve(ct, spec.restype), *(resolve(ct, a) for a in spec.argtypes))
    if isinstance(spec, NdPtr):
        if ct.__name__ == "ferrotype":
            from ferrotype.ctypeslib import ndpointer
        else:
            from numpy.ctypeslib import ndpointer
        return ndpointer(dtype=spec.dtype, flags=spec.flags)
    if spec.startswith("*"):
        return ct.POINTER(resolve(ct, spec[1:]))
    if spec in structs(ct):
        return structs(ct)[spec]
    return getattr(ct, spec)


# ---- arguments made per call -------------------------------------------------------------------


@dataclass(frozen=True)
class Buf:
    """A fresh ctypes object per call, passed as itself, ``byref`` or ``pointer``; its bytes
    after the call are part of the outcome."""

    make: Callable
    label: str
    how: str = "obj"

    def __repr__(self) -> str:
        return self.label


@dataclass(frozen=True)
class Obj:
    """A fresh argument per call (a callback, an instance...). ``make(ct)`` returns the argument,
    or ``(argument, observe)`` where ``observe()`` (after the call) joins the outcome."""

    make: Callable
    label: str

    def __repr__(self) -> str:
        return self.label


def buf(make, label, how="obj"):
    return Buf(make, label, how)


def callback(spec: Fn, fn: Callable, label: str, record: bool = True, as_voidp=False) -> Obj:
    """A callback of type ``spec`` running ``fn``; the arguments it saw join the outcome.
    ``as_voidp``: passed as its address (a ``c_void_p``), which keeps the outer signature
    scalar, so the call that calls back goes through the register engine."""

    def make(ct):
        seen = []

        def body(*args):
            if record:
                seen.append(args)
            return fn(ct, *args)

        cb = resolve(ct, spec)(body)
        arg = ct.cast(cb, ct.c_void_p) if as_voidp else cb
        # the observer holds the callback: it lives until the outcome is taken
        return arg, lambda: (cb, normalize(ct, seen, []))[1]

    return Obj(make, f"{label}{'-as-void_p' if as_voidp else ''}")


def build_args(ct, argset):
    args, bufs, observers = [], [], []
    for a in argset:
        if isinstance(a, Buf):
            obj = a.make(ct)
            bufs.append(obj)
            if a.how == "obj":
                args.append(obj)
            elif a.how == "pointer":
                args.append(ct.pointer(obj))
            else:  # "byref" or "byref+<offset>"
                args.append(ct.byref(obj, int(a.how.partition("+")[2] or 0)))
        elif isinstance(a, Obj):
            made = a.make(ct)
            if isinstance(made, tuple):
                made, observe = made
                observers.append(observe)
            args.append(made)
        else:
            args.append(a)
    return args, bufs, observers


# ---- outcomes ------------------------------------------------------------------------------------


def normalize(ct, v, bufs):
    """A comparable, module-independent form of a call's result."""
    if v is None or isinstance(v, (bool, bytes, str)):
        return (type(v).__name__, v)
    if isinstance(v, float):
        # bit-exact: -0.0 and NaN compare as themselves
        return ("float", struct.pack("<d", v).hex())
    if isinstance(v, int):
        for i, b in enumerate(bufs):
            base = ct.addressof(b)
            if base <= v < base + max(ct.sizeof(b), 1):
                return ("address in buffer", i, v - base)
        return ("int", v)
    if isinstance(v, (tuple, list)):
        return (type(v).__name__, tuple(normalize(ct, x, bufs) for x in v))
    if isinstance(v, ct._SimpleCData):
        return ("instance of " + type(v).__name__, normalize(ct, v.value, bufs))
    if isinstance(v, ct._Pointer):
        addr = ct.cast(v, ct.c_void_p).value
        contents = normalize(ct, v.contents, bufs) if addr else None
        return ("pointer", normalize(ct, addr, bufs), contents)
    if isinstance(v, ct._CFuncPtr):
        return ("function", ct.cast(v, ct.c_void_p).value)
    if isinstance(v, (ct.Structure, ct.Union)):
        return (type(v).__name__, ct.string_at(ct.addressof(v), ct.sizeof(v)))
    return ("object", repr(v))


def outcome(declare: Declarer, case, argset):
    ct = declare.ct
    f = declare(case.name, case.restype, case.argtypes)
    args, bufs, observers = build_args(ct, argset)
    try:
        result = f(*args)
    except Exception as exc:
        return ("raises", type(exc).__name__, str(exc))
    written = tuple(ct.string_at(ct.addressof(b), ct.sizeof(b)) for b in bufs)
    seen = tuple(observe() for observe in observers)
    return ("returns", normalize(ct, result, bufs), written, seen)


# ---- C semantics, for the expected values of the ft_reg_ functions -------------------------------


def c_int_value(v: int, bits: int, signed: bool) -> int:
    """``v`` converted to a C integer of ``bits`` bits (C's modular conversion)."""
    v = int(getattr(v, "_as_parameter_", v)) & ((1 << bits) - 1)
    if signed and v >> (bits - 1):
        v -= 1 << bits
    return v


def as_float32(x: float) -> float:
    """``(float)x``: stdlib ctypes' conversion to a C float, as a Python float."""
    return ctypes.c_float(x).value


def mix(h: int, x: int) -> int:
    """``FT_REG_MIX`` of ftfixture.c: ``h * 1000003u + (uint64_t)x``."""
    return (h * 1000003 + (x % 2**64)) % 2**64


def ref_int6(a, b, c, d, e, f):
    h = 0
    for v, bits, signed in (
        (a, 8, True),
        (b, 8, False),
        (c, 16, True),
        (d, 16, False),
        (e, 32, True),
        (f, 64, True),
    ):
        h = mix(h, c_int_value(v, bits, signed))
    return h


def ref_int7(a, b, c, d, e, f, g):
    return mix(ref_int6(a, b, c, d, e, c_int_value(f, 32, False)), c_int_value(g, 64, True))


def ref_dbl8(*xs):
    s = xs[0]
    for k, x in enumerate(xs[1:8], start=1):
        s = s + 10.0**k * x
    return s


def ref_dbl9(*xs):
    return ref_dbl8(*xs[:8]) + 100000000.0 * xs[8]


def ref_flt8(*xs):
    return ref_dbl8(*(as_float32(x) for x in xs))


def ref_interleave(a, b, c, d, e, f, g, h):
    a, c, e, g = (
        c_int_value(a, 8, True),
        c_int_value(c, 16, False),
        c_int_value(e, 64, True),
        c_int_value(g, 8, False),
    )
    d, h = as_float32(d), as_float32(h)
    return (
        float(a)
        + 10.0 * b
        + 100.0 * float(c)
        + 1000.0 * d
        + 10000.0 * float(e)
        + 100000.0 * f
        + 1000000.0 * float(g)
        + 10000000.0 * h
    )


def _full14_parts(i0, d0, i1, d1, i2, d2, i3, d3, i4, d4, i5, d5, d6, d7):
    ints = (
        c_int_value(i0, 8, True),
        c_int_value(i1, 16, False),
        c_int_value(i2, 32, True),
        c_int_value(i3, 64, False),
        c_int_value(i4[0] if isinstance(i4, bytes) else i4, 8, True),
        int(bool(i5)),
    )
    d1, d3, d5, d7 = (as_float32(x) for x in (d1, d3, d5, d7))
    s = d0 + 2.0 * d1 + 4.0 * d2 + 8.0 * d3 + 16.0 * d4 + 32.0 * d5 + 64.0 * d6 + 128.0 * d7
    return ints, s


def ref_full14(*args):
    ints, s = _full14_parts(*args)
    h = 0
    for v in ints:
        h = mix(h, v)
    return c_int_value(h + int(s), 64, True)  # int() truncates toward zero, as (int64_t)s


def ref_full14_d(*args):
    ints, s = _full14_parts(*args)
    i0, i1, i2, i3, i4, i5 = ints
    return s + float(i0) + float(i1) + float(i2) + float(i3 & 0xFFFF) + float(i4) + float(i5)


# ---- the table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    restype: object
    argtypes: tuple | None
    argsets: tuple
    ref: Callable | None = None  # the result by C semantics, from the arguments
    id: str = ""
    # Calls back into Python from threads it starts and joins: holding the GIL over the call
    # would deadlock (release_gil=False and PyDLL document exactly that), so those variants
    # are left out.
    needs_gil_release: bool = False

    @property
    def ident(self) -> str:
        return self.id or self.name


INT6 = ("c_int8", "c_uint8", "c_int16", "c_uint16", "c_int32", "c_int64")
DBL8 = ("c_double",) * 8
FLT8 = ("c_float",) * 8


def one(values):
    return tuple((v,) for v in values)


# fmt: off
I8 = (-128, -1, 0, 1, 127, 255, 128)  # 128..255: ferrotype accepts the unsigned range too
U8 = (0, 1, 127, 128, 255, -1, -128)
I16 = (-32768, -1, 0, 32767, 65535, 40000)
U16 = (0, 65535, 32768, -1, -32768)
I32 = (-(2**31), -1, 0, 1, 2**31 - 1, 2**32 - 1, 2**31)
U32 = (0, 2**32 - 1, 2**31, -1, -(2**31))
I64 = (-(2**63), -1, 0, 2**63 - 1, 2**64 - 1, 2**63, 2**40 + 7, -(2**40) - 7)
U64 = (0, 1, 2**64 - 1, 2**63, -1, -(2**63), 2**32)
FLOATS = (0.0, -0.0, 1.5, -2.25, 0.1, NAN, INF, -INF, 1e300, -1e-300, 5e-324, 3.4028235e38,
          2, -3, 2**70, True)
CHARS = (b"a", b"\x00", b"\x7f", b"\x80", b"\xff", 0, 97, 127, 128, 255)
BOOLS = (True, False, 0, 1, 2, -1, 256, 0.5, 0.0, "", "x", None, b"\x00")
# fmt: on


class Color(enum.IntEnum):
    RED = -3
    BLUE = 200


class AsParam:
    """An object passed through its ``_as_parameter_``."""

    def __init__(self, v):
        self._as_parameter_ = v

    def __repr__(self) -> str:
        return f"AsParam({self._as_parameter_!r})"


class Half(float):
    """A float subclass (not an exact float): converted by the general path."""


def inst(type_name, *init):
    """A fresh instance of a ctypes type, passed as the argument itself."""
    return Obj(lambda ct: resolve(ct, type_name)(*init), f"{type_name}{init}")


def cbuf(init, size=None, how="obj"):
    return buf(lambda ct: ct.create_string_buffer(init, size), f"strbuf({init!r},{size})", how)


def wbuf(init, size=None):
    return buf(lambda ct: ct.create_unicode_buffer(init, size), f"wbuf({init!r})")


def cval(type_name, *init, how="byref"):
    return buf(lambda ct: resolve(ct, type_name)(*init), f"{type_name}{init}.{how}", how)


def carray(type_name, values):
    return buf(lambda ct: (resolve(ct, type_name) * len(values))(*values), f"{type_name}[{values}]")


def npbuf(dtype, values, label):
    def make(ct):
        import numpy

        a = numpy.array(values, dtype=dtype)
        return a, lambda: normalize(ct, a.tolist(), [])

    return Obj(make, label)


# fmt: off
ECHO_INTS = [
    ("schar", "c_byte", I8), ("uchar", "c_ubyte", U8), ("short", "c_short", I16),
    ("ushort", "c_ushort", U16), ("int", "c_int", I32), ("uint", "c_uint", U32),
    ("long", "c_long", I64), ("ulong", "c_ulong", U64), ("longlong", "c_longlong", I64),
    ("ulonglong", "c_ulonglong", U64), ("int8", "c_int8", I8), ("uint8", "c_uint8", U8),
    ("int16", "c_int16", I16), ("uint16", "c_uint16", U16), ("int32", "c_int32", I32),
    ("uint32", "c_uint32", U32), ("int64", "c_int64", I64), ("uint64", "c_uint64", U64),
    ("size_t", "c_size_t", U64), ("ssize_t", "c_ssize_t", I64),
]
# fmt: on

# Transforms whose C arithmetic is defined for every argument given (no signed overflow).
# fmt: off
TRANSFORMS = [
    ("neg_schar", "c_byte", I8), ("inc_uchar", "c_ubyte", U8), ("neg_short", "c_short", I16),
    ("inc_ushort", "c_ushort", U16),
    ("neg_int", "c_int", (-(2**31) + 1, -1, 0, 5, 2**31 - 1, 2**32 - 1)),
    ("inc_uint", "c_uint", U32),
    ("neg_long", "c_long", (-(2**63) + 1, -1, 0, 2**63 - 1, 2**64 - 1)),
    ("inc_ulong", "c_ulong", U64),
    ("neg_longlong", "c_longlong", (-(2**63) + 1, -1, 0, 2**63 - 1, 2**64 - 1)),
    ("inc_ulonglong", "c_ulonglong", U64), ("inc_size_t", "c_size_t", U64),
    ("neg_ssize_t", "c_ssize_t", (-(2**63) + 1, -7, 2**63 - 1)),
    ("half_float", "c_float", FLOATS), ("half_double", "c_double", FLOATS),
    ("not_bool", "c_bool", BOOLS), ("next_char", "c_char", (b"a", b"\x7f", b"\xfe", 64)),
    ("next_wchar", "c_wchar", ("a", "\u00e9", "\u4e2d", "\U0001f600", "\x00")),
]
# fmt: on

LONG_DOUBLES = (1.5, -0.0, 1e300, INF, NAN, 3)

# fmt: off
CASES: list[Case] = [
    *(Case(f"echo_{n}", t, (t,), one(vals)) for n, t, vals in ECHO_INTS),
    *(Case(n, t, (t,), one(vals)) for n, t, vals in TRANSFORMS),
    Case("echo_int", "c_int", ("c_int",),
         one((Color.RED, Color.BLUE, True, AsParam(-9), AsParam(AsParam(2**32 - 1)),
              inst("c_int", -5))),
         id="echo_int-non-exact-ints"),
    Case("echo_double", "c_double", ("c_double",),
         one((inst("c_double", -0.0), AsParam(2.5), AsParam(3), Half(0.75))),
         id="echo_double-non-exact-floats"),
    Case("echo_float", "c_float", ("c_float",), one((inst("c_float", 0.1), Half(0.1))),
         id="echo_float-non-exact-floats"),
    Case("echo_uint8", "c_uint8", ("c_uint8",), one((Color.BLUE, Color.RED, False)),
         id="echo_uint8-non-exact-ints"),
    Case("echo_char", "c_char", ("c_char",), one(CHARS)),
    Case("echo_bool", "c_bool", ("c_bool",), one(BOOLS)),
    Case("echo_wchar", "c_wchar", ("c_wchar",), one(("a", "\x00", "\u00e9", "\U0001f600"))),
    Case("echo_float", "c_float", ("c_float",), one(FLOATS)),
    Case("echo_double", "c_double", ("c_double",), one((*FLOATS, 2**1000, -(2**64)))),
    Case("echo_longdouble", "c_longdouble", ("c_longdouble",), one(LONG_DOUBLES)),
    Case("half_longdouble", "c_longdouble", ("c_longdouble",), one(LONG_DOUBLES)),
    Case("ld_minus_one", "c_longdouble", ("c_longdouble",), one((1.0, 2.5, -1.0))),
    Case("echo_voidp", "c_void_p", ("c_void_p",),
         one((None, 0, 1, 0xDEADBEEF, 2**64 - 1, -1, -(2**63), cbuf(b"x", 8),
              inst("c_void_p", 1234), cval("c_int"), cval("c_int", how="byref+2"),
              cval("c_int", how="pointer")))),
    Case("echo_charp", "c_char_p", ("c_char_p",),
         one((None, b"", b"hello", b"\xff\x80 tail", cbuf(b"in a buffer", 20),
              inst("c_char_p", b"instance"), AsParam(b"as parameter")))),
    Case("echo_wcharp", "c_wchar_p", ("c_wchar_p",),
         one((None, "", "h\u00e9llo \u4e2d\U0001f600", wbuf("buffer"),
              inst("c_wchar_p", "instance")))),
    # plain arithmetic
    Case("add", "c_int", ("c_int", "c_int"),
         ((2, 3), (-2, -3), (2**31 - 1, -1), (-1, 2**32 - 1), (1, 2, 3), (4, 5, 6, b"x", None))),
    Case("scale", "c_double", ("c_double", "c_double"),
         ((1.5, 4.0), (NAN, 0.0), (INF, 0.0), (-0.0, 1.0), (3, 2), (1e300, 1e300))),
    Case("noop", None, (), ((), (1,), (1, b"x", None))),
    Case("ignore_args", "c_int", ("c_int", "c_int"), ((1, 2), (1, 2, 3))),
    Case("_ft_underscore", "c_int", (), ((),)),
    Case("mixed6", "c_double", ("c_int8", "c_uint16", "c_int32", "c_int64", "c_float", "c_double"),
         ((1, 2, 3, 4, 5, 6), (-1, 65535, -3, 2**40, 0.5, 0.25),
          (255, -1, 2**32 - 1, -(2**63), NAN, -INF),
          (-128, -32768, -(2**31), 2**64 - 1, 1e300, 0))),
    Case("check_7_m7", "c_int", ("c_int", "c_int"),
         ((7, -7), (7, 2**32 - 7), (-7, 7), (7, -7, 99))),
    Case("add_ll", "c_longlong", ("c_longlong", "c_longlong"),
         ((2**62, 2**62 - 1), (-(2**63), 0), (2**64 - 1, 1), (-5, 2**63 - 1))),
    *(Case(n, "c_size_t", (), ((),)) for n in ("ft_sizeof_long_double", "ft_sizeof_wchar_t",
                                               "ft_sizeof_bool", "ft_sizeof_long")),
    # strings
    Case("str_len", "c_size_t", ("c_char_p",), one((None, b"", b"abc", cbuf(b"xyz", 10)))),
    Case("wstr_len", "c_size_t", ("c_wchar_p",), one((None, "", "h\u00e9\U0001f600"))),
    Case("get_static_string", "c_char_p", (), ((),)),
    Case("get_static_wstring", "c_wchar_p", (), ((),)),
    Case("get_null_string", "c_char_p", (), ((),)),
    Case("get_null_pointer", "c_void_p", (), ((),)),
    Case("fill_buffer", "c_int", ("c_char_p", "c_size_t", "c_int"),
         ((cbuf(16), 16, 123), (cbuf(16), 4, -42), (cbuf(b"untouched"), 0, 7), (None, 0, 5),
          (cbuf(32), 32, -(2**31)))),
    Case("fill_buffer", "c_int", ("*c_char", "c_size_t", "c_int"),
         ((cbuf(16), 16, 2**31 - 1), (cval("c_char", how="byref"), 1, 9)),
         id="fill_buffer-POINTER(c_char)"),
    Case("upper_in_place", "c_int", ("c_char_p",), one((cbuf(b"hello World"), cbuf(b"")))),
    Case("wupper_in_place", "c_int", ("c_wchar_p",), one((wbuf("hello W\u00e9rld"),))),
    Case("copy_string", "c_char_p", ("c_char_p", "c_char_p"),
         ((cbuf(32), b"copied"), (cbuf(b"old text"), b""))),
    Case("copy_string", "c_void_p", ("c_char_p", "c_char_p"), ((cbuf(32), b"copied"),),
         id="copy_string-returns-address"),
    Case("byte_at", "c_int", ("c_char_p", "c_int"), ((b"\x80\x01", 0), (b"\x80\x01", 1))),
    # pointers and out-parameters
    Case("set_int", None, ("*c_int", "c_int"),
         ((cval("c_int"), 2**31 - 1), (cval("c_int", how="pointer"), -5),
          (cval("c_int", how="obj"), 2**32 - 1))),
    Case("get_through", "c_int", ("*c_int",),
         one((cval("c_int", 77, how="pointer"), cval("c_int", -1), carray("c_int", (3, 4))))),
    Case("set_double", None, ("*c_double", "c_double"),
         ((cval("c_double"), -0.0), (cval("c_double"), NAN), (cval("c_double", how="pointer"), 7))),
    Case("set_i64", None, ("*c_int64", "c_int64"),
         ((cval("c_int64"), 2**64 - 1), (cval("c_int64"), -(2**63)))),
    Case("set_char_p", None, ("*c_char_p",), one((cval("c_char_p"),))),
    Case("swap_ints", None, ("*c_int", "*c_int"), ((cval("c_int", 1), cval("c_int", -2)),)),
    Case("is_null", "c_int", ("c_void_p",), one((None, 0, 1, cval("c_int"), cbuf(b"x")))),
    Case("addr_of", "c_size_t", ("c_void_p",), one((None, 12345, cbuf(4)))),
    Case("get_static_int_ptr", "*c_int", (), ((),)),
    Case("get_static_int", "c_int", (), ((),)),
    Case("get_global_counter_ptr", "*c_int", (), ((),)),
    Case("sum_ints", "c_int", ("*c_int", "c_int"),
         ((carray("c_int", (1, 2, 3, 4, -5)), 5), (carray("c_int", (7,)), 0), (None, 0))),
    Case("sum_i64", "c_int64", ("*c_int64", "c_int"),
         ((carray("c_int64", (2**62, 2**61, -1)), 3),)),
    Case("sum_doubles", "c_double", ("*c_double", "c_int"),
         ((carray("c_double", (0.5, -0.0, 1e308, 1e308)), 4), (carray("c_double", (-0.0,)), 1))),
    Case("sum_doubles", "c_double", (NdPtr("float64"), "c_int"),
         ((npbuf("float64", [0.5, 1.25, -3.0], "ndarray[0.5,1.25,-3]"), 3),),
         id="sum_doubles-ndpointer"),
    Case("fill_iota", None, ("*c_int", "c_int"),
         ((carray("c_int", (9,) * 6), 6), (carray("c_int", (9,) * 6), 0))),
    Case("fill_iota", None, ("c_void_p", "c_int"),
         ((buf(lambda ct: (ct.c_int * 6)(*[7] * 6), "c_int[6]", "byref+8"), 3),),
         id="fill_iota-void_p-byref-offset"),
    Case("fill_iota", None, (NdPtr("int32", "C_CONTIGUOUS,WRITEABLE"), "c_int"),
         ((npbuf("int32", [9] * 5, "ndarray[9]*5"), 5),), id="fill_iota-ndpointer"),
    Case("set_errno_to", "c_int", ("c_int",), one((0, errno.EINVAL))),
    # variadic in C, called with every argument declared
    Case("ft_sum_variadic", "c_int", ("c_int",) * 4, ((3, 1, 2, -3), (0, 9, 9, 9))),
    Case("ft_sum_variadic", "c_int", ("c_int",) * 7, ((6, 1, 2, 3, 4, 5, -6),),
         id="ft_sum_variadic-7-ints"),
    Case("ft_sum_variadic_double", "c_double", ("c_int", "c_double", "c_double", "c_double"),
         ((3, 0.5, 1.25, -2.0), (2, 1e300, 1e300, NAN))),
    Case("ft_sum_variadic_double", "c_double", ("c_int",) + ("c_double",) * 8,
         ((8, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0),
          (8, 0.5, -0.25, 0.125, 3.0, 1e-3, -1e3, 7.5, 0.0625)),
         ref=lambda n, *xs: sum(xs[:n], 0.0), id="ft_sum_variadic_double-8"),
    Case("ft_sum_variadic_double", "c_double", ("c_int",) + ("c_double",) * 9,
         ((9, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0),),
         ref=lambda n, *xs: sum(xs[:n], 0.0), id="ft_sum_variadic_double-9"),
    # structures behind pointers
    Case("ft_pt_norm2", "c_double", ("*Point",),
         one((cval("Point", 3.0, 4.0), cval("Point", -1.5, 0.5, how="pointer")))),
    Case("ft_pt_scale", None, ("*Point", "c_double"), ((cval("Point", 1.5, -2.0), -2.0),)),
    Case("ft_rec_fill", None, ("*Rec", "c_int"), ((cval("Rec"), 9), (cval("Rec"), -(2**31)))),
    Case("ft_bits_pack", "c_int", ("c_int", "c_uint", "c_int", "*Bits"),
         ((-3, 31, 7, cval("Bits")), (3, 0, -(2**31), cval("Bits")))),
    Case("ft_num_as_float", "c_float", ("*Num",), one((cval("Num", 1069547520),))),
    # output parameters
    Case("ft_divmod", "c_int", ("c_int", "c_int", "*c_int", "*c_int"),
         ((17, 5, cval("c_int"), cval("c_int")), (-17, 5, cval("c_int"), cval("c_int")),
          (1, 0, cval("c_int", 4), cval("c_int", 4)))),
    Case("ft_twice_inplace", "c_int", ("*c_int", "c_int"), ((cval("c_int", 21), -2),)),
    Case("ft_sum_prod", "c_double", ("c_double", "c_double", "*c_double", "*c_double"),
         ((1.5, -4.0, cval("c_double"), cval("c_double")),
          (NAN, INF, cval("c_double"), cval("c_double")))),
    # function pointers returned by C
    Case("ft_get_neg_int", Fn("c_int", "c_int"), (), ((),)),
    Case("ft_get_scale", Fn("c_double", "c_double", "c_double"), (), ((),)),
    Case("ft_get_null_funcptr", "c_void_p", (), ((),)),
    # the register engine's own functions
    Case("ft_reg_int6", "c_uint64", INT6,
         ((1, 2, 3, 4, 5, 6), (-1, 255, -1, 65535, -1, -1),
          (-128, -1, -32768, -1, -(2**31), 2**64 - 1),
          (127, 128, 32767, 32768, 2**31 - 1, -(2**63)), (255, 0, 65535, 0, 2**32 - 1, 2**63),
          (0, 0, 0, 0, 0, 0), (True, False, Color.RED, Color.BLUE, AsParam(-7), 2**40)),
         ref=ref_int6),
    Case("ft_reg_int7", "c_uint64",
         ("c_int8", "c_uint8", "c_int16", "c_uint16", "c_int32", "c_uint32", "c_int64"),
         ((1, 2, 3, 4, 5, 6, 7), (-1, 255, -1, 65535, -1, -1, -1),
          (-128, -1, -32768, -1, -(2**31), 2**32 - 1, 2**64 - 1)),
         ref=ref_int7),
    Case("ft_reg_dbl8", "c_double", ("c_double",) * 8,
         ((1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0), (0.5, -0.25, 0.125, 3, 1e-3, -1e3, 7.5, 0.0625),
          (-0.0,) * 8, (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, INF),
          (NAN, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0), (1e308, 1e-308, 5e-324, -1e308, 2, 3, 4, True)),
         ref=ref_dbl8),
    Case("ft_reg_dbl9", "c_double", ("c_double",) * 9,
         ((1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0),
          (0.5, -0.25, 0.125, 3, 1e-3, -1e3, 7.5, 0.0625, -2)),
         ref=ref_dbl9),
    Case("ft_reg_flt8", "c_double", ("c_float",) * 8,
         ((1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0),
          (0.1, -0.2, 0.3, 1e-45, 3.4028235e38, 1e300, -0.0, 7),
          (NAN, INF, -INF, 0.5, 0.25, 0.125, 2**24 + 1, 1e-300)),
         ref=ref_flt8),
    Case("ft_reg_interleave", "c_double",
         ("c_int8", "c_double", "c_uint16", "c_float", "c_int64", "c_double", "c_ubyte", "c_float"),
         ((1, 2.0, 3, 4.0, 5, 6.0, 7, 8.0), (-1, 0.5, 65535, 0.1, 2**63 - 1, -0.0, 255, 1e-3),
          (255, NAN, -1, INF, -(2**63), 1e300, -1, -0.0),
          (-128, 3, 40000, 2, 2**64 - 1, 1, 128, -5)),
         ref=ref_interleave),
    Case("ft_reg_full14", "c_int64",
         ("c_int8", "c_double", "c_uint16", "c_float", "c_int32", "c_double", "c_uint64",
          "c_float", "c_char", "c_double", "c_bool", "c_float", "c_double", "c_float"),
         ((1, 2.0, 3, 4.0, 5, 6.0, 7, 8.0, b"\x09", 10.0, True, 12.0, 13.0, 14.0),
          (-1, -0.5, 65535, 0.1, -(2**31), 1e3, 2**64 - 1, -2.5, b"\xff", 1e-3, 0, 7.0, -1e6, 0.25),
          (255, 1e9, -1, -1e9, 2**32 - 1, 0.0, -1, 0.0, 200, -0.0, 2, 0.0, 0.0, 3.0)),
         ref=ref_full14),
    Case("ft_reg_full14_d", "c_double",
         ("c_int8", "c_double", "c_uint16", "c_float", "c_int32", "c_double", "c_uint64",
          "c_float", "c_char", "c_double", "c_bool", "c_float", "c_double", "c_float"),
         ((1, 2.0, 3, 4.0, 5, 6.0, 7, 8.0, b"\x09", 10.0, True, 12.0, 13.0, 14.0),
          (-1, NAN, 65535, 0.1, -(2**31), INF, 2**64 - 1, -2.5, b"\xff", 1e-3, 0, 7.0, -1e6, 0.25),
          (-128, -0.0, 0, -0.0, 0, -0.0, 0, -0.0, 0, -0.0, None, -0.0, -0.0, -0.0)),
         ref=ref_full14_d),
    Case("ft_reg_raw6", None, ("c_uint64",) * 6, ((1, 2, 3, 4, 5, 2**64 - 1),)),
    Case("ft_reg_ret_bits", "c_uint64", ("c_uint64",), one((0, 2**64 - 1, 0xDEADBEEF_CAFE0180))),
    Case("ft_reg_ret_dbits", "c_double", ("c_double",), one((1.5, -0.0, NAN))),
    Case("ft_reg_fill", "c_int", ("c_char_p", "c_int", "c_double", "*c_double", "c_double"),
         ((cbuf(8), 8, 1.5, cval("c_double"), -0.25), (cbuf(b"zz"), 0, NAN, cval("c_double"), 1))),
]
# fmt: on

# ---- callbacks: the outer signature has a function pointer (libffi either way) ---------------

# fmt: off
CB_IDENTITY = [
    ("int8", "c_int8", (-128, 255)), ("uint8", "c_uint8", (0, 255, -1)),
    ("int16", "c_int16", (-32768, 65535)), ("uint16", "c_uint16", (65535, -1)),
    ("int32", "c_int32", (-(2**31), 2**32 - 1)), ("uint32", "c_uint32", (2**32 - 1, -1)),
    ("int64", "c_int64", (-(2**63), 2**64 - 1)), ("uint64", "c_uint64", (2**64 - 1, -1)),
    ("int", "c_int", (7, -7)), ("long", "c_long", (2**63 - 1, -1)),
    ("size_t", "c_size_t", (2**64 - 1, 0)), ("float", "c_float", (1.5, NAN, -0.0, 1e300)),
    ("double", "c_double", (0.1, -INF, 2)), ("longdouble", "c_longdouble", (1.5, -2)),
    ("bool", "c_bool", (True, 0, 5)), ("char", "c_char", (b"a", b"\xff")),
    ("wchar", "c_wchar", ("\u00e9", "\U0001f600")), ("voidp", "c_void_p", (None, 1, 2**64 - 1)),
]
# fmt: on


def _identity(ct, v):
    return v


def _charp_callback(wide):
    text = "from \u4e2d python" if wide else b"from python"
    kind = "c_wchar_p" if wide else "c_char_p"

    def make(ct):
        keep = (ct.create_unicode_buffer if wide else ct.create_string_buffer)(text)
        seen = []

        def body(s):
            seen.append(s)
            return None if s is None else ct.addressof(keep)

        return resolve(ct, Fn(kind, kind))(body), lambda: normalize(ct, seen, [])

    return Obj(make, f"{kind}-callback")


def _mixed(ct, i, d, f, s, pt):
    pt.contents.x += 1.0
    pt.contents.y *= 2.0
    return i * 10 + int(d * 4) + int(f * 100) + len(s)


def _fill_point(ct, p, i):
    p.contents.x = i
    p.contents.y = i * 0.5


def _point_byval(ct, p):
    r = p.x + 10.0 * p.y
    p.x = 99.0  # the callee's copy: must not reach the caller's struct
    return r


# fmt: off
CB_CASES = [
    # the callback's address as a c_void_p: a scalar signature, called through registers
    Case("ft_cb_call_int", "c_int", ("c_void_p", "c_int"),
         tuple((callback(Fn("c_int", "c_int"), lambda ct, v: v * 3, "times3", as_voidp=True), v)
               for v in (5, -715827882, 2**32 - 1)),
         id="ft_cb_call_int-void_p"),
    Case("ft_cb_call_double", "c_double", ("c_void_p", "c_double"),
         ((callback(Fn("c_double", "c_double"), lambda ct, v: -v, "neg", as_voidp=True), 0.1),
          (callback(Fn("c_double", "c_double"), lambda ct, v: -v, "neg", as_voidp=True), NAN)),
         id="ft_cb_call_double-void_p"),
    Case("ft_cb_call_int8", "c_int8", ("c_void_p", "c_int8"),
         ((callback(Fn("c_int8", "c_int8"), _identity, "identity", as_voidp=True), 255),),
         id="ft_cb_call_int8-void_p"),
    Case("ft_cb_many", "c_double", ("c_void_p",),
         ((callback(Fn("c_double", *("c_int",) * 8, *("c_double",) * 9),
                    lambda ct, *a: sum(x * 10.0**k for k, x in enumerate(a)), "many-cb",
                    as_voidp=True),),),
         id="ft_cb_many-void_p"),
    Case("ft_cb_mixed", "c_double", ("c_void_p",),
         ((callback(Fn("c_int", "c_int", "c_double", "c_float", "c_char_p", "*Point"), _mixed,
                    "mixed-cb", False, as_voidp=True),),),
         id="ft_cb_mixed-void_p"),
    Case("ft_cb_threads", "c_int", ("c_void_p", "c_int", "c_int"),
         ((callback(Fn("c_int", "c_int"), lambda ct, v: 2 * v + 1, "thread-cb", False,
                    as_voidp=True), 4, 25),),
         needs_gil_release=True, id="ft_cb_threads-void_p"),
    *(Case(f"ft_cb_call_{n}", t, (Fn(t, t), t),
           tuple((callback(Fn(t, t), _identity, f"{n}-identity"), v) for v in vals))
      for n, t, vals in CB_IDENTITY),
    Case("ft_cb_call_charp", "c_char_p", (Fn("c_char_p", "c_char_p"), "c_char_p"),
         ((_charp_callback(False), b"hello"), (_charp_callback(False), None))),
    Case("ft_cb_call_wcharp", "c_wchar_p", (Fn("c_wchar_p", "c_wchar_p"), "c_wchar_p"),
         ((_charp_callback(True), "wide \u00e9"), (_charp_callback(True), None))),
    Case("ft_cb_call_obj", "py_object", (Fn("py_object", "py_object"), "py_object"),
         ((callback(Fn("py_object", "py_object"), lambda ct, v: (v, "back"), "obj-pair", False),
           (1, "x")),)),
    Case("ft_cb_call_void", None, (Fn(None, "c_int"), "c_int"),
         ((callback(Fn(None, "c_int"), lambda ct, v: None, "void-cb"), 4),)),
    Case("ft_cb_call_noargs", "c_int", (Fn("c_int"),),
         ((callback(Fn("c_int"), lambda ct: 21, "noargs-cb"),),)),
    Case("ft_cb_mixed", "c_double",
         (Fn("c_int", "c_int", "c_double", "c_float", "c_char_p", "*Point"),),
         ((callback(Fn("c_int", "c_int", "c_double", "c_float", "c_char_p", "*Point"), _mixed,
                    "mixed-cb", False),),)),
    Case("ft_cb_many", "c_double", (Fn("c_double", *("c_int",) * 8, *("c_double",) * 9),),
         ((callback(Fn("c_double", *("c_int",) * 8, *("c_double",) * 9),
                    lambda ct, *a: sum(x * 10.0**k for k, x in enumerate(a)), "many-cb"),),)),
    Case("ft_cb_fill_points", "c_double", (Fn(None, "*Point", "c_int"), "c_int"),
         ((callback(Fn(None, "*Point", "c_int"), _fill_point, "points-cb", False), 5),)),
    Case("ft_cb_point_byval", "c_double", (Fn("c_double", "Point"), "c_double", "c_double"),
         ((callback(Fn("c_double", "Point"), _point_byval, "point-cb", False), 1.5, -2.0),)),
    Case("ft_cb_big_byval", "c_longlong", (Fn("c_longlong", "Big"), "c_longlong"),
         ((callback(Fn("c_longlong", "Big"), lambda ct, b: sum(b.a) % 2**63, "big-cb", False),
           2**40),)),
    Case("ft_cb_rec_byval", "c_int", (Fn("c_int", "c_int", "Rec", "c_double"), "c_int", "c_double"),
         ((callback(Fn("c_int", "c_int", "Rec", "c_double"),
                    lambda ct, k, r, h: r.a * 100 + int(r.d * 8) + k + len(r.name) + int(h * 2),
                    "rec-cb", False), 12, 2.5),)),
    Case("ft_cb_errno", "c_int", (Fn("c_int", "c_int"), "c_int"),
         ((callback(Fn("c_int", "c_int"), lambda ct, v: v + 1, "errno-cb"), errno.EDOM),)),
    Case("ft_cb_threads", "c_int", (Fn("c_int", "c_int"), "c_int", "c_int"),
         ((callback(Fn("c_int", "c_int"), lambda ct, v: 2 * v + 1, "thread-cb", False), 4, 25),),
         needs_gil_release=True),
    # C takes the GIL itself (PyGILState_Ensure) around the callback
    Case("ft_cb_with_gil", "c_int", (Fn("c_int", "c_int"), "c_int"),
         ((callback(Fn("c_int", "c_int"), lambda ct, v: 2 * v + 1, "gil-cb", False), 20),)),
    Case("ft_cb_in_thread_with_gil", "c_int", (Fn("c_int", "c_int"), "c_int"),
         ((callback(Fn("c_int", "c_int"), lambda ct, v: 2 * v + 1, "gil-thread-cb", False), 7),),
         needs_gil_release=True),
]
# fmt: on

ALL_CASES = CASES + CB_CASES

# Exported functions that are not in the table: a structure or union passed or returned by
# value (not a scalar signature; test_byvalue.py and test_byvalue_arrays.py), or tested on their
# own below.
# fmt: off
NOT_SCALAR = {
    "ft_pt_add", "ft_rec_sum", "ft_rec_make", "ft_small_make", "ft_small_sum", "ft_floats_sum",
    "ft_big_sum", "ft_big_make", "ft_bv_c", "ft_bv_sc", "ft_bv_ii", "ft_bv_ff", "ft_bv_fff",
    "ft_bv_dd", "ft_bv_df", "ft_bv_fi", "ft_bv_lld", "ft_bv_c3", "ft_bv_f2", "ft_bv_icd",
    "ft_bv_ll5", "ft_bv_d4", "ft_bv_nest", "ft_bv_cd", "ft_bv_pi", "ft_bv_u17", "ft_bv_mix",
    "ft_bv_spill", "ft_bv_spill_ii", "ft_bu_if", "ft_bu_if_float", "ft_bu_dl", "ft_bu_dl_double",
    "ft_ba_cs_bump", "ft_ba_fi_bump", "ft_ba_d2_bump", "ft_ba_f4_bump", "ft_ba_if3_bump",
    "ft_ba_c5f_bump", "ft_ba_s23_bump", "ft_ba_p2_bump", "ft_ba_bits_bump", "ft_ba_mixed",
    "ft_ba_spill", "ft_ba_med_bump", "ft_ba_d4_bump", "ft_ba_big_sum", "ft_ba_big_bump",
    "ft_bau_fi_bump", "ft_bau_fd_bump", "ft_bau_big_bump", "ft_bau_ld_bump", "ft_bau_ld_scale",
}
# fmt: on
TESTED_ALONE = {
    "get_errno_value": "test_use_errno_round_trip",
    "increment_global_counter": "test_stateful_functions",
    "ft_cb_register": "test_stateful_functions",
    "ft_cb_fire": "test_stateful_functions",
    # complex numbers (3.14) never take the register engine: test_new314.py
    "ft_cmul_f": "test_complex_arguments_and_results",
    "ft_cmul_d": "test_complex_arguments_and_results",
    "ft_cmul_g": "test_complex_arguments_and_results",
    "ft_cmix_d": "test_complex_mixed_with_reals",
    "ft_cmix_g": "test_complex_mixed_with_reals",
    "ft_cparts_f": "test_complex_mixed_with_reals",
    "ft_cparts_g": "test_complex_mixed_with_reals",
    "ft_cmake_f": "test_complex_mixed_with_reals",
    "ft_cmake_g": "test_complex_mixed_with_reals",
    "ft_ccall_f": "test_complex_callbacks",
    "ft_ccall_d": "test_complex_callbacks",
    "ft_ccall_g": "test_complex_callbacks",
    "ft_cpair_swap": "test_structures_with_complex_members_by_value",
    "ft_cone_conj": "test_structures_with_complex_members_by_value",
}


def _params():
    for case in ALL_CASES:
        for i, argset in enumerate(case.argsets):
            yield pytest.param(case, argset, id=f"{case.ident}-{i}")


# ---- 1. the differential test ------------------------------------------------------------------


@pytest.mark.parametrize("case, argset", list(_params()))
def test_every_scalar_signature_on_every_engine(modules, fixture_path, case, argset):
    variants = [
        v
        for v in ALL_VARIANTS
        if not (case.needs_gil_release and (not v.release_gil or v.loader == "PyDLL"))
    ]
    got = {v.name: outcome(Declarer(v, modules, fixture_path), case, argset) for v in variants}
    reference = got.pop(REFERENCE.name)
    assert reference[0] == "returns", f"the table's arguments must be valid: {reference}"
    if case.ref is not None:
        assert reference[1] == normalize(ctypes, case.ref(*argset), []), "stdlib vs C semantics"
    assert got[REG.name] == got[FFI.name], "register engine vs libffi"
    mismatches = {name: o for name, o in got.items() if o != reference}
    assert not mismatches, f"stdlib ctypes gave {reference}"


def test_table_covers_every_exported_function(fixture_path):
    nm = subprocess.run(
        [os.environ.get("NM", "nm"), "-D", "--defined-only", fixture_path],
        capture_output=True,
        text=True,
    )
    if nm.returncode != 0:
        pytest.skip(f"nm is not usable here: {nm.stderr.strip()}")
    exported = {
        line.split()[2]
        for line in nm.stdout.splitlines()
        if len(line.split()) == 3 and line.split()[1] == "T"
    }
    in_table = {c.name for c in ALL_CASES}
    assert not (in_table - exported), "table entries that the fixture does not export"
    assert exported - in_table - NOT_SCALAR - set(TESTED_ALONE) == set()


def test_register_switch_returns_the_previous_setting(ferrotype):
    sw = ferrotype._native._set_register_calls
    first = sw(False)
    try:
        assert sw(False) is False
        assert sw(True) is False
        assert sw(True) is True
    finally:
        sw(first)


def test_plans_follow_the_switch_at_declaration_time(ferrotype, fixture_path):
    """A function declared with the engine off keeps libffi after the switch is turned on
    again, and the reverse; either way the results are the same."""
    with register_calls(ferrotype, False):
        off = ferrotype.CDLL(fixture_path).ft_reg_int6
        off.restype = ferrotype.c_uint64
        off.argtypes = [getattr(ferrotype, t) for t in INT6]
    with register_calls(ferrotype, True):
        on = ferrotype.CDLL(fixture_path).ft_reg_int6
        on.restype = off.restype
        on.argtypes = off.argtypes
    args = (-1, 255, -32768, 65535, -(2**31), 2**64 - 1)
    with register_calls(ferrotype, False):
        assert on(*args) == off(*args) == ref_int6(*args)
    assert on(*args) == off(*args) == ref_int6(*args)


@pytest.mark.skipif(not REGISTER_ABI, reason="needs an ABI with 64-bit argument registers")
@pytest.mark.parametrize("variant", MAIN_VARIANTS, ids=str)
@pytest.mark.parametrize(
    "argtypes, args",
    [
        (
            ("c_int8", "c_uint8", "c_int16", "c_uint16", "c_int32", "c_uint32"),
            (-1, -1, -1, -1, -1, -1),
        ),
        (
            ("c_int8", "c_uint8", "c_int16", "c_uint16", "c_int32", "c_uint32"),
            (255, 255, 65535, 65535, 2**32 - 1, 2**32 - 1),
        ),
        (
            ("c_byte", "c_ubyte", "c_short", "c_ushort", "c_int", "c_uint"),
            (-128, 128, -32768, 32768, -(2**31), 2**31),
        ),
        (
            ("c_char", "c_bool", "c_char", "c_bool", "c_wchar", "c_long"),
            (b"\xff", 2, b"\x7f", 0, "\U0001f600", -1),
        ),
        (
            ("c_char", "c_uint64", "c_int64", "c_void_p", "c_size_t", "c_ssize_t"),
            (200, -1, 2**64 - 1, -1, -5, 2**63),
        ),
        (
            ("c_int8", "c_uint8", "c_int16", "c_uint16", "c_int32", "c_uint32"),
            (Color.RED, Color.RED, Color.RED, Color.RED, Color.RED, Color.RED),
        ),
    ],
    ids=["minus-one", "all-ones", "extremes", "char-bool-wchar", "wide", "non-exact-ints"],
)
def test_narrow_arguments_are_widened_as_the_abi_expects(
    modules, fixture_path, variant, argtypes, args
):
    """ft_reg_raw6 takes six uint64_t: declared with narrower argtypes, it sees how the caller
    widened each argument. Signed types (and char, which ctypes passes as signed char) are
    sign-extended to 64 bits, unsigned ones zero-extended, as libffi does."""
    declare = Declarer(variant, modules, fixture_path)
    f = declare("ft_reg_raw6", None, argtypes)
    assert f(*args) is None
    seen = list((ctypes.c_uint64 * 6).in_dll(ctypes.CDLL(fixture_path), "ft_reg_seen"))
    widths = {
        "c_char": (8, True),
        "c_bool": (8, False),
        "c_wchar": (32, True),
        "c_void_p": (64, False),
    }
    expected = []
    for t, v in zip(argtypes, args, strict=True):
        if t in widths:
            bits, signed = widths[t]
        else:
            ctype = getattr(ctypes, t)
            bits, signed = 8 * ctypes.sizeof(ctype), ctype(-1).value < 0
        if isinstance(v, bytes):
            v = v[0]
        elif isinstance(v, str):
            v = ord(v)
        elif t == "c_bool":
            v = int(bool(v))
        expected.append(c_int_value(int(v), bits, signed) % 2**64)
    assert seen == expected


@pytest.mark.skipif(not REGISTER_ABI, reason="needs an ABI with 64-bit result registers")
@pytest.mark.parametrize("variant", MAIN_VARIANTS, ids=str)
@pytest.mark.parametrize(
    "value",
    [0xDEADBEEF_CAFE0180, 0x12345678_9ABC0100, 2**64 - 1, 0x41, 0xFFFFFFFF_0001F600],
    ids=hex,
)
def test_narrow_results_read_only_their_low_bytes(modules, fixture_path, variant, value):
    """ft_reg_ret_bits returns all 64 bits; declared with a narrower restype, the caller must
    read only the type's low bytes (the rest of the register is unspecified)."""
    declare = Declarer(variant, modules, fixture_path)
    for t, bits, signed in [
        ("c_int8", 8, True),
        ("c_uint8", 8, False),
        ("c_int16", 16, True),
        ("c_uint16", 16, False),
        ("c_int32", 32, True),
        ("c_uint32", 32, False),
        ("c_int64", 64, True),
    ]:
        f = declare("ft_reg_ret_bits", t, ("c_uint64",))
        assert f(value) == c_int_value(value, bits, signed), t
    assert declare("ft_reg_ret_bits", "c_bool", ("c_uint64",))(value) is bool(value & 0xFF)
    assert declare("ft_reg_ret_bits", "c_char", ("c_uint64",))(value) == bytes([value & 0xFF])
    if (value & 0xFFFFFFFF) < 0x110000:
        got = declare("ft_reg_ret_bits", "c_wchar", ("c_uint64",))(value)
        assert got == chr(value & 0xFFFFFFFF)


@pytest.mark.skipif(not REGISTER_ABI, reason="needs an ABI with 64-bit vector registers")
@pytest.mark.parametrize("variant", MAIN_VARIANTS, ids=str)
@pytest.mark.parametrize("low", [1.5, -0.0, 3.4028235e38, 1e-45])
def test_float_results_read_only_the_low_32_bits(modules, fixture_path, variant, low):
    declare = Declarer(variant, modules, fixture_path)
    f = declare("ft_reg_ret_dbits", "c_float", ("c_double",))
    low_bits = struct.unpack("<I", struct.pack("<f", low))[0]
    arg = struct.unpack("<d", struct.pack("<Q", (0x40091EB8 << 32) | low_bits))[0]
    assert struct.pack("<f", f(arg)) == struct.pack("<f", low)


@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=str)
def test_prototype_made_functions(modules, fixture_path, variant):
    """Functions made from a prototype (their plan is prepared when the object is made), with
    paramflags, function pointers returned by C or cast from an address, and a callback called
    from Python (C's thunk, called like any foreign function)."""
    ct = modules[variant.module]
    lib = getattr(ct, variant.loader)(fixture_path)
    pint = ct.POINTER(ct.c_int)
    with engine_of(ct, variant):
        add = ct.CFUNCTYPE(ct.c_int, ct.c_int, ct.c_int)(("add", lib))
        divmod_ = ct.CFUNCTYPE(ct.c_int, ct.c_int, ct.c_int, pint, pint)(
            ("ft_divmod", lib), ((1, "a"), (1, "b"), (2, "q"), (2, "r"))
        )
        get_neg = lib.ft_get_neg_int
        get_neg.restype = ct.CFUNCTYPE(ct.c_int, ct.c_int)
        get_neg.argtypes = []
        neg = get_neg()  # made during the call, under the switch
        get_scale = lib.ft_get_scale
        get_scale.restype = ct.CFUNCTYPE(ct.c_double, ct.c_double, ct.c_double)
        get_scale.argtypes = []
        scale = get_scale()
        proto = ct.CFUNCTYPE(ct.c_longlong, ct.c_longlong, ct.c_longlong)
        add_ll = ct.cast(ct.cast(lib.add_ll, ct.c_void_p), proto)
        thunk = ct.CFUNCTYPE(ct.c_double, ct.c_int8, ct.c_double, ct.c_uint16)(
            lambda a, b, c: a * 100.0 + b + c / 4
        )
        funcs = [add, divmod_, neg, scale, add_ll, thunk]
        if ct.__name__ == "ferrotype" and not variant.release_gil:
            for f in funcs:
                f.release_gil = False
    assert add(2**31 - 1, -1) == 2**31 - 2
    assert add(-1, 2**32 - 1) == -2
    assert divmod_(17, 5) == (3, 2)
    assert divmod_(b=5, a=-17) == (-3, -2)  # C division truncates toward zero
    assert divmod_(1, 0) == (0, 0)  # C wrote nothing: the zeroed out-parameters
    assert neg(5) == -5 and neg(2**32 - 1) == 1
    assert scale(1.5, 4.0) == 6.0 and scale(3, 2) == 6.0
    assert add_ll(2**62, 2**62 - 1) == 2**63 - 1
    assert add_ll(2**64 - 1, -(2**63) + 1) == -(2**63)
    assert thunk(-1, 0.5, 65535) == -100.0 + 0.5 + 65535 / 4
    assert thunk(255, -0.0, 1) == -100.0 - 0.0 + 0.25


@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=str)
def test_keyword_arguments_are_ignored_without_paramflags(modules, fixture_path, variant):
    """ctypes ignores keyword arguments of a function that has no paramflags."""
    f = Declarer(variant, modules, fixture_path)("add", "c_int", ("c_int", "c_int"))
    assert f(2, 3, unused=4) == 5
    g = Declarer(variant, modules, fixture_path)("ft_reg_dbl8", "c_double", DBL8)
    args = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0)
    assert g(*args, x=1.0, y=None) == ref_dbl8(*args)


@pytest.mark.parametrize("release_gil", [True, False], ids=["released", "held"])
@pytest.mark.parametrize("registers", [True, False], ids=["reg", "ffi"])
def test_concurrent_calls(ferrotype, fixture_path, registers, release_gil):
    """Many threads calling through one function object at once: each call has its own
    registers."""
    with register_calls(ferrotype, registers):
        lib = ferrotype.CDLL(fixture_path)
        ints = lib.ft_reg_int6
        ints.restype = ferrotype.c_uint64
        ints.argtypes = [getattr(ferrotype, t) for t in INT6]
        mixed = lib.ft_reg_interleave
        mixed.restype = ferrotype.c_double
        mixed.argtypes = [getattr(ferrotype, t) for t in
                          ("c_int8", "c_double", "c_uint16", "c_float", "c_int64", "c_double",
                           "c_ubyte", "c_float")]  # fmt: skip
        ints.release_gil = mixed.release_gil = release_gil
    errors = []

    def work(t):
        for i in range(500):
            a = (t - 4, i % 256, -i, i * 7 % 65536, t * 1000 + i, -(t << 40) - i)
            if ints(*a) != ref_int6(*a):
                errors.append(("ints", a))
            b = (-t, i * 0.5, i, t / 8, i - t, -0.25 * i, t, i / 16)
            if mixed(*b) != ref_interleave(*b):
                errors.append(("mixed", b))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []


# ---- 2. errors are the same on every engine ------------------------------------------------------


def _at(n, i, bad, fill=1):
    return tuple(bad if k == i else fill for k in range(n))


@dataclass(frozen=True)
class Bad:
    name: str
    restype: object
    argtypes: tuple
    args: tuple
    overflow: bool = False  # out of range: the low bits are passed (strict mode raises)


# fmt: off
_INT_LIMITS = {"c_int8": (-129, 256), "c_uint8": (-129, 256), "c_int16": (-32769, 65536),
               "c_uint16": (-32769, 65536), "c_int32": (-(2**31) - 1, 2**32),
               "c_int64": (-(2**63) - 1, 2**64)}
_WRONG = ("1", 1.5, None, b"x", [1], object, 1j)
# fmt: on

# fmt: off
BAD_CALLS: list[Bad] = [
    # out of range, at each integer position, exact ints (the inline conversion) and not
    *(Bad("ft_reg_int6", "c_uint64", INT6, _at(6, i, v), overflow=True)
      for i, t in enumerate(INT6) for v in (*_INT_LIMITS[t], 2**100, -(2**100))),
    Bad("ft_reg_int6", "c_uint64", INT6, _at(6, 4, AsParam(2**40)), overflow=True),
    Bad("echo_uint64", "c_uint64", ("c_uint64",), (2**64,), overflow=True),
    Bad("echo_uint64", "c_uint64", ("c_uint64",), (-(2**63) - 1,), overflow=True),
    Bad("echo_size_t", "c_size_t", ("c_size_t",), (2**64 + 1,), overflow=True),
    Bad("echo_char", "c_char", ("c_char",), (256,)),
    Bad("echo_char", "c_char", ("c_char",), (-1,)),
    Bad("ft_reg_interleave", "c_double", ("c_int8", "c_double", "c_uint16", "c_float", "c_int64",
                                          "c_double", "c_ubyte", "c_float"),
        (1, 2.0, 3, 4.0, 5, 6.0, 256, 8.0), overflow=True),
    # wrong types, at each position of each bank
    *(Bad("ft_reg_int6", "c_uint64", INT6, _at(6, i, w)) for i in range(6) for w in _WRONG),
    *(Bad("ft_reg_dbl8", "c_double", DBL8, _at(8, i, w, 1.0)) for i in (0, 7)
      for w in ("1", None, b"x", 10**400, 1j)),
    *(Bad("ft_reg_flt8", "c_double", FLT8, _at(8, i, w, 1.0)) for i in (0, 7)
      for w in ("1", None, 10**400)),
    Bad("echo_char", "c_char", ("c_char",), (b"ab",)),
    Bad("echo_char", "c_char", ("c_char",), ("a",)),
    Bad("echo_char", "c_char", ("c_char",), (1.0,)),
    Bad("echo_wchar", "c_wchar", ("c_wchar",), (65,)),
    Bad("echo_wchar", "c_wchar", ("c_wchar",), ("ab",)),
    Bad("echo_wchar", "c_wchar", ("c_wchar",), (b"a",)),
    Bad("echo_charp", "c_char_p", ("c_char_p",), ("str",)),
    Bad("echo_charp", "c_char_p", ("c_char_p",), (5,)),
    Bad("echo_wcharp", "c_wchar_p", ("c_wchar_p",), (b"bytes",)),
    Bad("echo_wcharp", "c_wchar_p", ("c_wchar_p",), (5,)),
    Bad("echo_voidp", "c_void_p", ("c_void_p",), (1.5,)),
    Bad("echo_voidp", "c_void_p", ("c_void_p",), (object(),)),
    Bad("echo_int", "c_int", ("c_int",), (Obj(lambda ct: ct.c_long(5), "c_long(5)"),)),
    Bad("echo_int", "c_int", ("c_int",), (Obj(lambda ct: ct.c_uint(5), "c_uint(5)"),)),
    Bad("echo_double", "c_double", ("c_double",), (Obj(lambda ct: ct.c_float(1.5), "c_float"),)),
    Bad("echo_int", "c_int", ("c_int",), (AsParam("x"),)),
    Bad("echo_int", "c_int", ("c_int",),
        (Obj(lambda ct: AsParam(structs(ct)["Point"](1, 2)), "AsParam(Point)"),)),
    # stdlib: a POINTER(T) argument takes a T instance (passed by reference), but not one
    # reached through _as_parameter_
    Bad("ft_pt_norm2", "c_double", ("*Point",),
        (Obj(lambda ct: AsParam(structs(ct)["Point"](3, 4)), "AsParam(Point)"),)),
    Bad("echo_charp", "c_char_p", ("c_char_p",),
        (Obj(lambda ct: ct.c_wchar_p("w"), "c_wchar_p('w')"),)),
    Bad("set_int", None, ("*c_int", "c_int"),
        (Obj(lambda ct: ct.byref(ct.c_double()), "byref(c_double)"), 1)),
    Bad("set_int", None, ("*c_int", "c_int"), (Obj(lambda ct: ct.c_long(), "c_long()"), 1)),
    Bad("set_int", None, ("*c_int", "c_int"),
        (Obj(lambda ct: (ct.c_double * 2)(), "c_double[2]"), 1)),
    Bad("set_int", None, ("*c_int", "c_int"), (5, 1)),
    Bad("mixed6", "c_double", ("c_int8", "c_uint16", "c_int32", "c_int64", "c_float", "c_double"),
        (1, 2, 3, 4, "five", 6)),
    Bad("fill_buffer", "c_int", ("c_char_p", "c_size_t", "c_int"),
        (Obj(lambda ct: ct.create_string_buffer(8), "strbuf(8)"), 8, 1.5)),
    # wrong argument count
    Bad("add", "c_int", ("c_int", "c_int"), (1,)),
    Bad("add", "c_int", ("c_int", "c_int"), ()),
    Bad("echo_int", "c_int", ("c_int",), ()),
    Bad("ft_reg_int6", "c_uint64", INT6, (1, 2, 3, 4, 5)),
    Bad("ft_reg_dbl8", "c_double", DBL8, (1.0,) * 7),
    Bad("ft_reg_full14", "c_int64", ("c_int8", "c_double") * 7, (1, 1.0) * 6 + (1,)),
    Bad("ft_reg_int7", "c_uint64", ("c_int",) * 7, (1,) * 6),
    # more arguments than declared: the extras go through C's default promotions, and an
    # extra that cannot be converted is an error
    Bad("add", "c_int", ("c_int", "c_int"), (1, 2, object())),
    Bad("add", "c_int", ("c_int", "c_int"), (1, 2, 2**70)),
]
# fmt: on


def _bad_params():
    for i, bad in enumerate(BAD_CALLS):
        shown = ",".join(repr(a)[:12] for a in bad.args)
        yield pytest.param(bad, id=f"{i}-{bad.name}({shown})")


@pytest.mark.parametrize("bad", list(_bad_params()))
def test_errors_are_identical_on_both_engines(modules, fixture_path, bad):
    case = Case(bad.name, bad.restype, bad.argtypes, (bad.args,))
    got = {
        v.name: outcome(Declarer(v, modules, fixture_path), case, bad.args) for v in ALL_VARIANTS
    }
    reference = got.pop(REFERENCE.name)
    assert got[REG.name] == got[FFI.name], "register engine vs libffi"
    assert all(o == got[REG.name] for o in got.values()), got
    assert got[REG.name] == reference
    # An out-of-range integer is passed as its low bits; anything else raises.
    assert reference[0] == ("returns" if bad.overflow else "raises"), reference


@pytest.mark.parametrize("bad", [p for p in _bad_params() if p.values[0].overflow])
def test_strict_mode_raises_on_every_engine(modules, fixture_path, ferrotype, bad):
    case = Case(bad.name, bad.restype, bad.argtypes, (bad.args,))
    with ferrotype.strict():
        got = {
            v.name: outcome(Declarer(v, modules, fixture_path), case, bad.args)
            for v in FERROTYPE_VARIANTS
        }
    assert all(o == got[REG.name] for o in got.values()), got
    kind, name, text = got[REG.name]
    assert name == "ArgumentError" and "OverflowError" in text, got[REG.name]


def test_argument_error_names_the_position(modules, fixture_path):
    """The register path reports the failing argument's 1-based position, as libffi's does."""
    for v in (REG, FFI):
        f = Declarer(v, modules, fixture_path)("ft_reg_int6", "c_uint64", INT6)
        ct = modules[v.module]
        for i in range(6):
            with pytest.raises(ct.ArgumentError, match=rf"^argument {i + 1}: TypeError: "):
                f(*_at(6, i, "bad"))


@pytest.mark.parametrize("variant", FERROTYPE_VARIANTS, ids=str)
def test_null_py_object_result(modules, fixture_path, variant):
    """A NULL ``py_object`` result without a Python error is ValueError("PyObject is NULL")
    (ctypes' O_get message). Stdlib 3.11 itself crashes here (it decrefs the NULL result), so
    this runs on ferrotype alone, on every engine."""
    f = Declarer(variant, modules, fixture_path)("get_null_pointer", "py_object", ())
    with pytest.raises(ValueError, match="^PyObject is NULL$"):
        f()


# ---- 3. errno ------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=str)
def test_use_errno_round_trip(modules, fixture_path, variant):
    ct = modules[variant.module]
    declare = Declarer(variant, modules, fixture_path)
    set_to = declare("set_errno_to", "c_int", ("c_int",), use_errno=True)
    get = declare("get_errno_value", "c_int", (), use_errno=True)
    plain_set = declare("set_errno_to", "c_int", ("c_int",))
    old = ct.set_errno(0)
    try:
        assert set_to(errno.ENOENT) == -1
        assert ct.get_errno() == errno.ENOENT  # what C left in errno, swapped out
        assert ct.set_errno(errno.EPERM) == errno.ENOENT
        assert get() == errno.EPERM  # the private value, swapped in before the call
        assert ct.get_errno() == errno.EPERM
        assert plain_set(errno.EDOM) == -1  # no use_errno: the private copy is untouched
        assert ct.get_errno() == errno.EPERM
        assert get() == errno.EPERM
    finally:
        ct.set_errno(old)


@pytest.mark.parametrize("variant", MAIN_VARIANTS, ids=str)
def test_use_errno_with_libc(modules, variant):
    ct = modules[variant.module]
    declare = Declarer(variant, modules, None)
    strtol = declare("strtol", "c_long", ("c_char_p", "c_void_p", "c_int"), use_errno=True)
    plain = declare("strtol", "c_long", ("c_char_p", "c_void_p", "c_int"))
    long_max = 2 ** (8 * ct.sizeof(ct.c_long) - 1) - 1
    old = ct.set_errno(0)
    try:
        assert strtol(b"9" * 40, None, 10) == long_max  # C: LONG_MAX and errno = ERANGE
        assert ct.get_errno() == errno.ERANGE
        ct.set_errno(1234)
        assert strtol(b"-17", None, 10) == -17  # success leaves errno as it was
        assert ct.get_errno() == 1234
        ct.set_errno(0)
        assert plain(b"9" * 40, None, 10) == long_max
        assert ct.get_errno() == 0
    finally:
        ct.set_errno(old)


# ---- 4. variadic C functions called with full argtypes (%al) -------------------------------------


@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=str)
def test_snprintf_with_doubles(modules, variant):
    ct = modules[variant.module]
    declare = Declarer(variant, modules, None)
    fmt = b"%.2f %d %.1f"
    args = (3.14159, 42, -2.5)
    snprintf = declare(
        "snprintf", "c_int", ("c_char_p", "c_size_t", "c_char_p", "c_double", "c_int", "c_double")
    )
    out = ct.create_string_buffer(64)
    n = snprintf(out, 64, fmt, *args)
    expected = fmt % args  # Python's printf-style formatting follows C's for %f and %d
    assert out.value == expected
    assert n == len(expected)


@pytest.mark.parametrize("variant", MAIN_VARIANTS, ids=str)
@pytest.mark.parametrize("ndoubles", [1, 7, 8, 9])
def test_snprintf_with_many_doubles(modules, variant, ndoubles):
    """Up to eight doubles go in vector registers (%al = their count); a ninth makes the
    signature libffi's."""
    ct = modules[variant.module]
    declare = Declarer(variant, modules, None)
    fmt = b" ".join([b"%g"] * ndoubles) + b" %d"
    values = tuple(0.5 + k * 1.25 for k in range(ndoubles))
    snprintf = declare(
        "snprintf",
        "c_int",
        ("c_char_p", "c_size_t", "c_char_p", *("c_double",) * ndoubles, "c_int"),
    )
    out = ct.create_string_buffer(256)
    n = snprintf(out, len(out), fmt, *values, -7)
    assert out.value == fmt % (*values, -7)
    assert n == len(out.value)


def test_declared_variadic_keeps_libffi(ferrotype):
    """``func.variadic = True`` (ferrotype): argtypes are the fixed arguments, the rest are
    promoted; it must give the same text as the fully declared register call."""
    f = ferrotype.CDLL(None).snprintf
    f.restype = ferrotype.c_int
    f.argtypes = [ferrotype.c_char_p, ferrotype.c_size_t, ferrotype.c_char_p]
    f.variadic = True
    out = ferrotype.create_string_buffer(64)
    assert f(out, 64, b"%.2f %d %.1f", 3.14159, 42, -2.5) == len(b"3.14 42 -2.5")
    assert out.value == b"%.2f %d %.1f" % (3.14159, 42, -2.5)


# ---- 5. release_gil ------------------------------------------------------------------------------


def test_release_gil_defaults(ferrotype, fixture_path):
    assert ferrotype.CDLL(fixture_path).add.release_gil is True
    assert ferrotype.CDLL(None).usleep.release_gil is True
    assert ferrotype.PyDLL(fixture_path).add.release_gil is False
    assert ferrotype.pythonapi.Py_IncRef.release_gil is False
    f = ferrotype.PyDLL(fixture_path).add
    f.release_gil = True  # PyDLL functions keep the GIL whatever they say
    assert f.release_gil is False
    g = ferrotype.CDLL(fixture_path).add
    g.release_gil = False
    assert g.release_gil is False
    g.argtypes = [ferrotype.c_int, ferrotype.c_int]  # re-declaring keeps the choice
    assert g.release_gil is False
    assert g(2, 3) == 5
    g.release_gil = True
    assert g.release_gil is True
    assert g(2, -3) == -1


@pytest.mark.parametrize("registers", [True, False], ids=["reg", "ffi"])
def test_release_gil_lets_other_threads_run(ferrotype, registers):
    """While a CDLL function blocks with the GIL released, the main thread keeps running."""
    with register_calls(ferrotype, registers):
        usleep = ferrotype.CDLL(None).usleep
        usleep.argtypes = [ferrotype.c_uint]
        usleep.restype = ferrotype.c_int
    assert usleep.release_gil is True
    window = {}

    def worker():
        window["start"] = time.monotonic()
        window["rc"] = usleep(200_000)
        window["end"] = time.monotonic()

    t = threading.Thread(target=worker)
    stamps = []
    t.start()
    while t.is_alive():
        stamps.append(time.monotonic())
        time.sleep(0.002)
    t.join()
    assert window["rc"] == 0
    inside = [s for s in stamps if window["start"] < s < window["end"]]
    assert inside, "the main thread never ran while usleep held no GIL"


@pytest.mark.parametrize("registers", [True, False], ids=["reg", "ffi"])
def test_release_gil_false_still_calls(ferrotype, fixture_path, registers):
    with register_calls(ferrotype, registers):
        usleep = ferrotype.CDLL(None).usleep
        usleep.argtypes = [ferrotype.c_uint]
        usleep.restype = ferrotype.c_int
        usleep.release_gil = False
    assert usleep.release_gil is False
    assert usleep(1000) == 0
    result = []
    t = threading.Thread(target=lambda: result.append(usleep(20_000)))
    t.start()
    t.join(timeout=30)
    assert result == [0]


@pytest.mark.parametrize("variant", MAIN_VARIANTS, ids=str)
def test_pythonapi_calls(modules, variant):
    """PyDLL functions (GIL kept, Python error checked after the call) on the register path."""
    pydll = Variant(variant.name, variant.module, variant.registers, loader="PyDLL")
    declare = Declarer(pydll, modules, None)
    from_long = declare("PyLong_FromLongLong", "py_object", ("c_longlong",))
    from_double = declare("PyFloat_FromDouble", "py_object", ("c_double",))
    as_long = declare("PyLong_AsLongLong", "c_longlong", ("py_object",))
    assert from_long(-(2**63)) == -(2**63)
    assert from_long(2**64 - 1) == -1
    assert struct.pack("<d", from_double(-0.0)) == struct.pack("<d", -0.0)
    assert math.isnan(from_double(NAN))
    assert as_long(2**62) == 2**62
    with pytest.raises(TypeError, match="integer"):
        as_long("not an int")
    with pytest.raises(OverflowError):
        as_long(2**64)


# ---- 6. errcheck, restype callables and _check_retval_ ------------------------------------------


@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=str)
def test_errcheck_applies(modules, fixture_path, variant):
    calls = []

    def check(result, func, args):
        calls.append((result, func, args))
        if result < 0:
            raise ValueError(f"negative: {result}")
        return ("checked", result)

    declare = Declarer(variant, modules, fixture_path)
    f = declare("add_ll", "c_longlong", ("c_longlong", "c_longlong"), errcheck=check)
    assert f.errcheck is check
    assert f(2**62, 5) == ("checked", 2**62 + 5)
    assert calls[-1][1] is f and calls[-1][2] == (2**62, 5)
    with pytest.raises(ValueError, match="negative: -1"):
        f(2**64 - 1, 0)
    g = declare("scale", "c_double", ("c_double", "c_double"),
                errcheck=lambda r, fn, a: "nan" if math.isnan(r) else r)  # fmt: skip
    assert g(1.5, 4.0) == 6.0
    assert g(NAN, 1.0) == "nan"
    k = declare("echo_charp", "c_char_p", ("c_char_p",), errcheck=lambda r, fn, a: (r, a))
    assert k(b"abc") == (b"abc", (b"abc",))
    v = declare("set_int", None, ("*c_int", "c_int"), errcheck=lambda r, fn, a: ("void", r))
    ct = modules[variant.module]
    out = ct.c_int()
    assert v(ct.byref(out), -9) == ("void", None)
    assert out.value == -9


@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=str)
def test_restype_callable(modules, fixture_path, variant):
    """A restype that is a plain callable gets the C int result (ctypes' deprecated form)."""
    declare = Declarer(variant, modules, fixture_path)
    f = declare("neg_int", lambda v: ("wrapped", v), ("c_int",))
    assert f(5) == ("wrapped", -5)
    assert f(-(2**31) + 1) == ("wrapped", 2**31 - 1)
    g = declare("add_ll", lambda v: ("wrapped", v), ("c_longlong", "c_longlong"))
    assert g(2**40, 1) == ("wrapped", 1)  # C int: the low 32 bits of the long long result


@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=str)
def test_restype_subclass_and_check_retval(modules, fixture_path, variant):
    ct = modules[variant.module]

    class MyInt(ct.c_int):
        pass

    class Checked(ct.c_int):
        @staticmethod
        def _check_retval_(value):
            if value.value < 0:
                raise OSError(f"C returned {value.value}")
            return ("checked", type(value).__name__, value.value)

    class MyDouble(ct.c_double):
        pass

    declare = Declarer(variant, modules, fixture_path)
    f = declare("neg_int", MyInt, ("c_int",))
    r = f(7)
    assert type(r) is MyInt and r.value == -7
    g = declare("neg_int", Checked, ("c_int",))
    assert g(-7) == ("checked", "Checked", 7)
    with pytest.raises(OSError, match="C returned -7"):
        g(7)
    h = declare("half_double", MyDouble, ("c_double",))
    r = h(3.0)
    assert type(r) is MyDouble and r.value == 1.5


# ---- state kept by C -----------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=str)
def test_stateful_functions(modules, fixture_path, variant):
    ct = modules[variant.module]
    declare = Declarer(variant, modules, fixture_path)
    counter = ct.c_int.in_dll(ct.CDLL(fixture_path), "ft_global_counter")
    inc = declare("increment_global_counter", "c_int", ())
    before = counter.value
    assert inc() == before + 1 == counter.value
    proto = resolve(ct, Fn("c_int", "c_int"))
    register = declare("ft_cb_register", None, (proto,))
    clear = declare("ft_cb_register", None, ("c_void_p",))
    fire = declare("ft_cb_fire", "c_int", ("c_int",))
    cb = proto(lambda v: v * 7)
    register(cb)
    try:
        assert fire(6) == 42
        assert fire(-3) == -21
    finally:
        clear(None)
    assert fire(6) == -1


@pytest.mark.parametrize("registers", [True, False], ids=["reg", "ffi"])
def test_debug_callbacks_report_a_freed_callback_on_both_engines(ferrotype, fixture_path,
                                                                 registers):  # fmt: skip
    """ferrotype's callback debug mode: a call during which C called a freed callback raises
    RuntimeError, through the register engine as through libffi."""
    ft = ferrotype
    proto = ft.CFUNCTYPE(ft.c_int, ft.c_int)
    with register_calls(ft, registers):
        lib = ft.CDLL(fixture_path)
        register = lib.ft_cb_register
        register.argtypes = [ft.c_void_p]
        register.restype = None
        fire = lib.ft_cb_fire
        fire.argtypes = [ft.c_int]
        fire.restype = ft.c_int
    previous = ft.debug_callbacks(True)
    try:
        cb = proto(lambda v: v + 1)
        register(ft.cast(cb, ft.c_void_p).value)
        assert fire(1) == 2
        del cb
        gc.collect()
        with pytest.raises(RuntimeError, match="freed"):
            fire(1)
        ok = proto(lambda v: v * 2)
        register(ft.cast(ok, ft.c_void_p).value)
        assert fire(21) == 42
    finally:
        register(None)
        ft.debug_callbacks(previous)


# ---- arguments converted into temporary buffers --------------------------------------------------

_KEEPALIVE_SCRIPT = r"""
import sys
module, registers, declared = sys.argv[1], sys.argv[2] == "1", sys.argv[3] == "1"
ct = __import__(module)
if module == "ferrotype":
    ct._native._set_register_calls(registers)
f = ct.CDLL(sys.argv[4]).echo_wcharp
f.restype = ct.c_wchar_p
if declared:
    f.argtypes = [ct.c_wchar_p]
text = "\u00e9x" * (1 << 21)  # 16 MiB as wchar_t: malloc maps it, free unmaps it
for _ in range(3):
    assert f(text) == text
print("ok")
"""


@pytest.mark.parametrize("declared", [True, False], ids=["argtypes", "no-argtypes"])
@pytest.mark.parametrize("variant", MAIN_VARIANTS, ids=str)
def test_converted_argument_outlives_the_result_conversion(
    fixture_path, ferrotype, variant, declared
):
    """A str passed for ``wchar_t *`` is converted into a temporary buffer. ctypes keeps it
    until the result has been converted, so a ``c_wchar_p`` result that points into it (the
    C function returns its argument) reads valid memory. Run in a subprocess: reading a freed
    buffer can crash."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _KEEPALIVE_SCRIPT,
            variant.module,
            str(int(variant.registers)),
            str(int(declared)),
            fixture_path,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", (
        f"exit status {proc.returncode}\n{proc.stderr[-2000:]}"
    )
