#!/usr/bin/env bash
# Memory-error runs of the test suite against a separately built extension.
#
#   tools/sanitize.sh asan [PYTEST_ARGS...]       `make test-asan`: AddressSanitizer build
#   tools/sanitize.sh valgrind [PYTEST_ARGS...]   `make test-valgrind`: memcheck, no rebuild of
#                                                 the suite's own build
#   tools/sanitize.sh build asan|valgrind         only build the extension for that mode
#
# Each mode has its own venv (.venvs/asan, .venvs/valgrind, made from the host's python3) and
# its own cargo target directory (target/asan, target/valgrind), so `make build` and the
# matrix are never touched. Both builds leave out mimalloc (cargo feature `mimalloc`): every
# Rust allocation then goes through malloc, where the sanitizer sees it. They are release
# builds (the code that ships) with line tables for readable stacks and without LTO.
#
# asan: the extension is compiled by nightly Rust with -Zsanitizer=address (installed with
#   rustup if missing; nightly is used for this mode alone). The interpreter is not
#   instrumented, so the ASan runtime (gcc's libasan, a shared library) is preloaded into it,
#   and PYTHONMALLOC=malloc sends Python's own allocations through ASan's malloc too, so a
#   read past a Python object is caught as well. Leak checking is off: CPython keeps memory
#   at exit by design. The build uses ASan's recover mode, so a report does not end the run:
#   every report of the whole suite is collected. Then the crash fuzzer (tests/fuzz, when
#   it exists) runs FUZZ_N inputs (default 1000, seed 1) against the same build.
# valgrind: memcheck over pytest with PYTHONMALLOC=malloc and tools/valgrind-python.supp
#   (CPython's known noise). Only errors with a frame in the extension (_native) count; the
#   others are listed in the log but do not fail the run. The suite under memcheck is slow
#   (see CONTRIBUTING.md), so the default is a subset: VALGRIND_TESTS (default below) with
#   PYTEST_ARGS appended; pass test paths to choose others.
#
# A pytest plugin (tools/sanitizer_plugin.py) names the test during which each report was
# written; the summary lists, per report, the test, the error and the top frames in
# ferrotype. Logs: $SANITIZE_LOGS (default target/sanitize-logs/<mode>). Exit status: 0 only
# when pytest passed and there was no report in the extension.
#
# Environment: SANITIZE_LOGS, FUZZ_N, VALGRIND_TESTS, ASAN_RUNTIME (path of a shared ASan
# runtime to preload instead of gcc's), ASAN_BUILD_STD=1 (instrument std too), PYTEST_ARGS
# (default: -m "not slow").
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
DEPS=("maturin>=1.7,<2" "pytest>=8" "hypothesis>=6.100" "numpy>=1.24" "cffi>=1.16" setuptools)
TARGET=x86_64-unknown-linux-gnu
VALGRIND_TESTS_DEFAULT="tests/test_calls.py tests/test_register_calls.py tests/test_byvalue.py \
tests/test_byvalue_arrays.py tests/test_callbacks.py tests/test_callback_args.py \
tests/test_memory.py tests/test_safety.py tests/test_simple.py tests/test_structures.py \
tests/test_buffers.py tests/test_lifetime.py tests/test_objects.py tests/test_pythonapi.py"

die() { echo "sanitize.sh: $*" >&2; exit 2; }
say() { echo "== $*" >&2; }

venv_of() { echo "$REPO/.venvs/$1"; }

ensure_venv() {
    local venv
    venv=$(venv_of "$1")
    if [[ ! -f $venv/.deps-stamp ]]; then
        say "creating $venv"
        [[ -x $venv/bin/python ]] || python3 -m venv "$venv"
        "$venv/bin/python" -m pip install -q --disable-pip-version-check "${DEPS[@]}"
        touch "$venv/.deps-stamp"
    fi
}

ensure_nightly() {
    if ! rustup run nightly rustc --version >/dev/null 2>&1; then
        say "installing the nightly Rust toolchain (for the ASan build only)"
        rustup toolchain install nightly --profile minimal
    fi
}

# The shared ASan runtime to preload: $ASAN_RUNTIME, else gcc's libasan (Debian: libasan8,
# installed with gcc). Rust's nightly ships only a static runtime, which cannot be loaded
# into an uninstrumented interpreter.
asan_runtime() {
    if [[ -n ${ASAN_RUNTIME:-} ]]; then echo "$ASAN_RUNTIME"; return; fi
    local lib
    for cc in gcc cc; do
        command -v "$cc" >/dev/null || continue
        lib=$("$cc" -print-file-name=libasan.so 2>/dev/null || true)
        if [[ -n $lib && $lib == /* && -e $lib ]]; then readlink -f "$lib"; return; fi
    done
    lib=$(ldconfig -p 2>/dev/null | awk '/libasan\.so/ {print $NF; exit}')
    if [[ -n $lib ]]; then echo "$lib"; return; fi
    die "no shared AddressSanitizer runtime found: install gcc's (Debian: apt-get install libasan8) or set ASAN_RUNTIME"
}

build() {
    local mode=$1 venv flags=() toolchain=stable
    venv=$(venv_of "$mode")
    ensure_venv "$mode"
    local cargo_z=() target_dir="$REPO/target/$mode"
    if [[ $mode == asan ]]; then
        ensure_nightly
        toolchain=nightly
        # recover mode: a report is printed and the run goes on (ASAN_OPTIONS halt_on_error=0)
        flags=(-Zsanitizer=address -Zsanitizer-recover=address -Cforce-frame-pointers=yes)
        # The standard library as shipped is not instrumented, but all its generic code
        # (Vec, slices, ptr::read/copy) is compiled into the extension, and so instrumented,
        # and ASan intercepts libc's memcpy/memmove/strlen. ASAN_BUILD_STD=1 rebuilds std
        # with the sanitizer as well (needs rust-src; a few minutes more).
        if [[ ${ASAN_BUILD_STD:-0} == 1 ]]; then
            rustup component add --toolchain nightly rust-src
            cargo_z=(-Z build-std)
            target_dir="$REPO/target/asan-std"
        fi
    fi
    say "building the extension for $mode into $venv (${target_dir#"$REPO"/})"
    # A wheel installed into the venv, not `maturin develop`: that would put the extension
    # into python/ferrotype, where `make build`'s own extension of the same name lives.
    # --target keeps RUSTFLAGS off the build scripts and proc macros, which run in the
    # uninstrumented compiler.
    local wheels="$target_dir/wheels"
    rm -rf "$wheels"
    (cd "$REPO" && env VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" \
        RUSTUP_TOOLCHAIN=$toolchain CARGO_TARGET_DIR="$target_dir" \
        CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="${flags[*]}" \
        CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
        CARGO_PROFILE_RELEASE_DEBUG=line-tables-only CARGO_PROFILE_RELEASE_STRIP=none \
        "$venv/bin/maturin" build --release --quiet --target "$TARGET" \
        --interpreter "$venv/bin/python" --out "$wheels" "${cargo_z[@]}" \
        --no-default-features --features extension-module)
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps \
        --force-reinstall "$wheels"/ferrotype-*.whl
}

logs_dir() {
    local dir=${SANITIZE_LOGS:-$REPO/target/sanitize-logs/$1}
    rm -rf "$dir"
    mkdir -p "$dir"
    echo "$dir"
}

# run_pytest MODE LOGDIR PREFIX... -- PYTEST_ARGS...: pytest under PREFIX (valgrind, or
# nothing), with the plugin that maps each report to its test.
run_pytest() {
    local mode=$1 logs=$2 venv
    shift 2
    venv=$(venv_of "$mode")
    local prefix=()
    while [[ $1 != -- ]]; do prefix+=("$1"); shift; done
    shift
    say "pytest under $mode (logs in $logs)"
    local status=0
    (cd "$REPO" && env PATH="$venv/bin:$PATH" PYTHONPATH="$REPO/tools" \
        FERROTYPE_SANITIZER="$mode" FERROTYPE_SANITIZER_LOGS="$logs" \
        PYTHONDONTWRITEBYTECODE=1 \
        "${prefix[@]}" "$venv/bin/python" -m pytest -p sanitizer_plugin -p no:cacheprovider "$@") \
        || status=$?
    return $status
}

# default_pytest_args ARRAY: append $PYTEST_ARGS (shell words), default -m "not slow"
default_pytest_args() {
    local -n into=$1
    if [[ -n ${PYTEST_ARGS:-} ]]; then
        eval "into+=($PYTEST_ARGS)"
    else
        into+=(-m "not slow")
    fi
}

asan_env() {  # asan_env LOG_PREFIX HANDLE_SEGV [MORE_OPTIONS]
    local log=$1 segv=$2 more=${3:-} rt
    rt=$(asan_runtime)
    # detect_leaks=0: CPython leaks by design at exit. halt_on_error=0 with the recover
    # build: report and go on. allocator_may_return_null=1: a huge allocation returns NULL
    # (the tests expect MemoryError) instead of ASan's "allocation-size-too-big" abort.
    # handle_segv: 1 for pytest (a crash gets ASan's stack, after faulthandler's traceback),
    # 0 for the fuzzer, whose forked children crash on purpose (raw addresses) and must die
    # of the signal for it to classify them. The other
    # interceptor defaults stay on (interposition of malloc, memcpy, strlen... is what
    # checks the interpreter's calls into the extension's memory).
    echo "LD_PRELOAD=$rt"
    echo "PYTHONMALLOC=malloc"
    echo "ASAN_OPTIONS=detect_leaks=0:halt_on_error=0:allocator_may_return_null=1:handle_segv=$segv:detect_stack_use_after_return=0:log_path=$log:log_exe_name=1:symbolize=1:abort_on_error=0:print_summary=1$more"
}

cmd_asan() {
    build asan
    local logs status=0 envs=()
    logs=$(logs_dir asan)
    mapfile -t envs < <(asan_env "$logs/asan" 1)
    local args=("$@")
    [[ ${#args[@]} -gt 0 ]] || default_pytest_args args
    local t0=$SECONDS
    run_pytest asan "$logs" env "${envs[@]}" -- -q "${args[@]}" || status=$?
    say "pytest: exit $status in $((SECONDS - t0)) s"
    if [[ -f $REPO/tests/fuzz/__main__.py ]]; then
        # The fuzzer's own address-space limit (RLIMIT_AS) would starve ASan, which reserves
        # terabytes of shadow memory: it is lifted, and ASan's max_allocation_size_mb plays
        # its part (an allocation over 256 MiB returns NULL, so MemoryError, soon enough for an
        # endless iterator to fail within the time-out). handle_segv=0: the
        # children that die of a signal must die of it for the fuzzer to see it. Reports go
        # to asan-fuzz.* logs; the summary charges them to the fuzzer.
        local n=${FUZZ_N:-1000} fstatus=0
        t0=$SECONDS
        say "crash fuzzer, N=$n, against the ASan build"
        mapfile -t envs < <(asan_env "$logs/asan-fuzz" 0 :max_allocation_size_mb=256)
        (cd "$REPO" && env "${envs[@]}" PYTHONPATH="$REPO/tests" PYTHONDONTWRITEBYTECODE=1 \
            "$(venv_of asan)/bin/python" -m fuzz --n "$n" --mem-gib 1e6 --timeout 30 --jobs 1) \
            || fstatus=$?
        say "fuzzer: exit $fstatus in $((SECONDS - t0)) s"
        [[ $fstatus == 0 ]] || status=$fstatus
    else
        say "no crash fuzzer (tests/fuzz) in this checkout: skipped"
    fi
    python3 "$REPO/tools/sanitizer_plugin.py" summary asan "$logs" || status=1
    return $status
}

cmd_valgrind() {
    command -v valgrind >/dev/null || die "valgrind not found (Debian: apt-get install valgrind)"
    build valgrind
    local logs status=0
    logs=$(logs_dir valgrind)
    local args=("$@")
    if [[ ${#args[@]} -eq 0 ]]; then
        # shellcheck disable=SC2206
        args=(${VALGRIND_TESTS:-$VALGRIND_TESTS_DEFAULT})
        default_pytest_args args
    fi
    local t0=$SECONDS
    # --error-exitcode=0: the interpreter's own records (left after the suppressions) would
    # fail every run; the summary, which counts the extension's records, decides instead.
    run_pytest valgrind "$logs" env PYTHONMALLOC=malloc \
        valgrind --tool=memcheck --error-exitcode=0 --trace-children=no \
        --suppressions="$REPO/tools/valgrind-python.supp" --num-callers=40 --fullpath-after= \
        --read-inline-info=yes --log-file="$logs/valgrind.%p" \
        -- -q "${args[@]}" || status=$?
    say "pytest: exit $status in $((SECONDS - t0)) s"
    python3 "$REPO/tools/sanitizer_plugin.py" summary valgrind "$logs" || status=1
    return $status
}

case ${1:-} in
    asan) shift; cmd_asan "$@" ;;
    valgrind) shift; cmd_valgrind "$@" ;;
    build) [[ ${2:-} == asan || ${2:-} == valgrind ]] || die "usage: $0 build asan|valgrind"; build "$2" ;;
    *) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
