"""CPython's own ctypes test suite, run with ferrotype as ``ctypes``
(``cpython_suite_runner.py``). Every test must pass except the deliberate differences
listed below, each with its reason; a new failure, or a crash of the interpreter, fails
this test. Skipped when the interpreter does not ship ``ctypes/test``."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

RUNNER = Path(__file__).with_name("cpython_suite_runner.py")

NO_TRUNCATION = "ferrotype raises OverflowError where ctypes silently truncates integers"
OBJECTS = "`_objects` holds what must be kept alive; ctypes also records empty dicts"

# Test ids (module.Class.method) that fail by design, with the reason.
DIFFERENCES = {
    "test_bitfields.BitFieldTest.test_ulonglong": NO_TRUNCATION,
    "test_bitfields.C_Test.test_ints": NO_TRUNCATION,
    "test_bitfields.C_Test.test_shorts": NO_TRUNCATION,
    "test_pointers.PointersTestCase.test_c_void_p": NO_TRUNCATION,
    "test_internals.ObjectsTestCase.test_embedded_structs": OBJECTS,
    "test_keeprefs.ArrayTestCase.test_cint_array": OBJECTS,
    "test_keeprefs.StructureTestCase.test_struct_struct": OBJECTS,
    "test_pep3118.Test.test_native_types": (
        "packed structures export their real PEP 3118 format, not ctypes' 'B'"
    ),
    "test_struct_fields.StructFieldsTestCase.test_gh99275": (
        "`_fields_` assigned in `__init_subclass__` works instead of raising TypeError"
    ),
    "test_wintypes.WinTypesTest.test_variant_bool": (
        "wintypes.VARIANT_BOOL needs the type code 'v', not implemented yet (NotImplementedError)"
    ),
}

# Modules of other platforms' helpers, which ferrotype does not provide (macholib: Apple's
# dyld search rules, pure path logic that uses no ctypes type).
NOT_PROVIDED = {"test_macholib"}


@pytest.fixture(scope="module")
def report(ferrotype):
    proc = subprocess.run(
        [sys.executable, str(RUNNER)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    crashed = f"the suite crashed (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    assert proc.returncode == 0, crashed
    rep = json.loads(proc.stdout.strip().splitlines()[-1])
    if not rep["available"]:
        pytest.skip("this interpreter does not ship ctypes/test")
    return rep


def test_suite_runs(report):
    assert report["run"] > 400
    assert set(report["missing"]) <= NOT_PROVIDED, report["missing"]


def test_only_deliberate_differences_fail(report):
    unexpected = {k: v for k, v in report["problems"].items() if k not in DIFFERENCES}
    assert not unexpected, "\n".join(f"{k}: {v}" for k, v in unexpected.items())
