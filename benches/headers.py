"""make bench-headers: binding real C headers with ferrotype.include, against ctypesgen and
cffi, in one run.

    .venv/bin/python benches/headers.py                       # every header of the list
    .venv/bin/python benches/headers.py --only zlib.h,sqlite3.h --repeats 5 --json out.json

For each header (zlib, sqlite3, png, curl, SDL2, and libc's stdio, time, sys/stat, poll; a
header that is not installed is skipped with the compiler's reason):

- ferrotype: the declarations found (declarators, records, enums, enumerators, #defines of
  the header's own files), the names bound, the refusals grouped by reason; the time of
  ``ferrotype.include(header, lib)`` cold (an empty cache) and cached (its second run);
- ctypesgen (pinned in benches/requirements.txt): the declarations it writes, its errors
  and warnings; the time to generate and import the module (cold) and to import it again
  (cached: the module and its .pyc exist);
- cffi: how many of the header's top-level declarations, as ``cc -E`` gives them (after
  what they need from other headers), ``ffi.cdef`` accepts, in order (runs of them at once,
  split in halves on an error, which counts the same as one at a time, faster).

Every timing is the median of --repeats runs, each in a fresh interpreter (the time of the
call itself: interpreter start-up and ``import ferrotype``/``import ctypes`` excluded).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HEADERS = [
    ("zlib.h", "z"),
    ("sqlite3.h", "sqlite3"),
    ("png.h", "png16"),
    ("curl/curl.h", "curl"),
    ("SDL2/SDL.h", "SDL2"),
    ("stdio.h", "c"),
    ("time.h", "c"),
    ("sys/stat.h", "c"),
    ("poll.h", "c"),
]
CTYPESGEN_TIMEOUT = 600

FERROTYPE_RUN = """
import json, sys, time
import ferrotype
t = time.perf_counter()
ns = ferrotype.include(sys.argv[1], sys.argv[2] or None)
t = time.perf_counter() - t
names = [n for n in vars(ns) if not n.startswith("__")]
print(json.dumps({"seconds": t, "found": ns.__found__, "bound": len(names),
                  "refused": [[r.name, r.reason] for r in ns.__refused__]}))
"""

CTYPESGEN_GENERATE = """
import contextlib, io, json, logging, sys, time
import ctypes
from ctypesgen.main import main
out, args = sys.argv[1], sys.argv[2:]
log = io.StringIO()
logging.basicConfig(stream=log, level=logging.INFO, force=True)
t = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    main(args + ["-o", out])
sys.path.insert(0, __import__("os").path.dirname(out))
__import__(__import__("os").path.basename(out)[:-3])
t = time.perf_counter() - t
text = log.getvalue()
print(json.dumps({"seconds": t, "errors": text.count("ERROR:"),
                  "warnings": text.count("WARNING:")}))
"""

CTYPESGEN_IMPORT = """
import json, os, sys, time
import ctypes
sys.path.insert(0, os.path.dirname(sys.argv[1]))
t = time.perf_counter()
__import__(os.path.basename(sys.argv[1])[:-3])
print(json.dumps({"seconds": time.perf_counter() - t}))
"""


def run_json(code: str, *args: str, env: dict | None = None, timeout: float | None = None):
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise RuntimeError(last)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def preprocess(header: str, directives: bool) -> str:
    cc = os.environ.get("CC", "cc")
    cmd = [cc, "-E", *(["-dD"] if directives else []), "-x", "c", "-"]
    proc = subprocess.run(cmd, input=f"#include <{header}>\n", capture_output=True, text=True)
    if proc.returncode != 0:
        raise FileNotFoundError(proc.stderr.strip().splitlines()[0])
    return proc.stdout


def reason_group(reason: str) -> str:
    """A refusal's reason without the names in it, so that alike ones count together."""
    for pattern, group in [
        (r"^symbol \S+ not found in ", "symbol not in the library (inline, macro or absent)"),
        (r"a macro with no value", "#define with no value"),
        (r"#define .*\(not an expression\)", "#define: not an expression"),
        (r"#define .*not a constant", "#define: not a constant"),
        (r"function-like", "function-like #define"),
        (r"va_list", "va_list"),
        (r"long double", "long double by value"),
        (r"uses typedef \S+, which cannot", "uses a type that cannot be represented"),
    ]:
        if re.search(pattern, reason):
            return group
    return re.sub(r"\b(?:symbol|typedef|struct|union) \w+", lambda m: m[0].split()[0], reason)


def top_level(text: str):
    """The top-level declarations of preprocessed text, each with the file it comes from
    (by the line markers): split at ``;`` outside braces and parentheses, and after a
    function body."""
    file, depth, start, out = "<stdin>", 0, 0, []
    parens = opened = 0
    i, n = 0, len(text)
    buf_file = None
    while i < n:
        c = text[i]
        if c == "#" and (i == 0 or text[i - 1] == "\n"):
            end = text.find("\n", i)
            end = n if end < 0 else end
            m = re.match(r'# \d+ "(.*)"', text[i:end])
            if m:
                file = m.group(1)
            text = text[:i] + " " * (end - i) + text[end:]
            i = end
            continue
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if buf_file is None and not c.isspace():
            buf_file = file
        if c == "(":
            parens += 1
        elif c == ")":
            parens -= 1
        elif c == "{":
            if depth == 0:
                opened = i
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0 and parens == 0 and text[start:opened].rstrip().endswith(")"):
                # A function definition: no ';' follows its body.
                out.append((buf_file, text[start : i + 1]))
                start, buf_file = i + 1, None
        elif c == ";" and depth == 0 and parens == 0:
            out.append((buf_file, text[start : i + 1]))
            start, buf_file = i + 1, None
        i += 1
    return [(f, d.strip()) for f, d in out if d.strip() and f is not None]


def cffi_accepts(header: str, keep: list[str]) -> tuple[int, int, str]:
    """(accepted, total) top-level declarations of the kept files, and cffi's version."""
    import warnings

    import cffi

    warnings.simplefilter("ignore")  # string literals in declarations: cffi warns per call
    ffi = cffi.FFI()
    decls = top_level(preprocess(header, False))
    ok = [False] * len(decls)

    def feed(lo: int, hi: int) -> None:
        # A run of declarations at once; on an error, each half again (most are accepted,
        # and one cdef call per declaration is slow: each re-declares every known typedef).
        if lo >= hi:
            return
        try:
            ffi.cdef("\n".join(d for _, d in decls[lo:hi]))
        except Exception:
            if hi - lo > 1:
                mid = (lo + hi) // 2
                feed(lo, mid)
                feed(mid, hi)
            return
        ok[lo:hi] = [True] * (hi - lo)

    for lo in range(0, len(decls), 256):
        feed(lo, min(lo + 256, len(decls)))
    kept = [k for k, (file, _) in enumerate(decls) if file in keep]
    accepted, total = sum(ok[k] for k in kept), len(kept)
    return accepted, total, cffi.__version__


def median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def bench_header(header: str, libname: str, repeats: int, tools: set[str]) -> dict:
    import ferrotype.util
    from ferrotype._cdef import _kept_files

    row: dict = {"header": header}
    try:
        text = preprocess(header, True)
    except FileNotFoundError as e:
        row["skipped"] = f"not installed: {e}"
        return row
    keep = _kept_files(text, "/" in header)
    path = keep[0]
    lib = ferrotype.util.find_library(libname)
    row["lib"] = lib
    work = tempfile.mkdtemp(prefix="ft-headers-")
    try:
        if "ferrotype" in tools:
            cold, cached, first = [], [], None
            for k in range(repeats):
                env = {"FERROTYPE_CACHE_DIR": os.path.join(work, f"cache{k}")}
                r = run_json(FERROTYPE_RUN, header, lib or "", env=env)
                cold.append(r["seconds"])
                cached.append(run_json(FERROTYPE_RUN, header, lib or "", env=env)["seconds"])
                first = first or r
            assert first is not None
            groups = collections.Counter(reason_group(r) for _, r in first["refused"])
            row["ferrotype"] = {
                "found": first["found"],
                "bound": first["bound"],
                "refused": len(first["refused"]),
                "reasons": groups.most_common(),
                "cold_s": median(cold),
                "cached_s": median(cached),
            }
        if "ctypesgen" in tools:
            row["ctypesgen"] = bench_ctypesgen(path, libname, lib, work, repeats)
        if "cffi" in tools:
            accepted, total, version = cffi_accepts(header, keep)
            row["cffi"] = {"accepted": accepted, "total": total, "version": version}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return row


def bench_ctypesgen(path: str, libname: str, lib: str | None, work: str, repeats: int):
    try:
        import ctypesgen.version
    except ImportError:
        return {"unavailable": "ctypesgen not installed (benches/requirements.txt)"}
    cold, cached, first = [], [], None
    out = ""
    for k in range(repeats):
        out = os.path.join(work, f"ctg{k}", f"bound_{k}.py")
        os.makedirs(os.path.dirname(out))
        args = [path, *(["-l", libname] if lib else [])]
        try:
            r = run_json(CTYPESGEN_GENERATE, out, *args, timeout=CTYPESGEN_TIMEOUT)
            cached.append(run_json(CTYPESGEN_IMPORT, out)["seconds"])
        except subprocess.TimeoutExpired:
            return {"failed": f"timed out after {CTYPESGEN_TIMEOUT} s"}
        except RuntimeError as e:
            return {"failed": str(e)}
        cold.append(r["seconds"])
        first = first or r
    assert first is not None
    with open(out) as f:
        written = sum(1 for line in f if re.match(r"# /\S+: \d+$", line))
    return {
        "version": ctypesgen.version.VERSION_NUMBER,
        "written": written,
        "errors": first["errors"],
        "warnings": first["warnings"],
        "cold_s": median(cold),
        "cached_s": median(cached),
    }


def ms(v: float | None) -> str:
    return "-" if v is None else f"{v * 1000:.0f} ms"


def print_report(rows: list[dict]) -> None:
    print(
        f"{'header':<14} {'found':>6} {'bound':>6} {'refused':>7} {'cold':>8} {'cached':>8}"
        f" | {'ctypesgen':>9} {'err/warn':>9} {'cold':>8} {'cached':>8}"
        f" | {'cffi accepts':>13}"
    )
    for row in rows:
        h = row["header"]
        if "skipped" in row:
            print(f"{h:<14} skipped: {row['skipped']}")
            continue
        f = row.get("ferrotype", {})
        g = row.get("ctypesgen", {})
        c = row.get("cffi", {})
        left = (
            f"{h:<14} {f.get('found', '-'):>6} {f.get('bound', '-'):>6} "
            f"{f.get('refused', '-'):>7} {ms(f.get('cold_s')):>8} {ms(f.get('cached_s')):>8}"
        )
        if "written" in g:
            mid = (
                f"{g['written']:>9} {str(g['errors']) + '/' + str(g['warnings']):>9} "
                f"{ms(g['cold_s']):>8} {ms(g['cached_s']):>8}"
            )
        else:
            mid = f"{(g.get('failed') or g.get('unavailable') or '-')[:38]:>38}"
        right = f"{c['accepted']}/{c['total']}" if "accepted" in c else "-"
        print(f"{left} | {mid} | {right:>13}")
    print()
    for row in rows:
        reasons = row.get("ferrotype", {}).get("reasons")
        if reasons:
            print(f"{row['header']}: refused by ferrotype:")
            for reason, count in reasons:
                print(f"  {count:>5}  {reason}")
        g = row.get("ctypesgen", {})
        if "failed" in g:
            print(f"{row['header']}: ctypesgen failed: {g['failed']}")
    if rows and "lib" in rows[0]:
        print("\nfound: declarators, records, enums, enumerators and #defines of the header's")
        print("own files; bound: the names of the namespace; ctypesgen: the declarations it")
        print("wrote, its errors/warnings; cffi: top-level declarations of those files that")
        print("ffi.cdef accepts (in order, each after the ones before it).")


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    names = [h for h, _ in HEADERS]
    ap.add_argument("--only", help="comma-separated headers: " + ",".join(names))
    ap.add_argument("--repeats", type=int, default=3, help="runs per timing (default 3)")
    ap.add_argument(
        "--tools", default="ferrotype,ctypesgen,cffi", help="comma-separated subset of the three"
    )
    ap.add_argument("--json", metavar="PATH", help="write the results to PATH")
    args = ap.parse_args()
    wanted = args.only.split(",") if args.only else names
    for w in wanted:
        if w not in names:
            sys.exit(f"unknown header {w!r}; choose from {','.join(names)}")
    tools = set(args.tools.split(","))
    rows = []
    t0 = time.perf_counter()
    for header, lib in HEADERS:
        if header in wanted:
            print(f"  {header} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
            rows.append(bench_header(header, lib, args.repeats, tools))
    print_report(rows)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"python": sys.version.split()[0], "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
