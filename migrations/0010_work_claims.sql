-- Work done once across nodes (issue 14). A mail job or a webhook delivery
-- is leased by one process (lease_owner, a token of the process) until
-- lease_until; an expired lease is anyone's to take again, and a process
-- hands back or reschedules only what it still holds. Webhook deliveries are
-- derived from committed audit rows: webhook_cursor holds the last audit row
-- turned into deliveries, advanced in the same unit that inserts them, and
-- audit_id ties each delivery to its row (one delivery per endpoint and row).
ALTER TABLE mail_jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE webhook_deliveries ADD COLUMN lease_owner TEXT;
ALTER TABLE webhook_deliveries ADD COLUMN lease_until INTEGER;
ALTER TABLE webhook_deliveries ADD COLUMN audit_id INTEGER;
CREATE UNIQUE INDEX idx_webhook_audit_row ON webhook_deliveries(endpoint_id, audit_id);
-- audit_tx is PostgreSQL's commit-order key (see the PostgreSQL twin); on
-- SQLite, with one writer, row ids are already in commit order and it stays 0.
CREATE TABLE webhook_cursor (
  name          TEXT PRIMARY KEY,
  audit_tx      INTEGER NOT NULL DEFAULT 0,
  audit_id      INTEGER NOT NULL DEFAULT 0
);
-- Events recorded before this migration were delivered (or not) the old
-- way; the cursor starts after them.
INSERT INTO webhook_cursor(name, audit_tx, audit_id)
  SELECT 'audit', 0, COALESCE(MAX(id), 0) FROM audit_logs;
