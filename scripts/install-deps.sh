#!/usr/bin/env bash
# Installs every Debian 12 package the project needs, by exact name, and nothing from anywhere else.
# Idempotent: packages already present are skipped, and apt is only touched when something is missing.
# Usage: scripts/install-deps.sh [build|test|all|runtime]   (default: all)
# runtime: only the shared libraries the binary links, for deploy/Dockerfile.
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config
  libcaf-dev libboost1.81-dev libsqlite3-dev nlohmann-json3-dev libssl-dev
  libspdlog-dev catch2 libtomlplusplus-dev libcli11-dev zlib1g-dev
  libcurl4-openssl-dev libcbor-dev libkainjow-mustache-dev libqrencode-dev
  python3 python3-yaml
  libpq-dev  # the PostgreSQL backend (issue 14)
  libhiredis-dev  # shared per-IP limits in Redis (issue 14)
)
# Independent verifiers and real peers used by the tests (never mocks).
test_pkgs=(
  curl python3 python3-pytest python3-jwt python3-aiosmtpd python3-cryptography oathtool
  prometheus zbar-tools librsvg2-bin openssl wrk jq nodejs npm chromium
  systemd sqlite3 util-linux clang-tidy
  clang libclang-rt-14-dev  # the libFuzzer targets (scripts/fuzz.sh)
  postgresql-15  # a throw-away server per test run (tests/tools/pg_server.py)
  redis-server  # a throw-away server for the shared per-IP limit tests
  python3-psycopg2  # the integration tests read PostgreSQL as they read SQLite
  haproxy  # deploy/haproxy.cfg in front of three nodes (test_multi_node.py)
)

# What the built binary needs to run (deploy/Dockerfile's final stage), and
# curl for its HEALTHCHECK; tests/integration/test_deploy.py checks that
# every library `ldd` names comes from one of these.
runtime_pkgs=(
  libcaf-core0.17 libcaf-io0.17 libcaf-openssl0.17 libssl3 libsqlite3-0
  libspdlog1.10 libfmt9 libcurl4 libcbor0.8 libqrencode4 zlib1g libstdc++6
  libtomlplusplus3 libgcc-s1 ca-certificates curl
  libpq5  # the PostgreSQL backend (issue 14)
  libhiredis0.14  # rate_limit.backend = "redis" (issue 14)
)

case "${1:-all}" in
  build) want=("${build_pkgs[@]}") ;;
  test|all) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  runtime) want=("${runtime_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|all|runtime]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# nodejs/npm may come from outside Debian on some images; a working node is enough.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi
