-- Account lifecycle #17, email change. One row per POST /v1/me/email: the
-- confirmation link and code sent to the new address (as hashes, like the
-- sign-in flows), the "this was not me" link sent to the old address (a
-- hash), and the state. A row is written for every well-formed request,
-- also when nothing can be changed (the address belongs to another account,
-- is the current one, or its send caps are spent), so every request costs
-- the same write; those rows hold hashes of secrets nobody was sent, so
-- they can never be confirmed, only cancelled.
-- status: pending (waits for the new address), confirmed (the address was
-- changed), cancelled (by the old address), dead (expired, superseded by a
-- newer request, out of code attempts, or nothing to change).
CREATE TABLE email_changes (
  id            TEXT PRIMARY KEY,
  user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  session_id    TEXT,                           -- the session that asked
  old_email     TEXT NOT NULL,
  new_email     TEXT NOT NULL,
  link_hash     TEXT NOT NULL UNIQUE,
  code_hash     TEXT NOT NULL,
  cancel_hash   TEXT NOT NULL UNIQUE,
  code_attempts BIGINT NOT NULL DEFAULT 0,
  mailed        BIGINT NOT NULL DEFAULT 0,     -- 1 when mails were queued (send caps)
  budget_key    TEXT NOT NULL,                  -- auth::send_budget_key(new_email)
  ip            TEXT,
  user_agent    TEXT,
  status        TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending','confirmed','cancelled','dead')),
  created_at    BIGINT NOT NULL,
  expires_at    BIGINT NOT NULL,               -- the new address may confirm until
  cancel_until  BIGINT NOT NULL,               -- the old address may cancel until (72 h)
  confirmed_at  BIGINT,
  cancelled_at  BIGINT
);
CREATE INDEX idx_email_changes_user ON email_changes(user_id, status);
CREATE INDEX idx_email_changes_budget ON email_changes(budget_key, created_at);
CREATE INDEX idx_email_changes_cancel_until ON email_changes(cancel_until);
