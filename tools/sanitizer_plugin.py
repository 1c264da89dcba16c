"""The pytest side of ``tools/sanitize.sh``, and its summary of the sanitizer logs.

As a pytest plugin (``-p sanitizer_plugin``, with ``tools`` on ``PYTHONPATH``), it notes which
test was running when each AddressSanitizer or valgrind report was written: both tools write to
log files (``$FERROTYPE_SANITIZER_LOGS``), and the plugin records, around every test, how far
each log file has grown, in ``index.jsonl``. It also relaxes Hypothesis' deadline, since
instrumented code runs many times slower.

As a script, ``python3 tools/sanitizer_plugin.py summary asan|valgrind LOGDIR`` reads the logs and
the index and prints each distinct finding once: the error, the tests during which it was
reported, and the top frames in ferrotype. It exits 1 when there is a finding in the extension
(for ASan, any report: the interpreter is not instrumented, so every report comes from the
extension's code or from an intercepted call on memory it handed out).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

INDEX = "index.jsonl"


# ---- the plugin ----------------------------------------------------------------------------------


class _Tracker:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.seen: dict[str, int] = {}

    def _sizes(self) -> dict[str, int]:
        sizes = {}
        with os.scandir(self.logs) as entries:
            for entry in entries:
                if entry.name != INDEX and entry.name != "summary.txt" and entry.is_file():
                    sizes[entry.name] = entry.stat().st_size
        return sizes

    def attribute(self, label: str) -> None:
        """Charge every byte the logs grew by since the last call to ``label``."""
        sizes = self._sizes()
        grown = [
            {"test": label, "file": name, "start": self.seen.get(name, 0), "end": size}
            for name, size in sizes.items()
            if size > self.seen.get(name, 0)
        ]
        self.seen = sizes
        if grown:
            with open(self.logs / INDEX, "a") as index:
                for entry in grown:
                    index.write(json.dumps(entry) + "\n")


_tracker: _Tracker | None = None


def pytest_configure(config) -> None:
    global _tracker
    logs = os.environ.get("FERROTYPE_SANITIZER_LOGS")
    if logs:
        _tracker = _Tracker(Path(logs))
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:
        return
    settings.register_profile(
        "sanitizer",
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    settings.load_profile("sanitizer")


# Tests that cannot run under ASan, by node id without parameters: they run a child under
# an address-space limit (RLIMIT_AS), and ASan's terabytes of reserved shadow memory leave
# such a child unable to map anything at all. ASan's own allocation limit covers the same
# ground in the fuzzer run.
ASAN_INCOMPATIBLE = {
    "tests/test_reliability.py::test_memory_error_under_a_limit": "RLIMIT_AS",
    "tests/test_reliability.py::test_string_at_beyond_memory": "RLIMIT_AS",
    # The fixed-seed fuzz test runs its children under a 4 GiB RLIMIT_AS; under ASan the
    # fuzzer runs on its own after the suite, without that limit (see tools/sanitize.sh).
    "tests/test_fuzz_crash.py::test_fuzz_fixed_seed": "RLIMIT_AS",
}


def pytest_collection_modifyitems(config, items) -> None:
    if os.environ.get("FERROTYPE_SANITIZER") != "asan":
        return
    import pytest

    for item in items:
        why = ASAN_INCOMPATIBLE.get(item.nodeid.split("[", 1)[0])
        if why:
            item.add_marker(pytest.mark.skip(reason=f"needs {why}, which ASan's shadow rules out"))


def pytest_runtest_logstart(nodeid, location) -> None:
    if _tracker is not None:
        _tracker.attribute("<outside a test: collection or between tests>")


def pytest_runtest_logfinish(nodeid, location) -> None:
    if _tracker is not None:
        _tracker.attribute(nodeid)


def pytest_sessionfinish(session, exitstatus) -> None:
    if _tracker is not None:
        _tracker.attribute("<end of the session>")


# ---- the summary ---------------------------------------------------------------------------------

# A frame in the extension: ASan names the source file (crates/ferrotype-py/...), valgrind
# the Rust path (_native::...) or, without line tables, the shared object (_native.cpython...).
_OURS = re.compile(r"ferrotype|_native(\.|::)|crates/")
# valgrind: a record counts when one of its top frames is in the extension (the error is in
# its code or in a routine it called), not when the extension is merely further down the
# stack (a callback running Python code, say).
_VG_TOP = 4
# A frame whose source file is ferrotype's (both tools print full paths: valgrind is run with
# --fullpath-after=), or, without line tables, whose object is the extension.
_OWN_SOURCE = re.compile(r"/crates/ferrotype|^crates/ferrotype| crates/ferrotype|_native\.cpython")
# "==PID==ERROR: ..." or, with log_exe_name=1, "==python==PID==ERROR: ..."
_ASAN_START = re.compile(r"^==(?:[^=\s]+==)?\d+==ERROR: AddressSanitizer: (.*)$")
_ASAN_FRAME = re.compile(r"^\s+#\d+ 0x[0-9a-f]+ in (.*)$")
_VG_LINE = re.compile(r"^==\d+== ?(.*)$")
_VG_FRAME = re.compile(r"^\s*(?:at|by) 0x[0-9A-F]+: (.*)$")
_VG_NOT_ERRORS = (
    "Memcheck,",
    "Copyright",
    "Using Valgrind",
    "Command:",
    "Parent PID",
    "HEAP SUMMARY",
    "in use at exit",
    "total heap usage",
    "LEAK SUMMARY",
    "For lists of detected",
    "For a detailed leak",
    "ERROR SUMMARY",
    "For counts of detected",
    "Use --",
    "Rerun with",
    "Warning:",
    "WARNING:",
    "Process terminating",
    "If you believe",
    "More than",
)


class Report:
    def __init__(self, kind: str, frames: list[str], detail: str, file: str, offset: int):
        self.kind = kind
        self.frames = frames
        self.detail = detail
        self.file = file
        self.offset = offset

    @property
    def ours(self) -> list[str]:
        """The frames in ferrotype's own source (not std or PyO3 code instantiated for it)."""
        return [f for f in self.frames if _OWN_SOURCE.search(f)]

    def key(self) -> tuple[str, tuple[str, ...]]:
        kind = re.sub(r"0x[0-9a-f]+|\d+", "N", self.kind)
        frames = self.ours[:4] or self.frames[:4]
        return kind, tuple(re.sub(r":\d+(:\d+)?\)?$", "", f) for f in frames)


def _asan_reports(name: str, text: str) -> Iterator[Report]:
    lines = text.splitlines(keepends=True)
    offset = 0
    i = 0
    while i < len(lines):
        m = _ASAN_START.match(lines[i])
        if not m:
            offset += len(lines[i].encode())
            i += 1
            continue
        start = offset
        kind = re.sub(r" on (unknown )?address .*$", "", m.group(1).strip())
        frames: list[str] = []
        first_stack_done = False  # only the access's stack, not the allocation's or free's
        detail = ""
        j = i + 1
        while j < len(lines) and not _ASAN_START.match(lines[j]):
            line = lines[j]
            if not detail and re.match(r"^(READ|WRITE) of size", line):
                detail = line.split(" at 0x")[0].strip()
            fm = _ASAN_FRAME.match(line)
            if fm and not first_stack_done:
                frames.append(fm.group(1).strip())
            elif frames:
                first_stack_done = True
            if line.startswith("SUMMARY:"):
                j += 1
                break
            j += 1
        yield Report(kind, frames, detail, name, start)
        for k in range(i, j):
            offset += len(lines[k].encode())
        i = j


def _valgrind_reports(name: str, text: str) -> Iterator[Report]:
    record: list[str] = []
    start = 0
    offset = 0

    def flush() -> Iterator[Report]:
        if record and not record[0].startswith(_VG_NOT_ERRORS):
            frames = [m.group(1) for line in record[1:] if (m := _VG_FRAME.match(line))]
            if frames:
                yield Report(record[0], frames, "", name, start)

    for raw in text.splitlines(keepends=True):
        m = _VG_LINE.match(raw)
        content = m.group(1).rstrip() if m else ""
        if content:
            if not record:
                start = offset
            record.append(content)
        else:
            yield from flush()
            record = []
        offset += len(raw.encode())
    yield from flush()


def _test_of(index: list[dict], file: str, offset: int) -> str:
    if file.startswith("asan-fuzz."):
        return f"<crash fuzzer, child {file.rsplit('.', 1)[-1]}>"
    for entry in index:
        if entry["file"] == file and entry["start"] <= offset < entry["end"]:
            return entry["test"]
    return "<interpreter exit or a child process>"


def summary(mode: str, logs: Path) -> int:
    index = []
    if (logs / INDEX).exists():
        index = [json.loads(line) for line in (logs / INDEX).read_text().splitlines() if line]
    pattern = "asan*.*" if mode == "asan" else "valgrind.*"
    parse = _asan_reports if mode == "asan" else _valgrind_reports
    findings: dict[tuple, list[tuple[Report, str]]] = {}
    outside = 0
    for path in sorted(logs.glob(pattern)):
        text = path.read_text(errors="replace")
        for report in parse(path.name, text):
            if mode == "valgrind" and not any(_OURS.search(f) for f in report.frames[:_VG_TOP]):
                outside += 1
                continue
            test = _test_of(index, path.name, report.offset)
            findings.setdefault(report.key(), []).append((report, test))
    out = []
    total = sum(len(v) for v in findings.values())
    out.append(f"{mode}: {total} report(s) in the extension, {len(findings)} distinct")
    for n, (_key, hits) in enumerate(findings.items(), 1):
        report = hits[0][0]
        tests = sorted({t for _, t in hits})
        out.append("")
        out.append(f"[{n}] {report.kind}  ({len(hits)} report(s), {len(tests)} test(s))")
        if report.detail:
            out.append(f"    {report.detail}")
        for test in tests[:8]:
            out.append(f"    test: {test}")
        if len(tests) > 8:
            out.append(f"    ... and {len(tests) - 8} more tests")
        frames = report.ours or report.frames
        for frame in frames[:6]:
            out.append(f"      {frame}")
        out.append(f"    first in {logs / report.file} at byte {report.offset}")
    if mode == "valgrind":
        out.append("")
        out.append(
            f"valgrind: {outside} other record(s) with no top frame in the extension "
            f"(not counted; see {logs})"
        )
    text = "\n".join(out) + "\n"
    (logs / "summary.txt").write_text(text)
    sys.stdout.write(text)
    return 1 if total else 0


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "summary" or sys.argv[2] not in ("asan", "valgrind"):
        sys.exit("usage: sanitizer_plugin.py summary asan|valgrind LOGDIR")
    sys.exit(summary(sys.argv[2], Path(sys.argv[3])))
