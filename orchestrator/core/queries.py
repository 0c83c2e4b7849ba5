"""Read queries an adapter needs that no command answers, so that no adapter writes SQL:
each is a function over the index, answering with the spec's column names."""

from __future__ import annotations

from typing import Any

from orchestrator.core import lookup
from orchestrator.core.next_step import ready_tasks
from orchestrator.core.project import Project
from orchestrator.core.tasks import TASK_FROM, task_filter
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


def ids_starting(project: Project, name: str, typed: str, limit: int = 101) -> list[str]:
    """Values of an id argument (`task_id`, `session_id`) that start with `typed`, for a
    client completing it: task ids most recently changed first, sessions by id or name."""
    like = typed.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if name == "task_id":
        sql = ("SELECT task_id FROM tasks WHERE task_id LIKE ? ESCAPE '\\'"
               f" ORDER BY last_updated_at DESC, task_id LIMIT {int(limit)}")  # fmt: skip
    elif name == "session_id":
        sql = ("SELECT session_id FROM sessions WHERE session_id LIKE ? ESCAPE '\\'"
               f" OR name LIKE ? ESCAPE '\\' ORDER BY session_id LIMIT {int(limit)}")  # fmt: skip
    else:
        return []
    with project.reading() as db:
        rows = db.records(sql, [like] * sql.count("?"))
    return [next(iter(row.values())) for row in rows]


def tasks_beyond(project: Project, limit: int, **filters: Any) -> int:
    """How many tasks a listing (core.tasks.list_tasks's filters) cut at `limit` leaves
    out, for a list to say so."""
    with project.reading() as db:
        said = len(project.warnings)
        where, params = task_filter(project, db, **filters)
        del project.warnings[said:]  # the listing itself said them already
        total = db.scalar(f"SELECT count(*) {TASK_FROM} {where}", params)
    return max(0, int(total or 0) - limit)


def session_names(project: Project) -> dict[str, str]:
    """Every session's name by its id (archived ones too), for a list that names them."""
    with project.reading() as db:
        return {sid: name or sid for sid, name in db.rows("SELECT session_id, name FROM sessions")}
