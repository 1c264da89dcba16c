"""The "construction and conversion" rows of `make bench` and `make bench-callgrind`.

Each row is one statement written once against a ctypes-like module (stdlib ctypes or
ferrotype, with `numpy.ctypeslib` or `ferrotype.ctypeslib`), plus, where it applies, cffi's
nearest idiom. `rows(ct, nc)` returns {row id: setup}; a setup returns a `Case` (the same
attributes as bench.py's: stmt, ns, check, per) and is called lazily, so a module lacking a
feature fails that row only.

Two rows need a note:
  class50      `M("S50", B, {"_fields_": F})` is what a `class S50(Structure): _fields_ = F`
               statement runs (M = type(Structure)).
  dtype5_first `as_ctypes_type` of a dtype it has not seen: ferrotype caches per dtype, so
               every statement takes a new 5-field dtype from `nxt()`, which makes it (field
               names numbered per call). `make bench-callgrind` subtracts the cost of `nxt()`
               alone (row `dtype5_make`), measured in the same process; `make bench` does not.
"""

from __future__ import annotations

import itertools
import pickle


class Case:
    """One cell: `stmt` with the names of `ns` bound as fast locals; `check()` must return
    True. `per` divides the cost of one statement (per-element rows)."""

    def __init__(self, stmt, ns, check, per=1):
        self.stmt = stmt
        self.ns = ns
        self.check = check
        self.per = per


# (id, title): the table, in its order.
ROWS = [
    ("s20_values", "S20(*20 values) (20-field Structure)"),
    ("sizeof_type", "sizeof(Point)"),
    ("sizeof_inst", "sizeof(x) (x a Point)"),
    ("class50", "define a 50-field Structure class"),
    ("point_new", "Point(1, 2)"),
    ("s20_new", "S20()"),
    ("contents", "p.contents (p = pointer(Point))"),
    ("c_double_new", "c_double(1.5)"),
    ("c_int_new2", "c_int(5)"),
    ("pointer", "pointer(x) (x a c_int)"),
    ("pickle", "pickle.dumps(point)"),
    ("byref", "byref(x)"),
    ("array1000", "(c_int * 1000)()"),
    ("list1e6", "list(c_int * 10**6), per element"),
    ("dtype5_first", "as_ctypes_type(5-field dtype), first call"),
    ("as_array_w8a", "as_array(c_double * 10**6) (w8a)"),
]
ROW_IDS = [r for r, _ in ROWS]

# The 20-field structure: alternating int and double, values of both kinds.
S20_FIELDS = 20
S20_VALUES = tuple(i if i % 2 == 0 else i + 0.5 for i in range(S20_FIELDS))
N_BIG = 10**6


def _s20(ct):
    fields = [(f"f{i:02d}", ct.c_int if i % 2 == 0 else ct.c_double) for i in range(S20_FIELDS)]
    return type(ct.Structure)("S20", (ct.Structure,), {"_fields_": fields})


def _point(ct):
    return type(ct.Structure)(
        "Point", (ct.Structure,), {"_fields_": [("x", ct.c_double), ("y", ct.c_double)]}
    )


def _fields50(ct):
    kinds = [ct.c_int, ct.c_double, ct.c_char, ct.c_int64, ct.c_float]
    return [(f"m{i:02d}", kinds[i % 5]) for i in range(50)]


def dtype_maker(np):
    """A function returning a new 5-field dtype on every call."""
    kinds = ["<i4", "<f8", "<i2", "u1", "<f4"]
    counter = itertools.count()

    def nxt():
        i = next(counter)
        return np.dtype([(f"f{j}_{i}", k) for j, k in enumerate(kinds)])

    return nxt


def rows(ct, nc=None) -> dict:
    """{row id: setup} for a ctypes-like module `ct`; `nc` is its ctypeslib (imported
    lazily when None)."""

    def npct():
        import importlib

        import numpy as np

        if nc is not None:
            return np, nc
        name = "numpy.ctypeslib" if ct.__name__ == "ctypes" else ct.__name__ + ".ctypeslib"
        return np, importlib.import_module(name)

    def s20_values():
        S = _s20(ct)
        v = S20_VALUES
        return Case("S(*v)", {"S": S, "v": v}, lambda: S(*v).f19 == 19.5)

    def sizeof_type():
        P, sizeof = _point(ct), ct.sizeof
        return Case("sizeof(P)", {"sizeof": sizeof, "P": P}, lambda: sizeof(P) == 16)

    def sizeof_inst():
        x, sizeof = _point(ct)(1, 2), ct.sizeof
        return Case("sizeof(x)", {"sizeof": sizeof, "x": x}, lambda: sizeof(x) == 16)

    def class50():
        M, B, F = type(ct.Structure), (ct.Structure,), _fields50(ct)

        def check():
            return len(M("S50", B, {"_fields_": F})._fields_) == 50

        return Case('M("S50", B, {"_fields_": F})', {"M": M, "B": B, "F": F}, check)

    def point_new():
        P = _point(ct)
        return Case("P(1, 2)", {"P": P}, lambda: P(1, 2).y == 2.0)

    def s20_new():
        S = _s20(ct)
        return Case("S()", {"S": S}, lambda: S().f19 == 0.0)

    def contents():
        p = ct.pointer(_point(ct)(1, 2))
        return Case("p.contents", {"p": p}, lambda: p.contents.y == 2.0)

    def c_double_new():
        D = ct.c_double
        return Case("D(1.5)", {"D": D}, lambda: D(1.5).value == 1.5)

    def c_int_new2():
        C = ct.c_int
        return Case("C(5)", {"C": C}, lambda: C(5).value == 5)

    def pointer():
        x, pointer = ct.c_int(5), ct.pointer
        return Case("pointer(x)", {"pointer": pointer, "x": x}, lambda: pointer(x)[0] == 5)

    def pickle_():
        pt, dumps = _point(ct)(1, 2), pickle.dumps
        # pickle finds the class by module and name: one name per module measured.
        name = "Point_" + ct.__name__
        globals()[name] = cls = type(pt)
        cls.__module__, cls.__qualname__ = __name__, name

        def check():
            return pickle.loads(dumps(pt)).y == 2.0

        return Case("dumps(pt)", {"dumps": dumps, "pt": pt}, check)

    def byref():
        x, byref = ct.c_int(5), ct.byref
        return Case("byref(x)", {"byref": byref, "x": x}, lambda: byref(x) is not None)

    def array1000():
        A = ct.c_int * 1000
        return Case("A()", {"A": A}, lambda: A()[999] == 0)

    def list1e6():
        big = (ct.c_int * N_BIG)()
        return Case("list(big)", {"big": big}, lambda: len(list(big)) == N_BIG, per=N_BIG)

    def dtype5_first():
        np, nc_ = npct()
        conv, nxt = nc_.as_ctypes_type, dtype_maker(np)

        def check():
            dt = nxt()
            return ct.sizeof(conv(dt)) == dt.itemsize

        return Case("conv(nxt())", {"conv": conv, "nxt": nxt}, check)

    def as_array_w8a():
        _, nc_ = npct()
        carr, conv = (ct.c_double * N_BIG)(), nc_.as_array
        return Case("conv(carr)", {"conv": conv, "carr": carr}, lambda: conv(carr).size == N_BIG)

    out = {
        f.__name__.rstrip("_"): f
        for f in (
            s20_values,
            sizeof_type,
            sizeof_inst,
            class50,
            point_new,
            s20_new,
            contents,
            c_double_new,
            c_int_new2,
            pointer,
            pickle_,
            byref,
            array1000,
            list1e6,
            dtype5_first,
            as_array_w8a,
        )
    }
    return out


def baseline_rows() -> dict:
    """Rows whose cost `make bench-callgrind` subtracts from another row (same process)."""
    import numpy as np

    def dtype5_make():
        nxt = dtype_maker(np)
        return Case("nxt()", {"nxt": nxt}, lambda: nxt().itemsize == 19)

    return {"dtype5_make": dtype5_make}


def cffi_rows() -> dict:
    """cffi's nearest idiom for the rows where one exists (API-free ABI mode, nothing
    compiled): ffi.new of a struct, scalar or array, ffi.sizeof, iterating an array."""
    import cffi

    ffi = cffi.FFI()
    fields = " ".join(f"{'int' if i % 2 == 0 else 'double'} f{i:02d};" for i in range(S20_FIELDS))
    ffi.cdef(f"typedef struct {{ double x, y; }} Point; typedef struct {{ {fields} }} S20;")
    new = ffi.new

    def s20_values():
        v = list(S20_VALUES)
        return Case('new("S20 *", v)', {"new": new, "v": v}, lambda: new("S20 *", v).f19 == 19.5)

    def sizeof_type():
        P, sizeof = ffi.typeof("Point"), ffi.sizeof
        return Case("sizeof(P)", {"sizeof": sizeof, "P": P}, lambda: sizeof(P) == 16)

    def sizeof_inst():
        x, sizeof = new("Point *", (1, 2))[0], ffi.sizeof
        return Case("sizeof(x)", {"sizeof": sizeof, "x": x}, lambda: sizeof(x) == 16)

    def point_new():
        return Case('new("Point *", (1, 2))', {"new": new}, lambda: new("Point *", (1, 2)).y == 2)

    def s20_new():
        return Case('new("S20 *")', {"new": new}, lambda: new("S20 *").f19 == 0.0)

    def c_double_new():
        return Case('new("double *", 1.5)', {"new": new}, lambda: new("double *", 1.5)[0] == 1.5)

    def c_int_new2():
        return Case('new("int *", 5)', {"new": new}, lambda: new("int *", 5)[0] == 5)

    def array1000():
        return Case('new("int[1000]")', {"new": new}, lambda: new("int[1000]")[999] == 0)

    def list1e6():
        big = new(f"int[{N_BIG}]")
        return Case("list(big)", {"big": big}, lambda: len(list(big)) == N_BIG, per=N_BIG)

    return {
        f.__name__: f
        for f in (
            s20_values,
            sizeof_type,
            sizeof_inst,
            point_new,
            s20_new,
            c_double_new,
            c_int_new2,
            array1000,
            list1e6,
        )
    }
