#!/usr/bin/env python3
"""Turns the per-run records of bench/run.sh into a table and a JSON file.

Usage: summarize.py RUNS.jsonl RSS.jsonl SIZES.jsonl OUT.json [EXTRA.jsonl]
Run parameters arrive in the environment (DURATION, CONNECTIONS, ...).
EXTRA holds the records that are not wrk runs (the mail queue samples of
email_start, the CAF verify client). Exits 1 when any answer was not 2xx or
lacked its expected body (the results are written first).
"""
import json
import os
import statistics
import sys
import time


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def rps(run):
    return run["requests"] / (run["duration_us"] / 1e6)


def summarize(runs):
    groups = {}
    for r in runs:
        groups.setdefault((r["case"], r["kind"], r["target"]), []).append(r)
    cases = {}
    for (case, kind, target), rs in groups.items():
        rates = [rps(r) for r in rs]
        secs = sum(r["duration_us"] for r in rs) / 1e6
        cpu = sum(r["server_cpu_s"] for r in rs)
        reqs = sum(r["requests"] for r in rs)
        cases.setdefault(case, {}).setdefault(kind, {})[target] = {
            "rps_mean": round(statistics.mean(rates)),
            "rps_rounds": [round(x) for x in rates],
            # Medians over rounds: one noisy round should not move them.
            "p50_us": round(statistics.median(r["latency_us"]["p50"] for r in rs)),
            "p99_us": round(statistics.median(r["latency_us"]["p99"] for r in rs)),
            "p999_us": round(statistics.median(r["latency_us"]["p999"] for r in rs)),
            "non_2xx": sum(r["errors"]["status"] for r in rs),
            "bad_responses": sum(r.get("bad_responses", 0) for r in rs),
            "loadavg_before": [r.get("loadavg_before", "") for r in rs],
            "socket_errors": sum(v for r in rs for k, v in r["errors"].items()
                                 if k != "status"),
            "server_cpu_cores": round(cpu / secs, 2) if secs else None,
            "server_cpu_us_per_request": round(cpu * 1e6 / reqs, 1) if reqs else None,
            "server_ctx_switches_per_request": round(
                sum(r["server_ctx_switches"] for r in rs) / reqs, 2) if reqs else None,
        }
    for kinds in cases.values():
        for ts in kinds.values():
            if "service" in ts and "bare" in ts:
                ts["ratio_service_over_bare"] = round(
                    ts["service"]["rps_mean"] / ts["bare"]["rps_mean"], 3)
                # The same ratio in CPU time per request: what the req/s
                # ratio would be if both were held to the same CPU budget.
                # Steadier than req/s when other work shares the machine.
                b = ts["bare"]["server_cpu_us_per_request"]
                v = ts["service"]["server_cpu_us_per_request"]
                if b and v:
                    ts["cpu_ratio_bare_over_service"] = round(b / v, 3)
    return cases


def mail_summary(extra, cases):
    """Mail written during and after email_start: the rate it kept, the
    queue depth at the start, end and peak of the load, and how long the
    rest took to drain."""
    rec = next((e for e in extra if e.get("case") == "email_start_mail"), None)
    if not rec or len(rec["samples"]) < 2:
        return None
    ss = rec["samples"]
    end = rec["load_ended_at"]
    during = [x for x in ss if x["t"] <= end]
    first, last_load, last = ss[0], during[-1], ss[-1]
    secs = last_load["t"] - first["t"]
    return {
        "load_seconds": round(secs, 1),
        "sent_during_load": last_load["sent_total"] - first["sent_total"],
        "sent_per_second_during_load": round(
            (last_load["sent_total"] - first["sent_total"]) / secs) if secs else None,
        "queue_depth_start": first["queue_depth"],
        "queue_depth_end_of_load": last_load["queue_depth"],
        "queue_depth_max": max(x["queue_depth"] for x in ss),
        "queue_depth_at_quarters": [during[int(i * (len(during) - 1) / 4)]["queue_depth"]
                                    for i in range(5)],
        "drain_seconds_after_load": round(last["t"] - end, 1),
        "queue_depth_final": last["queue_depth"],
        "sent_total_final": last["sent_total"],
    }


def main():
    runs_f, rss_f, sizes_f, out_f = sys.argv[1:5]
    runs, rss, sizes = load(runs_f), load(rss_f), load(sizes_f)
    extra = load(sys.argv[5]) if len(sys.argv) > 5 else []
    cases = summarize(runs)
    mail = mail_summary(extra, cases)
    caf = [e for e in extra if e.get("case") == "caf_verify"]
    for s in rss:
        if s["case"] in cases:
            cases[s["case"]].setdefault("rss_kb", {}).setdefault(
                s["when"], {})[s["target"]] = s["rss_kb"]
    for s in sizes:
        if s["case"] in cases:
            cases[s["case"]].setdefault("response", {})[s["target"]] = {
                k: s[k] for k in ("status", "header_bytes", "body_bytes")}
    env = os.environ.get
    doc = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "git": env("GIT_REV", "unknown"),
        "host": {"nproc": int(env("NPROC", "0")),
                 "loadavg_before": env("LOAD_BEFORE", ""),
                 "loadavg_after": env("LOAD_AFTER", "")},
        "params": {k.lower(): env(k, "") for k in (
            "DURATION", "CONNECTIONS", "WRK_THREADS", "ROUNDS", "WARMUP",
            "LAT_DURATION", "BARE_THREADS", "SERVICE_ARGS")},
        "idle_rss_kb": {s["target"]: s["rss_kb"] for s in rss
                        if s["case"] == "startup"},
        "cases": cases,
        "email_start_mail": mail,
        "caf_verify": caf,
        "final_rss_kb": next((s["rss_kb"] for s in rss if s["case"] == "final"), None),
        "runs": runs,
    }
    with open(out_f, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")

    def ms(us):
        return f"{us / 1000:.3f}"

    print(f"\n{'case':<13}{'kind':<9}{'target':<8}{'req/s':>8}{'p50 ms':>9}"
          f"{'p99 ms':>9}{'non2xx':>7}{'cpu':>6}{'us/req':>7}{'cs/req':>7}"
          "  rounds req/s")
    for case, kinds in cases.items():
        for kind in ("load", "latency"):
            ts = kinds.get(kind, {})
            for target, s in ts.items():
                if not isinstance(s, dict):
                    continue
                print(f"{case:<13}{kind:<9}{target:<8}{s['rps_mean']:>8}"
                      f"{ms(s['p50_us']):>9}{ms(s['p99_us']):>9}"
                      f"{s['non_2xx'] + s['socket_errors']:>7}"
                      f"{s['server_cpu_cores']:>6}"
                      f"{s['server_cpu_us_per_request']:>7}"
                      f"{s['server_ctx_switches_per_request']:>7}  "
                      + " ".join(str(x) for x in s["rps_rounds"]))
            if "ratio_service_over_bare" in ts:
                print(f"{'':<13}{kind:<9}service/bare req/s = "
                      f"{ts['ratio_service_over_bare']:.3f}   "
                      f"bare/service CPU per request = "
                      f"{ts.get('cpu_ratio_bare_over_service', 0):.3f}")
        for when, by_target in kinds.get("rss_kb", {}).items():
            print(f"{'':<13}rss {when}: " + ", ".join(
                f"{t} {kb / 1024:.1f} MiB" for t, kb in by_target.items()))
        for t, r in kinds.get("response", {}).items():
            print(f"{'':<13}response {t}: {r['status']}, "
                  f"{r['header_bytes']} B headers + {r['body_bytes']} B body")
    if mail:
        print("email_start mail: " + ", ".join(f"{k} {v}" for k, v in mail.items()))
    for c in caf:
        print(f"caf_verify: {c.get('calls_per_second')} calls/s, "
              f"{c.get('inflight')} in flight, {c.get('errors')} errors, "
              f"load {c.get('loadavg_before')}")
    if doc["final_rss_kb"]:
        print(f"service rss after all runs: {doc['final_rss_kb'] / 1024:.1f} MiB")
    failed = [f"{r['case']}/{r['target']}/{r['kind']}#{r['round']}"
              for r in runs
              if r["errors"]["status"] or r.get("bad_responses", 0)]
    failed += [f"caf_verify ({c.get('errors')} errors)" for c in caf
               if c.get("errors")]
    nproc = doc["host"]["nproc"] or 1
    load1 = float((doc["host"]["loadavg_before"] or "0").split()[0])
    if load1 > nproc / 2:
        print(f"WARNING: load average {load1} on {nproc} cores before the "
              f"run: other work shares the CPU, req/s are unreliable; "
              f"compare CPU per request instead")
    print("idle rss: " + ", ".join(f"{t} {kb / 1024:.1f} MiB"
                                   for t, kb in doc["idle_rss_kb"].items()))
    print(f"cpu: server CPU cores busy during the runs (wrk shares the "
          f"{doc['host']['nproc']} cores); us/req: server CPU time per request; "
          f"cs/req: server context switches per request\nsummary: {out_f}")
    if failed:
        print("FAILED: non-2xx or wrong bodies in " + ", ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
