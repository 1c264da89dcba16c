"""Generates the pictures and text of docs/layouts.md from ferrotype itself.

For each example structure below it writes, into docs/images/:

- ``layout-<name>.png``: the byte map (``Layout._repr_html_``) rendered by headless
  Chromium (``chromium --headless --screenshot``), trimmed to the drawing;
- ``layout-<name>.txt``: ``str(ferrotype.layout(T))``, the pahole-style table, which the
  page includes as a snippet.

Run it after changing the rendering: ``make layout-pictures``. Needs a built ferrotype
and Chromium (Debian's ``chromium``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import ferrotype as ct

OUT = Path(__file__).resolve().parent.parent / "docs" / "images"


class Header(ct.Structure):
    _fields_ = [("len", ct.c_uint16), ("kind", ct.c_uint8)]


class Packet(ct.Structure):
    """A structure with holes, bit-fields, a nested structure and an array."""

    _fields_ = [
        ("version", ct.c_uint8, 4),
        ("ihl", ct.c_uint8, 4),
        ("flags", ct.c_uint16, 3),
        ("frag", ct.c_uint16, 13),
        ("ttl", ct.c_char),
        ("stamp", ct.c_double),
        ("hdr", Header),
        ("name", ct.c_char * 5),
        ("next", ct.POINTER(ct.c_int)),
        ("seq", ct.c_uint64, 40),
    ]


class Value(ct.Union):
    _fields_ = [("i", ct.c_int32), ("d", ct.c_double), ("hdr", Header)]


class Wire(ct.BigEndianStructure):
    _layout_ = "ms"
    _pack_ = 1
    _fields_ = [
        ("magic", ct.c_uint32),
        ("kind", ct.c_uint16, 3),
        ("urgent", ct.c_uint16, 1),
        ("length", ct.c_uint16, 12),
        ("crc", ct.c_uint16),
    ]


EXAMPLES = {"packet": Packet, "union": Value, "bigendian": Wire}


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("no chromium on PATH (Debian: apt-get install chromium)")


def _run_chromium(page: Path, tmp: str, *args: str) -> str:
    cmd = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={tmp}/profile",
        *args,
        page.as_uri(),
    ]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120).stdout


def screenshot(html: str, png: Path, width: int = 1000) -> None:
    """Renders ``html`` and saves a PNG cut to the drawing: a first run measures it (a
    script writes its size into the page, which ``--dump-dom`` prints), a second one
    takes the screenshot at exactly that size."""
    measure = (
        "<script>const r=document.querySelector('.ftl').getBoundingClientRect();"
        "document.body.setAttribute('data-size',"
        "Math.ceil(r.right+8)+'x'+Math.ceil(r.bottom+8));</script>"
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'></head>"
        f"<body style='margin:8px;background:#fff'>{html}{{script}}</body></html>"
    )
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "map.html"
        src.write_text(page.replace("{script}", measure))
        dom = _run_chromium(src, tmp, f"--window-size={width},2000", "--dump-dom")
        found = re.search(r'data-size="(\d+)x(\d+)"', dom)
        if not found:
            sys.exit(f"could not measure the drawing:\n{dom[:2000]}")
        w, h = found.groups()
        src.write_text(page.replace("{script}", ""))
        _run_chromium(src, tmp, f"--window-size={w},{h}", f"--screenshot={png}")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    only = set(sys.argv[1:])
    for name, cls in EXAMPLES.items():
        if only and name not in only:
            continue
        lay = ct.layout(cls)
        (OUT / f"layout-{name}.txt").write_text(str(lay))
        screenshot(lay._repr_html_(), OUT / f"layout-{name}.png")
        print(f"wrote {OUT / f'layout-{name}.png'} and .txt", file=sys.stderr)


if __name__ == "__main__":
    os.environ.setdefault("FERROTYPE_STRICT", "0")
    main()
