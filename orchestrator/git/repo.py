"""The git repository that holds a project's .task_orchestrator/ folder.

orch commits only its own files and never touches the user's other work: a commit is
built in a private git index (`.index/git-index`) that starts from HEAD and takes just the
orchestrator paths of this sync, then the branch moves with a compare-and-swap
(`update-ref NEW OLD`), and the user's own index is updated for those paths alone. What
the user staged or left unstaged elsewhere stays exactly as it was.

Plumbing through `git` subprocesses (about 1 ms each here) rather than GitPython: the
same processes GitPython would start, without its import time on every command.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.errors import OrchError
from orchestrator.git.private_index import SPLIT, SPLIT_ENV, PrivateIndex, branch_tip
from orchestrator.store.files import blob_id

if TYPE_CHECKING:
    import subprocess

# subprocess and shutil are imported where used: a read command never starts git, and
# importing them would cost it 10 ms.

# Used only when git has no user.name/user.email configured (a fresh machine, CI): a
# commit with this identity beats a sync that cannot be recorded at all.
FALLBACK_IDENTITY = {
    "GIT_AUTHOR_NAME": "orch",
    "GIT_AUTHOR_EMAIL": "orch@localhost",
    "GIT_COMMITTER_NAME": "orch",
    "GIT_COMMITTER_EMAIL": "orch@localhost",
}
PLAIN_MESSAGES = {"LC_ALL": "C", "LANGUAGE": ""}
# While git is in the middle of one of these, a commit of orch's would land inside it.
BUSY_MARKERS = {
    "MERGE_HEAD": "a merge",
    "rebase-merge": "a rebase",
    "rebase-apply": "a rebase",
    "CHERRY_PICK_HEAD": "a cherry-pick",
    "REVERT_HEAD": "a revert",
    "BISECT_LOG": "a bisect",
}
# How to end each of those (said when orch refuses to write during one).
ENDINGS = {
    "MERGE_HEAD": "git merge --continue, or git merge --abort",
    "rebase-merge": "git rebase --continue, or git rebase --abort",
    "rebase-apply": "git rebase --continue, or git rebase --abort",
    "CHERRY_PICK_HEAD": "git cherry-pick --continue, or git cherry-pick --abort",
    "REVERT_HEAD": "git revert --continue, or git revert --abort",
    "BISECT_LOG": "git bisect reset",
}
# Variables that point git at another repository than the folder's own.
GIT_ENV = {"GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR"}
# Stage the work-tree state of the paths given on its input.
UPDATE_INDEX = ("update-index", "--add", "--remove", "-z", "--stdin")
PIPE_SIZE = 4096  # bytes a pipe always takes before its reader reads (one page)
# zlib levels of the objects orch writes loose, until `git gc` packs them (packs keep
# their own setting). Blobs at the fastest level, not git's default: a 10,000-task
# session.md (840 KB) compresses in 13.5 ms, not 34, to 190 KB, not 126. Trees not at
# all: a tree is mostly object ids, which do not compress (the tree of a 10,000-task
# folder: 288 KB at level 1, 410 KB stored), and compressing it was 11 of the 19 ms of
# `write-tree`. Measured 2026-12-02 on a 10,000-task project.
BLOB_COMPRESSION = 1
TREE_COMPRESSION = 0


class GitError(OrchError):
    """A git command failed; the message carries git's own words."""


# A lock is taken for stale (left by a killed git) only when no live git process works in
# the repository and it is at least this old: git closes a lock file while it still holds
# it (`git commit -a` waiting for its editor), so an open descriptor proves nothing.
STALE_LOCK_AGE = 2.0
# One of another user's, whose processes this one may not see, only once this old.
FOREIGN_LOCK_AGE = 60.0
# How long a commit waits for a live git process to let go of a lock.
HELD_LOCK_WAIT = 2.0


@dataclass
class Wrote:
    """What orch wrote to a path, which its commit must hold whatever the file holds by
    then: `raw` is blob_id of the bytes (None: orch deleted the file); `data` the bytes
    when this process wrote them, `blob` git's blob id once stored (for a write an
    earlier process left pending)."""

    raw: str | None
    data: bytes | None = None
    blob: str | None = None


@dataclass
class Lock:
    """A git lock file found in the way."""

    path: Path
    holders: list[int]  # live git processes working in the repository (as far as seen)
    stale: bool  # its owner is gone: safe to remove


def inspect_lock(path: Path, repo_dirs: list[Path]) -> Lock | None:
    """The lock at `path`, if there is one, and whether its owner is gone: no live git
    process works in the repository (its current folder in one of `repo_dirs`: the work
    tree, the git folders) and the lock is older than STALE_LOCK_AGE (FOREIGN_LOCK_AGE
    for another user's lock, or where processes cannot be looked at)."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    age = time.time() - st.st_mtime
    holders = _git_processes(repo_dirs)
    if holders is None:  # no /proc to ask: age alone
        return Lock(path, [], age > FOREIGN_LOCK_AGE)
    bound = STALE_LOCK_AGE if st.st_uid == os.getuid() else FOREIGN_LOCK_AGE
    return Lock(path, holders, not holders and age > bound)


def _git_processes(repo_dirs: list[Path]) -> list[int] | None:
    """The live git processes whose current folder is in one of `repo_dirs` (Linux
    /proc); None where that cannot be asked. A git process whose folder cannot be read
    (another user's) counts: it may be working here."""
    proc = Path("/proc")
    if not (proc / "self" / "cwd").exists():
        return None
    roots = [str(d.resolve()) for d in repo_dirs]
    found = []
    for entry in os.scandir(proc):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry.name}/comm", "rb") as f:
                if not f.read().startswith(b"git"):
                    continue
            cwd = os.readlink(f"/proc/{entry.name}/cwd")
        except FileNotFoundError:
            continue  # ended meanwhile
        except OSError:
            found.append(int(entry.name))
            continue
        if any(cwd == root or cwd.startswith(root + os.sep) for root in roots):
            found.append(int(entry.name))
    return found


def locked_by(said: str) -> Path | None:
    """The lock file a git error message says is in the way (git: "Unable to create
    '/repo/.git/index.lock': File exists")."""
    import re

    found = re.search(r"Unable to create '([^']+\.lock)': File exists", said)
    return Path(found.group(1)) if found else None


def clear_stale_lock(path: Path, repo_dirs: list[Path]) -> Lock | None:
    """Remove the lock at `path` if its owner is gone (see inspect_lock); the lock still
    in the way (None if there is none now). The lock is moved aside first and removed
    only if it is the very file looked at: one a new git made meanwhile is put back."""
    lock = inspect_lock(path, repo_dirs)
    if lock is None or not lock.stale:
        return lock
    looked = path.lstat()
    aside = path.with_name(f"{path.name}.orch-stale-{os.getpid()}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return None
    moved = aside.lstat()
    if (moved.st_dev, moved.st_ino) != (looked.st_dev, looked.st_ino):
        with contextlib.suppress(FileExistsError):
            os.link(aside, path)  # a new git's lock: back in its place
        aside.unlink(missing_ok=True)
        return inspect_lock(path, repo_dirs)
    aside.unlink(missing_ok=True)
    return None


def git_available() -> bool:
    return _program(os.environ.get("PATH")) is not None


@cache
def _program(path: str | None) -> str | None:
    """git's executable on this PATH, found once: else each of a commit's five git
    processes tries every folder of PATH before git's (~0.3 ms each)."""
    import shutil

    return shutil.which("git", path=path)


@dataclass
class Repo:
    """A git work tree: `top` is its top folder, `git_dir` its .git folder."""

    top: Path
    git_dir: Path
    private_index: Path | None = None  # where orch builds its commits

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
        private: bool = False,
        literal: bool = True,
        compression: int = BLOB_COMPRESSION,
    ) -> subprocess.CompletedProcess:
        import subprocess

        call = self._call(args, env, private, literal, compression)
        done = subprocess.run(**call, input=input, capture_output=True)
        if check and done.returncode != 0:
            raise GitError(f"git {args[0]} failed: {done.stderr.decode(errors='replace').strip()}")
        return done

    def _call(
        self,
        args: tuple[str, ...],
        env: dict[str, str] | None,
        private: bool,
        literal: bool,
        compression: int = BLOB_COMPRESSION,
    ) -> dict:
        # git's messages in English whatever the user's language: orch reads some of them
        # (a lock in the way, a missing identity, a rejected push).
        full_env = {**os.environ, **PLAIN_MESSAGES, **(env or {})}
        # Paths are file names, never patterns (check-ignore refuses the option).
        git = _program(full_env.get("PATH")) or "git"
        argv = [git, *(["--literal-pathspecs"] if literal else []), "-c", "core.quotepath=off"]
        argv += ["-c", f"core.looseCompression={compression}"]
        if private:
            full_env |= {"GIT_INDEX_FILE": str(self.private_index), **SPLIT_ENV}
            argv += SPLIT
        return {"args": [*argv, *args], "cwd": self.top, "env": full_env}

    def out(self, *args: str, **kwargs) -> str:
        return self.run(*args, **kwargs).stdout.decode("utf-8", errors="replace").strip()

    # -- reading -----------------------------------------------------------------------

    def head(self) -> tuple[str | None, str | None]:
        """(commit, tree) of HEAD, or (None, None) on a branch with no commit yet."""
        done = self.run("rev-parse", "HEAD^{commit}", "HEAD^{tree}", check=False)
        lines = done.stdout.decode().split()
        if done.returncode != 0 or len(lines) != 2:
            return None, None
        return lines[0], lines[1]

    def ignored(self, paths: list[str]) -> set[str]:
        """The untracked paths among `paths` that the repository's ignore rules exclude."""
        done = self.run(
            "check-ignore",
            "-z",
            "--stdin",
            input="".join(f"{p}\0" for p in paths).encode(),
            check=False,
            literal=False,
        )
        return {p for p in done.stdout.decode().split("\0") if p}

    def operation(self) -> tuple[str, str] | None:
        """The git operation stopped half-way in this work tree (a merge, a rebase, ...),
        and how to end it; None if none."""
        for marker, operation in BUSY_MARKERS.items():
            if (self.git_dir / marker).exists():
                return operation, ENDINGS[marker]
        return None

    def busy(self) -> str | None:
        """What keeps orch from committing now: git in the middle of a merge, a rebase
        or a bisect, or a detached HEAD (a commit there would be left behind by the next
        checkout). None if nothing."""
        stopped = self.operation()
        if stopped is not None:
            return f"git is in the middle of {stopped[0]}"
        try:
            if not (self.git_dir / "HEAD").read_text(encoding="utf-8").startswith("ref:"):
                return "HEAD is detached (no branch is checked out)"
        except OSError:
            pass
        return None

    @property
    def common_dir(self) -> Path:
        """The folder holding the refs and objects (a linked worktree's git_dir names it
        in its `commondir` file)."""
        try:
            named = (self.git_dir / "commondir").read_text(encoding="utf-8").strip()
        except OSError:
            return self.git_dir
        return (self.git_dir / named).resolve()

    @property
    def dirs(self) -> list[Path]:
        """Where a git process working in this repository has its current folder."""
        return list(dict.fromkeys([self.top, self.git_dir, self.common_dir]))

    def branch_locks(self) -> list[Path]:
        """Where a git moving the checked-out branch puts its lock files."""
        try:
            head = (self.git_dir / "HEAD").read_text(encoding="utf-8").strip()
        except OSError:
            return []
        locks = [self.git_dir / "HEAD.lock"]
        if head.startswith("ref: refs/"):
            locks.append(self.common_dir / f"{head[5:]}.lock")
        return locks

    def locks(self) -> list[Lock]:
        """The git locks in orch's way now: the user's index, the branch, orch's private
        index."""
        paths = [self.git_dir / "index.lock", *self.branch_locks()]
        if self.private_index is not None:
            paths.append(self.private_lock)
        return [lock for p in paths if (lock := inspect_lock(p, self.dirs)) is not None]

    def read_blobs(self, shas: list[str]) -> dict[str, bytes]:
        """The content of each blob, read in one `cat-file --batch`."""
        if not shas:
            return {}
        done = self.run("cat-file", "--batch", input="".join(f"{s}\n" for s in shas).encode())
        data, found, at = done.stdout, {}, 0
        for sha in shas:
            header_end = data.index(b"\n", at)
            header = data[at:header_end].split()
            if header[1] == b"missing":
                at = header_end + 1
                continue
            size = int(header[2])
            found[sha] = data[header_end + 1 : header_end + 1 + size]
            at = header_end + 1 + size + 1
        return found

    def read_texts(self, shas: list[str]) -> list[str]:
        """The blobs as text, in the order given (one missing from the object database is
        left out)."""
        found = self.read_blobs(shas)
        return [found[s].decode("utf-8", errors="replace") for s in shas if s in found]

    def versions(self, path: str, limit: int) -> tuple[list[str], str]:
        """Blob ids of the last `limit` committed versions of `path`, newest first, and
        the Orch-Op trailer of the newest commit that touched it ("" if none). A commit
        that merged editor saves in names them (Orch-Merged): they come right after its
        own version, as versions a later save from the same buffer may have started from."""
        done = self.run(
            "log",
            f"-n{limit}",
            "--format=%H%x09%(trailers:key=Orch-Op,valueonly,separator=%x2C)"
            "%x09%(trailers:key=Orch-Merged,valueonly,separator=%x2C)",
            "--",
            path,
            check=False,
        )
        rows = [line.split("\t") for line in done.stdout.decode().splitlines() if line.strip()]
        if done.returncode != 0 or not rows:
            return [], ""
        lines = "".join(f"{row[0]}:{path}\n" for row in rows).encode()
        checked = self.run("cat-file", "--batch-check=%(objectname) %(objecttype)", input=lines)
        blobs = [
            sha if kind == "blob" else None
            for sha, _, kind in (
                line.partition(" ") for line in checked.stdout.decode().splitlines()
            )
        ]
        if not blobs or blobs[0] is None:
            return [], ""  # deleted by the newest commit that touched it
        found = []
        for blob, row in zip(blobs, rows, strict=False):
            if blob:
                found.append(blob)
            if len(row) > 2:
                found += [s.strip() for s in row[2].split(",") if s.strip()]
        newest_op = rows[0][1].strip() if len(rows[0]) > 1 else ""
        return list(dict.fromkeys(found)), newest_op

    def store(self, paths: list[str]) -> list[str]:
        """Write the files at `paths` into git's object database; their blob ids."""
        if not paths:
            return []
        listed = "".join(f"{p}\n" for p in paths).encode()
        return self.out("hash-object", "-w", "--stdin-paths", input=listed).split()

    def dirty(self, folder: str) -> dict[str, str]:
        """Files under `folder` that differ from HEAD in the work tree, each with its
        two-letter `git status` code (` M` changed, `??` new, ` D` deleted, ...); ignored
        files left out. Uses git's stat cache, so it is cheap."""
        # Without --no-optional-locks: git may write back the stat data it refreshed,
        # which keeps the next status cheap.
        done = self.run(
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
            "--no-renames",
            "--",
            folder,
        )
        return {e[3:]: e[:2] for e in done.stdout.decode().split("\0") if len(e) > 3}

    # -- writing -----------------------------------------------------------------------

    def commit(
        self, paths: list[str], message: str, wrote: dict[str, Wrote] | None = None
    ) -> tuple[str | None, list[str]]:
        """Commit `paths` (files changed, added or deleted) on top of HEAD, and nothing
        else: each as orch wrote it where `wrote` says (an editor may have saved over it
        since), else as the work tree has it. Returns the new commit (None if those paths
        already match HEAD) and the paths whose file is no longer what orch wrote: the
        commit holds orch's version, and the file is an edit for the next sync. Retries if
        someone moved HEAD meanwhile."""
        wrote = wrote or {}
        self._clear_private_lock()
        # The user's index takes the files while the commit is built in the private one
        # (a 10,000-file index costs each process milliseconds to read and write), and
        # before the branch moves: a `git commit` of theirs racing this one then takes
        # orch's new files along instead of committing the old ones back. Before a
        # return that makes no commit too: their index may still hold older versions.
        started, waited, rebuilt = self._start_add(paths), False, False
        strayed: list[str] = []
        try:
            for _attempt in range(5):
                try:
                    head, head_tree = self._head_for_commit()
                    self._private_index_at(head, head_tree)
                    self._private.forget()  # until this attempt succeeds, rebuild it next time
                    self._add(paths, private=True)
                    strayed = self.strayed(wrote)
                    self._put(strayed, wrote, private=True)
                    # Every blob is there: HEAD's, and those just written (hash-object
                    # -w, update-index --add). Not looking each one up again saves a third
                    # of the commit of a 10,000-file folder (10,000 lookups of loose
                    # objects).
                    tree = self.out(
                        "write-tree", "--missing-ok", private=True, compression=TREE_COMPRESSION
                    )
                except GitError:
                    if rebuilt:
                        raise
                    # The private index kept from an earlier command may be unreadable
                    # (damaged, cut short): built again from HEAD, once.
                    rebuilt = True
                    continue
                if not waited:
                    waited = True
                    self._finish_add(started, paths)
                    # An editor's save may have reached their index instead of orch's file.
                    strayed = list(dict.fromkeys([*strayed, *self.strayed(wrote)]))
                    self._put(strayed, wrote, private=False)
                if tree == head_tree:
                    self._private.remember(head, head_tree)
                    return None, strayed
                commit = self._commit_tree(tree, head, message)
                moved = self.run(
                    "update-ref", "-m", message.splitlines()[0], "HEAD", commit, head or "",
                    check=False,
                )  # fmt: skip
                if moved.returncode == 0:
                    self._private.remember(commit, tree)
                    return commit, strayed
                said = moved.stderr.decode(errors="replace")
                if locked_by(said) is not None and not self._waited_for(said):
                    raise GitError(f"git update-ref failed: {said.strip()}")
            raise GitError("could not commit: HEAD kept moving (another git process is committing)")
        finally:
            if not waited and started is not None:
                started.communicate()  # reaped; the error that ended the commit is the one said

    def strayed(self, wrote: dict[str, Wrote]) -> list[str]:
        """The paths whose file is not (or no longer) what orch wrote there."""
        strayed = []
        for path, w in wrote.items():
            try:
                now = blob_id((self.top / path).read_bytes())
            except OSError:
                now = None  # gone, or not a file any more
            if now != w.raw:
                strayed.append(path)
        return strayed

    def _put(self, paths: list[str], wrote: dict[str, Wrote], private: bool) -> None:
        """Stage what orch wrote at `paths` (not what the files hold now)."""
        gone = [p for p in paths if wrote[p].raw is None]
        there = [p for p in paths if wrote[p].raw is not None]
        if gone:
            listed = "".join(f"{p}\0" for p in gone).encode()
            self._update(("update-index", "--force-remove", "-z", "--stdin"), listed, private)
        if there:
            lines = "".join(f"100644 {self.blob_of(p, wrote[p])}\t{p}\0" for p in there)
            self._update(("update-index", "-z", "--index-info"), lines.encode(), private)

    def blob_of(self, path: str, w: Wrote) -> str:
        """git's blob of what orch wrote at `path`, stored in the object database (through
        the path's filters, as `git add` would store the file)."""
        if w.blob is None:
            if w.data is None:
                raise GitError(f"orch's version of {path} is no longer known; it was not committed")
            w.blob = self.out("hash-object", "-w", "--stdin", f"--path={path}", input=w.data)
        return w.blob

    def _clear_private_lock(self) -> None:
        """A lock on orch's private index left by a killed git would stop every commit
        from now on: removed once its owner is gone (the project lock keeps other orch
        processes out, so only an orphaned git child can still hold it: waited for)."""
        if self.private_index is not None:
            self._wait_for(self.private_lock)

    @property
    def _private(self) -> PrivateIndex:
        """orch's private index; asked for only by a repository opened with one."""
        assert self.private_index is not None, "this Repo was opened without a private index"
        return PrivateIndex(self.private_index, self.git_dir)

    @property
    def private_lock(self) -> Path:
        """Where git locks orch's private index."""
        return self._private.lock

    def _waited_for(self, said: str) -> bool:
        """Wait for the lock a git error message names to be let go (or removed, its owner
        gone); whether it was."""
        path = locked_by(said)
        if path is None:
            return False
        try:
            self._wait_for(path)
        except GitError:
            return False
        return True

    def _wait_for(self, path: Path) -> None:
        """Wait until no lock is at `path`, removing it once its owner is gone; GitError
        naming who holds it after HELD_LOCK_WAIT."""
        deadline = time.monotonic() + HELD_LOCK_WAIT
        while (lock := clear_stale_lock(path, self.dirs)) is not None:
            if time.monotonic() > deadline:
                who = ", ".join(map(str, lock.holders))
                held = f"held by git process {who}" if who else "left by a git process"
                raise GitError(
                    f"{path} is {held}: let that git command end (or, if none runs, delete"
                    " the file)"
                )
            time.sleep(0.05)

    def _start_add(self, paths: list[str]) -> subprocess.Popen | None:
        """`_add(paths)` to the user's index, started (None: a list too long to hand over
        at once; `_finish_add` then does it the plain way)."""
        import subprocess

        listed = "".join(f"{p}\0" for p in paths).encode()
        if len(listed) > PIPE_SIZE:
            return None
        started = subprocess.Popen(
            **self._call(UPDATE_INDEX, None, False, True),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        stdin, started.stdin = started.stdin, None  # communicate() then only reads
        assert stdin is not None  # opened with stdin=PIPE
        try:
            stdin.write(listed)
            stdin.close()
        except OSError:
            pass  # it ended early: what it said is read in _finish_add
        return started

    def _finish_add(self, started: subprocess.Popen | None, paths: list[str]) -> None:
        """Wait for a started `_add`; if it did not run, or met a lock, do it again the
        patient way."""
        if started is None:
            self._add(paths)
            return
        _out, said = started.communicate()
        if started.returncode != 0:
            if locked_by(said.decode(errors="replace")) is None:
                raise GitError(
                    "git update-index of your git index failed:"
                    f" {said.decode(errors='replace').strip()}"
                )
            self._add(paths)

    def _add(self, paths: list[str], private: bool = False) -> None:
        """Stage the work-tree state of `paths`, and only them, in the private index or
        the user's. `update-index` touches no other entry and records the files' stat
        data (so `git status` need not hash them again); `git reset -- paths` would stat
        the whole work tree."""
        self._update(UPDATE_INDEX, "".join(f"{p}\0" for p in paths).encode(), private)

    def _update(self, args: tuple[str, ...], listed: bytes, private: bool) -> None:
        """Run an `update-index` on the private index or the user's. The user's index may
        be locked by another git process: wait for it to let go (a lock left by a git
        that was killed is removed); GitError saying who holds it if it does not."""
        said = ""
        for _attempt in range(3):
            done = self.run(*args, input=listed, private=private, check=False)
            if done.returncode == 0:
                return
            said = done.stderr.decode(errors="replace").strip()
            lock = locked_by(said)
            if lock is None or private:
                break
            self._wait_for(lock)
        where = "orch's" if private else "your"
        raise GitError(f"git update-index of {where} git index failed: {said}")

    def _commit_tree(self, tree: str, parent: str | None, message: str) -> str:
        args = ["commit-tree", tree, *(["-p", parent] if parent else []), "-F", "-"]
        done = self.run(*args, input=message.encode(), check=False)
        if done.returncode != 0 and b"tell me who you are" in done.stderr.lower():
            done = self.run(*args, input=message.encode(), env=FALLBACK_IDENTITY, check=False)
        if done.returncode != 0:
            raise GitError(
                f"git commit-tree failed: {done.stderr.decode(errors='replace').strip()}"
            )
        return done.stdout.decode().strip()

    def _head_for_commit(self) -> tuple[str | None, str | None]:
        """HEAD's (commit, tree), as head() says it, for a commit to start from. When HEAD
        still names the commit the private index holds (the usual case: orch made it),
        both are known without a git process: the branch is read from its ref file, which
        git replaces whole (a lock file renamed over it), and update-ref checks it again."""
        kept = self._private.kept()
        if kept is not None and branch_tip(self.git_dir, self.common_dir) == kept[0]:
            return kept
        return self.head()

    def _private_index_at(self, head: str | None, tree: str | None) -> None:
        """Make the private index hold HEAD's tree (kept between commands: built again
        only when HEAD moved by other hands, or an attempt was cut short)."""
        if self._private.kept() == (head, tree):
            return
        # From nothing (one unreadable could not be replaced), its marker gone first: an
        # index cut short must never pass for the commit the marker names.
        self._private.forget()
        shared = self._private.discard()
        self.run("read-tree", head or "--empty", private=True)
        self._private.remove_shared(shared)


def _plainly_own(git_dir: Path) -> bool:
    """Whether `git_dir` is a plain repository folder git takes as it stands: HEAD, objects
    and refs there, no environment pointing git elsewhere, no work tree or bareness set
    in its config (those, and anything odd, are left to git to judge)."""
    if GIT_ENV.intersection(os.environ):
        return False
    try:
        config = (git_dir / "config").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return (
        (git_dir / "HEAD").is_file()
        and (git_dir / "objects").is_dir()
        and (git_dir / "refs").is_dir()
        and "worktree" not in config
        and "bare = true" not in config
    )


def find_repo(folder: Path) -> Repo | None:
    """The work tree holding `folder`, or None if it is not in one (or git is missing)."""
    if not git_available():
        return None
    own = folder / ".git"
    if _plainly_own(own):
        # A repository of its own (the usual home of .task_orchestrator/): git would find
        # this one first; one process fewer for every command that commits.
        return Repo(folder.resolve(), own.resolve())
    import subprocess

    done = subprocess.run(
        ["git", "rev-parse", "--show-toplevel", "--absolute-git-dir"],
        cwd=folder,
        capture_output=True,
    )
    if done.returncode != 0:
        return None
    lines = done.stdout.decode().splitlines()
    if len(lines) < 2 or not lines[0]:
        return None  # inside a .git folder, or a bare repository
    return Repo(Path(lines[0]).resolve(), Path(lines[1]).resolve())


def init_repo(folder: Path) -> Repo:
    """Make `folder` a repository of its own."""
    import subprocess

    done = subprocess.run(["git", "init", "-q", "--", str(folder)], capture_output=True)
    if done.returncode != 0:
        raise GitError(f"git init failed: {done.stderr.decode(errors='replace').strip()}")
    repo = find_repo(folder)
    if repo is None:
        raise GitError(f"git init in {folder} did not make a repository")
    return repo
