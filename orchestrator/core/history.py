"""The git history of one record (a task, a group, a session), newest first.

orch names the records each commit touched in its trailers (`Orch-Task: <id>`,
git/commits.py); a person's own `git commit` of a record file names nothing. So a
record's history is two `git log` calls, each cut at the limit: the commits whose
trailer names it, and the commits that touched its current file, merged each once.
"""

from __future__ import annotations

import contextlib
import os
import re
from typing import Any

from orchestrator.core import lookup
from orchestrator.core.inputs import record_ref
from orchestrator.core.project import Project
from orchestrator.errors import InvalidInput, NotFound
from orchestrator.git.commits import TRAILER
from orchestrator.git.repo import GitError, Repo, find_repo, git_available
from orchestrator.index.engine import IndexDB
from orchestrator.layout import ORCH_DIR
from orchestrator.model import ID_KEY, ID_PREFIX, TITLE_KEY

# The field of each kind's index row that holds its file, relative to the project root.
FILE_KEY = {"session": "markdown_file_path", "group": "file_path", "task": "file_path"}
# One commit per record (ended by \x1e), its fields apart (\x1f); the subject, the one
# free text, last. The trailers as git parses them, several values joined by commas.
FORMAT = ("%H%x1f%P%x1f%ct%x1f%aI%x1f%an%x1f%(trailers:key=Orch-Op,valueonly,separator=%x2C)"
          "%x1f%(trailers:key={trailer},valueonly,separator=%x2C)%x1f%s%x1e")  # fmt: skip
FIELDS = ("commit", "parents", "time", "date", "author", "ops", "named", "subject")
SHOWN = ("commit", "short", "date", "author", "subject", "ops")
# The project's recent commits: every record each names, sessions, groups, then tasks.
RECENT_FORMAT = (
    FORMAT.split("%x1f%(trailers:key={trailer}")[0]
    + "".join(
        f"%x1f%(trailers:key={TRAILER[kind]},valueonly,separator=%x2C)"
        for kind in ("session", "group", "task")
    )
    + "%x1f%s%x1e"
)
RECENT_FIELDS = ("commit", "parents", "time", "date", "author", "ops", "sessions", "groups",
                 "tasks", "subject")  # fmt: skip
LISTED = ("ops", "named", "sessions", "groups", "tasks")  # fields holding a list
SHORT = 9  # characters of a short commit id


def history(project: Project, ref: str, limit: int = 50) -> dict[str, Any]:
    """The commits of the record `ref` (a task, group or session id, or a unique start
    of one; a session or group name), newest first, at most `limit`: those whose trailers
    name it and those that touched its file (a person's own commit), each once. `more`
    says whether older ones were left out. Without git, or before the first commit, no
    commits, and a warning says why."""
    if limit < 0:
        raise InvalidInput(f"limit {limit} is below 0: give how many commits to show")
    with project.reading() as db:
        kind, row = _record(db, ref)
    record_id, path = row[ID_KEY[kind]], row[FILE_KEY[kind]]
    out: dict[str, Any] = {"kind": kind, "id": record_id, "title": row[TITLE_KEY[kind]],
                           "file_path": path, "commits": [], "more": False}  # fmt: skip
    repo = _repo(project, record_id)
    if repo is None:
        return out
    cap = f"-n{limit + 1}"  # one more than shown: whether there are more
    trailer = TRAILER[kind]
    fmt = f"--format={FORMAT.format(trailer=trailer)}"
    pattern = f"^{trailer}:[[:space:]]*{_ere(record_id)}[[:space:]]*$"
    # --no-show-signature: a signature check configured for log would print into the output.
    named = _log(repo, "log", "--no-show-signature", cap, fmt, "-E", f"--grep={pattern}")
    if named is None:
        project.warnings.append(
            f"the git repository has no commits yet: {record_id} has no history"
        )
        return out
    # The grep matches a line anywhere in a message; only a trailer names the record. (A
    # body line written like a trailer, dropped here, shortens that list by one: rare.)
    named = [c for c in named if record_id in c["named"]]
    file_in_repo = os.path.relpath(project.root / path, repo.top).replace(os.sep, "/")
    touched = _log(repo, "log", "--no-show-signature", cap, fmt, "--", file_in_repo) or []
    commits = _merged(named, touched)
    out["commits"] = [{k: c[k] for k in SHOWN} for c in commits[:limit]]
    out["more"] = len(commits) > limit
    return out


def recent(project: Project, limit: int = 20) -> dict[str, Any]:
    """The project's latest commits that touched its records (`.task_orchestrator/`, every
    session: orch's and a person's own), newest first, at most `limit`, each with the
    records its trailers name (`records`). `more` says whether older ones were left out.
    Without git, or before the first commit, none, and a warning says why."""
    if limit < 0:
        raise InvalidInput(f"limit {limit} is below 0: give how many commits to show")
    folder = project.layout.rel(project.layout.base)
    out: dict[str, Any] = {"kind": "project", "id": None, "title": None, "file_path": folder,
                           "commits": [], "more": False}  # fmt: skip
    repo = _repo(project, folder)
    if repo is None:
        return out
    in_repo = os.path.relpath(project.layout.base, repo.top).replace(os.sep, "/")
    fmt = f"--format={RECENT_FORMAT}"
    found = _log(repo, "log", "--no-show-signature", f"-n{limit + 1}", fmt, "--", in_repo,
                 fields=RECENT_FIELDS)  # fmt: skip
    if found is None:
        project.warnings.append("the git repository has no commits yet: no history to show")
        return out
    out["commits"] = [
        {k: c[k] for k in SHOWN} | {"records": c["sessions"] + c["groups"] + c["tasks"]}
        for c in found[:limit]
    ]
    out["more"] = len(found) > limit
    return out


def _record(db: IndexDB, ref: str) -> tuple[str, dict[str, Any]]:
    """The record `ref` names and its kind: by its id's prefix (`t-`, `g-`, `s-`);
    without one a session, or a group of the active session, of that exact name, else a
    task by its id. Unknown: the task lookup's NotFound, with the ids close to it."""
    text = ref.strip()
    for kind, prefix in ID_PREFIX.items():
        if text.lower().startswith(prefix):
            text = record_ref(kind, text)
            if kind == "task":
                return kind, lookup.task(db, text)
            if kind == "group":
                return kind, lookup.group(db, text, None)
            return kind, lookup.session(db, text)
    # A session or group named exactly so wins over a task id it begins ("ad" is a
    # group's name and the start of t-adbf3491): a name is typed whole, an id in part.
    active = lookup.active_session(db)
    named = db.records("SELECT * FROM sessions WHERE name = ?", [text])
    if named:
        return "session", lookup.session(db, text)  # several: AmbiguousId lists them
    if active is not None:
        with contextlib.suppress(NotFound):
            row = lookup.group(db, text, active["session_id"])
            if lookup.same_name(row["group_name"], text):
                return "group", row
    return "task", lookup.task(db, record_ref("task", text))


def _repo(project: Project, record_id: str) -> Repo | None:
    """The repository holding the project's files, or None, said in a warning. Found,
    never made: a read does not `git init` (the syncer's repo() would)."""
    if not git_available():
        project.warnings.append(f"git is not installed: {record_id} has no history to show")
        return None
    repo = find_repo(project.layout.base)
    if repo is None:
        project.warnings.append(
            f"{ORCH_DIR}/ is not in a git repository: {record_id} has no history to show"
        )
    return repo


def _log(repo: Repo, *args: str, fields: tuple[str, ...] = FIELDS) -> list[dict[str, Any]] | None:
    """The commits `git log ARGS` lists, parsed into `fields` (the format's, in order);
    None if the branch has no commit yet."""
    done = repo.run(*args, check=False)
    if done.returncode != 0:
        if repo.head()[0] is None:
            return None
        raise GitError(f"git log failed: {done.stderr.decode(errors='replace').strip()}")
    commits = []
    for chunk in done.stdout.decode("utf-8", errors="replace").split("\x1e"):
        parts = chunk.lstrip("\n").split("\x1f", len(fields) - 1)
        if len(parts) != len(fields):
            continue
        commit = dict(zip(fields, parts, strict=True))
        commit["short"] = commit["commit"][:SHORT]
        commit["time"] = int(commit["time"] or 0)
        commit["parents"] = commit["parents"].split()
        for key in [k for k in LISTED if k in commit]:
            commit[key] = [v.strip() for v in commit[key].split(",") if v.strip()]
        commits.append(commit)
    return commits


def _merged(named: list[dict[str, Any]], touched: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Two lists of commits, each newest first, as one, each commit once. A commit on
    both lists places the other's around it (git's order); between commits on one list
    only, the newer one goes first (_newer)."""
    in_named = {c["commit"] for c in named}
    in_touched = {c["commit"] for c in touched}
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    i = j = 0
    while i < len(named) and j < len(touched):
        a, b = named[i], touched[j]
        if a["commit"] in seen or b["commit"] in seen:
            i, j = i + (a["commit"] in seen), j + (b["commit"] in seen)
            continue
        # Not seen yet, so a commit on the other list comes later there: it is older.
        if a["commit"] == b["commit"] or b["commit"] in in_named:
            newer = a
        elif a["commit"] in in_touched:
            newer = b
        else:
            newer = a if _newer(a, b) else b
        seen.add(newer["commit"])
        out.append(newer)
    out += [c for c in [*named[i:], *touched[j:]] if c["commit"] not in seen]
    return out


def _newer(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether commit `a` comes before `b` newest first, for two commits on no common list:
    the later commit time; within one second (orch commits several), a child before its
    parent, else `a`."""
    if a["time"] != b["time"]:
        return a["time"] > b["time"]
    return a["commit"] not in b["parents"]


def _ere(text: str) -> str:
    """`text` matched literally in a POSIX extended regular expression (git's --grep)."""
    return re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", text)
