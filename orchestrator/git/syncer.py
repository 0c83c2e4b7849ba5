"""Sync: every change to the orchestrator files becomes a git commit (ARCHITECTURE.md).

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
from collections.abc import Callable, Collection
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.config import Config
from orchestrator.errors import Hint, Said
from orchestrator.git import HELD_FILE, PENDING_FILE
from orchestrator.git.broken import as_they_are, broken, left_out
from orchestrator.git.commits import (
    MERGE_OP,
    Change,
    Entry,
    changes_for,
    message,
    outside_entries,
)
from orchestrator.git.repo import GitError, Repo, Wrote, find_repo, git_available, init_repo
from orchestrator.git.stale import STALE_DEPTH, merge_stale_buffer, stale_note, started_from
from orchestrator.git.sync_state import mark_synced
from orchestrator.index.refresh import Indexer
from orchestrator.layout import ORCH_DIR, Layout
from orchestrator.model import Problem
from orchestrator.store.files import (
    blob_id,
    read_held,
    replace_checked,
    write_atomic,
)
from orchestrator.store.merge import MergeResult

if TYPE_CHECKING:
    from orchestrator.index.engine import IndexDB

STALE_ROUNDS = 10  # merges of a stale buffer tried while saves keep landing on it


class Syncer:
    """Commits one project's syncs, the way its config says (commit: every-sync | batch |
    off). Commits that fail (git missing, a merge in progress) become warnings: the
    change is in the files, and the next sync commits it."""

    def __init__(self, layout: Layout, config: Config, warn: Callable[[str], None]):
        """`config`: the project's settings (commit, commit_window); `warn`: where what a
        person should hear about, but that does not stop the command, goes."""
        self.layout = layout
        self.config = config
        self.warn = warn
        self.commits: list[str] = []  # made by this process, oldest first
        self.outside_op = "edit"  # what an outside change is called in its commit
        self._repo: Repo | None = None
        self._looked = False  # for the repository, yet
        self._prefix = "."
        self.hold = False  # never commit (inside a git hook)

    @property
    def mode(self) -> str:
        # A git hook runs inside a git command of the user's: it may write and stage
        # files, but a commit of orch's own would land in the middle of theirs.
        return "off" if self.hold else self.config.commit

    def repo(self) -> Repo | None:
        """The repository holding .task_orchestrator/; if there is none, the folder is
        made a repository of its own. None if git is not installed."""
        if not self._looked:
            self._repo, self._looked = self._find_repo(), True
        return self._repo

    def _find_repo(self) -> Repo | None:
        base = self.layout.base
        if not git_available():
            self.warn("git is not installed: changes are written to the files but not committed")
            return None
        repo = find_repo(base)
        if repo is not None and (inside := place_in(repo, base)) != "." and repo.ignored([inside]):
            repo = None  # the enclosing repository does not want these files
        if repo is None:
            repo = init_repo(base)
            self.warn(
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
        entry: Entry | list[Entry],
        force: bool = False,
        contents: dict[str, bytes | None] | None = None,
    ) -> str | None:
        """Commit a sync (or several, together) with any still pending, or keep it
        pending in batch mode until the window has passed. `contents`: the bytes the
        operation wrote (rel -> bytes, None for a deleted file), which the commit holds.
        Returns the new commit, if one was made."""
        entries = entry if isinstance(entry, list) else [entry]
        if self.mode == "off":
            self.mark(db, entries, committed=False)
            return None
        pending = [*self.load_pending(), *entries]
        window_ns = self.config.commit_window * 1e9
        if self.mode == "batch" and not force and time.time_ns() - pending[0].at_ns < window_ns:
            self.pend(pending, contents)
            self.mark(db, entries, committed=False)
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
        window_ns = self.config.commit_window * 1e9
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
                fix="a sync commits them" + ("" if not due else "; a sync says what stops it"),
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
            self._looked = False
            repo = None
            self.warn(f"{error}; changes are in the files, not committed")
        if repo is None:
            self.mark(db, pending, committed=False)
            return None
        busy = repo.busy()
        if busy:
            self.pend(pending, contents)
            self.mark(db, pending, committed=False)
            self.warn(
                Said(
                    f"{busy}: orch's change is in the files and will be committed by the"
                    " first change after that (or a sync)",
                    Hint("sync"),
                )
            )
            return None
        paths = list(dict.fromkeys(p for e in pending for p in e.paths))
        if self.prefix != ".":  # the user's repository: respect what it ignores
            ignored = {self.from_git(p) for p in repo.ignored([self.to_git(p) for p in paths])}
            if ignored:
                self.warn(
                    f"not committed, the repository ignores them: {', '.join(sorted(ignored))}"
                )
                paths = [p for p in paths if p not in ignored]
        # A path git cannot take (now a folder, or behind a symbolic link) would fail
        # every commit from now on: it is left out, and said so.
        unfit = [p for p in paths if not self._committable(p)]
        if unfit:
            self.warn(
                f"not committed, not a file inside {ORCH_DIR}/ (a folder, or behind a"
                f" symbolic link): {', '.join(unfit)}"
            )
            paths = [p for p in paths if p not in unfit]
        by_path = self._wrote(pending, contents)
        paths = self._loose_checked(db, paths, by_path)
        kept = set(paths)
        wrote = {self.to_git(p): w for p, w in by_path.items() if p in kept}
        try:
            commit, strayed = repo.commit([self.to_git(p) for p in paths], message(pending), wrote)
        except GitError as error:
            self.pend(pending, contents)
            self.mark(db, pending, committed=False)
            self.warn(f"{error}; the change is in the files and the next sync will commit it")
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

    def _loose_checked(self, db: IndexDB, paths: list[str], wrote: dict[str, Wrote]) -> list[str]:
        """`paths` but the broken files among those no sync says the bytes of (a change
        recovered, a sync kept by an older orch): each is read once, and the commit holds
        what was read (added to `wrote`)."""
        loose = as_they_are(self.layout, [p for p in paths if p not in wrote])
        if not loose:
            return paths
        found = broken(self.layout, db, loose, self._hashes(db, list(loose)))
        for warning in left_out(found):
            self.warn(warning)
        for rel, data in loose.items():
            if rel not in found:
                wrote[rel] = Wrote(None if data is None else blob_id(data), data)
        return [p for p in paths if p not in found]

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
        return self.layout.index_dir / PENDING_FILE

    def load_pending(self) -> list[Entry]:
        try:
            raw = json.loads(self._pending_file.read_text(encoding="utf-8"))
            return [Entry(**{**e, "changes": [Change(**c) for c in e["changes"]]}) for e in raw]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, TypeError, KeyError):
            # Only the messages are lost: the files themselves are committed by `orch sync`.
            self.warn(
                f"{self.layout.rel(self._pending_file)} is damaged; its changes will be committed"
                " as edits by a sync"
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
        data = json.dumps(
            {"op": op, "paths": list(dict.fromkeys(paths)), "named": list(dict.fromkeys(named))}
        ).encode()
        write_atomic(self._intent_file, data, durable=False)

    def done_intending(self) -> None:
        self._intent_file.unlink(missing_ok=True)

    # -- changes seen inside a git hook --------------------------------------------------

    @property
    def _held_file(self):
        return self.layout.index_dir / HELD_FILE

    def hold_changes(self, rels: list[str]) -> None:
        """Inside a hook the index follows the files, but what changed outside orch is
        neither committed nor checked for a stale buffer (the user's git command is
        running): it is noted here for the next command to do both."""
        if not rels:
            return
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
        self.record(db, Entry(op, paths, changes_for(self.layout, db, named), [note]))
        self.done_intending()

    # -- outside edits -----------------------------------------------------------------

    def outside(
        self,
        db: IndexDB,
        fresh: list[str],
        sweep: bool = False,
        own: Collection[str] = (),
        titles: dict[str, tuple[str | None, str]] | None = None,
        name_broken: bool = True,
    ) -> bool:
        """Commit what changed outside orch. `fresh`: the files a refresh just found
        changed. Every file changed outside orch and not committed yet is looked at for
        a stale editor buffer (also one saved since the refresh looked), but `own`: files
        orch just wrote itself (ticks applied from session.md, views). A broken file is
        left out (git/broken.py), whoever wrote it last, and those in `fresh` are named
        in warnings (unless not to `name_broken`). With `sweep`, also what is
        pending. `titles`: (session, title) of the records whose files the refresh found
        deleted, as the index had them. With `commit: off` there is no history to merge
        a stale buffer against: a file is then taken as saved. Whether it is done
        (False: git is busy, or failed; the next sync tries again)."""
        if self.mode == "off":
            self.mark(db, [Entry(self.outside_op, fresh)], committed=False)
            return True
        try:
            repo = self.repo()
            if repo is None:
                return True
            busy = repo.busy()
            if busy:  # a merge in progress stages files: leave them to it
                self.warn(f"{busy}: edits are committed after it")
                return False
            pending = self.load_pending()
            written = self.written(pending)
            raw = {p: r for e in pending for p, r in e.raw.items()}  # the newest write's
            waiting = {p for e in pending for p in e.paths}
            changed = {self.from_git(p): code for p, code in repo.dirty(self.prefix).items()}
            # A file orch wrote and has not committed yet is outside work only if it
            # changed since orch wrote it.
            now_blobs = self._hashes(db, list(changed))
            outside = [
                p for p in changed if p not in waiting or (p in raw and now_blobs.get(p) != raw[p])
            ]
            # Only a tracked file changed in place can be a stale buffer.
            mine = set(own)
            edited = [p for p in outside if p not in mine and ("M" in changed[p] or p in written)]
            saves: dict[str, bytes] = {}  # rel -> a stale save, as it was before its merge
            notes = self.merge_stale(db, edited, written, saves)
            merged = self.store_saves(saves)
            if saves:  # indexed again since
                now_blobs.update(self._hashes(db, list(saves)))
            # The commit holds the files as looked at here: a save landing before it is
            # made is held for the next sync (and merged if it is a stale buffer). An empty
            # record file is an editor's save caught half-way (truncated, not yet written):
            # left for the next sync rather than committed empty. A broken file is left
            # as it is until it is fixed.
            contents = as_they_are(self.layout, outside)
            emptied = {p for p, d in contents.items() if d == b"" and self.layout.classify(p)}
            found = broken(self.layout, db, contents, now_blobs)
            if name_broken:  # each when it is found broken, not at every sync after
                fresh_set = set(fresh)
                for warning in left_out({p: v for p, v in found.items() if p in fresh_set}):
                    self.warn(warning)
            outside = [p for p in outside if p not in emptied and p not in found]
            if outside:
                contents = {p: d for p, d in contents.items() if p in outside}
                # A stale buffer merged is orch's doing too: named apart, so that the next
                # stale save over it is still looked at (a person's edit never is).
                op = MERGE_OP if notes and self.outside_op == "edit" else self.outside_op
                entries = outside_entries(self.layout, db, op, outside, fresh, contents, titles)
                entries[0].notes, entries[0].merged = notes, merged  # the merges' sync
                self.record(db, entries, force=sweep, contents=contents)
            elif sweep:
                self.flush(db)
            synced = [p for p in fresh if p not in changed]
            if synced:  # changed on disk, but as committed (a checkout, a pull)
                self.mark(db, [Entry(self.outside_op, synced)], committed=True)
        except GitError as error:
            self.warn(f"{error}; the next sync will try again")
            return False
        return True

    @staticmethod
    def _hashes(db: IndexDB, rels: list[str]) -> dict[str, str]:
        """path -> the content hash the index holds, of these files."""
        sql = "SELECT path, content_hash FROM file_signatures WHERE path IN ({in})"
        return dict(db.rows_in(sql, rels))

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
        notes, merged = [], []
        repo = self.repo() if rels else None
        for rel in rels:
            if self.layout.classify(rel) is None:
                continue
            blobs, by_orch = self.versions(rel, written.get(rel, []))
            if not by_orch or repo is None:
                continue  # the newest version is a person's, not an agent's: not read
            texts = repo.read_texts(blobs)
            merge = self._merge_stale_file(self.layout.root / rel, texts)
            if merge is None:
                continue
            result, saved = merge
            if saves is not None:
                saves[rel] = saved
            merged.append(rel)
            note = stale_note(rel, result)
            self.warn(note)
            notes.append(note)
        if merged:
            Indexer(self.layout, db).refresh(paths=merged)
        return notes

    def history(self, rel: str, written: list[str] | None = None) -> tuple[list[str], bool]:
        """The texts of a file's latest versions, newest first, and whether the newest is
        orch's (an operation's, not a person's edit). `written`: blobs orch wrote and has
        not committed yet, newest first (by default, those of the pending syncs): they
        come before the committed versions. ([], False) without a repository."""
        blobs, by_orch = self.versions(rel, written)
        repo = self.repo()
        return (repo.read_texts(blobs) if repo is not None and blobs else []), by_orch

    def versions(self, rel: str, written: list[str] | None = None) -> tuple[list[str], bool]:
        """The blob ids behind `history`, newest first, and whether the newest is orch's;
        ([], False) without a repository."""
        repo = self.repo()
        if repo is None:
            return [], False
        if written is None:
            written = self.written(self.load_pending()).get(rel, [])
        versions, newest_op = repo.versions(self.to_git(rel), STALE_DEPTH)
        by_orch = bool(written) or newest_op not in ("", "edit")
        return list(dict.fromkeys([*written, *versions])), by_orch

    @staticmethod
    def written(pending: list[Entry]) -> dict[str, list[str]]:
        """path -> blobs orch wrote in these syncs and has not committed, newest first."""
        found: dict[str, list[str]] = {}
        for e in reversed(pending):
            for path, blob in e.blobs.items():
                found.setdefault(path, []).append(blob)
        return found

    def _merge_stale_file(self, path: Path, texts: list[str]) -> tuple[MergeResult, bytes] | None:
        """Merge the file at `path` with the newest of `texts` if it is a stale buffer of
        an older one; the merge and the bytes merged, or None if it is not one. A save
        landing meanwhile is merged in turn, never overwritten."""
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
            best = started_from(texts, mine)
            if not best:
                os.close(held)
                return None
            result = merge_stale_buffer(texts[best], texts[0], mine)
            try:
                other = replace_checked(
                    path, result.text.encode("utf-8"), held, data, within=self.layout.base
                )
            except OSError:
                return None  # deleted, or not a file any more: the next sync sees it
            if other is None:
                return result, data
        return None  # still changing: the next sync looks again

    # -- markdown_sync_state -------------------------------------------------------------

    def mark(self, db: IndexDB, entries: list[Entry], committed: bool) -> None:
        """Record, per record file of a session, the sync just made (or pending)."""
        outside = {e.op for e in entries if e.op in (self.outside_op, "edit", MERGE_OP)}
        mark_synced(db, self.layout, entries, committed, outside)


def place_in(repo: Repo, folder) -> str:
    """Where `folder` is in the repository's work tree ("." for its top)."""
    return os.path.relpath(folder.resolve(), repo.top)
