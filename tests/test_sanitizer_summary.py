# ruff: noqa: E501 - the logs are quoted as the tools write them
"""The summary of `make test-asan` / `make test-valgrind` (tools/sanitizer_plugin.py): which
reports count, and to which test each is charged. The logs here are written by hand in the
tools' formats, so this runs in the ordinary suite without either tool."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parent.parent / "tools" / "sanitizer_plugin.py"


@pytest.fixture(scope="module")
def plugin():
    spec = importlib.util.spec_from_file_location("sanitizer_plugin", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ASAN_REPORT = """\
=================================================================
==python==4242==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x60e0000627d8 at pc 0x1 bp 0x2 sp 0x3
READ of size 4 at 0x60e0000627d8 thread T0
    #0 0x7f0000000001 in copy_nonoverlapping<u8> /rustc/abc/library/core/src/ptr/mod.rs:551
    #1 0x7f0000000002 in load crates/ferrotype-py/src/codec/scalar.rs:296
    #2 0x7f0000000003 in item crates/ferrotype-py/src/types/pointer.rs:491
    #3 0x7f0000000004 in _PyEval_EvalFrameDefault Python/ceval.c:2131

0x60e0000627d8 is located 0 bytes to the right of 152-byte region [0x60e000062740,0x60e0000627d8)
allocated by thread T0 here:
    #0 0x7f0000000005 in __interceptor_malloc asan_malloc_linux.cpp:69
    #1 0x7f0000000006 in new_buffer crates/ferrotype-py/src/model/cdata.rs:10

SUMMARY: AddressSanitizer: heap-buffer-overflow mod.rs:551 in copy_nonoverlapping<u8>
Shadow bytes around the buggy address:
"""

VALGRIND_LOG = """\
==77== Memcheck, a memory error detector
==77== Command: python -m pytest
==77==
==77== Conditional jump or move depends on uninitialised value(s)
==77==    at 0x49DC6F7: PyLong_FromLong (/src/Objects/longobject.c:295)
==77==    by 0xA2A6A89: pyo3::conversions::std::num::into_pyobject (/root/.cargo/registry/num.rs:152)
==77==    by 0xA265E3F: _native::codec::scalar::load (/w/crates/ferrotype-py/src/codec/scalar.rs:296)
==77==    by 0xA25ED92: _native::types::funcptr::call::finish_call (/w/crates/ferrotype-py/src/types/funcptr/call.rs:230)
==77==
==77== Use of uninitialised value of size 8
==77==    at 0x4952682: Py_INCREF (/src/Include/object.h:502)
==77==    by 0x4952682: _PyEval_EvalFrameDefault (/src/Python/ceval.c:1801)
==77==    by 0x4952683: _PyEval_Vector (/src/Python/ceval.c:6434)
==77==    by 0x4952684: PyObject_Call (/src/Objects/call.c:1)
==77==    by 0x4952685: _native::capi::slots::vectorcall (/w/crates/ferrotype-py/src/capi/slots.rs:371)
==77==
==77== ERROR SUMMARY: 2 errors from 2 contexts (suppressed: 0 from 0)
"""


def _write(logs: Path, name: str, text: str, index: list[dict]) -> None:
    (logs / name).write_text(text)
    with open(logs / "index.jsonl", "a") as f:
        for entry in index:
            f.write(json.dumps(entry) + "\n")


def test_asan_report_charged_to_its_test(plugin, tmp_path, capsys):
    head = "noise before the report\n"
    text = head + ASAN_REPORT + ASAN_REPORT
    _write(
        tmp_path,
        "asan.python.4242",
        text,
        [
            {"test": "t.py::before", "file": "asan.python.4242", "start": 0, "end": len(head)},
            {"test": "t.py::bad", "file": "asan.python.4242", "start": len(head), "end": len(text)},
        ],
    )
    assert plugin.summary("asan", tmp_path) == 1
    out = capsys.readouterr().out
    assert out.startswith("asan: 2 report(s) in the extension, 1 distinct")
    assert "heap-buffer-overflow  (2 report(s), 1 test(s))" in out
    assert "test: t.py::bad" in out and "t.py::before" not in out
    assert "READ of size 4" in out
    # the access's stack in ferrotype, not std's frames nor the allocation's stack
    assert "load crates/ferrotype-py/src/codec/scalar.rs:296" in out
    assert "new_buffer" not in out and "copy_nonoverlapping" not in out


def test_asan_fuzzer_reports_are_charged_to_the_fuzzer(plugin, tmp_path, capsys):
    _write(tmp_path, "asan-fuzz.python.99", ASAN_REPORT, [])
    assert plugin.summary("asan", tmp_path) == 1
    assert "test: <crash fuzzer, child 99>" in capsys.readouterr().out


def test_asan_clean_run(plugin, tmp_path, capsys):
    assert plugin.summary("asan", tmp_path) == 0
    assert capsys.readouterr().out.startswith("asan: 0 report(s)")


def test_valgrind_counts_records_with_a_top_frame_in_the_extension(plugin, tmp_path, capsys):
    _write(
        tmp_path,
        "valgrind.77",
        VALGRIND_LOG,
        [{"test": "t.py::call", "file": "valgrind.77", "start": 0, "end": len(VALGRIND_LOG)}],
    )
    assert plugin.summary("valgrind", tmp_path) == 1
    out = capsys.readouterr().out
    assert out.startswith("valgrind: 1 report(s) in the extension, 1 distinct")
    assert "Conditional jump or move depends on uninitialised value(s)" in out
    assert "_native::codec::scalar::load" in out
    # the interpreter's record with the extension only far down its stack is not counted
    assert "Use of uninitialised value of size 8" not in out
    assert "1 other record(s)" in out
