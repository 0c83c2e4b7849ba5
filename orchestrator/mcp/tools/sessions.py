"""Session tools: create, list, the status changes of the spec's state machine, archive."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from orchestrator.core import archive, sessions
from orchestrator.core.artifacts import mime_of
from orchestrator.core.subtasks import session_brief
from orchestrator.mcp import next_steps
from orchestrator.mcp.arguments import Priority, SessionId
from orchestrator.mcp.context import Context
from orchestrator.mcp.replies import (
    ROWS,
    Reply,
    SessionList,
    SessionReply,
    ToolResult,
    shown_of,
    trimmed,
)
from orchestrator.mcp.resources import link
from orchestrator.mcp.served import served
from orchestrator.model import ACTIVE, CANCELLED, DONE, PAUSED


def orchestrator_session_create(
    ctx: Context,
    name: str,
    description: str = "",
    project_root: str | None = None,
    mode_file: str | None = None,
    switch: bool = False,
    session_type: str = "project",
    priority_level: Priority = 3,
) -> Annotated[ToolResult, SessionReply]:
    """Create a session and make it active."""
    # The project chosen and the work done in one turn.
    with served(ctx).call(working_directory=project_root) as call:
        row = sessions.create_session(
            call.project, name, description=description or None, mode_file=mode_file,
            switch=switch, session_type=session_type, priority_level=priority_level,
        )  # fmt: skip
        return call.reply(
            f"Created session {row['session_id']} {row['name']!r} (active).",
            {"session": session_brief(row), "next_step": next_steps.for_session(row)},
        )


def change_status(ctx: Context, session_id: str, target: str) -> ToolResult:
    """A session moved to `target` as the state machine allows (the tools below)."""
    with served(ctx).call() as call:
        row = sessions.change_status(call.project, session_id, target)
        return call.reply(
            f"Session {row['session_id']} is {row['status']}.",
            {"session": session_brief(row), "next_step": next_steps.for_session(row)},
        )


def orchestrator_session_activate(
    ctx: Context, session_id: SessionId
) -> Annotated[ToolResult, SessionReply]:
    """Activate a session (the active one is paused)."""
    return change_status(ctx, session_id, ACTIVE)


def orchestrator_session_pause(
    ctx: Context, session_id: SessionId
) -> Annotated[ToolResult, SessionReply]:
    """Pause a session."""
    return change_status(ctx, session_id, PAUSED)


def orchestrator_session_complete(
    ctx: Context, session_id: SessionId
) -> Annotated[ToolResult, SessionReply]:
    """Complete a session."""
    return change_status(ctx, session_id, DONE)


def orchestrator_session_cancel(
    ctx: Context, session_id: SessionId
) -> Annotated[ToolResult, SessionReply]:
    """Cancel a session."""
    return change_status(ctx, session_id, CANCELLED)


def orchestrator_session_list(
    ctx: Context, status_filter: str | None = None, include_archived: bool = False
) -> Annotated[ToolResult, SessionList]:
    """Sessions, the active one first."""
    with served(ctx).call() as call:
        rows = sessions.list_sessions(call.project, status_filter, include_archived)
        listed = trimmed([brief(r) for r in rows], ROWS)
        return call.reply(
            shown_of(len(listed), len(rows), "session"),
            {"sessions": listed, "total": len(rows), "next_step": next_steps.for_sessions(rows)},
        )


def brief(row: dict[str, Any]) -> dict[str, Any]:
    """A session as listed: its brief, and for one in the error state its problem."""
    return session_brief(row) | ({"problem": row["problem"]} if row.get("problem") else {})


def orchestrator_session_archive(
    ctx: Context,
    session_id: SessionId,
    export_format: Literal["markdown", "json", "zip"] = "markdown",
) -> Reply:
    """Archive a session, with an export."""
    with served(ctx).call() as call:
        out = archive.archive_session(call.project, session_id, export_format)
        name = Path(out["export"]).name
        out["next_step"] = "orchestrator_get_status() to see what is left"
        export = link(f"orch://archive/{name}", name, mime_of(Path(name)), "The export")
        return call.reply(
            f"Archived {out['session_id']}; export: {out['export']}.", out, links=[export]
        )


TOOLS: list[Callable[..., Any]] = [
    orchestrator_session_create,
    orchestrator_session_activate,
    orchestrator_session_pause,
    orchestrator_session_complete,
    orchestrator_session_cancel,
    orchestrator_session_list,
    orchestrator_session_archive,
]
