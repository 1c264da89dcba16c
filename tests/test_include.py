"""ferrotype.include: real headers through the C preprocessor, bound and called.

A header that is not installed skips its test with the reason; the CI setup installs
zlib's and sqlite3's (tools/install_dev_headers.sh)."""

from __future__ import annotations

import os
import pathlib
import time

import ferrotype
import ferrotype.util
import pytest
from ccoracle import find_cc

pytestmark = pytest.mark.skipif(find_cc() is None, reason="no C compiler")


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("FERROTYPE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


def bind(header, libname):
    lib = ferrotype.util.find_library(libname)
    if lib is None:
        pytest.skip(f"lib{libname} is not installed")
    try:
        return ferrotype.include(header, lib)
    except ferrotype.CCompilerError as e:
        if "No such file" in str(e):
            pytest.skip(f"{header} is not installed ({e})")
        raise


def structs(ns):
    return {
        n[len("struct_") :]: t
        for n, t in vars(ns).items()
        if n.startswith("struct_") and ferrotype.sizeof(t)
        if getattr(t, "_fields_", None)
    }


def test_zlib_round_trip_and_layout():
    z = bind("zlib.h", "z")
    data = b"ferrotype " * 100
    # Bytef is unsigned char: buffers are c_ubyte arrays, as a hand-written binding has them.
    src = (ferrotype.c_ubyte * len(data)).from_buffer_copy(data)
    dest_len = z.uLongf(z.compressBound(len(data)))
    dest = (ferrotype.c_ubyte * dest_len.value)()
    level = z.Z_BEST_COMPRESSION
    assert z.compress2(dest, ferrotype.byref(dest_len), src, len(data), level) == z.Z_OK
    out_len = z.uLongf(len(data))
    out = (ferrotype.c_ubyte * len(data))()
    assert z.uncompress(out, ferrotype.byref(out_len), dest, dest_len.value) == z.Z_OK
    assert bytes(out)[: out_len.value] == data
    import zlib

    assert z.crc32(0, src, len(data)) == zlib.crc32(data)
    assert z.ZLIB_VERSION == z.zlibVersion()
    ferrotype.check_layout(z.z_stream, "z_stream", header="zlib.h", raises=True)


def test_second_include_is_cached():
    bind("zlib.h", "z")
    t0 = time.perf_counter()
    bind("zlib.h", "z")
    assert time.perf_counter() - t0 < 5


@pytest.mark.parametrize(
    ("header", "libname"),
    [
        ("zlib.h", "z"),
        ("sqlite3.h", "sqlite3"),
        ("png.h", "png16"),
        ("stdio.h", "c"),
        ("time.h", "c"),
        ("sys/stat.h", "c"),
        ("poll.h", "c"),
        ("curl/curl.h", "curl"),
        ("SDL2/SDL.h", "SDL2"),
    ],
)
def test_every_struct_matches_the_compiler(header, libname):
    ns = bind(header, libname)
    assert not [r for r in ns.__refused__ if "syntax error" in r.reason]
    for tag, t in structs(ns).items():
        ferrotype.check_layout(t, f"struct {tag}", header=header, raises=True)


def test_stat_poll_and_time():
    st = bind("sys/stat.h", "c")
    buf = st.struct_stat()
    path = os.fsencode(__file__)
    assert st.stat(path, ferrotype.byref(buf)) == 0
    assert buf.st_size == pathlib.Path(__file__).stat().st_size
    pl = bind("poll.h", "c")
    r, w = os.pipe()
    try:
        os.write(w, b"x")
        fds = (pl.pollfd * 2)(pl.pollfd(r, pl.POLLIN), pl.pollfd(w, pl.POLLOUT))
        assert pl.poll(fds, 2, 1000) == 2
        assert fds[0].revents & pl.POLLIN and fds[1].revents & pl.POLLOUT
    finally:
        os.close(r)
        os.close(w)
    tm = bind("time.h", "c")
    when = tm.time_t(86400 * 365)
    parts = tm.struct_tm()
    assert tm.gmtime_r(ferrotype.byref(when), ferrotype.byref(parts))
    out = ferrotype.create_string_buffer(64)
    n = tm.strftime(out, 64, b"%Y-%m-%d", ferrotype.byref(parts))
    assert out.value[:n] == b"1971-01-01"
    assert tm.localtime_r(ferrotype.byref(when), ferrotype.byref(parts))


def test_sqlite3_query_with_callback():
    sq = bind("sqlite3.h", "sqlite3")
    db = ferrotype.c_void_p()
    db = ferrotype.POINTER(sq.sqlite3)()
    assert sq.sqlite3_open(b":memory:", ferrotype.byref(db)) == sq.SQLITE_OK
    rows = []

    def on_row(ctx, n, values, names):
        rows.append({names[i]: values[i] for i in range(n)})
        return 0

    callback = sq.sqlite3_exec.argtypes[2](on_row)
    sql = b"create table t(a, b); insert into t values (1, 'one'), (2, 'two'); select * from t"
    assert sq.sqlite3_exec(db, sql, callback, None, None) == sq.SQLITE_OK
    assert rows == [{b"a": b"1", b"b": b"one"}, {b"a": b"2", b"b": b"two"}]
    assert sq.sqlite3_close(db) == sq.SQLITE_OK


def test_missing_header_gives_the_compiler_message():
    with pytest.raises(ferrotype.CCompilerError, match="no_such_header_here.h"):
        ferrotype.include("no_such_header_here.h")
