-- The JSON functions the stores use (issue 14). SQLite has them built in
-- (json_patch, RFC 7396 JSON Merge Patch, used by PATCH /v1/me metadata);
-- its PostgreSQL twin defines the same function in PL/pgSQL. Nothing to do
-- here: the migration exists so the two sets keep pairing up one to one.
SELECT 1;
