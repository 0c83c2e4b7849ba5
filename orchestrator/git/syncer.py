"""Sync: every change to the orchestrator files becomes a git commit (DESIGN.md section 4).

Two kinds of change reach git:
- what an operation wrote (`orch task done`, later an MCP tool): one commit per operation,
  with a message saying what happened and trailers naming the records;
- what changed outside orch (an editor, `sed`, a checkout): found by the index refresh
  every command starts with, committed as an `edit`. A file saved from a stale editor
  buffer (closer to an older committed version than to the newest) is first merged with
  the newest one, so an agent's status change is not reverted by a description edit.

`commit: batch` keeps syncs in `.index/pending.json` until the window has passed;
`commit: off` writes files only. markdown_sync_state says, per record file of a session,
when it last synced each way and whether it is synchronized, waiting for its commit
(db_newer: orch wrote it; md_newer: edited outside), or holds a merge conflict.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from orchestrator.git.repo import GitError, Repo, Wrote, find_repo, git_available, init_repo
from orchestrator.layout import ORCH_DIR
from orchestrator.model import ID_KEY, TABLE, TITLE_KEY, Problem, now
from orchestrator.store.files import blob_id

if TYPE_CHECKING:
    from orchestrator.core.project import Project
    from orchestrator.index.engine import IndexDB
    from orchestrator.store.merge import MergeResult

# How many committed versions of a file to look through for the one a stale editor
# buffer started from.
STALE_DEPTH = 10
STALE_ROUNDS = 10  # merges of a stale buffer tried while saves keep landing on it
MERGE_OP = "merge"  # the commit of a stale buffer merged with the newest version
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
        if len(self.changes) == 1:
            c = self.changes[0]
            title = " ".join(c.title.split()).replace('"', "'")
            if len(title) > TITLE_WIDTH:
                title = title[: TITLE_WIDTH - 3].rstrip() + "..."
            return (
                f'orch: {self.op} {c.record_id} "{title}"'
                if title
                else f"orch: {self.op} {c.record_id}"
            )
        if self.changes:
            counts: dict[str, int] = {}
            for c in self.changes:
                counts[c.kind] = counts.get(c.kind, 0) + 1
            what = ", ".join(f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in counts.items())
            return f"orch: {self.op} {what}"
        if len(self.paths) == 1:
            return f"orch: {self.op} {self.paths[0]}"
        return f"orch: {self.op} {len(self.paths)} files"


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


class Syncer:
    """Commits one project's syncs, the way its config says (commit: every-sync | batch |
    off). Commits that fail (git missing, a merge in progress) become warnings: the
    change is in the files, and the next sync commits it."""

    def __init__(self, project: Project):
        self.project = project
        self.layout = project.layout
        self.commits: list[str] = []  # made by this process, oldest first
        self.outside_op = "edit"  # what an outside change is called in its commit
        self._repo: Repo | bool | None = False  # False: not looked for yet
        self._prefix = "."
        self.hold = False  # never commit (inside a git hook)

    @property
    def mode(self) -> str:
        # A git hook runs inside a git command of the user's: it may write and stage
        # files, but a commit of orch's own would land in the middle of theirs.
        return "off" if self.hold else self.project.config.commit

    def repo(self) -> Repo | None:
        """The repository holding .task_orchestrator/; if there is none, the folder is
        made a repository of its own. None if git is not installed."""
        if self._repo is False:
            self._repo = self._find_repo()
        return self._repo

    def _find_repo(self) -> Repo | None:
        base = self.layout.base
        if not git_available():
            self.project.warnings.append(
                "git is not installed: changes are written to the files but not committed"
            )
            return None
        repo = find_repo(base)
        if repo is not None and (inside := place_in(repo, base)) != "." and repo.ignored([inside]):
            repo = None  # the enclosing repository does not want these files
        if repo is None:
            repo = init_repo(base)
            self.project.warnings.append(
                f"{self.layout.rel(base)}/ is not in a git repository (or that repository"
                " ignores it): made it a repository of its own"
            )
        repo.private_index = self.layout.index_dir / "git-index"
        self._prefix = place_in(repo, base)
        return repo

    @property
    def prefix(self) -> str:
        """Where .task_orchestrator/ is in the repository: "." if it is its own."""
        self.repo()
        return self._prefix

    def to_git(self, rel: str) -> str:
        """A project-relative path as the repository names it."""
        inside = rel.partition("/")[2]
        return posixpath.normpath(posixpath.join(self.prefix, inside))

    def from_git(self, path: str) -> str:
        prefix = self.prefix
        if prefix == ".":
            return f"{ORCH_DIR}/{path}"
        if path.startswith(prefix + "/"):  # the common case, without relpath's cost
            return f"{ORCH_DIR}/{path[len(prefix) + 1 :]}"
        return f"{ORCH_DIR}/{posixpath.relpath(path, prefix)}"

    # -- committing --------------------------------------------------------------------

    def record(
        self,
        db: IndexDB,
        entry: Entry,
        force: bool = False,
        contents: dict[str, bytes | None] | None = None,
    ) -> str | None:
        """Commit a sync (with any still pending), or keep it pending in batch mode until
        the window has passed. `contents`: the bytes the operation wrote (rel -> bytes,
        None for a deleted file), which the commit holds. Returns the new commit, if one
        was made."""
        if self.mode == "off":
            self.mark(db, [entry], committed=False)
            return None
        pending = [*self.load_pending(), entry]
        window_ns = self.project.config.commit_window * 1e9
        if self.mode == "batch" and not force and time.time_ns() - pending[0].at_ns < window_ns:
            self.pend(pending, contents)
            self.mark(db, [entry], committed=False)
            return None
        return self._commit(db, pending, contents)

    def flush(self, db: IndexDB) -> str | None:
        """Commit whatever is pending, now."""
        pending = self.load_pending()
        if not pending or self.mode == "off":
            return None
        return self._commit(db, pending)

    def store_saves(self, saves: dict[str, bytes]) -> list[str]:
        """Editor saves merged into a sync, stored as blobs for its commit to name: a
        later save from the same editor buffer (not reloaded since) then finds there
        the version it started from, which history never held."""
        try:
            repo = self.repo()
            if repo is None:
                return []
            return [repo.blob_of(self.to_git(p), Wrote(blob_id(d), d)) for p, d in saves.items()]
        except GitError:
            return []  # only a later stale save's base is lost: it is then taken as it is

    def has_pending(self) -> bool:
        return self._pending_file.exists()

    def behind(self) -> bool:
        """Whether there is work the next refresh must do although no file changed: changes
        a git hook saw, or syncs whose commit failed (or whose batch window has passed)."""
        return self.has_held() or (self.has_pending() and self._due(self.load_pending()))

    def _due(self, pending: list[Entry]) -> bool:
        """Whether these pending syncs are to be committed now."""
        if not pending or self.mode == "off":
            return False
        window_ns = self.project.config.commit_window * 1e9
        return self.mode != "batch" or time.time_ns() - pending[0].at_ns >= window_ns

    def problems(self) -> list[Problem]:
        """What keeps orch's changes from being committed: a git lock in the way, syncs
        still waiting for their commit."""
        found = []
        try:
            repo = self.repo() if self.mode != "off" else None
        except GitError as error:
            return [Problem(ORCH_DIR, str(error), fix="changes are in the files, not committed")]
        if repo is None:
            return []
        for lock in repo.locks():
            if lock.stale:
                found.append(Problem(str(lock.path), "a lock left by a git process that was killed",
                                     fix="orch removes it at its next commit (or delete it)",
                                     severity="warning"))  # fmt: skip
            elif lock.holders:
                who = ", ".join(map(str, lock.holders))
                found.append(Problem(str(lock.path), f"held by git process {who}: commits wait for it",
                                     fix="let that git command end"))  # fmt: skip
            else:
                found.append(Problem(str(lock.path), "held by a git process a moment ago: commits"
                                     " wait for it", fix="if no git command runs, delete it",
                                     severity="warning"))  # fmt: skip
        pending = self.load_pending()
        if pending:
            due = self._due(pending)
            paths = sorted({p for e in pending for p in e.paths})
            found.append(Problem(
                self.layout.rel(self._pending_file),
                f"{len(pending)} sync(s) of {len(paths)} file(s) wait for their commit"
                + (" (commit: batch)" if not due else ""),
                fix="`orch sync` commits them" + ("" if not due else "; `orch sync` says what stops it"),
                severity="warning" if not due else "error",
            ))  # fmt: skip
        return found

    def catch_up(self, db: IndexDB) -> None:
        """Commit the syncs an earlier commit could not make (git was busy, or its lock
        was left by a killed git), or whose batch window has passed."""
        if self.has_pending() and self._due(pending := self.load_pending()):
            self._commit(db, pending)

    def _commit(
        self,
        db: IndexDB,
        pending: list[Entry],
        contents: dict[str, bytes | None] | None = None,
    ) -> str | None:
        try:
            repo = self.repo()
        except GitError as error:  # git init refused (permissions, a broken .git)
            self._repo = False
            repo = None
            self.project.warnings.append(f"{error}; changes are in the files, not committed")
        if repo is None:
            self.mark(db, pending, committed=False)
            return None
        busy = repo.busy()
        if busy:
            self.pend(pending, contents)
            self.mark(db, pending, committed=False)
            self.project.warnings.append(
                f"{busy}: orch's change is in the files and will be committed by the first"
                " change after that (or `orch sync`)"
            )
            return None
        paths = list(dict.fromkeys(p for e in pending for p in e.paths))
        if self.prefix != ".":  # the user's repository: respect what it ignores
            ignored = {self.from_git(p) for p in repo.ignored([self.to_git(p) for p in paths])}
            if ignored:
                self.project.warnings.append(
                    f"not committed, the repository ignores them: {', '.join(sorted(ignored))}"
                )
                paths = [p for p in paths if p not in ignored]
        # A path git cannot take (now a folder, or behind a symbolic link) would fail
        # every commit from now on: it is left out, and said so.
        unfit = [p for p in paths if not self._committable(p)]
        if unfit:
            self.project.warnings.append(
                f"not committed, not a file inside {ORCH_DIR}/ (a folder, or behind a"
                f" symbolic link): {', '.join(unfit)}"
            )
            paths = [p for p in paths if p not in unfit]
        kept = set(paths)
        wrote = {self.to_git(p): w for p, w in self._wrote(pending, contents).items() if p in kept}
        try:
            commit, strayed = repo.commit([self.to_git(p) for p in paths], message(pending), wrote)
        except GitError as error:
            self.pend(pending, contents)
            self.mark(db, pending, committed=False)
            self.project.warnings.append(
                f"{error}; the change is in the files and the next sync will commit it"
            )
            return None
        self.clear_pending()
        self.mark(db, pending, committed=True)
        if commit:
            self.commits.append(commit)
        if strayed:
            # Saved over orch's write before its commit: the commit holds orch's version,
            # and the save is an edit the next sync takes (merged if it is a stale buffer).
            self.hold_changes([self.from_git(p) for p in strayed])
        return commit

    @staticmethod
    def _wrote(pending: list[Entry], contents: dict[str, bytes | None] | None) -> dict[str, Wrote]:
        """What orch wrote to each path of these syncs, as the newest of them says (an
        outside edit after orch's write makes the file's state the one to commit)."""
        wrote: dict[str, Wrote] = {}
        for entry in pending:
            for path in entry.paths:
                if path in entry.raw:
                    wrote[path] = Wrote(entry.raw[path], blob=entry.blobs.get(path))
                else:
                    wrote.pop(path, None)
        for path, data in (contents or {}).items():
            w = wrote.get(path)
            if w is not None and data is not None and w.raw == blob_id(data):
                w.data = data
        return wrote

    def _committable(self, rel: str) -> bool:
        """A regular file (or a deleted one) reached without a symbolic link."""
        path = self.layout.root / rel
        for folder in (path, *path.parents):
            if folder == self.layout.base:
                break
            if folder.is_symlink():
                return False
        return path.is_file() or not path.exists()

    # -- the batch -----------------------------------------------------------------------

    @property
    def _pending_file(self):
        return self.layout.index_dir / "pending.json"

    def load_pending(self) -> list[Entry]:
        try:
            raw = json.loads(self._pending_file.read_text(encoding="utf-8"))
            return [Entry(**{**e, "changes": [Change(**c) for c in e["changes"]]}) for e in raw]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, TypeError, KeyError):
            # Only the messages are lost: the files themselves are committed by `orch sync`.
            self.project.warnings.append(
                f"{self.layout.rel(self._pending_file)} is damaged; its changes will be committed"
                " as edits by `orch sync`"
            )
            self.clear_pending()
            return []

    def pend(self, pending: list[Entry], contents: dict[str, bytes | None] | None = None) -> None:
        """Keep syncs for a later commit, with the blobs of the files as orch wrote them
        (stored in git's object database): the commit holds those, and if an editor
        later saves a stale buffer over one, that blob is the newest version it is
        merged with."""
        try:
            repo = self.repo()
        except GitError:
            repo = None
        for entry in pending:
            if entry.blobs or repo is None:
                continue
            with contextlib.suppress(GitError):
                entry.blobs = self._stored(repo, entry, contents)
        self.save_pending(pending)

    def _stored(
        self, repo: Repo, entry: Entry, contents: dict[str, bytes | None] | None
    ) -> dict[str, str]:
        """The entry's files stored as blobs: as orch wrote them where that is known,
        else as they are now (an older pending file, an outside edit)."""
        wrote = self._wrote([entry], contents)
        files = [p for p in entry.paths if (self.layout.root / p).is_file()]
        in_git = {self.to_git(p): p for p in wrote}
        as_written = {in_git[g] for g in repo.strayed({g: wrote[p] for g, p in in_git.items()})}
        as_is = [p for p in files if p not in as_written]
        blobs = dict(zip(as_is, repo.store([self.to_git(p) for p in as_is]), strict=True))
        for p in as_written:
            if wrote[p].raw is not None and wrote[p].data is not None:
                blobs[p] = repo.blob_of(self.to_git(p), wrote[p])
        return blobs

    def save_pending(self, pending: list[Entry]) -> None:
        from orchestrator.store.files import write_atomic

        data = json.dumps([asdict(e) for e in pending], indent=1).encode()
        write_atomic(self._pending_file, data, durable=False)

    def clear_pending(self) -> None:
        self._pending_file.unlink(missing_ok=True)

    # -- a change cut short ---------------------------------------------------------------

    @property
    def _intent_file(self):
        return self.layout.index_dir / "intent.json"

    def intend(self, op: str, paths: list[str], named: list[str]) -> None:
        """Note, before a file is written, what the writer is about to change (`named`:
        the files of the records its commit message names; the others are views): if
        the process dies before its commit, the next command commits it (`recover`)."""
        from orchestrator.store.files import write_atomic

        data = json.dumps(
            {"op": op, "paths": list(dict.fromkeys(paths)), "named": list(dict.fromkeys(named))}
        ).encode()
        write_atomic(self._intent_file, data, durable=False)

    def done_intending(self) -> None:
        self._intent_file.unlink(missing_ok=True)

    # -- changes seen inside a git hook --------------------------------------------------

    @property
    def _held_file(self):
        return self.layout.index_dir / "held.json"

    def hold_changes(self, rels: list[str]) -> None:
        """Inside a hook the index follows the files, but what changed outside orch is
        neither committed nor checked for a stale buffer (the user's git command is
        running): it is noted here for the next command to do both."""
        if not rels:
            return
        from orchestrator.store.files import write_atomic

        kept = self.take_held(remove=False)
        data = json.dumps(sorted(set(kept) | set(rels))).encode()
        write_atomic(self._held_file, data, durable=False)

    def has_held(self) -> bool:
        return self._held_file.exists()

    def take_held(self, remove: bool = True) -> list[str]:
        try:
            held = [str(p) for p in json.loads(self._held_file.read_text(encoding="utf-8"))]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, TypeError):
            held = []
        if remove:
            self._held_file.unlink(missing_ok=True)
        return held

    def recover(self, db: IndexDB) -> None:
        """Commit the change of a writer that stopped between writing and committing."""
        try:
            intent = json.loads(self._intent_file.read_text(encoding="utf-8"))
            op, paths = str(intent["op"]), [str(p) for p in intent["paths"]]
            named = [str(p) for p in intent.get("named", paths)]
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError):
            self.done_intending()  # unreadable: the files are committed as edits instead
            return
        note = "recovered: the process that made this change stopped before committing it"
        self.record(db, Entry(op, paths, self.changes_for(db, named), [note]))
        self.done_intending()

    # -- outside edits -----------------------------------------------------------------

    def outside(
        self, db: IndexDB, fresh: list[str], sweep: bool = False, own: list[str] = ()
    ) -> bool:
        """Commit what changed outside orch. `fresh`: the files a refresh just found
        changed. Every file changed outside orch and not committed yet is looked at for
        a stale editor buffer (also one saved since the refresh looked), but `own`: files
        orch just wrote itself (ticks applied from session.md, views). With `sweep`, also
        what is pending. With `commit: off` there is no history to merge a stale buffer
        against: a file is then taken as saved. Whether it is done (False: git is busy,
        or failed; the next sync tries again)."""
        if self.mode == "off":
            self.mark(db, [Entry(self.outside_op, fresh)], committed=False)
            return True
        try:
            repo = self.repo()
            if repo is None:
                return True
            busy = repo.busy()
            if busy:  # a merge in progress stages files: leave them to it
                self.project.warnings.append(f"{busy}: edits are committed after it")
                return False
            pending = self.load_pending()
            # path -> blobs orch wrote and has not committed, newest first
            written: dict[str, list[str]] = {}
            for e in reversed(pending):
                for path, blob in e.blobs.items():
                    written.setdefault(path, []).append(blob)
            raw = {p: r for e in pending for p, r in e.raw.items()}  # the newest write's
            waiting = {p for e in pending for p in e.paths}
            changed = {self.from_git(p): code for p, code in repo.dirty(self.prefix).items()}
            now_blobs = dict(
                db.rows_in(
                    "SELECT path, content_hash FROM file_signatures WHERE path IN ({in})",
                    list(changed),
                )
            )
            # A file orch wrote and has not committed yet is outside work only if it
            # changed since orch wrote it.
            outside = [
                p for p in changed if p not in waiting or (p in raw and now_blobs.get(p) != raw[p])
            ]
            fresh_set = set(fresh)
            # Only a tracked file changed in place can be a stale buffer.
            mine = set(own)
            edited = [p for p in outside if p not in mine and ("M" in changed[p] or p in written)]
            saves: dict[str, bytes] = {}  # rel -> a stale save, as it was before its merge
            notes = self.merge_stale(db, edited, written, saves)
            merged = self.store_saves(saves)
            # The commit holds the files as looked at here: a save landing before it is
            # made is held for the next sync (and merged if it is a stale buffer). An empty
            # record file is an editor's save caught half-way (truncated, not yet written):
            # left for the next sync rather than committed empty.
            contents = self._as_they_are(outside)
            emptied = {p for p, d in contents.items() if d == b"" and self.layout.classify(p)}
            outside = [p for p in outside if p not in emptied]
            if outside:
                # A session.md that was not among the edits is its view, regenerated.
                named = [p for p in outside if p in fresh_set or not p.endswith("/session.md")]
                # A stale buffer merged is orch's doing too: named apart, so that the next
                # stale save over it is still looked at (a person's edit never is).
                op = MERGE_OP if notes and self.outside_op == "edit" else self.outside_op
                contents = {p: d for p, d in contents.items() if p not in emptied}
                entry = Entry(op, outside, self.changes_for(db, named), notes, merged=merged)
                entry.raw = {p: None if d is None else blob_id(d) for p, d in contents.items()}
                self.record(db, entry, force=sweep, contents=contents)
            elif sweep:
                self.flush(db)
            synced = [p for p in fresh if p not in changed]
            if synced:  # changed on disk, but as committed (a checkout, a pull)
                self.mark(db, [Entry(self.outside_op, synced)], committed=True)
        except GitError as error:
            self.project.warnings.append(f"{error}; the next sync will try again")
            return False
        return True

    def _as_they_are(self, rels: list[str]) -> dict[str, bytes | None]:
        """The bytes of these files now (None: deleted); a file that cannot be read as a
        plain file is left out (committed as git finds it)."""
        from orchestrator.store.files import read_unlinked

        found: dict[str, bytes | None] = {}
        for rel in rels:
            try:
                found[rel] = read_unlinked(self.layout.root / rel)
            except FileNotFoundError:
                found[rel] = None
            except OSError:
                continue
        return found

    def edited(self, rels: list[str]) -> list[str]:
        """Which of these files differ from the last commit: edits, not a checkout. None
        while git is busy (a merge in progress owns the files). Without a repository,
        all of them."""
        try:
            if self.mode == "off":  # no repository is made for it, but one may be there
                repo = find_repo(self.layout.base)
                if repo is not None:
                    self._prefix = place_in(repo, self.layout.base)
            else:
                repo = self.repo()
            if repo is None:
                return rels
            if repo.busy():
                return []
            changed = {self.from_git(p) for p in repo.dirty(self._prefix)}
        except GitError:
            return rels
        return [r for r in rels if r in changed]

    def merge_stale(
        self,
        db: IndexDB,
        rels: list[str],
        written: dict[str, list[str]],
        saves: dict[str, bytes] | None = None,
    ) -> list[str]:
        """Find files saved from a stale editor buffer and merge each with the newest
        version; returns notes for the commit message. `written`: blobs orch wrote and
        has not committed yet, newest first (the newest versions of those files).

        A file is taken for a stale buffer when the newest version is orch's (an
        operation's commit, not an edit's) and the file provably started from an older
        committed version (`stale_base`: it has none of the changes made since): what
        changed since was done meanwhile and must be kept. A file holding any of those
        changes was made from the newest, and a file equal to an older version is a
        deliberate revert: both are left alone. Every merge is said in a warning."""
        from orchestrator.index.refresh import Indexer

        repo = self.repo()
        notes, merged = [], []
        for rel in rels:
            if self.layout.classify(rel) is None:
                continue
            path = self.layout.root / rel
            versions, newest_op = repo.versions(self.to_git(rel), STALE_DEPTH)
            if rel in written:
                versions = list(dict.fromkeys([*written[rel], *versions]))
            elif newest_op in ("", "edit"):
                continue  # the newest version is a person's, not an agent's
            texts = repo.read_texts(versions)
            merge = self._merge_stale_file(path, texts)
            if merge is None:
                continue
            result, saved = merge
            if saves is not None:
                saves[rel] = saved
            merged.append(rel)
            note = (
                f"{rel}: saved from an older version (a stale editor buffer?); merged with"
                " the newest, so the changes made since are kept"
            )
            if not result.clean:
                what = ", ".join(result.conflicts) or "the text"
                note += f" (conflict in {what}: see `orch conflicts`)"
            self.project.warnings.append(note)
            notes.append(note)
        if merged:
            Indexer(self.layout, db).refresh(paths=merged)
        return notes

    def _merge_stale_file(self, path, texts: list[str]) -> tuple[MergeResult, bytes] | None:
        """Merge the file at `path` with the newest of `texts` if it is a stale buffer of
        an older one; the merge and the bytes merged, or None if it is not one. A save
        landing meanwhile is merged in turn, never overwritten."""
        from orchestrator.store.files import read_held, replace_checked
        from orchestrator.store.merge import merge_texts

        for _round in range(STALE_ROUNDS):
            try:
                held, data = read_held(path, self.layout.base)
            except OSError:
                return None
            if held is None:
                return None
            if not data:  # an in-place save caught half-way: never merged as a file emptied
                os.close(held)
                return None
            mine = data.decode("utf-8", errors="replace")
            best = stale_base(texts, mine)
            if best is None:
                os.close(held)
                return None
            result = merge_texts(texts[best], texts[0], mine)
            try:
                other = replace_checked(
                    path, result.text.encode("utf-8"), held, data, within=self.layout.base
                )
            except OSError:
                return None  # deleted, or not a file any more: the next sync sees it
            if other is None:
                return result, data
        return None  # still changing: the next sync looks again

    def changes_for(self, db: IndexDB, rels: list[str]) -> list[Change]:
        """The records behind some record files, with their titles from the index."""
        by_kind: dict[str, list[str]] = {}
        for rel in rels:
            role = self.layout.classify(rel)
            if role is not None and role.kind in TABLE:
                by_kind.setdefault(role.kind, []).append(role.record_id)
        changes = []
        for kind, ids in by_kind.items():
            id_key, title_key = ID_KEY[kind], TITLE_KEY[kind]
            session = "session_id" if kind != "session" else f"{id_key} AS session_id"
            titles = {
                r[id_key]: r
                for r in db.query_in(
                    f"SELECT {id_key}, {title_key}, {session} FROM {TABLE[kind]}"
                    f" WHERE {id_key} IN ({{in}})",
                    ids,
                )
            }
            for record_id in ids:
                row = titles.get(record_id) or {}
                changes.append(
                    Change(kind, record_id, row.get("session_id"), row.get(title_key) or "")
                )
        return changes

    # -- markdown_sync_state -------------------------------------------------------------

    def mark(self, db: IndexDB, entries: list[Entry], committed: bool) -> None:
        """Record, per record file of a session, the sync just made (or pending)."""
        rows: dict[str, tuple[str, str, bool]] = {}  # path -> (session, direction, committed)
        resolutions = {p: e.resolution for e in entries for p in e.paths if e.resolution}
        for entry in entries:
            direction = "md" if entry.op in (self.outside_op, "edit", MERGE_OP) else "db"
            for rel in entry.paths:
                role = self.layout.classify(rel)
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
            row = dict(old.get(rel) or {})
            row.update(sync_id=rel, session_id=session_id, markdown_file_path=rel)
            row["md_content_hash"] = digest
            row["db_content_hash"] = digest
            row["last_file_modification"] = stamp
            row["last_md_to_db_sync" if direction == "md" else "last_db_to_md_sync"] = stamp
            if rel in conflicted:
                status = "conflict"
            elif done:
                status = "synchronized"
            else:
                status = "md_newer" if direction == "md" else "db_newer"
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


def place_in(repo: Repo, folder) -> str:
    """Where `folder` is in the repository's work tree ("." for its top)."""
    return os.path.relpath(folder.resolve(), repo.top)


def stale_base(texts: list[str], mine: str) -> int | None:
    """Which older version (of `texts`, newest first) `mine` is provably an editor's stale
    buffer of, or None.

    It is one of version i when it holds none of the new text of any change made since
    i (a file made from the newest holds some: at least the newest's last_updated_at),
    and still has i's text on at least one of those changes. Where several versions are,
    the one whose changes it touched least (it has i's text on the most of them), the
    oldest on a tie. A change it touched too merges as a conflict. A file equal to a
    version is a deliberate revert: None."""
    if mine in texts or len(texts) < 2:
        return None
    import difflib

    newest, lines = texts[0].splitlines(), mine.splitlines()
    new_kept = _kept_lines(newest, lines)
    best: tuple[int, int] | None = None  # (changes touched, -i)
    for i in range(1, len(texts)):
        older = texts[i].splitlines()
        old_kept = _kept_lines(older, lines)
        changes = [
            op
            for op in difflib.SequenceMatcher(None, older, newest, autojunk=False).get_opcodes()
            if op[0] != "equal"
        ]
        if not changes:
            continue
        touched = 0
        for _tag, i1, i2, j1, j2 in changes:
            old = [k for k in range(i1, i2) if older[k].strip()]
            new = [k for k in range(j1, j2) if newest[k].strip()]
            if any(new_kept[k] for k in new) or (
                old and not new and not any(old_kept[k] for k in old)
            ):
                break  # it has this change (a deletion: it lacks what was deleted)
            touched += bool(old) and not all(old_kept[k] for k in old)
        else:
            if touched < len(changes) and (best is None or (touched, -i) <= best):
                best = (touched, -i)
    return None if best is None else -best[1]


def _kept_lines(older: list[str], lines: list[str]) -> list[bool]:
    """Which lines of `older` stand unchanged in `lines`."""
    import difflib

    kept = [False] * len(older)
    for tag, i1, i2, _j1, _j2 in difflib.SequenceMatcher(
        None, older, lines, autojunk=False
    ).get_opcodes():
        if tag == "equal":
            kept[i1:i2] = [True] * (i2 - i1)
    return kept
