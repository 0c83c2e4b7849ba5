"""Read queries an adapter needs that no command answers, so that no adapter writes SQL:
each is a function over the index, answering with the spec's column names."""

from __future__ import annotations

from typing import Any

from orchestrator.core import lookup
from orchestrator.core.project import Project
from orchestrator.core.subtasks import ready_tasks
from orchestrator.model import IN_PROGRESS

# The statuses of a task someone has taken up and not finished.
IN_HAND = (IN_PROGRESS, "blocked", "needs_revision")


def active_session_work(
    project: Project, in_hand: int = 50, ready: int = 20
) -> dict[str, Any] | None:
    """The active session's record with its tasks in hand (in progress, blocked, needing
    revision; by id, at most `in_hand`) and its ready tasks (urgent first, at most
    `ready`); None when no session is active."""
    with project.reading() as db:
        session = lookup.active_session(db)
        if session is None:
            return None
        marks = ", ".join("?" for _ in IN_HAND)
        taken = db.records(
            f"SELECT * FROM tasks WHERE session_id = ? AND status IN ({marks})"
            f" ORDER BY task_id LIMIT {int(in_hand)}",
            [session["session_id"], *IN_HAND],
        )
        next_up = ready_tasks(project, db, session["session_id"], limit=ready)
    return {"session": session, "in_hand": taken, "ready": next_up}
