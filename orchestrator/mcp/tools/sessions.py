"""Session tools: create, list, the status changes of the spec's state machine, archive."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from mcp.types import CallToolResult

from orchestrator.core import archive, sessions
from orchestrator.core.subtasks import session_brief
from orchestrator.mcp.arguments import SessionId
from orchestrator.mcp.context import Context
from orchestrator.mcp.replies import (
    ROWS,
    Reply,
    SessionList,
    SessionReply,
    shown_of,
    trimmed,
)
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
    priority_level: int = 3,
) -> Annotated[CallToolResult, SessionReply]:
    """Create a session and make it the active one. Refused while another session is
    active unless switch=true, which pauses that one. project_root: the project
    directory, if not the server's. mode_file: a role file in .task_orchestrator/roles/
    (default_roles.yaml if none). priority_level: 1 urgent .. 5 someday."""
    # The project chosen and the work done in one turn.
    with served(ctx).call(working_directory=project_root) as call:
        row = sessions.create_session(
            call.project, name, description=description or None, mode_file=mode_file,
            switch=switch, session_type=session_type, priority_level=priority_level,
        )  # fmt: skip
        return call.reply(
            f"Created session {row['session_id']} {row['name']!r} (active).",
            {"session": session_brief(row)},
        )


def change_status(ctx: Context, session_id: str, target: str) -> CallToolResult:
    """A session moved to `target` as the state machine allows (the tools below)."""
    with served(ctx).call() as call:
        row = sessions.change_status(call.project, session_id, target)
        return call.reply(
            f"Session {row['session_id']} is {row['status']}.", {"session": session_brief(row)}
        )


def orchestrator_session_activate(
    ctx: Context, session_id: SessionId
) -> Annotated[CallToolResult, SessionReply]:
    """Activate (the active one is paused) a session (id, unique id prefix or name).
    Refused where the spec's state machine does not allow it; the message lists the
    allowed moves."""
    return change_status(ctx, session_id, ACTIVE)


def orchestrator_session_pause(
    ctx: Context, session_id: SessionId
) -> Annotated[CallToolResult, SessionReply]:
    """Pause a session (id, unique id prefix or name). Refused where the spec's state
    machine does not allow it; the message lists the allowed moves."""
    return change_status(ctx, session_id, PAUSED)


def orchestrator_session_complete(
    ctx: Context, session_id: SessionId
) -> Annotated[CallToolResult, SessionReply]:
    """Complete a session (id, unique id prefix or name). Refused where the spec's state
    machine does not allow it; the message lists the allowed moves."""
    return change_status(ctx, session_id, DONE)


def orchestrator_session_cancel(
    ctx: Context, session_id: SessionId
) -> Annotated[CallToolResult, SessionReply]:
    """Cancel a session (id, unique id prefix or name). Refused where the spec's state
    machine does not allow it; the message lists the allowed moves."""
    return change_status(ctx, session_id, CANCELLED)


def orchestrator_session_list(
    ctx: Context, status_filter: str | None = None, include_archived: bool = False
) -> Annotated[CallToolResult, SessionList]:
    """Sessions, the active one first. status_filter: active, paused, completed,
    archived, cancelled, ...; archived sessions only with include_archived."""
    with served(ctx).call() as call:
        rows = sessions.list_sessions(call.project, status_filter, include_archived)
        listed = trimmed([brief(r) for r in rows], ROWS)
        return call.reply(
            shown_of(len(listed), len(rows), "session"),
            {"sessions": listed, "total": len(rows)},
        )


def brief(row: dict[str, Any]) -> dict[str, Any]:
    """A session as listed: its brief, and for one in the error state its problem."""
    return session_brief(row) | ({"problem": row["problem"]} if row.get("problem") else {})


def orchestrator_session_archive(
    ctx: Context,
    session_id: SessionId,
    export_format: Literal["markdown", "json", "zip"] = "markdown",
) -> Reply:
    """Archive a session and write its export under .task_orchestrator/archives/
    (markdown, json or zip), in one commit. Archived sessions leave the default
    lists and can be activated again."""
    with served(ctx).call() as call:
        out = archive.archive_session(call.project, session_id, export_format)
        return call.reply(f"Archived {out['session_id']}; export: {out['export']}.", out)


TOOLS: list[Callable[..., Any]] = [
    orchestrator_session_create,
    orchestrator_session_activate,
    orchestrator_session_pause,
    orchestrator_session_complete,
    orchestrator_session_cancel,
    orchestrator_session_list,
    orchestrator_session_archive,
]
