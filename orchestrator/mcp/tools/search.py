"""Full-text search over tasks and session notes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, get_args

from pydantic import WithJsonSchema

from orchestrator.core import search
from orchestrator.mcp import next_steps
from orchestrator.mcp.arguments import SearchPage
from orchestrator.mcp.context import Context
from orchestrator.mcp.replies import (
    ROWS,
    SearchReply,
    ToolResult,
    decode_cursor,
    encode_cursor,
    trimmed,
)
from orchestrator.mcp.served import served

ContentType = Literal["tasks", "notes", "decisions", "learnings", "all"]
# One kind or a list of them; the schema says the list (one way to say it is enough).
ContentTypes = Annotated[
    list[ContentType] | ContentType,
    WithJsonSchema({"type": "array", "items": {"enum": list(get_args(ContentType))}}),
]


def orchestrator_search(
    ctx: Context,
    query: str,
    scope: Literal["active", "all_sessions", "archived"] = "active",
    content_types: ContentTypes | None = None,
    status: list[str] | None = None,
    group: str | None = None,
    specialist_type: str | None = None,
    limit: SearchPage = 20,
    cursor: str | None = None,
) -> Annotated[ToolResult, SearchReply]:
    """Full-text search of tasks and notes, with snippets."""
    with served(ctx).call() as call:
        offset = decode_cursor(cursor)
        out = search.search(
            call.project,
            query,
            scope=scope,
            content_types=content_types or ["all"],
            status=status or (),
            group=group,
            specialist_type=specialist_type,
            limit=max(1, min(limit, 100)),
            offset=offset,
        )
        if "tasks" in out:
            out["tasks"] = trimmed(out["tasks"], ROWS // 2)
            shown = offset + len(out["tasks"])
            out["next_cursor"] = encode_cursor(shown) if shown < out["task_total"] else None
        if "notes" in out:
            out["notes"] = trimmed(out["notes"], ROWS // 3)
        found = f"{out.get('task_total', 0)} task(s), {len(out.get('notes', []))} note(s)"
        out["next_step"] = next_steps.for_page(
            out.get("tasks", []), out.get("next_cursor"), "orchestrator_search", query=query
        )
        return call.reply(f"Found {found} for {query!r}.", out)


TOOLS: list[Callable[..., Any]] = [orchestrator_search]
