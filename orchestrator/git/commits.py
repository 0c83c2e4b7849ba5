"""What a sync commits: the records an operation changed and the message naming them.

An entry waits in `.index/pending.json` (commit: batch, or a commit git refused) until
the syncer commits it; the message says what happened in its subject and names every
record in trailers (`git log --format=%(trailers)`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from orchestrator.layout import Layout
from orchestrator.model import ID_KEY, TABLE, TITLE_KEY
from orchestrator.store.files import blob_id

if TYPE_CHECKING:
    from orchestrator.index.engine import IndexDB

TITLE_WIDTH = 50  # of a title quoted in a commit subject
TRAILER = {"session": "Orch-Session", "group": "Orch-Group", "task": "Orch-Task"}
MERGE_OP = "merge"  # the sync of a stale buffer merged with the newest version
DELETE_OP = "delete"  # the sync of files deleted outside orch


@dataclass
class Change:
    """A record an operation changed."""

    kind: str
    record_id: str
    session_id: str | None = None
    title: str = ""
    path: str = ""  # the record's file, relative to the project root
    verb: str = ""  # what was done to it, when not the operation's own (a pause by a create)


@dataclass
class Entry:
    """One sync: what an operation (or an outside edit) changed, waiting for its commit."""

    op: str
    paths: list[str]  # relative to the project root
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    resolution: str | None = None  # the strategy, if this sync settled a conflict
    blobs: dict[str, str] = field(default_factory=dict)  # path -> git's blob written, while pending
    # path -> blob_id of the bytes orch wrote (None: it deleted the file): what the commit
    # holds, whatever an editor saved over the file before it was made.
    raw: dict[str, str | None] = field(default_factory=dict)
    # Blobs of editor saves as they were before this sync merged them in (trailer
    # Orch-Merged): versions a later save from the same buffer may have started from.
    merged: list[str] = field(default_factory=list)
    at_ns: int = field(default_factory=time.time_ns)

    def subject(self) -> str:
        if len(self.changes) == 1 or any(c.verb for c in self.changes):
            # Each record with what was done to it: "create s-2 "B", pause s-1 "A"".
            return "orch: " + ", ".join(self._done(c) for c in self.changes)
        if self.changes:
            counts: dict[str, int] = {}
            for c in self.changes:
                counts[c.kind] = counts.get(c.kind, 0) + 1
            what = ", ".join(f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in counts.items())
            return f"orch: {self.op} {what}"
        if len(self.paths) == 1:
            return f"orch: {self.op} {self.paths[0]}"
        return f"orch: {self.op} {len(self.paths)} files"

    def _done(self, c: Change) -> str:
        title = " ".join(c.title.split()).replace('"', "'")
        if len(title) > TITLE_WIDTH:
            title = title[: TITLE_WIDTH - 3].rstrip() + "..."
        verb = c.verb or self.op
        return f'{verb} {c.record_id} "{title}"' if title else f"{verb} {c.record_id}"


def message(entries: list[Entry]) -> str:
    """A commit message: a subject saying what happened, notes, then trailers
    (`git log --format=%(trailers)`) naming the operation and every record touched."""
    if len(entries) == 1:
        subject = entries[0].subject()
    else:
        ops = ", ".join(dict.fromkeys(e.op for e in entries))
        subject = f"orch: {len(entries)} syncs ({ops})"
    body = []
    if len(entries) > 1:  # each once: a file edited twice in a batch is one line
        body += list(dict.fromkeys(e.subject() for e in entries))
    body += [note for e in entries for note in e.notes]
    trailers = [f"Orch-Op: {op}" for op in dict.fromkeys(e.op for e in entries)]
    trailers += [f"Orch-Merged: {b}" for b in dict.fromkeys(b for e in entries for b in e.merged)]
    sessions = dict.fromkeys(
        c.session_id for e in entries for c in e.changes if c.session_id is not None
    )
    trailers += [f"Orch-Session: {s}" for s in sessions]
    for kind in ("group", "task"):
        ids = dict.fromkeys(c.record_id for e in entries for c in e.changes if c.kind == kind)
        trailers += [f"{TRAILER[kind]}: {i}" for i in ids]
    parts = [subject, "\n".join(body), "\n".join(trailers)]
    return "\n\n".join(p for p in parts if p) + "\n"


def changes_for(
    layout: Layout,
    db: IndexDB,
    rels: list[str],
    gone: dict[str, tuple[str | None, str]] | None = None,
) -> list[Change]:
    """The records behind some record files, with their titles from the index (or, for
    a file deleted, from `gone`: path -> (session, title) the index had)."""
    by_kind: dict[str, list[str]] = {}
    paths: dict[str, list[str]] = {}
    for rel in rels:
        role = layout.classify(rel)
        if role is not None and role.kind in TABLE:
            by_kind.setdefault(role.kind, []).append(role.record_id)
            paths.setdefault(role.kind, []).append(rel)
    changes = []
    for kind, ids in by_kind.items():
        id_key, title_key = ID_KEY[kind], TITLE_KEY[kind]
        session = "session_id" if kind != "session" else f"{id_key} AS session_id"
        rows = {
            r[id_key]: r
            for r in db.query_in(
                f"SELECT {id_key}, {title_key}, {session} FROM {TABLE[kind]}"
                f" WHERE {id_key} IN ({{in}})",
                ids,
            )
        }
        for record_id, rel in zip(ids, paths[kind], strict=True):
            row = rows.get(record_id)
            if row is not None:
                session_id, title = row["session_id"], row[title_key] or ""
            else:
                session_id, title = (gone or {}).get(rel, (None, ""))
            changes.append(Change(kind, record_id, session_id, title))
    return changes


def outside_entries(
    layout: Layout,
    db: IndexDB,
    op: str,
    paths: list[str],
    fresh: list[str],
    contents: dict[str, bytes | None],
    gone: dict[str, tuple[str | None, str]] | None = None,
) -> list[Entry]:
    """The syncs of changes made outside orch, committed together: the files changed
    (`op`), then the files deleted (a sync of their own, but on the first commit of a
    project's files), each holding `contents` (path -> the bytes, None: deleted). `gone`:
    (session, title) of deleted records, as the index had them."""
    # A session.md that was not among the edits is its view, regenerated.
    edited = set(fresh)  # a set: `fresh` may name 100,000 files (the first commit)
    named = {p for p in paths if p in edited or not p.endswith("/session.md")}
    deleted = set()
    if op in ("edit", MERGE_OP):
        deleted = {p for p in paths if p in contents and contents[p] is None}
    entries = []
    for group, group_op in (
        ([p for p in paths if p not in deleted], op),
        (sorted(deleted), DELETE_OP),
    ):
        if group:
            entry = Entry(
                group_op, group, changes_for(layout, db, [p for p in group if p in named], gone)
            )
            entry.raw = {p: None if (d := contents[p]) is None else blob_id(d)
                         for p in group if p in contents}  # fmt: skip
            entries.append(entry)
    return entries
