"""``find_library`` with the results of ``ctypes.util.find_library`` on Linux, but fast.

ctypes tries three searches in turn, and so do we:

1. the loader cache. ctypes runs ``/sbin/ldconfig -p`` and searches its output;
   we read ``/etc/ld.so.cache`` in Rust (``_native._ldcache_find``), without a
   subprocess, and get the same soname (``"libc.so.6"`` for ``"c"``);
2. only if that finds nothing: the C compiler's link trace (``cc -Wl,-t -l<name>``),
   reading the soname of the first ELF file it names with ``objdump``;
3. then the linker's trace (``ld -t -l<name>``), which also searches the
   directories in ``LD_LIBRARY_PATH``.

Steps 2 and 3 start processes and take tens of milliseconds, as in ctypes; they
are glue around external tools and stay in Python. A failing tool means "not
found", never an error, with the exceptions ctypes also lets through.
"""

import os
import re
import shutil
import subprocess
import sys  # noqa: F401  (a name of ctypes.util)
import tempfile

from . import _native, _version
from ._version import HAS_DLLIST as _HAS_DLLIST

__all__ = ["find_library"]

if _HAS_DLLIST:
    # ctypes (3.14): the list of loaded shared libraries, where the platform has
    # dl_iterate_phdr (`_ctypes.dllist`).
    from ._ctypes import dllist  # noqa: F401 (re-exported, as ctypes.util's)

# ctypes: the soname is the first blank-separated word after SONAME in
# `objdump -p` output.
_SONAME = re.compile(rb"\sSONAME\s+(\S+)")


def find_library(name):
    """Return the soname of library ``name`` (``"m"`` -> ``"libm.so.6"``), or None.

    Same answer as ``ctypes.util.find_library(name)`` on Linux.
    """
    # Each step is looked up by its ctypes name when called, so that code patching
    # `ctypes.util._findSoname_ldconfig` and friends (as CPython's tests do) works.
    return (
        _findSoname_ldconfig(name)
        or _get_soname(_findLib_gcc(name))
        or _get_soname(_findLib_ld(name))
    )


def _findSoname_ldconfig(name):
    """Step 1: the soname the loader cache lists for ``lib<name>``, or None."""
    return _native._ldcache_find(name)


def _trace_pattern(name):
    """A path in a linker trace that names ``lib<name>.<anything>`` (bytes pattern)."""
    # Parentheses are excluded so that archive members, `libc.a(x.o)`, do not count.
    return re.compile(rb"[^()\s]*lib" + re.escape(os.fsencode(name)) + rb"\.[^()\s]*")


def _is_elf(path):
    """Whether ``path`` is an ELF file rather than, say, a linker script (bpo-41976)."""
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except FileNotFoundError:
        if _version.UTIL_MISSING_FILE_NOT_ELF:
            return False
        raise


def _findLib_gcc(name):
    """Path of the library the C compiler links for ``-l<name>``, or None.

    The link itself fails (there is no ``main``); only its ``-t`` trace matters.
    """
    compiler = shutil.which("gcc") or shutil.which("cc")
    if not compiler:
        return None
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    # A throwaway output name: the compiler deletes it when the link fails.
    output = tempfile.NamedTemporaryFile()
    try:
        command = [compiler, "-Wl,-t", "-o", output.name, "-l" + name]
        try:
            proc = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env
            )
        except OSError:
            return None
        with proc:
            trace = proc.stdout.read()
    finally:
        try:
            output.close()
        except FileNotFoundError:
            pass
    for path in _trace_pattern(name).findall(trace):
        if _is_elf(path):
            return os.fsdecode(path)
    return None


def _findLib_ld(name):
    """Path of the library ``ld`` links for ``-l<name>``, searching LD_LIBRARY_PATH too.

    ctypes added this search (bpo-9998) because the compiler ignores LD_LIBRARY_PATH.
    Any failure, including an unreadable path in the trace, means None.
    """
    command = ["ld", "-t"]
    search_path = os.environ.get("LD_LIBRARY_PATH")
    if search_path:
        for directory in search_path.split(":"):
            command += ["-L", directory]
    command += ["-o", os.devnull, "-l" + name]
    # ctypes reads this trace as text, so the pattern is a str pattern here.
    pattern = re.compile(r"[^()\s]*lib" + re.escape(name) + r"\.[^()\s]*")
    try:
        # stderr is captured only to keep the linker's complaints off the terminal.
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        for path in pattern.findall(proc.stdout):
            if _is_elf(path):
                return path
    except Exception:
        pass
    return None


def _get_soname(path):
    """The SONAME recorded in the shared library at ``path``, via objdump; None if none."""
    if not path:
        return None
    objdump = shutil.which("objdump")
    if not objdump:
        return None
    try:
        proc = subprocess.run(
            [objdump, "-p", "-j", ".dynamic", path],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            check=False,
        )
    except OSError:
        return None
    match = _SONAME.search(proc.stdout)
    return os.fsdecode(match.group(1)) if match else None


def test():
    """Print a few lookups, like ``python -m ctypes.util`` does (without loading them)."""
    for name in ("m", "c", "bz2", "crypt"):
        print(f"{name}: {find_library(name)}")


if __name__ == "__main__":
    test()
