-- Account lifecycle #17. user_metadata: a JSON object the user edits through
-- PATCH /v1/me; app_metadata: a JSON object only the admin API sets (custom
-- access-token claims read from it). Each at most 8 KiB, checked by the
-- handler; stored as text so both backends hold it the same way.
ALTER TABLE users ADD COLUMN user_metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN app_metadata TEXT NOT NULL DEFAULT '{}';
