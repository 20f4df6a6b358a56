#!/usr/bin/env bash
# Configures and builds one build directory. Usage: scripts/build.sh DIR [cmake args...]
# ccache (when installed) keeps objects in its default cache; CCACHE_BASEDIR
# makes paths relative so clones in other folders share hits.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="$1"; shift
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
# Debug info (the sanitizer build) would otherwise tie cache hits to the
# clone's folder; the recorded paths only matter to a debugger.
export CCACHE_NOHASHDIR=true
jobs="$(nproc 2>/dev/null || echo 2)"
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$dir" -j"$jobs"
