"""Formatting answers for the terminal: JSON, tables, progress bars, warnings.

Every line the CLI prints goes through `echo` (or `table`, `warn`, `emit_json`): text from
records is data that a hand edit can fill with control characters, and those are shown
escaped (`\x1b`), never sent to the terminal to act on. Styling is the `Styled` pieces'.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import click

from orchestrator.graph import tree_rows
from orchestrator.model import (
    ACTIVE,
    ARCHIVED,
    BLOCKED,
    CANCELLED,
    CREATING,
    DONE,
    ERROR,
    FAILED,
    IN_PROGRESS,
    NEEDS_REVISION,
    PAUSED,
    PENDING,
)
from orchestrator.store.validation import escaped

STATUS_STYLE = {
    DONE: "green",
    IN_PROGRESS: "cyan",
    BLOCKED: "red",
    FAILED: "red",
    NEEDS_REVISION: "yellow",
    CANCELLED: "bright_black",
    PENDING: None,
    ACTIVE: "green",
    PAUSED: "yellow",
    ARCHIVED: "bright_black",
    CREATING: "cyan",
    ERROR: "red",
}


def json_option(command: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")(
        command
    )


# What JSON written with ensure_ascii=False leaves raw but a terminal acts on (DEL, the C1
# controls) or cannot encode (a byte that was not UTF-8): written as \u escapes instead.
JSON_UNSHOWABLE = re.compile("[\x7f-\x9f\ud800-\udfff]")


def emit_json(data: Any) -> None:
    """JSON on standard output: indented for a person at a terminal, compact for a
    program (half the time for a list of thousands of tasks)."""
    indent = 2 if sys.stdout.isatty() else None
    _print_json(json.dumps(data, indent=indent, ensure_ascii=False, default=str))


def emit_json_text(text: str) -> None:
    """JSON already encoded (by the index engine): passed through to a program, indented
    for a person at a terminal."""
    if sys.stdout.isatty():
        emit_json(json.loads(text))
    else:
        _print_json(text)


def emit_json_stream(objects: Iterator[str], lines: bool = False) -> None:
    """JSON objects already encoded, written as they come: a JSON array, or JSON Lines
    (one object a line) with `lines`. Written a few hundred at a time, so that a program
    reading the pipe starts on the first while the last is still being found."""
    out, sep = _Out(sys.stdout), "\n" if lines else ","
    out.write("" if lines else "[")
    batch: list[str] = []
    written = False
    for text in objects:
        batch.append(text)
        if len(batch) == 500:
            out.write((sep if written else "") + _showable(sep.join(batch)))
            out.flush()
            written, batch = True, []
    if batch:
        out.write((sep if written else "") + _showable(sep.join(batch)))
        written = True
    out.write(("\n" if written else "") if lines else "]\n")
    out.flush()


class _Out:
    """Standard output for megabytes of text: UTF-8 bytes to its buffer where it has one
    (a third of the time of the text layer for 8 MB of JSON)."""

    def __init__(self, stream: Any):
        self.stream = stream
        self.buffer = getattr(stream, "buffer", None)

    def write(self, text: str) -> None:
        if self.buffer is None:
            self.stream.write(text)
        else:
            self.stream.flush()  # what went through the text layer first stays first
            self.buffer.write(text.encode("utf-8", "surrogateescape"))

    def flush(self) -> None:
        (self.buffer or self.stream).flush()


def _showable(text: str) -> str:
    if text.isascii() and "\x7f" not in text:  # nearly always: two scans in C, no pattern
        return text
    if JSON_UNSHOWABLE.search(text):
        return JSON_UNSHOWABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text


def _print_json(text: str) -> None:
    click.echo(_showable(text))


def echo(message: str = "", err: bool = False) -> None:
    """Print a line: control characters in text are escaped; a Styled line (whose pieces
    were escaped when styled) keeps its styles."""
    click.echo(message if isinstance(message, Styled) else escaped(message), err=err)


def warn(message: str) -> None:
    echo(Styled(f"warning: {message}", fg="yellow"), err=True)


# Styles only for a terminal (click would strip them from anything else, line by line);
# NO_COLOR turns them off (https://no-color.org).
def color_wanted() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


COLOR = color_wanted()
# Who runs a pager: None is click's, here; the daemon's worker (cli/worker.py) hands it
# to the `orch` process that asked, the one in the terminal's foreground.
PAGER: Callable[[str, bool], None] | None = None


class Styled(str):
    """Text with terminal styling that remembers its visible width, so tables can align
    it without stripping escape codes again. Given pieces of (text, style), or one text
    and its style; the text is escaped (see `echo`) before it is styled."""

    width: int

    def __new__(cls, parts: str | list[tuple[str, dict]], **style: Any) -> Styled:
        given = [(parts, style)] if isinstance(parts, str) else parts
        pieces = [(escaped(t), s if COLOR else None) for t, s in given]
        text = super().__new__(cls, "".join(click.style(t, **s) if s else t for t, s in pieces))
        text.width = sum(len(t) for t, _ in pieces)
        return text


def styled_line(*parts: str) -> Styled:
    """One line from parts: Styled ones keep their style, plain text is escaped."""
    pieces = [p if isinstance(p, Styled) else Styled(p) for p in parts]
    text = str.__new__(Styled, "".join(pieces))
    text.width = sum(p.width for p in pieces)
    return text


def status_text(status: str | None) -> str:
    if status is None:
        return ""
    return Styled(status, fg=STATUS_STYLE.get(status))


def bar(percent: float | None, width: int = 20) -> str:
    filled = round((percent or 0) / 100 * width)
    return Styled(
        [("█" * filled, {"fg": "green"}), ("░" * (width - filled), {"fg": "bright_black"})]
    )


def hours(value: int | None) -> str:
    return "" if value is None else f"{value}h"


def table(
    rows: Iterable[Sequence[str]],
    headers: Sequence[str] | None = None,
    indent: int = 0,
    page: bool = False,
) -> None:
    """Print aligned columns (the last column is not padded), in one write; with `page`,
    through a pager (`$PAGER`, else less) when they are more than a terminal shows."""
    rows = [list(r) for r in rows]
    if headers:
        rows.insert(0, [Styled(h, bold=True) for h in headers])
    if not rows:
        return
    rows = [[c if isinstance(c, Styled) else escaped(c) for c in row] for row in rows]
    lengths = [[c.width if isinstance(c, Styled) else len(c) for c in row] for row in rows]
    widths = [max(column) for column in zip(*lengths, strict=True)][:-1]
    margin = " " * indent
    lines = []
    for row, row_lengths in zip(rows, lengths, strict=True):
        cells = [c + " " * (w - n) for c, n, w in zip(row, row_lengths, widths, strict=False)]
        lines.append((margin + "  ".join([*cells, row[-1]])).rstrip())
    if page and sys.stdout.isatty() and len(lines) > _terminal_lines() - 1:
        text = "\n".join(lines) + "\n"
        if PAGER is not None:
            PAGER(text, COLOR)
        else:
            click.echo_via_pager(text, color=COLOR)
        return
    click.echo("\n".join(lines))


def _terminal_lines() -> int:
    import shutil  # only on a terminal: shutil and its compressors cost every command ~2 ms

    return shutil.get_terminal_size().lines


def read_text_option(value: str | None) -> str | None:
    """`-` means: read the text from standard input."""
    if value == "-":
        return sys.stdin.read()
    return value


def tree_order(rows: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Rows (in listing order) rearranged so that subtasks follow their parent; each with
    its depth within the listing. Tasks whose parents make a loop (a hand edit: `orch
    doctor` reports it) are listed too: the index's top of the loop (level 0) at depth 0,
    the others under it."""
    return tree_rows(rows, "task_id", "parent_task_id", "level")


def tree_prefixes(depths: Sequence[int]) -> list[str]:
    """The tree guides (`├─ `, `└─ `, `│  `) before each row of a tree listing, given the
    rows' depths in listing order (graph.preorder's): a top has none."""
    prefixes = [""] * len(depths)
    more: list[bool] = []  # at each depth: a later sibling is still to come
    for i in range(len(depths) - 1, -1, -1):
        depth = depths[i]
        del more[depth + 1 :]
        more += [False] * (depth + 1 - len(more))
        if depth:
            guides = "".join("│  " if more[k] else "   " for k in range(1, depth))
            prefixes[i] = guides + ("├─ " if more[depth] else "└─ ")
        more[depth] = True
    return prefixes


def with_guides(rows: Sequence[dict[str, Any]], depth_key: str) -> list[tuple[str, dict[str, Any]]]:
    """Rows of a tree listing, each with the tree guides to print before its name."""
    return list(zip(tree_prefixes([r[depth_key] for r in rows]), rows, strict=True))
