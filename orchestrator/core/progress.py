"""How a long operation reports how far it is, and learns that its caller gave up.

An adapter that can show progress or cancel a call (the MCP server: a client's progress
token, `notifications/cancelled`) sets `project.progress` for the call; the core's long
operations (a plan, an archive, a sync, an import) call `step` as they go. `step` raises
`Cancelled` once the caller gave up: the operation must then leave nothing written and
nothing committed (the operations that can be cancelled say how they undo their writes).
With nobody listening, `QUIET` does nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from orchestrator.errors import OrchError


class Cancelled(OrchError):
    """The caller gave up on the operation; nothing of it was kept."""


class Progress:
    """`report(done, total, message)` is told each step; `cancelled()` says whether the
    caller gave up."""

    def __init__(
        self,
        report: Callable[[float, float | None, str | None], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
        committing: Callable[[], None] | None = None,
    ):
        self._report = report
        self._cancelled = cancelled
        self._committing = committing

    def check(self) -> None:
        """Raise Cancelled if the caller gave up."""
        if self._cancelled is not None and self._cancelled():
            raise Cancelled("the request was cancelled; nothing was written")

    def committing(self) -> None:
        """Past the last check: what was written is being committed, and a cancel that
        comes now cannot take it back, so the caller must still be told the outcome."""
        if self._committing is not None:
            self._committing()

    def step(self, done: float, total: float | None = None, message: str | None = None) -> None:
        """Say how far the work is (`done` of `total`), after checking the caller is
        still there."""
        self.check()
        self.report(done, total, message)

    def report(self, done: float, total: float | None = None, message: str | None = None) -> None:
        """Say how far the work is, without asking whether the caller is still there:
        for the stages that cannot be taken back (a merge, a push)."""
        if self._report is not None:
            self._report(done, total, message)


QUIET = Progress()
