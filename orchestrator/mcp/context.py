"""The context a tool receives (re-exported here so the tools name one place)."""

from mcp.server.mcpserver import Context

__all__ = ["Context"]
