"""The rules of status changes: which task and session transitions are allowed, what each
needs first, and what a change sets with it. Every path (CLI, MCP, a hand edit of a file,
the board) asks this module; none decides on its own (ARCHITECTURE.md, "Rules").

A subtask is *open* until it is completed or cancelled; a dependency is *unmet* until it
is completed (a cancelled one's work was not done). Completing a task with open subtasks
or unmet dependencies, and starting one with unmet dependencies, is refused unless forced;
every path refuses with the same message. An edit in a file (a ticked box in session.md)
is the person's decision: it is applied, with a warning naming what is still open.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.errors import Hint, InvalidTransition
from orchestrator.index import readiness
from orchestrator.model import (
    ACTIVE,
    ARCHIVED,
    BLOCKED,
    CANCELLED,
    DONE,
    FAILED,
    IN_PROGRESS,
    NEEDS_REVISION,
    PAUSED,
    PENDING,
    now,
    session_transitions,
)

if TYPE_CHECKING:
    from orchestrator.index.engine import IndexDB

# A task in one of these is finished: it blocks nothing and needs nothing.
FINISHED = (DONE, CANCELLED)
# Statuses from which work may (re)start without reopening a finished task.
STARTABLE = (PENDING, BLOCKED, NEEDS_REVISION, FAILED)

# The SQL conditions "the task is open" and "the dependency is unmet" live with the rule
# of a ready task, which the index keeps (index/readiness.py).
OPEN_SQL, UNMET_SQL = readiness.OPEN_SQL, readiness.UNMET_SQL


def is_open(status: str | None) -> bool:
    """Whether a task in `status` still counts as work to do (None: a missing task)."""
    return status not in FINISHED


def describe(row: dict[str, Any]) -> str:
    """A task as messages name it: id and title."""
    return f'{row["task_id"]} "{row["title"]}"'


def open_subtasks(db: IndexDB, task_id: str) -> list[dict[str, Any]]:
    """The subtasks of a task that are still open, by id."""
    return db.records(
        f"SELECT task_id, title, status FROM tasks WHERE parent_task_id = ? AND {OPEN_SQL}"
        " ORDER BY task_id",
        [task_id],
    )


def unmet_dependencies(db: IndexDB, task_id: str) -> list[dict[str, Any]]:
    """The tasks a task depends on that are not completed (a missing one counts, with
    status None), by id."""
    return db.records(
        "SELECT d.depends_on_task_id AS task_id, t.title, t.status FROM task_dependencies d"
        " LEFT JOIN tasks t ON t.task_id = d.depends_on_task_id WHERE d.task_id = ?"
        f" AND (t.status IS NULL OR t.{UNMET_SQL}) ORDER BY d.depends_on_task_id",
        [task_id],
    )


def _listed(rows: list[dict[str, Any]]) -> str:
    return ", ".join(f"{r['task_id']} ({r['status'] or 'missing'})" for r in rows)


def what_is_open(db: IndexDB, row: dict[str, Any], status: str) -> list[str]:
    """What stands in the way of moving task `row` to `status`, one phrase each ([] if
    nothing): open subtasks and unmet dependencies for completing, unmet dependencies for
    starting."""
    if status == row.get("status"):
        return []
    reasons = []
    if status == DONE:
        subtasks = open_subtasks(db, row["task_id"])
        if subtasks:
            reasons.append(f"unfinished subtasks: {_listed(subtasks)}")
    if status in (DONE, IN_PROGRESS):
        deps = unmet_dependencies(db, row["task_id"])
        if deps:
            reasons.append(f"unfinished dependencies: {_listed(deps)}")
    return reasons


def check_transition(db: IndexDB, row: dict[str, Any], status: str, force: bool = False) -> None:
    """Refuse to move task `row` (an index row) to `status` while what it needs is open,
    unless `force`: completing needs its subtasks finished and its dependencies completed,
    starting its dependencies completed. The hint is the same call, forced."""
    reasons = what_is_open(db, row, status)
    if not reasons or force:
        return
    op = "task_complete" if status == DONE else "task_start"
    raise InvalidTransition(
        f"{describe(row)} has {' and '.join(reasons)}; finish them first, or force it",
        hint=Hint(op, {"task_id": row["task_id"], "force": True}),
    )


def check_start(row: dict[str, Any], force: bool = False) -> None:
    """Refuse to start a finished task unless `force`: it is reopened by a status change."""
    if row["status"] in STARTABLE or row["status"] == IN_PROGRESS or force:
        return
    raise InvalidTransition(
        f"cannot start {describe(row)}: it is {row['status']}; reopen it by setting its"
        f" status to {IN_PROGRESS}",
        hint=Hint("task_update", {"task_id": row["task_id"], "status": IN_PROGRESS}),
    )


# The session states whose work was closed: nothing of theirs is executed or planned.
CLOSED = (DONE, CANCELLED, ARCHIVED)


def check_execute(
    db: IndexDB, row: dict[str, Any], session: dict[str, Any], force: bool = False
) -> None:
    """Refuse to hand task `row` to a specialist (the workflow's execute) when its work
    is not to be done now, unless `force`: while its subtasks are open (its work is done
    through them, and its own is the synthesis of their results), or when its session
    `session` is completed, cancelled or archived (that work was closed). A person may still mark
    such a task in progress with a status change; an agent told to execute one has most
    likely taken the wrong id, and a refusal costs it one call where a warning beside a
    started task is easily missed. The hint is what it most likely meant."""
    if force:
        return
    if session["status"] in CLOSED:
        raise InvalidTransition(
            f'{describe(row)} belongs to session {session["session_id"]} "{session["name"]}",'
            f" which is {session['status']}: its work was closed; plan it again in the active"
            " session, or force it",
            hint=Hint("session_list"),
        )
    subtasks = open_subtasks(db, row["task_id"])
    if not subtasks:
        return
    startable = (r for r in subtasks if r["status"] in STARTABLE)
    first = next((r for r in startable if not unmet_dependencies(db, r["task_id"])), subtasks[0])
    shown = ", ".join(f"{r['task_id']} ({r['status']})" for r in subtasks[:5])
    more = f" and {len(subtasks) - 5} more" if len(subtasks) > 5 else ""
    raise InvalidTransition(
        f"{describe(row)} has unfinished subtasks: {shown}{more}; execute them (its own"
        " work is to combine their results once they are finished), or force it",
        hint=Hint("task_start", {"task_id": first["task_id"]}),
    )


def edit_warning(db: IndexDB, row: dict[str, Any], status: str) -> str | None:
    """For a status a person wrote into a file (a ticked box, a typed status): the
    warning that says what is still open, or None. The edit itself stands."""
    reasons = what_is_open(db, row, status)
    if not reasons:
        return None
    return f"{describe(row)} was set to {status} by an edit while it has {' and '.join(reasons)}"


def set_status(meta: dict[str, Any], status: str) -> None:
    """Change a task's status and the timestamps that go with it."""
    stamp = now()
    meta["status"] = status
    if status == IN_PROGRESS and not meta.get("started_at"):
        meta["started_at"] = stamp
    meta["completed_at"] = (meta.get("completed_at") or stamp) if status == DONE else None


def checked_status(task: dict[str, Any], checked: bool) -> str:
    """The status a box in session.md means: ticked, completed; unticked, in progress if
    the task had started, else pending."""
    if checked:
        return DONE
    return IN_PROGRESS if task.get("started_at") else PENDING


# -- sessions ----------------------------------------------------------------------------

# What a session's move into a status is called (in commit messages and refusals).
SESSION_VERB = {
    ACTIVE: "activate",
    PAUSED: "pause",
    DONE: "complete",
    CANCELLED: "cancel",
    ARCHIVED: "archive",
}
# The timestamp a session's move into a status sets.
SESSION_STAMP = {ACTIVE: "activated_at", DONE: "completed_at", ARCHIVED: "archived_at"}


def check_session_transition(row: dict[str, Any], target: str) -> None:
    """Refuse a session status change the spec's state machine (schema/session.schema.json)
    does not allow, listing the statuses it may go to."""
    allowed = session_transitions().get(row["status"], ())
    if target in allowed:
        return
    who = f'session {row["session_id"]} "{row["name"]}"'
    options = ", ".join(f"{s} ({SESSION_VERB.get(s, s)})" for s in allowed) or "nothing"
    # The hint is the first move that would succeed (from completed: archive).
    hint = (
        Hint(f"session_{SESSION_VERB[allowed[0]]}", {"session_id": row["session_id"]})
        if allowed and allowed[0] in SESSION_VERB
        else None
    )
    raise InvalidTransition(
        f"cannot {SESSION_VERB.get(target, target)} {who}: it is {row['status']};"
        f" from {row['status']} a session can go to: {options}",
        hint=hint,
    )


def set_session_status(meta: dict[str, Any], status: str) -> None:
    """Change a session's status and the timestamp that goes with it."""
    meta["status"] = status
    if status in SESSION_STAMP:
        meta[SESSION_STAMP[status]] = now()
