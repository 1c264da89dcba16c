"""ferrotype.util.find_library against ctypes.util.find_library, on this machine's real libraries.

ctypes is the oracle throughout: every case asserts equality with it rather than a hard-coded
soname, so the suite holds on any glibc system. The fallback cases build a small shared library
in a temporary directory and make it visible only to the compiler/linker searches.
"""

import ctypes.util
import os
import shutil
import subprocess
import sys
import uuid

import pytest

if not sys.platform.startswith("linux"):
    pytest.skip("find_library follows the Linux branch of ctypes.util", allow_module_level=True)

util = pytest.importorskip("ferrotype.util")
_native = pytest.importorskip("ferrotype._native")

LD_SO_CACHE = "/etc/ld.so.cache"

# Found in the loader cache on typical glibc systems, found only by the compiler fallback (png on
# Debian, where the cache lists libpng16 but the dev link is libpng.so), or found nowhere.
NAMES = [
    "c",
    "m",
    "z",
    "pthread",
    "dl",
    "rt",
    "util",
    "crypto",
    "ssl",
    "stdc++",
    "gcc_s",
    "ffi",
    "bz2",
    "png",
    "python3",
    f"python{sys.version_info.major}.{sys.version_info.minor}",
    # Names are matched literally, and only as `lib<name>.<something>`.
    "c.so",
    "c.so.6",
    # ctypes raises FileNotFoundError here: ld's hint "... rename it to liblibc.a" matches the
    # trace pattern and the (relative, nonexistent) path is opened. We match that too.
    "libc",
    "ibc",
    "c++",
    "",
    "nonexistent",
    "ferrotype-surely-not-a-library",
    "ünïcode",
    "\udcff",  # a surrogate-escaped byte: goes through os.fsencode like ctypes' regex
]


def _run(*command, **kwargs):
    return subprocess.run(command, check=True, capture_output=True, **kwargs)


def _outcome(find_library, name):
    """What a call returns, or the type of exception it raises."""
    try:
        return find_library(name)
    except Exception as exc:
        return type(exc)


@pytest.mark.parametrize("name", NAMES, ids=ascii)
def test_same_result_as_ctypes(name):
    assert _outcome(util.find_library, name) == _outcome(ctypes.util.find_library, name)


def _cached_names():
    """Every `<name>` for which the cache lists a `lib<name>.*` soname, in `ldconfig -p` order."""
    listing = _run("/sbin/ldconfig", "-p", env={"LC_ALL": "C", "LANG": "C"}).stdout
    names = {}
    for line in listing.splitlines()[1:]:
        soname = os.fsdecode(line.split()[0]) if line.startswith(b"\t") else ""
        if soname.startswith("lib") and "." in soname:
            names[soname[3 : soname.index(".")]] = None
    return list(names)


@pytest.mark.skipif(
    not (os.path.exists(LD_SO_CACHE) and os.access("/sbin/ldconfig", os.X_OK)),
    reason="needs a glibc loader cache and /sbin/ldconfig",
)
def test_cache_step_matches_ctypes_for_every_cached_library():
    """The Rust cache lookup equals ctypes' `ldconfig -p` step for every library in the cache."""
    ldconfig_step = getattr(ctypes.util, "_findSoname_ldconfig", None)
    if ldconfig_step is None:
        pytest.skip("this Python's ctypes.util has no _findSoname_ldconfig")
    names = _cached_names()
    assert names
    mismatches = {
        name: (_native._ldcache_find(name), ldconfig_step(name))
        for name in names
        if _native._ldcache_find(name) != ldconfig_step(name)
    }
    assert mismatches == {}


def test_cache_hit_spawns_no_process(monkeypatch):
    expected = {name: ctypes.util.find_library(name) for name in ("c", "m")}
    if expected["c"] is None:
        pytest.skip("libc is not in this machine's loader cache")

    def no_processes(*args, **kwargs):
        raise AssertionError(f"find_library started a process: {args!r}")

    monkeypatch.setattr(subprocess, "Popen", no_processes)
    monkeypatch.setattr(os, "posix_spawn", no_processes)
    monkeypatch.setattr(os, "fork", no_processes)
    for name, soname in expected.items():
        assert util.find_library(name) == soname


def test_repeated_lookups_are_stable():
    first = [util.find_library(name) for name in ("c", "m", "z")]
    assert [util.find_library(name) for name in ("c", "m", "z")] == first


@pytest.mark.parametrize("bad", [b"c", None, 3])
def test_non_str_name_raises_type_error_like_ctypes(bad):
    with pytest.raises(TypeError):
        ctypes.util.find_library(bad)
    with pytest.raises(TypeError):
        util.find_library(bad)


# ---- the compiler/linker fallback ----------------------------------------------------------


@pytest.fixture
def private_library(tmp_path, monkeypatch):
    """A shared library `lib<name>.so` with SONAME `lib<name>.so.7` in a fresh directory.

    Returns (name, directory, soname). The library is in no loader cache, so only the
    compiler/linker searches can find it, and only when told where to look.
    """
    for tool in ("cc", "ld", "objdump"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool}")
    name = f"ftutil{uuid.uuid4().hex[:12]}"
    soname = f"lib{name}.so.7"
    source = tmp_path / "lib.c"
    source.write_text("int ferrotype_util_test(void) { return 42; }\n")
    _run(
        "cc",
        "-shared",
        "-fPIC",
        f"-Wl,-soname,{soname}",
        "-o",
        str(tmp_path / f"lib{name}.so"),
        str(source),
    )
    # Start from a clean slate: neither search may see the directory unless a test says so.
    monkeypatch.delenv("LD_LIBRARY_PATH", raising=False)
    monkeypatch.delenv("LIBRARY_PATH", raising=False)
    return name, tmp_path, soname


def test_private_library_not_found_without_a_search_path(private_library):
    name, _, _ = private_library
    assert util.find_library(name) is None
    assert ctypes.util.find_library(name) is None


def test_fallback_ld_honours_ld_library_path(private_library, monkeypatch):
    name, directory, soname = private_library
    monkeypatch.setenv("LD_LIBRARY_PATH", f"/nonexistent-dir:{directory}")
    assert _native._ldcache_find(name) is None
    assert ctypes.util.find_library(name) == soname
    assert util.find_library(name) == soname


def test_fallback_compiler_honours_library_path(private_library, monkeypatch):
    name, directory, soname = private_library
    monkeypatch.setenv("LIBRARY_PATH", str(directory))
    assert _native._ldcache_find(name) is None
    assert ctypes.util.find_library(name) == soname
    assert util.find_library(name) == soname


def test_fallback_without_soname_gives_none_like_ctypes(private_library, monkeypatch, tmp_path):
    """A library without a SONAME is found by the linker but has no soname to report."""
    name, _, _ = private_library
    other = tmp_path / "nosoname"
    other.mkdir()
    source = other / "lib.c"
    source.write_text("int f(void) { return 1; }\n")
    _run("cc", "-shared", "-fPIC", "-o", str(other / f"lib{name}x.so"), str(source))
    monkeypatch.setenv("LD_LIBRARY_PATH", str(other))
    assert ctypes.util.find_library(f"{name}x") is None
    assert util.find_library(f"{name}x") is None


@pytest.mark.parametrize("impl", ["ctypes.util", "ferrotype.util"])
def test_find_library_uses_the_patchable_steps(impl, monkeypatch):
    """``find_library`` calls its steps through the module's globals, so code that
    patches them (as CPython's tests and some programs do) changes its answer."""
    import importlib

    util = importlib.import_module(impl)
    calls = []
    monkeypatch.setattr(util, "_findSoname_ldconfig", lambda name: "from-ldconfig")
    assert util.find_library("anything") == "from-ldconfig"
    monkeypatch.setattr(util, "_findSoname_ldconfig", lambda name: None)
    monkeypatch.setattr(util, "_findLib_gcc", lambda name: calls.append("gcc") or "/x/libg.so")
    monkeypatch.setattr(util, "_get_soname", lambda path: path and f"soname-of:{path}")
    assert util.find_library("anything") == "soname-of:/x/libg.so"
    monkeypatch.setattr(util, "_findLib_gcc", lambda name: calls.append("gcc") or None)
    monkeypatch.setattr(util, "_findLib_ld", lambda name: calls.append("ld") or "/y/libl.so")
    assert util.find_library("anything") == "soname-of:/y/libl.so"
    assert calls == ["gcc", "gcc", "ld"]
