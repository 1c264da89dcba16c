"""Call-path measurements: struct results by size, arguments beyond the registers, and
callbacks from threads Python did not create (benches/calls.c).

    .venv/bin/python benches/calls_bench.py                 # instructions, every row
    .venv/bin/python benches/calls_bench.py --only ret64,i6,i7
    .venv/bin/python benches/calls_bench.py --threads       # foreign-thread callbacks/s

Instructions: each row runs its statement in a function-local loop n1 = 1000 and
n2 = 11000 times, each in its own process under `valgrind --tool=callgrind`
(PYTHONHASHSEED=0); the difference of the two totals over n2 - n1 is the cost of one
statement, loop included (the `loop` row is the empty loop). Contenders: ferrotype,
stdlib ctypes (argtypes and restype set) and cffi's ABI mode where it is installed.

Threads: `cb_threads(cb, 4, 100000)` (four pthreads, each calling a Python callback
100,000 times), ferrotype and ctypes alternately, --repeats times; the median rate.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "calls.c")
RET_SIZES = (8, 16, 24, 32, 64, 128)
INT_COUNTS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12)
DOUBLE_COUNTS = (8, 9, 10)
ROWS = (
    ["loop"]
    + [f"ret{n}" for n in RET_SIZES]
    + [f"i{n}" for n in INT_COUNTS]
    + [f"d{n}" for n in DOUBLE_COUNTS]
    + ["thread"]
)
CONTENDERS = ("ferrotype", "ctypes", "cffi")


def build() -> str:
    """Compiles calls.c once per source and interpreter (into benches/_build or $TMPDIR)."""
    cmd = [os.environ.get("CC", "cc"), "-shared", "-fPIC", "-O2", "-pthread"]
    with open(SOURCE, "rb") as fh:
        digest = hashlib.sha256(fh.read() + " ".join(cmd).encode()).hexdigest()[:12]
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
            out = os.path.join(d, f"libcalls-{digest}.so")
            if not os.path.exists(out):
                tmp = f"{out}.{os.getpid()}.tmp"
                subprocess.run([*cmd, "-o", tmp, SOURCE], check=True)
                os.replace(tmp, out)
            return out
    sys.exit("calls_bench: no writable build directory")


# ---------------------------------------------------------------------------- statements


def ctypes_case(ct, path: str, row: str):
    """(function, arguments) for a row with ctypes or ferrotype as `ct`."""
    lib = ct.CDLL(path)
    if row.startswith("ret"):
        n = int(row[3:])
        S = type(f"S{n}", (ct.Structure,), {"_fields_": [("v", ct.c_int64 * (n // 8))]})
        f = getattr(lib, f"cb_{row}")
        f.argtypes, f.restype = [ct.c_int64], S
        return f, (1,)
    n = int(row[1:])
    t = ct.c_int64 if row[0] == "i" else ct.c_double
    f = getattr(lib, f"cb_{row}")
    f.argtypes, f.restype = [t] * n, t
    return f, tuple(range(1, n + 1)) if row[0] == "i" else tuple(float(i) for i in range(n))


def cffi_case(path: str, row: str):
    import cffi

    ffi = cffi.FFI()
    if row.startswith("ret"):
        n = int(row[3:])
        ffi.cdef(f"typedef struct {{ int64_t v[{n // 8}]; }} S; S cb_{row}(int64_t);")
        return getattr(ffi.dlopen(path), f"cb_{row}"), (1,)
    n = int(row[1:])
    t = "int64_t" if row[0] == "i" else "double"
    ffi.cdef(f"{t} cb_{row}({', '.join([t] * n) or 'void'});")
    f = getattr(ffi.dlopen(path), f"cb_{row}")
    return f, tuple(range(1, n + 1)) if row[0] == "i" else tuple(float(i) for i in range(n))


def child_loop(contender: str, row: str, n: int) -> None:
    """Runs the row's statement n times in a function-local loop (under callgrind)."""
    path = build()
    if row == "thread":
        # n callbacks from one foreign thread, in one foreign call
        if contender == "cffi":
            return
        ct = __import__(contender)
        f = ct.CDLL(path).cb_threads
        proto = ct.CFUNCTYPE(ct.c_int, ct.c_int)
        f.argtypes, f.restype = [proto, ct.c_int, ct.c_int], ct.c_longlong
        cb = proto(lambda i: 1)
        f(cb, 1, 10)
        if f(cb, 1, n) != n:
            sys.exit("wrong result")
        return
    if row == "loop":
        f, args = (lambda: None), ()
    elif contender == "cffi":
        f, args = cffi_case(path, row)
    else:
        f, args = ctypes_case(__import__(contender), path, row)
    f(*args)  # warm: first-call work is not the per-call cost
    # The loop body is one call with its arguments as constants of the code object.
    src = f"def run(f, n):\n    for _ in range(n):\n        f({', '.join(map(repr, args))})\n"
    ns: dict = {}
    exec(src, ns)
    if row == "loop":
        src = "def run(f, n):\n    for _ in range(n):\n        pass\n"
        exec(src, ns)
    ns["run"](f, n)


def instructions(contender: str, row: str, n: int) -> int | None:
    with tempfile.TemporaryDirectory() as td:
        cmd = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={os.path.join(td, 'cg.out')}",
            sys.executable,
            os.path.abspath(__file__),
            "--_loop",
            contender,
            row,
            str(n),
        ]
        env = dict(os.environ, PYTHONHASHSEED="0")
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    m = re.search(r"Collected\s*:\s*(\d+)", p.stderr)
    if p.returncode != 0 or not m:
        print(f"  {contender} {row} failed: {(p.stdout + p.stderr).strip()[-300:]}", flush=True)
        return None
    return int(m.group(1))


def callgrind(rows: list[str], contenders: list[str], n1: int, n2: int, jobs: int) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    if shutil.which("valgrind") is None:
        sys.exit("valgrind not found")
    build()
    todo = [
        (c, r)
        for r in rows
        for c in contenders
        if not (r == "loop" and c != contenders[0]) and not (r == "thread" and c == "cffi")
    ]
    out: dict = {}
    with ThreadPoolExecutor(max_workers=jobs) as ex:
        futs = {
            (c, r): (ex.submit(instructions, c, r, n1), ex.submit(instructions, c, r, n2))
            for c, r in todo
        }
        for (c, r), (a, b) in futs.items():
            ia, ib = a.result(), b.result()
            if ia is not None and ib is not None:
                out[(c, r)] = (ib - ia) / (n2 - n1)
    print(
        "instructions per statement (loop included; `thread`: per callback), "
        f"callgrind, n = {n2} - {n1}"
    )
    print(f"{'row':8}" + "".join(f"{c:>12}" for c in contenders))
    for r in rows:
        cells = [out.get((c, r)) for c in contenders]
        print(f"{r:8}" + "".join(f"{'-' if v is None else f'{v:.0f}':>12}" for v in cells))
    return out


# ------------------------------------------------------------------------------ threads


def threads(repeats: int, nthreads: int, calls: int) -> None:
    import ctypes

    import ferrotype

    path = build()
    cases = []
    for ct in (ferrotype, ctypes):
        lib = ct.CDLL(path)
        proto = ct.CFUNCTYPE(ct.c_int, ct.c_int)
        f = lib.cb_threads
        f.argtypes, f.restype = [proto, ct.c_int, ct.c_int], ct.c_longlong
        cb = proto(lambda i: 1)
        cases.append((ct.__name__, f, cb))
    rates: dict = {name: [] for name, _, _ in cases}
    for _ in range(repeats):
        for name, f, cb in cases:
            t0 = time.perf_counter()
            got = f(cb, nthreads, calls)
            dt = time.perf_counter() - t0
            if got != nthreads * calls:
                sys.exit(f"{name}: {got} != {nthreads * calls}")
            rates[name].append(nthreads * calls / dt)
    print(f"callbacks from {nthreads} foreign threads x {calls}, k/s (median of {repeats}):")
    for name, r in rates.items():
        med, lo, hi = statistics.median(r) / 1e3, min(r) / 1e3, max(r) / 1e3
        print(f"  {name:10} {med:8.0f}   (min {lo:.0f}, max {hi:.0f})")
    fr, cr = statistics.median(rates["ferrotype"]), statistics.median(rates["ctypes"])
    print(f"  ratio ferrotype/ctypes {fr / cr:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated rows (default: all)")
    ap.add_argument("--contenders", default=",".join(CONTENDERS))
    ap.add_argument("--n1", type=int, default=1000)
    ap.add_argument("--n2", type=int, default=11000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--threads", action="store_true", help="time foreign-thread callbacks")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--nthreads", type=int, default=4)
    ap.add_argument("--calls", type=int, default=100_000)
    ap.add_argument("--_loop", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a._loop:
        child_loop(a._loop[0], a._loop[1], int(a._loop[2]))
        return
    if a.threads:
        threads(a.repeats, a.nthreads, a.calls)
        return
    contenders = a.contenders.split(",")
    if "cffi" in contenders:
        try:
            import cffi  # noqa: F401
        except ImportError:
            contenders.remove("cffi")
    rows = a.only.split(",") if a.only else list(ROWS)
    callgrind(rows, contenders, a.n1, a.n2, a.jobs)


if __name__ == "__main__":
    main()
