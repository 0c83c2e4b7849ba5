"""Cleanup: what a project accumulates that points nowhere — tasks whose parent or group
is not in their session, dependencies on tasks that are not, groups with nothing in them,
artifacts of deleted tasks, and in the index sync states and rows left by files that are
gone. A dry run (the default) only says what it would do; applying does it in one commit.

What is wrong is decided once, by the checks of CHECKS: `cleanup` lists and fixes what
they find, and the doctor (core/doctor.py `problems`) lists the same findings, so the two
never disagree. A reference is judged as the index judges it (index/derive.py): within
the session, and never taken for gone while a file of this session holding that id
cannot be read. An empty group is reported, but deleted only when asked
(`empty_groups`): a group is often made before its tasks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestrator.core import lookup
from orchestrator.core.project import Project
from orchestrator.errors import InvalidInput
from orchestrator.index.engine import IndexDB
from orchestrator.model import now
from orchestrator.store.files import real_folder, remove_tree

SCOPES = ("active_session", "all_sessions")
SCOPE_ALIASES = {"active": "active_session", "all": "all_sessions"}
# No file of that id in the task's session folder, readable or not (one that cannot be
# parsed is not gone; the doctor reports it as it is).
NO_FILE = (
    "NOT EXISTS (SELECT 1 FROM file_signatures s WHERE s.record_id = {id}"
    " AND s.session_dir = t.session_id)"
)
Finding = dict[str, Any]


@dataclass(frozen=True)
class Within:
    """The sessions a run looks at, and the clause that keeps tasks (`t`) to them."""

    sessions: list[str]
    where: str
    params: list[Any]


@dataclass(frozen=True)
class Check:
    """One kind of thing that points nowhere: how to find it, and how the doctor says it
    (error: the files are wrong; warning: something to look at)."""

    find: Callable[[Project, IndexDB, Within], list[Finding]]
    severity: str
    on_request: str | None = None  # the switch that asks for its fix; None: always fixed


def cleanup(
    project: Project, scope: str = "active_session", apply: bool = False,
    empty_groups: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """What points nowhere in the scope's sessions (the active one, or all); with
    `apply`, fixed in one commit — empty groups deleted only with `empty_groups`. Every
    finding says whether it was applied."""
    scope = SCOPE_ALIASES.get(scope, scope)
    if scope not in SCOPES:
        raise InvalidInput(f"scope {scope!r} is not one of {', '.join(SCOPES)}")
    asked = {"empty_groups": empty_groups}
    if not apply:
        with project.reading() as db:
            found = findings(project, db, scope)
        for finding in found:
            finding["applied"] = False
        return {"scope": scope, "dry_run": True, "findings": found, "applied": 0}
    with project.writing("cleanup") as w:
        found = findings(project, w.db, scope)
        for finding in found:
            finding["applied"] = finding["on_request"] is None or asked[finding["on_request"]]
            if finding["applied"]:
                _apply(w, finding)
        w.sync()
    applied = sum(f["applied"] for f in found)
    return {"scope": scope, "dry_run": False, "findings": found, "applied": applied}


def findings(project: Project, db: IndexDB, scope: str = "all_sessions") -> list[Finding]:
    """What every check of CHECKS finds in the scope's sessions, each with its kind,
    session, the file it concerns (`path`, and `field` for a reference), the problem,
    the action that fixes it, the doctor's `severity` and `on_request`."""
    if scope == "active_session":
        session = lookup.session_or_active(db, None)
        within = Within([session["session_id"]], "WHERE t.session_id = ?", [session["session_id"]])
    else:
        sessions = [r[0] for r in db.rows("SELECT session_id FROM sessions ORDER BY session_id")]
        within = Within(sessions, "", [])
    found = []
    for check in CHECKS:
        for finding in check.find(project, db, within):
            found.append({**finding, "severity": check.severity, "on_request": check.on_request})
    return found


def _references(project: Project, db: IndexDB, within: Within) -> list[Finding]:
    """Tasks whose parent, group or dependency is not a record of their session."""
    and_ = "AND" if within.where else "WHERE"
    found: list[Finding] = []
    for kind, column, table, key, named, action in (
        ("orphaned_task", "parent_task_id", "tasks", "task_id", "parent {} is not a task",
         "make it a top-level task"),
        ("missing_group", "group_id", "task_groups", "group_id", "group {} is not a group",
         "take it out of the group"),
    ):  # fmt: skip
        for row in db.records(
            f"SELECT t.task_id, t.session_id, t.file_path, t.{column} AS ref FROM tasks t"
            f" {within.where} {and_} t.{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM"
            f" {table} o WHERE o.{key} = t.{column} AND o.session_id = t.session_id)"
            f" AND {NO_FILE.format(id=f't.{column}')} ORDER BY t.task_id",
            within.params,
        ):
            found.append({"kind": kind, "task_id": row["task_id"], "session_id": row["session_id"],
                          "path": row["file_path"], "field": column,
                          "problem": f"its {named.format(row['ref'])} of its session",
                          "action": action})  # fmt: skip
    for row in db.records(
        "SELECT t.task_id, t.session_id, t.file_path, d.depends_on_task_id AS dep FROM"
        f" task_dependencies d JOIN tasks t ON t.task_id = d.task_id {within.where} {and_}"
        " NOT EXISTS (SELECT 1 FROM tasks o WHERE o.task_id = d.depends_on_task_id AND"
        f" o.session_id = t.session_id) AND {NO_FILE.format(id='d.depends_on_task_id')}"
        " ORDER BY t.task_id, dep",
        within.params,
    ):
        found.append({"kind": "dangling_dependency", "task_id": row["task_id"],
                      "session_id": row["session_id"], "path": row["file_path"],
                      "field": "depends_on", "dependency": row["dep"],
                      "problem": f"it depends on {row['dep']}, which is not a task of its session",
                      "action": f"remove the dependency on {row['dep']}"})  # fmt: skip
    return found


def _empty_groups(project: Project, db: IndexDB, within: Within) -> list[Finding]:
    # Where a task file cannot be read, a group may look empty without being so.
    unreadable = {
        role.session_dir
        for (path,) in db.rows("SELECT path FROM file_signatures WHERE readable = FALSE")
        if (role := project.layout.classify(path)) is not None
    }
    grouped = [s for s in within.sessions if s not in unreadable]
    marks = ", ".join("?" * len(grouped)) or "''"
    return [
        {"kind": "empty_group", "group_id": row["group_id"], "session_id": row["session_id"],
         "path": row["file_path"], "field": None,
         "problem": f"group {row['group_name']!r} has no tasks",
         "action": "delete the group, if it was not made on purpose"}
        for row in db.records(
            "SELECT g.group_id, g.session_id, g.group_name, g.file_path FROM task_groups g"
            f" WHERE g.session_id IN ({marks}) AND NOT EXISTS (SELECT 1 FROM tasks t WHERE"
            " t.group_id = g.group_id) AND NOT EXISTS (SELECT 1 FROM task_groups c WHERE"
            " c.parent_group_id = g.group_id) ORDER BY g.group_id",
            grouped,
        )
    ]  # fmt: skip


def _index_leftovers(project: Project, db: IndexDB, within: Within) -> list[Finding]:
    """Sync states and rows the index keeps for files that are gone."""
    marks = ", ".join("?" * len(within.sessions)) or "''"
    found: list[Finding] = []
    for row in db.records(
        f"SELECT sync_id, session_id, markdown_file_path FROM markdown_sync_state m WHERE"
        f" m.session_id IN ({marks}) AND NOT EXISTS"
        " (SELECT 1 FROM file_signatures f WHERE f.path = m.markdown_file_path)"
        " ORDER BY markdown_file_path",
        within.sessions,
    ):
        found.append({"kind": "stale_sync_state", "sync_id": row["sync_id"],
                      "session_id": row["session_id"], "path": row["markdown_file_path"],
                      "field": None,
                      "problem": "the index keeps a sync state for a file that is gone",
                      "action": "forget it"})  # fmt: skip
    for table, key in (("tasks", "task_id"), ("task_groups", "group_id")):
        for row in db.records(
            f"SELECT {key} AS id, session_id, file_path FROM {table} WHERE session_id IN"
            f" ({marks}) ORDER BY file_path",
            within.sessions,
        ):
            if row["file_path"] and not (project.root / row["file_path"]).exists():
                found.append({"kind": "index_row_without_file", "record_id": row["id"],
                              "session_id": row["session_id"], "path": row["file_path"],
                              "field": None, "problem": "the index has a row whose file is gone",
                              "action": "read the folder again"})  # fmt: skip
    return found


def _stale_artifacts(project: Project, db: IndexDB, within: Within) -> list[Finding]:
    # A task whose file exists but cannot be read is not gone: its artifacts stay.
    known = {r[0] for r in db.rows("SELECT record_id FROM file_signatures WHERE kind = 'task'")}
    found: list[Finding] = []
    for session_id in within.sessions:
        artifacts = project.layout.session_dir(session_id) / "artifacts"
        if not artifacts.is_dir():
            continue
        for folder in sorted(artifacts.iterdir()):
            if folder.is_dir() and folder.name not in known:
                found.append({"kind": "stale_artifacts", "task_id": folder.name,
                              "session_id": session_id, "path": project.layout.rel(folder),
                              "field": None,
                              "problem": f"artifacts of {folder.name}, which does not exist",
                              "action": "delete the folder"})  # fmt: skip
    return found


# Every check, in the order findings are listed.
CHECKS = (
    Check(_references, "error"),
    Check(_empty_groups, "warning", on_request="empty_groups"),
    Check(_index_leftovers, "warning"),
    Check(_stale_artifacts, "warning"),
)


def _apply(w, finding: Finding) -> None:
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
