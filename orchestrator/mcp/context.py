"""What a tool receives beside its arguments: the server's state, and its request's
progress (to report how far it is and learn of a cancellation)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.core.progress import QUIET, Progress

if TYPE_CHECKING:
    from orchestrator.mcp.protocol import Request
    from orchestrator.mcp.served import Served


class Context:
    def __init__(self, served: Served, request: Request | None = None):
        self.served = served
        self.progress: Progress = (
            QUIET
            if request is None
            else Progress(
                report=request.progress,
                cancelled=request.cancelled.is_set,
                committing=request.answer_anyway.set,
            )
        )
