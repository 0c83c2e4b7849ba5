"""What a sync commits: the records an operation changed and the message naming them.

An entry waits in `.index/pending.json` (commit: batch, or a commit git refused) until
the syncer commits it; the message says what happened in its subject and names every
record in trailers (`git log --format=%(trailers)`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

TITLE_WIDTH = 50  # of a title quoted in a commit subject
TRAILER = {"session": "Orch-Session", "group": "Orch-Group", "task": "Orch-Task"}


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
    if len(entries) > 1:
        body += [e.subject() for e in entries]
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
