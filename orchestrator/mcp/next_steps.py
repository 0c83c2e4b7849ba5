"""What a record tool's reply says to do next (the workflow's own replies take theirs from
the core: core/subtasks.py `next_step`). Each is a call an agent can make as it is."""

from __future__ import annotations

from typing import Any

from orchestrator.core.next_step import step_for_task
from orchestrator.core.project import Project
from orchestrator.mcp.errors import value_text

STATUS = "orchestrator_get_status() says what is ready now"


def for_task(project: Project, task: dict[str, Any]) -> str:
    """After a task was shown, made or changed: the call that moves it on, by the rules
    execute follows (core/subtasks.py: step_for_task)."""
    return step_for_task(project, task["task_id"])


def for_page(rows: list[dict[str, Any]], cursor: str | None, tool: str, **args: Any) -> str:
    """After a page of a list (`tool` called with `args`): the next page, else one row
    in full."""
    if cursor:
        given = "".join(f"{k}={value_text(v)}, " for k, v in args.items())
        return f"{tool}({given}cursor={cursor!r}) for the next page"
    if rows and "task_id" in rows[0]:
        return f"orchestrator_task_get(task_id={rows[0]['task_id']!r}) for one in full"
    return STATUS


def for_session(session: dict[str, Any]) -> str:
    if session.get("status") == "active":
        if not session.get("total_tasks"):
            return "orchestrator_plan_task(description=..., subtasks=[...]) to plan its work"
        return STATUS
    return "orchestrator_session_list() to choose the session to go on with"


def for_sessions(rows: list[dict[str, Any]]) -> str:
    waiting = [r for r in rows if r.get("status") == "paused"]
    if waiting:
        return f"orchestrator_session_activate(session_id={waiting[0]['session_id']!r}) to go on with it"
    return STATUS


def for_cleanup(findings: list[Any], dry_run: bool) -> str:
    if findings and dry_run:
        return "orchestrator_cleanup(dry_run=false) fixes what was found"
    return STATUS


def for_conflicts(conflicts: list[dict[str, Any]]) -> str:
    if conflicts:
        record = conflicts[0].get("record_id")
        return f"orchestrator_resolve_conflict(record_id={record!r}, strategy='merge')"
    return STATUS
