"""The two index engines behind one small interface: SQLite (default) and DuckDB.

Both run the same SQL (schema/index.sql and the queries in this package) with `?`
parameters; rows come back as dicts keyed by column name.
"""

from __future__ import annotations

import errno
import json
import os
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from orchestrator.errors import STORAGE_ERRNOS
from orchestrator.resources import shipped

# Bump when the meaning of derived columns changes within one release: an index written
# by another format (or another orch version) is rebuilt from the files on first use.
INDEX_FORMAT = "6"
FILE_NAME = {"sqlite": "index.sqlite", "duckdb": "index.duckdb"}


def schema_sql() -> str:
    return (shipped("schema") / "index.sql").read_text(encoding="utf-8")


def schema_statements() -> list[str]:
    text = re.sub(r"--[^\n]*", "", schema_sql())
    return [s.strip() for s in text.split(";") if s.strip()]


def sqlite_statements() -> list[str]:
    """schema/index_sqlite.sql (full-text search) as statements; a trigger's body holds
    semicolons, so statements end where SQLite says one is complete."""
    import sqlite3

    text = re.sub(r"--[^\n]*", "", (shipped("schema") / "index_sqlite.sql").read_text("utf-8"))
    statements, current = [], ""
    for line in text.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements


@cache
def table_columns(table: str) -> tuple[str, ...]:
    """The columns schema/index.sql gives `table`, in order."""
    return tuple(column_types(table))


@cache
def column_types(table: str) -> dict[str, str]:
    """Column -> SQL type (TEXT, INTEGER, DOUBLE, JSON, ...) of `table` in schema/index.sql."""
    match = re.search(rf"CREATE TABLE IF NOT EXISTS {table} \((.*?)\n\);", schema_sql(), re.S)
    if match is None:
        raise KeyError(table)
    return {
        m.group(1): m.group(2)
        for line in match.group(1).splitlines()
        if (m := re.match(r"\s+([a-z_]+) ([A-Z]+)", line))
    }


@cache
def json_columns() -> frozenset[str]:
    """The columns schema/index.sql declares as JSON: decoded for callers of records()."""
    return frozenset(re.findall(r"^\s+(\w+) JSON\b", schema_sql(), flags=re.M))


def warm() -> None:
    """Read schema/ as the first command of a process would (~3 ms): for a process
    that forks commands (the journal daemon)."""
    schema_version()
    json_columns()
    for table in re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", schema_sql()):
        table_columns(table)


def json_object(columns: Iterable[str], alias: str, engine: str) -> str:
    """The SQL of a row (`alias`.column ...) as a JSON object, keys in column order."""

    def value(column: str) -> str:
        # SQLite keeps JSON as text: json() embeds it as JSON, not as a string.
        if column in json_columns() and engine == "sqlite":
            return f"json({alias}.{column})"
        return f"{alias}.{column}"

    pairs = ", ".join(f"'{c}', {value(c)}" for c in columns)
    return f"json_object({pairs})"


def task_json_statements() -> list[str]:
    """SQLite only: each task row kept as its JSON object in task_json by triggers, so
    that `task list --json` of 10,000 tasks reads 10,000 texts instead of building them
    (~25 ms against ~150 ms). Every write of a row, by any refresh, rewrites its text."""
    row = json_object(table_columns("tasks"), "new", "sqlite")
    keep = f"INSERT OR REPLACE INTO task_json (task_id, json) VALUES (new.task_id, {row});"
    return [
        "CREATE TABLE IF NOT EXISTS task_json (task_id TEXT PRIMARY KEY, json TEXT NOT NULL)",
        f"CREATE TRIGGER IF NOT EXISTS task_json_insert AFTER INSERT ON tasks BEGIN {keep} END",
        "CREATE TRIGGER IF NOT EXISTS task_json_update AFTER UPDATE ON tasks BEGIN"
        " DELETE FROM task_json WHERE task_id = old.task_id AND old.task_id <> new.task_id;"
        f" {keep} END",
        "CREATE TRIGGER IF NOT EXISTS task_json_delete AFTER DELETE ON tasks BEGIN"
        " DELETE FROM task_json WHERE task_id = old.task_id; END",
    ]


@cache  # read once a process: every command compares it with the index's
def schema_version() -> str:
    """Changes with orch's version, the index SQL and the record schemas (which decide
    what a file parses to): an index built under others is rebuilt."""
    from orchestrator import __version__

    checksum = 0
    for path in sorted(shipped("schema").iterdir()):
        if path.suffix in (".sql", ".json"):
            checksum = zlib.crc32(path.read_bytes(), checksum)
    return f"{__version__}-{INDEX_FORMAT}-{checksum:08x}"


class IndexDB:
    """A connection to a project's index."""

    def __init__(self, engine: str, path: Path, writable: bool):
        self.engine, self.path, self.writable = engine, path, writable
        self._columns: dict[str, list[str]] = {}
        # sqlite3.Connection or duckdb.DuckDBPyConnection, told apart by self.engine (which
        # mypy cannot narrow on); both are used through execute/fetch and the branches here.
        self._con: Any
        if engine == "sqlite":
            import sqlite3

            sqlite3.register_converter("BOOLEAN", lambda b: b not in (b"0", b""))
            # Read-only: opened by URI in mode=ro, which never creates a missing file.
            where = path if writable else f"{Path(path).absolute().as_uri()}?mode=ro"
            self._con = sqlite3.connect(
                where,
                isolation_level=None,
                detect_types=sqlite3.PARSE_DECLTYPES,
                timeout=60,
                uri=not writable,
            )
            if writable:
                self._con.execute("PRAGMA synchronous=NORMAL")
        else:
            import duckdb

            self._con = duckdb.connect(str(path), read_only=not writable)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self._con.execute(sql, params)
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def records(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """query(), with JSON columns decoded: rows as the core API returns them."""
        rows = self.query(sql, params)
        if rows:
            decoded = json_columns().intersection(rows[0])
            for row in rows:
                for column in decoded:
                    if row[column] is not None:
                        row[column] = json.loads(row[column])
        return rows

    def record(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self.records(sql, params)
        return rows[0] if rows else None

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def query_json(self, table: str, alias: str, rest: str, params: Sequence[Any] = ()) -> str:
        """Rows of `table` (as `alias` in `rest`: FROM ... WHERE ... ORDER BY ...) as a JSON
        array of objects, built by the engine: for thousands of rows, three times faster
        than making Python objects and encoding them again."""
        return "[" + ",".join(self.json_rows(table, alias, rest, params)) + "]"

    def json_rows(
        self, table: str, alias: str, rest: str, params: Sequence[Any] = ()
    ) -> Iterator[str]:
        """query_json()'s objects one by one, fetched a few hundred at a time: a caller
        writes the first before the engine has found the last."""

        if self.engine == "sqlite" and table == "tasks":  # kept as JSON by its triggers
            made = f"(SELECT json FROM task_json j WHERE j.task_id = {alias}.task_id)"
        else:
            made = json_object(self.columns(table), alias, self.engine)
        cursor = self._con.execute(f"SELECT {made} {rest}", params)
        while batch := cursor.fetchmany(500):
            yield from (row[0] for row in batch)

    def columns(self, table: str) -> list[str]:
        if table not in self._columns:
            cursor = self._con.execute(f"SELECT * FROM {table} LIMIT 0")
            self._columns[table] = [d[0] for d in cursor.description]
        return self._columns[table]

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self._con.execute(sql, params).fetchall()

    def stream(self, sql: str, params: Sequence[Any] = (), size: int = 4096) -> Iterator[tuple]:
        """The rows of `sql` a few thousand at a time, for a table too big to hold at once;
        consume it inside the transaction that reads it."""
        cursor = self._con.execute(sql, params)
        while rows := cursor.fetchmany(size):
            yield from rows

    # Statements over a list of ids: `{in}` in the SQL stands for "?, ?, ..." for `values`
    # (after `params`), run in chunks because SQLite limits the parameters of a statement.

    def rows_in(self, sql: str, values: Sequence[Any], params: Sequence[Any] = ()) -> list[tuple]:
        return [
            row for text, args in _chunked(sql, values, params) for row in self.rows(text, args)
        ]

    def query_in(self, sql: str, values: Sequence[Any], params: Sequence[Any] = ()) -> list[dict]:
        return [
            row for text, args in _chunked(sql, values, params) for row in self.query(text, args)
        ]

    def execute_in(self, sql: str, values: Sequence[Any], params: Sequence[Any] = ()) -> None:
        for text, args in _chunked(sql, values, params):
            self.execute(text, args)

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self._con.execute(sql, params).fetchone()
        return row[0] if row else None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._con.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if rows:
            self._con.executemany(sql, rows)

    def insert(self, table: str, rows: list[dict[str, Any]]) -> None:
        """Insert rows given as dicts (all with the same keys)."""
        if rows:
            columns = list(rows[0])
            self.insert_rows(table, columns, [[row[c] for c in columns] for row in rows])

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert many rows. DuckDB runs executemany one statement a row (100 µs each):
        it gets statements of a thousand rows instead."""
        if not rows:
            return
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        one = f"({', '.join('?' * len(columns))})"
        if self.engine == "sqlite":
            self._con.executemany(head + one, rows)
            return
        for i in range(0, len(rows), 1000):
            part = rows[i : i + 1000]
            self._con.execute(head + ", ".join([one] * len(part)), [v for row in part for v in row])

    def update_rows(
        self, table: str, key: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Set `columns` (the first values of each row) where `key` is its last value. On
        DuckDB, many rows go through a temporary table and one UPDATE ... FROM."""
        if not rows:
            return
        if self.engine == "sqlite" or len(rows) < 20:
            sets = ", ".join(f"{c} = ?" for c in columns)
            self._con.executemany(f"UPDATE {table} SET {sets} WHERE {key} = ?", rows)
            return
        temp = f"changed_{table}"
        self._con.execute(
            f"CREATE TEMP TABLE {temp} AS SELECT {', '.join(columns)}, {key} FROM {table} LIMIT 0"
        )
        self.insert_rows(temp, [*columns, key], rows)
        sets = ", ".join(f"{c} = {temp}.{c}" for c in columns)
        self._con.execute(
            f"UPDATE {table} SET {sets} FROM {temp} WHERE {table}.{key} = {temp}.{key}"
        )
        self._con.execute(f"DROP TABLE {temp}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self.engine == "sqlite":
            self._con.execute("BEGIN IMMEDIATE")
        else:
            self._con.begin()
        try:
            yield
        except BaseException:
            self._con.rollback() if self.engine == "duckdb" else self._con.execute("ROLLBACK")
            raise
        self._con.commit() if self.engine == "duckdb" else self._con.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Several queries that must see one state of the index."""
        if self.engine == "sqlite":
            self._con.execute("BEGIN")
            try:
                yield
            finally:
                self._con.execute("COMMIT")
        else:
            yield  # DuckDB readers hold the project lock shared: nobody writes meanwhile

    def close(self) -> None:
        self._con.close()

    def generation(self) -> str | None:
        """A token that changes with every refresh that writes (see signatures.py)."""
        return self.scalar("SELECT value FROM index_meta WHERE key = 'generation'")

    def new_generation(self) -> str:
        token = os.urandom(8).hex()
        self.execute("DELETE FROM index_meta WHERE key = 'generation'")
        self.execute("INSERT INTO index_meta (key, value) VALUES ('generation', ?)", [token])
        return token

    def meta(self, key: str) -> str | None:
        """A value kept in index_meta (the journal's token: index/journal_client.py)."""
        return self.scalar("SELECT value FROM index_meta WHERE key = ?", [key])

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self.execute("DELETE FROM index_meta WHERE key = ?", [key])
            self.execute("INSERT INTO index_meta (key, value) VALUES (?, ?)", [key, value])

    # -- schema ------------------------------------------------------------------

    def stored_version(self) -> str | None:
        try:
            return self.scalar("SELECT value FROM index_meta WHERE key = 'version'")
        except Exception as e:  # no such table: a new or foreign file
            failure = storage_failure(e, self.path)
            if failure is not None:
                raise failure from e
            return None

    def create_schema(self) -> None:
        if self.engine == "sqlite":
            self._con.execute("PRAGMA journal_mode=WAL")
        with self.transaction():
            for statement in schema_statements():
                self._con.execute(statement)
            if self.engine == "sqlite":
                for statement in sqlite_statements() + task_json_statements():
                    self._con.execute(statement)
            self.execute("DELETE FROM index_meta")
            self.executemany(
                "INSERT INTO index_meta (key, value) VALUES (?, ?)",
                [
                    ("version", schema_version()),
                    ("engine", self.engine),
                    ("generation", os.urandom(8).hex()),
                ],
            )


# Less free space than this, when an engine reports an I/O error, means the disk is full
# (SQLite's first write in WAL mode alone takes 32 KiB for its -shm file).
FULL_BELOW = 1 << 20


def storage_failure(error: BaseException, path: Path) -> OSError | None:
    """The OSError (ENOSPC, EDQUOT, EROFS) behind an engine's error about the index at
    `path` when it is the storage that failed, not the index: DuckDB quotes the system's
    words ("No space left on device"); SQLite says SQLITE_FULL, or an I/O error, and then
    the file system tells which. None for anything else (a damaged or foreign file, which
    is rebuilt)."""
    if isinstance(error, OSError):
        return error if error.errno in STORAGE_ERRNOS else None
    if type(error).__module__.lstrip("_") not in ("sqlite3", "duckdb"):
        return None  # not the index's (a git failure says its own words)
    text = str(error)
    code = next((c for c in STORAGE_ERRNOS if os.strerror(c) in text), None)
    name = getattr(error, "sqlite_errorname", "")  # sqlite3.Error, Python 3.11+
    if code is None and name == "SQLITE_FULL":
        code = errno.ENOSPC
    io_error = name.startswith(("SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN"))
    if code is None and (io_error or type(error).__name__ == "IOException"):
        try:
            fs = os.statvfs(path.parent)
        except OSError:
            return None
        if fs.f_flag & os.ST_RDONLY:
            code = errno.EROFS
        elif fs.f_bavail * fs.f_frsize < FULL_BELOW or (fs.f_files and not fs.f_favail):
            code = errno.ENOSPC
    return OSError(code, os.strerror(code), str(path)) if code is not None else None


@contextmanager
def storage_errors(path: Path) -> Iterator[None]:
    """Raise an engine's error that is the storage's (see storage_failure) as the OSError
    it is, for the adapters to say as such."""
    try:
        yield
    except Exception as e:
        failure = storage_failure(e, path)
        if failure is None or failure is e:
            raise
        raise failure from e


def _chunked(sql: str, values: Sequence[Any], params: Sequence[Any], size: int = 500):
    values = list(values)
    for i in range(0, len(values), size):
        part = values[i : i + size]
        yield sql.replace("{in}", ", ".join("?" * len(part))), [*params, *part]


def index_path(index_dir: Path, engine: str) -> Path:
    return index_dir / FILE_NAME[engine]


def remove_index_files(index_dir: Path, engine: str) -> None:
    """Delete an engine's database with its journal files (the index is a cache)."""
    remove_database(index_path(index_dir, engine))


def remove_database(path: Path) -> None:
    """Delete the database at `path` with its journal files."""
    for suffix in ("", "-wal", "-shm", "-journal", ".wal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
