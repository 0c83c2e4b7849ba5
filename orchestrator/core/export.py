"""`orch export`: sessions out of orch, for reading, for other programs, for analysis.

- markdown: one readable document; json: the document of schema/export.schema.json
  (every file's frontmatter as data, its body as text); zip: the session folders as
  they are (`orch import zip` brings them back identical);
- parquet: the index's tables of those sessions (sessions, task_groups, tasks,
  task_dependencies), derived figures included, one Parquet file each, written by
  DuckDB, for a notebook.

Exports go to .task_orchestrator/exports/ (which git ignores) unless the caller names a
place: a person (the CLI) anywhere, an agent (the MCP server) only inside the project; or
they are handed back as bytes (`export_data`) for the caller to write (standard output).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from orchestrator.core import lookup
from orchestrator.core.archive import SUFFIX, export_bytes
from orchestrator.core.project import Project
from orchestrator.errors import InvalidInput
from orchestrator.model import now
from orchestrator.store.files import real_folder, write_atomic

FORMATS = ("markdown", "json", "zip", "parquet")
TABLES = ("sessions", "task_groups", "tasks", "task_dependencies")


def export(
    project: Project,
    session: str | None = None,
    export_format: str = "json",
    output: str | None = None,
    all_sessions: bool = False,
    confined: bool = True,
) -> dict[str, Any]:
    """Export a session (the active one by default) or every session to a file (a folder
    for parquet): `output`, or a new file in exports/. When `confined` (an agent's
    call), `output` is taken from the project's root and must stay inside the project;
    otherwise (a person's command) it may be anywhere, a relative path taken from the
    current directory."""
    _checked_format(export_format)
    with project.reading() as db:
        ids = _session_ids(db, session, all_sessions)
        name = "all-sessions" if all_sessions else ids[0]
        stamp = now().replace(":", "").replace("-", "")[:15]
        suffix = "" if export_format == "parquet" else f".{SUFFIX[export_format]}"
        layout = project.layout
        target = (
            checked_target(project, output, export_format, confined)
            if output
            else layout.exports_dir / f"{name}-{stamp}{suffix}"
        )
        _ignore_exports(project)
        # Below the orchestrator folder, no link on the way (exports/ a link out of the
        # project); elsewhere the path was resolved (and, confined, kept in the project).
        within = layout.base if target.is_relative_to(layout.base) else None
        if export_format == "parquet":
            if within is not None:
                real_folder(target, within)
            counts = _parquet(db, ids, target)
        else:
            write_atomic(target, export_bytes(layout, ids, export_format), within=within)
            counts = {"sessions": len(ids)}
    return {"path": layout.rel(target) if target.is_relative_to(project.root) else str(target),
            "format": export_format, "sessions": ids, "counts": counts}  # fmt: skip


def export_data(
    project: Project, session: str | None = None, export_format: str = "json",
    all_sessions: bool = False,
) -> tuple[list[str], bytes]:  # fmt: skip
    """The ids of the sessions exported and the export itself, for the caller to write
    (markdown, json or zip: a Parquet export is a folder of files)."""
    _checked_format(export_format)
    if export_format == "parquet":
        raise InvalidInput("a Parquet export is a folder of files: give a folder to write it to")
    with project.reading() as db:
        ids = _session_ids(db, session, all_sessions)
        return ids, export_bytes(project.layout, ids, export_format)


def _checked_format(export_format: str) -> None:
    if export_format not in FORMATS:
        raise InvalidInput(f"format {export_format!r} is not one of {', '.join(FORMATS)}")


def _session_ids(db, session: str | None, all_sessions: bool) -> list[str]:
    if all_sessions:
        sql = "SELECT session_id FROM sessions ORDER BY created_at, session_id"
        ids = [r[0] for r in db.rows(sql)]
    else:
        ids = [lookup.session_or_active(db, session)["session_id"]]
    if not ids:
        raise InvalidInput("there is no session to export")
    return ids


def checked_target(project: Project, output: str, export_format: str, confined: bool) -> Path:
    """Where `output` says, if an export may go there: inside the project when
    `confined`; never into git's folder nor among orch's records (exports/ is the place
    there); never over an existing file (a Parquet export may reuse a folder of
    .parquet files)."""
    layout = project.layout
    if confined:
        target = layout.inside(output, what="export path")
    else:
        target = Path(output).expanduser().resolve()
    if target.is_relative_to(project.root.resolve() / ".git") or (
        target.is_relative_to(layout.base.resolve())
        and not target.is_relative_to(layout.exports_dir.resolve())
    ):
        raise InvalidInput(
            f"export path {output!r} is among git's or orch's own files; export to"
            f" {layout.rel(layout.exports_dir)}/ or to another place"
        )
    if export_format == "parquet" and target.is_dir():
        if any(p.suffix != ".parquet" for p in target.iterdir()):
            raise InvalidInput(f"{output} is a folder with other files: give a new folder")
    elif target.exists():
        raise InvalidInput(f"{output} exists: give a new path (exports never overwrite)")
    return target


def _ignore_exports(project: Project) -> None:
    layout = project.layout
    ignore = layout.exports_dir / ".gitignore"
    real_folder(layout.exports_dir, layout.base)
    if not ignore.exists():
        text = "# orch's exports are copies made on request: not committed.\n*\n"
        write_atomic(ignore, text.encode(), within=layout.base)


def _parquet(db, session_ids: list[str], folder: Path) -> dict[str, int]:
    """One Parquet file per table, rows of these sessions, through DuckDB."""
    import duckdb

    if folder.exists() and not folder.is_dir():
        raise InvalidInput(f"{folder} is a file: a Parquet export is a folder of files")
    folder.mkdir(parents=True, exist_ok=True)
    marks = ", ".join("?" * len(session_ids))
    counts = {}
    con = duckdb.connect()
    try:
        for table in TABLES:
            # records(): JSON columns as lists, so Parquet gets them as JSON, not as text.
            rows = db.records(f"SELECT * FROM {table} WHERE session_id IN ({marks})", session_ids)
            counts[table] = len(rows)
            target = folder / f"{table}.parquet"
            columns = _columns(table)
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False,
                                             encoding="utf-8") as tmp:  # fmt: skip
                for row in rows:  # JSON columns as values, read back as JSON
                    tmp.write(json.dumps({c: row.get(c) for c in columns}, default=str) + "\n")
            try:
                spec = ", ".join(f"'{c}': '{kind}'" for c, kind in columns.items())
                con.execute(
                    f"COPY (SELECT * FROM read_json(?, format = 'newline_delimited',"
                    f" columns = {{{spec}}})) TO '{_quoted(target)}' (FORMAT PARQUET)",
                    [tmp.name],
                )
            finally:
                os.unlink(tmp.name)
    finally:
        con.close()
    return counts


def _columns(table: str) -> dict[str, str]:
    """The table's columns with DuckDB types, from schema/index.sql."""
    from orchestrator.index.engine import column_types

    types = {"TEXT": "VARCHAR", "INTEGER": "BIGINT", "DOUBLE": "DOUBLE", "JSON": "JSON",
             "BOOLEAN": "BOOLEAN"}  # fmt: skip
    return {name: types.get(kind, "VARCHAR") for name, kind in column_types(table).items()}


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
