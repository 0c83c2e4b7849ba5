"""Reading a person's edits of session.md back: boxes, status words and titles of the
checklist applied to their tasks, and what cannot be applied said with its line.

A checklist line ends with its task's id in an HTML comment, which is how an edit of the
line is mapped back to its task:

    - [x] Write the parser (Completed) - implementer - 3h <!-- t-7f3a9c2e -->

Only the lines that differ from the version the person started from count. A task line
deleted, a word that is no status and an edit of a region orch writes from the records
(the header, the overview, the change log, the footer) are reported, never guessed, and
the next regeneration puts them back.

This module is pure: text in, edits out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import Hint
from orchestrator.model import DONE, record_schema
from orchestrator.store.regions import regions_of
from orchestrator.store.session_view import shown_title, status_label, task_suffix

_TASK_LINE = re.compile(
    r"^(?P<indent>[ \t]*)[-*+] \[(?P<mark>.)\] (?P<text>.*?) <!-- (?P<id>t-[A-Za-z0-9_-]+) -->\s*$"
)
# A checklist line's text: the title, then ` (Status)` and ` - specialist - 3h`; the
# greedy title makes the last status word the tail's.
_TAIL = re.compile(r"^(?P<title>.*) \((?P<word>[A-Za-z][A-Za-z ]*)\)(?: - [^()]*)?$")


def status_of_label(word: str) -> str | None:
    """The task status a label in session.md names (`In Progress`: in_progress), any
    case; None for a word that is no status."""
    return {status_label(s).casefold(): s for s in _task_statuses()}.get(
        " ".join(word.split()).casefold()
    )


def _tail(text: str) -> tuple[str, str | None, str | None]:
    """A checklist line's text as (title, status word, its status): the title is what
    comes before the ` (Status)` tail; a line without a tail is all title."""
    m = _TAIL.match(text)
    if m is None:
        return text.strip().replace("\\<", "<"), None, None
    return m["title"].strip().replace("\\<", "<"), m["word"], status_of_label(m["word"])


def title_of(text: str) -> str:
    """The title part of a checklist line's text: what comes before its ` (Status)` tail
    (any status word, so a line whose label was edited too still reads)."""
    title, _, status = _tail(text)
    return title if status is not None else text.strip().replace("\\<", "<")


@dataclass
class ViewEdit:
    """A task a person changed through its checklist line."""

    task_id: str
    line: int  # in the body, 1-based
    checked: bool | None = None  # the box as ticked now, if it changed
    title: str | None = None  # the new title, if it changed
    status: str | None = None  # the status its edited status word names, if it changed


@dataclass
class ViewProblem:
    """An edit of session.md that is not applied, and why."""

    line: int  # in the body, 1-based
    message: str
    moved: bool = True  # the line is moved below the task list, as the person's text
    hint: Hint | None = None  # the call that does what the edit meant
    session_status: str | None = None  # a session status typed into the header


def read_edits(
    body: str,
    base: str,
    tasks: dict[str, dict[str, Any]],
    seen: bool = True,
    unusable: Callable[[str], str | None] | None = None,
) -> tuple[list[ViewEdit], list[ViewProblem]]:
    """The edits a person made inside the `groups` region: the lines that differ from
    `base`, the body they started from (the committed view their editor opened), read
    as box, status word and title changes of the tasks they name (`tasks`: task_id ->
    row). A line orch cannot map to a task is reported, never guessed. When the person
    saw `base` (`seen`; not a view made up for want of history), a task line deleted is
    reported too, and so is an edit of the other regions, which orch writes.

    `unusable(task_id)` says why a task that is not in `tasks` cannot be used (its file
    is broken: the caller's lookup rule, with the file's line and problem), or None if
    there is no such task; a line naming it is said with that, not as no task."""
    problems = region_problems(body, base) if seen else []
    found = regions_of(body)
    if "groups" not in found:
        return [], problems
    first, last = found["groups"]
    lines = body.splitlines()
    base_lines = _region_lines(base, "groups")
    before = {m["id"]: m for line in base_lines if (m := _TASK_LINE.match(line))}
    unchanged = set(base_lines)
    edits, listed = [], set()
    for n in range(first + 1, last):
        line = lines[n].rstrip("\r")
        m = _TASK_LINE.match(line)
        if m and m["id"] in listed:
            problems.append(
                ViewProblem(n + 1, f"{m['id']} is listed twice: this line is not applied")
            )
            continue
        if m:
            listed.add(m["id"])
        if line in unchanged or not line.strip():
            continue
        task = tasks.get(m["id"]) if m else None
        why = unusable(m["id"]) if m and task is None and unusable else None
        if why is not None:
            problems.append(_waiting(n + 1, why))
            continue
        if m is None or task is None:
            what = f"no task {m['id']}" if m else "not a task line orch wrote"
            problems.append(
                ViewProblem(
                    n + 1,
                    f"{what}: edits here are not applied (tick a box, change a status word or"
                    " a title, and keep the <!-- t-... --> at the end of the line)",
                )
            )
            continue
        if m["mark"] not in " xX":
            problems.append(
                ViewProblem(n + 1, f"[{m['mark']}] is not a box orch reads: use [x] or [ ]")
            )
            continue
        edit, problem = _line_edit(m, before.get(m["id"]), task, n + 1)
        problems += [problem] if problem else []
        if edit.checked is not None or edit.title is not None or edit.status is not None:
            edits.append(edit)
    if seen:
        problems += _deleted_lines(lines, first, last, base_lines, listed, tasks)
    return edits, sorted(problems, key=lambda p: p.line)


def _waiting(line: int, why: str) -> ViewProblem:
    """An edit of a task whose file is broken: the task is not in the list until the
    file is fixed, so the edit is not applied now; the person makes it again then."""
    return ViewProblem(
        line,
        f"{why}; this edit is not applied: make it again once the file is fixed",
        hint=Hint("doctor"),
    )


def _line_edit(
    m: re.Match, was: re.Match | None, task: dict[str, Any], line: int
) -> tuple[ViewEdit, ViewProblem | None]:
    """What a changed checklist line asks of its task: the box, the status word (the
    same status a box would set when both say the same; the box, when they differ), the
    title; and the part that is not applied."""
    was_checked = was["mark"] != " " if was else task["status"] == DONE
    was_text = was["text"] if was else f"{shown_title(task['title'])}{task_suffix(task)}"
    was_title, was_word, _ = _tail(was_text)
    title, word, status = _tail(m["text"])
    edit, problem = ViewEdit(task["task_id"], line), None
    if (m["mark"] != " ") != was_checked:
        edit.checked = m["mark"] != " "
    if word is not None and word != was_word and (status is not None or title == was_title):
        if status is None:
            labels = ", ".join(status_label(s) for s in _task_statuses())
            problem = ViewProblem(
                line, f"({word}) is not a status orch knows ({labels}): it is not applied", False
            )
        elif edit.checked is not None and edit.checked != (status == DONE):
            problem = ViewProblem(
                line, f"the box and ({word}) say different things: the box is applied", False
            )
        elif status != task["status"]:
            edit.status = status
    if problem is None or status is not None:
        title = title_of(m["text"])  # an unknown status word is not taken into the title
    if title and title != title_of(was_text):
        edit.title = title
    return edit, problem


def _task_statuses() -> list[str]:
    return list(record_schema("task")["properties"]["status"]["enum"])


def _deleted_lines(
    lines: list[str],
    first: int,
    last: int,
    base_lines: list[str],
    listed: set[str],
    tasks: dict[str, dict[str, Any]],
) -> list[ViewProblem]:
    """A task line taken out of the list: the task stays (a line is not the task), and
    the line comes back; said at the place it was taken from."""
    gone = {
        i: m["id"]
        for i, line in enumerate(base_lines)
        if (m := _TASK_LINE.match(line)) and m["id"] not in listed and m["id"] in tasks
    }
    if not gone:
        return []
    from difflib import SequenceMatcher

    now = [line.rstrip("\r") for line in lines[first + 1 : last]]
    matcher = SequenceMatcher(None, base_lines, now, autojunk=False)
    problems = []
    for tag, i1, i2, j1, _ in matcher.get_opcodes():
        for i in range(i1, i2) if tag in ("delete", "replace") else ():
            if i in gone:
                task_id = gone[i]
                problems.append(
                    ViewProblem(
                        first + 2 + j1,
                        f"a deleted task line does not delete the task: {task_id}"
                        f' "{tasks[task_id]["title"]}" is listed again (delete the task itself'
                        " to remove it)",
                        moved=False,
                        hint=Hint("task_delete", {"task_id": task_id}),
                    )
                )
    return problems


# What each generated region shows, and where a person changes it.
_REGION_SOURCES = {
    "header": "the session's name and status (the frontmatter above)",
    "overview": "the tasks' statuses and efforts",
    "changelog": "the git history of the session's files",
    "footer": "the session's records",
}


def region_problems(body: str, base: str) -> list[ViewProblem]:
    """Edits of the regions orch writes from the records other than the task list: each
    changed region is said once, at its first changed line, with where its facts live,
    and a status typed into the header's table with it."""
    problems = []
    now, then = regions_of(body), regions_of(base)
    lines = body.splitlines()
    for name, source in _REGION_SOURCES.items():
        if name not in now or name not in then:
            continue
        mine = [line.rstrip("\r") for line in lines[now[name][0] + 1 : now[name][1]]]
        theirs = _region_lines(base, name)
        if mine == theirs:
            continue
        changed = next(
            (i for i, pair in enumerate(zip(mine, theirs, strict=False)) if pair[0] != pair[1]),
            min(len(mine), len(theirs)),
        )
        problems.append(
            ViewProblem(
                now[name][0] + 2 + changed,
                f"the {name} is generated from {source}: this edit is not applied",
                moved=False,
                session_status=_header_status(mine, theirs) if name == "header" else None,
            )
        )
    return problems


def _header_status(mine: list[str], theirs: list[str]) -> str | None:
    """A status typed into the header's table in place of the one orch wrote, if any."""
    rows = [(a, b) for a, b in zip(mine, theirs, strict=False) if a.startswith("| `s-")]
    if not rows:
        return None
    new, old = (row.split(" | ") for row in rows[0])
    if len(new) < 2 or len(old) < 2 or new[1] == old[1]:
        return None
    return " ".join(new[1].split()).lower() or None


def _region_lines(body: str, name: str) -> list[str]:
    found = regions_of(body)
    if name not in found:
        return []
    first, last = found[name]
    return [line.rstrip("\r") for line in body.splitlines()[first + 1 : last]]


def move_out(body: str, lines: list[int]) -> str:
    """Move these lines (1-based, inside the `groups` region) to just after the region:
    text a person wrote there is kept as their text, not regenerated away."""
    found = regions_of(body)
    if "groups" not in found or not lines:
        return body
    first, last = found["groups"]
    moving = {n - 1 for n in lines if first < n - 1 < last}
    all_lines = body.splitlines(keepends=True)
    picked = [
        all_lines[i] if all_lines[i].endswith("\n") else all_lines[i] + "\n" for i in sorted(moving)
    ]
    out = [line for i, line in enumerate(all_lines[: last + 1]) if i not in moving]
    return "".join([*out, "\n", *picked, *all_lines[last + 1 :]])
