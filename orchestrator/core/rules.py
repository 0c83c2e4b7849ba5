"""The rules of status changes: which task and session transitions are allowed, what each
needs first, and what a change sets with it. Every path (CLI, MCP, a hand edit of a file,
the board) asks this module; none decides on its own (ARCHITECTURE.md, "Rules").
"""

from __future__ import annotations

from typing import Any

from orchestrator.model import DONE, IN_PROGRESS, PENDING, now


def set_status(meta: dict[str, Any], status: str) -> None:
    """Change a task's status and the timestamps that go with it."""
    stamp = now()
    meta["status"] = status
    if status == IN_PROGRESS and not meta.get("started_at"):
        meta["started_at"] = stamp
    meta["completed_at"] = (meta.get("completed_at") or stamp) if status == DONE else None


def set_checked(meta: dict[str, Any], task: dict[str, Any], checked: bool) -> None:
    """A ticked box completes the task; an unticked one takes it back to in progress if
    it had started, else to pending."""
    if checked:
        set_status(meta, DONE)
    else:
        set_status(meta, IN_PROGRESS if task.get("started_at") else PENDING)
