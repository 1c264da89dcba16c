"""Charts and a table from `make bench`'s JSON (benches/bench.py --json).

    .venv/bin/python tools/bench_charts.py build/bench/bench.json --out build/bench

writes, into --out:
  calls.svg       time per operation relative to stdlib ctypes (with argtypes), per workload:
                  ferrotype, ferrotype with the GIL kept, cffi ABI mode and the C-extension
                  floor side by side (log scale: 0.5 is twice as fast as ctypes)
  numpy.svg       ferrotype.ctypeslib relative to numpy.ctypeslib over stdlib ctypes
  bench-table.md  the numbers behind both charts (ns per operation and ratios), and the
                  machine and versions they were measured on
  bench.json      a copy of the input (when --out is not its directory)

Every number comes from the JSON; nothing is typed in. The SVGs are reproducible: the same
JSON and matplotlib version give the same bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FixedLocator, NullLocator  # noqa: E402

# The rows of each chart, in the order shown (ids of benches/bench.py's WORKLOADS).
CALL_ROWS = [
    "add",
    "scale",
    "mixed6",
    "noop",
    "pt_add",
    "sum_i64",
    "strbuf_fill",
    "qsort_cb",
    "c_int_new",
    "c_int_value",
    "strbuf",
    "field_get",
    "field_set",
]
NUMPY_ROWS = [
    "ndptr_call",
    "ndptr_param",
    "dtype20",
    "as_ctypes_10",
    "as_ctypes_1e6",
    "as_array_10",
    "as_array_1e6",
]
# (contender in the JSON, label, colour, hatch)
SERIES = [
    ("ferrotype", "ferrotype", "#b7410e", ""),
    ("ferrotype-keepgil", "ferrotype, release_gil = False", "#e8915a", ""),
    ("cffi", "cffi (ABI mode)", "#4a78a8", ""),
    ("cext", "C extension (the floor)", "#7a7a7a", "//"),
]
TICKS = [0.001, 0.003, 0.01, 0.03, 0.1, 0.2, 0.5, 1, 2, 4]


def load(path: str) -> dict:
    with open(path) as fh:
        data = json.load(fh)
    if "cells" not in data or "ratios" not in data:
        sys.exit(f"{path}: not the JSON of benches/bench.py --json")
    return data


def medians(data: dict) -> dict:
    return {(c["workload"], c["contender"]): c["median_ns"] for c in data["cells"]}


def ratio(data: dict, workload: str, contender: str, ref: str = "ctypes") -> float | None:
    return data["ratios"].get(workload, {}).get(f"{contender}/{ref}")


def titles(data: dict) -> dict:
    return data.get("workloads") or {}


def subtitle(data: dict) -> str:
    env, v = data.get("env", {}), data.get("versions", {})
    parts = [f"CPython {env.get('python', '?')}"]
    parts += [f"{k} {v[k]}" for k in ("cffi",) if k in v]
    parts.append(f"{env.get('cpu_count', '?')} CPUs")
    parts.append(f"{data.get('repeats', '?')} paired repeats, medians")
    return ", ".join(parts)


def bar_chart(rows, series, values, labels, title, sub, xlabel, path, ref="stdlib ctypes"):
    """Horizontal grouped bars on a log axis; values[(row, contender)] -> ratio or None."""
    series = [s for s in series if any(values.get((r, s[0])) for r in rows)]
    rows = [r for r in rows if any(values.get((r, s[0])) for s in series)]
    n = len(series)
    band = 0.8
    h = band / max(n, 1)
    fig, ax = plt.subplots(figsize=(8, 0.095 * len(rows) * (n + 1) + 2.1))
    for i, (key, label, colour, hatch) in enumerate(series):
        ys, xs = [], []
        for j, r in enumerate(rows):
            v = values.get((r, key))
            if v:
                ys.append(j - band / 2 + h * (i + 0.5))
                xs.append(v)
        ax.barh(ys, xs, height=h * 0.92, color=colour, hatch=hatch, edgecolor="white", label=label)
        for y, x in zip(ys, xs, strict=True):
            ax.text(x * 1.04, y, f"{x:.2f}" if x >= 0.01 else f"{x:.4f}", va="center", fontsize=7)
    ax.set_xscale("log")
    finite = [v for r in rows for k, *_ in series if (v := values.get((r, k)))]
    lo = min([*finite, 0.5]) / 1.6
    hi = max([*finite, 1.0]) * 1.7
    ax.set_xlim(lo, hi)
    ax.xaxis.set_major_locator(FixedLocator([t for t in TICKS if lo <= t <= hi]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:g}")
    ax.axvline(1.0, color="black", linewidth=1)
    ax.text(1.0, -0.75, f" {ref} = 1", fontsize=8, va="center")
    ax.set_yticks(
        range(len(rows)), [textwrap.fill(labels.get(r, r), 30) for r in rows], fontsize=8.5
    )
    ax.set_ylim(len(rows) - 0.5, -1.0)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.suptitle(textwrap.fill(title, 70), fontsize=11, x=0.01, ha="left")
    ax.set_title(sub, fontsize=8.5, loc="left", color="#555555")
    fig.legend(
        fontsize=8,
        loc="upper center",
        ncol=min(len(series), 2),
        frameon=False,
        bbox_to_anchor=(0.5, 0.96),
    )
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    fig.savefig(path, metadata={"Date": None})
    plt.close(fig)


def table(data: dict) -> str:
    med, names = medians(data), titles(data)
    shown = [c for c in ("ctypes", "ferrotype", "ferrotype-keepgil", "cffi", "cext")]
    out = []
    env = data.get("env", {})
    out.append(
        f"Measured with CPython {env.get('python', '?')} on {env.get('platform', '?')}, "
        f"{env.get('cpu_count', '?')} CPUs (load {env.get('loadavg', '?')}); versions: "
        + ", ".join(f"{k} {v}" for k, v in data.get("versions", {}).items())
        + f"; {data.get('repeats', '?')} repeats of about {data.get('target_ms', '?'):g} ms "
        f"per cell. A bare loop iteration costs {data.get('loop_ns', 0):.1f} ns and is "
        "included in every number."
    )
    out.append("")
    head = ["workload", *[f"{c} ns" for c in shown], "ferrotype / ctypes", "cffi / ctypes"]
    head.append("C ext / ctypes")
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))

    def ns(w, c):
        v = med.get((w, c))
        return "" if v is None else (f"{v:.1f}" if v < 1000 else f"{v:,.0f}")

    def rt(w, c):
        v = ratio(data, w, c)
        return "" if v is None else (f"{v:.2f}" if v >= 0.01 else f"{v:.4f}")

    for w in [*CALL_ROWS, *NUMPY_ROWS]:
        if not any((w, c) in med for c in shown):
            continue
        label = names.get(w, w).replace("|", "\\|")
        row = [f"`{w}` {label}", *[ns(w, c) for c in shown]]
        row += [rt(w, "ferrotype"), rt(w, "cffi"), rt(w, "cext")]
        out.append("| " + " | ".join(row) + " |")
    out.append("")
    out.append(
        "The `ctypes` column of the NumPy rows is `numpy.ctypeslib` over stdlib ctypes; "
        "ferrotype's is `ferrotype.ctypeslib`."
    )
    notes = data.get("notes") or []
    unavailable = data.get("unavailable") or {}
    for c, why in unavailable.items():
        out.append(f"\n`{c}` was unavailable in this run: {why}")
    if notes:
        out.append("\nNotes of this run: " + "; ".join(notes))
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("json", help="benches/bench.py --json output")
    ap.add_argument("--out", required=True, help="directory for the charts and the table")
    args = ap.parse_args()
    data = load(args.json)
    os.makedirs(args.out, exist_ok=True)
    plt.rcParams["svg.hashsalt"] = "ferrotype-bench"
    plt.rcParams["svg.fonttype"] = "none"
    plt.rcParams["font.family"] = "DejaVu Sans"

    names = titles(data)
    values = {(w, key): ratio(data, w, key) for w in CALL_ROWS + NUMPY_ROWS for key, *_ in SERIES}
    bar_chart(
        CALL_ROWS,
        SERIES,
        values,
        names,
        "Calls and objects: time relative to stdlib ctypes (lower is faster)",
        subtitle(data),
        "time / stdlib ctypes time (log scale)",
        os.path.join(args.out, "calls.svg"),
    )
    bar_chart(
        NUMPY_ROWS,
        SERIES[:2],
        values,
        names,
        "NumPy bridge: ferrotype.ctypeslib relative to numpy.ctypeslib (lower is faster)",
        subtitle(data),
        "time / numpy.ctypeslib time with stdlib ctypes (log scale)",
        os.path.join(args.out, "numpy.svg"),
        ref="numpy.ctypeslib",
    )
    with open(os.path.join(args.out, "bench-table.md"), "w") as fh:
        fh.write(table(data))
    dest = os.path.join(args.out, "bench.json")
    if os.path.abspath(dest) != os.path.abspath(args.json):
        shutil.copyfile(args.json, dest)
    print("wrote", ", ".join(os.path.join(args.out, f) for f in ("calls.svg", "numpy.svg")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
