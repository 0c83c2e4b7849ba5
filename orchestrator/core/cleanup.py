"""Cleanup: what a project accumulates that points nowhere — tasks whose parent or group
is gone, dependencies on deleted tasks, groups with nothing in them, artifacts of
deleted tasks, and in the index sync states and rows left by files that are gone. A dry run (the default) only says what it would do; applying does it in
one commit.
"""

from __future__ import annotations

from typing import Any

from orchestrator.core import lookup
from orchestrator.core.project import Project
from orchestrator.errors import InvalidInput
from orchestrator.model import now
from orchestrator.store.files import real_folder, remove_tree

SCOPES = ("active_session", "all_sessions")
# No file of that id exists, readable or not (one that cannot be parsed is not gone).
FILE_GONE = "NOT EXISTS (SELECT 1 FROM file_signatures s WHERE s.record_id = {id})"
SCOPE_ALIASES = {"active": "active_session", "all": "all_sessions"}


def cleanup(project: Project, scope: str = "active_session", apply: bool = False) -> dict[str, Any]:
    scope = SCOPE_ALIASES.get(scope, scope)
    if scope not in SCOPES:
        raise InvalidInput(f"scope {scope!r} is not one of {', '.join(SCOPES)}")
    if not apply:
        with project.reading() as db:
            findings = _find(project, db, scope)
        return {"scope": scope, "dry_run": True, "findings": findings, "applied": 0}
    with project.writing("cleanup") as w:
        findings = _find(project, w.db, scope)
        for finding in findings:
            _apply(w, finding)
        w.sync()
    return {"scope": scope, "dry_run": False, "findings": findings, "applied": len(findings)}


def _find(project: Project, db, scope: str) -> list[dict[str, Any]]:
    if scope == "active_session":
        session = lookup.session_or_active(db, None)
        where, params = "WHERE t.session_id = ?", [session["session_id"]]
        sessions = [session["session_id"]]
    else:
        where, params = "", []
        sessions = [r[0] for r in db.rows("SELECT session_id FROM sessions ORDER BY session_id")]
    and_ = "AND" if where else "WHERE"
    found: list[dict[str, Any]] = []
    # A task's parent or group that is neither in the index nor a file of any kind.
    for kind, column, table, key, noun, action in (
        ("orphaned_task", "parent_task_id", "tasks", "task_id", "parent", "make it a top-level task"),
        ("missing_group", "group_id", "task_groups", "group_id", "group", "take it out of the group"),
    ):  # fmt: skip
        for row in db.records(
            f"SELECT t.task_id, t.session_id, t.{column} AS ref FROM tasks t {where} {and_}"
            f" t.{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {table} o WHERE"
            f" o.{key} = t.{column} AND o.session_id = t.session_id)"
            f" AND {FILE_GONE.format(id=f't.{column}')} ORDER BY t.task_id",
            params,
        ):
            found.append({"kind": kind, "task_id": row["task_id"], "session_id": row["session_id"],
                          "problem": f"its {noun} {row['ref']} does not exist",
                          "action": action})  # fmt: skip
    for row in db.records(
        f"SELECT t.task_id, t.session_id, d.depends_on_task_id AS dep FROM task_dependencies d"
        f" JOIN tasks t ON t.task_id = d.task_id {where} {and_} NOT EXISTS (SELECT 1 FROM"
        " tasks o WHERE o.task_id = d.depends_on_task_id)"
        f" AND {FILE_GONE.format(id='d.depends_on_task_id')} ORDER BY t.task_id, dep",
        params,
    ):
        found.append({"kind": "dangling_dependency", "task_id": row["task_id"],
                      "session_id": row["session_id"], "dependency": row["dep"],
                      "problem": f"it depends on {row['dep']}, which does not exist",
                      "action": f"remove the dependency on {row['dep']}"})  # fmt: skip
    # Where a task file cannot be read, a group may look empty without being so.
    unreadable = {
        role.session_dir
        for (path,) in db.rows("SELECT path FROM file_signatures WHERE readable = FALSE")
        if (role := project.layout.classify(path)) is not None
    }
    grouped = [s for s in sessions if s not in unreadable]
    marks = ", ".join("?" * len(grouped)) or "''"
    for row in db.records(
        f"SELECT g.group_id, g.session_id, g.group_name FROM task_groups g WHERE g.session_id"
        f" IN ({marks}) AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.group_id = g.group_id)"
        " AND NOT EXISTS (SELECT 1 FROM task_groups c WHERE c.parent_group_id = g.group_id)"
        " ORDER BY g.group_id",
        grouped,
    ):
        found.append({"kind": "empty_group", "group_id": row["group_id"],
                      "session_id": row["session_id"],
                      "problem": f"group {row['group_name']!r} has no tasks",
                      "action": "delete the group"})  # fmt: skip
    all_marks = ", ".join("?" * len(sessions)) or "''"
    for row in db.records(
        f"SELECT sync_id, session_id, markdown_file_path FROM markdown_sync_state m WHERE"
        f" m.session_id IN ({all_marks}) AND NOT EXISTS"
        " (SELECT 1 FROM file_signatures f WHERE f.path = m.markdown_file_path)"
        " ORDER BY markdown_file_path",
        sessions,
    ):
        found.append({"kind": "stale_sync_state", "sync_id": row["sync_id"],
                      "session_id": row["session_id"], "path": row["markdown_file_path"],
                      "problem": "the index keeps a sync state for a file that is gone",
                      "action": "forget it"})  # fmt: skip
    for table, key in (("tasks", "task_id"), ("task_groups", "group_id")):
        for row in db.records(
            f"SELECT {key} AS id, session_id, file_path FROM {table} WHERE session_id IN"
            f" ({all_marks}) ORDER BY file_path",
            sessions,
        ):
            if row["file_path"] and not (project.root / row["file_path"]).exists():
                found.append({"kind": "index_row_without_file", "record_id": row["id"],
                              "session_id": row["session_id"], "path": row["file_path"],
                              "problem": "the index has a row whose file is gone",
                              "action": "read the folder again"})  # fmt: skip
    # A task whose file exists but cannot be read is not gone: its artifacts stay.
    known = {r[0] for r in db.rows("SELECT record_id FROM file_signatures WHERE kind = 'task'")}
    for session_id in sessions:
        artifacts = project.layout.session_dir(session_id) / "artifacts"
        if not artifacts.is_dir():
            continue
        for folder in sorted(artifacts.iterdir()):
            if folder.is_dir() and folder.name not in known:
                found.append({"kind": "stale_artifacts", "task_id": folder.name,
                              "session_id": session_id, "path": project.layout.rel(folder),
                              "problem": f"artifacts of {folder.name}, which does not exist",
                              "action": "delete the folder"})  # fmt: skip
    return found


def _apply(w, finding: dict[str, Any]) -> None:
    kind = finding["kind"]
    if kind == "stale_sync_state":
        with w.db.transaction():
            w.db.execute("DELETE FROM markdown_sync_state WHERE sync_id = ?", [finding["sync_id"]])
        return
    if kind == "index_row_without_file":
        from orchestrator.index.refresh import Indexer

        Indexer(w.layout, w.db).refresh(paths=[finding["path"]])
        return
    if kind == "stale_artifacts":
        folder = w.layout.inside(finding["path"], what="artifact folder")
        if not folder.is_relative_to(w.layout.sessions_dir.resolve()):
            raise InvalidInput(f"{finding['path']} is not an artifact folder of a session")
        real_folder(folder, w.layout.base, create=False)  # rglob would follow a link
        files = [w.layout.rel(p) for p in sorted(folder.rglob("*")) if p.is_file()]
        remove_tree(folder, w.layout.base)
        w.track(files)
        return
    if kind == "empty_group":
        w.delete(w.load("group", finding["session_id"], finding["group_id"]))
        return
    record = w.load("task", finding["session_id"], finding["task_id"])
    if kind == "orphaned_task":
        record.meta["parent_task_id"] = None
    elif kind == "missing_group":
        record.meta["group_id"] = None
    elif kind == "dangling_dependency":
        record.meta["depends_on"] = [
            d for d in record.meta.get("depends_on") or [] if d != finding["dependency"]
        ]
    record.meta["last_updated_at"] = now()
    w.save(record)
