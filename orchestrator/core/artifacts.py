"""A task's artifacts: the files its reports left in `sessions/<session>/artifacts/<task>/`,
listed and read the same way by every adapter (the MCP resources, the board).

Only what is really in that folder is served: a name is resolved inside it (`..`, an
absolute path or a symbolic link that leads out is refused), a listing names regular
files only and follows no link, and a read takes at most TEXT_LIMIT bytes of a regular
file (a FIFO would block the reader, a device never ends).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from orchestrator.core import lookup
from orchestrator.core.inputs import record_ref
from orchestrator.core.project import Project
from orchestrator.errors import InvalidInput, NotFound, PathOutsideProject

TEXT_LIMIT = 1_000_000  # bytes of a file given to a reader
MIME = {".md": "text/markdown", ".json": "application/json", ".yaml": "text/yaml",
        ".yml": "text/yaml", ".zip": "application/zip"}  # fmt: skip


def artifact_path(project: Project, task_ref: str, name: str) -> Path:
    """The file `name` (may name a subfolder: `sub/x.md`) among the artifacts of the
    task `task_ref`; PathOutsideProject if it leads out of that folder. It may not
    exist: file_text says so."""
    with project.reading() as db:
        task = lookup.task(db, record_ref("task", task_ref))
    folder = _folder(project, task["session_id"], task["task_id"])
    return project.layout.inside(name, folder, what="artifact")


def artifacts_of(project: Project, task_ref: str) -> list[dict[str, Any]]:
    """The artifacts of the task `task_ref`: name, size and mime of each."""
    with project.reading() as db:
        task = lookup.task(db, record_ref("task", task_ref))
    return artifact_files(project, task["session_id"], task["task_id"])


def artifact_files(project: Project, session_id: str, task_id: str) -> list[dict[str, Any]]:
    """The artifacts of a task already looked up: each regular file of its folder and its
    subfolders (`sub/x.md`), sorted by name, with its size in bytes and its mime type.
    Symbolic links are neither listed nor followed; no folder (or one that leads out of
    the project's files), no artifacts."""
    if project.layout.artifacts_dir(session_id, task_id).is_symlink():
        return []
    try:
        folder = _folder(project, session_id, task_id)
    except PathOutsideProject:
        return []
    if not folder.is_dir():
        return []
    found = []
    for top, _folders, names in os.walk(folder):  # links to folders are not walked into
        for name in names:
            info = os.lstat(os.path.join(top, name))
            if stat.S_ISREG(info.st_mode):
                rel = Path(top, name).relative_to(folder).as_posix()
                found.append({"name": rel, "size": info.st_size, "mime": mime_of(Path(name))})
    return sorted(found, key=lambda f: f["name"])


def _folder(project: Project, session_id: str, task_id: str) -> Path:
    # A session or artifacts folder linked to somewhere outside the project's files is
    # refused here, before anything in it is resolved against it.
    layout = project.layout
    return layout.inside(layout.artifacts_dir(session_id, task_id), layout.base, what="artifacts")


def file_text(project: Project, path: Path, limit: int | None = TEXT_LIMIT) -> str | bytes:
    """A file's text (its bytes when it is not UTF-8 text), at most `limit` bytes of it
    (None: all), with a line saying how much more there is. Only a regular file is
    read: a folder, a FIFO or a device is refused (InvalidInput), a missing file is
    NotFound."""
    rel = project.layout.rel(path) if path.is_relative_to(project.root) else str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise NotFound(f"{rel} does not exist") from None
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInput(f"{rel} is not a regular file")
    if limit is None:
        limit = max(info.st_size, 1)
    with path.open("rb") as f:
        data = f.read(limit + 1)
    if mime_of(path) == "application/zip":
        return data[:limit]
    try:
        text = data[:limit].decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < limit - 4:  # not a character cut at the limit: not text
            return data[:limit]
        text = data[: e.start].decode("utf-8")
    if len(data) > limit:
        text += f"\n… [more in {rel}: {info.st_size - limit} bytes]"
    return text


def mime_of(path: Path) -> str:
    """The mime type a file is served as, by its suffix (text/plain for any other)."""
    return MIME.get(path.suffix, "text/plain")
