"""session.md as a living view: generated regions between markers, people's text around them.

The body of a session's session.md holds regions that orch writes:

    <!-- orch:begin groups -->
    ...generated...
    <!-- orch:end groups -->

and everything outside them (the description, Session Notes, headings of one's own) is
people's text, kept byte for byte whenever the regions are regenerated. Inside the
`groups` region each task is a checklist line ending with its id in an HTML comment (hidden
when rendered), which is how an edit of the line is mapped back to its task:

    - [x] Write the parser (Completed) - implementer - 3h <!-- t-7f3a9c2e -->

Values from records (titles, names, commit subjects) are data a hand edit can fill with
control characters: they are written escaped (`\x1b`), so that printing session.md does
not act on a terminal.

This module is pure: data in, text out; text in, edits out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from orchestrator.graph import tree_rows
from orchestrator.model import CANCELLED, DONE
from orchestrator.store.regions import begin, end, fenced, markers
from orchestrator.store.validation import escaped

REGIONS = ("header", "overview", "groups", "changelog", "footer")
NOTES_HEADING = "## Session Notes"
NOTE_SECTIONS = {"decision": "### Decisions Made", "learning": "### Key Learnings",
                 "next": "### Next Steps"}  # fmt: skip
NOTES_SKELETON = (
    f"{NOTES_HEADING}\n\n{NOTE_SECTIONS['decision']}\n\n{NOTE_SECTIONS['learning']}\n\n"
    f"{NOTE_SECTIONS['next']}\n"
)
_TASK_LINE = re.compile(
    r"^(?P<indent>[ \t]*)[-*+] \[(?P<mark>.)\] (?P<text>.*?) <!-- (?P<id>t-[A-Za-z0-9_-]+) -->\s*$"
)
# A checklist line's text: the title, then ` (Status)` and ` - specialist - 3h`; the
# greedy title makes the last status word the tail's.
_TAIL = re.compile(
    r"^(?P<title>.*) \((?:Pending|In Progress|Blocked|Needs Revision|Completed|Failed|Cancelled)\)"
    r"(?: - [^()]*)?$",
    re.IGNORECASE,
)


@dataclass
class SessionView:
    """What the view shows, read from the index (and git, for the change log)."""

    session: dict[str, Any]
    groups: list[dict[str, Any]]  # in session order
    tasks: list[dict[str, Any]]  # in group order, subtasks after their parent
    changes: list[str] = field(default_factory=list)  # change log lines, newest first
    conflicts: int = 0


def status_label(status: str) -> str:
    return status.replace("_", " ").title()


def task_suffix(task: dict[str, Any]) -> str:
    """What follows the title on a task's checklist line."""
    text = f" ({status_label(task['status'])})"
    if task.get("specialist_type"):
        text += f" - {escaped(str(task['specialist_type']))}"
    if task.get("estimated_effort"):
        text += f" - {task['estimated_effort']}h"
    return text


def shown_title(title: Any) -> str:
    """A title on one line, with `<` escaped so that it cannot open an HTML comment, and
    control characters escaped."""
    return escaped(" ".join(str(title).split())).replace("<", "\\<")


def task_line(task: dict[str, Any], depth: int) -> str:
    mark = "x" if task["status"] == DONE else " "
    title = shown_title(task["title"])
    return f"{'  ' * depth}- [{mark}] {title}{task_suffix(task)} <!-- {task['task_id']} -->"


def title_of(text: str) -> str:
    """The title part of a checklist line's text: what comes before its ` (Status)` tail
    (any status word, so a line whose label was edited too still reads)."""
    m = _TAIL.match(text)
    title = m["title"] if m else text
    return title.strip().replace("\\<", "<")


def cell(value: Any) -> str:
    """A value for a Markdown table cell."""
    return escaped(" ".join(str(value if value is not None else "-").split())).replace("|", "\\|")


def render(view: SessionView) -> dict[str, str]:
    """The inside of each region."""
    s = view.session
    done, total = s.get("completed_tasks") or 0, s.get("total_tasks") or 0
    progress = f"{s.get('progress_percentage') or 0:.0f}% ({done}/{total})"
    regions = {
        "header": (
            f"# {cell(s['name'])}\n\n| Session | Status | Mode | Created | Progress |\n"
            "|---|---|---|---|---|\n"
            f"| `{s['session_id']}` | {cell(s['status'])} | {cell(s.get('mode_file'))} |"
            f" {cell((s.get('created_at') or '-')[:10])} | {progress} |\n"
        )
    }
    counts: dict[str, int] = {}
    effort_total = effort_left = 0
    for t in view.tasks:
        counts[t["status"]] = counts.get(t["status"], 0) + 1
        if t["status"] == CANCELLED:
            continue
        effort = t.get("estimated_effort") or 0
        effort_total += effort
        if t["status"] != DONE:
            effort_left += effort
    by_effort = (
        f"{100 * (effort_total - effort_left) / effort_total:.0f}% by effort"
        f" ({effort_left}h of {effort_total}h left)"
        if effort_total
        else "no estimates yet"
    )
    regions["overview"] = (
        "## Session Overview\n\n"
        "| Total | Completed | In progress | Blocked | Estimated completion |\n"
        "|---:|---:|---:|---:|---|\n"
        f"| {len(view.tasks)} | {counts.get('completed', 0)} | {counts.get('in_progress', 0)} |"
        f" {counts.get('blocked', 0)} | {by_effort} |\n"
    )
    regions["groups"] = "## Task Groups\n" + "".join(_group_sections(view))
    regions["changelog"] = render_changelog(view.changes)
    sync = (
        f"{view.conflicts} merge conflict(s): `orch conflicts`"
        if view.conflicts
        else "synchronized"
    )
    last = s.get("last_activity_at") or s.get("created_at") or "-"
    regions["footer"] = (
        f"\n---\n\n*Generated by orch from the session's records · last activity {last} · {sync}*\n"
    )
    return regions


def render_changelog(changes: list[str]) -> str:
    lines = "".join(f"- {escaped(line)}\n" for line in changes) or "- (no commits yet)\n"
    return f"## Change Log\n\n{lines}"


def _group_sections(view: SessionView) -> list[str]:
    """A section per group, as a tree: a nested group right after its parent (and its
    parent's earlier subgroups), one heading level deeper. Below the deepest heading
    Markdown has (######), a heading names the groups from the one at that level down."""
    by_group: dict[str | None, list[dict[str, Any]]] = {}
    for t in view.tasks:
        by_group.setdefault(t.get("group_id"), []).append(t)
    parts = []
    path: list[str] = []  # the names from a top group down to the current one
    for depth, g in tree_rows(view.groups, "group_id", "parent_group_id", "group_level"):
        path[depth:] = [cell(g["group_name"])]
        level = "#" * (3 + min(depth, _DEEPEST))
        name = " › ".join(path[min(depth, _DEEPEST) :])
        done, total = g.get("completed_tasks") or 0, g.get("total_tasks") or 0
        facts = [f"{g.get('progress_percentage') or 0:.0f}% ({done}/{total})"]
        if g.get("specialist_focus"):
            facts.append(f"focus {escaped(str(g['specialist_focus']))}")
        facts.append(f"priority {g.get('priority_level') or 3}")
        parts.append(f"\n{level} {name}\n\n{' · '.join(facts)}\n")
        parts.append(_checklist(by_group.get(g["group_id"], [])))
    if by_group.get(None):
        parts.append("\n### Tasks without a group\n")
        parts.append(_checklist(by_group[None]))
    return parts


# Group headings start at ### (the region's own heading is ##): three more levels, to ######.
_DEEPEST = 3


def _checklist(tasks: list[dict[str, Any]]) -> str:
    """Tasks as a nested checklist: each subtask right under its parent when its parent
    is listed here too (a subtask of a task of another group is a top here)."""
    if not tasks:
        return "\n(no tasks)\n"
    tree = tree_rows(tasks, "task_id", "parent_task_id", "level")
    return "\n" + "\n".join(task_line(t, depth) for depth, t in tree) + "\n"


# -- placing regions in a body ------------------------------------------------------------


def regions_of(body: str) -> dict[str, tuple[int, int]]:
    """name -> (line of its begin marker, line of its end marker), 0-based, for every
    well-formed region of the body."""
    found: dict[str, tuple[int, int]] = {}
    open_at: dict[str, int] = {}
    for n, kind, name in markers(body.splitlines()):
        if name in found:
            continue  # a second copy of a region: the first is the one kept current
        if kind == "begin":
            open_at.setdefault(name, n)
        elif name in open_at:
            found[name] = (open_at.pop(name), n)
    return found


def broken_markers(body: str) -> list[tuple[int, str]]:
    """The region markers regions_of() cannot pair, as (0-based line, what is wrong):
    a begin with no end, an end with no begin, a region written twice, a name orch
    does not know. Markers inside code blocks are examples, not regions."""
    broken: list[tuple[int, str]] = []
    open_at: dict[str, int] = {}
    closed: set[str] = set()
    for n, kind, name in markers(body.splitlines()):
        if name not in REGIONS:
            broken.append((n, f"unknown region {name!r} (orch writes {', '.join(REGIONS)})"))
        elif name in closed:
            broken.append((n, f"region {name!r} is written twice; the first copy is kept current"))
        elif kind == "begin":
            if name in open_at:
                broken.append((n, f"region {name!r} begins again before it ends"))
            else:
                open_at[name] = n
        elif name in open_at:
            del open_at[name]
            closed.add(name)
        else:
            broken.append((n, f"region {name!r} ends but never begins"))
    broken += [(n, f"region {name!r} begins but never ends") for name, n in open_at.items()]
    return sorted(broken)


def without_broken_regions(body: str) -> str:
    """The body without any marker of a region broken_markers() finds fault with: what
    stood between them stays, as people's text (nothing is lost), and the next
    regeneration puts the region back whole."""
    found = list(markers(body.splitlines()))
    broken = {n for n, _ in broken_markers(body)}
    names = {name for n, _, name in found if n in broken}
    drop = {n for n, _, name in found if name in names}
    return "".join(line for n, line in enumerate(body.splitlines(keepends=True)) if n not in drop)


def place(body: str, inside: dict[str, str]) -> str:
    """The body with each region's inside replaced by `inside[name]`; people's text is
    kept byte for byte. A body without regions (a new session, an old file) gets the
    whole layout around its text: header first, then the text, the overview, the groups,
    a Session Notes skeleton, the change log and the footer. A region that is missing
    from a body with others comes back at the end. What orch writes takes the body's line
    ending (CRLF in a file saved on Windows)."""
    lines = body.splitlines(keepends=True)
    found = regions_of(body)
    nl = "\r\n" if (i := body.find("\n")) > 0 and body[i - 1] == "\r" else "\n"
    if nl != "\n":
        inside = {name: text.replace("\n", nl) for name, text in inside.items()}
    if not found:
        text = body.strip("\r\n" if nl != "\n" else "\n")
        parts = [_region("header", inside, nl), nl]
        if text:
            parts += [text, nl, nl]
        parts += [_region("overview", inside, nl), nl, _region("groups", inside, nl), nl]
        if NOTES_HEADING not in body:
            parts += [NOTES_SKELETON.replace("\n", nl), nl]
        parts += [_region("changelog", inside, nl), nl, _region("footer", inside, nl)]
        return nl + "".join(parts)
    out: list[str] = []
    at = 0
    for name, (first, last) in sorted(found.items(), key=lambda item: item[1][0]):
        if first < at:
            continue  # overlapping markers: leave that one as it is
        out += lines[at : first + 1]
        if name in inside:
            out.append(inside[name])
        else:
            out += lines[first + 1 : last]
        out.append(lines[last])
        at = last + 1
    out += lines[at:]
    text = "".join(out)
    for name in REGIONS:
        if name not in found and name in inside:
            if not text.endswith("\n"):
                text += nl
            text += nl + _region(name, inside, nl)
    return text


def _region(name: str, inside: dict[str, str], nl: str = "\n") -> str:
    return f"{begin(name)}{nl}{inside[name]}{end(name)}{nl}"


# -- reading edits back ---------------------------------------------------------------------


@dataclass
class ViewEdit:
    """A task a person changed through its checklist line."""

    task_id: str
    line: int  # in the body, 1-based
    checked: bool | None = None  # the box as ticked now, if it changed
    title: str | None = None  # the new title, if it changed


@dataclass
class ViewProblem:
    line: int  # in the body, 1-based
    message: str


def read_edits(
    body: str, base: str, tasks: dict[str, dict[str, Any]]
) -> tuple[list[ViewEdit], list[ViewProblem]]:
    """The edits a person made inside the `groups` region: the lines that differ from
    `base`, the body they started from (the committed view their editor opened), read
    as box and title changes of the tasks they name (`tasks`: task_id -> row). A line
    orch cannot map to a task is reported, never guessed."""
    found = regions_of(body)
    if "groups" not in found:
        return [], []
    first, last = found["groups"]
    lines = body.splitlines()
    base_lines = _region_lines(base, "groups")
    before = {m["id"]: m for line in base_lines if (m := _TASK_LINE.match(line))}
    unchanged = set(base_lines)
    edits, problems, seen = [], [], set()
    for n in range(first + 1, last):
        line = lines[n].rstrip("\r")
        m = _TASK_LINE.match(line)
        if m and m["id"] in seen:
            problems.append(
                ViewProblem(n + 1, f"{m['id']} is listed twice: this line is not applied")
            )
            continue
        if m:
            seen.add(m["id"])
        if line in unchanged or not line.strip():
            continue
        task = tasks.get(m["id"]) if m else None
        if m is None or task is None:
            what = f"no task {m['id']}" if m else "not a task line orch wrote"
            problems.append(
                ViewProblem(
                    n + 1,
                    f"{what}: edits here are not applied (tick a box or edit a title, and keep"
                    " the <!-- t-... --> at the end of the line)",
                )
            )
            continue
        if m["mark"] not in " xX":
            problems.append(
                ViewProblem(n + 1, f"[{m['mark']}] is not a box orch reads: use [x] or [ ]")
            )
            continue
        was = before.get(m["id"])
        was_checked = was["mark"] != " " if was else task["status"] == DONE
        was_title = title_of(was["text"] if was else shown_title(task["title"]))
        edit = ViewEdit(task["task_id"], n + 1)
        if (m["mark"] != " ") != was_checked:
            edit.checked = m["mark"] != " "
        title = title_of(m["text"])
        if title and title != was_title:
            edit.title = title
        if edit.checked is not None or edit.title is not None:
            edits.append(edit)
    return edits, problems


def _region_lines(body: str, name: str) -> list[str]:
    found = regions_of(body)
    if name not in found:
        return []
    first, last = found[name]
    return [line.rstrip("\r") for line in body.splitlines()[first + 1 : last]]


def region_insides(body: str) -> dict[str, str]:
    """name -> the text inside each region of a body."""
    lines = body.splitlines(keepends=True)
    return {name: "".join(lines[a + 1 : b]) for name, (a, b) in regions_of(body).items()}


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


def add_note(body: str, kind: str, entry: str) -> str:
    """Append `- entry` to the Session Notes section of `kind` (decision, learning,
    next): the first heading of that name after `## Session Notes`, outside the
    generated regions and code blocks. The section (or the whole skeleton, before the
    change log) is created if it is not there."""
    heading = NOTE_SECTIONS[kind]
    lines = body.splitlines(keepends=True)
    free = _free_lines(body)
    notes = next((i for i in free if lines[i].rstrip("\r\n") == NOTES_HEADING), None)
    if notes is None:
        at = regions_of(body).get("changelog", (len(lines), 0))[0]
        lead = [] if at == 0 or not lines[at - 1].strip() else ["\n"]
        lines[at:at] = [*lead, NOTES_SKELETON, "\n"]
        return add_note("".join(lines), kind, entry)
    section = next((i for i in free if i > notes and lines[i].rstrip("\r\n") == heading), None)
    if section is None:
        lines[notes + 1 : notes + 1] = ["\n", heading + "\n"]
        return add_note("".join(lines), kind, entry)
    # The section runs to the next heading or region, outside code blocks.
    stop = next(
        (i for i in range(section + 1, len(lines))
         if (i in free and lines[i].startswith("#")) or i not in free),
        len(lines),
    )  # fmt: skip
    at = stop
    while at > section + 1 and not lines[at - 1].strip():
        at -= 1
    newline = "\r\n" if lines[section].endswith("\r\n") else "\n"
    new = [f"- {entry}{newline}"]
    if at == section + 1:
        new.insert(0, newline)
    if at < len(lines) and at == stop:
        new.append(newline)
    lines[at:at] = new
    return "".join(lines)


def _free_lines(body: str) -> set[int]:
    """Indexes of the lines that are people's prose: outside regions and code blocks."""
    inside = {n for first, last in regions_of(body).values() for n in range(first, last + 1)}
    return {n for n, code in enumerate(fenced(body.splitlines())) if not code and n not in inside}
