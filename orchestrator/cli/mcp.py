"""`orch mcp`: serve orch to AI clients over MCP (stdio)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import click

from orchestrator.cli.output import echo


@click.command()
@click.option(
    "--root",
    "mcp_root",
    metavar="DIR",
    help="Project root to serve (also `orch --root DIR mcp`, or ORCH_ROOT). Default: the"
    " nearest .task_orchestrator/ at or above the current directory; without one, the"
    " client names it with orchestrator_initialize_session(working_directory).",
)
@click.option(
    "--tools",
    "tool_set",
    type=click.Choice(["core", "standard", "all"], case_sensitive=False),
    default=None,
    help="Which tools to offer: core (the workflow, task list/get and search: the smallest"
    " list), standard (every tool of the spec and the record tools; the default), all"
    " (standard and the legacy names). Also ORCH_MCP_TOOLS.",
)
@click.option(
    "--read-only",
    is_flag=True,
    help="Offer only the tools that change nothing (status, lists, search, reads).",
)
@click.option(
    "--print-config",
    is_flag=True,
    help="Print the configuration that runs this server from Claude Desktop, Claude Code,"
    " Cursor and VS Code on this machine, and exit.",
)
@click.pass_obj
def mcp(
    ctx, mcp_root: str | None, tool_set: str | None, read_only: bool, print_config: bool
) -> None:
    """Run the MCP server on stdin/stdout (an AI client starts it; see --print-config).

    Tools: orchestrator_initialize_session, orchestrator_plan_task,
    orchestrator_execute_subtask, orchestrator_complete_subtask,
    orchestrator_synthesize_results, orchestrator_get_status, the session, group, mode,
    task, search, cleanup, sync and conflict tools (--tools picks a set). Resources:
    orch://session/active, orch://session/{id}/session.md, orch://task/{task_id}, artifacts,
    modes and archives, with subscriptions. Prompts: plan-work, run-next-subtask,
    review-subtask, handover.
    """
    root = mcp_root or ctx.root
    if print_config:
        from orchestrator.layout import find_root
        from orchestrator.mcp.client_config import client_config

        try:
            project_root = find_root(root)
        except Exception:
            project_root = Path(root or os.getcwd()).expanduser().resolve()
        command = shutil.which("orch") or str(Path(sys.argv[0]).resolve())
        config = client_config(project_root, command, tool_set, read_only)
        for client, label, where in (
            ("claude_desktop", "Claude Desktop", "claude_desktop_config.json"),
            ("claude_code", "Claude Code", "a shell"),
            ("cursor", "Cursor", ".cursor/mcp.json"),
            ("vscode", "VS Code", ".vscode/mcp.json"),
        ):
            echo(f"# {label} ({where})")
            value = config[client]
            echo(value if isinstance(value, str) else json.dumps(value, indent=2))
            echo()
        return
    from orchestrator.mcp.server import run, tool_set_of

    tool_set_of(tool_set)  # a bad ORCH_MCP_TOOLS is said before the client connects
    run(root, tool_set, read_only)
