#!/usr/bin/env bash
# Release wheels for every supported CPython, the sdist, and the checks that they install.
#
#   tools/wheels.sh build [VER...]   a wheel per version (default 3.11-3.15) into $WHEEL_DIR,
#                                    each checked by tools/wheels.sh audit
#   tools/wheels.sh sdist            the source distribution into $WHEEL_DIR
#   tools/wheels.sh audit [WHEEL...] auditwheel's platform tag (manylinux_2_17 expected, never
#                                    newer than manylinux_2_28), a stripped extension, and no
#                                    shared library needed beyond glibc's (libffi is static),
#                                    and the type stubs inside
#   tools/wheels.sh check [VER...]   each version's wheel into a fresh venv whose PATH has no
#                                    Rust toolchain, then examples/ and a smoke subset of tests/
#   tools/wheels.sh sdist-check      the sdist into a fresh venv with pip and Rust only, then
#                                    examples/
#
# The wheels are built with `maturin build --zig --compatibility manylinux2014`: zig (from the
# `ziglang` package on PyPI) is the C compiler and linker, and links against the symbol
# versions of glibc 2.17, so the extension asks for `dlopen@GLIBC_2.2.5` (in libdl) rather than
# the host's `dlopen@GLIBC_2.34`, and `stat64` becomes the old `__fxstat64` family. libffi is
# compiled from the copy bundled in the `libffi-sys` crate (its `system` feature is off) and
# linked in statically. The tools are pinned in tools/wheel-requirements.txt and installed
# into .venvs/wheel-tools. 3.11-3.13 build on the host; 3.14 and 3.15 inside the Debian chroot
# of tools/pythons.sh (same zig, same maturin, same cargo target directory target/wheels).
#
# Linux aarch64 wheels (WHEEL_ARCHS, default "x86_64 aarch64") are built in the same chroot by
# the same maturin and zig, with Debian's Rust, which has the aarch64 standard library
# (tools/aarch64.sh installs it): manylinux2014 too, libffi inside. `check` installs the aarch64
# wheel of the version tools/aarch64.sh emulates (3.14) into an aarch64 venv and runs the same
# examples and smoke tests under qemu-user, with the C fixtures cross-compiled.
#
# Environment: WHEEL_DIR (default dist, inside the checkout for the chroot to see it),
# SMOKE_TESTS (the test files `check` runs; SMOKE_TESTS_AARCH64 under qemu), WHEEL_ARCHS.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
PYTHONS=$REPO/tools/pythons.sh
OUT=${WHEEL_DIR:-dist}
[[ $OUT == /* ]] || OUT=$REPO/$OUT
VERSIONS=(3.11 3.12 3.13 3.14 3.15)
read -r -a ARCHS <<<"${WHEEL_ARCHS:-x86_64 aarch64}"
AARCH64=$REPO/tools/aarch64.sh
AARCH64_PY=$("$AARCH64" version)
TOOLS=$REPO/.venvs/wheel-tools
TARGET=target/wheels
# The smoke subset: calls and errno, structures, callbacks, the stdlib-ctypes interop,
# numpy.ctypeslib and install().
SMOKE_TESTS=${SMOKE_TESTS:-tests/test_calls.py tests/test_structures.py tests/test_callbacks.py
tests/test_ctypeslib.py tests/test_install.py tests/test_stdlib_interop.py}
# Under emulation, a smaller one: calls, structures and callbacks.
SMOKE_TESTS_AARCH64=${SMOKE_TESTS_AARCH64:-tests/test_calls.py tests/test_structures.py
tests/test_callbacks.py}

die() { echo "wheels.sh: $*" >&2; exit 2; }
in_chroot_version() { [[ $1 == 3.14 || $1 == 3.15 ]]; }
tag() { echo "cp${1/./}"; }  # 3.11 -> cp311

# The environment a command gets when it must not see a Rust toolchain: a minimal PATH and
# only the variables that pip needs to reach its index.
clean_env() {
    local keep=(HOME="$HOME" LANG=C.UTF-8 TERM=dumb)
    for name in PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_TRUSTED_HOST PIP_DEFAULT_TIMEOUT PIP_CERT \
        PIP_FIND_LINKS PIP_DISABLE_PIP_VERSION_CHECK SSL_CERT_FILE SSL_CERT_DIR \
        REQUESTS_CA_BUNDLE HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
        if [[ -n ${!name:-} ]]; then keep+=("$name=${!name}"); fi
    done
    printf '%s\n' "${keep[@]}"
}

tools() {
    local stamp=$TOOLS/.stamp
    if [[ -f $stamp && $stamp -nt tools/wheel-requirements.txt ]]; then return 0; fi
    [[ -x $TOOLS/bin/python ]] || python3 -m venv "$TOOLS"
    "$TOOLS/bin/python" -m pip install -q --disable-pip-version-check -r tools/wheel-requirements.txt
    touch "$stamp"
}

zig_dir() { "$TOOLS/bin/python" -c 'import os, ziglang; print(os.path.dirname(ziglang.__file__))'; }

# The newest wheel of version VER (for ARCH, default x86_64) in $OUT.
wheel_of() {
    local w arch=${2:-x86_64}
    w=$(ls -t "$OUT"/ferrotype-*-"$(tag "$1")"-"$(tag "$1")"-*_"$arch".whl 2>/dev/null | head -n 1)
    [[ -n $w ]] || die "no $arch wheel for CPython $1 in $OUT (run make wheels first)"
    echo "$w"
}

build_one() {
    local v=$1 zig
    zig=$(zig_dir)
    rm -f "$OUT"/ferrotype-*-"$(tag "$v")"-"$(tag "$v")"-*_x86_64.whl
    local args=(build --release --strip --zig --compatibility manylinux2014 --out "$OUT")
    echo "==== wheel for CPython $v"
    if in_chroot_version "$v"; then
        "$PYTHONS" chroot "$v"
        # Only zig and cargo on PATH: the chroot's python3 has no ziglang, so maturin runs the
        # zig binary of the host's pinned package.
        "$PYTHONS" run "$v" env PATH="$zig:/root/.cargo/bin:/usr/bin:/bin" CARGO_TARGET_DIR=$TARGET \
            "$TOOLS/bin/maturin" "${args[@]}" --interpreter "python$v"
    else
        env PATH="$zig:$PATH" CARGO_TARGET_DIR=$TARGET \
            "$TOOLS/bin/maturin" "${args[@]}" --interpreter "$("$PYTHONS" which "$v")"
    fi
    audit "$(wheel_of "$v")"
}

# The aarch64 wheel of VER, cross-compiled in the chroot: maturin takes the interpreter's
# configuration for the target from its own tables, zig links against glibc 2.17's symbols.
build_one_aarch64() {
    local v=$1 zig
    zig=$(zig_dir)
    rm -f "$OUT"/ferrotype-*-"$(tag "$v")"-"$(tag "$v")"-*_aarch64.whl
    echo "==== aarch64 wheel for CPython $v"
    "$AARCH64" toolchain
    "$PYTHONS" run "$AARCH64_PY" env PATH="$zig:/usr/bin:/bin" CARGO_TARGET_DIR=$TARGET-aarch64 \
        "$TOOLS/bin/maturin" build --release --strip --zig --compatibility manylinux2014 \
        --target aarch64-unknown-linux-gnu --out "$OUT" --interpreter "python$v"
    audit "$(wheel_of "$v" aarch64)"
}

# audit WHEEL...: the checks every built wheel must pass.
audit() {
    local w status=0
    for w in "$@"; do
        echo "---- auditwheel show $(basename "$w")"
        "$TOOLS/bin/auditwheel" show "$w" | tee "$REPO/$TARGET/auditwheel.txt"
        "$TOOLS/bin/python" - "$w" "$REPO/$TARGET/auditwheel.txt" <<'PY' || status=1
import re, subprocess, sys, tempfile, zipfile
from pathlib import Path

wheel, report = sys.argv[1], Path(sys.argv[2]).read_text()
problems = []
tags = [int(m) for m in re.findall(r'"manylinux_2_(\d+)_(?:x86_64|aarch64)"', report)]
if not tags:
    problems.append("auditwheel names no manylinux tag")
elif max(tags) > 28:
    problems.append(f"needs manylinux_2_{max(tags)}, newer than manylinux_2_28")
elif max(tags) != 17:
    print(f"note: manylinux_2_{max(tags)}, not manylinux2014 (2_17)")
allowed = {"libc.so.6", "libpthread.so.0", "libdl.so.2", "libm.so.6", "librt.so.1",
           "libgcc_s.so.1", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"}
with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as zf:
    names = set(zf.namelist())
    for typed in ("ferrotype/py.typed", "ferrotype/__init__.pyi", "ferrotype/_native.pyi"):
        if typed not in names:
            problems.append(f"{typed} is missing (type checkers need it)")
    sos = [n for n in names if n.endswith(".so")]
    if len(sos) != 1:
        problems.append(f"expected one extension module, found {sos}")
    for name in sos:
        path = zf.extract(name, tmp)
        dyn = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=True)
        needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", dyn.stdout))
        if needed - allowed:
            problems.append(f"{name} needs {sorted(needed - allowed)}")
        sections = subprocess.run(["readelf", "-S", path], capture_output=True, text=True,
                                  check=True).stdout
        if ".symtab" in sections or ".debug_" in sections:
            problems.append(f"{name} is not stripped")
        syms = subprocess.run(["readelf", "--dyn-syms", "-W", path], capture_output=True,
                              text=True, check=True).stdout
        if re.search(r"\bUND\b.*\bffi_", syms):
            problems.append(f"{name} expects libffi from outside")
        size = Path(wheel).stat().st_size
        print(f"ok: {Path(wheel).name}: {size / 1024:.0f} KiB, needs {sorted(needed)}, "
              "stripped, no libffi.so needed")
for p in problems:
    print(f"PROBLEM: {p}")
sys.exit(1 if problems else 0)
PY
    done
    return $status
}

sdist() {
    tools
    mkdir -p "$OUT"
    rm -f "$OUT"/ferrotype-*.tar.gz
    "$TOOLS/bin/maturin" sdist --out "$OUT"
}

# venv_python VER: the interpreter that makes VER's fresh venvs (inside the chroot for 3.14/3.15).
venv_python() { "$PYTHONS" which "$1"; }

# in_env VER CMD...: CMD in the checkout, in the clean environment, for version VER (inside the
# chroot for 3.14/3.15, where the host's Rust toolchain is mounted but not on PATH).
in_env() {
    local v=$1 envs
    shift
    mapfile -t envs < <(clean_env)
    if in_chroot_version "$v"; then
        local ca=()
        # pythons.sh copies the host's CA bundle into the chroot
        if [[ -f ${PIP_CERT:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}} ]]; then
            ca=(PIP_CERT=/etc/host-ca-bundle.crt SSL_CERT_FILE=/etc/host-ca-bundle.crt
                REQUESTS_CA_BUNDLE=/etc/host-ca-bundle.crt)
        fi
        "$PYTHONS" run "$v" env -i "${envs[@]}" HOME=/root "${ca[@]}" PIP_FIND_LINKS= "$@"
    else
        env -i "${envs[@]}" "$@"
    fi
}

# rustless_path VER VENV: the PATH of a check: the venv, then the system's programs without a
# Rust toolchain. The chroot has Debian's own (tools/aarch64.sh cross-compiles with it), so
# for 3.14/3.15 that is a directory of links to /usr/bin's programs, Rust's left out.
rustless_path() {
    local v=$1 venv=$2
    if ! in_chroot_version "$v"; then
        echo "$venv/bin:/usr/bin:/bin"
        return 0
    fi
    local bin=$REPO/target/wheel-check/bin-without-rust
    in_env "$v" PATH=/usr/bin:/bin bash -c '
        rm -rf "$1" && mkdir -p "$1"
        for f in /usr/bin/*; do
            case ${f##*/} in cargo* | rust* | maturin*) ;; *) ln -s "$f" "$1/" ;; esac
        done' _ "$bin" >&2
    echo "$venv/bin:$bin"
}

check_one() {
    local v=$1 wheel venv
    wheel=$(wheel_of "$v")
    venv=$REPO/target/wheel-check/$v
    echo "==== CPython $v: $(basename "$wheel")"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    if in_chroot_version "$v"; then "$PYTHONS" chroot "$v"; fi
    local path
    path=$(rustless_path "$v" "$venv")
    in_env "$v" PATH="$path" "$(venv_python "$v")" -m venv "$venv"
    in_env "$v" PATH="$path" bash -c '
        set -e
        for tool in cargo rustc rustup maturin; do
            if command -v "$tool" >/dev/null; then echo "$tool is on PATH: $(command -v "$tool")"; exit 1; fi
        done' || die "a Rust toolchain is reachable in the check's environment"
    in_env "$v" PATH="$path" python -m pip install -q --disable-pip-version-check \
        --only-binary ferrotype "$wheel" "pytest>=8" "hypothesis>=6.100" "numpy>=1.24"
    # examples/ and the tests run with the venv's ferrotype, never the checkout's python/.
    # examples/ and the tests run with the venv's ferrotype, never the checkout's python/.
    in_env "$v" PATH="$path" PYTHONDONTWRITEBYTECODE=1 python - "$venv" $SMOKE_TESTS \
        < <(check_script)
}

# The aarch64 wheel of the emulated version in a fresh aarch64 venv (tools/aarch64.sh venv),
# then the same examples and smoke tests under qemu-user, the C fixtures cross-compiled.
check_one_aarch64() {
    local v=$1 wheel venv
    wheel=$(wheel_of "$v" aarch64)
    venv=$REPO/target/wheel-check/$v-aarch64
    echo "==== CPython $v on aarch64 (qemu-user): $(basename "$wheel")"
    AARCH64_PY=$v "$AARCH64" venv "$venv" "$wheel" "pytest>=8" "hypothesis>=6.100" "numpy>=1.24"
    local path qemu
    path=$(rustless_path "$v" "$venv")
    qemu=$("$AARCH64" qemu)
    in_env "$v" PATH="$path" bash -c '
        set -e
        for tool in cargo rustc rustup maturin; do
            if command -v "$tool" >/dev/null; then echo "$tool is on PATH: $(command -v "$tool")"; exit 1; fi
        done' || die "a Rust toolchain is reachable in the check's environment"
    in_env "$v" PATH="$path" PYTHONDONTWRITEBYTECODE=1 CC=aarch64-linux-gnu-gcc \
        NM=aarch64-linux-gnu-nm FERROTYPE_RUN="$qemu" python - "$venv" $SMOKE_TESTS_AARCH64 \
        < <(check_script)
}

# The check run by `python -` in the venv: ferrotype from the venv, examples/, smoke tests.
check_script() {
    cat <<'PY'
import os, subprocess, sys
from pathlib import Path

venv, tests = Path(sys.argv[1]).resolve(), sys.argv[2:]

def from_venv(module):
    where = Path(module.__file__).resolve()
    if venv not in where.parents:
        sys.exit(f"{module.__name__} comes from {where}, not from {venv}")
    return where

import ferrotype
import ferrotype._native
print("ferrotype", ferrotype.__file__)
from_venv(ferrotype)
from_venv(ferrotype._native)
failed = []
for example in sorted(Path("examples").glob("*.py")):
    # from a scratch directory, so that nothing of the checkout is importable
    proc = subprocess.run([sys.executable, str(example.resolve())], cwd=venv,
                          capture_output=True, text=True)
    print(f"example {example.name}: {'ok' if proc.returncode == 0 else 'FAILED'}")
    if proc.returncode:
        print(proc.stdout[-2000:], proc.stderr[-2000:])
        failed.append(example.name)
import pytest
code = pytest.main(["-q", "-p", "no:cacheprovider", "-m", "not slow", *tests])
from_venv(sys.modules["ferrotype"])
from_venv(sys.modules["ferrotype._native"])
if failed:
    sys.exit(f"examples failed: {failed}")
sys.exit(code)
PY
}

sdist_check() {
    local sdist venv=$REPO/target/wheel-check/sdist envs
    sdist=$(ls -t "$OUT"/ferrotype-*.tar.gz 2>/dev/null | head -n 1)
    [[ -n $sdist ]] || die "no sdist in $OUT (run make wheels first)"
    echo "==== pip install $(basename "$sdist") (pip and Rust only)"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    mapfile -t envs < <(clean_env)
    # pip, cargo and the system's C compiler and make: no maturin, zig or venv of the checkout
    envs+=(PATH="$venv/bin:${CARGO_HOME:-$HOME/.cargo}/bin:/usr/bin:/bin")
    env -i "${envs[@]}" python3 -m venv "$venv"
    env -i "${envs[@]}" python -m pip install -q --disable-pip-version-check \
        --no-binary ferrotype "$sdist"
    local ex
    for ex in examples/libc_structs.py examples/libm_math.py examples/libc_qsort.py; do
        (cd "$venv" && env -i "${envs[@]}" python "$REPO/$ex" >/dev/null) ||
            die "$ex failed against the sdist's build"
        echo "example $(basename "$ex"): ok"
    done
    env -i "${envs[@]}" python -c '
import sys, ferrotype; from pathlib import Path
assert Path(sys.argv[1]).resolve() in Path(ferrotype.__file__).resolve().parents, ferrotype.__file__
print("ferrotype", ferrotype.__file__)' "$venv"
}

cmd=${1:-}
shift || true
case $cmd in
    build)
        vs=("$@")
        [[ ${#vs[@]} -eq 0 ]] && vs=("${VERSIONS[@]}")
        tools
        mkdir -p "$OUT" "$TARGET"
        for arch in "${ARCHS[@]}"; do
            for v in "${vs[@]}"; do
                case $arch in
                    x86_64) build_one "$v" ;;
                    aarch64) build_one_aarch64 "$v" ;;
                    *) die "no wheels for $arch (x86_64, aarch64)" ;;
                esac
            done
        done
        ls -l "$OUT"
        ;;
    sdist) sdist ;;
    audit)
        tools
        mkdir -p "$TARGET"
        ws=("$@")
        [[ ${#ws[@]} -eq 0 ]] && ws=("$OUT"/ferrotype-*.whl)
        audit "${ws[@]}"
        ;;
    check)
        vs=("$@")
        [[ ${#vs[@]} -eq 0 ]] && vs=("${VERSIONS[@]}")
        for arch in "${ARCHS[@]}"; do
            for v in "${vs[@]}"; do
                if [[ $arch == x86_64 ]]; then check_one "$v"; fi
                # one aarch64 wheel: the version with an aarch64 interpreter under qemu
                if [[ $arch == aarch64 && $v == "$AARCH64_PY" ]]; then check_one_aarch64 "$v"; fi
            done
        done
        ;;
    sdist-check) sdist_check ;;
    *) die "usage: tools/wheels.sh build|sdist|audit|check|sdist-check [ARGS...]" ;;
esac
