"""The deploy kit (deploy/, docs/operations.md, .env.example), each artefact
checked by the tool its ecosystem uses or against the real binary.

No container engine runs here (a docker client without a daemon), so the
image recipe is proven by parts: the Dockerfile is parsed and checked, the
runtime package list is checked against the libraries the built binary
links, and the final stage's layout (its ENV, non-root USER, one writable
volume on a read-only root, HEALTHCHECK, STOPSIGNAL) is run against the real
binary in a private mount namespace. No Kubernetes cluster either: the
manifests are checked against the field names of the Kubernetes API by a
small schema of our own (kubeconform is not packaged in Debian 12).
"""
import functools
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile

import pytest
import yaml

import conftest
import db_access
from conftest import BINARY, SOURCE_DIR, Server, skip_on_postgres, wait_until
from pa_flows import bearer, sign_in

DEPLOY = SOURCE_DIR / "deploy"


def run(cmd, env=None, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                          env=env, **kw)


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PA_") and k != "CREDENTIALS_DIRECTORY"}
    env.update(extra or {})
    return env


@functools.lru_cache(maxsize=None)
def config_table():
    """{section.key: default} from `check-config` with no input: every key
    of core/config.cpp's table, in its order."""
    r = run([BINARY, "check-config"], env=clean_env())
    assert r.returncode == 0, r.stderr
    keys, section = {}, None
    for line in r.stdout.splitlines():
        if m := re.match(r"^\[(\w+)\]$", line):
            section = m.group(1)
        elif m := re.match(r"^(\w+) = (.*?)(  # from .*)?$", line):
            keys[f"{section}.{m.group(1)}"] = m.group(2)
    assert len(keys) > 50
    return keys


def env_name(key):
    return "PA_" + key.replace(".", "_").upper()


def install_deps_list(name):
    text = (SOURCE_DIR / "scripts/install-deps.sh").read_text()
    m = re.search(rf"^{name}=\((.*?)^\)", text, re.S | re.M)
    assert m, name
    return re.sub(r"#.*", "", m.group(1)).split()


# -- container image ----------------------------------------------------------

def dockerfile_stages():
    """[(from line, [(INSTRUCTION, argument text)])] with continuations
    joined and comments dropped."""
    lines, cur = [], ""
    for raw in (DEPLOY / "Dockerfile").read_text().splitlines():
        if not cur and (raw.lstrip().startswith("#") or not raw.strip()):
            continue
        if raw.lstrip().startswith("#"):
            continue
        if raw.rstrip().endswith("\\"):
            cur += raw.rstrip()[:-1] + " "
            continue
        lines.append(cur + raw)
        cur = ""
    stages = []
    for line in lines:
        instr, _, arg = line.strip().partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            stages.append((arg.strip(), []))
        else:
            assert stages, "instruction before FROM: " + line
            stages[-1][1].append((instr, arg.strip()))
    return stages


def test_dockerfile_is_multi_stage_debian_non_root_with_health_check():
    stages = dockerfile_stages()
    assert len(stages) >= 2
    for base, _ in stages:
        assert base.split()[0] == "debian:12-slim", base
    build, final = stages[0][1], stages[-1][1]
    # Packages only through the README's install script (Debian archive),
    # no downloads from anywhere else.
    runs = [a for i, a in build + final if i == "RUN"]
    assert any("install-deps.sh build" in a for i, a in build if i == "RUN")
    assert any("install-deps.sh runtime" in a for i, a in final if i == "RUN")
    for a in runs:
        assert not re.search(r"\b(wget|curl|git clone|pip|npm)\b", a), a
        assert "apt-get install" not in a, "packages go through install-deps.sh"
    assert not any(i == "ADD" for i, _ in build + final)
    final_d = {}
    for i, a in final:
        final_d.setdefault(i, []).append(a)
    # Non-root, numeric (Kubernetes' runAsNonRoot can only check a number).
    (user,) = final_d["USER"]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    (volume,) = final_d["VOLUME"]
    assert json.loads(volume) == ["/data"]
    (stop,) = final_d["STOPSIGNAL"]
    assert stop == "SIGTERM"
    (health,) = final_d["HEALTHCHECK"]
    assert "/liveness" in health and "CMD" in health
    env = dockerfile_env(final)
    assert env["PA_SERVER_HOST"] == "0.0.0.0"
    assert env["PA_DATABASE_PATH"].startswith("/data/")
    assert env["PA_MAIL_OUTBOX_DIR"].startswith("/data/")
    # 0.0.0.0 is the image's own setting, never the binary's default.
    assert config_table()["server.host"] == '"127.0.0.1"'
    assert not any(i == "ENV" for i, _ in build)
    (entry,) = final_d["ENTRYPOINT"]
    assert json.loads(entry) == ["/usr/local/bin/passwordless-auth"]
    copies = [a for a in final_d["COPY"] if a.startswith("--from=build")]
    assert copies == ["--from=build /out/ /"]
    assert any("/out/usr/local/bin/passwordless-auth" in a
               for i, a in build if i == "RUN")


def dockerfile_env(instructions):
    env = {}
    for i, a in instructions:
        if i == "ENV":
            for k, v in re.findall(r'(\w+)=("[^"]*"|\S+)', a):
                env[k] = v.strip('"')
    return env


def dpkg_owners(paths):
    """{path: package that installed it}, in one dpkg call. dpkg may know a
    library under /lib or /usr/lib: Debian 12 merged them, and some
    packages still list the old one."""
    variants = {}
    for path in paths:
        for p in {path, os.path.realpath(path)}:
            for c in (p, re.sub(r"^/usr/lib/", "/lib/", p),
                      re.sub(r"^/lib/", "/usr/lib/", p)):
                variants[c] = path
    out = run(["dpkg", "-S", *variants]).stdout
    owners = {}
    for line in out.splitlines():
        pkg, _, found = line.partition(": ")
        if found in variants:
            owners[variants[found]] = pkg.split(":")[0]
    return owners


def test_runtime_packages_provide_every_library_the_binary_links():
    """The final stage installs `install-deps.sh runtime`: each shared
    library the binary needs directly must come from one of those packages
    (libc6 is in every Debian image)."""
    runtime = set(install_deps_list("runtime_pkgs"))
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]",
                        run(["readelf", "-d", BINARY]).stdout)
    assert needed
    paths = dict(re.findall(r"^\s*(\S+) => (\S+)",
                            run(["ldd", BINARY]).stdout, re.M))
    # The sanitizer build of the suite links the ASan/UBSan runtimes; the
    # image ships the Release build, which does not.
    needed = [lib for lib in needed
              if not re.match(r"lib(asan|ubsan|lsan|tsan)\.so", lib)]
    owners = dpkg_owners([paths[lib] for lib in needed])
    missing = {}
    for lib in needed:
        pkg = owners.get(paths[lib])
        assert pkg, lib
        if pkg not in runtime and pkg != "libc6":
            missing[lib] = pkg
    assert not missing, f"add to runtime_pkgs in install-deps.sh: {missing}"
    # curl for the HEALTHCHECK, CA certificates for SMTP and webhooks.
    assert {"curl", "ca-certificates"} <= runtime
    # Each one is in the Debian archive (not only installed here).
    policy = run(["apt-cache", "policy", *sorted(runtime)]).stdout
    for p in runtime:
        m = re.search(rf"^{re.escape(p)}:\n\s+Installed: .*\n\s+Candidate: (\S+)",
                      policy, re.M)
        assert m and m.group(1) != "(none)", p


@pytest.fixture
def image_root():
    """A world-traversable folder: the image's filesystem (/usr/local/bin
    and the /data volume) for the unprivileged user."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="pa-image-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for unshare/setpriv")
def test_image_final_stage_runs_as_non_root_on_a_read_only_root(
        image_root, monkeypatch):
    stages = dockerfile_stages()
    final = stages[-1][1]
    uid = dict(final)["USER"].split(":")[0]
    gid = dict(final)["USER"].split(":")[1]
    # COPY --from=build /out/ /: the binary at the same path in our root.
    binary = image_root / "usr/local/bin/passwordless-auth"
    binary.parent.mkdir(parents=True)
    shutil.copy2(BINARY, binary)
    binary.chmod(0o755)
    # RUN install -d -o 10001 -g 10001 -m 0700 /data
    data = image_root / "data"
    data.mkdir(mode=0o700)
    os.chown(data, int(uid), int(gid))
    # The container: a private mount namespace whose root and /tmp are
    # read-only, the volume bind-mounted writable, the image's USER.
    launcher = image_root / "container.sh"
    launcher.write_text(f"""#!/bin/sh
exec unshare -m --propagation private sh -c '
  data="$1"; bin="$2"; shift 2
  mount --bind "$data" "$data" &&
  mount -o remount,bind,ro / &&
  if mountpoint -q /tmp; then mount -o remount,bind,ro /tmp; fi &&
  exec setpriv --reuid={uid} --regid={gid} --clear-groups --inh-caps=-all \\
    "$bin" "$@"' sh {data} {binary} "$@"
""")
    launcher.chmod(0o755)
    monkeypatch.setattr(conftest, "BINARY", str(launcher))
    env = dockerfile_env(final)
    # The volume is /data in the image; here it is `data` (same layout).
    env["PA_DATABASE_PATH"] = str(data / "auth.db")
    env["PA_MAIL_OUTBOX_DIR"] = str(data / "outbox")
    # Without PA_AUTH_SECRET_KEY the key is generated onto the volume.
    env["PA_AUTH_SECRET_KEY"] = ""
    srv = Server(workdir=data, env=env)
    try:
        # The root really is read-only for it, and it runs as the USER.
        status = pathlib.Path(f"/proc/{srv.proc.pid}/status").read_text()
        assert re.search(rf"^Uid:\s+{uid}\s+{uid}\s", status, re.M)
        assert re.search(r"^CapEff:\s+0+$", status, re.M)
        ev = srv.wait_event("http-listening")
        assert ev["host"] == "0.0.0.0"
        tokens = sign_in(srv, "image@example.com")
        assert srv.client.get("/v1/session", headers=bearer(tokens)).status == 200
        # The HEALTHCHECK's own command, as Docker runs it (sh -c).
        health = dict(final)["HEALTHCHECK"]
        cmd = health.split("CMD", 1)[1].strip()
        r = run(["sh", "-c", cmd],
                env={**os.environ, "PA_SERVER_PORT": str(srv.port)})
        assert r.returncode == 0, r.stderr
        assert run(["sh", "-c", cmd], env={**os.environ,
                   "PA_SERVER_PORT": "1"}).returncode != 0
    finally:
        # STOPSIGNAL SIGTERM: a clean drain and exit 0.
        assert srv.stop(sig=getattr(signal, dict(final)["STOPSIGNAL"])) == 0
    owned = {p.name for p in data.iterdir() if p.stat().st_uid == int(uid)}
    # On PostgreSQL the data is the server's, not a file on the volume.
    db_file = set() if db_access.on_postgres() else {"auth.db"}
    assert {"secret.key", "outbox"} | db_file <= owned
    assert (data / "secret.key").stat().st_mode & 0o077 == 0


def test_compose_stack_wires_service_mail_catcher_and_prometheus():
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    svc = doc["services"]
    app = svc["passwordless-auth"]
    assert app["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert (DEPLOY / app["build"]["context"] / app["build"]["dockerfile"]).exists()
    assert app["read_only"] is True
    assert app["volumes"] == ["pa-data:/data"]
    assert "pa-data" in doc["volumes"]
    assert app["stop_signal"] == "SIGTERM"
    assert app["cap_drop"] == ["ALL"]
    # Published on the host's loopback only.
    for p in app["ports"]:
        assert p.startswith("127.0.0.1:"), p
    keys = {env_name(k) for k in config_table()}
    for k in app["environment"]:
        assert k in keys, k
    assert_accepted(app["environment"], "compose")
    # The mail catcher shares the service's network namespace, so the
    # plain-text relay is on loopback (the only place the service allows it).
    mail = svc["mailpit"]
    assert mail["network_mode"] == "service:passwordless-auth"
    assert app["environment"]["PA_SMTP_HOST"] == "127.0.0.1"
    assert mail["environment"]["MP_SMTP_BIND_ADDR"].endswith(
        ":" + app["environment"]["PA_SMTP_PORT"])
    prom = svc["prometheus"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in prom["volumes"]
              if v.startswith("./")}
    assert mounts["/etc/prometheus/alerts.yml"] == "./prometheus/alerts.yml"
    cfg = DEPLOY / mounts["/etc/prometheus/prometheus.yml"]
    pcfg = yaml.safe_load(cfg.read_text())
    assert pcfg["rule_files"] == ["alerts.yml"]
    (job,) = pcfg["scrape_configs"]
    assert job["job_name"] == "passwordless-auth"
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == ["passwordless-auth:3000"]
    # The prometheus image is the version whose promtool checks the rules.
    version = run(["promtool", "--version"]).stdout
    tag = prom["image"].split(":v")[1]
    assert f"version {tag}" in version, (tag, version)


# -- Prometheus and Grafana ---------------------------------------------------

def test_promtool_checks_config_and_rules_and_runs_their_unit_tests():
    r = run(["promtool", "check", "config", "prometheus.yml"],
            cwd=DEPLOY / "prometheus")
    assert r.returncode == 0, r.stdout + r.stderr
    r = run(["promtool", "check", "rules", "alerts.yml"], cwd=DEPLOY / "prometheus")
    assert r.returncode == 0, r.stdout + r.stderr
    r = run(["promtool", "test", "rules", "alerts_test.yml"],
            cwd=DEPLOY / "prometheus")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


def alert_rules():
    doc = yaml.safe_load((DEPLOY / "prometheus/alerts.yml").read_text())
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


def test_every_alert_has_a_firing_and_a_quiet_unit_test_and_a_runbook():
    tests = yaml.safe_load((DEPLOY / "prometheus/alerts_test.yml").read_text())
    fires, quiet = set(), set()
    for t in tests["tests"]:
        for a in t.get("alert_rule_test", []):
            (fires if a.get("exp_alerts") else quiet).add(a["alertname"])
    # The quiet case may be another instance in the same input (a firing
    # test whose expected alerts name only some of its instances).
    for t in tests["tests"]:
        for a in t.get("alert_rule_test", []):
            if a.get("exp_alerts"):
                series = {re.search(r'instance="([^"]+)"', s["series"]).group(1)
                          for s in t["input_series"]
                          if 'instance="' in s["series"]}
                got = {e["exp_labels"].get("instance") for e in a["exp_alerts"]}
                if series - got:
                    quiet.add(a["alertname"])
    ops = (SOURCE_DIR / "docs/operations.md").read_text()
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
               for h in re.findall(r"^#+ (.+)$", ops, re.M)}
    required = {"PasswordlessAuthDown", "PasswordlessAuthReadinessFlapping",
                "PasswordlessAuthHigh5xxRatio", "PasswordlessAuthHighP99Latency",
                "PasswordlessAuthMailQueueDeep", "PasswordlessAuthMailQueueStuck",
                "PasswordlessAuthWebhookDeliveriesFailing",
                "PasswordlessAuthWebhookCircuitOpen",
                "PasswordlessAuthRateLimitSpike", "PasswordlessAuthLockoutSpike",
                "PasswordlessAuthSigningKeyOld"}
    names = {r["alert"] for r in alert_rules()}
    assert required <= names
    for name in names:
        assert name in fires, f"{name} has no test where it fires"
        assert name in quiet, f"{name} has no test where it stays quiet"
    for r in alert_rules():
        anchor = r["annotations"]["runbook"].split("#", 1)[1]
        assert anchor in anchors, f"docs/operations.md lacks a '{r['alert']}' section"


PROMQL_WORDS = {"and", "or", "unless", "by", "without", "on", "ignoring",
                "group_left", "group_right", "offset", "bool", "inf", "nan"}


def promql_metric_names(expr):
    """Metric names an expression selects (functions, keywords, label
    matchers, ranges and grouping lists removed)."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)",
               " ", s)
    names = set()
    for m in re.finditer(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", s):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in PROMQL_WORDS:
            continue
        names.add(word)
    return names


def exposed_families(server):
    text = server.client.get("/metrics").text
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)), text


def check_names(names, families, where):
    # `up` is recorded by Prometheus for every scrape, not exposed.
    for n in names:
        if n == "up":
            continue
        base = re.sub(r"_(bucket|sum|count)$", "", n)
        if n in families:
            assert families[n] != "histogram", f"{where}: {n} needs _bucket"
            continue
        assert base in families and families[base] == "histogram", \
            f"{where}: /metrics has no {n}"


def test_promql_name_extraction():
    assert promql_metric_names(
        'histogram_quantile(0.99, sum by (le, route) (rate('
        'x_bucket{route!="/metrics", a=~"b|c"}[5m]))) > 0.5 and on(instance) '
        'time() - y{job="j"} > 90 * 86400') == {"x_bucket", "y"}


def test_alerts_and_dashboard_name_only_metrics_the_binary_exposes(server):
    # Readiness answers are counted under their route template: the
    # readiness alerts select route="/readiness".
    assert server.client.get("/readiness").status == 200
    families, text = exposed_families(server)
    assert re.search(r'^http_requests_total\{[^}]*route="/readiness"[^}]*'
                     r'status="200"', text, re.M), text
    for name in ("email_queue_oldest_due_age_seconds", "webhook_circuits_open",
                 "signing_key_created_timestamp_seconds"):
        assert name in families, name
    # The active key's creation time is set once the keys are loaded.
    stamp = wait_until(lambda: re.search(
        r"^signing_key_created_timestamp_seconds (\S+)$",
        server.client.get("/metrics").text, re.M), what="signing key gauge")
    assert float(stamp.group(1)) > 1.7e9
    for r in alert_rules():
        names = promql_metric_names(str(r["expr"]))
        assert names, r["alert"]
        check_names(names, families, r["alert"])
    dash = json.loads((DEPLOY / "grafana/passwordless-auth.json").read_text())
    queries = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    # Template variables use Grafana's label_values(SELECTOR, LABEL).
    queries += [re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1",
                       v["query"]["query"])
                for v in dash["templating"]["list"]
                if isinstance(v.get("query"), dict)]
    assert len(queries) >= 20
    used = set()
    for q in queries:
        names = promql_metric_names(q)
        assert names, q
        check_names(names, families, q)
        used |= {re.sub(r"_(bucket|sum|count)$", "", n) for n in names}
    # The dashboard shows every family the service exposes.
    assert set(families) <= used, set(families) - used


# -- systemd ------------------------------------------------------------------

UNIT = DEPLOY / "passwordless-auth.service"


def unit_settings():
    out = {}
    for line in UNIT.read_text().splitlines():
        if re.match(r"^\w+=", line):
            k, _, v = line.partition("=")
            out.setdefault(k, []).append(v)
    return out


def test_systemd_unit_verifies_and_scores_ok(tmp_path):
    # verify checks that ExecStart's program exists: point it at the build.
    text = UNIT.read_text().replace("/usr/local/bin/passwordless-auth", BINARY)
    unit = tmp_path / "passwordless-auth.service"
    unit.write_text(text)
    r = run(["systemd-analyze", "verify", str(unit)])
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr
    r = run(["systemd-analyze", "security", "--offline=true", "--no-pager",
             str(unit)])
    assert r.returncode == 0, r.stderr
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", r.stdout)
    assert m, r.stdout
    score, label = float(m.group(1)), m.group(2)
    # systemd's scale: SAFE < 1.0 <= OK < 5.0 <= MEDIUM...; the unit's header
    # records the score.
    assert label in ("OK", "SAFE") and score < 5.0, (score, label)
    assert f"exposure {score}" in UNIT.read_text(), \
        f"update the recorded score in the unit's header to {score}"


def test_systemd_unit_has_the_hardening_and_reads_secrets_as_credentials():
    s = unit_settings()
    for k, v in {"DynamicUser": "yes", "ProtectSystem": "strict",
                 "ProtectHome": "yes", "PrivateTmp": "yes",
                 "NoNewPrivileges": "yes", "CapabilityBoundingSet": "",
                 "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
                 "StateDirectory": "passwordless-auth",
                 "Restart": "on-failure"}.items():
        assert s.get(k) == [v], k
    assert "@system-service" in s["SystemCallFilter"]
    # Stopping waits longer than the drain the service itself allows.
    stop = int(s["TimeoutStopSec"][0].rstrip("s"))
    drain = float(config_table()["server.shutdown_timeout"])
    assert stop > drain
    # The database goes to the StateDirectory, the only writable path.
    env = dict(e.split("=", 1) for e in s["Environment"])
    assert env["PA_DATABASE_PATH"].startswith("/var/lib/passwordless-auth/")
    assert_accepted(env, "the unit")
    assert env["PA_MAIL_OUTBOX_DIR"].startswith("/var/lib/passwordless-auth/")
    # Every credential (also the commented ones) is a secret of the table.
    creds = re.findall(r"^#?LoadCredential=(\w+):", UNIT.read_text(), re.M)
    assert "PA_AUTH_SECRET_KEY" in creds
    for c in creds:
        assert_is_secret(c)


def assert_accepted(variables, where):
    """`check-config` takes these settings as they are (paths moved to a
    scratch folder: they need not exist here)."""
    env = clean_env({k: str(v) for k, v in variables.items()})
    with tempfile.TemporaryDirectory() as d:
        env["PA_DATABASE_PATH"] = os.path.join(d, "auth.db")
        env["PA_MAIL_OUTBOX_DIR"] = os.path.join(d, "outbox")
        r = run([BINARY, "check-config"], env=env)
    assert r.returncode == 0, f"{where}: {r.stderr}"


def assert_is_secret(env):
    """A secret is refused in a TOML file: that is how the table marks it."""
    key = next(k for k in config_table() if env_name(k) == env)
    section, name = key.split(".")
    with tempfile.NamedTemporaryFile("w", suffix=".toml") as f:
        f.write(f'[{section}]\n{name} = "x"\n')
        f.flush()
        r = run([BINARY, "--config", f.name, "check-config"], env=clean_env())
    assert r.returncode == 2 and "secrets are not read" in r.stderr, env


def test_secrets_are_read_from_the_credentials_directory(tmp_path):
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "PA_AUTH_SECRET_KEY").write_text("c" * 40 + "\n")
    (creds / "PA_ADMIN_API_KEY").write_text("admin-key-from-credential")
    env = clean_env({"CREDENTIALS_DIRECTORY": str(creds),
                     "PA_DATABASE_PATH": str(tmp_path / "auth.db")})
    r = run([BINARY, "check-config"], env=env)
    assert r.returncode == 0, r.stderr
    assert re.search(r'^secret_key = "<redacted>"  # from credential '
                     r'PA_AUTH_SECRET_KEY$', r.stdout, re.M), r.stdout
    assert re.search(r'^api_key = "<redacted>"  # from credential '
                     r'PA_ADMIN_API_KEY$', r.stdout, re.M)
    assert "auth.secret_key is not set" not in r.stderr
    assert "c" * 40 not in r.stdout + r.stderr
    # The service uses it: the bootstrap admin key works.
    srv = Server(workdir=tmp_path / "srv", env={
        "CREDENTIALS_DIRECTORY": str(creds)})
    try:
        r = srv.client.get("/v1/admin/stats", headers={
            "Authorization": "Bearer admin-key-from-credential"})
        assert r.status == 200, r
    finally:
        srv.stop()


# -- Kubernetes ---------------------------------------------------------------

# A small schema of the Kubernetes API fields the manifests use: a dict is an
# object (a leading "!" marks a required field), a list holds the element
# schema, strings name scalar types, "enum:a|b" lists the allowed values.
LABEL_SELECTOR = {"matchLabels": "map",
                  "matchExpressions": [{"!key": "str", "!operator":
                                        "enum:In|NotIn|Exists|DoesNotExist",
                                        "values": ["str"]}]}
META = {"!name": "str", "namespace": "str", "labels": "map",
        "annotations": "map"}
SECCOMP = {"!type": "enum:RuntimeDefault|Localhost|Unconfined",
           "localhostProfile": "str"}
PROBE = {"httpGet": {"!path": "str", "!port": "intstr",
                     "scheme": "enum:HTTP|HTTPS",
                     "httpHeaders": [{"!name": "str", "!value": "str"}]},
         "tcpSocket": {"!port": "intstr"}, "exec": {"command": ["str"]},
         "initialDelaySeconds": "int", "periodSeconds": "int",
         "timeoutSeconds": "int", "failureThreshold": "int",
         "successThreshold": "int", "terminationGracePeriodSeconds": "int"}
KEY_REF = {"!name": "str", "!key": "str", "optional": "bool"}
CONTAINER = {
    "!name": "str", "!image": "str",
    "imagePullPolicy": "enum:Always|IfNotPresent|Never",
    "command": ["str"], "args": ["str"], "workingDir": "str",
    "ports": [{"name": "str", "!containerPort": "int",
               "protocol": "enum:TCP|UDP|SCTP"}],
    "env": [{"!name": "str", "value": "str",
             "valueFrom": {"secretKeyRef": KEY_REF, "configMapKeyRef": KEY_REF,
                           "fieldRef": {"!fieldPath": "str"}}}],
    "envFrom": [{"secretRef": {"!name": "str"}, "configMapRef": {"!name": "str"},
                 "prefix": "str"}],
    "volumeMounts": [{"!name": "str", "!mountPath": "str", "readOnly": "bool",
                      "subPath": "str"}],
    "startupProbe": PROBE, "livenessProbe": PROBE, "readinessProbe": PROBE,
    "resources": {"requests": "qtymap", "limits": "qtymap"},
    "securityContext": {"allowPrivilegeEscalation": "bool",
                        "readOnlyRootFilesystem": "bool",
                        "runAsNonRoot": "bool", "runAsUser": "int",
                        "runAsGroup": "int", "privileged": "bool",
                        "capabilities": {"add": ["str"], "drop": ["str"]},
                        "seccompProfile": SECCOMP},
}
POD_SPEC = {
    "!containers": [CONTAINER], "initContainers": [CONTAINER],
    "volumes": [{"!name": "str",
                 "persistentVolumeClaim": {"!claimName": "str",
                                           "readOnly": "bool"},
                 "secret": {"secretName": "str", "defaultMode": "int",
                            "optional": "bool",
                            "items": [{"!key": "str", "!path": "str",
                                       "mode": "int"}]},
                 "configMap": {"!name": "str", "defaultMode": "int"},
                 "emptyDir": {"medium": "enum:|Memory", "sizeLimit": "qty"}}],
    "securityContext": {"runAsNonRoot": "bool", "runAsUser": "int",
                        "runAsGroup": "int", "fsGroup": "int",
                        "fsGroupChangePolicy": "enum:OnRootMismatch|Always",
                        "supplementalGroups": ["int"],
                        "seccompProfile": SECCOMP},
    "serviceAccountName": "str", "automountServiceAccountToken": "bool",
    "enableServiceLinks": "bool", "terminationGracePeriodSeconds": "int",
    "nodeSelector": "map", "priorityClassName": "str",
}
NP_PEER = {"podSelector": LABEL_SELECTOR, "namespaceSelector": LABEL_SELECTOR,
           "ipBlock": {"!cidr": "str", "except": ["str"]}}
NP_PORT = {"port": "intstr", "endPort": "int", "protocol": "enum:TCP|UDP|SCTP"}
TOP = {"!apiVersion": "str", "!kind": "str", "!metadata": META}
KINDS = {
    ("apps/v1", "Deployment"): {**TOP, "!spec": {
        "replicas": "int", "revisionHistoryLimit": "int",
        "minReadySeconds": "int", "progressDeadlineSeconds": "int",
        "!selector": LABEL_SELECTOR,
        "strategy": {"type": "enum:Recreate|RollingUpdate",
                     "rollingUpdate": {"maxSurge": "intstr",
                                       "maxUnavailable": "intstr"}},
        "!template": {"metadata": {"labels": "map", "annotations": "map"},
                      "!spec": POD_SPEC}}},
    ("v1", "Service"): {**TOP, "!spec": {
        "type": "enum:ClusterIP|NodePort|LoadBalancer", "selector": "map",
        "!ports": [{"name": "str", "!port": "int", "targetPort": "intstr",
                    "protocol": "enum:TCP|UDP|SCTP", "appProtocol": "str"}]}},
    ("policy/v1", "PodDisruptionBudget"): {**TOP, "!spec": {
        "minAvailable": "intstr", "maxUnavailable": "intstr",
        "!selector": LABEL_SELECTOR,
        "unhealthyPodEvictionPolicy": "enum:IfHealthyBudget|AlwaysAllow"}},
    ("v1", "Secret"): {**TOP, "type": "str", "data": "map",
                       "stringData": "map", "immutable": "bool"},
    ("v1", "PersistentVolumeClaim"): {**TOP, "!spec": {
        "!accessModes": ["enum:ReadWriteOnce|ReadOnlyMany|ReadWriteMany|"
                         "ReadWriteOncePod"],
        "!resources": {"requests": "qtymap", "limits": "qtymap"},
        "storageClassName": "str", "volumeMode": "enum:Filesystem|Block"}},
    ("networking.k8s.io/v1", "NetworkPolicy"): {**TOP, "!spec": {
        "!podSelector": LABEL_SELECTOR,
        "policyTypes": ["enum:Ingress|Egress"],
        "ingress": [{"from": [NP_PEER], "ports": [NP_PORT]}],
        "egress": [{"to": [NP_PEER], "ports": [NP_PORT]}]}},
    ("monitoring.coreos.com/v1", "ServiceMonitor"): {**TOP, "!spec": {
        "!selector": LABEL_SELECTOR, "jobLabel": "str",
        "!endpoints": [{"port": "str", "path": "str", "interval": "str",
                        "scrapeTimeout": "str", "scheme": "enum:http|https"}]}},
}
QTY = re.compile(r"^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")


def schema_errors(value, schema, path="$"):
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return [f"{path}: expected an object"]
        errs = []
        fields = {k.lstrip("!"): v for k, v in schema.items()}
        for k in schema:
            if k.startswith("!") and k[1:] not in value:
                errs.append(f"{path}.{k[1:]}: required")
        for k, v in value.items():
            if k not in fields:
                errs.append(f"{path}.{k}: unknown field")
            else:
                errs += schema_errors(v, fields[k], f"{path}.{k}")
        return errs
    if isinstance(schema, list):
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [e for i, v in enumerate(value)
                for e in schema_errors(v, schema[0], f"{path}[{i}]")]
    ok = {"str": isinstance(value, str),
          "int": isinstance(value, int) and not isinstance(value, bool),
          "bool": isinstance(value, bool),
          "intstr": isinstance(value, (int, str)) and not isinstance(value, bool),
          "qty": isinstance(value, str) and bool(QTY.match(value)),
          "map": isinstance(value, dict) and all(
              isinstance(k, str) and isinstance(v, str)
              for k, v in value.items()),
          "qtymap": isinstance(value, dict) and all(
              isinstance(v, str) and QTY.match(v) for v in value.values())
          }.get(schema)
    if schema.startswith("enum:"):
        ok = value in schema[5:].split("|")
    return [] if ok else [f"{path}: {value!r} is not {schema}"]


def manifests():
    docs = {}
    for f in sorted((DEPLOY / "k8s").glob("*.yaml")):
        if f.name == "kustomization.yaml":
            continue
        for d in yaml.safe_load_all(f.read_text()):
            docs[d["kind"]] = (f.name, d)
    return docs


def test_k8s_schema_check_rejects_a_misspelled_field():
    _, dep = manifests()["Deployment"]
    c = dep["spec"]["template"]["spec"]["containers"][0]
    bad = json.loads(json.dumps(dep))
    badc = bad["spec"]["template"]["spec"]["containers"][0]
    badc["readinesProbe"] = badc.pop("readinessProbe")
    badc["resources"]["limits"]["memory"] = 512
    errs = schema_errors(bad, KINDS[("apps/v1", "Deployment")])
    assert any("readinesProbe: unknown field" in e for e in errs), errs
    assert any(".limits: " in e and "is not qtymap" in e for e in errs), errs
    assert c["readinessProbe"]


def test_k8s_manifests_match_the_api_and_the_service():
    docs = manifests()
    assert set(docs) == {k for _, k in KINDS}
    for kind, (fname, d) in docs.items():
        schema = KINDS.get((d["apiVersion"], kind))
        assert schema, f"{fname}: {d['apiVersion']} {kind}"
        assert schema_errors(d, schema) == [], fname
    _, dep = docs["Deployment"]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    sel = dep["spec"]["selector"]["matchLabels"]
    assert sel.items() <= labels.items()
    # SQLite has one writer: one replica, and never two pods at once.
    assert dep["spec"]["replicas"] == 1
    assert dep["spec"]["strategy"]["type"] == "Recreate"
    pod = dep["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    env = {e["name"]: e.get("value") for e in c["env"]}
    table = config_table()
    for name in env:
        assert name == "CREDENTIALS_DIRECTORY" or name in {
            env_name(k) for k in table}, name
    assert_accepted({k: v for k, v in env.items()
                     if k != "CREDENTIALS_DIRECTORY"}, "deployment.yaml")
    # Probes on our own routes (the binary's route table), on a named port.
    routes = run([BINARY, "routes"]).stdout.split("\n")
    probes = {k: c[k]["httpGet"] for k in
              ("startupProbe", "livenessProbe", "readinessProbe")}
    assert probes["livenessProbe"]["path"] == "/liveness"
    assert probes["readinessProbe"]["path"] == "/readiness"
    for p in probes.values():
        assert f"GET {p['path']}" in routes
        assert p["port"] in ports
    assert ports["http"] == 3000
    # Locked down: non-root (the image's numeric USER), read-only root,
    # no privilege escalation, every capability dropped.
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    final = dockerfile_stages()[-1][1]
    assert str(pod["securityContext"]["runAsUser"]) == \
        dict(final)["USER"].split(":")[0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["terminationGracePeriodSeconds"] > float(
        table["server.shutdown_timeout"])
    assert {"cpu", "memory"} <= c["resources"]["requests"].keys()
    assert "memory" in c["resources"]["limits"]
    # Writable places: the data volume (the image's VOLUME) and /tmp.
    vols = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    for m in mounts.values():
        assert m["name"] in vols
    assert set(mounts) == {"/data", "/tmp", env["CREDENTIALS_DIRECTORY"]}
    assert mounts[env["CREDENTIALS_DIRECTORY"]]["readOnly"] is True
    _, pvc = docs["PersistentVolumeClaim"]
    assert vols["data"]["persistentVolumeClaim"]["claimName"] == \
        pvc["metadata"]["name"]
    # The secret's files are readable by the pod's group (fsGroup).
    secret_vol = vols[mounts[env["CREDENTIALS_DIRECTORY"]]["name"]]["secret"]
    assert secret_vol["defaultMode"] & 0o040
    _, secret = docs["Secret"]
    assert secret_vol["secretName"] == secret["metadata"]["name"]
    for k, v in secret["stringData"].items():
        assert_is_secret(k)
        assert len(v) < 32, "the example must not be a usable secret"
    _, service = docs["Service"]
    assert service["spec"]["selector"].items() <= labels.items()
    for p in service["spec"]["ports"]:
        assert p["targetPort"] in ports
    _, pdb = docs["PodDisruptionBudget"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    _, np = docs["NetworkPolicy"]
    assert np["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    assert set(np["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    for rule in np["spec"]["ingress"]:
        for p in rule["ports"]:
            assert p["port"] in ports or p["port"] in ports.values()
    _, sm = docs["ServiceMonitor"]
    assert sm["spec"]["selector"]["matchLabels"].items() <= \
        service["metadata"]["labels"].items()
    # The job label defaults to the Service's name: what the alerts select.
    assert service["metadata"]["name"] == "passwordless-auth"
    assert sm["spec"]["endpoints"][0]["port"] in \
        {p["name"] for p in service["spec"]["ports"]}
    kust = yaml.safe_load((DEPLOY / "k8s/kustomization.yaml").read_text())
    for r in kust["resources"]:
        assert (DEPLOY / "k8s" / r).exists(), r
    assert "secret.example.yaml" not in kust["resources"]


# -- .env.example -------------------------------------------------------------

def test_env_example_lists_every_key_of_the_config_table_and_loads(tmp_path):
    """Every key is listed once, active or commented out (a variable beats
    config.toml, so only the common ones are active); the file loads the
    documented way, and so does it with every key uncommented."""
    text = (SOURCE_DIR / ".env.example").read_text()
    active = re.findall(r"^(PA_\w+)=", text, re.M)
    listed = active + re.findall(r"^#(PA_\w+)=", text, re.M)
    assert len(listed) == len(set(listed)), "a key is listed twice"
    expected = {env_name(k) for k in config_table()}
    assert set(listed) == expected, (
        f"missing: {sorted(expected - set(listed))}, "
        f"unknown: {sorted(set(listed) - expected)}")
    assert {"PA_SERVER_PUBLIC_URL", "PA_AUTH_SECRET_KEY",
            "PA_SMTP_HOST"} <= set(active)
    everything = re.sub(r"^#(PA_\w+=)", r"\1", text, flags=re.M)
    for name, body, want in (("active", text, set(active)),
                             ("all", everything, expected)):
        (tmp_path / ".env").write_text(body)
        r = subprocess.run(
            ["bash", "-c", "set -a; . ./.env; set +a; env -0"], cwd=tmp_path,
            env={"PATH": os.environ["PATH"]}, capture_output=True, text=True)
        assert r.returncode == 0 and not r.stderr, (name, r.stderr)
        loaded = dict(kv.split("=", 1) for kv in r.stdout.split("\0")
                      if "=" in kv)
        pa = {k: v for k, v in loaded.items() if k.startswith("PA_")}
        assert set(pa) == want, name
        # ...which the service accepts as they are.
        env = clean_env(pa)
        env["PA_DATABASE_PATH"] = str(tmp_path / "auth.db")
        r = run([BINARY, "check-config"], env=env)
        assert r.returncode == 0, (name, r.stderr)
        # Values with spaces survive the shell (quoted in the file).
        assert pa["PA_WEBAUTHN_RP_NAME"] == "Passwordless Auth"


# -- backup and restore -------------------------------------------------------

def ops_block(title):
    """The shell block that follows `title` in docs/operations.md."""
    text = (SOURCE_DIR / "docs/operations.md").read_text()
    i = text.index(title)
    m = re.search(r"```sh\n(.*?)```", text[i:], re.S)
    return m.group(1)


@skip_on_postgres("the documented backup copies the SQLite file "
                  "(PostgreSQL is backed up with its own tools)")
def test_backup_while_running_and_restore_into_a_new_directory(start_server,
                                                               tmp_path):
    live = tmp_path / "live"
    # No PA_AUTH_SECRET_KEY: the generated secret.key must be backed up too.
    srv = start_server(workdir=live, env={"PA_AUTH_SECRET_KEY": ""})
    tokens = sign_in(srv, "backup@example.com")
    assert (live / "secret.key").exists()
    # The documented steps, run as written against the running service.
    backup = tmp_path / "backup"
    script = ops_block("#### Back up")
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", script],
                       env={**os.environ, "DATA": str(live),
                            "BACKUP": str(backup)},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ok" in r.stdout  # integrity_check of the copy
    # Writes after the backup are not in it; the service keeps serving.
    later = sign_in(srv, "after-backup@example.com")
    assert srv.client.get("/v1/session", headers=bearer(later)).status == 200
    restored = tmp_path / "restored"
    script = ops_block("#### Restore")
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", script],
                       env={**os.environ, "DATA": str(restored),
                            "BACKUP": str(backup)},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    srv2 = start_server(workdir=restored, env={"PA_AUTH_SECRET_KEY": ""})
    # The user and the session are there, the old signing key still
    # verifies the access token, and the refresh token rotates.
    r = srv2.client.get("/v1/session", headers=bearer(tokens))
    assert r.status == 200, r
    assert r.json()["user"]["email"] == "backup@example.com"
    r = srv2.client.post("/v1/token/refresh",
                         json={"refresh_token": tokens["refresh_token"]})
    assert r.status == 200, r
    assert srv2.client.get("/v1/session", headers=bearer(later)).status == 401
    assert not any(ev.get("event") == "secret-key-generated"
                   for ev in map(_json, srv2.lines))


def _json(line):
    try:
        return json.loads(line)
    except ValueError:
        return {}


def test_readme_points_at_the_deploy_kit():
    readme = (SOURCE_DIR / "README.md").read_text()
    m = re.search(r"^## Deploy\n(.*?)(?=^## )", readme, re.S | re.M)
    assert m, "README has no Deploy section"
    for ref in ("deploy/Dockerfile", "deploy/compose.yaml",
                "deploy/passwordless-auth.service", "deploy/k8s/",
                "deploy/prometheus/alerts.yml",
                "deploy/grafana/passwordless-auth.json", "docs/operations.md"):
        assert ref in m.group(1), ref
        assert (SOURCE_DIR / ref.rstrip("/")).exists(), ref
