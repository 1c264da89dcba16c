"""CPython's own ctypes test suite, run with ferrotype as ``ctypes`` (``cpython_suite_runner.py``),
on whichever interpreter runs pytest: 3.11 ships it as ``ctypes/test``, 3.12+ as
``test/test_ctypes``. The suite is run twice in subprocesses, with the stdlib and with ferrotype.
Every test that passes with the stdlib must pass with ferrotype, except the deliberate
differences listed below for that version, each with its reason. A new failure, a listed test
that now passes, or a crash of the interpreter fails this test.

With ``FERROTYPE_SUITE_REPORT=path`` set, the counts are written there as JSON (``make
test-matrix`` prints them).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

RUNNER = Path(__file__).with_name("cpython_suite_runner.py")
PY = sys.version_info[:2]


# Test id (module.Class.method) -> (reason, (first, last) versions on which it fails by design).
DIFFERENCES = {
    "test_pep3118.Test.test_native_types": (
        "packed structures export their real PEP 3118 format, not ctypes' 'B'",
        ((3, 11), (3, 11)),
    ),
}

# Modules of other platforms' helpers, which ferrotype does not provide (the COM foreign
# function test of Windows).
NOT_PROVIDED = {"test_win32_com_foreign_func"}


def differences(ours: dict) -> dict[str, str]:
    """The deliberate differences of the running interpreter, with the tests of the modules
    ferrotype does not provide."""
    listed = {k: why for k, (why, (lo, hi)) in DIFFERENCES.items() if lo <= PY <= hi}
    for module in ours["missing"].keys() & NOT_PROVIDED:
        listed[module] = "a module of another platform's helpers, which ferrotype does not provide"
    return listed


def is_listed(test: str, listed: dict[str, str]) -> bool:
    return test in listed or test.split(".")[0] in listed


def run(impl: str) -> dict:
    proc = subprocess.run(
        [sys.executable, str(RUNNER), "--impl", impl],
        capture_output=True,
        text=True,
        timeout=900,
    )
    crashed = f"the suite crashed under {impl} (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    assert proc.returncode == 0, crashed
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def reports(ferrotype):
    stdlib = run("ctypes")
    if not stdlib["available"]:
        pytest.skip("this interpreter does not ship its ctypes test suite")
    ours = run("ferrotype")
    listed = differences(ours)
    passed_std = set(stdlib["passed"])
    failing = passed_std - set(ours["passed"])
    deliberate = {t for t in failing if is_listed(t, listed)}
    summary = {
        "python": ".".join(map(str, PY)),
        "run": ours["run"],
        "stdlib_passed": len(passed_std),
        "ferrotype_passed": len(passed_std) - len(failing),
        "deliberate": len(deliberate),
        "unexpected": len(failing - deliberate),
    }
    path = os.environ.get("FERROTYPE_SUITE_REPORT")
    if path:
        Path(path).write_text(json.dumps(summary))
    return stdlib, ours


def test_suite_runs(reports):
    stdlib, ours = reports
    assert ours["run"] > 400
    assert set(ours["missing"]) <= NOT_PROVIDED | set(stdlib["missing"]), ours["missing"]


def test_only_deliberate_differences_fail(reports):
    stdlib, ours = reports
    listed = differences(ours)
    # Tests that do not pass with the stdlib here (its environment) are not ferrotype's to pass.
    expected = set(stdlib["passed"])
    failing = expected - set(ours["passed"])
    why = {**{t: "did not run (its module failed to import)" for t in failing}, **ours["problems"]}
    unexpected = sorted(t for t in failing if not is_listed(t, listed))
    assert not unexpected, "\n".join(f"{t}: {why[t]}" for t in unexpected)


def test_listed_differences_still_differ(reports):
    _, ours = reports
    stale = sorted(set(differences(ours)) & set(ours["passed"]))
    assert not stale, f"listed as deliberate differences, but they pass: {stale}"
