#!/usr/bin/env bash
# Installs what is missing, builds, and runs the service on its embedded
# defaults (127.0.0.1:3000, ./data/auth.db, mail written to ./data/outbox).
# Extra arguments go to the binary, e.g. scripts/run.sh --set server.port=8080
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
scripts/build.sh build
exec ./build/passwordless-auth "$@"
