-- PostgreSQL form of migrations/0001_initial.sql (issue 14): the same
-- tables and columns; INTEGER is BIGINT (unix seconds and counters need 64
-- bits, as SQLite's INTEGER has), BLOB is BYTEA, AUTOINCREMENT is an
-- identity column. Flags stay 0/1 integers so both engines hold and compare
-- them alike.
-- Initial schema. Times are unix seconds (BIGINT here, INTEGER in SQLite). Secrets are never stored
-- in the clear: tokens as SHA-256 hex (`*_hash`), codes as HMAC, signing keys
-- and TOTP secrets encrypted (AES-256-GCM, `*_enc`).

CREATE TABLE users (
  id            TEXT PRIMARY KEY,
  email         TEXT NOT NULL UNIQUE,           -- normalised (trimmed, lower case)
  display_name  TEXT,
  locale        TEXT,
  disabled      BIGINT NOT NULL DEFAULT 0,
  created_at    BIGINT NOT NULL,
  updated_at    BIGINT NOT NULL
);

-- A session is one signed-in device; refresh tokens rotate inside it.
CREATE TABLE sessions (
  id            TEXT PRIMARY KEY,
  user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  amr           TEXT NOT NULL,                  -- JSON array, e.g. ["magic_link"]
  ip            TEXT,
  user_agent    TEXT,
  created_at    BIGINT NOT NULL,
  last_seen_at  BIGINT NOT NULL,
  expires_at    BIGINT NOT NULL,               -- sliding refresh expiry
  absolute_expires_at BIGINT NOT NULL,
  revoked_at    BIGINT,
  revoked_reason TEXT
);
CREATE INDEX idx_sessions_user ON sessions(user_id);
CREATE INDEX idx_sessions_expires ON sessions(expires_at);

-- Every refresh token ever issued for a session (its family). Rotation marks
-- the predecessor replaced and points it at its successor.
CREATE TABLE refresh_tokens (
  token_hash    TEXT PRIMARY KEY,
  session_id    TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  created_at    BIGINT NOT NULL,
  expires_at    BIGINT NOT NULL,
  replaced_at   BIGINT,
  replaced_by   TEXT,                           -- successor token_hash
  successor_enc BYTEA                            -- successor, encrypted, for the grace window
);
CREATE INDEX idx_refresh_session ON refresh_tokens(session_id);
CREATE INDEX idx_refresh_expires ON refresh_tokens(expires_at);

-- An email sign-in: one link token and one code, approved once.
CREATE TABLE email_flows (
  id            TEXT PRIMARY KEY,
  email         TEXT NOT NULL,
  user_id       TEXT REFERENCES users(id) ON DELETE CASCADE,
  flow_secret_hash TEXT NOT NULL,
  link_hash     TEXT NOT NULL UNIQUE,
  code_hash     TEXT NOT NULL,
  code_attempts BIGINT NOT NULL DEFAULT 0,
  mailed        BIGINT NOT NULL DEFAULT 0,     -- 1 when a mail was queued (send caps)
  redirect_to   TEXT,
  locale        TEXT,
  ip            TEXT,
  user_agent    TEXT,
  status        TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending','approved','collected','dead')),
  approved_session_id TEXT,
  created_at    BIGINT NOT NULL,
  expires_at    BIGINT NOT NULL,
  consumed_at   BIGINT
);
CREATE INDEX idx_email_flows_email ON email_flows(email, created_at);
CREATE INDEX idx_email_flows_expires ON email_flows(expires_at);

-- One-time codes that trade for a token response (redirect and cross-device).
CREATE TABLE exchange_codes (
  code_hash     TEXT PRIMARY KEY,
  session_id    TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  payload_enc   BYTEA NOT NULL,                  -- the token response, encrypted
  created_at    BIGINT NOT NULL,
  expires_at    BIGINT NOT NULL
);

-- The durable mail queue; a job is sent at most once per accepted attempt.
CREATE TABLE mail_jobs (
  id            TEXT PRIMARY KEY,
  message_id    TEXT NOT NULL UNIQUE,
  to_email      TEXT NOT NULL,
  template      TEXT NOT NULL,
  locale        TEXT NOT NULL,
  vars_enc      BYTEA NOT NULL,                  -- template variables (links, codes), encrypted
  status        TEXT NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued','sending','sent','failed')),
  attempts      BIGINT NOT NULL DEFAULT 0,
  last_error    TEXT,
  next_attempt_at BIGINT NOT NULL,
  lease_until   BIGINT,
  created_at    BIGINT NOT NULL,
  sent_at       BIGINT
);
CREATE INDEX idx_mail_jobs_due ON mail_jobs(status, next_attempt_at);

CREATE TABLE webauthn_credentials (
  id            TEXT PRIMARY KEY,               -- credential id, base64url
  user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  public_key    BYTEA NOT NULL,                  -- COSE_Key
  alg           BIGINT NOT NULL,
  sign_count    BIGINT NOT NULL DEFAULT 0,
  transports    TEXT NOT NULL DEFAULT '[]',
  aaguid        TEXT,
  fmt           TEXT,
  backup_eligible BIGINT NOT NULL DEFAULT 0,
  backed_up     BIGINT NOT NULL DEFAULT 0,
  user_verified BIGINT NOT NULL DEFAULT 0,
  name          TEXT NOT NULL,
  created_at    BIGINT NOT NULL,
  last_used_at  BIGINT
);
CREATE INDEX idx_webauthn_user ON webauthn_credentials(user_id);

-- Single-use challenges bound to a purpose and (for registration) a user.
CREATE TABLE webauthn_challenges (
  id            TEXT PRIMARY KEY,
  challenge     TEXT NOT NULL,                  -- base64url
  purpose       TEXT NOT NULL CHECK (purpose IN ('register','login')),
  user_id       TEXT REFERENCES users(id) ON DELETE CASCADE,
  user_verification TEXT NOT NULL,
  created_at    BIGINT NOT NULL,
  expires_at    BIGINT NOT NULL
);
CREATE INDEX idx_webauthn_challenges_expires ON webauthn_challenges(expires_at);

CREATE TABLE totp (
  user_id       TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  secret_enc    BYTEA NOT NULL,
  confirmed_at  BIGINT,
  last_used_step BIGINT NOT NULL DEFAULT 0,
  created_at    BIGINT NOT NULL
);

CREATE TABLE recovery_codes (
  code_hash     TEXT PRIMARY KEY,
  user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at    BIGINT NOT NULL,
  used_at       BIGINT
);
CREATE INDEX idx_recovery_user ON recovery_codes(user_id);

-- Consecutive failures per account and method, for lockout.
CREATE TABLE failed_attempts (
  user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  method        TEXT NOT NULL,
  failures      BIGINT NOT NULL DEFAULT 0,
  lockouts      BIGINT NOT NULL DEFAULT 0,
  locked_until  BIGINT NOT NULL DEFAULT 0,
  updated_at    BIGINT NOT NULL,
  PRIMARY KEY (user_id, method)
);

CREATE TABLE ip_filters (
  id            TEXT PRIMARY KEY,
  cidr          TEXT NOT NULL,
  action        TEXT NOT NULL CHECK (action IN ('allow','deny')),
  reason        TEXT,
  created_by    TEXT,
  created_at    BIGINT NOT NULL,
  UNIQUE (cidr, action)
);

CREATE TABLE audit_logs (
  id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  event_type    TEXT NOT NULL,
  created_at    BIGINT NOT NULL,
  user_id       TEXT,                           -- kept after the user is deleted
  email         TEXT,                           -- or its hash, by config
  ip            TEXT,
  user_agent    TEXT,
  request_id    TEXT,
  actor         TEXT,                           -- e.g. admin key id
  success       BIGINT NOT NULL DEFAULT 1,
  metadata      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX idx_audit_created ON audit_logs(created_at);
CREATE INDEX idx_audit_user ON audit_logs(user_id, created_at);
CREATE INDEX idx_audit_type ON audit_logs(event_type, created_at);

-- JWS signing keys; the private half encrypted at rest.
CREATE TABLE signing_keys (
  kid           TEXT PRIMARY KEY,
  alg           TEXT NOT NULL,
  private_key_enc BYTEA NOT NULL,
  public_jwk    TEXT NOT NULL,
  created_at    BIGINT NOT NULL,
  retired_at    BIGINT,                        -- no longer signs
  expires_at    BIGINT                         -- leaves the JWKS after this
);

CREATE TABLE admin_api_keys (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  key_hash      TEXT NOT NULL UNIQUE,
  created_at    BIGINT NOT NULL,
  last_used_at  BIGINT,
  revoked_at    BIGINT
);

CREATE TABLE webhook_endpoints (
  id            TEXT PRIMARY KEY,
  url           TEXT NOT NULL,
  secret_enc    BYTEA NOT NULL,
  event_types   TEXT NOT NULL DEFAULT '["*"]',
  enabled       BIGINT NOT NULL DEFAULT 1,
  created_at    BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
  id            TEXT PRIMARY KEY,               -- the webhook-id header
  endpoint_id   TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
  event_type    TEXT NOT NULL,
  payload       TEXT NOT NULL,
  status        TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending','delivering','succeeded','failed')),
  attempts      BIGINT NOT NULL DEFAULT 0,
  last_status_code BIGINT,
  last_error    TEXT,
  next_attempt_at BIGINT NOT NULL,
  created_at    BIGINT NOT NULL,
  delivered_at  BIGINT
);
CREATE INDEX idx_webhook_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX idx_webhook_endpoint ON webhook_deliveries(endpoint_id, created_at);

CREATE TABLE system_config (
  key           TEXT PRIMARY KEY,
  value         TEXT NOT NULL,
  updated_at    BIGINT NOT NULL
);
