"""Task group tools: create a group, move tasks into one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orchestrator.core import groups
from orchestrator.core.inputs import split_ids
from orchestrator.mcp import next_steps
from orchestrator.mcp.arguments import Priority
from orchestrator.mcp.context import Context
from orchestrator.mcp.replies import ROWS, Reply, task_brief, trimmed
from orchestrator.mcp.served import served

GROUP_FIELDS = ("group_id", "session_id", "group_name", "parent_group_id", "specialist_focus",
                "priority_level", "file_path")  # fmt: skip


def orchestrator_group_create(
    ctx: Context,
    group_name: str,
    description: str = "",
    specialist_focus: str | None = None,
    parent_group: str | None = None,
    priority_level: Priority | None = None,
    session_id: str | None = None,
) -> Reply:
    """Create a task group."""
    with served(ctx).call() as call:
        row = groups.create_group(
            call.project,
            group_name,
            session=session_id,
            description=description,
            specialist_focus=specialist_focus,
            priority_level=priority_level,
            parent=parent_group,
        )
        return call.reply(
            f"Created group {row['group_id']} {row['group_name']!r}.",
            {
                "group": {k: row.get(k) for k in GROUP_FIELDS},
                "next_step": f"orchestrator_task_create(title=..., group={row['group_id']!r})",
            },
        )


def orchestrator_group_move_tasks(
    ctx: Context,
    task_ids: list[str] | str,
    target_group: str,
    preserve_dependencies: bool = True,
) -> Reply:
    """Move tasks and their subtasks into a group."""
    with served(ctx).call() as call:
        rows = groups.move_tasks(
            call.project, split_ids(task_ids), target_group, preserve_dependencies
        )
        moved = [task_brief(r) for r in rows]
        return call.reply(
            f"Moved {len(moved)} task(s) to {target_group!r}.",
            {"moved": trimmed(moved, ROWS), "count": len(moved), "next_step": next_steps.STATUS},
        )


TOOLS: list[Callable[..., Any]] = [orchestrator_group_create, orchestrator_group_move_tasks]
