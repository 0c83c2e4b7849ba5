"""The MCP server: one `Served` state per server, the tools of tools/<area>.py and the
resources of resources.py registered on it (see the package's docstring)."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import ValidationError

from orchestrator import __version__
from orchestrator.mcp import resources
from orchestrator.mcp.errors import argument_errors
from orchestrator.mcp.served import Served
from orchestrator.mcp.tools import (
    export,
    groups,
    maintenance,
    modes,
    search,
    sessions,
    tasks,
    workflow,
)

INSTRUCTIONS = """\
orch keeps sessions, task groups and tasks as Markdown files in the project's
.task_orchestrator/ folder; every change is a git commit.
Workflow: orchestrator_initialize_session(working_directory) -> orchestrator_plan_task
(description, subtasks) -> for each ready subtask: orchestrator_execute_subtask(task_id),
do the work, orchestrator_complete_subtask(task_id, summary, detailed_work) ->
orchestrator_synthesize_results(parent_task_id). orchestrator_get_status says where things
stand. Ids accept any unique prefix. Lists are paged: pass next_cursor back as cursor."""

TOOLS: list[Callable[..., Any]] = [
    *sessions.TOOLS,
    *groups.TOOLS,
    *modes.TOOLS,
    *search.TOOLS,
    *maintenance.TOOLS,
    *export.TOOLS,
    *workflow.TOOLS,
    *tasks.TOOLS,
]


class OrchServer(MCPServer[Served]):
    """An MCPServer over one project; `orch` is its state (for tests and embedding)."""

    def __init__(self, orch: Served):
        super().__init__(
            "orch",
            version=__version__,
            instructions=INSTRUCTIONS,
            log_level="WARNING",
            warn_on_duplicate_tools=True,
            # Every session of this server gets the same state: the project it serves.
            lifespan=lambda _server: nullcontext(orch),
        )
        self.orch = orch

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Served, Any] | None = None
    ) -> Any:
        """A call whose arguments the tool does not take is refused with the names it
        does take: the SDK ignored them, so a misspelled `status_filter` or `taskId`
        silently did something else. Arguments that do not fit the schema are said in
        plain words (mcp/errors.py), not as the validator's report."""
        known = self.orch.tools.get(name)
        unknown = sorted(set(arguments or {}) - set(known)) if known is not None else []
        if known is not None and unknown:
            listed = ", ".join(known) or "none"
            raise ToolError(
                f"{name} takes no argument {', '.join(map(repr, unknown))}; its arguments"
                f" are: {listed}"
            )
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as error:
            if known is not None and isinstance(error.__cause__, ValidationError):
                raise argument_errors(name, error.__cause__.errors(), known) from None
            raise


def parameters(tool: Callable[..., Any]) -> list[str]:
    """The parameters a client passes to `tool` (all but the SDK's Context)."""
    hints = inspect.get_annotations(tool, eval_str=True)
    return [name for name in inspect.signature(tool).parameters if hints.get(name) is not Context]


def build_server(root: str | os.PathLike | None = None) -> OrchServer:
    """The MCP server over the project at `root` (see the package's docstring)."""
    served = Served(root)
    server = OrchServer(served)
    for tool in TOOLS:
        server.add_tool(tool)
    served.tools = {tool.__name__: parameters(tool) for tool in TOOLS}

    @server.resource(
        "orch://session/active",
        name="active_session",
        description="The active session: its record, mode configuration, groups, active"
        " tasks and the path of its session.md",
        mime_type="application/json",
    )
    def active_session() -> str:
        return resources.active_session(served)

    @server.resource(
        "orch://task/{task_id}",
        name="task",
        description="One task: its fields, subtasks, dependencies and the tasks it blocks",
        mime_type="application/json",
    )
    def task(task_id: str) -> str:
        return resources.task(served, task_id)

    return server


def run(root: str | os.PathLike | None = None) -> None:
    """Serve over stdio until the client closes the connection."""
    import gc

    gc.enable()  # a long-lived process: let the collector run
    build_server(root).run("stdio")
