"""The resources: shared context several agents read (the active session, one task)."""

from __future__ import annotations

import json

from orchestrator.core import queries, sessions, workflow
from orchestrator.core.project import Project
from orchestrator.core.subtasks import session_brief
from orchestrator.mcp.replies import Data, task_brief, task_detail
from orchestrator.mcp.served import Served

GROUP_FIELDS = ("group_id", "group_name", "parent_group_id", "group_level", "specialist_focus",
                "total_tasks", "completed_tasks", "progress_percentage")  # fmt: skip


def active_session(served: Served) -> str:
    """orch://session/active as JSON."""
    with served.read() as project:
        return as_json(active_session_data(project))


def task(served: Served, task_id: str) -> str:
    """orch://task/{task_id} as JSON."""
    with served.read() as project:
        return as_json(task_detail(project, task_id, full=False))


def as_json(data: Data) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)


def active_session_data(project: Project) -> Data:
    """The active session: its record, mode configuration, groups, tasks in hand and
    ready, and the path of its session.md."""
    work = queries.active_session_work(project)
    if work is None:
        return {"session": None, "note": "no session is active"}
    shown = sessions.show_session(project, work["session"]["session_id"])
    mode = workflow.planning_context(project)
    return {
        "session": session_brief(shown),
        "mode": {
            "mode_file": shown["mode_file"],
            "binding": shown["mode_binding"],
            "specialist_roles": mode.get("specialist_roles"),
        },
        "groups": [{k: g.get(k) for k in GROUP_FIELDS} for g in shown["groups"]],
        "active_tasks": [task_brief(t) for t in work["in_hand"]],
        "ready_tasks": [task_brief(t) for t in work["ready"]],
        "status_counts": shown["status_counts"],
        "markdown_path": shown["markdown_file_path"],
    }
