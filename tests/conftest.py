"""Shared fixtures: the compiled C fixture library and the two implementations under test.

Every differential test takes the ``ct`` fixture, which is parametrized over stdlib ``ctypes`` and
``ferrotype``, and uses ``ct.<name>`` for every ctypes name, so the same assertion runs against
both. While ferrotype is not importable (or not yet complete enough to have ``CDLL``), its half of
the suite is skipped rather than failed.

The C fixture (``tests/fixtures/*.c``) is compiled with the system ``cc`` into ``tests/_build`` once
and rebuilt only when a source is newer than the library. The build takes a file lock and writes to
a temporary name that is then renamed into place, so concurrent pytest runs never load a
half-written library.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType

import pytest

TESTS_DIR = Path(__file__).resolve().parent
FIXTURES_DIR = TESTS_DIR / "fixtures"
# One directory per interpreter: the matrix runs 3.14/3.15 in a chroot with a newer libc, and
# `make test-aarch64` an aarch64 interpreter (whose fixtures $CC cross-compiles).
_MACHINE = "" if platform.machine() in ("x86_64", "AMD64") else f"-{platform.machine()}"
BUILD_DIR = TESTS_DIR / "_build" / f"py{sys.version_info[0]}.{sys.version_info[1]}{_MACHINE}"

IMPLEMENTATIONS = ("ctypes", "ferrotype")

CFLAGS = ("-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-pthread")


# ---- building C libraries ---------------------------------------------------------------------


@contextlib.contextmanager
def _build_lock(build_dir: Path) -> Iterator[None]:
    build_dir.mkdir(parents=True, exist_ok=True)
    with open(build_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _is_fresh(target: Path, inputs: Sequence[Path]) -> bool:
    if not target.exists():
        return False
    built = target.stat().st_mtime
    return all(p.stat().st_mtime <= built for p in inputs)


def build_shared_library(
    sources: Sequence[Path],
    name: str,
    *,
    extra_flags: Sequence[str] = (),
    depends: Sequence[Path] = (),
    build_dir: Path = BUILD_DIR,
) -> Path:
    """Compile ``sources`` into ``build_dir/lib<name>.so`` unless it is already up to date.

    Safe to call from concurrent processes: the check and the build happen under a file lock, and
    the library is written under a temporary name and moved into place with ``os.replace``.
    """
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        pytest.fail(f"C compiler {cc!r} not found; the test suite needs it to build its fixtures")
    sources = [Path(s).resolve() for s in sources]
    target = build_dir / f"lib{name}.so"
    # conftest.py holds the compiler flags, so editing it rebuilds too
    inputs = [*sources, *(Path(d).resolve() for d in depends), Path(__file__).resolve()]
    with _build_lock(build_dir):
        if _is_fresh(target, inputs):
            return target
        tmp = build_dir / f".lib{name}.so.{os.getpid()}.tmp"
        cmd = [cc, *CFLAGS, *extra_flags, "-o", str(tmp), *map(str, sources)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            tmp.unlink(missing_ok=True)
            pytest.fail(f"compiling the C fixture failed:\n$ {' '.join(cmd)}\n{proc.stderr}")
        os.replace(tmp, target)
    return target


@pytest.fixture(scope="session")
def build_library() -> Callable[..., Path]:
    """The library builder, for test modules that compile their own C code (layout checks...)."""
    return build_shared_library


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """``tests/fixtures``, where the C sources live."""
    return FIXTURES_DIR


@pytest.fixture(scope="session")
def fixture_path() -> str:
    """Absolute path of the compiled ``libftfixture.so``."""
    sources = sorted(FIXTURES_DIR.glob("ftfixture*.c"))
    headers = sorted(FIXTURES_DIR.glob("*.h"))
    return str(build_shared_library(sources, "ftfixture", depends=headers))


# ---- the implementations under test -------------------------------------------------------------


def load_implementation(name: str) -> ModuleType:
    """Import ``name`` ("ctypes" or "ferrotype"); skip the test if ferrotype is not usable yet."""
    if name == "ctypes":
        import ctypes

        return ctypes
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        pytest.skip(f"{name} is not importable yet ({type(exc).__name__}: {exc})")
    if not hasattr(module, "CDLL"):
        pytest.skip(f"{name} is importable but does not provide CDLL yet")
    return module


@pytest.fixture(scope="session", params=IMPLEMENTATIONS, ids=IMPLEMENTATIONS)
def ct(request: pytest.FixtureRequest) -> ModuleType:
    """The module under test: stdlib ``ctypes`` or ``ferrotype``."""
    return load_implementation(request.param)


@pytest.fixture(scope="session")
def ferrotype() -> ModuleType:
    """ferrotype alone, for behaviour that goes beyond (or fixes) stdlib ctypes."""
    return load_implementation("ferrotype")


@pytest.fixture(scope="session")
def is_ferrotype(ct: ModuleType) -> bool:
    """True for the ferrotype run. Use it only where ferrotype deliberately differs from ctypes
    (docs/differences.md), with a comment at the branch."""
    return ct.__name__ == "ferrotype"


@pytest.fixture
def lib(ct: ModuleType, fixture_path: str):
    """A fresh ``CDLL`` of the fixture per test.

    Function objects are cached on the CDLL instance, and their ``argtypes``/``restype``/
    ``errcheck`` are mutable, so sharing one instance between tests would leak declarations from
    one test into the next. dlopen is reference-counted, so this costs almost nothing.
    """
    return ct.CDLL(fixture_path)


@pytest.fixture
def cfunc(lib):
    """``cfunc(name, restype, *argtypes)``: the function ``name`` of ``lib``, declared."""

    def declare(name: str, restype, *argtypes):
        f = getattr(lib, name)
        f.restype = restype
        f.argtypes = list(argtypes)
        return f

    return declare


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [f"python: {sys.version.split()[0]}"]
    try:
        module = importlib.import_module("ferrotype")
        where = getattr(module, "__file__", "?")
        lines.append(f"ferrotype: {where} (CDLL: {'yes' if hasattr(module, 'CDLL') else 'no'})")
    except Exception as exc:  # the header must never abort the session
        lines.append(f"ferrotype: not importable ({exc}); its half of the suite is skipped")
    return lines
