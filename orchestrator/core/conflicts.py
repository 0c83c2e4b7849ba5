"""Merge conflicts: list them, settle them.

A three-way merge (store/merge.py) that finds a field both sides changed keeps ours and
records both under `orch_conflict` in the file; lines both changed get diff3 markers in
the body. The index reports each as a problem of severity `conflict`, so they show in
`orch status`, `orch doctor` and `orch conflicts` until resolved.

The strategies are the spec's, in file-first terms: `db_wins` keeps ours (what orch had
committed, or the branch merged into), `md_wins` keeps theirs (the editor's save, or the
branch merged in), `merge` keeps the merged text with each conflicting field chosen.
"""

from __future__ import annotations

import contextlib
from typing import Any

from orchestrator.core.project import Project
from orchestrator.errors import InvalidInput, NotFound, RecordError

STRATEGIES = {"db_wins": "ours", "md_wins": "theirs", "merge": "merge"}


def list_conflicts(project: Project) -> list[dict[str, Any]]:
    """One entry per record in conflict: its id, file, conflicting fields, and whether
    its text has conflict markers."""
    with project.reading() as db:
        rows = db.records(
            "SELECT path, line, field, message, record_id FROM problems"
            " WHERE severity = 'conflict' ORDER BY path, line"
        )
    found: dict[str, dict[str, Any]] = {}
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
        entry["details"].append(f"{where}: {row['message']}")
    return list(found.values())


def resolve(
    project: Project, ref: str, strategy: str, picks: dict[str, str] | None = None
) -> dict[str, Any]:
    """Settle the conflicts of one record and commit the result."""
    from orchestrator.store.merge import resolve_text
    from orchestrator.store.record_file import load_yaml, split_frontmatter

    if strategy not in STRATEGIES:
        raise InvalidInput(f"unknown strategy {strategy!r}: use {', '.join(STRATEGIES)}")
    if picks and strategy != "merge":
        raise InvalidInput("--pick goes with --strategy merge")
    conflicts = list_conflicts(project)
    matches = [c for c in conflicts if c["record_id"] and c["record_id"].startswith(ref)]
    if not matches:
        listed = ", ".join(c["record_id"] or c["path"] for c in conflicts) or "none"
        raise NotFound(f"no merge conflict in {ref!r} (records in conflict: {listed})")
    if len(matches) > 1:
        raise InvalidInput(
            f"{ref!r} matches {len(matches)} records in conflict: "
            + ", ".join(c["record_id"] for c in matches)
        )
    conflict = matches[0]
    role = project.layout.classify(conflict["path"])
    with project.writing("resolve") as w:
        try:
            record = w.load(role.kind, role.session_dir, role.record_id)
        except RecordError:  # markers in the frontmatter: settled as text
            record = w.load_raw(role.kind, role.session_dir, role.record_id)
        text = w.text_of(record)
        w.resolution = strategy
        settled = resolve_text(text, STRATEGIES[strategy], picks or {})
        with contextlib.suppress(Exception):  # only for the commit message: the title now
            record.meta.update(load_yaml(split_frontmatter(settled)[0]) or {})
        w.save(record, text=settled)
    return {**conflict, "strategy": strategy, "commit": (project.syncer.commits or [None])[-1]}
