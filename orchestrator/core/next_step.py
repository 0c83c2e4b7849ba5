"""What is ready, and what to do next: the call each workflow reply names as its
`next_step` (after a plan, a report, a synthesis, in the status, and for one task), by
the rules execute follows (core/rules.py), so that the advice is never a call that would
be refused."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.core import lookup
from orchestrator.core.project import Project
from orchestrator.core.rules import (
    CLOSED,
    OPEN_SQL,
    STARTABLE,
    open_subtasks,
    unmet_dependencies,
)
from orchestrator.core.tasks import READY_ORDER, TASK_FROM, task_filter
from orchestrator.model import IN_PROGRESS, PENDING


def ready_tasks(
    project: Project, db, session_id: str, limit: int = 10, parent: str | None = None
) -> list[dict[str, Any]]:
    """The ready tasks of a session (of one parent's subtasks, with `parent`), urgent
    first, as the task list orders them."""
    where, params = task_filter(project, db, session=session_id, parent=parent, ready=True)
    return db.records(
        f"SELECT t.* {TASK_FROM} {where} ORDER BY {READY_ORDER} LIMIT {int(limit)}", params
    )


def count_ready(project: Project, db, session_id: str, parent: str | None = None) -> int:
    where, params = task_filter(project, db, session=session_id, parent=parent, ready=True)
    return db.scalar(f"SELECT count(*) {TASK_FROM} {where}", params)


def execute_call(task_id: str) -> str:
    return f"orchestrator_execute_subtask(task_id={task_id!r})"


def complete_call(task_id: str) -> str:
    return (
        f"orchestrator_complete_subtask(task_id={task_id!r}, summary=..., detailed_work=...,"
        " file_paths=[...])"
    )


def synthesize_call(task_id: str) -> str:
    return f"orchestrator_synthesize_results(parent_task_id={task_id!r})"


def step_for(db, row: Mapping[str, Any]) -> str:
    """The call for a ready task: a parent whose subtasks are all finished is done by
    combining their results; any other task is executed."""
    if db.scalar("SELECT count(*) FROM tasks WHERE parent_task_id = ?", [row["task_id"]]):
        return f"every subtask of {row['task_id']} is finished: {synthesize_call(row['task_id'])}"
    return execute_call(row["task_id"])


def step_for_task(project: Project, task_id: str) -> str:
    """The call that moves one task on, for a reply about it (shown, made, changed): a
    report when it is in progress, its execution when execute would take it (startable,
    nothing it waits for open, none of its subtasks open, its session not closed), else
    what moves its session on (next_step)."""
    with project.reading() as db:
        row = lookup.task(db, task_id)
        session = lookup.session(db, row["session_id"])
        if row["status"] == IN_PROGRESS:
            return f"when done: {complete_call(row['task_id'])}"
        startable = (
            row["status"] in STARTABLE
            and session["status"] not in CLOSED
            and not unmet_dependencies(db, row["task_id"])
        )
        if startable and not open_subtasks(db, row["task_id"]):
            return step_for(db, row)
        return next_step(project, db, row["session_id"], row["parent_task_id"])


def next_step(project: Project, db, session_id: str, parent_id: str | None = None) -> str:
    """The call that moves the work on (after a report, a synthesis, or in the status):
    the next ready subtask of `parent_id`, or its synthesis once all its subtasks are
    finished; else the session's next ready task; else what its open work waits for;
    and the session's completion once nothing in it is open. Of a closed session (its
    tasks are not executed): the active session's status."""
    session = lookup.session(db, session_id)
    if session["status"] in CLOSED:
        return (
            f"session {session_id} is {session['status']}: orchestrator_get_status() for the"
            " active session's work"
        )
    if parent_id:
        ready = ready_tasks(project, db, session_id, limit=1, parent=parent_id)
        if ready:
            return step_for(db, ready[0])
        left = db.scalar(
            f"SELECT count(*) FROM tasks WHERE parent_task_id = ? AND {OPEN_SQL}", [parent_id]
        )
        if not left:
            return f"every subtask of {parent_id} is finished: {synthesize_call(parent_id)}"
    ready = ready_tasks(project, db, session_id, limit=1)
    if ready:
        return step_for(db, ready[0])
    waiting = db.record(
        f"SELECT task_id, status FROM tasks t WHERE session_id = ? AND t.{OPEN_SQL}"
        f" AND t.status = '{IN_PROGRESS}'"
        f" AND NOT EXISTS (SELECT 1 FROM tasks c WHERE c.parent_task_id = t.task_id"
        f" AND c.{OPEN_SQL}) ORDER BY priority_level, created_at, task_id LIMIT 1",
        [session_id],
    ) or db.record(
        f"SELECT task_id, status FROM tasks t WHERE session_id = ? AND t.{OPEN_SQL}"
        f" AND NOT EXISTS (SELECT 1 FROM tasks c WHERE c.parent_task_id = t.task_id"
        f" AND c.{OPEN_SQL}) ORDER BY priority_level, created_at, task_id LIMIT 1",
        [session_id],
    )
    if waiting is None:
        if not db.scalar("SELECT count(*) FROM tasks WHERE session_id = ?", [session_id]):
            return (
                f"session {session_id} has no tasks yet: plan the work with"
                " orchestrator_plan_task(description=..., subtasks=[...])"
            )
        return (
            f"every task of session {session_id} is finished: orchestrator_session_complete("
            f"session_id={session_id!r}), or plan more with orchestrator_plan_task"
        )
    task_id = waiting["task_id"]
    if waiting["status"] == IN_PROGRESS:
        return (
            f"nothing is ready while {task_id} is in progress: report it with"
            f" {complete_call(task_id)}"
        )
    unmet = unmet_dependencies(db, task_id)
    if waiting["status"] in STARTABLE and waiting["status"] != PENDING and not unmet:
        return f"{task_id} is {waiting['status']}: {execute_call(task_id)} takes it up again"
    if unmet and unmet[0]["status"] == IN_PROGRESS:
        first = unmet[0]["task_id"]
        return (
            f"nothing is ready: {task_id} waits for {first}, in progress: report it with"
            f" {complete_call(first)}"
        )
    return (
        f"nothing is ready: {task_id} waits for tasks that are not finished;"
        f" orchestrator_task_get(task_id={task_id!r}) shows them"
    )


def why_nothing_ready(db, session_id: str, limit: int = 10) -> dict[str, Any]:
    """Why a session has no ready task, in facts an adapter words: how many of its tasks
    are open of how many, those in progress, and the other open tasks with what each
    waits for (unfinished dependencies, open subtasks; none: its status holds it, as
    blocked or needs_revision), most urgent first, at most `limit` of each."""
    total = db.scalar("SELECT count(*) FROM tasks WHERE session_id = ?", [session_id])
    open_count = db.scalar(
        f"SELECT count(*) FROM tasks WHERE session_id = ? AND {OPEN_SQL}", [session_id]
    )
    brief = "task_id, title, status, priority_level"
    in_progress = db.records(
        f"SELECT {brief} FROM tasks WHERE session_id = ? AND status = '{IN_PROGRESS}'"
        f" ORDER BY priority_level, started_at NULLS LAST, task_id LIMIT {int(limit)}",
        [session_id],
    )
    held = db.records(
        f"SELECT {brief} FROM tasks WHERE session_id = ? AND {OPEN_SQL}"
        f" AND status <> '{IN_PROGRESS}' ORDER BY priority_level, created_at, task_id"
        f" LIMIT {int(limit)}",
        [session_id],
    )
    for row in held:
        row["waits_for"] = unmet_dependencies(db, row["task_id"])
        row["open_subtasks"] = open_subtasks(db, row["task_id"])
    return {"total": total, "open": open_count, "in_progress": in_progress, "waiting": held}
