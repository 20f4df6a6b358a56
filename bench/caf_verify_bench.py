#!/usr/bin/python3
"""Verify calls per second over the CAF API from one remote client.

Starts the service (CAF on, per-node limit lifted, info logging), signs in
over HTTP for a token, then runs caf_verify_bench with many requests in
flight. Usage (from the repository root, after building):

  /usr/bin/python3 bench/caf_verify_bench.py [build dir] [inflight ...]
"""
import json
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = (pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build").resolve()
INFLIGHT = [int(x) for x in sys.argv[2:]] or [1, 16, 64, 256]

sys.path.insert(0, str(ROOT / "tests" / "integration"))
import os  # noqa: E402
os.environ["PA_BINARY"] = str(BUILD / "passwordless-auth")
from conftest import Server  # noqa: E402
from pa_flows import sign_in  # noqa: E402

with tempfile.TemporaryDirectory() as d:
    s = Server(d, env={"PA_CAF_ENABLED": "true", "PA_CAF_PORT": "0",
                       "PA_CAF_INSECURE_PLAINTEXT": "true",
                       "PA_CAF_RATE_LIMIT": "100000000/1", "PA_LOG_LEVEL": "info"})
    try:
        token = sign_in(s, "bench@example.com")["access_token"]
        port = s.wait_event("caf-listening")["port"]
        for n in INFLIGHT:
            out = subprocess.run([str(BUILD / "bench" / "caf_verify_bench"), "127.0.0.1",
                                  str(port), token, "--inflight", str(n), "--seconds", "5"],
                                 capture_output=True, text=True, check=True).stdout
            print(json.dumps(json.loads(out)))
    finally:
        s.stop()
