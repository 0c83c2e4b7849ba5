"""The configuration that runs `orch mcp` from each AI client (`orch mcp --print-config`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def client_config(
    root: Path, command: str, tool_set: str | None = None, read_only: bool = False
) -> dict[str, Any]:
    """The configuration snippets that run this server for `root`, per client (with
    the tool set and read-only flag asked for)."""
    args = ["mcp", "--root", str(root)]
    args += ["--tools", tool_set] if tool_set else []
    args += ["--read-only"] if read_only else []
    entry = {"command": command, "args": args}
    return {
        "claude_desktop": {"mcpServers": {"orch": entry}},
        "claude_code": "claude mcp add orch -- " + " ".join([command, *args]),
        "cursor": {"mcpServers": {"orch": entry}},
        "vscode": {"servers": {"orch": {"type": "stdio", **entry}}},
    }
