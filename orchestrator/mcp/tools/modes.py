"""Mode tools: the role files of .task_orchestrator/roles/ and a session's binding."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orchestrator.core import modes
from orchestrator.mcp.context import Context
from orchestrator.mcp.replies import ROWS, Reply, shown_of, trimmed
from orchestrator.mcp.served import served

MODE_FIELDS = ("mode_id", "description", "is_valid", "specialist_roles", "session_count",
               "validation_errors")  # fmt: skip


def orchestrator_mode_select(
    ctx: Context, mode_file: str, validate_first: bool = True, session_id: str | None = None
) -> Reply:
    """Bind a mode (role file) to a session."""
    with served(ctx).call() as call:
        row = modes.select_mode(call.project, mode_file, session_id, validate_first)
        step = "orchestrator_plan_task(description=..., subtasks=[...]) with these roles"
        return call.reply(
            f"Session {row['session_id']} uses {row['mode_id']}.",
            {"binding": row, "next_step": step},
        )


def orchestrator_mode_list(ctx: Context, include_invalid: bool = False) -> Reply:
    """Modes sessions can use, with their roles."""
    with served(ctx).call() as call:
        rows = modes.list_modes(call.project, include_invalid)
        listed = trimmed([{k: r.get(k) for k in MODE_FIELDS} for r in rows], ROWS)
        return call.reply(
            shown_of(len(listed), len(rows), "mode"),
            {"modes": listed, "total": len(rows),
             "next_step": "orchestrator_mode_select(mode_file=...) binds one to the session"},
        )  # fmt: skip


TOOLS: list[Callable[..., Any]] = [orchestrator_mode_select, orchestrator_mode_list]
