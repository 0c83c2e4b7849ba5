"""A project: its files, its settings, and a fresh index to answer from.

Reading: `with project.reading() as db` gives an index that reflects every file as it is
now (hand edits included); when nothing changed that costs a stat of each record file.
Writing: `with project.writing(op) as w` holds the project lock (one writer at a time across
processes), reads records from their files, writes them atomically, brings the index up
to date and commits the files it wrote (core/sync.py) before it returns.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.config import Config, load_config
from orchestrator.errors import LinkRefused, OrchError, RecordError
from orchestrator.index import signatures
from orchestrator.index.engine import (
    IndexDB,
    index_path,
    remove_database,
    remove_index_files,
    schema_version,
    storage_errors,
    storage_failure,
)
from orchestrator.index.refresh import Indexer, Report
from orchestrator.index.signatures import Plan
from orchestrator.layout import Layout, find_root
from orchestrator.model import CONFLICT_KEY, ID_KEY, Record, new_id
from orchestrator.store.files import (
    blob_id,
    read_held,
    real_folder,
    remove_checked,
    replace_checked,
    write_atomic,
)

# Set for the processes orch starts while it holds the project lock (see Project.lock).
LOCK_HELD_ENV = "ORCH_LOCK_HELD"
if TYPE_CHECKING:
    from orchestrator.core.sync import Change

# How many times a save is merged again with an editor's save that landed in the instant
# before orch's rename (each round is a fraction of a millisecond; no editor saves faster).
SAVE_ROUNDS = 100
# How long a save waits for an empty record file to be written (an editor's in-place save
# truncates first): seconds between looks.
EMPTY_WAITS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.4)
INDEX_GITIGNORE = "# orch's index is a cache rebuilt from the files: never commit it.\n*\n"


class Project:
    """One project root holding a .task_orchestrator/ folder."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self.layout = Layout(root)
        # Things a person should hear about that did not stop the command.
        self.warnings: list[str] = []
        self._config: Config | None = None
        self._db: IndexDB | None = None  # the open index, while reading or writing
        self._writer: Writer | None = None
        self._syncer = None
        self.refreshed = 0  # files the index re-read (or dropped) for this project object
        # Regenerate the views of sessions whose files were edited outside orch (the
        # watcher and `orch sync` do; a command only fixes a session.md edited itself,
        # and leaves the rest to the next change, to stay fast).
        self.follow_views = False
        self.monitor = None  # a change journal (watch_changes), for processes that stay up

    @classmethod
    def find(cls, root: str | os.PathLike | None = None, start: Path | None = None) -> Project:
        """The project at `root`, or the nearest one at or above `start` (the cwd)."""
        return cls(find_root(root, start))

    @property
    def config(self) -> Config:
        if self._config is None:
            index_dir = self.layout.index_dir
            # Not through a link: _ensure_index_dir refuses one before anything is written.
            real = index_dir.is_dir() and not index_dir.is_symlink()
            cache = index_dir / "config.json" if real else None
            self._config = load_config(self.layout.config_file, cache)
            self.warnings.extend(self._config.warnings)
        return self._config

    @property
    def syncer(self):
        """What commits this project's changes to git (core/sync.py)."""
        if self._syncer is None:
            from orchestrator.core.sync import Syncer

            self._syncer = Syncer(self)
        return self._syncer

    # -- the index -------------------------------------------------------------------

    @contextmanager
    def lock(self, exclusive: bool = True) -> Iterator[None]:
        """The project lock: exclusive for writers; DuckDB readers take it shared because
        DuckDB refuses to open a file another process is writing. A process started
        while orch holds it (a git hook run by `orch sync --remote`'s merge) finds
        LOCK_HELD_ENV naming the project and goes on without it, instead of waiting
        for its parent forever."""
        if os.environ.get(LOCK_HELD_ENV) == str(self.root):
            yield
            return
        self._ensure_index_dir()
        lock_file = self.layout.index_dir / "lock"
        try:
            fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
        except OSError as error:
            if error.errno != errno.ELOOP:
                raise
            raise LinkRefused(
                f"{self.layout.rel(lock_file)} is a symbolic link: remove it (orch makes"
                " its lock file again)"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)

    def _ensure_index_dir(self) -> None:
        """Make the index folder if missing; refused if it is a file or a link (the index,
        the lock and orch's private git index would be written where it points)."""
        index_dir = self.layout.index_dir
        try:
            real_folder(index_dir, self.layout.base)
        except NotADirectoryError:
            raise OrchError(
                f"{self.layout.rel(index_dir)} is a file, but orch keeps its index in a folder"
                " of that name: move the file away (the index is rebuilt from the records)"
            ) from None
        ignore = index_dir / ".gitignore"
        if not ignore.exists():
            write_atomic(ignore, INDEX_GITIGNORE.encode(), durable=False, within=self.layout.base)

    @contextmanager
    def reading(self) -> Iterator[IndexDB]:
        """An index reflecting the files as they are now. Files that could not be read
        are left out of it, and said so in a warning. Nested in another reading or
        writing of this project, it shares that one's connection."""
        if self._db is not None:
            yield self._db
            return
        with self._open_fresh(write=False) as db, db.reading():
            # One read transaction: every query of the block sees the same state, even
            # while another process commits.
            unreadable = db.scalar("SELECT count(*) FROM file_signatures WHERE readable = FALSE")
            if unreadable:
                self.warnings.append(
                    f"{unreadable} file(s) could not be read and are left out; `orch doctor` lists them"
                )
            yield db

    @contextmanager
    def writing(self, op: str) -> Iterator[Writer]:
        """Hold the project lock with a fresh index; files written through the Writer are
        indexed and committed as one sync named `op` before this returns (and if the
        operation fails half-way, what it wrote is indexed and committed too: the files
        are the truth)."""
        if self._writer is not None:
            yield self._writer
            return
        if self._db is not None:
            raise RuntimeError("Project.writing() inside Project.reading(): open the writer first")
        self._refuse_mid_operation()
        with self._open_fresh(write=True) as db:
            writer = self._writer = Writer(self, db, op)
            try:
                yield writer
            finally:
                try:
                    writer.sync()
                    writer.commit()
                finally:
                    self._writer = None
                    self.syncer.done_intending()  # also when nothing could be written

    def _refuse_mid_operation(self) -> None:
        """Write nothing while git is stopped half-way through a merge, a rebase, ...: the
        change could not be committed, and ending that operation (`git rebase --abort`
        resets the files) would throw it away, or fail on it. Inside a git hook the
        user's own git command stages what orch writes, so it goes on."""
        from orchestrator.gitrepo import GitError

        syncer = self.syncer
        if syncer.hold or syncer.mode == "off":
            return
        try:
            repo = syncer.repo()
        except GitError:
            return  # the commit says why
        stopped = repo.operation() if repo is not None else None
        if stopped is not None:
            operation, ending = stopped
            raise OrchError(
                f"git is in the middle of {operation}: orch changes nothing until it ends, so"
                f" that ending it cannot throw the change away; end it ({ending}), then run"
                " this again"
            )

    @contextmanager
    def _open_fresh(self, write: bool) -> Iterator[IndexDB]:
        """Open the index and bring it up to date. A reader first checks without the lock
        (by stat alone) and goes on without it if nothing changed: SQLite's WAL lets
        readers read while a writer writes; DuckDB readers share the lock because DuckDB
        will not open a file another process is writing."""
        self._ensure_index_dir()  # before the index is opened through a link
        engine = self.config.index
        path = index_path(self.layout.index_dir, engine)
        plan = None
        # The files changed since the last check, if a journal can tell (a server's).
        paths = None
        if self.monitor is not None:
            try:
                paths = self.monitor.changes()
            except OSError:
                self.monitor.distrust()
        ready = False  # past the check: an error now is the operation's, not the check's
        try:
            if not write and path.exists():
                shared = self.lock(exclusive=False) if engine == "duckdb" else nullcontext()
                with shared:
                    db = self._try_open(engine, path, writable=engine == "sqlite")
                    if db is not None:
                        plan = self._plan(db, paths)
                        if plan is not None and plan.empty and not self.syncer.behind():
                            with self._using(db):
                                ready = True
                                yield db
                            return
                        if plan is not None and db.writable:
                            # Something changed: update the index with this same connection.
                            with self.lock(), self._using(db):
                                self._refresh(db, plan, paths)
                                ready = True
                                yield db
                            return
                        db.close()
            with self.lock():
                db, rebuilt = self._writable_index()
                with self._using(db):
                    # A plan made against an index that had to be rebuilt does not apply.
                    if rebuilt:
                        plan = paths = None
                    elif plan is None and paths is not None:
                        plan = self._plan(db, paths)
                    self._refresh(db, plan, paths)
                    ready = True
                    yield db
        except BaseException as e:
            if not ready and self.monitor is not None:
                self.monitor.distrust()
            # A full disk (or quota, or read-only file system) is said as what it is.
            failure = storage_failure(e, path) if isinstance(e, Exception) else None
            if failure is not None and failure is not e:
                raise failure from e
            raise

    def watch_changes(self) -> bool:
        """For a process that stays up: find changed files from a change journal
        (core/monitor.py) instead of a stat of every file. Says whether one runs here."""
        from orchestrator.core.monitor import Monitor

        if self.monitor is None:
            self.monitor = Monitor.start(self.layout)
        # With the journal the signature snapshot is of no use here: keeping it in step
        # on every write costs memory and time (other processes rebuild it when needed).
        self.layout.keep_snapshot = self.monitor is None
        return self.monitor is not None

    def _refresh(self, db: IndexDB, plan: Plan | None, paths: list[str] | None = None) -> Report:
        """Bring the index up to date (checking `paths` only, if given), then sync what
        changed outside orch."""
        report = Indexer(self.layout, db).refresh(paths=paths, plan=plan)
        self.refreshed += len(report.read) + len(report.removed)
        syncer = self.syncer
        if syncer.hold:  # inside a git hook: the next command syncs what changed
            syncer.hold_changes([*report.read, *report.removed])
            return report
        syncer.recover(db)
        held = syncer.take_held(remove=False)
        if held:  # changes a hook (or a process killed) indexed: synced now, as if just found
            there = {p for p in held if (self.layout.root / p).exists()}
            report = Report(
                read=[*report.read, *sorted(there - set(report.read))],
                removed=[*report.removed, *sorted(set(held) - there - set(report.removed))],
                recorded=report.recorded,
            )
        if report.changed:
            changed = [*report.read, *report.removed]
            # The index knows these files now: until they are synced, a note says so, for
            # the next command to sync them if this process is killed before it does.
            syncer.hold_changes(changed)
            own = self._follow_views(db, report)
            if syncer.outside(db, changed, own=own):
                syncer.take_held()
        else:
            syncer.catch_up(db)
        return report

    def _follow_views(self, db: IndexDB, report: Report) -> list[str]:
        """Outside edits and the session.md views (core/views.py): boxes ticked in an
        edited session.md go to their tasks and its view is regenerated; with
        `follow_views`, so are the views of every session edited by hand. Files as
        committed (a checkout, a pull) are left as they came. What this writes is
        committed with the edits, as one sync."""
        from orchestrator.core.views import apply_edits, regenerate

        changed = [*report.read, *report.removed]
        if not self.follow_views and not any(p.endswith("/session.md") for p in changed):
            return []
        edited = self.syncer.edited(changed)
        roles = [r for r in map(self.layout.classify, edited) if r and r.session_dir]
        views = {r.session_dir for r in roles if r.kind == "session"}
        if not roles or not (views or self.follow_views):
            return []
        writer = Writer(self, db, self.syncer.outside_op)
        for session_id in sorted(views):
            apply_edits(writer, session_id)
        writer.sync()
        regenerate(writer, {r.session_dir for r in roles} if self.follow_views else views)
        writer.sync()
        self.syncer.done_intending()  # the outside sync that follows commits these files
        return writer.written

    @contextmanager
    def _using(self, db: IndexDB) -> Iterator[None]:
        self._db = db
        try:
            yield
        finally:
            self._db = None
            db.close()

    def _try_open(self, engine: str, path: Path, writable: bool) -> IndexDB | None:
        try:
            return IndexDB(engine, path, writable)
        except Exception:
            return None  # damaged or busy: the writable path sorts it out under the lock

    def _plan(self, db: IndexDB, paths: list[str] | None = None) -> Plan | None:
        """What changed since the last refresh (among `paths`, if given); None if the
        index must be rebuilt."""
        try:
            if db.stored_version() != schema_version():
                return None
            return signatures.plan(self.layout, db, paths)
        except Exception:
            return None

    def _writable_index(self) -> tuple[IndexDB, bool]:
        """Open the index for writing (the caller holds the lock), rebuilding it if it is
        missing, damaged or from another version of orch. Says whether it rebuilt."""
        engine = self.config.index
        path = index_path(self.layout.index_dir, engine)
        existed = path.exists()
        db = None
        try:
            db = IndexDB(engine, path, writable=True)
            version = db.stored_version()
        except Exception as e:
            # A full disk is not damage: the index is kept, and the disk said to be full.
            failure = storage_failure(e, path)
            if failure is not None:
                if db is not None:
                    db.close()
                raise failure from e
            version = None
        rebuilt = version != schema_version()
        if rebuilt:
            if db is not None:
                db.close()
            if existed:
                self.warnings.append(
                    f"the index ({path.name}) was from another version of orch or damaged;"
                    " rebuilt it from the files"
                )
            elif signatures.snapshot_path(self.layout, engine).exists():
                # It was there (its signature snapshot is): deleted by hand, or lost.
                self.warnings.append(
                    f"the index ({path.name}) was missing; rebuilt it from the files"
                )
            remove_index_files(self.layout.index_dir, engine)
            db = IndexDB(engine, path, writable=True)
            db.create_schema()
        return db, rebuilt

    def reindex(self, progress: Callable[[int, int], None] | None = None) -> Report:
        """Rebuild the index from the files. The new one is built beside the old one and
        takes its place only when whole: a rebuild that fails (a full disk) leaves the
        index as it was."""
        engine = self.config.index
        final = index_path(self.layout.index_dir, engine)
        building = final.with_name(f"{final.name}.new")
        with self.lock(), storage_errors(building):
            remove_database(building)
            db = None
            try:
                db = IndexDB(engine, building, writable=True)
                db.create_schema()
                report = Indexer(self.layout, db).refresh(progress=progress)
                self.syncer.outside(db, [*report.read, *report.removed])
            except BaseException:
                if db is not None:
                    with suppress(Exception):  # the error that stopped the build is the one said
                        db.close()
                remove_database(building)
                raise
            db.close()  # its journal checkpointed into the file
            remove_index_files(self.layout.index_dir, engine)
            os.replace(building, final)
            return report


# What a task's line and the counts of its session.md view are made of (core/views.py's
# view_of and index/derive.py's positions); a change of anything else leaves the view as
# it was.
SHOWN_FIELDS = ("task_id", "session_id", "title", "status", "group_id", "parent_task_id",
                "specialist_type", "estimated_effort", "created_at")  # fmt: skip


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
        self._synced = 0  # how many of `written` are indexed
        self.resolution: str | None = None  # the strategy, when this sync settles a conflict
        self._intended = 0  # how many files the intent on disk names
        # The sessions whose session.md view this writer's changes may alter, and what a
        # loaded task showed in its view (see `shown`).
        self.views: set[str] = set()
        self._shown: dict[Path, tuple] = {}
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

    def load(self, kind: str, session_id: str, record_id: str) -> Record:
        """A record as its file has it now (not as the index remembers it)."""
        from orchestrator.layout import FileRole
        from orchestrator.store.record_file import parse_record

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
                f"cannot change {problem}; fix the file first (orch doctor lists every problem)"
            )
        self._read[path] = (blob_id(data), data.decode("utf-8", errors="replace"))
        self._note_unseen(rel, data)
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
        return self._read[record.path][1]

    def with_body(self, record: Record, body: str) -> str:
        """A loaded record's file text with its body replaced: the frontmatter stays as
        written (comments, quoting, key order), not rendered again."""
        text = self.text_of(record)
        return text[: len(text) - len(record.body)] + body

    def save(self, record: Record, text: str | None = None, counted: bool = True) -> None:
        """Write a loaded (or new) record atomically (`text`: the file's whole new text,
        if not the record rendered). If the file changed since it was loaded (an editor
        saved it meanwhile, even in the instant before orch's rename), the change is
        three-way merged with that edit instead of overwriting it: both are kept, and
        fields both changed are recorded as a conflict in the file. `counted=False`: a
        regenerated view, not a change the commit message names."""
        from orchestrator.store.record_file import render_record

        path = record.path or self.path_of(record.kind, record.meta["session_id"], record.id)
        rel = self.layout.rel(path)
        base_blob, base_text = self._read.get(path, (None, None))
        if text is None:
            self._settle_conflicts(record, base_text)
        ours = render_record(record) if text is None else text
        self._intend(rel, counted)
        new_text, data = ours, b""
        for _round in range(SAVE_ROUNDS):
            held, current = self._read_settled(path, rel, base_blob)
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
                    new_text = self._merge(rel, base_text, ours, current.decode("utf-8", "replace"))
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
            from orchestrator.core.sync import Change

            self.changes.append(
                Change(record.kind, record.id, record.meta.get("session_id"), record.title, rel)
            )

    def _read_settled(self, path: Path, rel: str, base_blob: str | None):
        """`read_held` of a record file, waiting a moment while it is empty: an editor
        that saves in place truncates it first, and a merge with an empty file would
        drop what it is about to write."""
        waits = iter(EMPTY_WAITS)
        while True:
            held, current = read_held(path, self.layout.base)
            if current != b"" or base_blob is None:
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
        self.views.add(record.meta.get("session_id"))

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
        path = record.path
        rel = self.layout.rel(path)
        base_blob = self._read.get(path, (None, None))[0]
        self._intend(rel, True)
        held, current = read_held(path, self.layout.base)
        if current is not None:
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
        self.views.add(record.meta.get("session_id"))
        self.written.append(rel)
        self.wrote[rel] = None
        from orchestrator.core.sync import Change

        self.changes.append(
            Change(record.kind, record.id, record.meta.get("session_id"), record.title, rel)
        )

    def write_file(self, path: Path, data: bytes) -> str:
        """Write a file that is not a record (an artifact) atomically into this sync;
        `path` must be inside the orchestrator folder, through real folders (a link on the
        way is refused, named). Returns it relative to the root."""
        real_folder(path.parent, self.layout.base)  # refuses a path out of it, or a link
        rel = self.layout.rel(path)
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
        from orchestrator.store.record_file import load_yaml, normalize, split_frontmatter

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
        from orchestrator.store.merge import merge_texts

        result = merge_texts(base, ours, theirs)
        self.saves[rel] = theirs.encode("utf-8")
        note = f"{rel} was edited while orch changed it: merged the two"
        if not result.clean:
            what = ", ".join(result.conflicts) or "the text"
            note += f"; both changed {what}, kept as a conflict (see `orch conflicts`)"
            self.project.warnings.append(note)
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
            from orchestrator.core.views import regenerate

            regenerate(self, self.views)
            self.sync()
        if self.written:
            from orchestrator.core.sync import Entry

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

    def _unique_changes(self) -> list[Change]:
        seen: dict[tuple[str, str], Change] = {}
        for change in self.changes:
            seen[(change.kind, change.record_id)] = change  # the last title wins
        return list(seen.values())
