"""ferrotype.stubgen and `python -m ferrotype stubgen`: a .pyi for a bound namespace (the
cdef fixture library, zlib.h), which `mypy --strict` and basedpyright accept together with
a script using it, and which that script runs against.

The checkers are pinned in tools/requirements-typing.txt (`make venv` installs them); the
checks skip without them. zlib's header comes from tools/install_dev_headers.sh.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import ferrotype
import ferrotype.util
import pytest
from ccoracle import find_cc
from conftest import build_shared_library

HERE = pathlib.Path(__file__).resolve().parent / "fixtures" / "cdef"
MISSING = [m for m in ("mypy", "basedpyright") if importlib.util.find_spec(m) is None]
needs_checkers = pytest.mark.skipif(
    bool(MISSING),
    reason=f"{' and '.join(MISSING)} not installed (pinned in tools/requirements-typing.txt; "
    "`make venv` installs them)",
)
needs_cc = pytest.mark.skipif(find_cc() is None, reason="no C compiler")


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("FERROTYPE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="module")
def fixture_lib():
    return str(build_shared_library([HERE / "cdeflib.c"], "ftcdef", depends=[HERE / "cdeflib.h"]))


def zlib_path():
    lib = ferrotype.util.find_library("z")
    if lib is None:
        pytest.skip("libz is not installed")
    try:
        ferrotype.include("zlib.h")
    except ferrotype.CCompilerError as e:
        pytest.skip(f"zlib.h is not installed ({e})")
    return lib


# The runtime module beside the stub: the namespace's names as its globals.
MODULE = """\
import ferrotype

globals().update(vars(ferrotype.{how}))
"""

FIXTURE_USE = """\
from __future__ import annotations

import ferrotype

import cdl

s = cdl.cdl_shape(kind=cdl.CDL_POINT)
s.origin.x, s.origin.y = 6, 7
x: int = s.origin.x
area: int = cdl.cdl_area(ferrotype.byref(s))
assert area == 42
mid: cdl.cdl_point = cdl.cdl_mid(cdl.cdl_point(2, 4), cdl.cdl_point(4, 8))
assert (mid.x, mid.y) == (3, 6)
total: int = cdl.cdl_sum(3, 1, 2, 3)
assert total == 6
seen: list[int] = []


def visit(shape: ferrotype._Pointer[cdl.cdl_shape], ctx: int | None) -> int:
    seen.append(shape.contents.kind)
    return 0


walked: int = cdl.cdl_walk(s, cdl.cdl_visit(visit), None)
version: bytes = cdl.CDL_VERSION
scale: float = cdl.CDL_SCALE
counter: int = cdl.cdl_counter.value
kind: int = s.kind
tag: ferrotype.Array[ferrotype.c_byte] = s.tag
nxt: ferrotype._Pointer[cdl.cdl_shape] = s.next
print(area, mid.x, total, walked, seen, version, scale, counter, kind, len(tag), bool(nxt), x)
"""

ZLIB_USE = """\
from __future__ import annotations

import ferrotype

import zbind

data = b"hello " * 100
src = (ferrotype.c_ubyte * len(data)).from_buffer_copy(data)
crc: int = zbind.crc32(0, src, len(data))
bound: int = zbind.compressBound(len(data))
dest = (ferrotype.c_ubyte * bound)()
dest_len = zbind.uLongf(bound)
rc: int = zbind.compress2(dest, ferrotype.byref(dest_len), src, len(data), zbind.Z_BEST_COMPRESSION)
assert rc == zbind.Z_OK
out = (ferrotype.c_ubyte * len(data))()
out_len = zbind.uLongf(len(data))
assert zbind.uncompress(out, out_len, dest, dest_len.value) == zbind.Z_OK
assert bytes(out) == data
stream = zbind.z_stream()
stream.avail_in = 3
avail: int = stream.avail_in
msg: bytes | None = stream.msg
version: bytes | None = zbind.zlibVersion()
print(crc, avail, msg, version)
"""


def write_project(d, name, stub, how, use):
    (d / f"{name}.pyi").write_text(stub)
    (d / f"{name}.py").write_text(MODULE.format(how=how))
    (d / "use.py").write_text(use)


def run_use(d):
    proc = subprocess.run(
        [sys.executable, "use.py"], cwd=d, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def check_types(d, tmp_path):
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir",
         str(tmp_path / "mypy-cache"), "--python-version", version, "."],
        cwd=d, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
    exe = pathlib.Path(sys.executable).with_name("basedpyright")
    pyright = subprocess.run(
        [str(exe), "--pythonpath", sys.executable, "--pythonversion", version, "."],
        cwd=d, capture_output=True, text=True, check=False,
    )  # fmt: skip
    summary = pyright.stdout.strip().splitlines()[-1] if pyright.stdout.strip() else ""
    assert re.fullmatch(r"0 errors, \d+ warnings?, \d+ notes?", summary), (
        pyright.stdout + pyright.stderr
    )


@needs_cc
def test_fixture_stub_contents(fixture_lib):
    ns = ferrotype.cdef((HERE / "cdeflib.h").read_text(), fixture_lib)
    stub = ferrotype.stubgen(ns)
    for line in [
        "class cdl_shape(_ft.Structure):",
        "    kind: int",
        "    origin: cdl_point",  # through the anonymous union
        "    radius: float",
        "    visible: int",
        "    tag: _ft.Array[_ft.c_byte]",
        "    next: _ft._Pointer[cdl_shape]",
        "class cdl_visit(_ft._CFunctionType):",
        "struct_cdl_shape: _t.TypeAlias = cdl_shape",
        "enum_cdl_kind: _t.TypeAlias = _ft.c_uint",
        "CDL_VERSION: bytes",
        "CDL_MAX: int",
        "CDL_SCALE: float",
        "def cdl_area(s: _PointerArg[cdl_shape], /) -> int: ...",
        "def cdl_walk(first: _PointerArg[cdl_shape], visit: cdl_visit, "
        "ctx: _VoidPArg, /) -> int: ...",
        "def cdl_sum(n: int | _ft.c_int, /, *args: _t.Any) -> int: ...",
        "def cdl_mid(a: cdl_point, b: cdl_point, /) -> cdl_point: ...",
        "cdl_counter: _ft.c_int",
        "cdl_name: _ft.c_char_p",
    ]:
        assert line in stub.splitlines(), line
    compile(stub, "cdl.pyi", "exec")


def test_names_that_python_cannot_declare():
    ns = ferrotype.cdef(
        """
        struct s { int lambda; int __private; struct { int a; } in; };
        int (*fp)(int);
        typedef struct { char c; } pass;
        """
    )
    stub = ferrotype.stubgen(ns)
    compile(stub, "s.pyi", "exec")
    assert "    # field 'lambda': not a Python name" in stub
    assert "    # field '__private': a private name in a class body" in stub
    assert "# Not Python names (reach them with getattr): pass" in stub


@needs_cc
def test_fixture_stub_runs_and_type_checks(fixture_lib, tmp_path):
    ns = ferrotype.cdef((HERE / "cdeflib.h").read_text(), fixture_lib)
    how = f"cdef(open({str(HERE / 'cdeflib.h')!r}).read(), {fixture_lib!r})"
    write_project(tmp_path, "cdl", ferrotype.stubgen(ns, "cdeflib.h"), how, FIXTURE_USE)
    run_use(tmp_path)
    if MISSING:
        pytest.skip(f"{' and '.join(MISSING)} not installed (tools/requirements-typing.txt)")
    check_types(tmp_path, tmp_path)


@needs_cc
def test_zlib_stub_runs_and_type_checks(tmp_path):
    lib = zlib_path()
    stub = ferrotype.stubgen(ferrotype.include("zlib.h", lib), "zlib.h")
    assert "class z_stream_s(_ft.Structure):" in stub
    write_project(tmp_path, "zbind", stub, f"include('zlib.h', {lib!r})", ZLIB_USE)
    run_use(tmp_path)
    if MISSING:
        pytest.skip(f"{' and '.join(MISSING)} not installed (tools/requirements-typing.txt)")
    check_types(tmp_path, tmp_path)


@needs_cc
def test_command_line(tmp_path):
    lib = zlib_path()
    out = tmp_path / "zbind.pyi"
    env = {**os.environ, "FERROTYPE_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run(
        [sys.executable, "-m", "ferrotype", "stubgen", "zlib.h", "-l", "z", "-o", str(out)],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert re.match(r"stubgen: zlib\.h: \d+ names, \d+ refused -> ", proc.stderr)
    assert out.read_text() == ferrotype.stubgen(ferrotype.include("zlib.h", lib), "zlib.h")
    to_stdout = subprocess.run(
        [sys.executable, "-m", "ferrotype", "stubgen", "zlib.h"],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    assert to_stdout.returncode == 0, to_stdout.stderr
    assert "class z_stream_s(_ft.Structure):" in to_stdout.stdout
    assert "def crc32" not in to_stdout.stdout  # no library: types only


@needs_cc
def test_command_line_missing_header(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "ferrotype", "stubgen", "ferrotype_no_such_header.h"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "ferrotype_no_such_header.h" in proc.stderr
    assert proc.stdout == ""


def test_usage_names_stubgen():
    proc = subprocess.run(
        [sys.executable, "-m", "ferrotype", "--help"], capture_output=True, text=True, check=False
    )
    assert "stubgen" in proc.stderr
