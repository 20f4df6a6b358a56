"""The tests' own view of the service's database, on either backend.

`PA_TEST_BACKEND=postgres` runs the integration suite against PostgreSQL
(issue 14): one throw-away PostgreSQL 15 server per pytest session
(tests/tools/pg_server.py, started on first use), and one fresh database per
service data folder. A service's database is named by the SQLite path it
would have used (`PA_DATABASE_PATH`, by default `<workdir>/auth.db`), so a
test that restarts a service on the same folder finds its data again, and a
test that reads "the file" (`connect(s.workdir / "auth.db")`) reads the same
database the service writes, whichever the engine.

`connect(path)` returns a sqlite3 connection on SQLite and, on PostgreSQL, a
small psycopg2 wrapper with the part of sqlite3's interface the tests use
(`execute(...).fetchone()/fetchall()`, iteration, `row_factory = sqlite3.Row`
for rows by name, `with conn:`). The tests' SQL is written once: the wrapper
rewrites SQLite's `?` parameters and the few SQLite-only spellings the tests
use (`strftime('%s','now')`, `x'00'` blobs, `sqlite_master`,
`PRAGMA table_info`), exactly
as db/pg_dialect rewrites the stores' statements. Checks that only mean
something on SQLite (integrity_check, the WAL file) are the callers' to skip,
with `on_postgres()` and a reason.
"""
import decimal
import os
import pathlib
import re
import sqlite3
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tools"))

BACKEND = os.environ.get("PA_TEST_BACKEND", "sqlite")
if BACKEND not in ("sqlite", "postgres"):
    raise RuntimeError(f"PA_TEST_BACKEND={BACKEND!r}: sqlite or postgres")

_pg = None  # the session's PgServer, started on first use
_databases = {}  # resolved SQLite path -> PostgreSQL database name


def on_postgres():
    return BACKEND == "postgres"


def pg_server():
    """The session's PostgreSQL server (started on first call)."""
    global _pg
    if _pg is None:
        from pg_server import PgServer
        _pg = PgServer().start()
    return _pg


def stop():
    """Stops the session's server, if one was started (conftest's session
    fixture calls this at the end)."""
    global _pg
    if _pg is not None:
        _pg.stop()
        _pg = None
        _databases.clear()


def _key(db_path):
    return str(pathlib.Path(db_path).resolve())


def database_url(db_path):
    """The URL of the database that stands for the SQLite file `db_path`,
    created (empty, owned by the service's role) on first use."""
    pg = pg_server()
    key = _key(db_path)
    name = _databases.get(key)
    if name is None:
        name = f"it_{os.getpid()}_{len(_databases) + 1}"
        pg.psql(f"CREATE DATABASE {name} OWNER pa")
        _databases[key] = name
    return pg.url.rsplit("/", 1)[0] + "/" + name


def has_database(db_path):
    """Whether a service has stored anything for `db_path` (the file exists
    on SQLite; the database was made on PostgreSQL)."""
    if on_postgres():
        return _key(db_path) in _databases
    return pathlib.Path(db_path).exists()


def connect(db_path, **kw):
    """A connection to the service's database for `db_path` (see above).
    On SQLite, exactly sqlite3.connect(db_path, **kw); on PostgreSQL the
    connection is in autocommit (the tests' `isolation_level=None`) and
    sqlite3's options are ignored."""
    if not on_postgres():
        return sqlite3.connect(str(db_path), **kw)
    import psycopg2
    conn = psycopg2.connect(database_url(db_path))
    conn.autocommit = True
    return PgConnection(conn)


# -- the sqlite3-shaped wrapper ------------------------------------------------

_EPOCH = "CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)"
_TABLE_INFO = re.compile(r"^\s*PRAGMA\s+table_info\((\w+)\)\s*$", re.I)


def translate(sql):
    """SQLite-flavoured test SQL in PostgreSQL's (psycopg2's) spelling."""
    m = _TABLE_INFO.match(sql)
    if m:
        # sqlite's rows: (cid, name, type, ...): the callers read [1].
        return ("SELECT ordinal_position - 1, column_name, data_type "
                "FROM information_schema.columns WHERE table_schema = "
                f"current_schema() AND table_name = '{m.group(1)}' "
                "ORDER BY ordinal_position")
    if sql.lstrip().upper().startswith("PRAGMA"):
        raise AssertionError(f"SQLite-only statement on PostgreSQL: {sql}")
    sql = sql.replace("strftime('%s','now')", _EPOCH)
    sql = sql.replace("strftime('%s', 'now')", _EPOCH)
    sql = re.sub(r"FROM\s+sqlite_master\s+WHERE\s+type\s*=\s*'table'",
                 "FROM information_schema.tables WHERE table_schema = "
                 "current_schema() AND table_type = 'BASE TABLE'", sql)
    sql = sql.replace("SELECT name FROM information_schema.tables",
                      "SELECT table_name FROM information_schema.tables")
    # blob literals: x'00' is '\x00'::bytea
    sql = re.sub(r"\b[xX]'([0-9a-fA-F]*)'", r"'\\x\1'::bytea", sql)
    sql = sql.replace("%", "%%")
    return re.sub(r"\?(\d*)", lambda m: "%s", sql)


def _value(v):
    if isinstance(v, memoryview):
        return bytes(v)
    if isinstance(v, decimal.Decimal) and v == v.to_integral_value():
        return int(v)  # SUM() of integers is numeric on PostgreSQL
    if isinstance(v, bool):
        return int(v)  # SQLite's 0/1
    return v


class Row(tuple):
    """A row readable by index and by column name, as sqlite3.Row."""

    def __new__(cls, values, names):
        r = super().__new__(cls, values)
        r._names = names
        return r

    def __getitem__(self, k):
        if isinstance(k, str):
            return tuple.__getitem__(self, self._names.index(k))
        return tuple.__getitem__(self, k)

    def keys(self):
        return list(self._names)


class PgCursor:
    def __init__(self, cur, named):
        self._cur = cur
        self._named = named
        self.rowcount = cur.rowcount

    def _row(self, r):
        values = tuple(_value(v) for v in r)
        if self._named:
            return Row(values, [d[0] for d in self._cur.description])
        return values

    def fetchone(self):
        if self._cur.description is None:
            return None
        r = self._cur.fetchone()
        return None if r is None else self._row(r)

    def fetchall(self):
        if self._cur.description is None:
            return []
        return [self._row(r) for r in self._cur.fetchall()]

    def __iter__(self):
        return iter(self.fetchall())


class PgConnection:
    def __init__(self, conn):
        self._conn = conn
        self.row_factory = None

    def execute(self, sql, params=()):
        if isinstance(params, dict):
            raise AssertionError("named parameters are not translated")
        cur = self._conn.cursor()
        cur.execute(translate(sql), tuple(params))
        return PgCursor(cur, self.row_factory is not None)

    def commit(self):
        pass  # autocommit

    def close(self):
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
