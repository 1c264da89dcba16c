"""Running inputs in forked children, and finding the one that killed a child.

The parent imports the implementation once (the prelude) and forks a child per batch. A
child runs its inputs one after another and tells the parent over a pipe: ``S i`` before
input ``i``, ``F i kind detail`` for a finding that did not kill it (``PanicException``,
``SystemError``, a Rust panic message on stderr, an input that outran its time limit), and
``D`` when the batch is done. The child limits its address space (``RLIMIT_AS``) so that
a huge allocation fails instead of swapping, and arms ``setitimer`` per input so that a
Python-level loop ends as a hang; the parent kills a child that sends nothing for longer
(a loop in native code never returns to the interpreter).

When a child dies (a signal, an exit without ``D``, or a kill on time-out), the input it
had started is a suspect: the rest of the batch goes to a new child, and after the run each
suspect is run alone. If alone it does not die, the inputs before it in the same child are
tried one at a time in front of it, then all together, so a finding is always reported with
the shortest line that reproduces it.
"""

from __future__ import annotations

import faulthandler
import gc
import json
import os
import resource
import select
import signal
import sys
import tempfile
import time
import warnings
from collections import deque
from dataclasses import dataclass, field

PRELUDES = {
    "ferrotype": (
        "import itertools, math, pickle, sys, numpy as np; import ferrotype as C; "
        "from ferrotype import *; from ferrotype import _ctypes, util, wintypes, ctypeslib"
    ),
    "ctypes": (
        "import itertools, math, pickle, sys, numpy as np; import ctypes as C; "
        "from ctypes import *; import _ctypes; from ctypes import util, wintypes; "
        "from numpy import ctypeslib"
    ),
}

FATAL_KINDS = ("crash", "abort", "signal", "exit", "hang")


def prelude(impl: str, strict: bool) -> str:
    p = PRELUDES[impl]
    return p + "; C.strict(True)" if strict else p


def reproducer(src: str, impl: str, strict: bool) -> str:
    """``src`` with the imports it uses: one line to paste after ``python -c``."""
    mods = [m for m in ("itertools", "math", "pickle", "sys") if f"{m}." in src or f"({m}" in src]
    if "np." in src:
        mods.append("numpy as np")
    parts = [f"import {', '.join(mods)}"] if mods else []
    if impl == "ferrotype":
        parts += ["import ferrotype as C", "from ferrotype import *"]
        subs = [s for s in ("_ctypes", "util", "wintypes", "ctypeslib") if f"{s}." in src]
        if subs:
            parts.append(f"from ferrotype import {', '.join(subs)}")
    else:
        parts += ["import ctypes as C", "from ctypes import *"]
        if "_ctypes." in src:
            parts.append("import _ctypes")
        subs = [s for s in ("util", "wintypes") if f"{s}." in src]
        if subs:
            parts.append(f"from ctypes import {', '.join(subs)}")
        if "ctypeslib." in src:
            parts.append("from numpy import ctypeslib")
    if strict:
        parts.append("C.strict(True)")
    return "; ".join([*parts, src])


# ---- the child -----------------------------------------------------------------------------------


class _Hang(BaseException):
    """Raised in the child by the per-input timer."""


def _classify(exc: BaseException) -> str | None:
    seen = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        name = type(e).__name__
        if name == "PanicException":
            return "panic"
        if isinstance(e, SystemError) and "is already initialized" not in str(e):
            # (ctypes 3.13+ raises that one on purpose for a second metaclass __init__)
            return "SystemError"
        if isinstance(e, _Hang):
            return "hang"
        text = str(e) if not isinstance(e, RecursionError) else ""
        if "PanicException" in text:
            return "panic"
        e = e.__cause__ or e.__context__
    return None


def _describe(exc: BaseException) -> str:
    try:
        msg = str(exc)
    except BaseException:  # noqa: BLE001 - str() of an odd exception may fail
        msg = "?"
    return f"{type(exc).__name__}: {msg}"[:300]


SLOW = 2.0  # seconds: an input slower than this is listed (not a failure)


def _child(items, wfd, ns0, timeout, mem_bytes, err_path) -> None:
    faulthandler.disable()  # pytest's would print each death on the terminal
    try:
        resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))
    except (ValueError, OSError):
        pass
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    err = os.open(err_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(err, 2)
    out = os.fdopen(wfd, "w", buffering=1)
    unraisable: list[BaseException] = []
    sys.unraisablehook = lambda u: unraisable.append(u.exc_value)

    def on_alarm(signum, frame):
        raise _Hang(f"no result after {timeout} s")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    err_seen = 0
    for idx, src in items:
        out.write(f"S {idx}\n")
        found: list[tuple[str, str]] = []
        ns = None
        t0 = time.monotonic()
        try:
            try:
                signal.setitimer(signal.ITIMER_REAL, timeout)
                ns = dict(ns0)
                exec(compile(src, f"<fuzz {idx}>", "exec"), ns)  # noqa: S102
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except BaseException as e:  # noqa: BLE001 - every outcome is recorded
            kind = _classify(e)
            if kind:
                found.append((kind, _describe(e)))
        try:
            ns = None
            gc.collect()
            signal.setitimer(signal.ITIMER_REAL, 0)
        except BaseException as e:  # noqa: BLE001
            signal.setitimer(signal.ITIMER_REAL, 0)
            kind = _classify(e)
            if kind:
                found.append((kind, "at collection: " + _describe(e)))
        took = time.monotonic() - t0
        if took > SLOW and not any(k == "hang" for k, _ in found):
            found.append(("slow", f"{took:.1f} s: " + ("; ".join(d for _, d in found) or "done")))
        for u in unraisable:
            kind = _classify(u) if u is not None else None
            if kind:
                found.append((kind, "unraisable: " + _describe(u)))
        unraisable.clear()
        size = os.fstat(2).st_size
        if size > err_seen:
            with open(err_path, "rb") as f:
                f.seek(err_seen)
                tail = f.read(size - err_seen)
            err_seen = size
            if b"panicked at" in tail:
                line = tail[tail.index(b"panicked at") :].split(b"\n")[:2]
                found.append(("panic", "stderr: " + b" ".join(line).decode("utf-8", "replace")))
        for kind, detail in found:
            out.write(f"F {idx} {kind} {json.dumps(detail)}\n")
    out.write("D\n")
    out.flush()


# ---- the parent -------------------------------------------------------------------------------


@dataclass
class Outcome:
    """How one child ended."""

    findings: list[tuple[int, str, str]] = field(default_factory=list)  # (index, kind, detail)
    started: list[int] = field(default_factory=list)
    death: tuple[str, str] | None = None  # (kind, detail) when the batch did not finish
    stderr_tail: str = ""


def _death_kind(status: int) -> tuple[str, str]:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name
        if sig in (signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE):
            return "crash", name
        if sig == signal.SIGABRT:
            return "abort", name
        return "signal", name
    return "exit", f"exit status {os.WEXITSTATUS(status)}"


class _Running:
    def __init__(self, items, ns0, timeout, mem_bytes, tmpdir):
        self.items = items
        self.err_path = os.path.join(tmpdir, f"err.{len(items)}.{time.monotonic_ns()}")
        r, w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        with warnings.catch_warnings():
            # 3.12+ warns when native threads exist (NumPy's BLAS pool): the child runs no
            # code that could wait on them
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                _child(items, w, ns0, timeout, mem_bytes, self.err_path)
            except BaseException:  # noqa: BLE001 - the child's own machinery failed
                import traceback

                traceback.print_exc()
                os._exit(70)
            finally:
                os._exit(0)
        os.close(w)
        self.pid, self.rfd = pid, r
        self.buf = b""
        self.out = Outcome()
        self.done = False
        self.last = time.monotonic()
        self.killed = False

    def feed(self, data: bytes) -> None:
        self.buf += data
        *lines, self.buf = self.buf.split(b"\n")
        for raw in lines:
            line = raw.decode()
            if line.startswith("S "):
                self.out.started.append(int(line[2:]))
                self.last = time.monotonic()
            elif line.startswith("F "):
                _, idx, kind, detail = line.split(" ", 3)
                self.out.findings.append((int(idx), kind, json.loads(detail)))
            elif line == "D":
                self.done = True

    def finish(self) -> Outcome:
        os.close(self.rfd)
        _, status = os.waitpid(self.pid, 0)
        if not self.done:
            if self.killed:
                self.out.death = ("hang", "killed after no progress")
            else:
                self.out.death = _death_kind(status)
            try:
                with open(self.err_path, "rb") as f:
                    f.seek(max(0, os.fstat(f.fileno()).st_size - 20000))
                    tail = f.read().decode("utf-8", "replace").strip().splitlines()
                keys = ("memory allocation", "panicked", "Fatal Python error", "fatal runtime")
                said = [ln for ln in tail if any(k in ln for k in keys)]
                self.out.stderr_tail = (said[-1] if said else tail[-1] if tail else "")[:300]
            except OSError:
                pass
        try:
            os.unlink(self.err_path)
        except OSError:
            pass
        return self.out


class Pool:
    """Runs batches of ``(index, source)`` in up to ``jobs`` children at a time."""

    def __init__(self, ns0, *, timeout: float, mem_bytes: int, jobs: int):
        self.ns0, self.timeout, self.mem, self.jobs = ns0, timeout, mem_bytes, jobs
        self.tmp = tempfile.mkdtemp(prefix="ferrotype-fuzz-")

    def run(self, batches, on_outcome) -> None:
        """Run every batch; after a death, the rest of its batch goes to a new child.

        ``on_outcome(items, outcome)`` sees every child's outcome (``items``: what it got).
        """
        work = deque(batches)
        running: list[_Running] = []
        hard = self.timeout * 2 + 5
        while work or running:
            while work and len(running) < self.jobs:
                running.append(_Running(work.popleft(), self.ns0, self.timeout, self.mem, self.tmp))
            ready, _, _ = select.select([c.rfd for c in running], [], [], 0.5)
            now = time.monotonic()
            for c in list(running):
                if c.rfd in ready:
                    data = os.read(c.rfd, 65536)
                    if data:
                        c.feed(data)
                        continue
                elif now - c.last > hard and not c.killed:
                    c.killed = True
                    os.kill(c.pid, signal.SIGKILL)
                    continue
                else:
                    continue
                running.remove(c)
                out = c.finish()
                on_outcome(c.items, out)
                if out.death is not None:
                    last = out.started[-1] if out.started else None
                    rest = [it for it in c.items if last is None or it[0] > last]
                    if last is None:
                        rest = c.items[1:]  # died before saying anything: skip the first
                    if rest:
                        work.appendleft(rest)

    def run_once(self, items) -> Outcome:
        got: list[Outcome] = []
        jobs, self.jobs = self.jobs, 1
        try:
            work = [list(items)]
            c = _Running(work[0], self.ns0, self.timeout, self.mem, self.tmp)
            hard = self.timeout * 2 + 5
            while True:
                ready, _, _ = select.select([c.rfd], [], [], 0.5)
                if ready:
                    data = os.read(c.rfd, 65536)
                    if data:
                        c.feed(data)
                        continue
                    break
                if time.monotonic() - c.last > hard and not c.killed:
                    c.killed = True
                    os.kill(c.pid, signal.SIGKILL)
            got.append(c.finish())
        finally:
            self.jobs = jobs
        return got[0]
