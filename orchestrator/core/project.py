"""A project: its files, its settings, and a fresh index to answer from.

Reading: `with project.reading() as db` gives an index that reflects every file as it is
now (hand edits included); when nothing changed that costs a stat of each record file.
Writing: `with project.writing(op) as w` holds the project lock (one writer at a time across
processes), reads records from their files, writes them atomically, brings the index up
to date and commits the files it wrote (git/syncer.py) before it returns.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator import relay
from orchestrator.config import Config, load_config
from orchestrator.core.progress import QUIET, Cancelled, Progress
from orchestrator.core.rules import edit_warning
from orchestrator.errors import Hint, LinkRefused, OrchError, Said, first_few
from orchestrator.git import waiting
from orchestrator.index import prescan, signatures
from orchestrator.index.engine import (
    IndexDB,
    index_path,
    remove_database,
    remove_index_files,
    schema_version,
    storage_errors,
    storage_failure,
)
from orchestrator.index.signatures import Plan
from orchestrator.layout import Layout, find_root
from orchestrator.store.files import (
    real_folder,
    write_atomic,
)

if TYPE_CHECKING:
    from orchestrator.core.writer import Writer
    from orchestrator.git.syncer import Syncer
    from orchestrator.index import journal_client
    from orchestrator.index.journal import Monitor
    from orchestrator.index.refresh import Report

# Set for the processes orch starts while it holds the project lock (see Project.lock).
LOCK_HELD_ENV = "ORCH_LOCK_HELD"

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
        self._syncer: Syncer | None = None
        self.refreshed = 0  # files the index re-read (or dropped) for this project object
        self._naming_broken = False  # the reader names broken files: no warning of its own
        # Regenerate the views of sessions whose files were edited outside orch (the
        # watcher and `orch sync` do; a command only fixes a session.md edited itself,
        # and leaves the rest to the next change, to stay fast).
        self.follow_views = False
        self.monitor: Monitor | None = (
            None  # a change journal (watch_changes), for processes that stay up
        )
        # The journal daemon's answer for the index being opened, with the token the
        # index held when it was asked (none: no daemon answered, or a monitor runs).
        self._journal: tuple[str | None, journal_client.Answer] | None = None
        # Told how far a long operation is, and whether its caller gave up
        # (core/progress.py); an adapter that can show or cancel sets it for a call.
        self.progress: Progress = QUIET

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
    def syncer(self) -> Syncer:
        """What commits this project's changes to git (git/syncer.py)."""
        if self._syncer is None:
            # Its warnings go to this project's, whatever list that is when they come.
            # Loaded when first asked for: a read of an unchanged project commits nothing,
            # and git's modules (subprocess, tempfile, difflib) cost it ~15 ms to import.
            from orchestrator.git.syncer import Syncer

            self._syncer = Syncer(self.layout, self.config, lambda note: self.warnings.append(note))
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
    def reading(self, names_broken: bool = False) -> Iterator[IndexDB]:
        """An index reflecting the files as they are now. Files that could not be read
        are left out of it, and said so in a warning, unless the caller `names_broken`
        files itself (index/refresh.py's `broken_files`, as the board does). Nested in
        another reading or writing of this project, it shares that one's connection."""
        if self._db is not None:
            yield self._db
            return
        with self._naming(names_broken), self._open_fresh(write=False) as db, db.reading():
            # One read transaction: every query of the block sees the same state, even
            # while another process commits.
            unreadable = not names_broken and db.scalar(
                "SELECT count(*) FROM file_signatures WHERE readable = FALSE"
            )
            if unreadable:
                self.warnings.append(
                    Said(
                        f"{unreadable} file(s) could not be read and are left out; the doctor"
                        " lists them",
                        Hint("doctor"),
                    )
                )
            yield db

    @contextmanager
    def _naming(self, names_broken: bool) -> Iterator[None]:
        """While the index is brought up to date for a reader that names the broken files
        itself: the sync of outside edits does not name them in warnings too."""
        self._naming_broken = names_broken
        try:
            yield
        finally:
            self._naming_broken = False

    def commit_nothing(self) -> None:
        """From now on this object writes no record file and makes no commit: what it
        finds changed outside orch is indexed and left for the next command to sync, as
        inside a git hook (a read-only server)."""
        self.syncer.hold = True

    @contextmanager
    def reporting(self, progress: Progress) -> Iterator[None]:
        """Long operations inside tell `progress` how far they are, and stop (taking
        back what they wrote) once its caller gave up (core/progress.py)."""
        progress.check()  # given up already: nothing is started
        self.progress = progress
        try:
            yield
        finally:
            self.progress = QUIET

    @contextmanager
    def writing(self, op: str) -> Iterator[Writer]:
        """Hold the project lock with a fresh index; files written through the Writer are
        indexed and committed as one sync named `op` before this returns (and if the
        operation fails half-way, what it wrote is indexed and committed too: the files
        are the truth). An operation its caller cancelled (progress.Cancelled) is the one
        exception: what it wrote is taken back (Writer.discard), nothing is committed."""
        if self._writer is not None:
            yield self._writer
            return
        if self._db is not None:
            raise RuntimeError("Project.writing() inside Project.reading(): open the writer first")
        self._refuse_mid_operation()
        with self._open_fresh(write=True) as db:
            # Loaded when a command writes (start-up speed: a read needs none of it).
            from orchestrator.core.writer import Writer

            writer = self._writer = Writer(self, db, op)
            cancelled = False
            try:
                yield writer
                self.progress.check()  # the last moment a cancel can take it all back
                self.progress.committing()
            except Cancelled:
                cancelled = True
                for kept in writer.discard():
                    self.warnings.append(f"could not take back {kept}; the next command commits it")
                raise
            finally:
                try:
                    if not cancelled:
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
        from orchestrator.git.repo import GitError

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
        self._journal = None
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
                        if self.monitor is None:
                            paths = self._ask_journal(db)
                        plan = self._plan(db, paths)
                        idle = not waiting(self.layout.index_dir) or not self.syncer.behind()
                        if plan is not None and plan.empty and idle and not self._token_due():
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
                    if self.monitor is None and self._journal is None:
                        paths = self._ask_journal(db)  # before the refresh looks at a file
                    # A plan made against an index that had to be rebuilt does not apply.
                    if rebuilt:
                        plan = paths = None
                    elif plan is None:  # the journal's paths, or the early scan's plan
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

    # -- the journal daemon (index/journal_client.py) ---------------------------------

    def _ask_journal(self, db: IndexDB) -> list[str] | None:
        """The files changed since the index was last made equal to the files, if the
        project's journal daemon can tell; None: look at every file. Asked before any
        file is looked at, so that a change made meanwhile is in the next answer. Under
        `journal: auto`, a command that finds no daemon starts one for the next."""
        if relay.listening(os.path.realpath(self.layout.base)) is None:
            # No daemon: its client is not even imported.
            if self.config.journal == "auto":
                from orchestrator.core.daemon import autostart

                autostart(self.layout)
            return None
        from orchestrator.index import journal_client

        try:
            since = db.meta(journal_client.TOKEN_KEY)
        except Exception:  # an index from before the journal, or damaged: scan
            since = None
        answer = journal_client.ask(self.layout, since)
        if answer.token is None:
            if answer.absent and self.config.journal == "auto":
                from orchestrator.core.daemon import autostart

                autostart(self.layout)
            return None
        self._journal = (since, answer)
        # While a daemon answers, the signature snapshot is of no use (it serves a scan):
        # dropped rather than kept in step on every write (~8 ms of a write at 10,000
        # files); the first command that scans without a daemon makes it again.
        self.layout.keep_snapshot = False
        return answer.paths

    def _token_due(self) -> bool:
        """Whether the index should take the daemon's new token although nothing changed:
        after a full scan (else every command would scan again), or when the files to
        look at again have grown many (a command's own writes are indexed as written,
        and are in every answer until the token moves on)."""
        if self._journal is None:
            return False
        since, answer = self._journal
        if answer.token == since:
            return False
        from orchestrator.index import journal_client  # imported when a daemon answered

        return answer.paths is None or len(answer.paths) > journal_client.ADVANCE_AFTER

    def _keep_token(self, db: IndexDB) -> None:
        """The index now equals the files as of the daemon's token (taken before they
        were looked at): keep it for the next command. An older token kept in place of
        a newer one only costs the next command more files to look at."""
        if self._journal is None:
            return
        since, answer = self._journal
        self._journal = None
        if answer.token is not None and answer.token != since:
            from orchestrator.index import journal_client  # imported when a daemon answered

            with suppress(Exception):  # best effort: without it the next command scans
                db.set_meta(journal_client.TOKEN_KEY, answer.token)

    def finish_command(self) -> list[str]:
        """For a process that runs command after command on this one object (the MCP
        server): the warnings the command left, taken, and `follow_views` back off (sync
        turns it on for its own run; a later command must not regenerate every view)."""
        warnings = list(self.warnings)
        self.warnings.clear()
        self.follow_views = False
        return warnings

    def watch_changes(self) -> bool:
        """For a process that stays up: find changed files from a change journal
        (index/journal.py) instead of a stat of every file. Says whether one runs here."""
        if self.monitor is None:
            from orchestrator.index.journal import Monitor  # servers only (inotify)

            self.monitor = Monitor.start(self.layout)
        # With the journal the signature snapshot is of no use here: keeping it in step
        # on every write costs memory and time (other processes rebuild it when needed).
        self.layout.keep_snapshot = self.monitor is None
        return self.monitor is not None

    def _refresh(self, db: IndexDB, plan: Plan | None, paths: list[str] | None = None) -> Report:
        """Bring the index up to date (checking `paths` only, if given), then sync what
        changed outside orch."""
        # Imported here: a read that finds nothing changed (most) reads no file.
        from orchestrator.index.refresh import Indexer, Report

        report = Indexer(self.layout, db).refresh(paths=paths, plan=plan)
        self._keep_token(db)
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
                titles=report.titles,
            )
        if report.statuses:
            self._warn_typed_statuses(db, report)
        if report.changed:
            changed = [*report.read, *report.removed]
            # The index knows these files now: until they are synced, a note says so, for
            # the next command to sync them if this process is killed before it does.
            syncer.hold_changes(changed)
            own = self._follow_views(db, report)
            quiet = self._naming_broken
            if syncer.outside(db, changed, own=own, titles=report.titles, name_broken=not quiet):
                syncer.take_held()
        else:
            syncer.catch_up(db)
        return report

    def _warn_typed_statuses(self, db: IndexDB, report: Report) -> None:
        """A status typed into a task file is the person's decision and stands; what it
        leaves open (subtasks, dependencies) is said, as for a box ticked in session.md
        (core/rules.py). A checkout or pull (files as committed) is not an edit, and
        neither is a file the index did not know (a new file, or an index rebuilt): its
        status was written, not changed. A bulk edit is said for the first few tasks."""
        changed = {task_id: s for task_id, s in report.statuses.items() if s[0] is not None}
        if not changed:
            return
        edited = set(self.syncer.edited(report.read))
        said = []
        for task_id, (old, new) in sorted(changed.items()):
            row = db.record("SELECT * FROM tasks WHERE task_id = ?", [task_id])
            if row is None or row["file_path"] not in edited:
                continue
            warning = edit_warning(db, {**row, "status": old}, new)
            if warning:
                said.append(f"{row['file_path']}: {warning}")
        self.warnings.extend(first_few(said, "tasks set by edits while work they need is open"))

    def _follow_views(self, db: IndexDB, report: Report) -> list[str]:
        """Outside edits and the session.md views (core/views.py): boxes ticked in an
        edited session.md go to their tasks and its view is regenerated; with
        `follow_views`, so are the views of every session edited by hand. Files as
        committed (a checkout, a pull) are left as they came. What this writes is
        committed with the edits, as one sync."""
        changed = [*report.read, *report.removed]
        if not self.follow_views and not any(p.endswith("/session.md") for p in changed):
            return []
        edited = self.syncer.edited(changed)
        roles = [r for r in map(self.layout.classify, edited) if r and r.session_dir]
        folders = {r.session_dir for r in roles if r.session_dir}
        views = {r.session_dir for r in roles if r.session_dir and r.kind == "session"}
        if not roles or not (views or self.follow_views):
            return []
        # Only when a session.md was edited (start-up speed of every other read).
        from orchestrator.core.views import apply_edits, regenerate
        from orchestrator.core.writer import Writer

        writer = Writer(self, db, self.syncer.outside_op)
        for session_id in sorted(views):
            apply_edits(writer, session_id)
        writer.sync()
        regenerate(writer, set(folders) if self.follow_views else views)
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
            if paths is None and (early := prescan.take(self.layout, db)) is not None:
                return early  # made while this process started (launch.py)
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
        assert db is not None  # opened above, or rebuilt since it could not be
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
                # The daemon's token before a file is read: the new index equals the
                # files as of it (none if no daemon answers: the next command scans).
                from orchestrator.index import journal_client

                self._journal = (None, journal_client.ask(self.layout, None))
                from orchestrator.index.refresh import Indexer

                report = Indexer(self.layout, db).refresh(progress=progress)
                self._keep_token(db)
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
