-- PostgreSQL form of migrations/0009_browser_sessions.sql (issue 14): the same tables and
-- columns, INTEGER as BIGINT (see postgres/0001_initial.sql).
-- Browser sessions (issue 16): a session the hosted pages hold through the
-- `__Host-pa_session` cookie. The session itself is a row of `sessions`, so
-- it is listed, revoked (logout, logout everywhere, admin, disable, delete)
-- and bound by auth.session_idle_timeout and auth.session_max_per_user like
-- every other; this table holds only what a browser session has on top:
-- the cookie secret's SHA-256 (hex), compared in constant time. One table
-- per credential kind, like refresh_tokens: the sessions table stays what
-- every session has, and a revoked or purged session takes its row along
-- (ON DELETE CASCADE). The CSRF token is not stored: it is an HMAC keyed
-- with the cookie secret (auth/browser_cookie.hpp).
CREATE TABLE browser_sessions (
  session_id    TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
  secret_hash   TEXT NOT NULL,
  created_at    BIGINT NOT NULL
);
