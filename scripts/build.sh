#!/usr/bin/env bash
# Configures and builds one build directory. Usage: scripts/build.sh DIR [cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
dir="$1"; shift
export CCACHE_DIR="${CCACHE_DIR:-$PWD/.ccache}"
jobs="$(nproc 2>/dev/null || echo 2)"
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$dir" -j"$jobs"
