"""What every bench/ script's passwordless-auth process is started with
(bench/run.sh spells the same in bash): the database and outbox in its
working folder, a fixed secret, log level warn (request lines are info),
and no per-address send interval or per-IP limit in the way. The limiter
still runs, so each request pays its check."""

import os

# A limit no benchmark reaches.
HIGH = "100000000/60"


def service_env(workdir, **extra):
    """The process environment: os.environ without any PA_ setting of the
    caller's, plus the bench's; `extra` (PA_ names) adds or overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PA_")}
    env.update({
        "PA_LOG_LEVEL": "warn",
        "PA_AUTH_SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
        "PA_DATABASE_PATH": str(workdir / "auth.db"),
        "PA_MAIL_OUTBOX_DIR": str(workdir / "outbox"),
        "PA_AUTH_EMAIL_MIN_INTERVAL": "0",
        "PA_RATE_LIMIT_POLICIES": ",".join(f"{k}={HIGH}" for k in (
            "email_send_per_address", "email_send_per_ip", "verify_per_ip",
            "refresh_per_ip", "webauthn_per_ip", "totp_per_ip",
            "global_per_ip")),
    })
    env.update(extra)
    return env
