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

This module is pure: data in, text out. Reading a person's edits back is view_edits.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestrator.graph import tree_rows
from orchestrator.model import CANCELLED, DONE
from orchestrator.store.regions import (
    begin,
    end,
    fenced,
    markers_of,
    outside_regions,
    regions_of,
)
from orchestrator.store.validation import escaped

REGIONS = ("header", "overview", "groups", "changelog", "footer")
# The heading the groups region lists tasks without a group under (tasks.markdown_section).
UNGROUPED_HEADING = "Tasks without a group"
NOTES_HEADING = "## Session Notes"
NOTE_SECTIONS = {"decision": "### Decisions Made", "learning": "### Key Learnings",
                 "next": "### Next Steps"}  # fmt: skip
NOTES_SKELETON = (
    f"{NOTES_HEADING}\n\n{NOTE_SECTIONS['decision']}\n\n{NOTE_SECTIONS['learning']}\n\n"
    f"{NOTE_SECTIONS['next']}\n"
)


def description(body: str) -> str:
    """A session's description: the people's text of its session.md, outside the
    generated regions, without the headings of Session Notes that hold no note yet."""
    text = "\n\n".join(p.strip("\r\n") for p in outside_regions(body) if p.strip())
    lines = text.splitlines()
    headings = {NOTES_HEADING, *NOTE_SECTIONS.values()}
    while True:
        empty = [n for n, line in enumerate(lines) if line.rstrip() in headings
                 and not _below(lines, n)]  # fmt: skip
        if not empty:
            break
        lines = [line for n, line in enumerate(lines) if n not in empty]
    return "\n".join(lines).strip()


def _below(lines: list[str], n: int) -> bool:
    """Whether the Markdown heading on line n has any text in its section."""
    level = len(lines[n]) - len(lines[n].lstrip("#"))
    for line in lines[n + 1 :]:
        depth = len(line) - len(line.lstrip("#"))
        if depth and line[depth : depth + 1] == " " and depth <= level:
            return False
        if line.strip():
            return True
    return False


@dataclass
class SessionView:
    """What the view shows, read from the index (and git, for the change log)."""

    session: dict[str, Any]
    groups: list[dict[str, Any]]  # in session order
    tasks: list[dict[str, Any]]  # in group order, subtasks after their parent
    changes: list[str] = field(default_factory=list)  # change log lines, newest first
    conflicts: int = 0
    mode_file: str | None = None  # the role file the session is bound to
    mode_name: str | None = None  # that mode's name
    # Given instead of every task (a view read from the index's kept checklists, see
    # core/views.py): each group's checklist text (None: the tasks without a group, left
    # out when it has none) and the tasks' totals by status.
    checklists: dict[str | None, str] | None = None
    totals: dict[str, Totals] | None = None


@dataclass
class Totals:
    """What the overview counts of the tasks of one status."""

    count: int = 0
    effort: float = 0.0  # estimated hours
    compared: int = 0  # tasks with an actual effort and a non-zero estimate
    actual: float = 0.0  # their actual hours
    estimated: float = 0.0  # their estimated hours


def totals_of(tasks: list[dict[str, Any]]) -> dict[str, Totals]:
    """The tasks' totals by status (core/views.py asks the index the same in SQL)."""
    totals: dict[str, Totals] = {}
    for t in tasks:
        bucket = totals.setdefault(t["status"], Totals())
        bucket.count += 1
        effort = t.get("estimated_effort") or 0
        bucket.effort += effort
        if t.get("actual_effort") is not None and effort:
            bucket.compared += 1
            bucket.actual += t["actual_effort"]
            bucket.estimated += effort
    return totals


def status_label(status: str) -> str:
    return status.replace("_", " ").title()


def task_suffix(task: dict[str, Any]) -> str:
    """What follows the title on a task's checklist line."""
    text = f" ({status_label(task['status'])})"
    if task.get("specialist_type"):
        text += f" - {escaped(str(task['specialist_type']))}"
    estimated, actual = task.get("estimated_effort"), task.get("actual_effort")
    if task["status"] == DONE and actual is not None:
        text += (
            f" - {hours(estimated)} est, {hours(actual)} actual"
            if estimated
            else f" - {hours(actual)} actual"
        )
    elif estimated:
        text += f" - {hours(estimated)}"
    return text


def shown_title(title: Any) -> str:
    """A title on one line, with `<` escaped so that it cannot open an HTML comment, and
    control characters escaped."""
    return escaped(" ".join(str(title).split())).replace("<", "\\<")


def task_line(task: dict[str, Any], depth: int) -> str:
    mark = "x" if task["status"] == DONE else " "
    title = shown_title(task["title"])
    return f"{'  ' * depth}- [{mark}] {title}{task_suffix(task)} <!-- {task['task_id']} -->"


def cell(value: Any) -> str:
    """A value for a Markdown table cell."""
    return escaped(" ".join(str(value if value is not None else "-").split())).replace("|", "\\|")


def render(view: SessionView) -> dict[str, str]:
    """The inside of each region."""
    regions = {"header": _header(view), "overview": _overview(view)}
    regions["groups"] = "## Task Groups\n" + "".join(_group_sections(view))
    regions["changelog"] = render_changelog(view.changes)
    regions["footer"] = _footer(view)
    return regions


def hours(value: float) -> str:
    """An effort in hours, as session.md writes it: `3h`, `2.5h`."""
    return f"{value:g}h"


def _header(view: SessionView) -> str:
    s = view.session
    done, total = s.get("completed_tasks") or 0, s.get("total_tasks") or 0
    progress = f"{s.get('progress_percentage') or 0:.0f}% ({done}/{total})"
    mode_file = view.mode_file or s.get("mode_file")
    mode = f"{view.mode_name or mode_file.rsplit('.', 1)[0]} ({mode_file})" if mode_file else None
    return (
        f"# {cell(s['name'])}\n\n| Session | Status | Mode | Created | Progress |\n"
        "|---|---|---|---|---|\n"
        f"| `{s['session_id']}` | {cell(s['status'])} | {cell(mode)} |"
        f" {cell((s.get('created_at') or '-')[:10])} | {progress} |\n"
    )


def _overview(view: SessionView) -> str:
    """The counts, the estimated completion date and the key metrics."""
    totals = view.totals if view.totals is not None else totals_of(view.tasks)
    counts = {status: bucket.count for status, bucket in totals.items()}
    live_totals = [b for status, b in totals.items() if status != CANCELLED]
    effort_total = sum(b.effort for b in live_totals)
    effort_left = sum(b.effort for status, b in totals.items() if status not in (DONE, CANCELLED))
    done_totals = totals.get(DONE, Totals())
    compared, actual, estimated = done_totals.compared, done_totals.actual, done_totals.estimated
    eta = view.session.get("estimated_completion_date")
    if not effort_total:
        eta = "no estimates yet"
    elif not effort_left:
        eta = "nothing estimated left"
    elif not eta and effort_total == effort_left:
        eta = "no pace yet (no estimated work completed)"
    elif not eta:
        eta = "over 100 years at this pace"
    everything = sum(counts.values())
    live = everything - counts.get(CANCELLED, 0)
    done = counts.get(DONE, 0)
    effort_done = effort_total - effort_left
    metrics = [
        f"Tasks done: {done} of {live} ({100 * done / live if live else 0:.0f}%)",
        f"Effort done: {hours(effort_done)} of {hours(effort_total)} estimated"
        f" ({100 * effort_done / effort_total if effort_total else 0:.0f}%)",
        f"Blocked: {counts.get('blocked', 0)}",
        f"Actual against estimated: {hours(actual)} for {hours(estimated)} over {compared}"
        f" completed task(s) ({actual / estimated:.2f}x)"
        if compared
        else "Actual against estimated: no completed task has both yet",
    ]
    return (
        "## Session Overview\n\n"
        "| Total | Completed | In progress | Blocked | Estimated completion |\n"
        "|---:|---:|---:|---:|---|\n"
        f"| {everything} | {done} | {counts.get('in_progress', 0)} |"
        f" {counts.get('blocked', 0)} | {eta} |\n\n"
        "### Key Metrics\n\n" + "".join(f"- {line}\n" for line in metrics)
    )


def session_time(session: dict[str, Any]) -> str:
    """How long the session has run: from its creation to its completion, or to its
    last activity while it runs (the records hold no pauses to take off)."""
    from datetime import datetime

    start = session.get("created_at")
    stop = session.get("completed_at") or session.get("last_activity_at")
    if not start or not stop:
        return "-"
    try:
        seconds = (
            datetime.fromisoformat(stop).timestamp() - datetime.fromisoformat(start).timestamp()
        )
    except ValueError:
        return "-"
    minutes = max(int(seconds // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    parts = [f"{days}d"] if days else []
    parts += [f"{minutes // 60}h"] if minutes // 60 or days else []
    return " ".join(parts + ([] if days else [f"{minutes % 60}m"]))


def _footer(view: SessionView) -> str:
    s = view.session
    sync = (
        f"{view.conflicts} merge conflict(s): `orch conflicts`"
        if view.conflicts
        else "synchronized"
    )
    last = s.get("last_activity_at") or s.get("created_at") or "-"
    return (
        "\n---\n\n*Generated by orch from the session's records · last activity"
        f" {last} · total session time {session_time(s)} · {sync}*\n"
    )


def render_changelog(changes: list[str]) -> str:
    lines = "".join(f"- {escaped(line)}\n" for line in changes) or "- (no commits yet)\n"
    return f"## Change Log\n\n{lines}"


def _group_sections(view: SessionView) -> list[str]:
    """A section per group, as a tree: a nested group right after its parent (and its
    parent's earlier subgroups), one heading level deeper. Below the deepest heading
    Markdown has (######), a heading names the groups from the one at that level down."""
    checklists = view.checklists if view.checklists is not None else checklists_of(view.tasks)
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
        parts.append(checklists.get(g["group_id"]) or NO_TASKS)
    if checklists.get(None):
        parts.append(f"\n### {UNGROUPED_HEADING}\n")
        parts.append(checklists[None])
    return parts


def checklists_of(tasks: list[dict[str, Any]]) -> dict[str | None, str]:
    """Each group's checklist (None: the tasks without a group), from tasks in group
    order."""
    by_group: dict[str | None, list[dict[str, Any]]] = {}
    for t in tasks:
        by_group.setdefault(t.get("group_id"), []).append(t)
    return {group: checklist(rows) for group, rows in by_group.items()}


# Group headings start at ### (the region's own heading is ##): three more levels, to ######.
_DEEPEST = 3


NO_TASKS = "\n(no tasks)\n"


def checklist(tasks: list[dict[str, Any]]) -> str:
    """Tasks as a nested checklist: each subtask right under its parent when its parent
    is listed here too (a subtask of a task of another group is a top here). Its text is
    a function of the tasks' columns index/checklists.py names (SHOWN) alone."""
    if not tasks:
        return NO_TASKS
    tree = tree_rows(tasks, "task_id", "parent_task_id", "level")
    return "\n" + "\n".join(task_line(t, depth) for depth, t in tree) + "\n"


# -- placing regions in a body ------------------------------------------------------------


def broken_markers(body: str) -> list[tuple[int, str]]:
    """The region markers regions_of() cannot pair, as (0-based line, what is wrong):
    a begin with no end, an end with no begin, a region written twice, a name orch
    does not know. Markers inside code blocks are examples, not regions."""
    broken: list[tuple[int, str]] = []
    open_at: dict[str, int] = {}
    closed: set[str] = set()
    for n, kind, name in markers_of(body):
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
    found = list(markers_of(body))
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


def region_insides(body: str) -> dict[str, str]:
    """name -> the text inside each region of a body."""
    lines = body.splitlines(keepends=True)
    return {name: "".join(lines[a + 1 : b]) for name, (a, b) in regions_of(body).items()}


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
