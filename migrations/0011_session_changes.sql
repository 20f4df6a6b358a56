-- Session changes (issue 14): the fallback half of the fan-out that tells
-- every node of a revocation made on another (the other half is
-- PostgreSQL's LISTEN/NOTIFY). On SQLite there is one node, so the table
-- stays empty: only the PostgreSQL twin has the triggers that fill it. It
-- exists here too so that both engines have the same tables.
CREATE TABLE session_changes (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id    TEXT NOT NULL,   -- no user_id: nothing personal here
  created_at    INTEGER NOT NULL
);
