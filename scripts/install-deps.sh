#!/usr/bin/env bash
# Installs every Debian 12 package the project needs, by exact name, and nothing from anywhere else.
# Idempotent: packages already present are skipped, and apt is only touched when something is missing.
# Usage: scripts/install-deps.sh [build|test|all]   (default: all)
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config
  libcaf-dev libboost1.81-dev libsqlite3-dev nlohmann-json3-dev libssl-dev
  libspdlog-dev catch2 libtomlplusplus-dev libcli11-dev zlib1g-dev
  libcurl4-openssl-dev libcbor-dev libkainjow-mustache-dev libqrencode-dev
  python3 python3-yaml
)
# Independent verifiers and real peers used by the tests (never mocks).
test_pkgs=(
  curl python3 python3-pytest python3-jwt python3-aiosmtpd python3-cryptography oathtool
  prometheus zbar-tools librsvg2-bin openssl wrk jq nodejs npm chromium
)

want=("${build_pkgs[@]}")
case "${1:-all}" in
  build) ;;
  test|all) want+=("${test_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|all]" >&2; exit 2 ;;
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
