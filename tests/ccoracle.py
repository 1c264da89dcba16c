"""The C compiler as an oracle: compile a small C program, run it, return what it printed.

Used by ``test_layout_vs_cc.py``, which holds ferrotype's struct and union layout against ``cc``.
A cross compiler (``$CC``, e.g. ``aarch64-linux-gnu-gcc``) makes programs the host cannot run
itself: ``$FERROTYPE_RUN`` is then the command they run under (``qemu-aarch64 -L <sysroot>``;
``make test-aarch64`` sets both).
Programs are built with ``-O0 -w`` into a private directory and need no headers (they declare
``printf`` themselves and use ``__builtin_memset``/``__builtin_offsetof``), which keeps one
compile-and-run to a few tens of milliseconds.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

CFLAGS = ("-O0", "-w", "-pipe")


class CCError(AssertionError):
    """The oracle program did not compile or did not run cleanly."""


def runner() -> list[str]:
    """The command prefix that runs a compiled program (``$FERROTYPE_RUN``; none by default)."""
    return shlex.split(os.environ.get("FERROTYPE_RUN", ""))


def find_cc() -> str | None:
    """The C compiler to use (``$CC`` or ``cc``), or None if there is none on ``PATH``."""
    return shutil.which(os.environ.get("CC", "cc"))


class CCOracle:
    """Compiles and runs C programs in ``workdir`` with the compiler ``cc``."""

    def __init__(self, cc: str, workdir: Path) -> None:
        self.cc = cc
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._count = 0

    def _paths(self, stem: str) -> tuple[Path, Path]:
        self._count += 1
        base = self.workdir / f"{stem}{self._count}"
        return base.with_suffix(".c"), base

    def compiles(self, source: str, *flags: str) -> bool:
        """Whether ``source`` compiles and links with ``flags`` added (for feature probes)."""
        src, exe = self._paths("probe")
        src.write_text(source)
        try:
            cmd = [self.cc, "-O0", *flags, "-o", str(exe), str(src)]
            return subprocess.run(cmd, capture_output=True).returncode == 0
        finally:
            src.unlink(missing_ok=True)
            exe.unlink(missing_ok=True)

    def run(self, source: str) -> str:
        """Compile ``source``, run it, and return its standard output."""
        src, exe = self._paths("prog")
        src.write_text(source)
        try:
            cmd = [self.cc, *CFLAGS, "-o", str(exe), str(src)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise CCError(
                    f"cc failed:\n$ {' '.join(cmd)}\n{proc.stderr}\n--- source ---\n{source}"
                )
            proc = subprocess.run([*runner(), str(exe)], capture_output=True, text=True, timeout=30)
            if proc.returncode != 0:
                raise CCError(
                    f"the oracle program exited with {proc.returncode}:\n{proc.stderr}\n"
                    f"--- source ---\n{source}"
                )
            return proc.stdout
        finally:
            src.unlink(missing_ok=True)
            exe.unlink(missing_ok=True)
