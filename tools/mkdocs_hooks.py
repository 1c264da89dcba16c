"""mkdocs hooks of the documentation site (mkdocs.yml `hooks:`).

The performance page shows the charts and table of the latest `make bench` run when there
is one (build/bench/, written by benches/bench.py and tools/bench_charts.py), and the
committed set in docs/performance/ otherwise, so the site builds without running the
benchmark. The page's Markdown holds the marker ``<!-- bench-table -->`` where the table
goes.
"""

from __future__ import annotations

import logging
import os

from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.ferrotype")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LATEST = os.path.join(ROOT, "build", "bench")
COMMITTED = os.path.join(ROOT, "docs", "performance")
ASSETS = ("calls.svg", "numpy.svg", "bench.json")
TABLE = "bench-table.md"
MARKER = "<!-- bench-table -->"


def bench_dir() -> str:
    """build/bench if the latest `make bench` left a complete set there, else the committed."""
    if all(os.path.isfile(os.path.join(LATEST, f)) for f in (*ASSETS, TABLE)):
        return LATEST
    return COMMITTED


def on_files(files, config):
    source = bench_dir()
    if source == COMMITTED:
        return files
    log.info("performance page: charts of the latest `make bench` run (%s)", source)
    for name in ASSETS:
        uri = f"performance/{name}"
        old = files.get_file_from_path(uri)
        if old is not None:
            files.remove(old)
        files.append(File.generated(config, uri, abs_src_path=os.path.join(source, name)))
    return files


def on_page_markdown(markdown, page, config, files):
    if MARKER not in markdown:
        return markdown
    with open(os.path.join(bench_dir(), TABLE)) as fh:
        return markdown.replace(MARKER, fh.read())
