-- Lockout counters per source address (issue #11, Medium 2). A failure is
-- counted against the address it came from (`source`: the client's
-- rate-limit key, an IPv4 address or an IPv6 /64) and, when it guessed at a
-- secret of one account, against that account too (`user_id`); counters of
-- a source alone (passkey assertions that name no usable credential) have
-- user_id ''. So an attacker at one address locks only itself out, never
-- the owner signing in from elsewhere. Existing counters are dropped: they
-- were per account and cannot be attributed to a source.
DROP TABLE failed_attempts;

CREATE TABLE failed_attempts (
  user_id       TEXT NOT NULL,
  method        TEXT NOT NULL,
  source        TEXT NOT NULL,
  failures      BIGINT NOT NULL DEFAULT 0,
  lockouts      BIGINT NOT NULL DEFAULT 0,
  locked_until  BIGINT NOT NULL DEFAULT 0,
  updated_at    BIGINT NOT NULL,
  PRIMARY KEY (user_id, method, source)
);

-- Source-wide rows have no account, so there is no foreign key; an
-- account's rows go with it.
CREATE FUNCTION failed_attempts_user_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM failed_attempts WHERE user_id = OLD.id;
  RETURN OLD;
END
$$;
CREATE TRIGGER failed_attempts_user_deleted AFTER DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION failed_attempts_user_deleted();
