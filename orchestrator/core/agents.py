"""The orch section of the files AI agents read (AGENTS.md, CLAUDE.md, ...): how to use
orch in this repository, kept current between two markers.

The section is a region as session.md's are (`store/regions.py`): the lines from
`<!-- orch:begin agents -->` to `<!-- orch:end agents -->`. Writing it again replaces
those lines only; everything else in the file is the person's and kept byte for byte.
A file orch could not read as one section — a begin with no end, two begins, an end
with no begin — is refused with its line, and nothing is written. These files are the
person's, outside `.task_orchestrator/`: orch writes them and never commits them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import InvalidInput, OrchError
from orchestrator.store import regions
from orchestrator.store.files import read_held, remove_checked, replace_checked

REGION = "agents"
BEGIN = regions.begin(REGION)
END = regions.end(REGION)

# The files coding agents read their project's instructions from, by the root.
FILES = ("AGENTS.md", "CLAUDE.md", "GEMINI.md", ".github/copilot-instructions.md")
# Always written by default; the others only when they exist (CLAUDE.md) or already
# hold the section (a file chosen once stays current).
DEFAULT_FILE = "AGENTS.md"

# How many times a file an editor saved meanwhile is read again before giving up.
ATTEMPTS = 5

_BODY = """\
## Tasks: orch

This repository plans its work with orch: sessions, task groups and tasks are Markdown
files with YAML frontmatter under `.task_orchestrator/`. Read them, edit them by hand or
through orch; every change becomes a git commit (hand edits at the next orch command).

The workflow, with orch's MCP tools:
1. `orchestrator_get_status`: the active session, its progress, the tasks ready to start.
2. `orchestrator_plan_task(description, subtasks)`: a parent task and its subtasks.
3. `orchestrator_execute_subtask(task_id)`: start one; the reply holds its role and context.
4. `orchestrator_complete_subtask(task_id, summary, detailed_work)`: record what was done.
5. `orchestrator_synthesize_results(parent_task_id)`: combine the subtasks' results.

The same from the shell (add `--json` for JSON):
- `orch status`: the board; `orch task list --ready`: what can start now, urgent first.
- `orch task show ID`, `orch task start ID`, `orch task done ID`.
- `orch task add "TITLE" --parent ID`: a subtask; `orch search WORDS`: tasks and notes.
- `orch note decision "TEXT"`: a decision, dated, in the session's notes.

Rules:
- IDs accept any unique prefix: `t-7f3a` for `t-7f3a9c2e`.
- A refused command or tool says why and gives the call that would work: follow it, or
  ask; use `--force` (`force=true`) only to override a rule on purpose.
- Delete a task with `orch task delete ID`, not `rm`: tasks that depended on it are
  updated in the same commit.
- `orch doctor` lists every problem in the files, as `path:line: problem`.

Connect an MCP client: `orch mcp` serves this project over stdio;
`orch mcp --print-config` prints the settings for Claude Code, Cursor and VS Code.
"""

_CORE_TOOLS = "`orch mcp --tools core` serves only the workflow tools: a shorter list.\n"


def section(core_tools: bool = False) -> str:
    """The section, markers included, ending with a line break. `core_tools`: say
    `orch mcp --tools core` (only where this orch's server takes it)."""
    return f"{BEGIN}\n{_BODY}{_CORE_TOOLS if core_tools else ''}{END}\n"


def newline_of(text: str) -> str:
    """The line ending a file uses (its first line's), so the section matches it."""
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def find_section(text: str, name: str) -> tuple[int, int] | None:
    """(line of the begin marker, line of the end marker), 0-based, of the section in
    `text` (the file `name`); None if it has none. Markers shown in a code block do not
    count. A begin with no end, a second begin or an end with no begin is refused,
    naming the file and the line."""
    begin: int | None = None  # of the section still open
    first: int | None = None  # the first begin marker
    found: tuple[int, int] | None = None
    for n, kind, region in regions.markers(text.splitlines()):
        if region != REGION:
            continue
        if kind == "begin" and first is not None:
            raise _malformed(name, n, f"a second {BEGIN} (the first is on line {first + 1})")
        if kind == "begin":
            begin = first = n
        elif begin is None:
            raise _malformed(name, n, f"{END} with no {BEGIN} before it")
        else:
            found, begin = (begin, n), None
    if begin is not None:
        raise _malformed(name, begin, f"{BEGIN} with no {END} after it")
    return found


def _malformed(name: str, line: int, what: str) -> InvalidInput:
    return InvalidInput(f"{name}:{line + 1}: {what}; fix the markers by hand (nothing was written)")


def with_section(text: str, new: str, name: str) -> str:
    """`text` with its section replaced by `new` (a section as `section` gives it), or,
    without one, `new` appended after one blank line. The rest is kept as it is."""
    lines = text.splitlines(keepends=True)
    where = find_section(text, name)
    if where is None:
        if not text:
            return new
        gap = "" if text.endswith(("\n\n", "\r\n\r\n")) else newline_of(text)
        if not text.endswith("\n"):
            gap += newline_of(text)
        return text + gap + new
    first, last = where
    if not lines[last].endswith("\n"):  # the end marker ends the file: so does the new one
        new = new.rstrip("\r\n")
    return "".join([*lines[:first], new, *lines[last + 1 :]])


def without_section(text: str, name: str) -> str | None:
    """`text` with its section taken out (and the blank line before it, where the section
    ended the file, as `with_section` appends it); None if it has none."""
    where = find_section(text, name)
    if where is None:
        return None
    lines = text.splitlines(keepends=True)
    first, last = where
    if last == len(lines) - 1 and first > 0 and not lines[first - 1].strip():
        first -= 1
    return "".join([*lines[:first], *lines[last + 1 :]])


@dataclass
class _Planned:
    name: str
    path: Path  # the file itself (a link followed)
    held: int | None
    old: bytes | None
    new: bytes | None  # None: delete the file (removal left nothing of the person's)
    action: str


def _decode(data: bytes) -> str:
    # surrogateescape: bytes that are not UTF-8 come back out exactly as they were.
    return data.decode("utf-8", errors="surrogateescape")


def _encode(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogateescape")


def _plan(name: str, data: bytes | None, new_section: str | None) -> tuple[str, bytes | None]:
    """(action, new bytes) for one file: new_section None means take the section out."""
    text = _decode(data) if data is not None else None
    if new_section is None:
        if text is None:
            return "absent", None
        left = without_section(text, name)
        if left is None:
            return "absent", data
        return ("deleted", None) if not left.strip() else ("removed", _encode(left))
    if text is None:
        return "created", _encode(new_section)
    had = find_section(text, name) is not None
    updated = _encode(with_section(text, new_section.replace("\n", newline_of(text)), name))
    if updated == data:
        return "unchanged", data
    return ("updated" if had else "added"), updated


def chosen_files(root: Path, asked: Iterable[str] = (), remove: bool = False) -> list[str]:
    """The files to write (or, with `remove`, to take the section out of): those asked
    for, else AGENTS.md (unless removing), CLAUDE.md when it exists, and every other
    known file that already holds the section."""
    asked = list(dict.fromkeys(asked))
    for name in asked:
        if name not in FILES:
            raise InvalidInput(f"{name!r} is not a file orch writes; it writes {', '.join(FILES)}")
    if asked:
        return asked
    names = [] if remove else [DEFAULT_FILE]
    for name in FILES:
        path = root / name
        if name in names or not os.path.lexists(path):
            continue
        # CLAUDE.md whenever it exists (a link to AGENTS.md too, before that exists).
        if (name == "CLAUDE.md" and not remove) or _holds_section(path):
            names.append(name)
    return names


def _holds_section(path: Path) -> bool:
    if not path.is_file():
        return False
    text = path.read_text(encoding="utf-8", errors="replace")
    return BEGIN in text or END in text


def _real_path(root: Path, name: str) -> Path:
    """Where `name` is written: a link is followed (CLAUDE.md is often a link to
    AGENTS.md), but never out of the project."""
    path = root / name
    real = path.resolve()
    if not real.is_relative_to(root):
        raise OrchError(
            f"{name} leads out of the project, to {real}; orch writes only inside {root}:"
            f" make it a file there, or choose other files"
        )
    return real


def update_files(
    root: Path, names: Iterable[str], remove: bool = False, core_tools: bool = False
) -> list[dict[str, str]]:
    """Write the section into each file of `names` (paths from the project root), or
    take it out with `remove`. Returns, per file, {"file", "path", "action"}: created,
    added (to a file without one), updated, unchanged (not written, its mtime kept),
    removed, deleted (nothing else was in it), absent (nothing to remove), or "same as
    NAME" (a link to a file already handled). Every file is checked before any is
    written: a malformed one refuses the lot. Never committed: these are the person's."""
    root = Path(root).resolve()
    new_section = None if remove else section(core_tools=core_tools)
    planned: list[_Planned] = []
    done: list[_Planned | dict[str, str]] = []
    seen: dict[Path, str] = {}
    try:
        for name in names:
            path = _real_path(root, name)
            if path in seen:
                done.append({"file": name, "path": str(path), "action": f"same as {seen[path]}"})
                continue
            seen[path] = name
            held, data = read_held(path)
            entry = _Planned(name, path, held, data, None, "")
            planned.append(entry)
            done.append(entry)
            entry.action, entry.new = _plan(name, data, new_section)
        for entry in planned:
            _write(entry, new_section)
    finally:
        for entry in planned:
            _close(entry)
    return [
        e if isinstance(e, dict) else {"file": e.name, "path": str(e.path), "action": e.action}
        for e in done
    ]


def _close(entry: _Planned) -> None:
    if entry.held is not None:
        os.close(entry.held)
        entry.held = None


def _write(entry: _Planned, new_section: str | None) -> None:
    """Put the planned bytes in place; if an editor saved the file meanwhile, plan again
    from what it saved (the person's text is kept; the section is orch's)."""
    for _ in range(ATTEMPTS):
        if entry.action in ("unchanged", "absent"):
            return
        held, entry.held = entry.held, None  # closed by the call below
        if entry.new is None:
            assert held is not None and entry.old is not None
            theirs = remove_checked(entry.path, held, entry.old)
        else:
            theirs = replace_checked(entry.path, entry.new, held, entry.old)
        if theirs is None:
            return
        entry.held, entry.old = read_held(entry.path)
        entry.action, entry.new = _plan(entry.name, entry.old, new_section)
    raise OrchError(f"{entry.name} kept changing while orch wrote it; run this again")
