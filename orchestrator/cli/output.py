"""Formatting answers for the terminal: JSON, tables, progress bars, warnings."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click

STATUS_STYLE = {
    "completed": "green",
    "in_progress": "cyan",
    "blocked": "red",
    "failed": "red",
    "needs_revision": "yellow",
    "cancelled": "bright_black",
    "pending": None,
    "active": "green",
    "paused": "yellow",
    "archived": "bright_black",
    "creating": "cyan",
    "error": "red",
}


def json_option(command: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")(
        command
    )


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def warn(message: str) -> None:
    click.secho(f"warning: {message}", fg="yellow", err=True)


def status_text(status: str | None) -> str:
    if status is None:
        return ""
    return click.style(status, fg=STATUS_STYLE.get(status))


def bar(percent: float | None, width: int = 20) -> str:
    filled = round((percent or 0) / 100 * width)
    return click.style("█" * filled, fg="green") + click.style(
        "░" * (width - filled), fg="bright_black"
    )


def hours(value: int | None) -> str:
    return "" if value is None else f"{value}h"


def visible_len(text: str) -> int:
    return len(click.unstyle(text))


def table(
    rows: Iterable[Sequence[str]], headers: Sequence[str] | None = None, indent: int = 0
) -> None:
    """Print aligned columns (the last column is not padded)."""
    rows = [list(r) for r in rows]
    if headers:
        rows.insert(0, [click.style(h, bold=True) for h in headers])
    if not rows:
        return
    widths = [max(visible_len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [c + " " * (w - visible_len(c)) for c, w in zip(row, widths, strict=False)]
        click.echo(" " * indent + "  ".join([*cells, row[-1]]).rstrip())


def read_text_option(value: str | None) -> str | None:
    """`-` means: read the text from standard input."""
    if value == "-":
        return sys.stdin.read()
    return value


def tree_order(rows: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Rows (in listing order) rearranged so that subtasks follow their parent; each with
    its depth within the listing."""
    listed = {r["task_id"] for r in rows}
    children: dict[str, list[dict[str, Any]]] = {}
    tops = []
    for r in rows:
        parent = r.get("parent_task_id")
        if parent in listed:
            children.setdefault(parent, []).append(r)
        else:
            tops.append(r)
    out: list[tuple[int, dict[str, Any]]] = []
    stack = [(0, r) for r in reversed(tops)]
    while stack:
        depth, r = stack.pop()
        out.append((depth, r))
        stack.extend((depth + 1, c) for c in reversed(children.get(r["task_id"], [])))
    return out
