"""The Writer: what `with project.writing(op) as w` hands out. It reads records from their
files, writes them atomically (merging an editor's save that lands in between), keeps the
index up to date with what it wrote, and commits it as one sync when the block ends
(ARCHITECTURE.md, "The path of one write").
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.errors import Hint, OrchError, RecordError, Said
from orchestrator.git.commits import Change, Entry
from orchestrator.index.broken import breaking
from orchestrator.index.engine import (
    IndexDB,
)
from orchestrator.index.refresh import Indexer
from orchestrator.layout import FileRole
from orchestrator.model import CONFLICT_KEY, ID_KEY, Record, new_id
from orchestrator.store.files import (
    blob_id,
    read_held,
    real_folder,
    remove_checked,
    replace_checked,
    write_atomic,
)
from orchestrator.store.record_file import (
    load_yaml,
    normalize,
    parse_record,
    render_record,
    split_frontmatter,
)

if TYPE_CHECKING:
    from orchestrator.core.project import Project

# How many times a save is merged again with an editor's save that landed in the instant
# before orch's rename (each round is a fraction of a millisecond; no editor saves faster).
SAVE_ROUNDS = 100
# How long a save waits for an empty record file to be written (an editor's in-place save
# truncates first): seconds between looks.
EMPTY_WAITS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.4)
SHOWN_FIELDS = ("task_id", "session_id", "title", "status", "group_id", "parent_task_id",
                "specialist_type", "estimated_effort", "actual_effort", "created_at")  # fmt: skip


def loaded_path(record: Record) -> Path:
    """The file a record was loaded from (a record made in memory has none yet)."""
    if record.path is None:
        raise ValueError(f"{record.kind} {record.id} was not loaded from a file")
    return record.path


def shown(record: Record) -> tuple:
    return tuple(record.meta.get(key) for key in SHOWN_FIELDS)


class Writer:
    """Reads and writes record files for one operation, under the project lock."""

    def __init__(self, project: Project, db: IndexDB, op: str):
        self.project, self.db, self.layout, self.op = project, db, project.layout, op
        self.written: list[str] = []
        self.changes: list[Change] = []  # the records written, for the commit message
        self.notes: list[str] = []  # said in the commit message's body
        self._read: dict[Path, tuple[str, str]] = {}  # path -> (blob id, text) a change is based on
        # rel -> the bytes this writer last wrote there (None: it deleted the file): what its
        # commit must hold, whatever an editor saves before the commit is made.
        self.wrote: dict[str, bytes | None] = {}
        # rel -> an editor's save this writer built on that history does not hold (merged
        # in, or saved just before the load): named in the commit (Orch-Merged).
        self.saves: dict[str, bytes] = {}
        # rel -> what the file held before this writer first wrote it (None: no file),
        # for `discard` to put back.
        self._before: dict[str, bytes | None] = {}
        self._synced = 0  # how many of `written` are indexed
        self.resolution: str | None = None  # the strategy, when this sync settles a conflict
        self._intended = 0  # how many files the intent on disk names
        # The sessions whose session.md view this writer's changes may alter, and what a
        # loaded task showed in its view (see `shown`).
        self.views: set[str] = set()
        self._shown: dict[Path, tuple] = {}
        self._broken: dict[Path, FileRole] = {}  # loaded broken: saved only once mended
        # Thousands of new files (an import): written without an fsync each, and all
        # flushed to disk at once before the commit.
        self.bulk = False

    def new_id(self, kind: str) -> str:
        """A random id that no file of the project has (8 hex digits rarely collide; a
        collision is checked for all the same)."""
        while True:
            record_id = new_id(kind)
            taken = self.db.scalar(
                "SELECT count(*) FROM file_signatures WHERE record_id = ?", [record_id]
            )
            if not taken and not (
                kind == "session" and self.layout.session_dir(record_id).exists()
            ):
                return record_id

    def path_of(self, kind: str, session_id: str, record_id: str) -> Path:
        return self.layout.record_path(kind, session_id, record_id)

    def load(self, kind: str, session_id: str, record_id: str, broken_ok: bool = False) -> Record:
        """A record as its file has it now (not as the index remembers it). A file that
        parses but is broken (no title, a bad value: an error of its own) loads, but
        `save` refuses to write it still broken: what orch saves it commits, and a broken
        record stays out of orch's commits until it is fixed. An operation that fixes it
        (a new value for the bad field) is saved. `broken_ok`: saved as it is all the same
        (the doctor's rewrite of the references to an id it renumbered). A record only
        read, or deleted, is never checked."""

        path = self.path_of(kind, session_id, record_id)
        rel = self.layout.rel(path)
        role = FileRole(kind, record_id, session_id)
        waits, previous = iter(EMPTY_WAITS), None
        while True:
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                raise RecordError(
                    f"{rel} is gone (deleted since the index was read?); run the command again"
                ) from None
            parsed = parse_record(kind, data.decode("utf-8", errors="replace"), rel, role)
            # A file that does not parse may be an editor's in-place save caught half-way:
            # looked at again while it keeps changing.
            wait = next(waits, None)
            if parsed.record is not None or data == previous or wait is None:
                break
            previous = data
            time.sleep(wait)
        if parsed.record is None:
            problem = parsed.problems[0]
            raise RecordError(
                f"cannot change {problem}; fix the file first (the doctor lists every problem)",
                hint=Hint("doctor"),
            )
        self._read[path] = (blob_id(data), data.decode("utf-8", errors="replace"))
        self._note_unseen(rel, data)
        if not broken_ok and breaking(parsed.problems):
            self._broken[path] = role
        else:
            self._broken.pop(path, None)
        parsed.record.path = path
        if kind == "task":
            self._shown[path] = shown(parsed.record)
        return parsed.record

    def _note_unseen(self, rel: str, data: bytes) -> None:
        """A file saved in the instant after this command's refresh (the index has not
        seen it) is a version history never holds: the commit names it (see saves), for
        a later save from the same editor buffer to find its base."""
        if rel in self.saves or rel in self.wrote:
            return
        seen = self.db.scalar("SELECT content_hash FROM file_signatures WHERE path = ?", [rel])
        if seen is not None and seen != blob_id(data):
            self.saves[rel] = data

    def load_raw(self, kind: str, session_id: str, record_id: str) -> Record:
        """A record file orch cannot parse (conflict markers in its frontmatter), as a
        bare record to `save` whole new text over."""
        path = self.path_of(kind, session_id, record_id)
        data = path.read_bytes()
        self._read[path] = (blob_id(data), data.decode("utf-8", errors="replace"))
        meta = {ID_KEY[kind]: record_id, "session_id": session_id}
        return Record(kind, meta, path=path)

    def text_of(self, record: Record) -> str:
        """The text of a loaded record's file, as it was loaded."""
        return self._read[loaded_path(record)][1]

    def with_body(self, record: Record, body: str) -> str:
        """A loaded record's file text with its body replaced: the frontmatter stays as
        written (comments, quoting, key order), not rendered again."""
        text = self.text_of(record)
        return text[: len(text) - len(record.body)] + body

    def save(
        self, record: Record, text: str | None = None, counted: bool = True, verb: str | None = None
    ) -> None:
        """Write a loaded (or new) record atomically (`text`: the file's whole new text,
        if not the record rendered). If the file changed since it was loaded (an editor
        saved it meanwhile, even in the instant before orch's rename), the change is
        three-way merged with that edit instead of overwriting it: both are kept, and
        fields both changed are recorded as a conflict in the file. `counted=False`: a
        regenerated view, not a change the commit message names. `verb`: what the commit
        says was done to this record, when not the operation's own (a pause by a create)."""
        path = record.path or self.path_of(record.kind, record.meta["session_id"], record.id)
        rel = self.layout.rel(path)
        based: tuple[str | None, str | None] = self._read.get(path, (None, None))
        base_blob, base_text = based
        if text is None:
            self._settle_conflicts(record, base_text)
        ours = render_record(record) if text is None else text
        if path in self._broken:
            self._refuse_still_broken(record.kind, ours, rel, self._broken[path])
            del self._broken[path]  # mended by this save
        self._intend(rel, counted)
        new_text, data = ours, b""
        for _round in range(SAVE_ROUNDS):
            held, current = self._read_settled(path, rel, base_blob)
            self._before.setdefault(rel, current)
            try:
                if current is None and base_blob is not None:
                    raise RecordError(
                        f"{rel} was deleted while orch was updating it; nothing was written"
                    )
                if current is not None and base_blob is None:
                    raise RecordError(
                        f"{rel} already exists; nothing was written — run the command again"
                    )
                new_text = ours
                if current is not None and blob_id(current) != base_blob:
                    # An editor saved since orch read the file: the operation's change goes
                    # onto what it saved.
                    new_text = self._merge(
                        rel, base_text or "", ours, current.decode("utf-8", "replace")
                    )
                    self._shown.pop(path, None)  # merged: what the file shows is not known here
                data = new_text.encode("utf-8")
            except BaseException:
                if held is not None:
                    os.close(held)
                raise
            try:
                other = replace_checked(
                    path, data, held, current, durable=not self.bulk, within=self.layout.base
                )
            except FileNotFoundError:
                raise RecordError(
                    f"{rel} was deleted while orch was updating it; nothing was written"
                ) from None
            except IsADirectoryError:
                raise RecordError(f"{rel} is not a file now; nothing was written") from None
            if other is None:
                break
            # A save landed between the check and the rename: it stands, and the next
            # round merges the operation's change onto it.
        else:
            raise RecordError(
                f"{rel} kept changing while orch wrote it; nothing was written — run the"
                " command again"
            )
        record.path = path
        self._read[path] = (blob_id(data), new_text)
        self.wrote[rel] = data
        self.written.append(rel)
        if text is not None:
            self._shown.pop(path, None)  # text given whole: its fields may not be the record's
        if counted:
            self._note_view(record, path)
            self.changes.append(
                Change(
                    record.kind,
                    record.id,
                    record.meta.get("session_id"),
                    record.title,
                    rel,
                    verb or "",
                )
            )

    def broken(self, record: Record) -> bool:
        """Whether a loaded record's file is broken (see `load`): a view is not
        regenerated into it."""
        return loaded_path(record) in self._broken

    @staticmethod
    def _refuse_still_broken(kind: str, text: str, rel: str, role: FileRole) -> None:
        """Refuse to write a record that was broken when loaded and still is (the
        operation did not mend what is wrong): it would be committed as orch's."""
        still = breaking(parse_record(kind, text, rel, role).problems)
        if still:
            raise RecordError(
                f"cannot change {still[0]}; fix the file first (the doctor lists every problem)",
                hint=Hint("doctor"),
            )

    def _read_settled(self, path: Path, rel: str, base_blob: str | None):
        """`read_held` of a record file, waiting a moment while it is empty: an editor
        that saves in place truncates it first, and a merge with an empty file would
        drop what it is about to write."""
        waits = iter(EMPTY_WAITS)
        while True:
            held, current = read_held(path, self.layout.base)
            if current != b"" or base_blob is None or held is None:
                return held, current
            os.close(held)
            wait = next(waits, None)
            if wait is None:
                raise RecordError(
                    f"{rel} is empty (an editor saving it?); nothing was written — run the"
                    " command again"
                )
            time.sleep(wait)

    def _note_view(self, record: Record, path: Path) -> None:
        """Count the record's session among those whose view to regenerate, unless the
        record is a task whose line and counts in the view stay as they were (a new
        priority, a description, results): its view then needs no rewrite, which at
        thousands of tasks is most of a small change's cost."""
        before = self._shown.get(path)
        if record.kind == "task":
            self._shown[path] = shown(record)
            if before == self._shown[path]:
                return
        self.views.add(record.meta["session_id"])

    def _intend(self, rel: str, counted: bool) -> None:
        """Note the intent before writing `rel` (see Syncer.intend). A bulk operation
        (an import of thousands of tasks) notes it, past 64 files, only each time the
        number of files doubles: a crash then leaves some files out of the intent, and
        those are committed as outside edits instead of under the operation's name."""
        if self.bulk and self._intended >= 64 and len(self.written) + 1 < 2 * self._intended:
            return
        named = [c.path for c in self.changes] + ([rel] if counted else [])
        self.project.syncer.intend(self.op, [*self.written, rel], named)
        self._intended = len(self.written) + 1

    def delete(self, record: Record) -> None:
        """Remove a loaded record's file (refused if it changed since it was loaded, even
        in the instant before the removal)."""
        path = loaded_path(record)
        rel = self.layout.rel(path)
        base_blob = self._read[path][0] if path in self._read else None
        self._intend(rel, True)
        held, current = read_held(path, self.layout.base)
        self._before.setdefault(rel, current)
        if held is not None and current is not None:
            found = current if blob_id(current) != base_blob else None
            if found is None:
                found = remove_checked(path, held, current, self.layout.base)
            else:
                os.close(held)
            if found is not None:
                raise RecordError(
                    f"{rel} was edited while orch was deleting it; nothing was deleted"
                )
        self._read.pop(path, None)
        self._shown.pop(path, None)
        self.views.add(record.meta["session_id"])
        self.written.append(rel)
        self.wrote[rel] = None
        self.changes.append(
            Change(record.kind, record.id, record.meta.get("session_id"), record.title, rel)
        )

    def write_file(self, path: Path, data: bytes) -> str:
        """Write a file that is not a record (an artifact) atomically into this sync;
        `path` must be inside the orchestrator folder, through real folders (a link on the
        way is refused, named). Returns it relative to the root."""
        real_folder(path.parent, self.layout.base)  # refuses a path out of it, or a link
        rel = self.layout.rel(path)
        if rel not in self._before:
            try:
                self._before[rel] = path.read_bytes()
            except FileNotFoundError:
                self._before[rel] = None
        self.track([rel])
        write_atomic(path, data, durable=not self.bulk, within=self.layout.base)
        self.wrote[rel] = data
        return rel

    def _settle_conflicts(self, record: Record, loaded: str | None) -> None:
        """A field the operation sets is no longer in conflict: drop its record (else a
        later `orch resolve` would bring back a value from before this change)."""
        recorded = record.meta.get(CONFLICT_KEY)
        if not isinstance(recorded, dict) or loaded is None:
            return
        try:
            before = normalize(load_yaml(split_frontmatter(loaded)[0]) or {})
        except Exception:
            return
        for key in list(recorded):
            if record.meta.get(key) != before.get(key):
                del recorded[key]
        if not recorded:
            del record.meta[CONFLICT_KEY]

    def _merge(self, rel: str, base: str, ours: str, theirs: str) -> str:
        # Only when an editor saved in between (start-up speed of every other write).
        from orchestrator.store.merge import merge_texts

        result = merge_texts(base, ours, theirs)
        self.saves[rel] = theirs.encode("utf-8")
        note = f"{rel} was edited while orch changed it: merged the two"
        if not result.clean:
            what = ", ".join(result.conflicts) or "the text"
            note += f"; both changed {what}, kept as a conflict (see the conflicts list)"
            self.project.warnings.append(Said(note, Hint("conflicts")))
        if note not in self.notes:  # once, however many rounds a racing save made
            self.notes.append(note)
        return result.text

    def track(self, rels: list[str]) -> None:
        """Count files written by other means (a config file, an attributes file) into
        this sync's commit."""
        self.written.extend(rels)
        self.project.syncer.intend(self.op, self.written, self.written)

    def sync(self) -> None:
        """Bring the index up to date with what this writer wrote (so far)."""
        if len(self.written) > self._synced:
            Indexer(self.layout, self.db).refresh(paths=self.written[self._synced :])
            self._synced = len(self.written)

    def commit(self) -> None:
        """Regenerate the views of the sessions this writer changed, then commit what it
        wrote as one sync."""
        if self.views:
            # Only when a view shows the change (a new priority rewrites none).
            from orchestrator.core.views import regenerate

            regenerate(self, self.views)
            self.sync()
        if self.written:
            if self.bulk:
                os.sync()  # what a bulk operation wrote without an fsync each, on disk now
            entry = Entry(
                self.op,
                list(dict.fromkeys(self.written)),
                self._unique_changes(),
                self.notes,
                resolution=self.resolution,
                raw={p: None if d is None else blob_id(d) for p, d in self.wrote.items()},
                merged=self.project.syncer.store_saves(self.saves) if self.saves else [],
            )
            self.project.syncer.record(self.db, entry, contents=self.wrote)
            self.written, self.changes, self.notes, self._synced = [], [], [], 0
            self.wrote, self.saves = {}, {}
            self._intended = 0
            self.views = set()

    def discard(self) -> list[str]:
        """Take back what this writer wrote, for an operation its caller gave up on
        (core/progress.py): a file it created is removed (and the folders that held only
        it), a file it changed or deleted gets back the bytes it had, the index follows,
        and nothing is committed. Returns what could not be taken back, in words.

        Nothing a person wrote is undone: a file someone changed since is left as they
        made it, and so is one into which this writer merged an editor's save (their
        edit is in it; the next command commits it). A save that lands while a file is
        put back stays (the swap hands it back, as `save` does). Files written by other
        means (`track`) are not taken back."""
        kept: list[str] = []
        for rel, before in self._before.items():
            path = self.layout.root / rel
            try:
                self._take_back(path, rel, before)
            except (OSError, OrchError) as e:
                kept.append(f"{rel}: {e}")
        taken_back = list(self._before)
        self.written, self.changes, self.notes, self._synced = [], [], [], 0
        self.wrote, self.saves, self._before = {}, {}, {}
        self.views = set()
        self._intended = 0
        if taken_back:
            Indexer(self.layout, self.db).refresh(paths=taken_back)
        return kept

    def _take_back(self, path: Path, rel: str, before: bytes | None) -> None:
        held, current = read_held(path, self.layout.base)
        if current != self.wrote.get(rel) or rel in self.saves:
            if held is not None:
                os.close(held)
            return
        if held is not None and current is not None and before is None:
            remove_checked(path, held, current, self.layout.base)
            self._prune(path.parent)
        elif before is not None:
            replace_checked(path, before, held, current, within=self.layout.base)
        elif held is not None:
            os.close(held)

    def _prune(self, folder: Path) -> None:
        """Remove `folder` and the folders above it while they are empty, up to the
        orchestrator folder (a link or a folder with anything in it stops it)."""
        base = self.layout.base
        while folder != base and folder.is_relative_to(base):
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    def _unique_changes(self) -> list[Change]:
        seen: dict[tuple[str, str], Change] = {}
        for change in self.changes:
            seen[(change.kind, change.record_id)] = change  # the last title wins
        return list(seen.values())
