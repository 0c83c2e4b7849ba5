"""Regions and code fences of a Markdown body: the one definition of each.

A region is the text between `<!-- orch:begin NAME -->` and `<!-- orch:end NAME -->`,
lines orch generates (session.md's header, overview, groups, change log); the text
outside them is people's. A marker or a
heading shown inside a fenced code block is an example, not structure, so every reader
of markers and headings asks `fenced()` first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

MARKER = re.compile(r"^<!-- orch:(begin|end) ([a-z]+) -->\s*$")
# A fence opens with three or more backticks or tildes, indented at most three spaces
# (CommonMark 4.5); it closes with a run of the same character at least as long.
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


def begin(name: str) -> str:
    return f"<!-- orch:begin {name} -->"


def end(name: str) -> str:
    return f"<!-- orch:end {name} -->"


def fenced(lines: list[str]) -> list[bool]:
    """For each line, whether it belongs to a fenced code block (its fences included)."""
    inside: list[bool] = []
    opened = ""
    for line in lines:
        # A fence holds ``` or ~~~: the other lines (nearly all) skip the pattern.
        code, opened = _fence_step(line, opened) if ("`" in line or "~" in line) else (
            bool(opened), opened)  # fmt: skip
        inside.append(code)
    return inside


def _fence_step(line: str, opened: str) -> tuple[bool, str]:
    """Whether `line` is in a code block, and the fence open after it, given the fence
    open before it ("" outside a block)."""
    m = _FENCE.match(line.rstrip("\r\n"))
    if opened:  # closed by a run of its character at least as long, with nothing after
        closes = (
            m is not None
            and m.group(1)[0] == opened[0]
            and len(m.group(1)) >= len(opened)
            and not m.group(2).strip()
        )
        return True, "" if closes else opened
    if m and not (m.group(1)[0] == "`" and "`" in m.group(2)):
        return True, m.group(1)
    return False, ""


# What a line that can be a fence or a marker holds: markers() looks only at the lines
# that hold one, found by searching the whole text (a session.md of 10,000 tasks has
# 10,000 lines, and a Python loop over them costs what the rest of a regeneration does).
_NEEDLES = ("```", "~~~", "<!-- orch:")


def _candidates(text: str) -> list[int]:
    """The offsets in `text` of the starts of the lines holding one of _NEEDLES."""
    starts = set()
    for needle in _NEEDLES:
        at = text.find(needle)
        while at != -1:
            starts.add(text.rfind("\n", 0, at) + 1)
            after = text.find("\n", at)
            at = -1 if after == -1 else text.find(needle, after)
    return sorted(starts)


def markers(lines: list[str]) -> Iterator[tuple[int, str, str]]:
    """(line index, "begin" or "end", region name) of each marker outside code blocks."""
    text = "\n".join(lines)
    if text.count("\n") != max(len(lines) - 1, 0):  # lines with their ends: one by one
        for n, (line, code) in enumerate(zip(lines, fenced(lines), strict=True)):
            if not code and "orch:" in line and (m := MARKER.match(line)):
                yield n, m[1], m[2]
        return
    opened, n, at = "", 0, 0
    for start in _candidates(text):
        n += text.count("\n", at, start)
        at = start
        line = lines[n]
        code, opened = _fence_step(line, opened)
        if not code and (m := MARKER.match(line)):
            yield n, m[1], m[2]


@lru_cache(maxsize=4)
def markers_of(body: str) -> tuple[tuple[int, str, str], ...]:
    """markers() of a body's lines, remembered for the few bodies last asked about: one
    write of session.md asks about its body four times (checked, read, placed)."""
    return tuple(markers(body.splitlines()))


def regions_of(body: str) -> dict[str, tuple[int, int]]:
    """name -> (line of its begin marker, line of its end marker), 0-based, for every
    well-formed region of the body."""
    found: dict[str, tuple[int, int]] = {}
    open_at: dict[str, int] = {}
    for n, kind, name in markers_of(body):
        if name in found:
            continue  # a second copy of a region: the first is the one kept current
        if kind == "begin":
            open_at.setdefault(name, n)
        elif name in open_at:
            found[name] = (open_at.pop(name), n)
    return found


def outside_regions(body: str) -> list[str]:
    """The texts between the regions of a body, in order (the first before any region,
    the last after all): what people wrote, byte for byte."""
    lines = body.splitlines(keepends=True)
    parts, at = [], 0
    for first, last in sorted(regions_of(body).values()):
        if first < at:
            continue  # overlapping markers: the outer region holds it
        parts.append("".join(lines[at:first]))
        at = last + 1
    parts.append("".join(lines[at:]))
    return parts
