"""`orch doctor`: every problem (`problems`); `orch doctor --fix`: repair what can be
repaired without guessing, in one commit.

What the doctor lists is what the files' checks find (the index's problems, links,
leftovers: board.problems) and what cleanup's checks find (core/cleanup.py CHECKS), so
that the doctor and cleanup agree on what is wrong.

- fields orch computes (level, progress, ...) written into a file by mistake: removed;
- an id or session_id that disagrees with the file's name or folder (a copied file):
  set from the place, which is the record's identity;
- the same id in two files (a file copied into another session, or records made in two
  clones that met in a merge): the copy that loses gets a new id; its file is renamed,
  and the references to it in its session (dependencies, parents, groups) and its
  artifacts folder follow;
- session.md regions whose markers are broken: the markers of that region are dropped
  (its old lines stay, as people's text) and the view is rebuilt;
- a session left `creating` by an interrupted create: finished (active, or paused if
  another session is active now);
- every session.md view regenerated.

Everything else (broken YAML, unknown values, dangling references, cycles) needs a
person's decision and is left to the messages `orch doctor` prints.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from orchestrator.core.project import Project
from orchestrator.core.sessions import finish_creating
from orchestrator.errors import RecordError
from orchestrator.layout import RecordRole
from orchestrator.model import CREATING, ID_KEY, Problem, Record, derived_fields, now
from orchestrator.store.files import real_folder

if TYPE_CHECKING:
    from orchestrator.core.writer import Writer


def problems(project: Project) -> list[Problem]:
    """Every problem in the project, by file and line: what the files' own checks find
    (board.problems) and what cleanup's checks find that those do not say already (the
    same file and field)."""
    from orchestrator.core.board import problems as file_problems
    from orchestrator.core.cleanup import findings

    found = file_problems(project)
    said = {(p.path, p.field) for p in found}
    with project.reading() as db:
        found += [
            Problem(f["path"], f["problem"], field=f["field"], severity=f["severity"],
                    fix=f"{f['action']} (cleanup does it{' when asked' if f['on_request'] else ''})")
            for f in findings(project, db)
            if (f["path"], f["field"]) not in said
        ]  # fmt: skip
    return sorted(found, key=lambda p: (p.path, p.line or 0, p.message))


def fix(project: Project) -> list[str]:
    """Repair what is safe to repair; returns one line per change made."""
    from orchestrator.core.views import regenerate

    changed: list[str] = []
    with project.writing("fix") as w:
        # Duplicates first: the copy that loses is the one whose frontmatter disagrees
        # with its place, which fixing fields first would hide.
        for (path,) in w.db.rows(
            "SELECT DISTINCT path FROM problems WHERE source = 'duplicate' ORDER BY path"
        ):
            _renumber(w, path, changed)
        w.sync()
        _fix_fields(w, changed)
        w.sync()
        _fix_regions(w, changed)
        w.sync()
        finish_creating_sessions(w, changed)
        before = set(w.written)
        regenerate(w, {r[0] for r in w.db.rows("SELECT session_id FROM sessions")})
        w.sync()
        for rel in sorted(set(w.written) - before):
            changed.append(f"{rel}: view regenerated")
    return changed


def finish_creating_sessions(w: Writer, changed: list[str]) -> None:
    """Finish the sessions a create left `creating` (killed before it ended): committed
    with this repair, active, or paused if another session is active now (the create's
    own rule: sessions.finish_creating)."""
    for row in w.db.records(
        f"SELECT * FROM sessions WHERE status = '{CREATING}' ORDER BY created_at, session_id"
    ):
        try:
            done = finish_creating(w, row)
        except RecordError:
            continue  # unreadable since: its own problem comes first
        changed.append(
            f"{done['markdown_file_path']}: finished creating session {done['session_id']}"
            f" ({done['status']})"
        )


def _fix_fields(w: Writer, changed: list[str]) -> None:
    wanted: dict[str, dict[str, list[str]]] = {}
    roles: dict[str, RecordRole] = {}
    for row in w.db.records(
        "SELECT path, field, message FROM problems WHERE field IS NOT NULL ORDER BY path, line"
    ):
        role = w.layout.classify(row["path"])
        if not isinstance(role, RecordRole):  # not a file orch reads, or a mode
            continue
        roles[row["path"]] = role
        if row["field"] in derived_fields(role.kind) and "computed by orch" in row["message"]:
            wanted.setdefault(row["path"], {}).setdefault("derived", []).append(row["field"])
        elif (
            row["field"] in (ID_KEY[role.kind], "session_id") and "does not match" in row["message"]
        ):
            wanted.setdefault(row["path"], {}).setdefault("identity", []).append(row["field"])
    for path, actions in wanted.items():
        role = roles[path]
        try:
            record = w.load(role.kind, role.session_dir, role.record_id)
        except RecordError:
            continue  # unreadable: its own problem comes first
        for key in actions.get("derived", []):
            record.meta.pop(key, None)
        try:
            w.save(record)  # loading set the identity fields from the file's place
        except RecordError as error:  # still broken after the repair: left as it is
            changed.append(f"{path}: not repaired, as it would stay broken: {error}")
            continue
        if actions.get("derived"):
            changed.append(f"{path}: removed {', '.join(actions['derived'])} (computed by orch)")
        for key in actions.get("identity", []):
            changed.append(f"{path}: set {key} to {record.meta[key]} (from the file's place)")


def _renumber(w: Writer, path: str, changed: list[str]) -> None:
    """Give the losing copy of a duplicated id a new id, and carry its references."""
    role = w.layout.classify(path)
    if not isinstance(role, RecordRole) or role.kind not in ("task", "group"):
        return
    kind, session_id, old = role.kind, role.session_dir, role.record_id
    try:
        record = w.load(kind, session_id, old)
    except RecordError:
        return
    new = w.new_id(kind)
    renamed = Record(kind, {**record.meta, ID_KEY[kind]: new}, record.body, newline=record.newline)
    stamp = now()
    if kind == "task":
        renamed.meta["last_updated_at"] = stamp
    w.save(renamed)
    w.delete(record)
    refs = _references(w, kind, session_id, old)
    for ref_kind, ref_id, keys in refs:
        other = w.load(ref_kind, session_id, ref_id, broken_ok=True)
        for key in keys:
            value = other.meta.get(key)
            if isinstance(value, list):
                other.meta[key] = [new if v == old else v for v in value]
            elif value == old:
                other.meta[key] = new
        if ref_kind == "task":
            other.meta["last_updated_at"] = stamp
        w.save(other)
    moved = ""
    if kind == "task":
        folder = w.layout.session_dir(session_id) / "artifacts"
        if (folder / old).is_dir() and not (folder / new).exists():
            real_folder(folder / old, w.layout.base, create=False)  # moved, not followed
            files = [w.layout.rel(p) for p in sorted((folder / old).rglob("*")) if p.is_file()]
            shutil.move(folder / old, folder / new)
            w.track(files + [f.replace(f"/artifacts/{old}/", f"/artifacts/{new}/") for f in files])
            moved = "; its artifacts moved along"
    changed.append(
        f"{path}: {kind} id {old} was also another file's: renumbered {new},"
        f" {len(refs)} reference(s) in session {session_id} rewritten{moved}"
    )


def _references(
    w: Writer, kind: str, session_id: str, old: str
) -> list[tuple[str, str, list[str]]]:
    """(kind, id, keys) of the records of a session that name `old`, read from the
    session's files (copies that lost a duplicate are not in the index)."""
    keys = (
        ("depends_on", "related_tasks", "parent_task_id")
        if kind == "task"
        else ("group_id", "parent_group_id")
    )
    found = []
    folder = w.layout.session_dir(session_id)
    for sub, ref_kind in (("tasks", "task"), ("groups", "group")):
        for path in sorted((folder / sub).glob("*.md")):
            if path.stem == old or path.name.startswith("."):
                continue
            try:
                record = w.load(ref_kind, session_id, path.stem)
            except RecordError:
                continue
            named = [
                key
                for key in keys
                if record.meta.get(key) == old
                or (isinstance(record.meta.get(key), list) and old in record.meta[key])
            ]
            if named:
                found.append((ref_kind, path.stem, named))
    return found


def _fix_regions(w: Writer, changed: list[str]) -> None:
    from orchestrator.store.session_view import without_broken_regions

    for (path,) in w.db.rows(
        "SELECT DISTINCT path FROM problems WHERE message LIKE 'session view:%' ORDER BY path"
    ):
        role = w.layout.classify(path)
        if not isinstance(role, RecordRole):
            continue
        try:
            record = w.load("session", role.session_dir, role.record_id)
        except (RecordError, AttributeError):
            continue
        body = without_broken_regions(record.body)
        if body == record.body:
            continue
        try:
            w.save(record, text=w.with_body(record, body))
        except RecordError as error:  # still broken after the repair: left as it is
            changed.append(f"{path}: not repaired, as it would stay broken: {error}")
            continue
        changed.append(f"{path}: dropped the markers of broken view regions (their lines stay)")
