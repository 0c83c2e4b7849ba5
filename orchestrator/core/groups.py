"""Task groups: create, list, show, and move tasks between them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from orchestrator.core import lookup
from orchestrator.core.inputs import checked_number, one_line
from orchestrator.core.project import Project
from orchestrator.core.rules import describe
from orchestrator.core.tasks import regroup
from orchestrator.errors import InvalidInput, NotFound
from orchestrator.model import now
from orchestrator.store.record_file import new_record
from orchestrator.store.validation import checked_texts


def create_group(
    project: Project,
    name: str,
    *,
    session: str | None = None,
    description: str | None = None,
    specialist_focus: str | None = None,
    priority_level: int | None = None,
    parent: str | None = None,
) -> dict[str, Any]:
    """Create a group in a session (the active one by default); names are unique per
    session. `parent` nests it in another group of the same session."""
    checked_texts(group_name=name, description=description, specialist_focus=specialist_focus)
    one_line(group_name=name)
    name = name.strip()
    if not name:
        raise InvalidInput("a group needs a name")
    checked_number("priority", priority_level, 1, 5)
    with project.writing("create") as w:
        session_row = lookup.session_or_active(w.db, session)
        session_id = session_row["session_id"]
        for other_id, other_name in w.db.rows(
            "SELECT group_id, group_name FROM task_groups WHERE session_id = ?", [session_id]
        ):
            if lookup.same_name(other_name, name):
                raise InvalidInput(
                    f"session {session_id} already has a group named {other_name!r} ({other_id})"
                )
        parent_id = lookup.group(w.db, parent, session_id)["group_id"] if parent else None
        group_id = w.new_id("group")
        stamp = now()
        w.save(
            new_record(
                "group",
                {
                    "group_id": group_id,
                    "session_id": session_id,
                    "group_name": name,
                    "parent_group_id": parent_id,
                    "specialist_focus": specialist_focus,
                    "priority_level": priority_level,
                    "created_at": stamp,
                    "updated_at": stamp,
                },
                description,
            )
        )
        w.sync()
        return lookup.group(w.db, group_id, None)


def list_groups(
    project: Project, session: str | None = None, all_sessions: bool = False
) -> list[dict[str, Any]]:
    """Groups of a session (the active one by default) in their order."""
    with project.reading() as db:
        if all_sessions:
            return db.records(
                "SELECT g.* FROM task_groups g LEFT JOIN sessions s ON s.session_id = g.session_id"
                " ORDER BY s.created_at NULLS FIRST, g.session_id, g.position_in_session"
            )
        session_id = lookup.session_or_active(db, session)["session_id"]
        return db.records(
            "SELECT * FROM task_groups WHERE session_id = ? ORDER BY position_in_session",
            [session_id],
        )


def show_group(project: Project, ref: str, session: str | None = None) -> dict[str, Any]:
    """A group with its tasks (in order) and its subgroups."""
    with project.reading() as db:
        session_id = None
        if session or lookup.active_session(db):
            session_id = lookup.session_or_active(db, session)["session_id"]
        try:
            row = lookup.group(db, ref, session_id)
        except NotFound:
            if session:
                raise
            row = lookup.group(db, ref, None)
        row = dict(row)
        row["tasks"] = db.records(
            "SELECT task_id, title, status, specialist_type, parent_task_id, level, estimated_effort,"
            " progress_percentage FROM tasks WHERE group_id = ? ORDER BY position_in_group",
            [row["group_id"]],
        )
        row["subgroups"] = db.records(
            "SELECT group_id, group_name, progress_percentage FROM task_groups"
            " WHERE parent_group_id = ? ORDER BY position_in_session",
            [row["group_id"]],
        )
        return row


def move_tasks(
    project: Project,
    task_refs: Iterable[str],
    target_group: str,
    preserve_dependencies: bool = True,
) -> list[dict[str, Any]]:
    """Move tasks (with the subtasks that shared their group) into `target_group`.
    Dependencies are kept unless `preserve_dependencies` is False, in which case links
    between moved and unmoved tasks are dropped."""
    refs = list(task_refs)
    if not refs:
        raise InvalidInput("name at least one task to move")
    with project.writing("move") as w:
        rows = [lookup.task(w.db, ref) for ref in refs]
        sessions = {r["session_id"] for r in rows}
        if len(sessions) > 1:
            raise InvalidInput(
                "tasks can only move between groups of one session; these are in "
                + ", ".join(sorted(sessions))
            )
        session_id = sessions.pop()
        target = lookup.group(w.db, target_group, session_id)
        for row in rows:
            if row["session_id"] != target["session_id"]:
                raise InvalidInput(
                    f"{describe(row)} is not in the session of group {target['group_name']}"
                )
        moved = regroup(w, rows, target["group_id"], preserve_dependencies)
        w.sync()
        return w.db.records(
            f"SELECT * FROM tasks WHERE task_id IN ({', '.join('?' * len(moved))}) ORDER BY task_id",
            moved,
        )
