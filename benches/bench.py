"""make bench: per-call overhead of ferrotype against stdlib ctypes and cffi, in one process.

    .venv/bin/python benches/bench.py                      # everything, 11 repeats
    .venv/bin/python benches/bench.py --only add,scale --repeats 21
    .venv/bin/python benches/bench.py --quick --json out.json   # CI smoke run
    .venv/bin/python benches/bench.py --show-code          # the timed statement of each cell

`make bench` writes the JSON to build/bench/bench.json and draws its charts
(tools/bench_charts.py) beside it; `make docs` shows them on the performance page.

Contenders (columns):
  ctypes                stdlib ctypes, argtypes/restype set: the reference for ratios
  ctypes-noargtypes     stdlib ctypes without argtypes (restype set where not int; arguments
                        ctypes cannot convert by itself are wrapped per call, e.g. c_double(x))
  ferrotype             `import ferrotype as ct`, run through the very same code as `ctypes`
  ferrotype-noargtypes  the same for the noargtypes column
  ferrotype-keepgil     the ferrotype code with `func.release_gil = False` on every function
                        (the opt-out for short calls; the `ferrotype` column releases the GIL
                        around every call, as ctypes' CDLL does)
  cffi                  cffi ABI mode: ffi.cdef + ffi.dlopen, nothing compiled
  cext                  the C-extension floor: benches/floor.c, a hand-written CPython
                        extension calling benchlib.c (METH_FASTCALL, GIL kept, a Point as a
                        tuple); only the call rows it can express. What any FFI adds is the
                        distance to this column.

A contender whose import fails is reported as unavailable and skipped. A cell whose set-up
fails, or whose result is wrong, is reported under "notes" and skipped.

Method. Every cell (workload x contender) is one statement, such as `f(1, 2)`, with its
objects bound as fast locals of a generated function that runs `for _ in range(n): <stmt>`
and returns the perf_counter_ns elapsed. The loop is the same for every contender. n is
calibrated per cell so that one sample takes about --target-ms (20 ms). The garbage
collector is off during a sample. Samples are interleaved: each repeat takes one sample of
every cell, in a shuffled contender order per workload, so drift on a noisy machine hits
all contenders alike. A cell's ns/op is the median over repeats; a ratio is the median of
the per-repeat ratios of paired samples (ferrotype / ctypes taken in the same repeat).
Nothing is subtracted: the cost of a bare loop iteration is measured and printed, and is
included in every number.

The C library is benches/benchlib.c, compiled with `cc -shared -fPIC -O2` into
benches/_build/py3.X/ (or $TMPDIR/ferrotype-bench if that is not writable) when it changes.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import importlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time

import construct  # benches/construct.py (this script's directory is on sys.path)

HERE = os.path.dirname(os.path.abspath(__file__))
BENCHLIB_C = os.path.join(HERE, "benchlib.c")
FLOOR_C = os.path.join(HERE, "floor.c")

CDEF = """
int add(int a, int b);
double scale(double a, double b);
double mixed6(int8_t a, uint16_t b, int32_t c, int64_t d, float e, double f);
int64_t sum_i64(const int64_t *p, int n);
void noop(void);
typedef struct { double x, y; } Point;
Point pt_add(Point a, Point b);
int fill_buf(char *p, int n);
void shuffle_i32(int *a, int n, unsigned seed);
void qsort(void *base, size_t nmemb, size_t size, int (*compar)(const void *, const void *));
"""

WORKLOADS = [
    ("add", "add(int, int)"),
    ("scale", "scale(double, double)"),
    ("mixed6", "mixed6(i8, u16, i32, i64, float, double)"),
    ("noop", "noop()"),
    ("pt_add", "pt_add(Point, Point) by value"),
    ("sum_i64", "sum_i64(int64[16] pointer, 16)"),
    ("c_int_new", "c_int(5)"),
    ("c_int_value", "c_int .value read"),
    ("strbuf", "create_string_buffer(64).value"),
    ("strbuf_fill", "create_string_buffer(256) + fill + .value"),
    ("field_get", "Structure field get p.x"),
    ("field_set", "Structure field set p.x = 1.5"),
    ("qsort_cb", "qsort(int[1000]) with a Python comparator, per comparator call"),
    ("ndptr_call", "sum_i64(ndpointer int64[16], 16)"),
    ("ndptr_param", "ndpointer.from_param(arr), no call"),
    ("dtype20", "as_ctypes_type(20-field dtype)"),
    ("as_ctypes_10", "as_ctypes(float64[10])"),
    ("as_ctypes_1e6", "as_ctypes(float64[10**6])"),
    ("as_array_10", "as_array(c_double * 10)"),
    ("as_array_1e6", "as_array(c_double * 10**6)"),
]
# The section "construction and conversion": the rows of benches/construct.py.
WORKLOADS += construct.ROWS
WORKLOAD_IDS = [w for w, _ in WORKLOADS]
CONTENDERS = [
    "ctypes",
    "ctypes-noargtypes",
    "ferrotype",
    "ferrotype-keepgil",
    "ferrotype-noargtypes",
    "cffi",
    "cext",
]
# The rows that call a foreign function: the only ones the keepgil contender changes.
CALL_ROWS = ["add", "scale", "mixed6", "noop", "pt_add", "sum_i64", "strbuf_fill", "ndptr_call"]
N_SUM = 16
SUM_EXPECT = sum(range(N_SUM))
N_SORT = 1000
SORT_SEED = 12345


def sort_comparisons() -> int:
    """How many comparator calls glibc's qsort makes on the bench's shuffled input
    (measured with stdlib ctypes, so every contender is divided by the same count)."""
    import ctypes
    import ctypes.util

    lib = ctypes.CDLL(build_lib())
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    a = (ctypes.c_int * N_SORT)()
    lib.shuffle_i32(a, N_SORT, SORT_SEED)
    count = 0

    @ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))
    def cmp(x, y):
        nonlocal count
        count += 1
        return x[0] - y[0]

    libc.qsort(a, N_SORT, ctypes.sizeof(ctypes.c_int), cmp)
    return count


class Case:
    """One cell: `stmt` run with the names of `ns` bound as locals; `check` must return True.
    `per` divides the time of one statement (the callback row reports per comparator call)."""

    def __init__(self, stmt, ns, check, per=1):
        self.stmt = stmt
        self.ns = ns
        self.check = check
        self.per = per


# ------------------------------------------------------------------------------- build


def build_dir() -> str:
    """The directory the compiled libraries go to (made on first use)."""
    # One directory per interpreter: `make test-matrix` runs 3.14/3.15 in a chroot whose
    # newer libc makes libraries the host cannot load.
    per_python = f"py{sys.version_info[0]}.{sys.version_info[1]}"
    for d in (
        os.path.join(HERE, "_build", per_python),
        os.path.join(os.environ.get("TMPDIR", tempfile.gettempdir()), "ferrotype-bench"),
    ):
        try:
            os.makedirs(d, exist_ok=True)
        except OSError:
            continue
        if os.access(d, os.W_OK):
            return d
    sys.exit("bench: no writable build directory")


def compile_once(cmd: list[str], sources: list[str], name: str, suffix: str) -> str:
    """`cmd -o out sources`, unless a file built from the same sources and command exists."""
    h = hashlib.sha256(" ".join(cmd).encode())
    for src in sources:
        with open(src, "rb") as fh:
            h.update(fh.read())
    out = os.path.join(build_dir(), f"{name}-{h.hexdigest()[:12]}{suffix}")
    if not os.path.exists(out):
        tmp = f"{out}.{os.getpid()}.tmp"
        subprocess.run([*cmd, "-o", tmp, *sources], check=True)
        os.replace(tmp, out)  # atomic: a concurrent run sees the old state or the whole file
    return out


def build_lib() -> str:
    """Compile benchlib.c (once per source and command)."""
    cmd = [os.environ.get("CC", "cc"), "-shared", "-fPIC", "-O2"]
    return compile_once(cmd, [BENCHLIB_C], "libbenchlib", ".so")


def load_floor():
    """Compile and import benches/floor.c with benchlib.c: the C-extension floor."""
    import importlib.machinery
    import importlib.util
    import sysconfig

    inc = sysconfig.get_paths()["include"]
    cmd = [os.environ.get("CC", "cc"), "-shared", "-fPIC", "-O2", f"-I{inc}"]
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    path = compile_once(cmd, [FLOOR_C, BENCHLIB_C], "_ferrotype_bench_floor", suffix)
    spec = importlib.util.spec_from_file_location("_ferrotype_bench_floor", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ------------------------------------------------------------------------- contenders
# Each returns {workload: setup}; setup() -> Case. The set-up is lazy and per cell, so a
# module that lacks a feature fails that cell only.


def ctypes_cells(ct, libpath: str, keep_gil: bool = False) -> dict:
    """The ctypes code, written once against a module object: stdlib ctypes or ferrotype.
    `keep_gil` sets ferrotype's `release_gil = False` on every function."""

    def fn(name, argtypes, restype):
        f = getattr(ct.CDLL(libpath), name)  # a fresh CDLL: argtypes never leak between cells
        f.argtypes = argtypes
        f.restype = restype
        if keep_gil:
            f.release_gil = False
        return f

    def add():
        f = fn("add", [ct.c_int, ct.c_int], ct.c_int)
        return Case("f(1, 2)", {"f": f}, lambda: f(1, 2) == 3)

    def scale():
        f = fn("scale", [ct.c_double, ct.c_double], ct.c_double)
        return Case("f(1.5, 2.0)", {"f": f}, lambda: f(1.5, 2.0) == 3.0)

    def mixed6():
        argtypes = [ct.c_int8, ct.c_uint16, ct.c_int32, ct.c_int64, ct.c_float, ct.c_double]
        f = fn("mixed6", argtypes, ct.c_double)
        return Case("f(1, 2, 3, 4, 5.0, 6.0)", {"f": f}, lambda: f(1, 2, 3, 4, 5.0, 6.0) == 21.0)

    def noop():
        f = fn("noop", [], None)
        return Case("f()", {"f": f}, lambda: f() is None)

    def sum_i64():
        P = ct.POINTER(ct.c_int64)
        f = fn("sum_i64", [P, ct.c_int], ct.c_int64)
        arr = (ct.c_int64 * N_SUM)(*range(N_SUM))
        p = ct.cast(arr, P)
        return Case("f(p, 16)", {"f": f, "p": p, "arr": arr}, lambda: f(p, 16) == SUM_EXPECT)

    class Point(ct.Structure):
        _fields_ = [("x", ct.c_double), ("y", ct.c_double)]

    def pt_add():
        f = fn("pt_add", [Point, Point], Point)
        a, b = Point(1.0, 2.0), Point(3.0, 4.0)
        return Case("f(a, b)", {"f": f, "a": a, "b": b}, lambda: f(a, b).y == 6.0)

    def strbuf_fill():
        fill = fn("fill_buf", [ct.c_char_p, ct.c_int], ct.c_int)
        csb = ct.create_string_buffer

        def check():
            b = csb(256)
            fill(b, 256)
            return b.value == b"x" * 255

        stmt = "b = csb(256); fill(b, 256); v = b.value"
        return Case(stmt, {"csb": csb, "fill": fill}, check)

    def c_int_new():
        C = ct.c_int
        return Case("C(5)", {"C": C}, lambda: C(5).value == 5)

    def c_int_value():
        x = ct.c_int(5)
        return Case("x.value", {"x": x}, lambda: x.value == 5)

    def strbuf():
        csb = ct.create_string_buffer
        return Case("csb(64).value", {"csb": csb}, lambda: csb(64).value == b"")

    def field_get():
        p = Point(2.5, 1.0)
        return Case("p.x", {"p": p}, lambda: p.x == 2.5)

    def field_set():
        p = Point(2.5, 1.0)
        return Case("p.x = 1.5", {"p": p}, lambda: setattr(p, "x", 1.5) or p.x == 1.5)

    def qsort_cb():
        import ctypes.util

        libc = ct.CDLL(ctypes.util.find_library("c"))
        sort = libc.qsort
        IP = ct.POINTER(ct.c_int)
        CMP = ct.CFUNCTYPE(ct.c_int, IP, IP)
        sort.argtypes = [ct.c_void_p, ct.c_size_t, ct.c_size_t, CMP]
        sort.restype = None
        shuf = fn("shuffle_i32", [ct.c_void_p, ct.c_int, ct.c_uint], None)
        a = (ct.c_int * N_SORT)()
        cb = CMP(lambda x, y: x[0] - y[0])

        def check():
            shuf(a, N_SORT, SORT_SEED)
            sort(a, N_SORT, 4, cb)
            return list(a) == list(range(N_SORT))

        stmt = "shuf(a, 1000, 12345); sort(a, 1000, 4, cb)"
        ns = {"shuf": shuf, "sort": sort, "a": a, "cb": cb}
        return Case(stmt, ns, check, per=sort_comparisons())

    # The NumPy bridge: numpy.ctypeslib with stdlib ctypes, ferrotype.ctypeslib with
    # ferrotype.
    def npct():
        import numpy as np

        name = "numpy.ctypeslib" if ct.__name__ == "ctypes" else ct.__name__ + ".ctypeslib"
        return np, importlib.import_module(name)

    def ndptr_call():
        np, nc = npct()
        nd = nc.ndpointer(dtype=np.int64, ndim=1, flags="C_CONTIGUOUS")
        f = fn("sum_i64", [nd, ct.c_int], ct.c_int64)
        arr = np.arange(N_SUM, dtype=np.int64)
        return Case("f(arr, 16)", {"f": f, "arr": arr}, lambda: f(arr, 16) == SUM_EXPECT)

    def ndptr_param():
        np, nc = npct()
        fp = nc.ndpointer(dtype=np.int64, ndim=1, flags="C_CONTIGUOUS").from_param
        arr = np.arange(N_SUM, dtype=np.int64)
        return Case("fp(arr)", {"fp": fp, "arr": arr}, lambda: fp(arr) is not None)

    def dtype20():
        np, nc = npct()
        kinds = ["<i4", "<f8", "<i2", "u1", "<f4", "<i8", "<u4", "<f8", "i1", "<u2"] * 2
        dt = np.dtype([(f"f{i:02d}", k) for i, k in enumerate(kinds)])
        conv = nc.as_ctypes_type

        def check():
            return ct.sizeof(conv(dt)) == dt.itemsize

        return Case("conv(dt)", {"conv": conv, "dt": dt}, check)

    def as_ctypes_n(n):
        def setup():
            np, nc = npct()
            arr = np.zeros(n)
            conv = nc.as_ctypes
            return Case("conv(arr)", {"conv": conv, "arr": arr}, lambda: len(conv(arr)) == n)

        return setup

    def as_array_n(n):
        def setup():
            _, nc = npct()
            carr = (ct.c_double * n)()
            conv = nc.as_array
            return Case("conv(carr)", {"conv": conv, "carr": carr}, lambda: conv(carr).size == n)

        return setup

    cells = dict(
        by_name(
            add,
            scale,
            mixed6,
            noop,
            pt_add,
            sum_i64,
            c_int_new,
            c_int_value,
            strbuf,
            strbuf_fill,
            field_get,
            field_set,
        )
    )
    cells.update(
        qsort_cb=qsort_cb,
        ndptr_call=ndptr_call,
        ndptr_param=ndptr_param,
        dtype20=dtype20,
        as_ctypes_10=as_ctypes_n(10),
        as_ctypes_1e6=as_ctypes_n(10**6),
        as_array_10=as_array_n(10),
        as_array_1e6=as_array_n(10**6),
    )
    cells.update(construct.rows(ct))
    return cells


def ctypes_noargtypes_cells(ct, libpath: str) -> dict:
    """ctypes without argtypes: only calls where that is meaningful (noop has no arguments)."""

    def fn(name, restype=None):
        f = getattr(ct.CDLL(libpath), name)
        if restype is not None:
            f.restype = restype
        return f

    def add():
        g = fn("add")
        return Case("g(1, 2)", {"g": g}, lambda: g(1, 2) == 3)

    def scale():
        g, D = fn("scale", ct.c_double), ct.c_double
        return Case("g(D(1.5), D(2.0))", {"g": g, "D": D}, lambda: g(D(1.5), D(2.0)) == 3.0)

    def mixed6():
        g, I64, F, D = fn("mixed6", ct.c_double), ct.c_int64, ct.c_float, ct.c_double
        stmt = "g(1, 2, 3, I64(4), F(5.0), D(6.0))"
        ns = {"g": g, "I64": I64, "F": F, "D": D}
        return Case(stmt, ns, lambda: g(1, 2, 3, I64(4), F(5.0), D(6.0)) == 21.0)

    def sum_i64():
        g = fn("sum_i64", ct.c_int64)
        arr = (ct.c_int64 * N_SUM)(*range(N_SUM))
        p = ct.cast(arr, ct.POINTER(ct.c_int64))
        return Case("g(p, 16)", {"g": g, "p": p, "arr": arr}, lambda: g(p, 16) == SUM_EXPECT)

    return dict(by_name(add, scale, mixed6, sum_i64))


def cffi_cells(libpath: str) -> dict:
    """cffi ABI mode. c_int / string buffer rows use cffi's nearest idiom: ffi.new + [0]/string."""
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    lib = ffi.dlopen(libpath)

    def add():
        f = lib.add
        return Case("f(1, 2)", {"f": f}, lambda: f(1, 2) == 3)

    def scale():
        f = lib.scale
        return Case("f(1.5, 2.0)", {"f": f}, lambda: f(1.5, 2.0) == 3.0)

    def mixed6():
        f = lib.mixed6
        return Case("f(1, 2, 3, 4, 5.0, 6.0)", {"f": f}, lambda: f(1, 2, 3, 4, 5.0, 6.0) == 21.0)

    def noop():
        f = lib.noop
        return Case("f()", {"f": f}, lambda: f() is None)

    def pt_add():
        f = lib.pt_add
        a, b = ffi.new("Point *", (1.0, 2.0))[0], ffi.new("Point *", (3.0, 4.0))[0]
        return Case("f(a, b)", {"f": f, "a": a, "b": b}, lambda: f(a, b).y == 6.0)

    def strbuf_fill():
        new, string, fill = ffi.new, ffi.string, lib.fill_buf

        def check():
            b = new("char[256]")
            fill(b, 256)
            return string(b) == b"x" * 255

        stmt = "b = new('char[256]'); fill(b, 256); v = string(b)"
        return Case(stmt, {"new": new, "string": string, "fill": fill}, check)

    def sum_i64():
        f = lib.sum_i64
        p = ffi.new("int64_t[]", list(range(N_SUM)))
        return Case("f(p, 16)", {"f": f, "p": p}, lambda: f(p, 16) == SUM_EXPECT)

    def c_int_new():
        new = ffi.new
        return Case("new('int *', 5)", {"new": new}, lambda: new("int *", 5)[0] == 5)

    def c_int_value():
        x = ffi.new("int *", 5)
        return Case("x[0]", {"x": x}, lambda: x[0] == 5)

    def strbuf():
        new, string = ffi.new, ffi.string
        return Case(
            "string(new('char[64]'))",
            {"new": new, "string": string},
            lambda: string(new("char[64]")) == b"",
        )

    def field_get():
        p = ffi.new("struct { double x, y; } *", {"x": 2.5, "y": 1.0})
        return Case("p.x", {"p": p}, lambda: p.x == 2.5)

    def field_set():
        p = ffi.new("struct { double x, y; } *", {"x": 2.5, "y": 1.0})
        return Case("p.x = 1.5", {"p": p}, lambda: setattr(p, "x", 1.5) or p.x == 1.5)

    def qsort_cb():
        libc = ffi.dlopen(None)
        a = ffi.new("int[]", N_SORT)
        shuf = lib.shuffle_i32
        sort = libc.qsort
        ip = "int *"

        @ffi.callback("int(const void *, const void *)")
        def cb(x, y):
            return ffi.cast(ip, x)[0] - ffi.cast(ip, y)[0]

        def check():
            shuf(a, N_SORT, SORT_SEED)
            sort(a, N_SORT, 4, cb)
            return list(a) == list(range(N_SORT))

        stmt = "shuf(a, 1000, 12345); sort(a, 1000, 4, cb)"
        ns = {"shuf": shuf, "sort": sort, "a": a, "cb": cb}
        return Case(stmt, ns, check, per=sort_comparisons())

    cells = dict(
        by_name(
            add,
            scale,
            mixed6,
            noop,
            pt_add,
            sum_i64,
            c_int_new,
            c_int_value,
            strbuf,
            strbuf_fill,
            field_get,
            field_set,
        )
    )
    cells["qsort_cb"] = qsort_cb
    cells.update(construct.cffi_rows())
    return cells


def cext_cells(mod) -> dict:
    """The C-extension floor (benches/floor.c): the call rows a hand-written binding has."""
    import array

    def call(name, args, expect):
        f = getattr(mod, name)
        stmt = f"f({args})"
        code = compile(stmt, "<cext>", "eval")
        return lambda: Case(stmt, {"f": f}, lambda: eval(code, {"f": f}) == expect)

    def sum_i64():
        f, arr = mod.sum_i64, array.array("q", range(N_SUM))
        return Case("f(arr, 16)", {"f": f, "arr": arr}, lambda: f(arr, 16) == SUM_EXPECT)

    def pt_add():
        f, a, b = mod.pt_add, (1.0, 2.0), (3.0, 4.0)
        return Case("f(a, b)", {"f": f, "a": a, "b": b}, lambda: f(a, b)[1] == 6.0)

    return {
        "add": call("add", "1, 2", 3),
        "scale": call("scale", "1.5, 2.0", 3.0),
        "mixed6": call("mixed6", "1, 2, 3, 4, 5.0, 6.0", 21.0),
        "noop": call("noop", "", None),
        "pt_add": pt_add,
        "sum_i64": sum_i64,
        "strbuf_fill": call("strbuf_fill", "256", b"x" * 255),
    }


def by_name(*setups):
    return [(s.__name__, s) for s in setups]


def load_contenders(libpath: str, wanted: list[str], module: str) -> tuple[dict, dict, dict]:
    """{contender: {workload: setup}}, {contender: unavailable reason}, {name: version}."""
    import ctypes

    cells, unavailable = {}, {}
    versions = {"ctypes": ctypes.__version__}
    cells["ctypes"] = ctypes_cells(ctypes, libpath)
    cells["ctypes-noargtypes"] = ctypes_noargtypes_cells(ctypes, libpath)
    try:
        ft = importlib.import_module(module)
        if not hasattr(ft, "CDLL"):
            raise ImportError(f"{module} has no CDLL yet")
    except Exception as e:  # a half-built extension may fail in any way: report, don't crash
        for c in ("ferrotype", "ferrotype-keepgil", "ferrotype-noargtypes"):
            unavailable[c] = f"{type(e).__name__}: {e}"
    else:
        # ferrotype's own version (its __version__ is the ctypes version it stands for)
        versions[module] = getattr(ft, "__ferrotype_version__", None) or ft.__name__
        cells["ferrotype"] = ctypes_cells(ft, libpath)
        keepgil = ctypes_cells(ft, libpath, keep_gil=True)
        cells["ferrotype-keepgil"] = {w: keepgil[w] for w in CALL_ROWS if w in keepgil}
        cells["ferrotype-noargtypes"] = ctypes_noargtypes_cells(ft, libpath)
    try:
        import cffi

        versions["cffi"] = cffi.__version__
        cells["cffi"] = cffi_cells(libpath)
    except Exception as e:
        unavailable["cffi"] = f"{type(e).__name__}: {e}"
    if "cext" in wanted:
        try:
            cells["cext"] = cext_cells(load_floor())
        except Exception as e:  # no compiler or no Python headers: report, don't crash
            unavailable["cext"] = f"{type(e).__name__}: {e}"
    keep = {c: v for c, v in cells.items() if c in wanted}
    return keep, {c: v for c, v in unavailable.items() if c in wanted}, versions


# ------------------------------------------------------------------------------ timing

_TEMPLATE = """
def run(_n):
{binds}
    _t0 = _clock()
    for _ in range(_n):
        {stmt}
    return _clock() - _t0
"""


def make_runner(case: Case):
    """A function run(n) -> elapsed ns of `for _ in range(n): stmt`, names as fast locals."""
    binds = "\n".join(f"    {k} = _ns[{k!r}]" for k in sorted(case.ns)) or "    pass"
    src = _TEMPLATE.format(binds=binds, stmt=case.stmt)
    g = {"_clock": time.perf_counter_ns, "_ns": case.ns}
    exec(compile(src, f"<bench: {case.stmt}>", "exec"), g)
    return g["run"]


class Cell:
    def __init__(self, workload: str, contender: str, case: Case):
        self.workload = workload
        self.contender = contender
        self.case = case
        self.run = make_runner(case)
        self.n = 1
        self.samples: list[float] = []  # ns per op, one per repeat

    def time(self, n: int) -> int:
        enabled = gc.isenabled()
        gc.collect()
        gc.disable()
        try:
            return self.run(n)
        finally:
            if enabled:
                gc.enable()

    def calibrate(self, target_ns: float) -> None:
        n = 10
        while True:
            dt = self.time(n)
            if dt >= target_ns / 10 or n >= 1 << 30:
                break
            n *= 10
        self.n = max(1, round(n * target_ns / max(dt, 1)))

    def sample(self) -> None:
        self.samples.append(self.time(self.n) / self.n / self.case.per)

    def median(self) -> float:
        return statistics.median(self.samples)


def paired_ratio(a: Cell | None, b: Cell | None) -> float | None:
    """Median over repeats of a's sample / b's sample in the same repeat."""
    if a is None or b is None:
        return None
    rs = [x / y for x, y in zip(a.samples, b.samples, strict=True)]
    return statistics.median(rs) if rs else None


# ------------------------------------------------------------------------------ report


def fmt_ns(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.1f}" if v < 1000 else f"{v:.0f}"


def fmt_ratio(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def print_table(cells: dict, workloads: list[str], contenders: list[str]) -> dict:
    titles = dict(WORKLOADS)
    heads = [*contenders, "ft/ctypes", "ft/cffi", "keepgil/ctypes"]
    w0 = max(len(titles[w]) for w in workloads) + 2
    widths = [max(9, len(h) + 2) for h in heads]
    print("\nns per op (median; lower is better); ratios = median of paired per-repeat ratios")
    print("workload".ljust(w0) + "".join(h.rjust(w) for h, w in zip(heads, widths, strict=True)))
    ratios = {}
    for w in workloads:
        if w == next((x for x in workloads if x in construct.ROW_IDS), None):
            print("-- construction and conversion")
        ft = cells.get((w, "ferrotype"))
        r_ct = paired_ratio(ft, cells.get((w, "ctypes")))
        r_cffi = paired_ratio(ft, cells.get((w, "cffi")))
        r_kg = paired_ratio(cells.get((w, "ferrotype-keepgil")), cells.get((w, "ctypes")))
        ratios[w] = {  # every contender against both references, for --json
            f"{c}/{ref}": paired_ratio(cells.get((w, c)), cells.get((w, ref)))
            for c in contenders
            for ref in ("ctypes", "cffi")
            if c != ref
        }
        vals = [fmt_ns(cells[(w, c)].median()) if (w, c) in cells else "-" for c in contenders]
        vals += [fmt_ratio(r_ct), fmt_ratio(r_cffi), fmt_ratio(r_kg)]
        print(titles[w].ljust(w0) + "".join(v.rjust(x) for v, x in zip(vals, widths, strict=True)))
    return ratios


def env_info() -> dict:
    info = {
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
    }
    try:
        with open("/proc/loadavg") as fh:
            info["loadavg"] = " ".join(fh.read().split()[:3])
    except OSError:
        pass
    return info


# -------------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--only", help="comma-separated workloads: " + ",".join(WORKLOAD_IDS))
    ap.add_argument("--contenders", help="comma-separated subset of: " + ",".join(CONTENDERS))
    ap.add_argument("--repeats", type=int, help="samples per cell (default 11, 3 with --quick)")
    ap.add_argument("--target-ms", type=float, help="duration of one sample (default 20, 2 quick)")
    ap.add_argument("--quick", action="store_true", help="smoke run: few repeats, short samples")
    ap.add_argument("--json", metavar="PATH", help="write all samples and results to PATH")
    ap.add_argument(
        "--module",
        default="ferrotype",
        help="module run in the ferrotype columns (`--module ctypes`: self-test, ratios ~1.00)",
    )
    ap.add_argument("--seed", type=int, default=1, help="seed of the contender-order shuffle")
    ap.add_argument("--show-code", action="store_true", help="print each cell's timed statement")
    args = ap.parse_args()
    repeats = args.repeats or (3 if args.quick else 11)
    target_ns = (args.target_ms or (2.0 if args.quick else 20.0)) * 1e6

    workloads = args.only.split(",") if args.only else WORKLOAD_IDS
    contenders = args.contenders.split(",") if args.contenders else CONTENDERS
    for w in workloads:
        if w not in WORKLOAD_IDS:
            sys.exit(f"unknown workload {w!r}; choose from {','.join(WORKLOAD_IDS)}")
    for c in contenders:
        if c not in CONTENDERS:
            sys.exit(f"unknown contender {c!r}; choose from {','.join(CONTENDERS)}")

    libpath = build_lib()
    setups, unavailable, versions = load_contenders(libpath, contenders, args.module)
    cells, notes = {}, []
    for w in workloads:
        for c in contenders:
            setup = setups.get(c, {}).get(w)
            if setup is None:
                continue  # contender unavailable, or workload not meaningful for it
            try:
                case = setup()
                ok = case.check()
            except Exception as e:
                notes.append(f"{w} / {c}: set-up failed: {type(e).__name__}: {e}")
                continue
            if ok is not True:
                notes.append(f"{w} / {c}: wrong result, skipped")
                continue
            cells[(w, c)] = Cell(w, c, case)

    info = env_info()
    print(
        f"ferrotype bench: python {info['python']}, "
        + ", ".join(f"{k} {v}" for k, v in versions.items())
        + f"; {info['cpu_count']} cpus, load {info.get('loadavg', '?')}"
    )
    for c, why in unavailable.items():
        print(f"  {c}: unavailable ({why})")
    print(
        f"{len(cells)} cells, {repeats} repeats, ~{target_ns / 1e6:g} ms per sample, "
        "contenders interleaved in shuffled order",
        flush=True,
    )

    def drop(cell, e):  # a cell that raises while timed is dropped with all its samples
        del cells[(cell.workload, cell.contender)]
        notes.append(f"{cell.workload} / {cell.contender}: raised {type(e).__name__}: {e}")

    loop = Cell("loop", "loop", Case("pass", {}, lambda: True))
    loop.calibrate(target_ns)
    t0 = time.perf_counter()
    for cell in list(cells.values()):
        try:
            cell.calibrate(target_ns)
        except Exception as e:
            drop(cell, e)
    rng = random.Random(args.seed)
    for rep in range(repeats):
        loop.sample()
        for w in workloads:
            group = [cell for (cw, _), cell in cells.items() if cw == w]
            rng.shuffle(group)
            for cell in group:
                try:
                    cell.sample()
                except Exception as e:
                    drop(cell, e)
        print(
            f"  repeat {rep + 1}/{repeats} ({time.perf_counter() - t0:.0f} s)",
            file=sys.stderr,
            flush=True,
        )

    loop_ns = loop.median()
    print(
        f"a bare loop iteration (`for _ in range(n): pass`) costs {loop_ns:.1f} ns; "
        "it is included in every number below, nothing is subtracted"
    )
    shown = [c for c in contenders if c not in unavailable]
    ratios = print_table(cells, workloads, shown)
    if "ferrotype" in contenders and "ferrotype" not in unavailable:
        print("ft/ctypes < 1: ferrotype is faster than ctypes with argtypes; ft/cffi likewise")
    if args.module != "ferrotype" and "ferrotype" in shown:
        print(f"the ferrotype columns run module {args.module!r} (--module)")
    if "cffi" in shown:
        print("cffi rows for c_int and the string buffer use ffi.new('int *', 5), x[0] and")
        print("ffi.string(ffi.new('char[64]')); run with --show-code to see every timed statement")
    if notes:
        print("\nnotes:")
        for n in notes:
            print("  " + n)
    if args.show_code:
        print("\ntimed statements (inside `for _ in range(n):`):")
        for (w, c), cell in cells.items():
            print(f"  {w:<12} {c:<21} {cell.case.stmt}")

    if args.json:
        data = {
            "env": info,
            "versions": versions,
            "args": vars(args),
            "repeats": repeats,
            "target_ms": target_ns / 1e6,
            "loop_ns": loop_ns,
            "loop_samples_ns": loop.samples,
            "workloads": dict(WORKLOADS),
            "contenders": shown,
            "unavailable": unavailable,
            "notes": notes,
            "cells": [
                {
                    "workload": cell.workload,
                    "contender": cell.contender,
                    "stmt": cell.case.stmt,
                    "n": cell.n,
                    "median_ns": cell.median(),
                    "samples_ns": cell.samples,
                }
                for cell in cells.values()
            ],
            "ratios": ratios,
        }
        with open(args.json, "w") as fh:
            json.dump(data, fh, indent=1)
        print("wrote", args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
