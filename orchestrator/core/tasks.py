"""Tasks: add, list, show, update, start, done, move."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from orchestrator.core import lookup, task_fields
from orchestrator.core.inputs import checked_choice, checked_number, effort, one_line
from orchestrator.core.modes import binding_context
from orchestrator.core.project import Project
from orchestrator.core.rules import (
    check_start,
    check_transition,
    describe,
    set_status,
)
from orchestrator.errors import ChangedMeanwhile, DependencyCycle, Hint, InvalidInput
from orchestrator.graph import find_path, show_cycle
from orchestrator.model import ARCHIVED, CANCELLED, DONE, IN_PROGRESS, PENDING, now
from orchestrator.store.files import real_folder, remove_tree
from orchestrator.store.record_file import body_text, new_record
from orchestrator.store.sections import set_section
from orchestrator.store.validation import checked_texts

if TYPE_CHECKING:
    from orchestrator.core.writer import Writer
    from orchestrator.index.engine import IndexDB

# An effort as a caller may give it: hours as a number, or text ("2.5", "3h", "90m").
Effort = int | float | str | None


def ready_order(alias: str = "t") -> str:
    """Ready tasks (of `alias`, beside their group g): urgent first, then the group's
    priority and order, then their place in the group and creation order."""
    return (
        f"{alias}.priority_level, g.priority_level NULLS LAST, g.position_in_session NULLS LAST,"
        f" {alias}.position_in_group, {alias}.created_at NULLS FIRST, {alias}.task_id"
    )


READY_ORDER = ready_order()
LIST_ORDER = (
    "s.created_at NULLS FIRST, t.session_id, g.position_in_session NULLS LAST,"
    " t.position_in_group, t.task_id"
)


def waiting_edges(db, session_id: str) -> tuple[dict[str, list[str]], set[tuple[str, str]]]:
    """Who waits for whom in a session: a task for its dependencies, and a parent for its
    subtasks. Returns the edges (waiter -> awaited) and the set of the parent ones."""
    edges: dict[str, list[str]] = {}
    for task_id, dep in db.rows(
        "SELECT task_id, depends_on_task_id FROM task_dependencies WHERE session_id = ?",
        [session_id],
    ):
        edges.setdefault(task_id, []).append(dep)
    parents = set()
    for task_id, parent in db.rows(
        "SELECT task_id, parent_task_id FROM tasks WHERE session_id = ? AND parent_task_id IS NOT NULL",
        [session_id],
    ):
        edges.setdefault(parent, []).append(task_id)
        parents.add((parent, task_id))
    return edges, parents


def checked_dependencies(
    db, task_id: str, session_id: str, refs: Iterable[str], parent: str | None = None
) -> list[str]:
    """Resolve dependency references of `task_id` (a new task gives its `parent`); refuse
    unknown ids, other sessions, and anything that would make a task wait for itself,
    directly or through a parent (which waits for its subtasks), printing the cycle."""
    resolved: list[str] = []
    for ref in refs:
        row = lookup.task(db, ref)
        if row["session_id"] != session_id:
            raise InvalidInput(
                f"{describe(row)} is in session {row['session_id']}; a task can only depend on"
                f" tasks of its own session ({session_id})"
            )
        if row["task_id"] == task_id:
            raise DependencyCycle(f"{task_id} cannot depend on itself")
        if row["task_id"] not in resolved:
            resolved.append(row["task_id"])
    edges, parents = waiting_edges(db, session_id)
    children = [child for waiter, child in parents if waiter == task_id]
    edges[task_id] = resolved + children
    if parent is not None:
        edges.setdefault(parent, []).append(task_id)
        parents.add((parent, task_id))
    for dep in resolved:
        path = find_path(edges, dep, task_id)
        if path:
            raise DependencyCycle(
                f"{task_id} cannot depend on {dep}: that would make a cycle:"
                f" {show_cycle([task_id, *path], parents)}"
            )
    return resolved


def warn_unknown_specialist(
    project: Project, db, session_id: str, specialist_type: str | None
) -> None:
    """A specialist the session's mode does not define is allowed, but probably a typo."""
    if not specialist_type:
        return
    mode_id = (binding_context(db, session_id) or {}).get("effective_mode")
    mode = db.record("SELECT specialist_roles FROM session_modes WHERE mode_id = ?", [mode_id])
    roles = (mode or {}).get("specialist_roles") or {}
    if roles and specialist_type not in roles:
        project.warnings.append(
            f"{specialist_type!r} is not a specialist role of mode {mode_id} ({', '.join(roles)})"
        )


def add_task(
    project: Project,
    title: str,
    *,
    session: str | None = None,
    group: str | None = None,
    parent: str | None = None,
    description: str | None = None,
    specialist_type: str | None = None,
    complexity_level: str | None = None,
    priority_level: int | None = None,
    estimated_effort: Effort = None,
    depends_on: Iterable[str] = (),
    status: str | None = None,
    acceptance: Iterable[str] = (),
    **fields: Any,
) -> dict[str, Any]:
    """Create a task in a session (the active one, or the parent's). A subtask joins its
    parent's group unless another is given. `estimated_effort`: hours, as inputs.effort
    reads them (3, 2.5, "3h", "90m"). `fields`: labels, assignee, due, as
    task_fields.set_fields reads them; `acceptance`: criteria, a checklist in the body."""
    checked_texts(title=title, description=description, specialist_type=specialist_type)
    one_line(title=title)
    title = title.strip()
    if not title:
        raise InvalidInput("a task needs a title")
    checked_choice("task", "complexity_level", complexity_level)
    checked_choice("task", "status", status)
    checked_number("priority", priority_level, 1, 5)
    estimated_effort = effort(estimated_effort, "estimated_effort")
    with project.writing("add") as w:
        db = w.db
        parent_row = lookup.task(db, parent) if parent else None
        if parent_row is not None:
            session_row = (
                lookup.session(db, parent_row["session_id"])
                if not session
                else lookup.session(db, session)
            )
            if session_row["session_id"] != parent_row["session_id"]:
                raise InvalidInput(
                    f"parent {describe(parent_row)} is in session {parent_row['session_id']},"
                    f" not {session_row['session_id']}"
                )
        else:
            session_row = lookup.session_or_active(db, session)
        session_id = session_row["session_id"]
        if session_row["status"] in (DONE, ARCHIVED, CANCELLED):
            project.warnings.append(f"session {session_id} is {session_row['status']}")
        group_id = None
        if group:
            group_id = lookup.group(db, group, session_id)["group_id"]
        elif parent_row is not None:
            group_id = parent_row["group_id"]
        task_id = w.new_id("task")
        parent_id = parent_row["task_id"] if parent_row else None
        deps = checked_dependencies(db, task_id, session_id, depends_on, parent_id)
        warn_unknown_specialist(project, db, session_id, specialist_type)
        stamp = now()
        status = status or PENDING
        record = new_record(
            "task",
            {
                "task_id": task_id,
                "session_id": session_id,
                "title": title,
                "status": status,
                "group_id": group_id,
                "parent_task_id": parent_row["task_id"] if parent_row else None,
                "specialist_type": specialist_type,
                "complexity_level": complexity_level,
                "priority_level": priority_level,
                "estimated_effort": estimated_effort,
                "depends_on": deps,
                "created_at": stamp,
                "started_at": stamp if status == IN_PROGRESS else None,
                "completed_at": stamp if status == DONE else None,
                "last_updated_at": stamp,
            },
            description,
        )
        task_fields.set_fields(record.meta, **fields)
        record.body = task_fields.with_acceptance(record.body, acceptance)
        w.save(record)
        w.sync()
        return lookup.task(db, task_id)


def list_tasks(project: Project, **filters: Any) -> list[dict[str, Any]]:
    """Tasks of a session (the active one by default; all sessions with `all_sessions` or
    when none is active), filtered by `group`, `status` (a list), `specialist_type`,
    `complexity_level`, `parent`; `ready`: pending tasks whose dependencies are all completed
    and whose subtasks are all done, urgent first; at most `limit`."""
    return _listing(
        project, lambda db, rest, params: db.records(f"SELECT t.* {rest}", params), **filters
    )


def list_tasks_json(project: Project, **filters: Any) -> str:
    """list_tasks() as a JSON array, built by the index engine itself (for thousands of
    tasks, a third of the time of making Python objects and encoding them)."""
    return _listing(
        project, lambda db, rest, params: db.query_json("tasks", "t", rest, params), **filters
    )


def list_tasks_streamed(project: Project, **filters: Any) -> Iterator[str]:
    """list_tasks() as JSON objects, one by one as the index finds them (the project
    is read until the last is taken, or the iterator closed)."""
    with project.reading() as db:
        yield from _listing(
            project, lambda db, rest, params: db.json_rows("tasks", "t", rest, params),
            db=db, **filters,
        )  # fmt: skip


def _listing(
    project: Project,
    fetch,
    *,
    limit: int | None = None,
    ready: bool = False,
    db: IndexDB | None = None,
    **filters: Any,
):
    if db is None:
        with project.reading() as db:
            return _listing(project, fetch, limit=limit, ready=ready, db=db, **filters)
    where, params = task_filter(project, db, ready=ready, **filters)
    order = READY_ORDER if ready else LIST_ORDER
    tail = f" LIMIT {int(limit)}" if limit else ""
    return fetch(db, f"{TASK_FROM} {where} ORDER BY {order}{tail}", params)


TASK_FROM = (
    "FROM tasks t LEFT JOIN task_groups g ON g.group_id = t.group_id"
    " LEFT JOIN sessions s ON s.session_id = t.session_id"
)
# Ready: as index/readiness.py says, kept by every refresh in task_ready.
READY_CLAUSE = "t.task_id IN (SELECT task_id FROM task_ready)"
READY_IN_SESSION = "t.task_id IN (SELECT task_id FROM task_ready WHERE session_id = ?)"


def task_filter(
    project: Project,
    db,
    *,
    session: str | None = None,
    all_sessions: bool = False,
    group: str | None = None,
    status: Iterable[str] = (),
    specialist_type: str | None = None,
    complexity_level: str | None = None,
    parent: str | None = None,
    ready: bool = False,
    **fields: Any,
) -> tuple[str, list[Any]]:
    """The WHERE clause (over TASK_FROM) and parameters of a task listing; `fields`:
    labels, assignee, overdue (task_fields.field_filter)."""
    statuses = [checked_choice("task", "status", s) for s in status]
    checked_choice("task", "complexity_level", complexity_level)
    clauses, params = [], []
    ready_found = False  # the ready tasks already asked for, with the session
    if session or not all_sessions:
        row = lookup.session(db, session) if session else lookup.active_session(db)
        if row is not None:
            # Ready tasks are found from task_ready by session: the planner then looks up
            # only those (15 ms at 10,000 tasks), not every task of the session (30 ms).
            clauses.append(READY_IN_SESSION if ready else "t.session_id = ?")
            params.append(row["session_id"])
            ready_found = ready
        elif not session:
            project.warnings.append("no session is active: listing the tasks of every session")
    session_id = params[0] if params else None
    if group:
        clauses.append("t.group_id = ?")
        params.append(lookup.group(db, group, session_id)["group_id"])
    if statuses:
        clauses.append(f"t.status IN ({', '.join('?' * len(statuses))})")
        params += statuses
    if specialist_type:
        clauses.append("t.specialist_type = ?")
        params.append(specialist_type)
    if complexity_level:
        clauses.append("t.complexity_level = ?")
        params.append(complexity_level)
    if parent:
        clauses.append("t.parent_task_id = ?")
        params.append(lookup.task(db, parent)["task_id"])
    if ready and not ready_found:
        clauses.append(READY_CLAUSE)
    more, more_params = task_fields.field_filter(**fields)
    clauses, params = clauses + more, params + more_params
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


def show_task(project: Project, ref: str) -> dict[str, Any]:
    """A task with its subtasks, its dependencies and the tasks it blocks."""
    with project.reading() as db:
        row = dict(lookup.task(db, ref))
        brief = "task_id, title, status, specialist_type, progress_percentage"
        row["subtasks"] = db.records(
            f"SELECT {brief} FROM tasks WHERE parent_task_id = ? ORDER BY position_in_group, task_id",
            [row["task_id"]],
        )
        row["dependencies"] = db.records(
            "SELECT d.depends_on_task_id AS task_id, t.title, t.status FROM task_dependencies d"
            " LEFT JOIN tasks t ON t.task_id = d.depends_on_task_id WHERE d.task_id = ?"
            " ORDER BY d.depends_on_task_id",
            [row["task_id"]],
        )
        row["blocked_tasks"] = db.records(
            f"SELECT {brief} FROM tasks WHERE task_id IN (SELECT task_id FROM task_dependencies"
            f" WHERE depends_on_task_id = ?) ORDER BY task_id",
            [row["task_id"]],
        )
        row["problems"] = db.records(
            "SELECT path, line, field, severity, message, fix FROM problems WHERE path = ?"
            " ORDER BY line NULLS FIRST, message",
            [row["file_path"]],
        )
        row["acceptance"] = task_fields.acceptance(row["description"])
        return row


def update_task(
    project: Project,
    ref: str,
    *,
    title: str | None = None,
    status: str | None = None,
    description: str | None = None,
    specialist_type: str | None = None,
    complexity_level: str | None = None,
    priority_level: int | None = None,
    estimated_effort: Effort = None,
    actual_effort: Effort = None,
    depends_on: Iterable[str] | None = None,
    add_dependencies: Iterable[str] = (),
    remove_dependencies: Iterable[str] = (),
    force: bool = False,
    description_was: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Change a task's fields; `depends_on` replaces the list, the add/remove lists edit it,
    as `fields` labels, add_labels and remove_labels do (task_fields.set_fields; with
    assignee and due).
    `description_was`: the text the caller's new description was written from (an
    editor's form); if the file's text is no longer that, nothing is written
    (ChangedMeanwhile), so an agent's report written meanwhile is never overwritten.
    A new `status` follows the rules of core/rules.py (completing or starting a task whose
    subtasks or dependencies are open is refused unless `force`); efforts are hours as
    inputs.effort reads them. The row has `changed`: False when every value given is
    the one the task has (then nothing is written or committed)."""
    checked_texts(title=title, description=description, specialist_type=specialist_type)
    one_line(title=title)
    checked_choice("task", "status", status)
    checked_choice("task", "complexity_level", complexity_level)
    checked_number("priority", priority_level, 1, 5)
    estimated_effort = effort(estimated_effort, "estimated_effort")
    actual_effort = effort(actual_effort, "actual_effort")
    with project.writing("update") as w:
        row = lookup.task(w.db, ref)
        if status is not None:
            check_transition(w.db, row, status, force)
        record = w.load("task", row["session_id"], row["task_id"])
        meta = record.meta
        before = (copy.deepcopy(meta), record.body)
        if title is not None:
            if not title.strip():
                raise InvalidInput("a task needs a title")
            meta["title"] = title.strip()
        if status is not None:
            set_status(meta, status)
        if description is not None:
            if description_was is not None and description_was.strip() != record.body.strip():
                raise ChangedMeanwhile(
                    f"the text of {describe(row)} changed since it was opened for editing"
                    " (an editor or an agent wrote it): nothing is saved; copy your text,"
                    " reopen the task and make your change again"
                )
            record.body = body_text(description)
        if specialist_type is not None:
            warn_unknown_specialist(project, w.db, row["session_id"], specialist_type)
            meta["specialist_type"] = specialist_type or None
        for key, value in (
            ("complexity_level", complexity_level),
            ("priority_level", priority_level),
            ("estimated_effort", estimated_effort),
            ("actual_effort", actual_effort),
        ):
            if value is not None:
                meta[key] = value
        task_fields.set_fields(meta, **fields)
        add_dependencies, remove_dependencies = list(add_dependencies), list(remove_dependencies)
        if depends_on is not None or add_dependencies or remove_dependencies:
            written = meta.get("depends_on") or []
            # A single id written as text (depends_on: t-1) counts as a one-item list.
            current = (
                ([written] if isinstance(written, str) else list(written))
                if depends_on is None
                else []
            )
            removed = {lookup.task(w.db, r)["task_id"] for r in remove_dependencies}
            wanted = [
                d for d in [*current, *(depends_on or []), *add_dependencies] if d not in removed
            ]
            meta["depends_on"] = checked_dependencies(
                w.db, row["task_id"], row["session_id"], wanted
            )
        if (meta, record.body) == before:
            # Nothing asked for differs from the file: no write, no new last_updated_at,
            # no commit; the adapters say so.
            return row | {"changed": False}
        meta["last_updated_at"] = now()
        w.save(record)
        w.sync()
        return lookup.task(w.db, row["task_id"]) | {"changed": True}


def start_task(project: Project, ref: str, force: bool = False) -> dict[str, Any]:
    """Mark a task in progress; refused while its dependencies are open, or when it is
    finished (reopen it with a status change), unless `force` (core/rules.py)."""
    with project.writing("start") as w:
        row = lookup.task(w.db, ref)
        if row["status"] == IN_PROGRESS:
            project.warnings.append(f"{describe(row)} is already in progress")
            return row
        check_start(row, force)
        check_transition(w.db, row, IN_PROGRESS, force)
        record = w.load("task", row["session_id"], row["task_id"])
        set_status(record.meta, IN_PROGRESS)
        record.meta["last_updated_at"] = now()
        w.save(record)
        w.sync()
        return lookup.task(w.db, row["task_id"])


def done_task(
    project: Project, ref: str, actual_effort: Effort = None, force: bool = False
) -> dict[str, Any]:
    """Mark a task completed; refused while it has open subtasks or dependencies unless
    `force` (core/rules.py). `actual_effort`: hours as inputs.effort reads them."""
    actual_effort = effort(actual_effort, "actual_effort")
    with project.writing("done") as w:
        row = lookup.task(w.db, ref)
        if row["status"] == DONE and actual_effort is None:
            project.warnings.append(f"{describe(row)} is already completed")
            return row
        check_transition(w.db, row, DONE, force)
        record = w.load("task", row["session_id"], row["task_id"])
        set_status(record.meta, DONE)
        if actual_effort is not None:
            record.meta["actual_effort"] = actual_effort
        record.meta["last_updated_at"] = now()
        w.save(record)
        w.sync()
        return lookup.task(w.db, row["task_id"])


def subtree(db, task_id: str) -> list[dict[str, Any]]:
    """A task's descendants (not itself)."""
    out, frontier = [], [task_id]
    while frontier:
        rows = db.records(
            f"SELECT task_id, group_id, session_id FROM tasks WHERE parent_task_id IN"
            f" ({', '.join('?' * len(frontier))}) ORDER BY task_id",
            frontier,
        )
        out += rows
        frontier = [r["task_id"] for r in rows]
    return out


def regroup(
    w: Writer, rows: list[dict[str, Any]], group_id: str | None, preserve_dependencies: bool = True
) -> list[str]:
    """Put tasks, and the subtasks that shared their group, into `group_id`. Without
    `preserve_dependencies`, dependency links between moved and unmoved tasks are dropped.
    Returns the ids moved."""
    moving: dict[str, dict[str, Any]] = {}
    for row in rows:
        moving[row["task_id"]] = row
        for child in subtree(w.db, row["task_id"]):
            if child["group_id"] == row["group_id"]:
                moving.setdefault(child["task_id"], child)
    stamp = now()
    changed_deps: set[str] = set()
    if not preserve_dependencies:
        for task_id, dep in w.db.rows(
            f"SELECT task_id, depends_on_task_id FROM task_dependencies WHERE task_id IN"
            f" ({', '.join('?' * len(moving))}) OR depends_on_task_id IN ({', '.join('?' * len(moving))})",
            [*moving, *moving],
        ):
            if (task_id in moving) != (dep in moving):
                changed_deps.add(task_id)
    for task_id in [*moving, *sorted(changed_deps - set(moving))]:
        row = moving.get(task_id) or lookup.task(w.db, task_id)
        record = w.load("task", row["session_id"], task_id)
        if task_id in moving:
            record.meta["group_id"] = group_id
        if task_id in changed_deps:
            inside = task_id in moving
            record.meta["depends_on"] = [
                d for d in record.meta.get("depends_on") or [] if (d in moving) == inside
            ]
        record.meta["last_updated_at"] = stamp
        w.save(record)
    return list(moving)


def move_task(
    project: Project,
    ref: str,
    *,
    group: str | None = None,
    ungroup: bool = False,
    parent: str | None = None,
    no_parent: bool = False,
) -> dict[str, Any]:
    """Move a task to another group (its subtasks follow) and/or under another parent."""
    if not (group or ungroup or parent or no_parent):
        raise InvalidInput(
            "say where to move it: to a group, out of its group, under a parent, or to the top level"
        )
    with project.writing("move") as w:
        row = lookup.task(w.db, ref)
        if parent or no_parent:
            new_parent = None
            if parent:
                parent_row = lookup.task(w.db, parent)
                if parent_row["session_id"] != row["session_id"]:
                    raise InvalidInput(f"{describe(parent_row)} is in another session")
                new_parent = parent_row["task_id"]
                # Under its new parent, the parent waits for it: refuse if it (or what it
                # waits for, subtasks included) already waits for that parent.
                edges, parents = waiting_edges(w.db, row["session_id"])
                old_parent = row["parent_task_id"]
                if old_parent in edges:
                    edges[old_parent] = [t for t in edges[old_parent] if t != row["task_id"]]
                    parents.discard((old_parent, row["task_id"]))
                path = find_path(edges, row["task_id"], new_parent)
                if path:
                    parents.add((new_parent, row["task_id"]))
                    raise DependencyCycle(
                        f"cannot move {row['task_id']} under {new_parent}: that would make a cycle:"
                        f" {show_cycle([new_parent, *path], parents)}"
                    )
            record = w.load("task", row["session_id"], row["task_id"])
            record.meta["parent_task_id"] = new_parent
            record.meta["last_updated_at"] = now()
            w.save(record)
        if group or ungroup:
            group_id = lookup.group(w.db, group, row["session_id"])["group_id"] if group else None
            regroup(w, [row], group_id)
        w.sync()
        return lookup.task(w.db, row["task_id"])


def cancel_task(project: Project, ref: str, reason: str | None = None) -> dict[str, Any]:
    """Cancel a task (its parent no longer waits for it; a task depending on it still
    does, core/rules.py); `reason` goes into its file."""
    checked_texts(reason=reason)
    with project.writing("cancel") as w:
        row = lookup.task(w.db, ref)
        if row["status"] == CANCELLED:
            project.warnings.append(f"{describe(row)} is already cancelled")
            return row
        record = w.load("task", row["session_id"], row["task_id"])
        set_status(record.meta, CANCELLED)
        record.meta["last_updated_at"] = now()
        if reason and reason.strip():
            entry = f"- {now()[:10]}: cancelled: {' '.join(reason.split())}"
            record.body = "\n" + set_section(record.body.lstrip("\n"), "Notes", entry, True)
        w.save(record)
        w.sync()
        return lookup.task(w.db, row["task_id"])


def delete_task(project: Project, ref: str, cascade: bool = False) -> dict[str, Any]:
    """Delete a task's file (and its artifacts). Its subtasks go too with `cascade`,
    else the deletion is refused; tasks that depended on it no longer do."""
    with project.writing("delete") as w:
        row = lookup.task(w.db, ref)
        doomed = [row, *subtree(w.db, row["task_id"])]
        if len(doomed) > 1 and not cascade:
            listed = ", ".join(d["task_id"] for d in doomed[1:6])
            more = ", ..." if len(doomed) > 6 else ""
            raise InvalidInput(
                f"{describe(row)} has {len(doomed) - 1} subtask(s) ({listed}{more}); delete them"
                " with it (cascade), or first move them to the top level",
                hint=Hint("task_delete", {"task_id": row["task_id"], "cascade": True}),
            )
        ids = [d["task_id"] for d in doomed]
        marks = ", ".join("?" * len(ids))
        dependents = w.db.records(
            f"SELECT DISTINCT t.task_id, t.session_id FROM task_dependencies d JOIN tasks t"
            f" ON t.task_id = d.task_id WHERE d.depends_on_task_id IN ({marks})"
            f" AND d.task_id NOT IN ({marks}) ORDER BY t.task_id",
            [*ids, *ids],
        )
        stamp = now()
        for dep in dependents:
            record = w.load("task", dep["session_id"], dep["task_id"])
            record.meta["depends_on"] = [
                d for d in record.meta.get("depends_on") or [] if d not in ids
            ]
            record.meta["last_updated_at"] = stamp
            w.save(record)
        if dependents:
            project.warnings.append(
                f"{len(dependents)} task(s) no longer depend on what was deleted: "
                + ", ".join(d["task_id"] for d in dependents)
            )
        removed_artifacts = []
        for doomed_row in doomed:
            record = w.load("task", doomed_row["session_id"], doomed_row["task_id"])
            w.delete(record)
            folder = w.layout.artifacts_dir(doomed_row["session_id"], doomed_row["task_id"])
            if folder.is_dir():
                real_folder(folder, w.layout.base, create=False)  # rglob would follow a link
                files = [w.layout.rel(p) for p in sorted(folder.rglob("*")) if p.is_file()]
                remove_tree(folder, w.layout.base)
                w.track(files)
                removed_artifacts += files
        w.sync()
        return {
            "deleted": ids,
            "dependents_updated": [d["task_id"] for d in dependents],
            "artifacts_removed": removed_artifacts,
        }


def page_tasks(
    project: Project,
    *,
    limit: int = 50,
    offset: int = 0,
    fields: Iterable[str] | None = None,
    ready: bool = False,
    **filters: Any,
) -> tuple[int, list[dict[str, Any]]]:
    """One page of a task listing (as list_tasks() filters and orders it) with the
    number of tasks in the whole listing; `fields`: the columns to give (all if None)."""
    from orchestrator.index.engine import table_columns

    if fields is not None:
        fields = list(dict.fromkeys(fields))
        known = table_columns("tasks")
        unknown = [f for f in fields if f not in known]
        if unknown:
            raise InvalidInput(
                f"unknown task field(s) {', '.join(unknown)}; fields are: {', '.join(known)}"
            )
    columns = ", ".join(f"t.{f}" for f in fields) if fields else "t.*"
    with project.reading() as db:
        where, params = task_filter(project, db, ready=ready, **filters)
        order = READY_ORDER if ready else LIST_ORDER
        total = db.scalar(f"SELECT count(*) {TASK_FROM} {where}", params)
        rows = db.records(
            f"SELECT {columns} {TASK_FROM} {where} ORDER BY {order}"
            f" LIMIT {int(limit)} OFFSET {int(offset)}",
            params,
        )
    return total, rows
