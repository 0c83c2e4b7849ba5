"""`orch task edit`: a task's file handed to the person's editor, judged when the
editor closes by the index's own rule for a broken file, and committed as any outside
edit is: by the refresh of the next read, as one sync (core/project.py).

The editor itself is the adapter's to start; the core finds the file, says what is wrong
with it as saved, and commits it. A file left broken is never rewritten here: it stays
as the person saved it, out of orch's commits until fixed (git/broken.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.core import lookup
from orchestrator.core.project import Project
from orchestrator.errors import NotFound
from orchestrator.index.broken import breaking
from orchestrator.index.refresh import read_file
from orchestrator.layout import is_id
from orchestrator.model import Problem


@dataclass
class Editing:
    """A task file being edited: where it is and what it held before."""

    task_id: str
    file_path: str  # relative to the project root
    path: Path
    before: bytes


def start_edit(project: Project, ref: str) -> Editing:
    """The file of task `ref` (an id or a unique start of one) and its bytes now. A task
    whose file is broken is not in the index; named by its whole id, its file is still
    found, so that `orch task edit` can be how it gets fixed."""
    try:
        with project.reading() as db:
            row = lookup.task(db, ref)
        task_id, file_path = row["task_id"], row["file_path"]
    except NotFound:
        task_id = ref.strip().lower()
        found = sorted(project.layout.sessions_dir.glob(f"*/tasks/{task_id}.md"))
        if not is_id("task", task_id) or len(found) != 1:
            raise
        file_path = project.layout.rel(found[0])
    path = project.root / file_path
    return Editing(task_id, file_path, path, path.read_bytes())


def problems(project: Project, editing: Editing) -> list[Problem]:
    """What makes the file as saved broken, as the index judges it (index/refresh.py's
    `breaking`: it does not parse, does not validate, names another id), by line; []
    when it is fine."""
    try:
        data = editing.path.read_bytes()
    except FileNotFoundError:
        return [
            Problem(
                editing.file_path,
                "the file was deleted in the editor",
                fix=f"edit it again to write it anew, or restore it: git checkout -- {editing.file_path}",
            )
        ]
    role = project.layout.classify(editing.file_path)
    if role is None:  # the layout names every task file: only a moved project lands here
        return [Problem(editing.file_path, "is not a record file orch reads")]
    return breaking(read_file(role, editing.file_path, data)[1])


def finish_edit(project: Project, editing: Editing) -> dict[str, Any]:
    """Index and commit the file as saved, as an outside edit (one commit, with any other
    outside edit waiting), unless it holds what it held before: then nothing is done.
    Returns the task as indexed now, whether it `changed`, and the `commits` made (none
    under `commit: off`; under `commit: batch`, maybe not yet)."""
    out: dict[str, Any] = {"task_id": editing.task_id, "file_path": editing.file_path,
                           "changed": False, "commits": []}  # fmt: skip
    if editing.path.read_bytes() == editing.before:
        return out  # not even a read: it would commit other outside edits
    syncer = project.syncer
    made = len(syncer.commits)
    with project.reading() as db:
        row = lookup.task(db, editing.task_id)
    return out | {
        "task_id": row["task_id"],
        "title": row["title"],
        "status": row["status"],
        "changed": True,
        "commits": syncer.commits[made:],
        "commit_mode": project.config.commit,
    }
