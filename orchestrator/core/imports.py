"""Moving in: work kept in other tools becomes sessions, groups and tasks.

- `backlog`: a Backlog.md project (backlog/tasks/*.md, backlog/completed/*.md);
- `taskmaster`: a Task Master tasks.json (tagged: each tag a session; or the older
  single list);
- `legacy`: the SQLite database of the legacy MCP Task Orchestrator (task_breakdowns,
  subtasks and task_results tables), as the spec's migration phase 1 asks.

Each source is read into plain plans (Source, Item), then written by one `import_plans`
in one commit. Ids are derived from the source's own ids (a hash of source and key), so
running an import again finds what it made and adds only what is new: nothing is
duplicated. Every record keeps where it came from in `import_source`; what could not be
mapped (a status, a dependency on a task that is not there) is reported, never guessed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from orchestrator.core.project import Project
from orchestrator.errors import InvalidInput, NotFound
from orchestrator.model import ACTIVE, ID_PREFIX, format_time, now
from orchestrator.store.record_file import new_record

PRIORITY = {"critical": 1, "urgent": 1, "high": 2, "medium": 3, "normal": 3, "low": 4}


@dataclass
class Item:
    """One task as a source has it, in orch's terms."""

    key: str  # the source's id of it (unique within its session)
    title: str
    body: str = ""
    status: str = "pending"
    priority: int | None = None
    deps: list[str] = field(default_factory=list)  # keys of items of the same session
    parent: str | None = None
    group: str | None = None
    specialist: str | None = None
    complexity: str | None = None
    effort: int | None = None
    created_at: str | None = None
    completed_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # frontmatter kept as is


@dataclass
class Source:
    """One session to make from a source."""

    key: str  # unique within the source kind
    name: str
    description: str = ""
    items: list[Item] = field(default_factory=list)
    groups: dict[str, str] = field(default_factory=dict)  # name -> description
    unmapped: list[str] = field(default_factory=list)


def stable_id(kind: str, key: str) -> str:
    """The id of an imported record: the same for the same source record, every run."""
    return ID_PREFIX[kind] + hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:8]


def stamp(value: Any) -> str | None:
    """A date or time as records write it (ISO 8601, UTC), from what sources write."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        try:
            moment = datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
        return format_time(moment)
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_time(moment)


def as_list(value: Any) -> list:
    """A field sources write as a list, or as one value."""
    if value in (None, ""):
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def dated(value: Any, where: str, source: Source) -> str | None:
    moment = stamp(value)
    if moment is None and value not in (None, ""):
        source.unmapped.append(f"{where}: date {value!r} not understood; left out")
    return moment


def source_key(path: Path, base: Path | None) -> str:
    """How a source is known across runs: its path inside the project if it is there
    (the same in every clone), else its absolute path."""
    resolved = path.resolve()
    if base is not None and resolved.is_relative_to(base):
        return resolved.relative_to(base).as_posix() or "."
    return str(resolved)


def mapped_status(value: Any, table: dict[str, str], where: str, source: Source) -> str:
    text = str(value or "").strip().lower()
    status = table.get(text)
    if status is None:
        source.unmapped.append(f"{where}: status {value!r} has no equivalent; imported as pending")
        return "pending"
    return status


def mapped_priority(value: Any) -> int | None:
    if isinstance(value, int) and 1 <= value <= 5:
        return value
    return PRIORITY.get(str(value or "").strip().lower())


# -- writing ----------------------------------------------------------------------------


def import_plans(
    project: Project,
    kind: str,
    sources: list[Source],
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Write the sources' sessions, groups and tasks (those not imported before), in one
    commit. Returns what was made, what was already there, and what could not be mapped."""
    total = sum(len(s.items) for s in sources)
    report: dict[str, Any] = {"source": kind, "sessions": [], "sessions_created": 0,
                              "groups_created": 0, "tasks_created": 0, "tasks_existing": 0,
                              "unmapped": []}  # fmt: skip
    done = 0
    with project.writing(f"import-{kind}") as w:
        w.bulk = total > 100
        layout = w.layout
        active = w.db.scalar("SELECT count(*) FROM active_session")
        for source in sources:
            origin = f"{kind}:{source.key}"
            session_id = stable_id("session", origin)
            report["sessions"].append(session_id)
            if not layout.record_path("session", session_id, session_id).exists():
                status = "paused" if active else ACTIVE
                active = active or 1
                w.save(new_record("session", {
                    "session_id": session_id, "name": source.name, "status": status,
                    "created_at": now(), "activated_at": now() if status == ACTIVE else None,
                    "import_source": origin}, source.description))  # fmt: skip
                report["sessions_created"] += 1
            group_ids = {}
            for name, description in source.groups.items():
                group_id = stable_id("group", f"{origin}:group:{name}")
                group_ids[name] = group_id
                if not layout.record_path("group", session_id, group_id).exists():
                    w.save(new_record("group", {
                        "group_id": group_id, "session_id": session_id, "group_name": name,
                        "created_at": now(), "import_source": f"{origin}:group:{name}"},
                        description))  # fmt: skip
                    report["groups_created"] += 1
            items = unique_keys(source)
            ids, existing = task_ids(layout, session_id, origin, items)
            deps, parents = untangled(source, items, ids)
            for item in items:
                done += 1
                if progress:
                    progress(done, total)
                task_id = ids[item.key]
                if item.key in existing:
                    report["tasks_existing"] += 1
                    continue
                stamped = item.created_at or now()
                meta = {
                    "task_id": task_id, "session_id": session_id, "title": item.title,
                    "status": item.status, "group_id": group_ids.get(item.group) if item.group else None,
                    "parent_task_id": parents.get(task_id), "specialist_type": item.specialist,
                    "complexity_level": item.complexity, "priority_level": item.priority,
                    "estimated_effort": item.effort, "depends_on": deps.get(task_id, []),
                    "created_at": stamped,
                    "completed_at": (item.completed_at or stamped) if item.status == "completed" else None,
                    "last_updated_at": now(), "import_source": f"{origin}:{item.key}",
                    **item.extra,
                }  # fmt: skip
                w.save(new_record("task", meta, item.body))
                report["tasks_created"] += 1
            report["unmapped"] += [f"{source.name}: {note}" for note in source.unmapped]
        w.sync()
    return report


def unique_keys(source: Source) -> list[Item]:
    """The items, each key once: a second task with the same id in the source (two
    files, one in tasks/ and one in completed/) is kept as a task of its own."""
    seen: dict[str, int] = {}
    for item in source.items:
        if item.key in seen:
            seen[item.key] += 1
            new = f"{item.key}#{seen[item.key]}"
            source.unmapped.append(
                f"{item.key}: the id is used twice; the second is imported as {new}"
            )
            item.key = new
        else:
            seen[item.key] = 1
    return source.items


def task_ids(
    layout, session_id: str, origin: str, items: list[Item]
) -> tuple[dict[str, str], set[str]]:
    """The id of each item (salted again if two keys hash alike, or a file of that id
    holds another record), and the keys already imported by an earlier run."""
    ids: dict[str, str] = {}
    taken: set[str] = set()
    existing: set[str] = set()
    for item in items:
        mark = f"{origin}:{item.key}"
        for salt in range(100):
            candidate = stable_id("task", mark if not salt else f"{mark}#{salt}")
            if candidate in taken:
                continue
            path = layout.record_path("task", session_id, candidate)
            if path.exists():
                if mark in path.read_text(encoding="utf-8", errors="replace"):
                    existing.add(item.key)  # imported before: this very record
                else:
                    continue  # another record has this id
            break
        ids[item.key] = candidate
        taken.add(candidate)
    return ids, existing


def untangled(source: Source, items: list[Item], ids: dict[str, str]):
    """Each task's dependencies and parent as ids, without what orch would refuse: a
    reference to a task that is not there, a parent loop, a dependency on a task above
    it in the tree, and dependency cycles (one link of each is left out, and said)."""
    from orchestrator.graph import cycles

    by_id = {ids[i.key]: i for i in items}
    parents: dict[str, str] = {}
    for item in items:
        if item.parent:
            if item.parent in ids and ids[item.parent] != ids[item.key]:
                parents[ids[item.key]] = ids[item.parent]
            else:
                source.unmapped.append(
                    f"{item.key}: parent {item.parent!r} is not among the imported tasks; left out"
                )
    for task_id in list(parents):
        seen, node = {task_id}, parents.get(task_id)
        while node is not None and node not in seen:
            seen.add(node)
            node = parents.get(node)
        if node is not None:  # a loop of parents: this link goes
            source.unmapped.append(f"{by_id[task_id].key}: its parents loop; parent left out")
            del parents[task_id]
    deps: dict[str, list[str]] = {}
    for item in items:
        task_id = ids[item.key]
        above, node = set(), parents.get(task_id)
        while node is not None and node not in above:
            above.add(node)
            node = parents.get(node)
        kept = []
        for dep in as_list(item.deps):
            target = ids.get(str(dep))
            if target is None or target == task_id:
                source.unmapped.append(
                    f"{item.key}: depends on {dep!r}, which is not among the imported tasks; left out"
                )
            elif target in above:
                source.unmapped.append(
                    f"{item.key}: depends on {dep!r}, a task above it in the tree; left out"
                )
            elif target not in kept:
                kept.append(target)
        deps[task_id] = kept
    for _ in range(len(items)):
        edges = {t: list(d) for t, d in deps.items()}
        for child, parent in parents.items():
            edges.setdefault(parent, []).append(child)  # a parent waits for its subtasks
        loops = cycles(edges)
        if not loops:
            break
        for loop in loops:
            for a, b in pairwise(loop):
                if b in deps.get(a, []):
                    deps[a].remove(b)
                    source.unmapped.append(
                        f"{by_id[a].key}: its dependency on {by_id[b].key!r} closes a cycle; left out"
                    )
                    break
    return deps, parents


# -- Backlog.md -------------------------------------------------------------------------

BACKLOG_STATUS = {"to do": "pending", "todo": "pending", "in progress": "in_progress",
                  "done": "completed", "blocked": "blocked", "cancelled": "cancelled",
                  "canceled": "cancelled"}  # fmt: skip
_SECTION_MARKER = re.compile(r"^<!-- (SECTION|AC):[A-Z_]+:(BEGIN|END) -->\n?", re.M)


def read_backlog(
    folder: str | Path, labels_as_groups: bool = False, project_root: Path | None = None
) -> list[Source]:
    """A Backlog.md project (the folder holding backlog/, or backlog/ itself) as one
    session: backlog/tasks/ and backlog/completed/ (drafts and archived tasks are left
    out and said so)."""
    from orchestrator.store.record_file import load_yaml, split_frontmatter

    base = Path(folder).expanduser()
    if (base / "backlog").is_dir():
        base = base / "backlog"
    if not (base / "tasks").is_dir():
        raise NotFound(f"{folder} has no backlog/tasks/ folder: is it a Backlog.md project?")
    name = base.parent.name or "Backlog"
    config = base / "config.yml"
    if config.exists():
        with contextlib.suppress(Exception):  # a broken config only costs the name
            name = (load_yaml(config.read_text(encoding="utf-8")) or {}).get("project_name") or name
    source = Source(key=source_key(base, project_root), name=str(name),
                    description=f"Imported from the Backlog.md project in {base}.")  # fmt: skip
    files = sorted((base / "tasks").glob("*.md")) + sorted((base / "completed").glob("*.md"))
    for extra in ("drafts", "archive/tasks"):
        skipped = list((base / extra).glob("*.md"))
        if skipped:
            source.unmapped.append(f"{len(skipped)} file(s) in backlog/{extra}/ left out")
    for path in files:
        try:
            head, body = split_frontmatter(path.read_text(encoding="utf-8"))
            meta = load_yaml(head) or {}
        except Exception as e:
            source.unmapped.append(f"{path.name}: cannot be read ({e}); left out")
            continue
        key = str(meta.get("id") or path.name.split(" - ")[0]).strip().lower()
        status = mapped_status(meta.get("status") or ("Done" if path.parent.name == "completed" else "To Do"),
                               BACKLOG_STATUS, key, source)  # fmt: skip
        labels = [str(x) for x in as_list(meta.get("labels"))]
        group = labels[0] if labels_as_groups and labels else None
        if group:
            source.groups.setdefault(group, f"Tasks labelled {group!r} in Backlog.md.")
        parent = meta.get("parent_task_id") or meta.get("parent")
        if not parent and re.fullmatch(r"[a-z]+-\d+(\.\d+)+", key):
            parent = key.rsplit(".", 1)[0]  # task-4.1 is a subtask of task-4
        assignee = meta.get("assignee")
        extra = {"labels": labels or None,
                 "assignee": assignee if assignee not in ([], "", None) else None,
                 "milestone": meta.get("milestone")}  # fmt: skip
        source.items.append(Item(
            key=key, title=str(meta.get("title") or key), body=_SECTION_MARKER.sub("", body).strip(),
            status=status, priority=mapped_priority(meta.get("priority")),
            deps=[str(d).strip().lower() for d in as_list(meta.get("dependencies"))],
            parent=str(parent).strip().lower() if parent else None, group=group,
            created_at=dated(meta.get("created_date"), key, source),
            completed_at=dated(meta.get("updated_date"), key, source),
            extra={k: v for k, v in extra.items() if v is not None}))  # fmt: skip
    return [source]


# -- Task Master ------------------------------------------------------------------------

TASKMASTER_STATUS = {"pending": "pending", "todo": "pending", "in-progress": "in_progress",
                     "in_progress": "in_progress", "review": "needs_revision", "done": "completed",
                     "completed": "completed", "blocked": "blocked", "deferred": "blocked",
                     "cancelled": "cancelled", "canceled": "cancelled"}  # fmt: skip


def read_taskmaster(file: str | Path, project_root: Path | None = None) -> list[Source]:
    """A Task Master tasks.json: each tag a session (the older untagged file: one)."""
    path = Path(file).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFound(f"no file {file}") from None
    except json.JSONDecodeError as e:
        raise InvalidInput(
            f"{file} is not JSON: line {e.lineno} column {e.colno}: {e.msg}"
        ) from None
    if isinstance(data, dict) and isinstance(data.get("tasks"), list):
        tags = {"master": data}
    elif isinstance(data, dict):
        tags = {
            t: v
            for t, v in data.items()
            if isinstance(v, dict) and isinstance(v.get("tasks"), list)
        }
    else:
        tags = {}
    if not tags:
        raise InvalidInput(
            f"{file} is not a Task Master tasks.json (no tasks, and no tags holding them)"
        )
    sources = []
    for tag, content in tags.items():
        about = content.get("metadata") or content.get("meta") or {}
        about = str(about.get("description") or "") if isinstance(about, dict) else ""
        source = Source(key=f"{source_key(path, project_root)}#{tag}", name=f"{tag} (Task Master)" if tag != "master" else "Task Master",
                        description=about or f"Imported from tag {tag!r} of {path}.")  # fmt: skip
        for task in content["tasks"]:
            if not isinstance(task, dict):
                source.unmapped.append(
                    f"tag {tag}: an entry of tasks is {task!r}, not a task; left out"
                )
                continue
            tid = str(task.get("id"))
            source.items.append(_taskmaster_item(task, tid, None, source))
            subtasks = [s for s in as_list(task.get("subtasks")) if isinstance(s, dict)]
            siblings = {str(s.get("id")) for s in subtasks}
            for sub in subtasks:
                item = _taskmaster_item(sub, f"{tid}.{sub.get('id')}", tid, source)
                item.deps = [
                    f"{tid}.{d}" if "." not in str(d) and str(d) in siblings else str(d)
                    for d in as_list(sub.get("dependencies"))
                ]
                source.items.append(item)
        sources.append(source)
    return sources


def _taskmaster_item(task: dict, key: str, parent: str | None, source: Source) -> Item:
    parts = [str(task.get("description") or "").strip()]
    if task.get("details"):
        parts.append(f"## Details\n\n{str(task['details']).strip()}")
    if task.get("testStrategy"):
        parts.append(f"## Test Strategy\n\n{str(task['testStrategy']).strip()}")
    return Item(
        key=key, title=str(task.get("title") or f"Task {key}"), parent=parent,
        body="\n\n".join(p for p in parts if p),
        status=mapped_status(task.get("status") or "pending", TASKMASTER_STATUS, key, source),
        priority=mapped_priority(task.get("priority")),
        deps=[str(d) for d in as_list(task.get("dependencies"))],
        extra={"taskmaster_id": key},
    )  # fmt: skip


# -- the legacy MCP Task Orchestrator ------------------------------------------------------

LEGACY_STATUS = {"pending": "pending", "active": "in_progress", "in_progress": "in_progress",
                 "completed": "completed", "failed": "failed", "blocked": "blocked",
                 "cancelled": "cancelled", "needs_revision": "needs_revision"}  # fmt: skip


def read_legacy(db_file: str | Path, project_root: Path | None = None) -> list[Source]:
    """The legacy orchestrator's database: each task breakdown a parent task with its
    subtasks, in one session "Legacy"."""
    import sqlite3

    from orchestrator.core.workflow import effort_hours

    path = Path(db_file).expanduser()
    if not path.is_file():
        raise NotFound(f"no database {db_file}")
    try:
        con = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
        con.row_factory = sqlite3.Row
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as e:
        raise InvalidInput(f"{db_file} is not an SQLite database ({e})") from None
    if not {"task_breakdowns", "subtasks"} <= tables:
        raise InvalidInput(
            f"{db_file} has no task_breakdowns and subtasks tables: not a legacy MCP Task Orchestrator database"
        )
    source = Source(key=source_key(path, project_root), name="Legacy",
                    description=f"Imported from the legacy MCP Task Orchestrator database {path}.")  # fmt: skip
    results = {}
    if "task_results" in tables:
        results = {r["task_id"]: dict(r) for r in con.execute("SELECT * FROM task_results")}
    with con:
        for row in con.execute("SELECT * FROM task_breakdowns ORDER BY created_at, parent_task_id"):
            row = dict(row)
            text = str(row.get("description") or "").strip()
            body = text + (
                f"\n\n## Context\n\n{row['context'].strip()}" if row.get("context") else ""
            )
            complexity = str(row.get("complexity") or "").lower() or None
            if complexity not in (None, "simple", "moderate", "complex", "very_complex"):
                source.unmapped.append(
                    f"{row['parent_task_id']}: complexity {complexity!r} left out"
                )
                complexity = None
            source.items.append(Item(
                key=row["parent_task_id"], title=(text.splitlines() or ["Legacy task"])[0][:80],
                body=body, complexity=complexity,
                created_at=dated(row.get("created_at"), row["parent_task_id"], source),
                extra={"legacy_id": row["parent_task_id"]}))  # fmt: skip
        for row in con.execute("SELECT * FROM subtasks ORDER BY created_at, task_id"):
            row = dict(row)
            key = row["task_id"]
            try:
                deps = as_list(json.loads(row.get("dependencies") or "[]"))
            except json.JSONDecodeError:
                deps = []
                source.unmapped.append(
                    f"{key}: dependencies {row.get('dependencies')!r} are not a JSON list"
                )
            try:
                effort = effort_hours(row.get("estimated_effort"), key)
            except InvalidInput:
                effort = None
                source.unmapped.append(
                    f"{key}: estimated_effort {row.get('estimated_effort')!r} left out"
                )
            body = str(row.get("description") or "").strip()
            done = results.get(key) or row
            if done.get("results"):
                body += f"\n\n## Results\n\n{str(done['results']).strip()}"
            artifacts = done.get("artifacts")
            if artifacts:
                try:
                    listed = json.loads(artifacts) if isinstance(artifacts, str) else artifacts
                except json.JSONDecodeError:
                    listed = [artifacts]
                if listed:
                    body += "\n\n- Files: " + ", ".join(f"`{a}`" for a in listed)
            source.items.append(Item(
                key=key, title=str(row.get("title") or key), body=body.strip(),
                status=mapped_status(row.get("status") or "pending", LEGACY_STATUS, key, source),
                deps=[str(d) for d in deps], parent=row.get("parent_task_id"),
                specialist=row.get("specialist_type"), effort=effort,
                created_at=dated(row.get("created_at"), key, source),
                completed_at=dated(done.get("completed_at"), key, source),
                extra={"legacy_id": key}))  # fmt: skip
    con.close()
    return [source]


# -- an orch zip export ---------------------------------------------------------------------

# What one zip import may unpack. Record files are a few KB and artifacts are reports:
# these leave room for large sessions, and stop a zip bomb (300 KB that unpacks to
# 300 MB) before anything is written. README.md ("Moving in") says them too.
ZIP_FILE_LIMIT = 32 * 2**20  # bytes of one file, unpacked
ZIP_TOTAL_LIMIT = 256 * 2**20  # bytes of all files, unpacked
ZIP_FILES_LIMIT = 250_000  # files
NAME_LIMIT = 255  # bytes of a file or folder name (the file system's own limit)


def read_zip(file: str | Path) -> dict[str, list[tuple[str, bytes]]]:
    """The files of an orch zip export, by session id, each entry checked before any
    file is written: its name (`<session id>/<path>`, no `..`, no hidden or empty
    part), its type (a file, not a link or a device; not encrypted), that it is there
    once and is not also a folder, and its size — the sizes the zip declares first,
    then the bytes it really unpacks to (declared sizes can lie). Raises InvalidInput
    naming the entry and what is wrong."""
    import stat
    import zipfile
    import zlib

    path = Path(file).expanduser()
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as e:
        raise InvalidInput(f"{file} is not a zip file orch can read ({e})") from None

    def refused(name: str, problem: str) -> InvalidInput:
        return InvalidInput(f"{file}: entry {name!r} {problem}; nothing was imported")

    with archive:
        entries = [info for info in archive.infolist() if not info.is_dir()]
        if len(entries) > ZIP_FILES_LIMIT:
            raise InvalidInput(
                f"{file} holds {len(entries):,} files, more than the {ZIP_FILES_LIMIT:,} one"
                " import takes; import its sessions from smaller zips (nothing was imported)"
            )
        names: set[str] = set()
        folders: set[str] = set()
        declared = 0
        for info in entries:
            name = info.filename
            problem = _entry_name_problem(name)
            kind = stat.S_IFMT(info.external_attr >> 16)
            if problem is None and kind not in (0, stat.S_IFREG):
                problem = "is not a file (a link, a device or a pipe)"
            if problem is None and info.flag_bits & 0x1:
                problem = "is encrypted"
            if problem is None and name in names:
                problem = "is in the zip twice"
            if problem is None and info.file_size > ZIP_FILE_LIMIT:
                problem = (
                    f"unpacks to {_mb(info.file_size)}, more than the {_mb(ZIP_FILE_LIMIT)}"
                    " a file of an import may have"
                )
            if problem is not None:
                raise refused(name, problem)
            names.add(name)
            parts = name.split("/")
            folders.update("/".join(parts[:n]) for n in range(1, len(parts)))
            declared += info.file_size
        both = sorted(names & folders)
        if both:
            raise refused(both[0], "is a file, and a folder of other entries")
        if declared > ZIP_TOTAL_LIMIT:
            raise InvalidInput(
                f"{file} unpacks to {_mb(declared)}, more than the {_mb(ZIP_TOTAL_LIMIT)} one"
                " import may write; import its sessions from smaller zips (nothing was imported)"
            )
        by_session: dict[str, list[tuple[str, bytes]]] = {}
        total = 0
        for info in entries:
            # Never more than the limits, whatever the entry says of itself.
            room = min(ZIP_FILE_LIMIT, ZIP_TOTAL_LIMIT - total)
            try:
                with archive.open(info) as stream:
                    data = stream.read(room + 1)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as e:
                raise refused(info.filename, f"cannot be unpacked ({e})") from None
            if len(data) > room:
                raise refused(info.filename, "unpacks to more than the import limits allow")
            total += len(data)
            session_id, _, rel = info.filename.partition("/")
            by_session.setdefault(session_id, []).append((rel, data))
    return by_session


def _entry_name_problem(name: str) -> str | None:
    from orchestrator.layout import is_id

    session_id, _, rel = name.partition("/")
    if not is_id("session", session_id) or not rel:
        return "is not a file of an orch session export (<session id>/<path>)"
    for part in rel.split("/"):
        if not part or part in (".", "..") or part.startswith("."):
            return f"has a path part {part!r} orch does not write (empty, . or .., or hidden)"
        if "\\" in part or any(ord(c) < 32 or ord(c) == 127 for c in part):
            return "has a backslash or a control character in its name"
        if len(part.encode("utf-8", "surrogateescape")) > NAME_LIMIT:
            return f"has a name longer than {NAME_LIMIT} bytes"
    return None


def _mb(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB" if size % 2**20 else f"{size // 2**20:,} MiB"


def import_zip(project: Project, file: str | Path) -> dict[str, Any]:
    """Bring back a session exported as zip (orch export --format zip, or an archive):
    its files as they were, all or nothing, in one commit. Every entry is checked first
    (read_zip); a session already there with the same files is left alone, one with
    other files is refused (nothing is overwritten)."""
    from orchestrator.store.files import real_folder, remove_tree

    by_session = read_zip(file)
    report = {"source": "zip", "sessions": sorted(by_session), "files_written": 0,
              "sessions_existing": 0, "paused": []}  # fmt: skip
    with project.writing("import-zip") as w:
        base = w.layout.base
        fresh = {}
        for session_id, files in sorted(by_session.items()):  # every check before a write
            folder = w.layout.session_dir(session_id)
            try:
                real_folder(folder, base, create=False)  # a link there is refused, named
            except FileNotFoundError:
                fresh[session_id] = files
                continue
            same = all((folder / rel).is_file() and (folder / rel).read_bytes() == data
                       for rel, data in files)  # fmt: skip
            if not same:
                raise InvalidInput(
                    f"session {session_id} is already here with other content; move"
                    f" {w.layout.rel(folder)} away to import it again (nothing was imported)"
                )
            report["sessions_existing"] += 1
        active = w.db.scalar("SELECT count(*) FROM active_session")
        made = []
        try:
            for session_id, files in fresh.items():
                folder = w.layout.session_dir(session_id)
                made.append(folder)
                for rel, data in files:
                    if (
                        rel == "session.md"
                        and active
                        and re.search(rb"(?m)^status: active\s*$", data)
                    ):
                        # Another session is active here: this one comes back paused.
                        data = re.sub(rb"(?m)^status: active\s*$", b"status: paused", data, count=1)
                        report["paused"].append(session_id)
                    w.write_file(folder / rel, data)
                    report["files_written"] += 1
        except BaseException:
            # A write failed (a full disk): the sessions it made go again, so that the
            # commit that follows holds none of them.
            for folder in made:
                with contextlib.suppress(OSError):
                    remove_tree(folder, base)
            raise
        w.sync()
    return report
