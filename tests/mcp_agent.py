"""A client of the MCP server for the tests: the SDK's real `mcp.Client`, in process or
over stdio, with helpers that check each reply, and what the tests read back from disk."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import yaml
from mcp import Client

from orchestrator.core.project import Project

PLAN = [
    {"title": "Design the grammar", "description": "EBNF for the config format.",
     "specialist_type": "architect", "estimated_effort": "2h"},
    {"title": "Write the parser", "specialist_type": "implementer",
     "dependencies": ["Design the grammar"], "estimated_effort": 3},
    {"title": "Test the parser", "specialist_type": "tester", "dependencies": [2],
     "estimated_effort": "90m"},
]  # fmt: skip


class Agent:
    """A connected client with helpers that check the reply."""

    def __init__(self, client: Client):
        self.client = client

    async def ok(self, tool: str, **args) -> dict:
        result = await self.client.call_tool(tool, args)
        assert not result.is_error, result.content[0].text
        assert result.content[0].text  # the short text beside the data
        return result.structured_content

    async def error(self, tool: str, **args) -> str:
        result = await self.client.call_tool(tool, args)
        assert result.is_error, result.structured_content
        return result.content[0].text

    async def size(self, tool: str, **args) -> int:
        result = await self.client.call_tool(tool, args)
        assert not result.is_error, result.content[0].text
        text = sum(len(json.dumps(b.model_dump(by_alias=True, exclude_none=True, mode="json"),
                                  separators=(",", ":"), ensure_ascii=False).encode())
                   for b in result.content)  # fmt: skip
        data = json.dumps(result.structured_content, separators=(",", ":"), ensure_ascii=False)
        return text + len(data.encode())


def run(coro):
    return asyncio.run(coro)


def connected(server_or_params, body):
    async def go():
        async with Client(server_or_params, read_timeout_seconds=60) as client:
            return await body(Agent(client))

    return run(go())


def git_log(root: Path, fmt: str = "%s") -> list[str]:
    repo = root if (root / ".git").exists() else root / ".task_orchestrator"
    out = subprocess.run(["git", "log", f"--format={fmt}"], cwd=repo, capture_output=True,
                         text=True, check=True)  # fmt: skip
    return out.stdout.splitlines()


def meta(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])


def task_file(root: Path, task_id: str) -> Path:
    return next(root.glob(f".task_orchestrator/sessions/*/tasks/{task_id}.md"))


def index_matches_rebuild(root: Path) -> None:
    query = "SELECT task_id, status, title, depends_on, description FROM tasks ORDER BY task_id"
    with Project(root).reading() as db:
        before = db.records(query)
    Project(root).reindex()
    with Project(root).reading() as db:
        assert db.records(query) == before
