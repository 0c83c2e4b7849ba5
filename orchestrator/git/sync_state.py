"""markdown_sync_state: per record file of a session, when it last synced each way and
whether it is synchronized, waiting for its commit (db_newer: orch wrote it; md_newer:
edited outside), or holds a merge conflict."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from orchestrator.git.commits import Entry
from orchestrator.layout import Layout
from orchestrator.model import now

if TYPE_CHECKING:
    from orchestrator.index.engine import IndexDB

SYNCHRONIZED = "synchronized"
MD_NEWER = "md_newer"
DB_NEWER = "db_newer"
CONFLICT = "conflict"


def mark_synced(
    db: IndexDB, layout: Layout, entries: list[Entry], committed: bool, outside: Collection[str]
) -> None:
    """Record, per record file of a session, the sync just made (or pending). `outside`:
    the ops of these entries that took a change from the files (md to db)."""
    rows: dict[str, tuple[str, str, bool]] = {}  # path -> (session, direction, committed)
    resolutions = {p: e.resolution for e in entries for p in e.paths if e.resolution}
    for entry in entries:
        direction = "md" if entry.op in outside else "db"
        for rel in entry.paths:
            role = layout.classify(rel)
            if role is not None and role.session_dir is not None:
                rows[rel] = (role.session_dir, direction, committed)
    if not rows:
        return
    paths = list(rows)
    hashes = dict(
        db.rows_in("SELECT path, content_hash FROM file_signatures WHERE path IN ({in})", paths)
    )
    conflicted = {
        r[0]
        for r in db.rows_in(
            "SELECT DISTINCT path FROM problems WHERE severity = 'conflict' AND path IN ({in})",
            paths,
        )
    }
    old = {
        r["sync_id"]: r
        for r in db.query_in("SELECT * FROM markdown_sync_state WHERE sync_id IN ({in})", paths)
    }
    stamp = now()
    new_rows = []
    for rel, (session_id, direction, done) in rows.items():
        digest = hashes.get(rel)
        if digest is None:
            continue  # the file is gone: its row goes
        row: dict[str, Any] = dict(old.get(rel) or {})
        row.update(sync_id=rel, session_id=session_id, markdown_file_path=rel)
        row["md_content_hash"] = digest
        row["db_content_hash"] = digest
        row["last_file_modification"] = stamp
        row["last_md_to_db_sync" if direction == "md" else "last_db_to_md_sync"] = stamp
        if rel in conflicted:
            status = CONFLICT
        elif done:
            status = SYNCHRONIZED
        else:
            status = MD_NEWER if direction == "md" else DB_NEWER
        row["sync_status"] = status
        if resolutions.get(rel):
            row["last_conflict_resolution"] = f"{resolutions[rel]} {stamp}"
        row.setdefault("file_monitor_active", True)
        new_rows.append(row)
    columns = db.columns("markdown_sync_state")
    with db.transaction():
        db.execute_in("DELETE FROM markdown_sync_state WHERE sync_id IN ({in})", paths)
        db.insert_rows(
            "markdown_sync_state", columns, [[r.get(c) for c in columns] for r in new_rows]
        )
