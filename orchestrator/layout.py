"""Where things live in a project: the one description of the on-disk layout.

<root>/.task_orchestrator/
  config.yaml
  roles/*.yaml
  sessions/<session_id>/session.md
  sessions/<session_id>/groups/<group_id>.md
  sessions/<session_id>/tasks/<task_id>.md
  sessions/<session_id>/artifacts/<task_id>/...
  archives/  exports/
  .index/        (not in git)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from orchestrator.errors import Hint, PathOutsideProject, ProjectNotFound
from orchestrator.model import ID_KEY, ID_PREFIX, record_schema
from orchestrator.names import (
    INDEX_DIR,
    KIND_FOLDER,
    MODE_SUFFIXES,
    ORCH_DIR,
    ROLES_DIR,
    SESSION_FILE,
    SESSIONS_DIR,
    SKIPPED_FIRST,
    SKIPPED_LAST,
)

FOLDER_KIND = {folder: kind for kind, folder in KIND_FOLDER.items()}


@dataclass(frozen=True)
class FileRole:
    """What a file under .task_orchestrator/ is, read from its path alone."""

    kind: str  # session | group | task | mode
    record_id: str  # from the file (or folder) name
    session_dir: str | None  # the session folder it lives in

    @property
    def naming_problem(self) -> tuple[str, str] | None:
        """(problem, fix) if the file or its session folder is not named by an id."""
        if self.session_dir is not None and not is_id("session", self.session_dir):
            return (f"the session folder {self.session_dir!r} is not named by a session id",
                    "rename the folder to s- and letters, digits, - or _ (e.g. s-docs)")  # fmt: skip
        if self.kind in ("group", "task") and not is_id(self.kind, self.record_id):
            prefix = ID_PREFIX[self.kind]
            return (f"the file name {self.record_id + '.md'!r} is not a {self.kind} id",
                    f"rename it to {prefix} and letters, digits, - or _ (e.g. {prefix}notes.md)")  # fmt: skip
        return None


@dataclass(frozen=True)
class RecordRole(FileRole):
    """A session, group or task file: one that always lives in a session folder."""

    session_dir: str


class Layout:
    """Paths of one project."""

    def __init__(self, root: Path):
        self.root = root
        self.base = root / ORCH_DIR
        self.config_file = self.base / "config.yaml"
        self.roles_dir = self.base / ROLES_DIR
        self.sessions_dir = self.base / SESSIONS_DIR
        self.archives_dir = self.base / "archives"
        self.exports_dir = self.base / "exports"
        self.index_dir = self.base / INDEX_DIR
        # Keep the index's signature snapshot (signatures.py) on disk and in memory. A
        # process with a change journal (a server) needs neither, and drops it instead.
        self.keep_snapshot = True

    def session_dir(self, session_id: str) -> Path:
        return self.sessions_dir / session_id

    def artifacts_dir(self, session_id: str, task_id: str) -> Path:
        """Where the reports of task `task_id` leave their files."""
        return self.session_dir(session_id) / "artifacts" / task_id

    def record_path(self, kind: str, session_id: str, record_id: str) -> Path:
        """The file of a session, group or task record."""
        if kind == "session":
            return self.session_dir(session_id) / SESSION_FILE
        return self.session_dir(session_id) / KIND_FOLDER[kind] / f"{record_id}.md"

    def rel(self, path: Path) -> str:
        """A path as shown to people and stored in the index: relative to the root, with /."""
        return path.relative_to(self.root).as_posix()

    def classify(self, rel: str) -> FileRole | None:
        """The role of a file from its relative path, or None if orch does not read it:
        a RecordRole for a session, group or task file, a FileRole for a mode."""
        parts = rel.split("/")
        if len(parts) < 3 or parts[0] != ORCH_DIR or not is_record_name(parts[-1]):
            return None
        if parts[1] == ROLES_DIR and len(parts) == 3 and parts[2].endswith(MODE_SUFFIXES):
            return FileRole("mode", parts[2], None)
        if parts[1] != SESSIONS_DIR or len(parts) not in (4, 5):
            return None
        session_dir = parts[2]
        if len(parts) == 4:
            if parts[3] != SESSION_FILE:
                return None
            return RecordRole("session", session_dir, session_dir)
        kind = FOLDER_KIND.get(parts[3])
        if kind is None or not parts[4].endswith(".md"):
            return None
        return RecordRole(kind, parts[4][: -len(".md")], session_dir)

    def inside(self, path: str | Path, base: Path | None = None, what: str = "path") -> Path:
        """Resolve a path a user gave against `base` (the root by default) and refuse one
        that leaves it: no `..` out, no absolute path elsewhere, no symlink pointing out."""
        base = (base or self.root).resolve()
        given = Path(path).expanduser()
        resolved = (given if given.is_absolute() else base / given).resolve()
        if not resolved.is_relative_to(base):
            # Named from the project root: the message may reach a client on another
            # machine (the board), which has no business knowing where the project lies.
            root = self.root.resolve()
            shown: object = base
            if base == root:
                shown = "the project"
            elif base.is_relative_to(root):
                shown = base.relative_to(root).as_posix()
            raise PathOutsideProject(
                f"{what} {str(path)!r} points outside {shown}; give a path inside it"
            )
        return resolved


@cache
def _id_pattern(kind: str) -> re.Pattern:
    return re.compile(record_schema(kind)["properties"][ID_KEY[kind]]["pattern"])


def is_id(kind: str, text: str) -> bool:
    """Whether `text` is a well-formed id of a session, group or task (schema/*.json)."""
    return _id_pattern(kind).match(text) is not None


def is_record_name(name: str) -> bool:
    """False for editor droppings and temporary files."""
    return not (name[:1] in SKIPPED_FIRST or name.endswith(SKIPPED_LAST))


def find_root(explicit: str | os.PathLike | None = None, start: Path | None = None) -> Path:
    """The project root: `explicit` (from --root or ORCH_ROOT) if given, else the nearest
    directory at or above `start` (the current directory) holding .task_orchestrator/."""
    if explicit:
        root = checked_root(explicit)
        if not (root / ORCH_DIR).is_dir():
            raise ProjectNotFound(
                f"{root} has no {ORCH_DIR}/ folder; create one there",
                hint=Hint("init", {"root": str(root)}),
            )
        return root
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / ORCH_DIR).is_dir():
            return directory
    raise ProjectNotFound(
        f"no {ORCH_DIR}/ folder in {here} or any directory above it; create one, or name"
        " the project's directory",
        hint=Hint("init", {"root": str(here)}),
    )


def checked_root(given: str | os.PathLike) -> Path:
    """A directory a user named as project root, resolved; refused if it does not exist.
    Naming the .task_orchestrator folder itself means its parent."""
    path = Path(given).expanduser()
    if not path.exists():
        raise ProjectNotFound(f"project root {str(given)!r} does not exist")
    if not path.is_dir():
        raise ProjectNotFound(f"project root {str(given)!r} is not a directory")
    path = path.resolve()
    return path.parent if path.name == ORCH_DIR else path
