#!/usr/bin/env bash
# The interpreters ferrotype supports (CPython 3.11 to 3.15), and the test matrix over them.
#
#   tools/pythons.sh list              each version and where it comes from
#   tools/pythons.sh setup [VER...]    make the interpreters present (3.14/3.15: a Debian chroot)
#   tools/pythons.sh run VER CMD...    run CMD in the checkout with VER's venv first on PATH
#   tools/pythons.sh matrix [VER...]   build, Rust tests, pytest and CPython's ctypes suite on
#                                      each version, then a table version -> passed/failed
#   tools/pythons.sh chroot VER...     make the chroot's interpreters present (no venv)
#   tools/pythons.sh which VER         VER's interpreter (for 3.14/3.15: its path in the chroot)
#
# 3.11 is the machine's python3; 3.12 and 3.13 are pyenv's builds under ~/.pyenv/versions.
# 3.14 and 3.15 come from Debian's unstable distribution, installed with debootstrap into a
# chroot at $FERROTYPE_SID (default /opt/ferrotype-sid, outside the checkout so that it is
# reused between runs on the same machine). The checkout (at the same path) and the host's
# Rust toolchain are bind-mounted into it for the duration of each command.
#
# Each version gets its own venv (.venvs/<ver>, also for the chroot's interpreters, whose
# venvs only work inside it; 3.11 uses `make build`'s .venv) and its own cargo target
# directory (target/py<ver>; 3.11: target), so the builds never overwrite each other.
#
# Environment: FERROTYPE_SID, DEBIAN_MIRROR, PYTEST_ARGS (default: -m "not slow"). Variables
# named CARGO_PROFILE_* or FERROTYPE_* reach commands run in the chroot too (for a quicker
# build while iterating: CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
SID=${FERROTYPE_SID:-/opt/ferrotype-sid}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
VERSIONS=(3.11 3.12 3.13 3.14 3.15)
DEPS=("maturin>=1.7,<2" "pytest>=8" "hypothesis>=6.100" "numpy>=1.24" "cffi>=1.16" setuptools)

die() { echo "pythons.sh: $*" >&2; exit 2; }

in_chroot_version() { [[ $1 == 3.14 || $1 == 3.15 ]]; }

host_python() {
    case $1 in
        3.11) command -v python3.11 || { python3 -c 'import sys; assert sys.version_info[:2] == (3, 11)' && command -v python3; } ;;
        3.12) echo "$HOME/.pyenv/versions/3.12.1/bin/python3.12" ;;
        3.13) echo "$HOME/.pyenv/versions/3.13.0/bin/python3.13" ;;
        *) die "no host interpreter for $1" ;;
    esac
}

# ---- the chroot -------------------------------------------------------------------------------

# chroot_exec ENV... -- CMD...: CMD inside the chroot, in the checkout, with only ENV set. The
# checkout (at its own path), /proc, /dev and the host's Rust toolchain are bind-mounted in a
# private mount namespace, so they vanish when CMD ends and concurrent runs never see each
# other's mounts.
chroot_exec() {
    cp /etc/resolv.conf "$SID/etc/resolv.conf"
    # the host's CA bundle, which may hold a registry proxy's certificate
    local ca=${PIP_CERT:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}
    if [[ -f $ca ]]; then cp "$ca" "$SID/etc/host-ca-bundle.crt"; fi
    mkdir -p "$SID$REPO" "$SID/root/.rustup" "$SID/root/.cargo"
    unshare --mount --propagation private bash -c '
        set -e
        sid=$1 repo=$2 rustup=$3 cargo=$4
        shift 4
        mount --bind /proc "$sid/proc"
        mount --bind /dev "$sid/dev"
        mount --bind "$repo" "$sid$repo"
        mount --bind "$rustup" "$sid/root/.rustup"
        mount --bind "$cargo" "$sid/root/.cargo"
        exec chroot "$sid" "$@"' _ "$SID" "$REPO" "${RUSTUP_HOME:-$HOME/.rustup}" \
        "${CARGO_HOME:-$HOME/.cargo}" "$@"
}

setup_chroot() {
    local want=()
    for v in "$@"; do
        if ! [[ -x $SID/usr/bin/python$v ]]; then want+=("$v"); fi
    done
    [[ ${#want[@]} -eq 0 ]] && return 0
    [[ $(id -u) -eq 0 ]] || die "building the chroot at $SID needs root"
    if ! [[ -x $SID/usr/bin/apt-get ]]; then
        command -v debootstrap >/dev/null ||
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
        echo "pythons.sh: debootstrap sid into $SID"
        if grep -q " $SID/" /proc/mounts; then die "something is mounted under $SID"; fi
        rm -rf "$SID"
        debootstrap --variant=minbase sid "$SID" "$MIRROR" >/dev/null
        # the registry's sid may be a snapshot whose Release file has expired
        echo 'Acquire::Check-Valid-Until "false";' >"$SID/etc/apt/apt.conf.d/99nocheck"
    fi
    local pkgs=(gcc libc6-dev make)
    for v in "${want[@]}"; do
        pkgs+=("python$v-dev" "python$v-venv" "libpython$v-testsuite")
    done
    chroot_exec apt-get update -qq
    chroot_exec env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
}

# ---- running a command under a version --------------------------------------------------------

venv_dir() {  # 3.11 shares the venv and target directory of `make build`
    if [[ $1 == 3.11 ]]; then echo "$REPO/.venv"; else echo "$REPO/.venvs/$1"; fi
}

target_dir() {
    if [[ $1 == 3.11 ]]; then echo target; else echo "target/py$1"; fi
}

# run_in VER CMD...: CMD runs in the checkout with VER's venv first on PATH.
run_in() {
    local v=$1
    shift
    local venv
    venv=$(venv_dir "$v")
    local envs=(VIRTUAL_ENV="$venv" CARGO_TARGET_DIR="$(target_dir "$v")" PYTHONDONTWRITEBYTECODE=1)
    if in_chroot_version "$v"; then
        local ca=()
        if [[ -f ${PIP_CERT:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}} ]]; then
            ca=(PIP_CERT=/etc/host-ca-bundle.crt SSL_CERT_FILE=/etc/host-ca-bundle.crt
                REQUESTS_CA_BUNDLE=/etc/host-ca-bundle.crt CARGO_HTTP_CAINFO=/etc/host-ca-bundle.crt)
        fi
        local pass=()
        for name in PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_TRUSTED_HOST PIP_DEFAULT_TIMEOUT \
            HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
            if [[ -n ${!name:-} ]]; then pass+=("$name=${!name}"); fi
        done
        while IFS='=' read -r name value; do  # e.g. CARGO_PROFILE_RELEASE_LTO=off
            if [[ $name == CARGO_PROFILE_* || $name == FERROTYPE_* ]]; then pass+=("$name=$value"); fi
        done < <(env)
        chroot_exec env -i HOME=/root TERM=dumb LANG=C.UTF-8 CI="${CI:-}" "${ca[@]}" "${pass[@]}" \
            PATH="$venv/bin:/root/.cargo/bin:/usr/local/bin:/usr/bin:/bin" "${envs[@]}" \
            bash -c 'cd "$0" && exec "$@"' "$REPO" "$@"
    else
        (cd "$REPO" && env PATH="$venv/bin:$PATH" "${envs[@]}" "$@")
    fi
}

ensure_venv() {
    local v=$1 venv py
    venv=$(venv_dir "$v")
    if in_chroot_version "$v"; then
        setup_chroot "$v"
        py="/usr/bin/python$v"
        # the venv is in the checkout, but its interpreter only exists in the chroot
        [[ -f $venv/pyvenv.cfg ]] || run_in "$v" "$py" -m venv "$venv"
    else
        py=$(host_python "$v")
        [[ -x $py ]] || die "python $v not found at $py"
        [[ -x $venv/bin/python ]] || "$py" -m venv "$venv"
    fi
    run_in "$v" python -c 'import maturin, pytest, hypothesis, numpy, cffi' 2>/dev/null ||
        run_in "$v" python -m pip install -q --disable-pip-version-check "${DEPS[@]}"
    # The pinned type checkers of tests/test_typing.py (stubtest runs on each version).
    run_in "$v" python -c 'import mypy, basedpyright' 2>/dev/null ||
        run_in "$v" python -m pip install -q --disable-pip-version-check \
            -r tools/requirements-typing.txt
}

build() {
    run_in "$1" maturin develop --release --quiet
}

# ---- the matrix -------------------------------------------------------------------------------

matrix() {
    local versions=("$@") rows=() status=0
    [[ ${#versions[@]} -eq 0 ]] && versions=("${VERSIONS[@]}")
    local pytest_args='-m "not slow"'
    if [[ -n ${PYTEST_ARGS:-} ]]; then pytest_args=$PYTEST_ARGS; fi
    mkdir -p "$REPO/target/matrix"
    for v in "${versions[@]}"; do
        echo "==== CPython $v"
        local out="$REPO/target/matrix/$v" rust="ok" py="" suite="" ok=1
        mkdir -p "$out"
        rm -f "$out"/*
        # In subshells: a `die` there ends only that step, and its message is in the log.
        if ! (ensure_venv "$v") >"$out/setup.log" 2>&1 || ! (build "$v") >"$out/build.log" 2>&1; then
            tail -n 20 "$out/setup.log" "$out/build.log" 2>/dev/null || true
            rows+=("$(printf '%-6s %-9s %s' "$v" "BUILD" "failed")")
            status=1
            continue
        fi
        run_in "$v" python -c 'import sys; print(sys.version.split()[0])' >"$out/version"
        if ! run_in "$v" cargo test --workspace --exclude ferrotype-py --quiet >"$out/rust.log" 2>&1; then
            rust="FAILED"
            ok=0
        fi
        if ! run_in "$v" env FERROTYPE_SUITE_REPORT="target/matrix/$v/suite.json" \
            bash -c "python -m pytest -q -p no:cacheprovider $pytest_args" >"$out/pytest.log" 2>&1; then
            ok=0
        fi
        tail -n 3 "$out/pytest.log"
        py=$(grep -E '^(=+ )?[0-9]+ (passed|failed)' "$out/pytest.log" | tail -n 1 | sed 's/=//g; s/ in [0-9.]*s.*//; s/^ *//')
        suite=$(python3 - "$out/suite.json" <<'EOF'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except OSError:
    print("not run")
else:
    print(f"{r['ferrotype_passed']}/{r['stdlib_passed']} pass as with the stdlib, "
          f"{r['deliberate']} deliberate, {r['unexpected']} unexpected")
EOF
)
        [[ $ok -eq 1 ]] || status=1
        rows+=("$(printf '%-6s %-8s %-6s %-45s %s' "$v" "$(cat "$out/version")" "$rust" "${py:-no result}" "$suite")")
    done
    echo
    printf '%-6s %-8s %-6s %-45s %s\n' "python" "version" "rust" "pytest" "CPython ctypes suite (ferrotype/stdlib)"
    printf '%s\n' "${rows[@]}"
    return $status
}

cmd=${1:-list}
shift || true
case $cmd in
    list)
        for v in "${VERSIONS[@]}"; do
            if in_chroot_version "$v"; then
                printf '%s  chroot %s: /usr/bin/python%s\n' "$v" "$SID" "$v"
            else
                printf '%s  %s\n' "$v" "$(host_python "$v")"
            fi
        done
        ;;
    setup)
        vs=("$@")
        [[ ${#vs[@]} -eq 0 ]] && vs=("${VERSIONS[@]}")
        chrooted=()
        for v in "${vs[@]}"; do if in_chroot_version "$v"; then chrooted+=("$v"); fi; done
        [[ ${#chrooted[@]} -eq 0 ]] || setup_chroot "${chrooted[@]}"
        for v in "${vs[@]}"; do ensure_venv "$v"; done
        ;;
    run)
        [[ $# -ge 2 ]] || die "usage: run VER CMD..."
        run_in "$@"
        ;;
    build)
        for v in "$@"; do ensure_venv "$v" && build "$v"; done
        ;;
    matrix) matrix "$@" ;;
    chroot) setup_chroot "$@" ;;
    which)
        [[ $# -eq 1 ]] || die "usage: which VER"
        if in_chroot_version "$1"; then echo "/usr/bin/python$1"; else host_python "$1"; fi
        ;;
    *) die "unknown command $cmd (list, setup, run, build, matrix, chroot, which)" ;;
esac
