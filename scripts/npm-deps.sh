#!/usr/bin/env bash
# Installs the npm packages the browser and OpenAPI tests use (from the npm
# registry, pinned in tests/browser/package.json) unless already present.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f tests/browser/package.json ]; then
  if [ ! -d tests/browser/node_modules ] || [ tests/browser/package.json -nt tests/browser/node_modules ]; then
    (cd tests/browser && npm install --no-audit --no-fund --loglevel=error)
    touch tests/browser/node_modules
  fi
fi
