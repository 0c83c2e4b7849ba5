"""`orch next`: the one task to do now and what its specialist needs, for a person at a
terminal; the same choice (the session's ready tasks, urgent first, as `task list
--ready` orders them), the same start (core/tasks.py `start_task`) and the same role
context (core/subtasks.py `specialist_context`) an agent gets through
`orchestrator_execute_subtask`. With nothing ready, why: the facts, not the words."""

from __future__ import annotations

from typing import Any

from orchestrator.core import lookup
from orchestrator.core.next_step import count_ready, ready_tasks, why_nothing_ready
from orchestrator.core.project import Project
from orchestrator.core.rules import CLOSED
from orchestrator.core.subtasks import session_brief, specialist_context
from orchestrator.core.tasks import start_task


def next_task(project: Project, session: str | None = None, start: bool = False) -> dict[str, Any]:
    """The most urgent ready task of `session` (default: the active one) with its role
    context: the task, its specialist's role, its parent, its dependencies' results.
    With `start`, marked in progress first, as `orch task start` does. `task` is None
    when nothing is ready (a closed session has nothing to do), and `why` says what
    there is instead (why_nothing_ready)."""
    with project.reading() as db:
        row = lookup.session_or_active(db, session)
        sid = row["session_id"]
        closed = row["status"] in CLOSED
        ready = [] if closed else ready_tasks(project, db, sid, limit=1)
        out: dict[str, Any] = {
            "session": session_brief(row),
            "ready_count": count_ready(project, db, sid) if ready else 0,
            "started": False,
            "task": None,
            "why": None,
        }
        if not ready:
            out["why"] = why_nothing_ready(db, sid) | {"session_closed": closed}
            return out
    task_id = ready[0]["task_id"]
    if start:
        start_task(project, task_id)
        out["started"] = True
    context = specialist_context(project, task_id)
    context.pop("next_step")  # an MCP call; each adapter says what comes next its own way
    return out | context
