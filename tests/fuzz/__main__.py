"""``python -m fuzz`` (with ``tests`` on ``PYTHONPATH``): run the crash fuzzer, print a table."""

from __future__ import annotations

import argparse
import json
import sys

from . import make_input, run
from .runner import reproducer


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__)
    ap.add_argument("--n", type=int, default=100_000, help="number of inputs")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", type=int, default=0, help="first input index")
    ap.add_argument("--impl", choices=("ferrotype", "ctypes"), default="ferrotype")
    ap.add_argument("--strict", action="store_true", help="run with ferrotype.strict(True)")
    ap.add_argument("--batch", type=int, default=100, help="inputs per child")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per input")
    ap.add_argument("--mem-gib", type=float, default=4.0, help="RLIMIT_AS of a child")
    ap.add_argument("--jobs", type=int, default=2, help="children at a time")
    ap.add_argument("--json", help="also write the findings to this file")
    ap.add_argument("--show", type=int, nargs="*", help="print these inputs and exit")
    a = ap.parse_args(argv)
    if a.show is not None:
        for i in a.show:
            family, src = make_input(a.seed, i, a.strict)
            print(f"#{i} {family}: {reproducer(src, a.impl, a.strict)}")
        return 0

    step = [0]

    def progress(done: int, total: int, found: int) -> None:
        if sys.stderr.isatty():
            print(f"\r{done}/{total} inputs, {found} suspects", end="", file=sys.stderr)
        elif done * 20 // total > step[0]:  # a line every 5% in a log
            step[0] = done * 20 // total
            print(f"{done}/{total} inputs, {found} suspects", file=sys.stderr, flush=True)

    rep = run(a.n, a.seed, start=a.start, impl=a.impl, strict=a.strict, batch=a.batch,
              timeout=a.timeout, mem_gib=a.mem_gib, jobs=a.jobs, progress=progress,
              on_finding=lambda f: print(f"found: {f}", file=sys.stderr, flush=True))  # fmt: skip
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"seed {a.seed}, inputs #{a.start}..#{a.start + a.n - 1}")
    print(rep.table())
    groups = rep.groups()
    if groups:
        print(f"\n{len(rep.findings)} findings in {len(groups)} groups:")
    for (kind, key), fs in groups.items():
        print(f"\n== {kind}: {key} ({len(fs)})")
        for f in fs:
            print(f)
    if a.json:
        with open(a.json, "w") as f:
            json.dump([vars(x) for x in rep.findings], f, indent=1)
    return 1 if rep.failures else 0


if __name__ == "__main__":
    sys.exit(main())
