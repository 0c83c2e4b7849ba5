"""The orchestration workflow's session side: make sure a session is active and give the
planner its context, say where the work stands, and hand it over. The subtask side (plan,
execute, complete, synthesize) is core/subtasks.py.

These are the spec's legacy tools (initialize, plan, execute, complete, synthesize,
status, maintenance) as core operations; the MCP server is one adapter over them.
"""

from __future__ import annotations

from typing import Any

from orchestrator.core import lookup
from orchestrator.core.board import board
from orchestrator.core.conflicts import list_conflicts
from orchestrator.core.modes import session_mode
from orchestrator.core.next_step import next_step, ready_tasks
from orchestrator.core.project import Project
from orchestrator.core.sessions import create_session
from orchestrator.core.subtasks import ROLE_KEYS, session_brief, summary
from orchestrator.core.tasks import TASK_FROM
from orchestrator.core.views import add_note
from orchestrator.model import BLOCKED, DONE, IN_PROGRESS
from orchestrator.store.mode_file import PLANNER_ROLE

# -- the planner's context ---------------------------------------------------------------


def initialize(project: Project, session_name: str) -> dict[str, Any]:
    """Make sure a session is active (creating one named `session_name` if none is, as
    the spec's compatibility adapter does) and return the planning context."""
    with project.reading() as db:
        active = lookup.active_session(db)
    if active is None:
        create_session(
            project, session_name, description="Created by orchestrator_initialize_session."
        )
    return planning_context(project) | {"session_created": active is None}


def planning_context(project: Project) -> dict[str, Any]:
    """What an orchestrating agent needs before planning: the active session (if any),
    its mode's planner role and the specialists it may assign."""
    with project.reading() as db:
        active = lookup.active_session(db)
    out: dict[str, Any] = {
        "project_root": str(project.root),
        "active_session": session_brief(active) if active else None,
    }
    if active is None:
        out["next_step"] = (
            "no session is active: orchestrator_plan_task creates one for the work, or"
            " orchestrator_session_create names one"
        )
        return out
    mode, context = session_mode(project, active["session_id"])
    planner = mode.roles.get(PLANNER_ROLE) or {}
    out["mode"] = context.get("effective_mode")
    out["planner"] = {key: planner.get(key) for key in ROLE_KEYS if planner.get(key)}
    out["specialist_roles"] = mode.specialist_roles
    out["next_step"] = (
        "plan the work with orchestrator_plan_task (description, subtasks), then run each"
        " ready subtask with orchestrator_execute_subtask"
    )
    return out


# -- status and upkeep -------------------------------------------------------------------


def get_status(
    project: Project, include_completed: bool = False, limit: int = 10
) -> dict[str, Any]:
    """The active session with its progress, groups, tasks in progress and ready, the
    other sessions, problems and conflicts, and the call that moves the work on (the
    session's completion once all its tasks are finished)."""
    with project.reading():  # one check of the files for all that follows
        return _status(project, include_completed, limit)


def _status(project: Project, include_completed: bool, limit: int) -> dict[str, Any]:
    state = board(project, ready_limit=limit)
    active = state["active_session"]
    out: dict[str, Any] = {
        "active_session": session_brief(active) if active else None,
        "mode": (state["mode"] or {}).get("effective_mode"),
        "status_counts": state["status_counts"],
        "groups": [
            {
                key: g.get(key)
                for key in (
                    "group_id",
                    "group_name",
                    "parent_group_id",
                    "group_level",
                    "total_tasks",
                    "completed_tasks",
                    "progress_percentage",
                )
            }
            for g in state["groups"]
        ],
        "ready": [summary(r) for r in state["ready"]],
        "ready_count": state["ready_count"],
        "other_sessions": [
            {
                key: s.get(key)
                for key in ("session_id", "name", "status", "progress_percentage", "problem")
                if key in s
            }
            for s in state["other_sessions"][:limit]
        ],
        "problems": state["problems"],
        "conflicts": [c["record_id"] for c in list_conflicts(project)]
        if state["problems"]["conflicts"]
        else [],
    }
    if active is not None:
        with project.reading() as db:
            sid = active["session_id"]
            out["in_progress"] = [
                summary(r)
                for r in db.records(
                    f"SELECT t.* {TASK_FROM} WHERE t.session_id = ? AND t.status = ?"
                    f" ORDER BY t.started_at NULLS LAST, t.task_id LIMIT {int(limit)}",
                    [sid, IN_PROGRESS],
                )
            ]
            if include_completed:
                out["completed"] = [
                    summary(r) | {"completed_at": r["completed_at"]}
                    for r in db.records(
                        f"SELECT t.* {TASK_FROM} WHERE t.session_id = ? AND t.status = '{DONE}'"
                        f" ORDER BY t.completed_at DESC NULLS LAST, t.task_id LIMIT {int(limit)}",
                        [sid],
                    )
                ]
            out["next_step"] = next_step(project, db, sid)
    else:
        out["next_step"] = (
            "no session is active: orchestrator_initialize_session or orchestrator_session_create"
        )
    return out


def handover(project: Project, session: str | None = None) -> dict[str, Any]:
    """Write where the work stands into the session's Next Steps (session.md): progress,
    what is in progress, what is ready, what is blocked. One commit."""
    with project.reading() as db:
        row = lookup.session_or_active(db, session)
        sid = row["session_id"]

        def titled(status: str) -> list[str]:
            return [
                f"{r['task_id']} {r['title']}"
                for r in db.records(
                    "SELECT task_id, title FROM tasks WHERE session_id = ? AND status = ?"
                    " ORDER BY priority_level, task_id LIMIT 5",
                    [sid, status],
                )
            ]

        in_progress, blocked = titled(IN_PROGRESS), titled(BLOCKED)
        ready = [f"{r['task_id']} {r['title']}" for r in ready_tasks(project, db, sid, limit=5)]
    parts = [
        f"Handover: {row['completed_tasks']} of {row['total_tasks']} tasks completed"
        f" ({row['progress_percentage']:.0f}%)"
    ]
    for label, items in (("in progress", in_progress), ("ready next", ready), ("blocked", blocked)):
        if items:
            parts.append(f"{label}: " + "; ".join(items))
    note = add_note(project, "next", ". ".join(parts) + ".", session=sid)
    return {"session_id": sid, "handover": note["entry"], "file": note["file"]}
