"""A crash fuzzer for ferrotype's whole safe API.

    make fuzz N=100000 [SEED=1] [JOBS=2] [STRICT=1] [IMPL=ctypes]
    PYTHONPATH=tests python -m fuzz --n 2000 --seed 7 --impl ferrotype
    PYTHONPATH=tests python -m fuzz --seed 7 --show 123      # print input 123 of seed 7

``gen.py`` makes, from ``(seed, index)`` alone, one line of Python that feeds bad or odd
input to one part of the API: every public function and class of ``ferrotype``,
``ferrotype._ctypes``, ``ferrotype.wintypes``, ``ferrotype.util.find_library`` and
``ferrotype.ctypeslib`` called with odd arguments; instances of every kind (simple,
array, pointer, structure, union, function pointer, wintypes) read, written, indexed and
sliced with odd keys, pickled, re-initialised, resized and exported as buffers;
``from_buffer``/``from_buffer_copy``/``from_param``/``in_dll``/``_unpickle``;
structure and union definitions with odd ``_fields_``, ``_pack_``, ``_align_``,
``_anonymous_``, ``_layout_``, ``_swappedbytes_``, assigned at class creation or later,
self-referencing; foreign functions (``labs``, ``abs``, ``qsort``...) with odd
``argtypes``, ``restype``, ``errcheck`` and ``paramflags``; callbacks that return odd
values or raise; ``CDLL``/``cdll``/``dlopen``/``find_library`` with odd names; ``cast``,
``memmove``, ``memset``, ``string_at``, ``wstring_at``; NumPy arrays and
``ndpointer``/``as_ctypes``/``as_array``/``as_ctypes_type``/``load_library``. The values
are integers at and around every type boundary and huge (±2**64, 2**62, 10**100), nan
and inf, strings and bytes of odd lengths and with NULs, None, empty and huge sequences,
infinite iterators, objects whose ``__index__``, ``__len__``, ``__iter__``,
``__getattr__``, ``__eq__`` or ``_as_parameter_`` (recursive or raising) misbehave,
instances of every kind, stdlib ctypes objects and NumPy arrays of odd dtypes and strides.

``runner.py`` runs the inputs in forked children, a batch per child, under a per-input
time limit and an address-space limit (``RLIMIT_AS``, 4 GiB by default), and records
*findings*: a death by signal (``crash``: SIGSEGV/SIGBUS/SIGILL/SIGFPE; ``abort``:
SIGABRT; ``signal``: any other), an exit without finishing the batch, a
``pyo3_runtime.PanicException`` (raised, chained, unraisable in a callback, or a Rust
panic message on stderr), a ``SystemError``, and a ``hang`` (an input that outran the time
limit). Every other exception is an ordinary, correct outcome. Each finding is printed as
one line of Python that reproduces it alone (or with the input before it that it needs).
``--impl ctypes`` runs the same lines against the stdlib instead, for comparison.

**What is excluded**, because ctypes documents it as raw memory access that no library can
check (the generator never produces it; ``gen.EXCLUDED_CALLS`` lists the names):

- anything made from an integer address: ``from_address``; ``cast`` of an int (and of any
  object carrying an integer: ``cast`` only gets instances, buffers, strings and odd
  non-integer objects); ``memmove``/``memset``/``string_at``/``wstring_at`` with an int
  address (they only get objects of known size); ``c_char_p(int)``, ``c_wchar_p(int)``,
  and generally an integer stored where memory holds an address: constructors, field,
  element and ``.contents`` assignments, ``__init__`` and ``__setstate__`` of a type that
  holds a ``c_char_p``/``c_wchar_p``/``py_object``/pointer/function pointer get no
  integer, ``from_buffer``/``from_buffer_copy``/``_unpickle`` of such a type only
  zero-filled bytes, and unions never mix such a member with others; a function pointer
  made from an int; ``CDLL(handle=...)``;
- the raw helpers by name: ``_ctypes.PyObj_FromPtr``, ``Py_INCREF``, ``Py_DECREF``,
  ``call_function``, ``call_cdeclfunction``, ``dlsym``, ``dlclose``, ``memoryview_at``,
  the ``_*_addr`` entry points, ``pythonapi`` (CPython's C API with Python arguments);
- the result of a C function read as an address: ``restype`` is never a pointer,
  ``c_char_p``/``c_wchar_p``/``py_object`` or function pointer type for the libc
  functions called (a callback's ``restype`` may be, since its value comes from Python);
  ``in_dll`` reads symbols only as simple non-address types and never writes them;
- C functions that dereference their arguments are not called with odd arguments (only
  ``labs``/``abs``/``llabs``/``toupper``/``getpid``; ``qsort`` with a right array and an
  odd callback);
- outside strict mode (``--strict`` turns it on), what the issue lists as shared with
  ctypes and checked only by strict mode: a pointer indexed or sliced past element 0 or
  iterated; ``memmove``/``memset`` with a size past the object (sizes that do not convert
  are kept), ``string_at``/``wstring_at`` with a size between the object's size and
  4 GiB (larger ones are kept: the allocation must fail cleanly); a ``cast`` to
  ``c_char_p``/``c_wchar_p``/``py_object``/a pointer type whose result is then read; and
  ``ctypeslib.as_array`` of a pointer;
- NumPy's own behaviour: ``ctypeslib.as_array`` of an object whose ``__getitem__`` never
  ends (``np.asarray`` iterates it forever, under stdlib ctypes too);
- global switches that would make one input depend on the ones before it:
  ``ferrotype.install``, ``strict``, ``_reset_cache``, ``debug_callbacks``,
  ``SetPointerType``, ``set_errno``; and ``ctypes.util.test`` (slow, and not ours).
"""

from __future__ import annotations

import gc
import re
import shutil
import time
from dataclasses import dataclass

from .gen import make_input
from .runner import FATAL_KINDS, Outcome, Pool, prelude, reproducer

KINDS = ("crash", "abort", "signal", "exit", "panic", "SystemError", "hang", "slow")


@dataclass
class Finding:
    kind: str
    detail: str
    index: int
    family: str
    line: str  # the reproducer
    note: str = ""

    def __str__(self) -> str:
        note = f" ({self.note})" if self.note else ""
        return f"[{self.kind}] #{self.index} {self.family}{note}: {self.detail}\n    {self.line}"


@dataclass
class Report:
    inputs: int
    seconds: float
    findings: list[Finding]
    impl: str
    strict: bool

    @property
    def failures(self) -> list[Finding]:
        """The findings that count: all but ``slow``."""
        return [f for f in self.findings if f.kind != "slow"]

    def count(self, kind: str) -> int:
        return sum(1 for f in self.findings if f.kind == kind)

    def table(self) -> str:
        head = ["inputs", "crashes", "aborts", "other signals", "panics", "SystemError", "hangs",
                "slow (info)", "time"]  # fmt: skip
        row = [str(self.inputs), str(self.count("crash")), str(self.count("abort")),
               str(self.count("signal") + self.count("exit")), str(self.count("panic")),
               str(self.count("SystemError")), str(self.count("hang")),
               str(self.count("slow")), f"{self.seconds:.0f} s"]  # fmt: skip
        w = [max(len(a), len(b)) for a, b in zip(head, row, strict=True)]
        mode = f"{self.impl}{' (strict)' if self.strict else ''}"
        return "\n".join([
            f"fuzz: {mode}",
            "  ".join(h.rjust(n) for h, n in zip(head, w, strict=True)),
            "  ".join(c.rjust(n) for c, n in zip(row, w, strict=True)),
        ])  # fmt: skip

    def groups(self) -> dict[tuple[str, str], list[Finding]]:
        out: dict[tuple[str, str], list[Finding]] = {}
        for f in self.findings:
            key = re.sub(r"0x[0-9a-f]+|\d+", "N", f.detail)[:120]
            out.setdefault((f.kind, key), []).append(f)
        return out


def _namespace(impl: str, strict: bool) -> dict:
    import os

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    ns: dict = {}
    exec(prelude(impl, strict), ns)  # noqa: S102 - the fixed prelude
    gc.collect()
    gc.freeze()  # children then collect only what their inputs made
    return ns


def run(
    n: int,
    seed: int = 1,
    *,
    start: int = 0,
    impl: str = "ferrotype",
    strict: bool = False,
    batch: int = 100,
    timeout: float = 10.0,
    mem_gib: float = 4.0,
    jobs: int = 2,
    progress=None,
    on_finding=None,
) -> Report:
    """Run inputs ``start .. start + n - 1`` of ``seed``; ``on_finding(f)`` sees each as found."""
    t0 = time.monotonic()
    inputs = {i: make_input(seed, i, strict) for i in range(start, start + n)}
    pool = Pool(
        _namespace(impl, strict), timeout=timeout, mem_bytes=int(mem_gib * 2**30), jobs=jobs
    )
    items = [(i, src) for i, (_, src) in inputs.items()]
    batches = [items[k : k + batch] for k in range(0, len(items), batch)]
    soft: list[tuple[int, str, str]] = []
    suspects: list[tuple[int, tuple[str, str], str, list]] = []
    done = [0]

    def on_outcome(got, out: Outcome) -> None:
        soft.extend(out.findings)
        done[0] += len(out.started)
        if out.death is not None and out.started:
            last = out.started[-1]
            before = [it for it in got if it[0] < last]
            suspects.append((last, out.death, out.stderr_tail, before))
        if progress:
            progress(done[0], n, len(soft) + len(suspects))

    try:
        pool.run(batches, on_outcome)
        findings = _confirm(pool, inputs, soft, suspects, impl, strict, on_finding)
    finally:
        gc.unfreeze()
        shutil.rmtree(pool.tmp, ignore_errors=True)
    findings.sort(key=lambda f: (KINDS.index(f.kind) if f.kind in KINDS else 99, f.index))
    return Report(n, time.monotonic() - t0, findings, impl, strict)


def _confirm(pool, inputs, soft, suspects, impl, strict, on_finding) -> list[Finding]:
    """Run each finding again alone (a death: with the inputs before it if need be)."""

    class _List(list):
        def append(self, f: Finding) -> None:
            super().append(f)
            if on_finding:
                on_finding(f)

    findings = _List()

    def line(idxs: list[int]) -> str:
        return reproducer("; ".join(inputs[i][1] for i in idxs), impl, strict)

    for idx, kind, detail in soft:
        if kind == "slow":  # information only: not worth the time again
            findings.append(Finding(kind, detail, idx, inputs[idx][0], line([idx])))
            continue
        again = pool.run_once([(idx, inputs[idx][1])])
        alone = any(k == kind for _, k, _ in again.findings)
        note = "" if alone else "not alone: after earlier inputs of its batch"
        findings.append(Finding(kind, detail, idx, inputs[idx][0], line([idx]), note))
    for idx, (kind, sig), tail, before in suspects:
        detail = f"{sig}{': ' + tail if tail else ''}"

        def dies(idxs: list[int], kind=kind) -> bool:
            out = pool.run_once([(i, inputs[i][1]) for i in idxs])
            return out.death is not None and out.death[0] == kind

        if dies([idx]):
            findings.append(Finding(kind, detail, idx, inputs[idx][0], line([idx])))
            continue
        if kind == "hang":  # a time-out costs too much to search for a context
            findings.append(Finding(kind, detail, idx, inputs[idx][0], line([idx]),
                                    "not alone: after earlier inputs of its batch"))  # fmt: skip
            continue
        for j, _ in reversed(before[-10:]):
            if dies([j, idx]):
                findings.append(Finding(kind, detail, idx, inputs[idx][0], line([j, idx]),
                                        f"after input #{j}"))  # fmt: skip
                break
        else:
            ctx = [i for i, _ in before] + [idx]
            note = f"only after inputs #{ctx[0]}..#{idx} of its batch"
            if not dies(ctx):
                note = "did not happen again"
            findings.append(Finding(kind, detail, idx, inputs[idx][0], line([idx]), note))
    return list(findings)


__all__ = ["FATAL_KINDS", "Finding", "Report", "make_input", "run"]
