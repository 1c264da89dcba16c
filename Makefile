# ferrotype: the one entry point for local work, the README and CI.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.deps-stamp
BUILD_STAMP := $(VENV)/.build-stamp
RUST_SOURCES := $(shell find crates -name '*.rs' -o -name Cargo.toml) Cargo.toml Cargo.lock
PY_SOURCES := $(shell find python -name '*.py' -o -name '*.pyi')

.PHONY: help venv build demo fuzz test typecheck test-rust test-py test-matrix pythons test-slow test-asan test-valgrind bench bench-headers bench-on bench-calls bench-callgrind ffibench docs lint fmt clean

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet "maturin>=1.7,<2" "pytest>=8" "hypothesis>=6.100" "numpy>=1.24" \
		"cffi>=1.16" setuptools "ruff>=0.6"
	$(PIP) install --quiet -r tools/requirements-typing.txt
	touch $@

# The pinned type checkers of tests/test_typing.py (run by `make test`).
$(STAMP): tools/requirements-typing.txt

venv: $(STAMP)  ## create .venv with the build, test and bench dependencies

$(BUILD_STAMP): $(STAMP) $(RUST_SOURCES) $(PY_SOURCES) pyproject.toml
	VIRTUAL_ENV=$(abspath $(VENV)) PATH=$(abspath $(VENV))/bin:$$PATH \
		$(VENV)/bin/maturin develop --release --quiet
	touch $@

build: $(BUILD_STAMP)  ## build the extension into .venv (release)

demo: build  ## run the examples against real system libraries
	@for f in examples/*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

test-rust:  ## cargo tests of the core
	cargo test --workspace --exclude ferrotype-py --quiet

test-py: build  ## pytest suite (compiles its own C fixture)
	$(PY) -m pytest -q -m "not slow"

test: test-rust test-py  ## the whole suite: Rust tests and pytest

typecheck: build  ## the typing test alone: binding files under mypy --strict and basedpyright, stubtest
	$(PY) -m pytest -q tests/test_typing.py

test-matrix:  ## build and test on every CPython 3.11-3.15 (3.14/3.15 in a Debian chroot), then a table
	tools/pythons.sh matrix

pythons:  ## install the interpreters 3.12-3.15 and their venvs (see tools/pythons.sh)
	tools/pythons.sh setup

test-slow: build  ## the long-running tests as well
	$(PY) -m pytest -q

# Memory-error runs against a separate build (.venvs/asan, .venvs/valgrind; target/asan,
# target/valgrind), never the one above; see tools/sanitize.sh and CONTRIBUTING.md.
test-asan:  ## the suite and the crash fuzzer against an AddressSanitizer build (nightly Rust)
	tools/sanitize.sh asan

test-valgrind:  ## a subset of pytest under valgrind memcheck: uninitialised reads in the extension
	tools/sanitize.sh valgrind

# Linux aarch64 under qemu-user, in the Debian chroot of tools/pythons.sh (tools/aarch64.sh):
# the extension cross-built by Debian's Rust, the C fixtures and the layout oracle's probes by
# aarch64-linux-gnu-gcc, sid's arm64 CPython 3.14. Times under emulation are no measurements.
# test-aarch64 (CI) leaves out the slowest platform-neutral test files (CI_SKIP in the script).
.PHONY: test-aarch64 test-aarch64-full
test-aarch64:  ## aarch64 under qemu: cross-build, core tests, pytest subset incl. CPython's ctypes suite
	tools/aarch64.sh test

test-aarch64-full:  ## the same with the whole pytest suite (about half an hour under qemu)
	tools/aarch64.sh test-full

# The documentation site and the benchmark charts: exact versions in requirements-docs.txt.
DOCS_STAMP := $(VENV)/.docs-stamp
$(DOCS_STAMP): $(STAMP) requirements-docs.txt
	$(PIP) install --quiet -r requirements-docs.txt
	touch $@

# `make bench` measures on 3.11 (.venv); `make bench-on V=3.14` on another interpreter.
# Both write build/bench/bench.json and its charts (tools/bench_charts.py), which `make docs`
# then shows; docs/performance/ holds a committed set for builds without a bench run.
BENCH_OUT := build/bench
# ctypesgen, what benches/headers.py compares include() with (exact version).
BENCH_STAMP := $(VENV)/.bench-stamp
bench: build $(DOCS_STAMP) $(BENCH_STAMP)  ## call-overhead benchmarks against ctypes, cffi and a C extension; JSON and charts in build/bench
	mkdir -p $(BENCH_OUT)
	$(PY) benches/bench.py --json $(BENCH_OUT)/bench.json
	$(PY) tools/bench_charts.py $(BENCH_OUT)/bench.json --out $(BENCH_OUT)
	$(PY) benches/headers.py --only zlib.h,sqlite3.h --tools ferrotype,ctypesgen \
		--json $(BENCH_OUT)/headers-bench.json

$(BENCH_STAMP): $(STAMP) benches/requirements.txt
	$(PIP) install --quiet -r benches/requirements.txt
	touch $@

bench-headers: build $(BENCH_STAMP)  ## include() on real headers against ctypesgen and cffi: declarations bound and refused, cold and cached times
	mkdir -p $(BENCH_OUT)
	$(PY) benches/headers.py --json $(BENCH_OUT)/headers.json

# Instruction counts (valgrind callgrind) of the construction and call rows, checked against
# the performance targets; exits 1 when one is missed. CGARGS="--quick --only w1,sizeof_type".
bench-callgrind: build  ## instructions per op under callgrind, checked against the targets
	$(PY) benches/callgrind.py $(CGARGS)

bench-on:  ## the same benchmarks on interpreter V (3.11-3.15), e.g. make bench-on V=3.14
	@test -n "$(V)" || { echo "usage: make bench-on V=3.14"; exit 2; }
	tools/pythons.sh build $(V)
	mkdir -p $(BENCH_OUT)
	tools/pythons.sh run $(V) python benches/bench.py --json $(BENCH_OUT)/bench.json
	$(MAKE) $(DOCS_STAMP)
	$(PY) tools/bench_charts.py $(BENCH_OUT)/bench.json --out $(BENCH_OUT)

docs: $(DOCS_STAMP)  ## the documentation site into site/ (mkdocs --strict: any warning fails)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet
	@echo "site/index.html ($(if $(wildcard $(BENCH_OUT)/bench.json),charts of $(BENCH_OUT),committed charts))"

layout-pictures: build  ## regenerate docs/images/layout-*: byte maps rendered by headless chromium, and their tables
	$(VENV)/bin/python tools/layout_pictures.py

# Release wheels (tools/wheels.sh): manylinux2014, stripped, libffi inside. WHEEL_VERSIONS=3.11
# builds or checks only that interpreter's wheel (CI does).
WHEEL_VERSIONS ?= 3.11 3.12 3.13 3.14 3.15
.PHONY: wheels wheel-check sdist-check layout-pictures
wheels:  ## release wheels for WHEEL_VERSIONS (default 3.11-3.15) and the sdist, into dist/
	tools/wheels.sh build $(WHEEL_VERSIONS)
	tools/wheels.sh sdist

wheel-check:  ## each wheel in a fresh venv without Rust on PATH: examples/ and smoke tests
	tools/wheels.sh check $(WHEEL_VERSIONS)

sdist-check:  ## pip-install the sdist into a fresh venv (pip and Rust only), run examples
	tools/wheels.sh sdist-check

FFIBENCH ?=
bench-calls: build  ## call-path instructions (struct results by size, arguments beyond the registers) and foreign-thread callbacks/s
	$(PY) benches/calls_bench.py
	$(PY) benches/calls_bench.py --threads

ffibench: build  ## the shared yardstick (not in this repo: FFIBENCH=path/to/ffibench.py)
	@test -f "$(FFIBENCH)" || { echo "ffibench.py not given or not found; set FFIBENCH=path/to/ffibench.py"; exit 2; }
	$(PY) "$(FFIBENCH)" --module ferrotype --build-dir "$${TMPDIR:-/tmp}/ffibench-build"

lint: $(STAMP)  ## rustfmt, clippy -D warnings, ruff, the extension's layering rules
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(PY) tools/check_structure.py
	$(VENV)/bin/ruff check python tests benches examples tools
	$(VENV)/bin/ruff format --check python tests benches examples tools

fmt: $(STAMP)  ## format Rust and Python sources
	cargo fmt --all
	$(VENV)/bin/ruff format python tests benches examples tools
	$(VENV)/bin/ruff check --fix python tests benches examples tools

clean:  ## remove build products and the venv
	cargo clean
	rm -rf $(VENV) build tests/_build

# `make fuzz N=100000 SEED=1 JOBS=2 STRICT=1 IMPL=ctypes`: see tests/fuzz/__init__.py
N ?= 100000
SEED ?= 1
JOBS ?= 2
fuzz: build  ## crash fuzzer: N odd inputs (default 100000) in forked children, then a table
	PYTHONPATH=tests $(PY) -m fuzz --n $(N) --seed $(SEED) --jobs $(JOBS) \
		$(if $(STRICT),--strict) $(if $(IMPL),--impl $(IMPL))
