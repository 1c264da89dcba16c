#!/usr/bin/env bash
# The C headers that tests/test_include.py binds (zlib, sqlite3, libpng, curl, SDL2), from Debian's
# -dev packages (without them those tests skip with the reason), and valgrind for
# `make bench-callgrind`. Run by .ci/run; on a developer machine run it by hand (as root).
# Does nothing when all are present.
set -euo pipefail
pkgs=()
[[ -e /usr/include/zlib.h ]] || pkgs+=(zlib1g-dev)
[[ -e /usr/include/sqlite3.h ]] || pkgs+=(libsqlite3-dev)
[[ -e /usr/include/png.h ]] || pkgs+=(libpng-dev)
[[ -e /usr/include/x86_64-linux-gnu/curl/curl.h || -e /usr/include/curl/curl.h ]] ||
    pkgs+=(libcurl4-openssl-dev)
[[ -e /usr/include/SDL2/SDL.h ]] || pkgs+=(libsdl2-dev)
# And valgrind, for `make bench-callgrind` (instruction counts against the targets).
command -v valgrind >/dev/null || pkgs+=(valgrind)
((${#pkgs[@]})) || exit 0
if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
    echo "install_dev_headers: not root or no apt-get; tests needing ${pkgs[*]} will skip" >&2
    exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
