"""Moving in from the legacy MCP Task Orchestrator: its SQLite database (task_breakdowns,
subtasks and task_results), as the spec's migration phase 1 asks."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from orchestrator.core.imports.plans import Item, Source, as_list, dated, mapped_status, source_key
from orchestrator.core.inputs import effort as effort_of
from orchestrator.errors import InvalidInput, NotFound
from orchestrator.model import CANCELLED, DONE, IN_PROGRESS, PENDING

LEGACY_STATUS = {"pending": PENDING, "active": IN_PROGRESS, "in_progress": IN_PROGRESS,
                 "completed": DONE, "failed": "failed", "blocked": "blocked",
                 "cancelled": CANCELLED, "needs_revision": "needs_revision"}  # fmt: skip


def read_legacy(db_file: str | Path, project_root: Path | None = None) -> list[Source]:
    """The legacy orchestrator's database: each task breakdown a parent task with its
    subtasks, in one session "Legacy"."""
    path = Path(db_file).expanduser()
    if not path.is_file():
        raise NotFound(f"no database {db_file}")
    try:
        con = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
        con.row_factory = sqlite3.Row
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as e:
        raise InvalidInput(f"{db_file} is not an SQLite database ({e})") from None
    if not {"task_breakdowns", "subtasks"} <= tables:
        raise InvalidInput(
            f"{db_file} has no task_breakdowns and subtasks tables: not a legacy MCP Task Orchestrator database"
        )
    source = Source(key=source_key(path, project_root), name="Legacy",
                    description=f"Imported from the legacy MCP Task Orchestrator database {path}.")  # fmt: skip
    results = {}
    if "task_results" in tables:
        results = {r["task_id"]: dict(r) for r in con.execute("SELECT * FROM task_results")}
    with con:
        for row in con.execute("SELECT * FROM task_breakdowns ORDER BY created_at, parent_task_id"):
            row = dict(row)
            text = str(row.get("description") or "").strip()
            body = text + (
                f"\n\n## Context\n\n{row['context'].strip()}" if row.get("context") else ""
            )
            complexity = str(row.get("complexity") or "").lower() or None
            if complexity not in (None, "simple", "moderate", "complex", "very_complex"):
                source.unmapped.append(
                    f"{row['parent_task_id']}: complexity {complexity!r} left out"
                )
                complexity = None
            source.items.append(Item(
                key=row["parent_task_id"], title=(text.splitlines() or ["Legacy task"])[0][:80],
                body=body, complexity_level=complexity,
                created_at=dated(row.get("created_at"), row["parent_task_id"], source),
                extra={"legacy_id": row["parent_task_id"]}))  # fmt: skip
        for row in con.execute("SELECT * FROM subtasks ORDER BY created_at, task_id"):
            row = dict(row)
            key = row["task_id"]
            try:
                deps = as_list(json.loads(row.get("dependencies") or "[]"))
            except json.JSONDecodeError:
                deps = []
                source.unmapped.append(
                    f"{key}: dependencies {row.get('dependencies')!r} are not a JSON list"
                )
            try:
                effort = effort_of(row.get("estimated_effort"), f"{key}: estimated_effort")
            except InvalidInput:
                effort = None
                source.unmapped.append(
                    f"{key}: estimated_effort {row.get('estimated_effort')!r} left out"
                )
            body = str(row.get("description") or "").strip()
            done = results.get(key) or row
            if done.get("results"):
                body += f"\n\n## Results\n\n{str(done['results']).strip()}"
            artifacts = done.get("artifacts")
            if artifacts:
                try:
                    listed = json.loads(artifacts) if isinstance(artifacts, str) else artifacts
                except json.JSONDecodeError:
                    listed = [artifacts]
                if listed:
                    body += "\n\n- Files: " + ", ".join(f"`{a}`" for a in listed)
            source.items.append(Item(
                key=key, title=str(row.get("title") or key), body=body.strip(),
                status=mapped_status(row.get("status") or "pending", LEGACY_STATUS, key, source),
                deps=[str(d) for d in deps], parent=row.get("parent_task_id"),
                specialist_type=row.get("specialist_type"), effort=effort,
                created_at=dated(row.get("created_at"), key, source),
                completed_at=dated(done.get("completed_at"), key, source),
                extra={"legacy_id": key}))  # fmt: skip
    con.close()
    return [source]
