"""Task record tools: create, update, get, delete, cancel, and the paged task list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from orchestrator.core import tasks
from orchestrator.core.inputs import split_ids
from orchestrator.core.subtasks import SUMMARY
from orchestrator.mcp import next_steps
from orchestrator.mcp.arguments import Hours, Page, Priority, TaskId
from orchestrator.mcp.context import Context
from orchestrator.mcp.replies import (
    PAGE,
    REPLY_BUDGET,
    ROWS,
    Reply,
    TaskPage,
    TaskReply,
    ToolResult,
    decode_cursor,
    encode_cursor,
    task_brief,
    task_detail,
    trimmed,
)
from orchestrator.mcp.served import served

Complexity = Literal["simple", "moderate", "complex", "very_complex"]
TaskStatus = Literal[
    "pending", "in_progress", "blocked", "needs_revision", "completed", "failed", "cancelled"
]


def orchestrator_task_create(
    ctx: Context,
    title: str,
    description: str = "",
    group: str | None = None,
    parent_task_id: str | None = None,
    specialist_type: str | None = None,
    complexity_level: Complexity | None = None,
    priority_level: Priority | None = None,
    estimated_effort: Hours | None = None,
    dependencies: list[str] | None = None,
    session_id: str | None = None,
    labels: str | None = None,
    assignee: str | None = None,
    due: str | None = None,
    acceptance: list[str] | None = None,
) -> Annotated[ToolResult, TaskReply]:
    """Create a task."""
    with served(ctx).call() as call:
        row = tasks.add_task(
            call.project,
            title,
            session=session_id,
            group=group,
            parent=parent_task_id,
            description=description,
            specialist_type=specialist_type,
            complexity_level=complexity_level,
            priority_level=priority_level,
            estimated_effort=estimated_effort,
            depends_on=dependencies or (),
            labels=labels,
            assignee=assignee,
            due=due,
            acceptance=acceptance or (),
        )
        return call.reply(
            f"Created {row['task_id']} {row['title']!r}.",
            {
                "task": task_brief(row) | {"file_path": row["file_path"]},
                "next_step": next_steps.for_task(call.project, row),
            },
        )


def orchestrator_task_update(
    ctx: Context,
    task_id: TaskId,
    title: str = "",
    status: TaskStatus | None = None,
    description: str = "",
    specialist_type: str | None = None,
    complexity_level: Complexity | None = None,
    priority_level: Priority | None = None,
    estimated_effort: Hours | None = None,
    actual_effort: Hours | None = None,
    dependencies: list[str] | None = None,
    add_dependencies: list[str] | None = None,
    remove_dependencies: list[str] | None = None,
    force: bool = False,
    labels: str | None = None,
    assignee: str | None = None,
    due: str | None = None,
) -> Annotated[ToolResult, TaskReply]:
    """Change a task; fields not given stay."""
    with served(ctx).call() as call:
        row = tasks.update_task(
            call.project,
            task_id,
            title=title or None,
            status=status,
            description=description or None,
            specialist_type=specialist_type,
            complexity_level=complexity_level,
            priority_level=priority_level,
            estimated_effort=estimated_effort,
            actual_effort=actual_effort,
            depends_on=dependencies,
            add_dependencies=add_dependencies or (),
            remove_dependencies=remove_dependencies or (),
            force=force,
            labels=labels,
            assignee=assignee,
            due=due,
        )
        said = (
            f"Updated {row['task_id']} {row['title']!r} ({row['status']})."
            if row["changed"]
            else f"Nothing to change: {row['task_id']} {row['title']!r} already has these"
            " values; nothing was written."
        )
        return call.reply(
            said,
            {
                "task": task_brief(row)
                | {"depends_on": row["depends_on"]}
                | {k: row[k] for k in ("labels", "assignee", "due") if row[k]},
                "next_step": next_steps.for_task(call.project, row),
            },
        )


def orchestrator_task_get(
    ctx: Context, task_id: TaskId, full: bool = False
) -> Annotated[ToolResult, TaskReply]:
    """A task with subtasks, dependencies, what it blocks, file problems."""
    with served(ctx).call() as call:
        detail = task_detail(call.project, task_id, full)
        return call.reply(
            f"{detail['task_id']} {detail['title']!r} ({detail['status']}).",
            {"task": detail, "next_step": next_steps.for_task(call.project, detail)},
            budget=None if full else REPLY_BUDGET,
        )


def orchestrator_task_delete(ctx: Context, task_id: TaskId, cascade: bool = False) -> Reply:
    """Delete a task and its artifacts; dependents let go of it."""
    with served(ctx).call() as call:
        out = tasks.delete_task(call.project, task_id, cascade=cascade)
        out["next_step"] = next_steps.STATUS
        return call.reply(f"Deleted {', '.join(out['deleted'])}.", out)


def orchestrator_task_cancel(
    ctx: Context, task_id: TaskId, reason: str = ""
) -> Annotated[ToolResult, TaskReply]:
    """Cancel a task; it stops blocking others."""
    with served(ctx).call() as call:
        row = tasks.cancel_task(call.project, task_id, reason)
        return call.reply(
            f"Cancelled {row['task_id']} {row['title']!r}.",
            {"task": task_brief(row), "next_step": next_steps.STATUS},
        )


def orchestrator_task_list(
    ctx: Context,
    status: list[str] | str | None = None,
    group: str | None = None,
    specialist_type: str | None = None,
    parent_task_id: str | None = None,
    ready: bool = False,
    session_id: str | None = None,
    all_sessions: bool = False,
    limit: Page = PAGE,
    cursor: str | None = None,
    fields: list[str] | None = None,
    labels: str | None = None,
    assignee: str | None = None,
    overdue: bool = False,
) -> Annotated[ToolResult, TaskPage]:
    """Tasks, filtered and paged."""
    with served(ctx).call() as call:
        offset = decode_cursor(cursor)
        wanted = None if fields and "all" in fields else (fields or list(SUMMARY))
        total, rows = tasks.page_tasks(
            call.project,
            limit=max(1, min(limit, 500)),
            offset=offset,
            fields=wanted,
            ready=ready,
            session=session_id,
            all_sessions=all_sessions,
            group=group,
            status=split_ids(status),
            specialist_type=specialist_type,
            parent=parent_task_id,
            labels=labels or (),
            assignee=assignee,
            overdue=overdue,
        )
        shown = trimmed(rows, ROWS)
        end = offset + len(shown)
        cursor = encode_cursor(end) if end < total else None
        more = " next_cursor gives the next page." if cursor else ""
        given = {"status": status, "group": group, "specialist_type": specialist_type,
                 "parent_task_id": parent_task_id, "ready": ready, "session_id": session_id,
                 "all_sessions": all_sessions, "fields": fields, "labels": labels,
                 "assignee": assignee, "overdue": overdue}  # fmt: skip
        filters = {k: v for k, v in given.items() if v} | (
            {"limit": limit} if limit != PAGE else {}
        )
        data = {"tasks": shown, "total": total, "next_cursor": cursor,
                "next_step": next_steps.for_page(shown, cursor, "orchestrator_task_list", **filters)}  # fmt: skip
        return call.reply(f"Tasks {offset + 1 if shown else 0}–{end} of {total}.{more}", data)


def orchestrator_query_tasks(
    ctx: Context,
    status: list[str] | str | None = None,
    specialist_type: str | None = None,
    group: str | None = None,
    parent_task_id: str | None = None,
    ready: bool = False,
    session_id: str | None = None,
    all_sessions: bool = False,
    limit: Page = PAGE,
    cursor: str | None = None,
    fields: list[str] | None = None,
) -> Annotated[ToolResult, TaskPage]:
    """Legacy name of orchestrator_task_list."""
    return orchestrator_task_list(
        ctx, status=status, group=group, specialist_type=specialist_type,
        parent_task_id=parent_task_id, ready=ready, session_id=session_id,
        all_sessions=all_sessions, limit=limit, cursor=cursor, fields=fields,
    )  # fmt: skip


TOOLS: list[Callable[..., Any]] = [
    orchestrator_task_create,
    orchestrator_task_update,
    orchestrator_task_get,
    orchestrator_task_delete,
    orchestrator_task_cancel,
    orchestrator_task_list,
    orchestrator_query_tasks,
]
