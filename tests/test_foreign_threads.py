"""Callbacks from threads Python did not create (pthreads started by C).

ferrotype keeps the thread state that the first callback on such a thread makes, for the
thread's lifetime, and frees it when the thread exits (`capi/gil.rs`); ctypes makes and frees
one per callback. Results, exceptions (to `sys.unraisablehook`) and the C errno around the
callback behave as in ctypes; Python's per-thread state (`threading.local`) lasts from one
callback to the next on the same thread, as on threads Python created (docs/differences.md).
The fixture is tests/fixtures/foreign_threads.c. More shapes (sums, exceptions, a Python
thread running meanwhile) are in tests/test_callbacks.py.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import threading
import types

import pytest


@pytest.fixture(scope="session")
def threads_path(build_library, fixtures_dir) -> str:
    return str(build_library([fixtures_dir / "foreign_threads.c"], "ftforeignthreads"))


@pytest.fixture
def unraisable():
    """The records `sys.unraisablehook` receives during the test."""
    records = []

    def hook(args):
        records.append(
            types.SimpleNamespace(
                exc_type=args.exc_type, exc_value=args.exc_value, object=args.object
            )
        )

    old = sys.unraisablehook
    sys.unraisablehook = hook
    try:
        yield records
    finally:
        sys.unraisablehook = old


@pytest.fixture
def tlib(ct, threads_path):
    lib = ct.CDLL(threads_path)
    proto = ct.CFUNCTYPE(ct.c_int, ct.c_int)
    lib.fth_sum.argtypes = [proto, ct.c_int, ct.c_int, ct.c_int]
    lib.fth_sum.restype = ct.c_longlong
    lib.fth_gil_between.argtypes = [proto, ct.c_int]
    lib.fth_gil_between.restype = ct.c_longlong
    return lib, proto


@pytest.mark.parametrize("sequential", [0, 1], ids=["together", "one-after-another"])
def test_results(ct, tlib, unraisable, sequential):
    lib, proto = tlib
    cb = proto(lambda i: i % 7 - 3)
    expected = sum(i % 7 - 3 for t in range(8) for i in range(t * 1000, t * 1000 + 300))
    for _ in range(3):  # new threads each time: their states were freed with the last ones
        assert lib.fth_sum(cb, 8, 300, sequential) == expected
    assert unraisable == []


def test_exceptions_go_to_the_unraisable_hook(ct, tlib, unraisable):
    lib, proto = tlib

    def callback(i):
        if i % 1000 == 5:
            raise KeyError(i)
        return 1

    cb = proto(callback)
    total = lib.fth_sum(cb, 4, 10, 0)
    assert sorted(r.exc_value.args[0] for r in unraisable) == [5, 1005, 2005, 3005]
    assert {r.exc_type for r in unraisable} == {KeyError}
    if ct.__name__ == "ferrotype":  # a failed call returns 0 (undefined in ctypes)
        assert total == 4 * 9


def test_errno_around_callbacks(ct, threads_path, unraisable):
    """With use_errno the callback sees the C errno of its thread and sets the errno C sees
    after it (the private errno swapped in and out, per thread)."""
    lib = ct.CDLL(threads_path)
    proto = ct.CFUNCTYPE(ct.c_int, ct.c_int, use_errno=True)
    lib.fth_errno.argtypes = [proto, ct.c_int, ct.c_int]
    lib.fth_errno.restype = ct.c_longlong

    def callback(e):
        v = ct.get_errno()
        ct.set_errno(2 * v)
        return 2 * v

    cb = proto(callback)
    assert lib.fth_errno(cb, 6, 5) == 0
    assert unraisable == []


def test_c_code_taking_the_gil_between_callbacks(ct, tlib, unraisable):
    """A thread that made callbacks takes the GIL itself (PyGILState_Ensure) around the next
    one, then calls back again without it."""
    lib, proto = tlib
    seen = []

    def callback(x):
        seen.append(x)
        return 10 * x

    cb = proto(callback)
    assert lib.fth_gil_between(cb, 4) == 4 * 60
    assert sorted(seen) == [1] * 4 + [2] * 4 + [3] * 4
    assert unraisable == []


def test_thread_local_state_and_its_release(ct, tlib, unraisable, is_ferrotype):
    """ferrotype keeps a foreign thread's Python state between callbacks and frees it when the
    thread exits (so `threading.local` values are released then); ctypes frees it after every
    callback."""
    lib, proto = tlib
    local = threading.local()
    released = []
    hits = []

    class Token:
        def __del__(self):
            released.append(1)

    def callback(i):
        hits.append(hasattr(local, "token"))
        if not hasattr(local, "token"):
            local.token = Token()
        return 0

    cb = proto(callback)
    nthreads, calls = 5, 4
    assert lib.fth_sum(cb, nthreads, calls, 0) == 0
    gc.collect()
    if is_ferrotype:  # deliberate difference: docs/differences.md
        assert sum(hits) == nthreads * (calls - 1)
        assert len(released) == nthreads
    else:
        assert sum(hits) == 0
        assert len(released) == nthreads * calls
    assert unraisable == []


def test_many_short_lived_threads(ct, tlib, unraisable):
    """Thread states are freed with their threads: many threads, one after the other, leave
    the interpreter with no more threads than before."""
    lib, proto = tlib
    cb = proto(lambda i: 1)
    before = threading.active_count()
    for _ in range(5):
        assert lib.fth_sum(cb, 40, 3, 1) == 120
    gc.collect()
    assert threading.active_count() <= before + 1  # (a _DummyThread may linger)
    assert unraisable == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_after_foreign_callbacks(ct, tlib, unraisable):
    lib, proto = tlib
    cb = proto(lambda i: 2)
    assert lib.fth_sum(cb, 3, 10, 0) == 60
    pid = os.fork()
    if pid == 0:  # the child: foreign threads work there too
        try:
            ok = lib.fth_sum(cb, 3, 10, 0) == 60 and lib.fth_sum(cb, 2, 5, 1) == 20
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert lib.fth_sum(cb, 3, 10, 0) == 60


@pytest.mark.parametrize("module", ["ctypes", "ferrotype"])
@pytest.mark.parametrize("linger", [0, 3])
def test_threads_alive_or_ending_at_exit(threads_path, module, linger):
    """A foreign thread that made callbacks and is still running (or just ending) when the
    interpreter exits: the process ends cleanly, without hanging."""
    code = textwrap.dedent(
        f"""
        import sys, time
        import {module} as ct
        lib = ct.CDLL({threads_path!r})
        proto = ct.CFUNCTYPE(ct.c_int, ct.c_int)
        lib.fth_detached.argtypes = [proto, ct.c_int, ct.c_int]
        seen = []
        cb = proto(lambda i: seen.append(i) or 0)
        assert lib.fth_detached(cb, 50, {linger}) == 0
        deadline = time.monotonic() + 30
        while len(seen) < 50 and time.monotonic() < deadline:
            time.sleep(0.01)
        print(len(seen))
        """
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["50"]
