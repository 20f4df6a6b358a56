#!/usr/bin/python3
"""What the lazy RS256 ID-token key (issue 16) saves at a start: the time
from launching the service on a fresh database to its first 200 on
/readiness, in two kinds of fresh start, alternated round by round:

  lazy:  no OAuth client, so only the access-token key (ES256) is made;
  eager: one OAuth client registered (its row written, no key stored), so
         the start also generates the RSA-2048 key, as every start did
         before the key became lazy.

Every test of the integration suite starts such a fresh service. Reports
the medians and their difference and ratio. Everything listens on
127.0.0.1 and is stopped at the end.

Usage (from the repository root, after building):
  /usr/bin/python3 bench/start_keys.py [BUILD_DIR]
Knobs: ROUNDS=15. Writes bench/results/start-keys.json.
"""
import json
import os
import pathlib
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = (pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build").resolve()
BINARY = BUILD / "passwordless-auth"
ROUNDS = int(os.environ.get("ROUNDS", "15"))


def env_for(work):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PA_")}
    env.update({"PA_DATABASE_PATH": str(work / "auth.db"),
                "PA_MAIL_OUTBOX_DIR": str(work / "outbox"),
                "PA_AUTH_SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
                "PA_LOG_LEVEL": "info"})
    return env


def prepare(work, with_client):
    """A database with the schema and (when `with_client`) one client, but
    no signing key: the next start makes its keys."""
    env = env_for(work)
    r = subprocess.run([str(BINARY), "oauth", "create-client", "--name", "Bench",
                        "--redirect-uri", "http://127.0.0.1:9/cb"],
                       env=env, cwd=work, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    db = sqlite3.connect(work / "auth.db", isolation_level=None)
    db.execute("DELETE FROM signing_keys")
    if not with_client:
        db.execute("DELETE FROM oauth_clients")
    db.close()


def start_to_ready(work):
    env = env_for(work)
    t0 = time.monotonic()
    proc = subprocess.Popen([str(BINARY), "--set", "server.port=0"], env=env, cwd=work,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    port = None
    try:
        for line in proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("event") == "http-listening":
                port = ev["port"]
                break
        assert port, "the service never listened"
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readiness") as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            time.sleep(0.002)
        elapsed = time.monotonic() - t0
        keys = sqlite3.connect(work / "auth.db").execute(
            "SELECT alg FROM signing_keys ORDER BY alg").fetchall()
        return elapsed, [k[0] for k in keys]
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def main():
    times = {"lazy": [], "eager": []}
    for i in range(ROUNDS):
        for kind in (("lazy", "eager") if i % 2 == 0 else ("eager", "lazy")):
            work = pathlib.Path(tempfile.mkdtemp(prefix=f"pa-start-{kind}-"))
            try:
                prepare(work, with_client=(kind == "eager"))
                t, algs = start_to_ready(work)
                want = ["ES256", "RS256"] if kind == "eager" else ["ES256"]
                assert algs == want, (kind, algs)
                times[kind].append(t)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    lazy = statistics.median(times["lazy"])
    eager = statistics.median(times["eager"])
    out = {"rounds": ROUNDS, "median_lazy_ms": round(lazy * 1000, 1),
           "median_eager_ms": round(eager * 1000, 1),
           "saved_ms": round((eager - lazy) * 1000, 1),
           "eager_over_lazy": round(eager / lazy, 2),
           "lazy_ms": [round(t * 1000, 1) for t in times["lazy"]],
           "eager_ms": [round(t * 1000, 1) for t in times["eager"]]}
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "start-keys.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
