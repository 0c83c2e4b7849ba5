"""Merge conflicts: list them, settle them.

A three-way merge (store/merge.py) that finds a field both sides changed keeps ours and
records both under `orch_conflict` in the file; lines both changed get diff3 markers in
the body. The index reports each as a problem of severity `conflict`, so they show in
`orch status`, `orch doctor` and `orch conflicts` until resolved.

The strategies are the spec's, in file-first terms: `db_wins` keeps ours (what orch had
committed, or the branch merged into), `md_wins` keeps theirs (the editor's save, or the
branch merged in), `merge` keeps the merged text with each conflicting field chosen.

After `orch sync --remote`, ours is this clone's value and theirs the remote's, in every
clone: the merge names the clone that made it (its id in git's config, `orch.clone`),
and a clone that receives the merged file sees its sides swapped (store/merge.py).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from orchestrator.core import lookup
from orchestrator.core.project import Project
from orchestrator.errors import InvalidInput, NotFound, RecordError
from orchestrator.model import CONFLICT_CLONE_KEY, CONFLICT_KEY, conflict_text

STRATEGIES = {"db_wins": "ours", "md_wins": "theirs", "merge": "merge"}
CLONE_CONFIG = "orch.clone"  # this clone's id, in the repository's own git config


def clone_id(project: Project, create: bool = False) -> str | None:
    """This clone's id (made if missing and `create`): it names the clone in the
    conflicts its `orch sync --remote` merges record. None without git."""
    repo = project.syncer.repo()
    if repo is None:
        return None
    done = repo.run("config", "--get", CLONE_CONFIG, check=False)
    found = done.stdout.decode().strip()
    if found or not create:
        return found or None
    made = f"c-{os.urandom(4).hex()}"
    repo.run("config", CLONE_CONFIG, made)
    return made


def list_conflicts(project: Project) -> list[dict[str, Any]]:
    """One entry per record in conflict: its id, file, conflicting fields, and whether
    its text has conflict markers. Ours and theirs are as this clone sees them."""
    with project.reading() as db:
        rows = db.records(
            "SELECT path, line, field, message, record_id FROM problems"
            " WHERE severity = 'conflict' ORDER BY path, line"
        )
    from orchestrator.store.merge import oriented

    found: dict[str, dict[str, Any]] = {}
    recorded: dict[str, dict] = {}  # path -> its orch_conflict
    clone: list[str | None] = []  # this clone's id, once needed
    for row in rows:
        role = project.layout.classify(row["path"])
        entry = found.setdefault(
            row["path"],
            {
                "record_id": row["record_id"] or (role.record_id if role else None),
                "kind": role.kind if role else None,
                "path": row["path"],
                "fields": [],
                "text_conflict": False,
                "details": [],
            },
        )
        if row["field"]:
            entry["fields"].append(row["field"])
        else:
            entry["text_conflict"] = True
        where = f"{row['path']}:{row['line']}" if row["line"] else row["path"]
        message = row["message"]
        if row["field"]:
            if row["path"] not in recorded:
                recorded[row["path"]] = _recorded(project, row["path"])
            sides = recorded[row["path"]].get(row["field"])
            if isinstance(sides, dict) and sides.get(CONFLICT_CLONE_KEY):  # from a remote sync
                if not clone:
                    clone.append(clone_id(project))
                sides = oriented(sides, clone[0])
                message = (
                    conflict_text(
                        row["field"], sides.get("ours"), sides.get("theirs"), sides.get("base")
                    )
                    + " (ours: this clone's value; theirs: the remote's)"
                )
        entry["details"].append(f"{where}: {message}")
    return list(found.values())


def _recorded(project: Project, rel: str) -> dict:
    """The orch_conflict mapping of a record file, by field name ({} if unreadable)."""
    from orchestrator.store.record_file import load_yaml, split_frontmatter

    try:
        text = (project.root / rel).read_text(encoding="utf-8")
        recorded = (load_yaml(split_frontmatter(text)[0]) or {}).get(CONFLICT_KEY)
    except Exception:
        return {}
    return {str(k): v for k, v in recorded.items()} if isinstance(recorded, dict) else {}


def resolve(
    project: Project, ref: str, strategy: str, picks: dict[str, str] | None = None
) -> dict[str, Any]:
    """Settle the conflicts of one record and commit the result."""
    from orchestrator.store.merge import resolve_text
    from orchestrator.store.record_file import load_yaml, split_frontmatter

    if strategy not in STRATEGIES:
        raise InvalidInput(f"unknown strategy {strategy!r}: use {', '.join(STRATEGIES)}")
    if picks and strategy != "merge":
        # No hint: the call that would succeed takes the picks too, which no hint carries.
        raise InvalidInput(f"picking fields goes with the merge strategy, not {strategy}")
    conflicts = list_conflicts(project)
    by_id = {c["record_id"]: c for c in conflicts if c["record_id"]}
    found = lookup.among(ref, by_id, "conflicting record")
    if found is None:
        listed = ", ".join(c["record_id"] or c["path"] for c in conflicts) or "none"
        raise NotFound(f"no merge conflict in {ref!r} (records in conflict: {listed})")
    conflict = by_id[found]
    role = project.layout.classify(conflict["path"])
    if role is None or role.session_dir is None:
        raise RecordError(f"{conflict['path']} is not a record orch can resolve")
    with project.writing("resolve") as w:
        try:
            record = w.load(role.kind, role.session_dir, role.record_id)
        except RecordError:  # markers in the frontmatter: settled as text
            record = w.load_raw(role.kind, role.session_dir, role.record_id)
        text = w.text_of(record)
        w.resolution = strategy
        settled = resolve_text(text, STRATEGIES[strategy], picks or {}, clone_id(project))
        with contextlib.suppress(Exception):  # only for the commit message: the title now
            record.meta.update(load_yaml(split_frontmatter(settled)[0]) or {})
        w.save(record, text=settled)
    commits = project.syncer.commits
    return {**conflict, "strategy": strategy, "commit": commits[-1] if commits else None}
