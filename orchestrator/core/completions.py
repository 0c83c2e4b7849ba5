"""What a shell completes from the index (`orch completion`): ids of tasks, groups and
sessions, and the names of groups and sessions, that start with what was typed.

A completion runs at every Tab press, so it reads the index as it stands: no check of
the files, no refresh, no lock, no commit (a Tab press never commits an outside edit;
the next command does). No project, no index yet, an index busy or damaged: no
completions, never an error (the shell would print it in the middle of the line).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from orchestrator.core.project import Project
from orchestrator.index.engine import IndexDB, index_path

LIMIT = 50  # more than a shell lists usefully
# Per kind: the query of ids and names starting with a text, with a description each.
QUERIES = {
    "task": "SELECT task_id, title FROM tasks WHERE task_id LIKE ? ESCAPE '\\'"
    " ORDER BY last_updated_at DESC NULLS LAST, task_id LIMIT ?",
    "group": "SELECT group_id, group_name FROM task_groups WHERE group_id LIKE ? ESCAPE '\\'"
    " ORDER BY group_id LIMIT ?",
    "group_name": "SELECT DISTINCT group_name, group_name FROM task_groups g"
    " WHERE group_name LIKE ? ESCAPE '\\' AND (NOT EXISTS (SELECT 1 FROM active_session)"
    " OR g.session_id IN (SELECT session_id FROM active_session)) ORDER BY 1 LIMIT ?",
    "session": "SELECT session_id, name FROM sessions WHERE session_id LIKE ? ESCAPE '\\'"
    " ORDER BY session_id LIMIT ?",
    "session_name": "SELECT DISTINCT name, session_id FROM sessions WHERE name LIKE ?"
    " ESCAPE '\\' ORDER BY 1 LIMIT ?",
}


def completions(root: str | None, kinds: tuple[str, ...], typed: str) -> list[tuple[str, str]]:
    """(value, description) pairs of the `kinds` (keys of QUERIES) starting with `typed`,
    of the project at `root` (None: found from the current directory), in that order,
    each value once. [] when anything is missing or fails."""
    like = typed.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    found: dict[str, str] = {}
    try:
        with _index(root) as db:
            if db is None:
                return []
            for kind in kinds:
                for value, about in db.rows(QUERIES[kind], [like, LIMIT]):
                    if value and len(found) < LIMIT:
                        found.setdefault(str(value), str(about or ""))
    except Exception:  # a completion never fails loudly
        return []
    return list(found.items())


@contextlib.contextmanager
def _index(root: str | None) -> Iterator[IndexDB | None]:
    """The project's index opened as it is, or None where there is none to read."""
    try:
        project = Project.find(root)
        path = index_path(project.layout.index_dir, project.config.index)
    except Exception:
        yield None
        return
    if not path.is_file():  # sqlite would create it: a completion writes nothing
        yield None
        return
    db = IndexDB(project.config.index, path, writable=False)
    try:
        yield db
    finally:
        db.close()
