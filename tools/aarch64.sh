#!/usr/bin/env bash
# Linux aarch64 under emulation: cross-build ferrotype and run its tests on an aarch64 CPython
# under qemu-user.
#
#   tools/aarch64.sh setup          the cross toolchain, qemu-user, an aarch64 CPython sysroot and
#                                   the aarch64 venv (.venvs/aarch64) with the test dependencies
#   tools/aarch64.sh build          cross-build the extension into python/ferrotype/ (the aarch64
#                                   venv sees the checkout's python/ directory, as `maturin
#                                   develop` makes it)
#   tools/aarch64.sh run CMD...     CMD in the checkout, inside the chroot, with the aarch64
#                                   environment: `python` is the aarch64 interpreter under qemu,
#                                   CC the cross compiler, FERROTYPE_RUN the emulator
#   tools/aarch64.sh test [ARGS]    setup, build, `cargo test` of the core on aarch64, then pytest
#                                   ARGS (default: the CI subset, see CI_SKIP below)
#   tools/aarch64.sh test-full      the same with the whole suite (without the slow tests)
#   tools/aarch64.sh rust           the core's Rust tests, cross-compiled, under qemu
#   tools/aarch64.sh python         the interpreter's path inside the chroot
#   tools/aarch64.sh version|qemu   the emulated CPython's version; the emulator's command line
#   tools/aarch64.sh toolchain      only the cross toolchain and qemu-user (for tools/wheels.sh)
#   tools/aarch64.sh venv DIR [PIP ARGS...]   a fresh aarch64 venv at DIR with those wheels
#
# Everything runs in the Debian sid chroot of tools/pythons.sh ($FERROTYPE_SID, built with
# debootstrap on first use), which gets the arm64 architecture and:
#   - Debian's own Rust (rustc, cargo, libstd-rust-dev:arm64), which cross-compiles to
#     aarch64-unknown-linux-gnu (the host's rustup may not be able to add targets);
#   - gcc-aarch64-linux-gnu, which links the extension and compiles the C test fixtures and
#     the layout oracle's probes;
#   - qemu-user, which runs aarch64 programs.
# sid's arm64 CPython ($AARCH64_PY, default 3.14) is unpacked with `apt-get download` and
# `dpkg -x` into a sysroot at /opt/aarch64/sysroot inside the chroot (not installed: its amd64
# twin serves tools/pythons.sh), and the test dependencies' aarch64 wheels come from PyPI
# (pinned in tools/aarch64-requirements.txt), installed with pip's --platform/--target.
#
# There is no binfmt_misc here, so an aarch64 program cannot start another one by itself. The
# venv's bin/python is therefore a host shell script that starts qemu with `-0` set to the
# script's own path: `sys.executable` names the script, child processes (`subprocess.run(
# [sys.executable, ...])`) go through it again, and the venv's pyvenv.cfg names the sysroot's
# interpreter as its home. Host programs (the cross compiler, nm) run natively when the
# emulated interpreter starts them. A test that compiles and runs a C program puts
# $FERROTYPE_RUN in front of it (tests/ccoracle.py).
#
# Timings under emulation say nothing about performance: never report them as such. The whole
# suite takes about half an hour under qemu on two shared cores, so `make test-aarch64` (and CI)
# leaves out the test files in CI_SKIP: the slowest ones under emulation whose subject is not
# the platform (the layering checker, subprocess-per-case reliability and install tests, the
# crash fuzzer, keep-alive and strict-pointer walks, numpy.ctypeslib, the integer-store matrix,
# the docs' examples, the typing test), about two thirds of the time. `make test-aarch64-full`
# runs them too.
#
# Environment: AARCH64_PY (3.14), FERROTYPE_SID, DEBIAN_MIRROR, PYTEST_ARGS; CARGO_PROFILE_* and
# FERROTYPE_* reach the chroot (tools/pythons.sh).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
PYTHONS=$REPO/tools/pythons.sh
SID=${FERROTYPE_SID:-/opt/ferrotype-sid}
VER=${AARCH64_PY:-3.14}
TRIPLE=aarch64-unknown-linux-gnu
GNU=aarch64-linux-gnu
ROOT=/opt/aarch64            # inside the chroot
SYSROOT=$ROOT/sysroot
VENV=$REPO/.venvs/aarch64
TARGET=target/aarch64        # the cargo target directory (Debian's cargo, its own builds)
QEMU="qemu-aarch64 -L $SYSROOT"
export AARCH64_PY=$VER

CI_SKIP=(test_check_structure test_reliability test_install test_fuzz_crash test_strict_pointers
    test_lifetime test_ctypeslib test_integer_stores test_docs_examples test_typing)

die() { echo "aarch64.sh: $*" >&2; exit 2; }

# CMD inside the chroot, in the checkout, with Debian's Rust and tools first on PATH.
in_chroot() {
    "$PYTHONS" run "$VER" env PATH="$VENV/bin:/usr/bin:/bin:/usr/sbin:/sbin" \
        VIRTUAL_ENV="$VENV" CARGO_TARGET_DIR="$TARGET" "$@"
}

# The toolchain packages, installed into the chroot once.
TOOLCHAIN=(rustc cargo libstd-rust-dev:arm64 gcc-"$GNU" libc6-dev-arm64-cross binutils-"$GNU"
    qemu-user)

setup_toolchain() {
    "$PYTHONS" chroot "$VER"
    if [[ -x $SID/usr/bin/$GNU-gcc && -x $SID/usr/bin/qemu-aarch64 && -x $SID/usr/bin/cargo &&
        -d $SID/usr/lib/rustlib/$TRIPLE ]]; then
        return 0
    fi
    [[ $(id -u) -eq 0 ]] || die "installing the cross toolchain into $SID needs root"
    echo "aarch64.sh: the cross toolchain and qemu-user into $SID"
    in_chroot bash -c 'dpkg --add-architecture arm64 && apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null' _ "${TOOLCHAIN[@]}"
}

# sid's arm64 CPython, its dependencies (arm64 libraries, and the architecture-independent
# packages its stdlib needs) and its ctypes test suite, unpacked into $SYSROOT.
setup_sysroot() {
    if [[ -x $SID$SYSROOT/usr/bin/python$VER && -f $SID$SYSROOT/.complete-$VER ]]; then return 0; fi
    echo "aarch64.sh: the arm64 CPython $VER into $SYSROOT"
    in_chroot bash -c '
        set -euo pipefail
        ver=$1 root=$2 sysroot=$3
        mkdir -p "$root/debs" "$sysroot"
        cd "$root/debs"
        top=("python$ver:arm64" "libpython$ver-dev:arm64" "libpython$ver-testsuite")
        # every package the interpreter needs, by name: the arm64 ones, and the
        # architecture-independent ones (tzdata, media-types...) without a qualifier
        mapfile -t pkgs < <(apt-cache depends --recurse --no-recommends --no-suggests \
            --no-conflicts --no-breaks --no-replaces --no-enhances "${top[@]}" |
            grep -v "^ " | grep -v "^<" | sort -u |
            while read -r p; do
                case $p in
                    *:arm64) echo "$p" ;;
                    *) arch=$(apt-cache show --no-all-versions "$p" 2>/dev/null |
                            sed -n "s/^Architecture: //p" | head -n 1)
                       if [[ $arch == all ]]; then echo "$p"; fi ;;
                esac
            done)
        pkgs+=("libpython$ver-testsuite")
        rm -f ./*.deb
        apt-get download -qq "${pkgs[@]}" >/dev/null
        for deb in ./*.deb; do dpkg -x "$deb" "$sysroot"; done
        # the dynamic loader and libraries under /lib (usrmerge: /lib is /usr/lib)
        for d in lib bin sbin; do
            if [[ ! -e $sysroot/$d ]]; then ln -s "usr/$d" "$sysroot/$d"; fi
        done
        touch "$sysroot/.complete-$ver"' _ "$VER" "$ROOT" "$SYSROOT"
}

# make_venv DIR: a venv at DIR for the aarch64 interpreter: pyvenv.cfg whose home is the
# sysroot's interpreter, and bin/python the qemu wrapper (see the header).
make_venv() {
    local dir=$1
    mkdir -p "$dir/bin" "$dir/lib/python$VER/site-packages"
    cat >"$dir/pyvenv.cfg" <<EOF
home = $SYSROOT/usr/bin
include-system-site-packages = false
version = $VER
EOF
    cat >"$dir/bin/python" <<EOF
#!/bin/sh
# The aarch64 CPython $VER under qemu-user (tools/aarch64.sh): -0 makes sys.executable this file.
exec $QEMU -0 "\$0" $SYSROOT/usr/bin/python$VER "\$@"
EOF
    chmod +x "$dir/bin/python"
    ln -sf python "$dir/bin/python3"
    ln -sf python "$dir/bin/python$VER"
}

# pip_install DIR ARGS...: aarch64 wheels (only) into DIR's site-packages, by a recent pip on the
# host told the target's platform, version and ABI (pip does not run under emulation).
pip_install() {
    local dir=$1 pip=$REPO/.venvs/aarch64-pip
    shift
    if ! [[ -x $pip/bin/pip ]]; then
        python3 -m venv "$pip"
        "$pip/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
    fi
    "$pip/bin/python" -m pip install -q --disable-pip-version-check --upgrade \
        --target "$dir/lib/python$VER/site-packages" \
        --platform manylinux_2_28_aarch64 --platform manylinux2014_aarch64 \
        --python-version "$VER" --implementation cp --abi "cp${VER/./}" --only-binary=:all: "$@"
}

# The test venv: the checkout's python/ directory on its path (an editable install, as `maturin
# develop` makes), and the pinned aarch64 wheels of the test dependencies.
setup_venv() {
    make_venv "$VENV"
    local site=$VENV/lib/python$VER/site-packages version
    echo "$REPO/python" >"$site/ferrotype-editable.pth"
    # the distribution's metadata, as an editable install has it (importlib.metadata)
    version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
    rm -rf "$site"/ferrotype-*.dist-info
    mkdir -p "$site/ferrotype-$version.dist-info"
    printf 'Metadata-Version: 2.4\nName: ferrotype\nVersion: %s\n' "$version" \
        >"$site/ferrotype-$version.dist-info/METADATA"
    local stamp=$VENV/.deps-stamp
    if [[ -f $stamp && $stamp -nt tools/aarch64-requirements.txt ]]; then return 0; fi
    echo "aarch64.sh: the test dependencies' aarch64 wheels into $VENV"
    pip_install "$VENV" -r tools/aarch64-requirements.txt
    touch "$stamp"
}

setup() {
    setup_toolchain
    setup_sysroot
    setup_venv
}

# The cross-compilation settings of cargo, the cc crate (libffi, mimalloc) and PyO3.
CROSS_ENV=(CC_aarch64_unknown_linux_gnu=$GNU-gcc AR_aarch64_unknown_linux_gnu=$GNU-ar
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=$GNU-gcc
    "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER=$QEMU"
    PYO3_CROSS=1 PYO3_CROSS_LIB_DIR=$SYSROOT/usr/lib/python$VER
    PYO3_CROSS_PYTHON_VERSION=$VER PYO3_CROSS_PYTHON_IMPLEMENTATION=CPython)

build() {
    local so=python/ferrotype/_native.cpython-${VER/./}-$GNU.so
    in_chroot env "${CROSS_ENV[@]}" cargo build --release --quiet --target "$TRIPLE" \
        -p ferrotype-py
    cp "$TARGET/$TRIPLE/release/lib_native.so" "$so.tmp"
    mv "$so.tmp" "$so"
}

# CMD with the aarch64 environment (see the header).
run() {
    in_chroot env CC="$GNU-gcc" NM="$GNU-nm" "FERROTYPE_RUN=$QEMU" PYTHONDONTWRITEBYTECODE=1 \
        "$@"
}

# The core's Rust tests, cross-compiled and run under qemu.
rust_tests() {
    in_chroot env "${CROSS_ENV[@]}" cargo test --quiet --target "$TRIPLE" --workspace \
        --exclude ferrotype-py
}

cmd=${1:-}
shift || true
case $cmd in
    setup) setup ;;
    build) setup && build ;;
    run)
        [[ $# -ge 1 ]] || die "usage: run CMD..."
        run "$@"
        ;;
    python) echo "$VENV/bin/python" ;;
    version) echo "$VER" ;;
    qemu) echo "$QEMU" ;;
    toolchain) setup_toolchain ;;
    rust) setup && rust_tests ;;
    venv)  # venv DIR [PIP ARGS...]: a fresh aarch64 venv at DIR with those wheels (make wheel-check)
        [[ $# -ge 1 ]] || die "usage: venv DIR [PIP ARGS...]"
        setup_toolchain
        setup_sysroot
        dir=$1
        shift
        rm -rf "$dir"
        make_venv "$dir"
        if [[ $# -gt 0 ]]; then pip_install "$dir" "$@"; fi
        ;;
    test | test-full)
        setup
        build
        rust_tests
        # that version's CPython ctypes suite: its counts in target/aarch64/suite.json
        report=(FERROTYPE_SUITE_REPORT="$TARGET/suite.json")
        rm -f "$TARGET/suite.json"
        if [[ $# -gt 0 ]]; then
            run env "${report[@]}" python -m pytest -q -p no:cacheprovider "$@"
        else
            skip=()
            if [[ $cmd == test ]]; then
                for t in "${CI_SKIP[@]}"; do skip+=("--ignore=tests/$t.py"); done
            fi
            run env "${report[@]}" bash -c "python -m pytest -q -p no:cacheprovider \
                ${PYTEST_ARGS:--m 'not slow'} ${skip[*]}"
        fi
        [[ -f $TARGET/suite.json ]] && python3 - "$TARGET/suite.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"CPython {r['python']} ctypes suite on aarch64: {r['ferrotype_passed']}/"
      f"{r['stdlib_passed']} pass as with the stdlib, {r['deliberate']} deliberate, "
      f"{r['unexpected']} unexpected")
EOF
        ;;
    *) die "unknown command '$cmd' (setup, build, run, test, rust, python, venv, version, qemu, toolchain)" ;;
esac
