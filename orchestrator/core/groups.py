"""Task groups: create, list, show, rename, nest, delete, and move tasks between them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from orchestrator.core import lookup
from orchestrator.core.inputs import checked_name, checked_number
from orchestrator.core.project import Project
from orchestrator.core.rules import describe
from orchestrator.core.tasks import regroup
from orchestrator.errors import Hint, InvalidInput, NotFound
from orchestrator.graph import tree_rows
from orchestrator.model import now
from orchestrator.store.record_file import new_record
from orchestrator.store.validation import checked_texts

if TYPE_CHECKING:
    from orchestrator.core.writer import Writer


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
    checked_texts(description=description, specialist_focus=specialist_focus)
    name = checked_name("group", name)
    checked_number("priority", priority_level, 1, 5)
    with project.writing("create") as w:
        session_row = lookup.session_or_active(w.db, session)
        session_id = session_row["session_id"]
        refuse_taken_name(w.db, session_id, name)
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


def refuse_taken_name(db, session_id: str, name: str, other_than: str | None = None) -> None:
    """Names are unique within a session (without case): refuse `name` if a group of the
    session other than `other_than` has it."""
    for other_id, other_name in db.rows(
        "SELECT group_id, group_name FROM task_groups WHERE session_id = ?", [session_id]
    ):
        if other_id != other_than and lookup.same_name(other_name, name):
            raise InvalidInput(
                f"session {session_id} already has a group named {other_name!r} ({other_id});"
                " choose another name"
            )


def list_groups(
    project: Project, session: str | None = None, all_sessions: bool = False
) -> list[dict[str, Any]]:
    """Groups of a session (the active one by default) as a tree: each nested group right
    after its parent (and its parent's earlier subgroups), `group_level` its depth."""
    with project.reading() as db:
        if all_sessions:
            return in_tree_order(
                db.records(
                    "SELECT g.* FROM task_groups g LEFT JOIN sessions s"
                    " ON s.session_id = g.session_id"
                    " ORDER BY s.created_at NULLS FIRST, g.session_id, g.position_in_session"
                )
            )
        session_id = lookup.session_or_active(db, session)["session_id"]
        return in_tree_order(
            db.records(
                "SELECT * FROM task_groups WHERE session_id = ? ORDER BY position_in_session",
                [session_id],
            )
        )


def in_tree_order(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group rows (in session order) rearranged as a tree: each nested group under its
    parent, siblings in their order (see graph.tree_rows)."""
    return [g for _, g in tree_rows(groups, "group_id", "parent_group_id", "group_level")]


def group_named(db, ref: str, session: str | None) -> dict[str, Any]:
    """The group `ref` names: by name in `session` (the active one by default), or by
    id in any session when no session was given."""
    session_id = None
    if session or lookup.active_session(db):
        session_id = lookup.session_or_active(db, session)["session_id"]
    try:
        return lookup.group(db, ref, session_id)
    except NotFound as missing:
        if session or session_id is None:
            raise
        try:
            return lookup.group(db, ref, None)
        except NotFound:
            raise missing from None  # said for the session looked in, with its close names


def show_group(project: Project, ref: str, session: str | None = None) -> dict[str, Any]:
    """A group with its tasks and its subgroups (direct ones). The tasks are a tree:
    each subtask right after its parent when its parent is in the group too, `depth` its
    depth in that tree (a subtask of a task of another group is a top here)."""
    with project.reading() as db:
        row = dict(group_named(db, ref, session))
        tasks = db.records(
            "SELECT task_id, title, status, specialist_type, parent_task_id, level, estimated_effort,"
            " progress_percentage FROM tasks WHERE group_id = ? ORDER BY position_in_group",
            [row["group_id"]],
        )
        tree = tree_rows(tasks, "task_id", "parent_task_id", "level")
        row["tasks"] = [t | {"depth": depth} for depth, t in tree]
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


def described(row: dict[str, Any]) -> str:
    return f'group {row["group_id"]} "{row["group_name"]}"'


def rename_group(
    project: Project, ref: str, name: str, session: str | None = None
) -> dict[str, Any]:
    """Give a group a new name (its id, and so its file name, stays); refused if another
    group of its session has that name. session.md shows the new name."""
    name = checked_name("group", name)
    with project.writing("rename") as w:
        row = group_named(w.db, ref, session)
        if row["group_name"] == name:
            project.warnings.append(f"{described(row)} already has that name")
            return row
        refuse_taken_name(w.db, row["session_id"], name, other_than=row["group_id"])
        return _set_field(w, row, "group_name", name)


def ancestors(db, group_id: str | None) -> list[str]:
    """A group and the groups above it, itself first (a loop of parents, a hand edit
    the index reports, ends the walk)."""
    chain: list[str] = []
    while group_id is not None and group_id not in chain:
        chain.append(group_id)
        group_id = db.scalar(
            "SELECT parent_group_id FROM task_groups WHERE group_id = ?", [group_id]
        )
    return chain


def nest_group(
    project: Project, ref: str, parent: str | None, session: str | None = None
) -> dict[str, Any]:
    """Put a group (with the groups inside it) under `parent`, a group of its session,
    or at the top level when `parent` is None. Refused when `parent` is the group itself
    or one of the groups inside it (a group cannot hold its own ancestor)."""
    with project.writing("move") as w:
        row = group_named(w.db, ref, session)
        parent_id = None
        if parent is not None:
            parent_row = lookup.group(w.db, parent, row["session_id"])
            parent_id = parent_row["group_id"]
            chain = ancestors(w.db, parent_id)
            if row["group_id"] in chain:
                names = {
                    gid: name
                    for gid, name in w.db.rows(
                        "SELECT group_id, group_name FROM task_groups WHERE session_id = ?",
                        [row["session_id"]],
                    )
                }
                path = " > ".join(
                    repr(names.get(g, g))
                    for g in reversed(chain[: chain.index(row["group_id"]) + 1])
                )
                raise InvalidInput(
                    f"cannot put {described(row)} under {described(parent_row)}: "
                    + ("a group cannot hold itself" if parent_id == row["group_id"]
                       else f"that group is inside it ({path}); move that one out first")
                )  # fmt: skip
        if row["parent_group_id"] == parent_id:
            where = "at the top level" if parent_id is None else f"under {parent_id}"
            project.warnings.append(f"{described(row)} is already {where}")
            return row
        return _set_field(w, row, "parent_group_id", parent_id)


def _set_field(w: Writer, row: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """Write one frontmatter field of the group `row` (and its updated_at) to its file;
    the group as indexed after."""
    record = w.load("group", row["session_id"], row["group_id"])
    record.meta[key] = value
    record.meta["updated_at"] = now()
    w.save(record)
    w.sync()
    return lookup.group(w.db, row["group_id"], None)


def delete_group(
    project: Project, ref: str, move_tasks_to: str | None = None, session: str | None = None
) -> dict[str, Any]:
    """Delete a group's file, in one commit. A group that holds tasks is refused unless
    `move_tasks_to` names another group of its session: its tasks (with their subtasks)
    move there first. The groups nested in it move up to its parent (the top level if
    it had none), so no group is left pointing at one that is gone."""
    with project.writing("delete") as w:
        row = group_named(w.db, ref, session)
        group_id, session_id = row["group_id"], row["session_id"]
        tasks = w.db.records(
            "SELECT task_id, group_id, session_id FROM tasks WHERE group_id = ?"
            " ORDER BY position_in_group, task_id",
            [group_id],
        )
        target = None
        if tasks and move_tasks_to is None:
            raise InvalidInput(
                f"{described(row)} holds {len(tasks)} task(s); move them to another group"
                " as it is deleted, or delete or move them first",
                hint=Hint("group_delete", {"group_id": group_id}),
            )
        if move_tasks_to is not None:
            target = lookup.group(w.db, move_tasks_to, session_id)
            if target["group_id"] == group_id:
                raise InvalidInput(f"the tasks of {described(row)} cannot move into itself")
        moved = regroup(w, tasks, target["group_id"]) if target and tasks else []
        children = w.db.records(
            "SELECT group_id FROM task_groups WHERE parent_group_id = ? AND group_id <> ?"
            " ORDER BY position_in_session",
            [group_id, group_id],
        )
        stamp = now()
        for child in children:
            record = w.load("group", session_id, child["group_id"])
            record.meta["parent_group_id"] = row["parent_group_id"]
            record.meta["updated_at"] = stamp
            w.save(record)
        for change in w.changes:  # the commit says what happened to each record
            change.verb = "move"
        w.delete(w.load("group", session_id, group_id))
        if moved:
            w.notes.append(f"its {len(moved)} task(s) moved to {described(target or {})}")
        w.sync()
        return {
            "group_id": group_id,
            "group_name": row["group_name"],
            "session_id": session_id,
            "tasks_moved": moved,
            "moved_to": target["group_id"] if target else None,
            "moved_to_name": target["group_name"] if target else None,
            "groups_moved": [c["group_id"] for c in children],
            "parent_group_id": row["parent_group_id"],
        }
