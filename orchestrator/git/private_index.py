"""orch's private git index (`.index/git-index`), where a commit is built.

It is kept between commands, holding the tree of the commit its marker names
(`git-index.head`: that commit and its tree), and is built again from HEAD only when
HEAD was moved by other hands. It is a split index (git's `core.splitIndex`): the
entries of HEAD's tree stay in a shared file that git keeps in the git folder
(`sharedindex.<id>`), and each command writes only the few entries it changed. At
10,000 tasks the index is 1 MB: `update-index` took 8.5 ms and `write-tree` wrote it
back in 5.3; split, 2.7 and 0.1 (measured 2026-12-02). When the index is built again,
the shared file of the one it replaces is removed: git would keep it two weeks.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

# What the git processes that use the private index are told: split, its shared part
# never written again (git would otherwise write a new one whenever a fifth of the
# entries changed, every commit of a small project, and leave the old one two weeks).
# The split part grows with the files orch changes; past SPLIT_MAX entries (an import
# of hundreds of files) the index is built again, with a shared part of them all. Its
# entries, not its bytes: the split part also holds git's cached trees, ~32 bytes for
# every folder of the repository, orch's or not.
SPLIT_MAX = 500
SPLIT = ("-c", "core.splitIndex=true", "-c", "splitIndex.maxPercentChange=100")
# And in version 2 (the only one _link reads), whatever the person's GIT_INDEX_VERSION.
SPLIT_ENV = {"GIT_INDEX_VERSION": "2"}


@dataclass
class PrivateIndex:
    path: Path
    git_dir: Path  # where git keeps the shared file of a split index

    @property
    def lock(self) -> Path:
        """Where git locks it."""
        return self.path.with_name(self.path.name + ".lock")

    @property
    def marker(self) -> Path:
        """Names the commit the index holds, and its tree; absent: build it again."""
        return self.path.with_suffix(".head")

    def kept(self) -> tuple[str, str] | None:
        """(commit, tree) the index holds, as its marker says, if it is there."""
        try:
            commit, tree = self.marker.read_text().split()
        except (OSError, ValueError):
            return None  # none, or a marker of an older orch (the commit alone)
        if not (is_object_id(commit) and is_object_id(tree)):
            return None
        try:
            with open(self.path, "rb") as f:
                header = f.read(12)
        except OSError:
            return None
        if len(header) < 12 or int.from_bytes(header[8:12], "big") > SPLIT_MAX:
            return None  # a split part grown large, or a whole index: built again
        return commit, tree

    def remember(self, commit: str | None, tree: str | None) -> None:
        """Say the index holds `commit`, whose tree is `tree` (an unborn branch's commit
        is not remembered: the index is built again, from nothing, next time)."""
        if commit and tree:
            self.marker.write_text(f"{commit} {tree}")

    def forget(self) -> None:
        self.marker.unlink(missing_ok=True)

    def discard(self) -> Path | None:
        """Delete the index, to be built again; the shared file it used, to be removed
        once the new one is written (None if it used none)."""
        shared = self._shared_file()
        self.path.unlink(missing_ok=True)
        return shared

    def remove_shared(self, old: Path | None) -> None:
        """Remove the shared file `old` that the index, built again, no longer uses."""
        if old is not None and old != self._shared_file():
            with contextlib.suppress(OSError):
                os.unlink(old)

    def _shared_file(self) -> Path | None:
        """The `sharedindex.<id>` file a split index links to (its `link` extension;
        gitformat-index(5)), None for any other index or one that cannot be read."""
        try:
            data = self.path.read_bytes()
        except OSError:
            return None
        if len(data) < 12 or data[:4] != b"DIRC" or data[4:8] not in (b"\0\0\0\2", b"\0\0\0\3"):
            return None  # another version: one written before SPLIT_ENV was
        for size in (20, 32):  # the id length of SHA-1 and of SHA-256 repositories
            found = _link(data, size)
            if found is not None:
                return self.git_dir / f"sharedindex.{found}"
        return None


def _link(data: bytes, size: int) -> str | None:
    """The shared index a version 2 or 3 index names, read with object ids of `size`
    bytes; None if there is none, or the index does not read whole at that size."""
    at = 12
    try:
        for _ in range(int.from_bytes(data[8:12], "big")):
            flags = 40 + size  # ctime..size (40 bytes), the object id, then the flags
            extended = data[at + flags] & 0x40 and data[7] == 3
            name_end = data.index(b"\0", at + flags + (4 if extended else 2))
            at += (name_end - at + 8) & ~7  # NUL-padded to a multiple of 8
    except (IndexError, ValueError):
        return None
    found = None
    while at + 8 <= len(data) - size:
        length = int.from_bytes(data[at + 4 : at + 8], "big")
        if data[at : at + 4] == b"link" and length >= size:
            found = data[at + 8 : at + 8 + size].hex()
        at += 8 + length
    return found if at == len(data) - size else None


def branch_tip(git_dir: Path, common_dir: Path) -> str | None:
    """The commit the checked-out branch's ref file names; None where git must be asked
    (a detached HEAD, a packed ref, refs kept in a reftable, anything odd). git replaces
    a ref file whole (a lock file renamed over it): never read half-written."""
    try:
        head = (git_dir / "HEAD").read_text(encoding="utf-8")
        if not head.startswith("ref: refs/heads/"):
            return None
        tip = (common_dir / head[5:].strip()).read_text(encoding="ascii").strip()
    except (OSError, UnicodeError):
        return None
    return tip if is_object_id(tip) else None


def is_object_id(text: str) -> bool:
    """Whether `text` is a whole object id (SHA-1 or SHA-256, as git writes them)."""
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)
