"""Response timing does not tell whether an address has an account
(security review #11): POST /v1/auth/email/verify-code and
POST /v1/auth/recovery with a wrong secret take as long for a known address
as for an unknown one, as POST /v1/auth/totp/verify already did.

The statistic is built for a shared, noisy machine:
- requests for the known and the unknown address alternate in pairs (in a
  random order within each pair) over one keep-alive connection each, so
  load changes hit both sides alike;
- the per-pair differences are summarised by their median, which ignores
  the long tail of scheduler hiccups;
- its standard error is estimated from the spread (MAD) of the
  differences, and more pairs are taken until it is small enough to decide;
- the bound is a fixed 50 us plus three standard errors (at most 86 us once
  the error is down to 12 us): the unfixed build's gap (one extra database
  write) measured ~140 us here, the fixed one 10-40 us.
"""
import http.client
import json
import os
import random
import statistics
import time

import pytest

from conftest import MAIL_SCANS, wait_scans
from pa_flows import sign_in, start, wait_for_mail

BATCH = 150
MAX_PAIRS = 900      # stays under the lockout threshold set below
FIXED_BOUND_US = 50
WANTED_SE_US = 12

ENV = {
    "PA_RATE_LIMIT_ENABLED": "false",
    # The known account must never be locked during the run: a locked
    # account answers on another path.
    "PA_AUTH_LOCKOUT_THRESHOLD": "1000",
    "PA_AUTH_CODE_MAX_ATTEMPTS": "100",
}


class Timer:
    """One keep-alive connection; times a JSON POST in microseconds."""

    def __init__(self, server):
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=15)

    def post(self, path, body):
        data = json.dumps(body).encode()
        t0 = time.perf_counter_ns()
        self.conn.request("POST", path, body=data,
                          headers={"Content-Type": "application/json"})
        r = self.conn.getresponse()
        payload = r.read()
        t1 = time.perf_counter_ns()
        return (t1 - t0) / 1000.0, r.status, payload

    def close(self):
        self.conn.close()


def median_and_se(diffs):
    med = statistics.median(diffs)
    mad = statistics.median(abs(d - med) for d in diffs)
    sigma = 1.4826 * mad
    return med, 1.2533 * sigma / len(diffs) ** 0.5


def measure(known, unknown):
    """`known()`/`unknown()` each send one request and return its time.
    Returns (median difference known - unknown, its standard error, pairs)."""
    rng = random.Random(11)
    diffs = []
    # Warm up both paths (statement caches, connections).
    for _ in range(20):
        known()
        unknown()
    while True:
        for _ in range(BATCH):
            if rng.random() < 0.5:
                k = known()
                u = unknown()
            else:
                u = unknown()
                k = known()
            diffs.append(k - u)
        med, se = median_and_se(diffs)
        if se <= WANTED_SE_US or len(diffs) >= MAX_PAIRS:
            return med, se, len(diffs)


def check_equal(med, se, n, what):
    bound = FIXED_BOUND_US + 3 * se
    print(f"{what}: median difference {med:.1f} us, standard error {se:.1f} us, "
          f"{n} pairs, bound {bound:.0f} us")
    assert abs(med) <= bound, (
        f"{what}: known addresses take {med:.0f} us longer (median of {n} "
        f"paired differences, standard error {se:.1f} us, bound {bound:.0f} us)")


# Timing is a property of the shipped (Release) binary. Under AddressSanitizer
# every memory access is instrumented, so the extra write of a known address
# costs several times what it does in production and the gap says nothing
# about the binary users run; scripts/test.sh sets ASAN_OPTIONS for that run.
sanitized = pytest.mark.skipif(bool(os.environ.get("ASAN_OPTIONS")),
                               reason="timing is measured on the Release build")


@sanitized
def test_recovery_wrong_code_takes_as_long_for_known_and_unknown_addresses(start_server):
    s = start_server(env=ENV)
    sign_in(s, "known@example.com")
    tk, tu = Timer(s), Timer(s)

    def attempt(timer, email):
        def go():
            us, status, body = timer.post("/v1/auth/recovery", {
                "email": email, "recovery_code": "abcde-fghjk"})
            assert status == 400 and json.loads(body)["error"]["code"] == "invalid_code", body
            return us
        return go

    med, se, n = measure(attempt(tk, "known@example.com"),
                         attempt(tu, "unknown@example.com"))
    tk.close()
    tu.close()
    check_equal(med, se, n, "POST /v1/auth/recovery")


@sanitized
def test_verify_code_wrong_code_takes_as_long_for_known_and_unknown_addresses(start_server):
    s = start_server(env=ENV)
    sign_in(s, "known@example.com")
    flows_needed = MAX_PAIRS // 99 + 2

    def flows_for(addr):
        out = []
        for _ in range(flows_needed):
            flow = start(s.client, addr)
            out.append(flow["flow_id"])
        return out

    known_flows = flows_for("known@example.com")
    unknown_flows = flows_for("unknown@example.com")
    # Let the mailer finish its work before measuring.
    wait_for_mail(s, "unknown@example.com", count=flows_needed)
    wait_scans(s, MAIL_SCANS)
    tk, tu = Timer(s), Timer(s)

    def attempt(timer, flows):
        state = {"i": 0, "used": 0}

        def go():
            # 99 wrong codes per flow, so the attempt that kills a flow (an
            # extra write on both sides) is never measured.
            if state["used"] == 99:
                state["i"] += 1
                state["used"] = 0
            state["used"] += 1
            us, status, body = timer.post("/v1/auth/email/verify-code", {
                "flow_id": flows[state["i"]], "code": "000000"})
            assert status == 400 and json.loads(body)["error"]["code"] == "invalid_code", body
            return us
        return go

    med, se, n = measure(attempt(tk, known_flows), attempt(tu, unknown_flows))
    tk.close()
    tu.close()
    check_equal(med, se, n, "POST /v1/auth/email/verify-code")
