-- PostgreSQL form of migrations/0010_work_claims.sql (issue 14): the same
-- columns and cursor, INTEGER as BIGINT, plus audit_logs.tx.
-- Work done once across nodes. A mail job or a webhook delivery is leased by
-- one process (lease_owner) until lease_until, claimed with FOR UPDATE SKIP
-- LOCKED so that nodes claiming at once take disjoint rows; an expired lease
-- is anyone's to take again. Webhook deliveries are derived from committed
-- audit rows: webhook_cursor holds the last audit row turned into
-- deliveries, advanced in the same unit that inserts them.
ALTER TABLE mail_jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE webhook_deliveries ADD COLUMN lease_owner TEXT;
ALTER TABLE webhook_deliveries ADD COLUMN lease_until BIGINT;
ALTER TABLE webhook_deliveries ADD COLUMN audit_id BIGINT;
CREATE UNIQUE INDEX idx_webhook_audit_row ON webhook_deliveries(endpoint_id, audit_id);
-- Identity values are handed out at insert, not at commit: with several
-- nodes a row with a smaller id can commit after a larger one was read, so
-- a cursor on id alone would skip it. Each row records its transaction id;
-- the reader takes only rows of transactions older than its snapshot's xmin
-- (all finished, so no such row can appear later) in (tx, id) order.
-- Existing rows keep tx NULL (never read); no table rewrite.
ALTER TABLE audit_logs ADD COLUMN tx xid8;
ALTER TABLE audit_logs ALTER COLUMN tx SET DEFAULT pg_current_xact_id();
CREATE INDEX idx_audit_tx ON audit_logs(tx, id);
CREATE TABLE webhook_cursor (
  name          TEXT PRIMARY KEY,
  audit_tx      BIGINT NOT NULL DEFAULT 0,
  audit_id      BIGINT NOT NULL DEFAULT 0
);
-- Events recorded before this migration were delivered (or not) the old
-- way; the cursor starts after them (this transaction's id is above theirs,
-- and they have no tx).
INSERT INTO webhook_cursor(name, audit_tx, audit_id)
  SELECT 'audit', CAST(CAST(pg_current_xact_id() AS TEXT) AS BIGINT),
         COALESCE(MAX(id), 0) FROM audit_logs;
