"""Sections of a Markdown body: the text under a `## ` heading, found outside code fences.

A task's `## Results`, `## Synthesis` and `## Context` are sections; so are the notes of a
session.md. One reader and one writer of them, used by every operation that touches them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from orchestrator.store.regions import fenced


def _headings(lines: list[str]) -> list[tuple[int, str]]:
    """(line index, title) of the `## ` headings outside code blocks."""
    return [
        (n, line[3:].strip())
        for n, (line, code) in enumerate(zip(lines, fenced(lines), strict=True))
        if not code and line.startswith("## ")
    ]


def _span(lines: list[str], heading: str) -> tuple[int, int] | None:
    heads = _headings(lines)
    for i, (n, title) in enumerate(heads):
        if title.casefold() == heading.casefold():
            end = heads[i + 1][0] if i + 1 < len(heads) else len(lines)
            return n, end
    return None


def section(body: str, heading: str) -> str | None:
    """The text under `## heading` (to the next `## ` heading), or None."""
    lines = body.splitlines(keepends=True)
    span = _span(lines, heading)
    return None if span is None else "".join(lines[span[0] + 1 : span[1]]).strip()


def set_section(body: str, heading: str, text: str, append: bool = False) -> str:
    """`body` with the section `## heading` holding `text` (after what it held, if
    `append`); a missing section is added at the end. Other text is kept as it is."""
    lines = body.splitlines(keepends=True)
    span = _span(lines, heading)
    if span is None:
        lead = "" if not body.strip() else ("\n" if body.endswith("\n") else "\n\n")
        return f"{body}{lead}## {heading}\n\n{text.strip()}\n"
    start, end = span
    kept = "".join(lines[start + 1 : end]).strip() if append else ""
    inside = f"{kept}\n\n{text.strip()}" if kept else text.strip()
    tail = "".join(lines[end:])
    return "".join(lines[: start + 1]) + f"\n{inside}\n" + ("\n" + tail if tail else "")


def entries(results: str | None) -> list[str]:
    """The `### ` entries of a Results section (one per report), oldest first, each with
    its heading line (the date and the status it left); the whole text as one entry if
    it has none. Text a person wrote above the first entry is an entry of its own, the
    oldest (a note on the results is as much for the reader as a report)."""
    if not results:
        return []
    lines = results.splitlines(keepends=True)
    heads = entry_heads(lines)
    if not heads:
        return [results.strip()]
    ends = [*heads[1:], len(lines)]
    found = ["".join(lines[start:end]).strip() for start, end in zip(heads, ends, strict=True)]
    above = "".join(lines[: heads[0]]).strip()
    return [above, *found] if above else found


def latest_entry(results: str | None) -> str:
    """The last `### ` entry of a Results section (the newest report), without its
    heading line; the whole text if it has no entries."""
    if not results:
        return ""
    lines = results.splitlines(keepends=True)
    heads = entry_heads(lines)
    return "".join(lines[heads[-1] + 1 :] if heads else lines).strip()


# The heading orch gives a report (core/subtasks.py: _report_entry).
_REPORT_HEAD = re.compile(r"### \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC · [a-z_]+\s*")


def entry_heads(lines: list[str]) -> list[int]:
    """The line numbers of a Results section's entry headings: `### ` lines outside
    code, and orch's own report headings wherever they are (a report whose text opened
    a code fence and never closed it must not swallow the reports after it)."""
    return [
        n
        for n, (line, code) in enumerate(zip(lines, fenced(lines), strict=True))
        if (not code and line.startswith("### ")) or _REPORT_HEAD.fullmatch(line)
    ]


def without(body: str | None, headings: Iterable[str]) -> str:
    """A body without the given `## ` sections (what a report added to it)."""
    lines = (body or "").splitlines(keepends=True)
    for heading in headings:
        span = _span(lines, heading)
        if span is not None:
            lines = lines[: span[0]] + lines[span[1] :]
    return "".join(lines).strip()


# A link to a file of the task's artifact folder, as a report writes it under Results:
# `[01-design.md](../artifacts/t-7f3a9c2e/01-design.md)`.
_ARTIFACT_LINK = re.compile(r"\]\(\.\./artifacts/(?P<task>[^/)\s]+)/(?P<name>[^)\s]+)\)")


def artifact_links(body: str, task_id: str) -> int:
    """How many artifacts of task `task_id` its body links to (each file once), outside
    code blocks: the files written for it, as its Results record them."""
    if "../artifacts/" not in body:
        return 0
    lines = body.splitlines()
    names = {
        m["name"]
        for line, code in zip(lines, fenced(lines), strict=True)
        if not code
        for m in _ARTIFACT_LINK.finditer(line)
        if m["task"] == task_id
    }
    return len(names)
