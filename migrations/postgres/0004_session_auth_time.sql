-- When the user last signed in to a session (issue #11, Medium 3): set at
-- creation and by a re-authentication, kept by refreshes, and carried in
-- every access token as `auth_time`. Factor changes need a recent one.
-- Sessions from before this migration count as signed in when created.
ALTER TABLE sessions ADD COLUMN auth_time BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET auth_time = created_at;
