"""What a tool answers: the reply shapes (the tools' output schemas), the briefs of
records, paging cursors, and the bounds that keep a reply under REPLY_BUDGET."""

from __future__ import annotations

import base64
import json
from typing import (
    Annotated,
    Any,
    NotRequired,  # pydantic reads these on 3.11
)

from typing_extensions import TypedDict

from orchestrator.core import tasks
from orchestrator.core.project import Project
from orchestrator.core.subtasks import summary
from orchestrator.mcp.errors import ToolError

REPLY_BUDGET = 8 * 1024  # bytes a reply (text and structured output) stays under by default
ROWS = 7000  # of which a list of rows may take (the rest: totals, cursor, text, warnings)
PAGE = 50

Data = dict[str, Any]
# A tool's answer as it goes on the wire (a CallToolResult): `content` (the text, and
# links to resources) and `structuredContent` (the data, of the tool's output schema).
ToolResult = dict[str, Any]
Reply = Annotated[ToolResult, Data]


# -- reply shapes (the tools' output schemas) ------------------------------------------


class TaskPage(TypedDict):
    tasks: list[dict[str, Any]]
    total: int
    next_cursor: str | None
    warnings: NotRequired[list[str]]


class TaskReply(TypedDict, total=False):
    task: dict[str, Any]
    warnings: list[str]


class SessionReply(TypedDict, total=False):
    session: dict[str, Any]
    warnings: list[str]


class SessionList(TypedDict):
    sessions: list[dict[str, Any]]
    warnings: NotRequired[list[str]]


class StatusReply(TypedDict, total=False):
    active_session: dict[str, Any] | None
    mode: str | None
    status_counts: dict[str, int]
    groups: list[dict[str, Any]]
    in_progress: list[dict[str, Any]]
    ready: list[dict[str, Any]]
    ready_count: int
    completed: list[dict[str, Any]]
    other_sessions: list[dict[str, Any]]
    problems: dict[str, int]
    conflicts: list[str]
    next_step: str
    warnings: list[str]


class SearchReply(TypedDict, total=False):
    query: str
    scope: str
    sessions: int
    tasks: list[dict[str, Any]]
    task_total: int
    notes: list[dict[str, Any]]
    next_cursor: str | None
    warnings: list[str]


# -- the reply -------------------------------------------------------------------------


def reply(
    text: str,
    data: Data,
    warnings: list[str],
    budget: int | None,
    links: list[dict[str, Any]] | None = None,
) -> ToolResult:
    """A tool's answer: the short text (with what to do next, for a client that reads
    only the text) and the data, the warnings in both, the whole fitted into `budget`
    bytes (None: as it is). `links`: resource links (uri, name, mimeType) after the text."""
    if warnings:
        data["warnings"] = list(dict.fromkeys(warnings))[:10]
        text = cut(text + " Warnings: " + "; ".join(data["warnings"]), 1000) or ""
    if data.get("next_step") and data["next_step"] not in text:
        text = f"{text}\nNext: {data['next_step']}"
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    content += [{"type": "resource_link", **link} for link in links or ()]
    if budget is not None:
        data = fit(data, budget - size_of(content))
    return {"content": content, "structuredContent": data}


def size_of(data: Any) -> int:
    return len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())


def trimmed(rows: list[dict[str, Any]], budget: int) -> list[dict[str, Any]]:
    """The first rows that fit in `budget` bytes of JSON (at least one)."""
    used = 2
    kept: list[dict[str, Any]] = []
    for row in rows:
        used += size_of(row) + 1
        if used > budget and kept:
            break
        kept.append(row)
    return kept


def fit(data: Data, budget: int) -> Data:
    """`data` made to fit in `budget` bytes of JSON: the longest list is halved (its
    full length kept beside it as `<key>_total`), the longest text cut, until it fits.
    A safety net under the per-tool limits, which keep most replies well inside."""
    for _ in range(64):
        if size_of(data) <= budget:
            return data
        holder, key = _largest(data)
        if holder is None:
            return data
        value = holder[key]
        if isinstance(value, list):
            holder.setdefault(f"{key}_total", len(value))
            holder[key] = value[: len(value) // 2]
        else:
            holder[key] = value[: len(value) // 2].rstrip() + " …"
    return data


def _largest(data: Data) -> tuple[Any, Any]:
    """The dict and key of the largest shrinkable value (a list of 2+ items or a long
    text), looking into nested dicts and into lists of dicts."""
    best = 0
    where: tuple[Any, Any] = (None, None)
    stack = [data]
    while stack:
        node = stack.pop()
        for key, value in node.items():
            if isinstance(value, dict):
                stack.append(value)
            elif isinstance(value, list):
                if len(value) == 1 and isinstance(value[0], dict):
                    stack.append(value[0])
                elif len(value) > 1 and (size := size_of(value)) > best:
                    best, where = size, (node, key)
            elif isinstance(value, str) and len(value) > 200 and (size := len(value)) > best:
                best, where = size, (node, key)
    return where


def cut(text: str | None, limit: int, where: str | None = None) -> str | None:
    if text is None or len(text) <= limit:
        return text
    tail = f" … [{len(text) - limit} more characters in {where}]" if where else " …"
    return text[:limit].rstrip() + tail


def shown_of(shown: int, total: int, noun: str) -> str:
    if shown == total:
        return f"{total} {noun}(s)."
    return f"{total} {noun}(s); the first {shown} shown (the rest would pass 8 KB)."


def cleanup_reply(out: Data) -> Data:
    return out | {
        "findings_total": len(out["findings"]),
        "findings": trimmed(out["findings"], ROWS),
    }


# -- paging ----------------------------------------------------------------------------


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        offset = json.loads(base64.urlsafe_b64decode(padded))["o"]
        if isinstance(offset, int) and 0 <= offset <= 10**9:
            return offset
    except (ValueError, KeyError, TypeError):
        pass
    raise ToolError(f"cursor {cursor!r} is not one this server gave; start again without it")


# -- briefs of records -----------------------------------------------------------------


def task_brief(row: dict[str, Any]) -> dict[str, Any]:
    return summary(row)


def task_detail(project: Project, task_id: str, full: bool) -> Data:
    """A task as orchestrator_task_get and orch://task/{id} show it: the description cut
    at 3000 characters and 20 subtasks and blocked tasks, unless `full`."""
    row = tasks.show_task(project, task_id)
    limit = 10**9 if full else 3000
    detail = {k: v for k, v in row.items() if k not in ("subtasks", "blocked_tasks")}
    detail["description"] = cut(row["description"], limit, row["file_path"])
    for key in ("subtasks", "blocked_tasks"):
        rows = row[key]
        detail[key] = rows if full else rows[:20]
        if len(rows) > len(detail[key]):
            detail[f"{key}_total"] = len(rows)
    return detail
