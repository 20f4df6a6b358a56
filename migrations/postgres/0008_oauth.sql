-- PostgreSQL form of migrations/0008_oauth.sql (issue 14): the same tables and
-- columns, INTEGER as BIGINT (see postgres/0001_initial.sql).
-- OpenID Provider (issue 16): registered clients, authorization codes and
-- consents, and the client a session was issued to.

-- A relying party. The secret of a confidential client is stored as the
-- HMAC-SHA-256 of the secret (a high-entropy value the service generated),
-- never in clear; public clients have none and must use PKCE.
CREATE TABLE oauth_clients (
  id                 TEXT PRIMARY KEY,         -- the client_id
  name               TEXT NOT NULL,
  type               TEXT NOT NULL CHECK (type IN ('confidential', 'public')),
  secret_hash        TEXT,                      -- NULL for public clients
  redirect_uris      TEXT NOT NULL,             -- JSON array, exact match
  post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]', -- JSON array
  first_party        BIGINT NOT NULL DEFAULT 0, -- skips the consent page
  id_token_signed_response_alg TEXT NOT NULL DEFAULT 'RS256',
  created_at         BIGINT NOT NULL,
  updated_at         BIGINT NOT NULL,
  disabled           BIGINT NOT NULL DEFAULT 0,
  deleted_at         BIGINT                    -- soft delete: codes and
                                                -- sessions still name it
);
CREATE INDEX idx_oauth_clients_created ON oauth_clients(created_at, id);

-- One authorization code (RFC 6749 §4.1.2), stored as its SHA-256. Single
-- use: the exchange counts the use in the same statement that reads it.
-- issued_session_id is what the exchange opened, so a replay revokes it.
CREATE TABLE oauth_codes (
  code_hash          TEXT PRIMARY KEY,
  client_id          TEXT NOT NULL,             -- oauth_clients.id (soft
                                                -- deleted, so no FK)
  user_id            TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  browser_session_id TEXT,                      -- the sign-in it came from
  redirect_uri       TEXT NOT NULL,
  scope              TEXT NOT NULL,             -- space-separated
  nonce              TEXT,
  code_challenge     TEXT,                      -- S256 only
  auth_time          BIGINT NOT NULL,
  amr                TEXT NOT NULL,             -- JSON array
  created_at         BIGINT NOT NULL,
  expires_at         BIGINT NOT NULL,          -- created_at + 60
  used_at            BIGINT,
  uses               BIGINT NOT NULL DEFAULT 0, -- exchanges tried
  issued_session_id  TEXT
);
CREATE INDEX idx_oauth_codes_user ON oauth_codes(user_id);
CREATE INDEX idx_oauth_codes_expires ON oauth_codes(expires_at);

-- What a user allowed a (third-party) client: one row per client, the
-- scope set as a sorted space-separated list.
CREATE TABLE oauth_consents (
  user_id            TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  client_id          TEXT NOT NULL,             -- oauth_clients.id
  scope              TEXT NOT NULL,
  created_at         BIGINT NOT NULL,
  updated_at         BIGINT NOT NULL,
  PRIMARY KEY (user_id, client_id)
);

-- Sessions opened by a code exchange belong to a client: their access
-- tokens carry aud = client_id and their scope bounds /oauth2/userinfo.
ALTER TABLE sessions ADD COLUMN client_id TEXT;
ALTER TABLE sessions ADD COLUMN scope TEXT;
