"""Export: sessions out of orch, as a file inside the project."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from orchestrator.core import export
from orchestrator.mcp.context import Context
from orchestrator.mcp.replies import Reply
from orchestrator.mcp.served import served


def orchestrator_export(
    ctx: Context,
    session_id: str | None = None,
    export_format: Literal["markdown", "json", "zip", "parquet"] = "json",
    output: str | None = None,
    all_sessions: bool = False,
) -> Reply:
    """Export sessions to a file in the project."""
    with served(ctx).call() as call:
        out = export.export(
            call.project, session_id, export_format, output, all_sessions, confined=True
        )
        return call.reply(f"Exported {len(out['sessions'])} session(s) to {out['path']}.", out)


TOOLS: list[Callable[..., Any]] = [orchestrator_export]
