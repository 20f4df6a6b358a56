-- Security review #11. A magic link signs in the browser that opens it; the
-- device that started the flow gets the session only after an approval on
-- the confirmation page that picks the number this device was shown.
-- match_number: the starter's 2-digit number; match_choices: the three
-- numbers the page offers ("42,17,88", fixed per flow so reloading the page
-- cannot narrow them down). NULL on older flows: they cannot be handed over.
ALTER TABLE email_flows ADD COLUMN match_number BIGINT;
ALTER TABLE email_flows ADD COLUMN match_choices TEXT;
-- The send caps count per mailbox: the address lower-cased without its
-- +tag (auth::send_budget_key), so tag variants share one budget. Older
-- rows count under their address.
ALTER TABLE email_flows ADD COLUMN budget_key TEXT;
UPDATE email_flows SET budget_key = email WHERE budget_key IS NULL;
CREATE INDEX idx_email_flows_budget ON email_flows(budget_key, created_at);
-- A refusal with nothing to record (unknown address, locked account) runs
-- the same kind of statements on this one row as recording a failure runs
-- on failed_attempts (an upsert, then a conditional update), so both
-- commits cost alike and the answer's timing does not tell the cases apart.
CREATE TABLE timing_pad (
  id            BIGINT PRIMARY KEY CHECK (id = 1),
  failures      BIGINT NOT NULL DEFAULT 0,
  locked_until  BIGINT NOT NULL DEFAULT 0,
  updated_at    BIGINT NOT NULL DEFAULT 0
);
INSERT INTO timing_pad(id) VALUES (1);
