"""Broken files never reach git through orch.

A record file (a session, group or task) that does not parse or validate (index/refresh.py's `breaking`: broken
YAML, a key written twice, a missing title, a name that is not an id) is the person's
work in progress: every commit of outside edits leaves it out, as they left it, and the
first sync after it is fixed commits it. The decision is made on the bytes the commit
then holds (read once), so a file broken between the check and the commit cannot slip
in. What orch writes itself is never checked: it is never broken.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from orchestrator.errors import first_few
from orchestrator.index.broken import breaking, broken_files
from orchestrator.index.refresh import read_file
from orchestrator.layout import Layout
from orchestrator.model import TABLE, Problem
from orchestrator.store.files import blob_id, read_unlinked

if TYPE_CHECKING:
    from orchestrator.index.engine import IndexDB


def as_they_are(layout: Layout, rels: Iterable[str]) -> dict[str, bytes | None]:
    """The bytes of these files now (None: deleted); a file that cannot be read as a
    plain file is left out (committed as git finds it)."""
    found: dict[str, bytes | None] = {}
    for rel in rels:
        try:
            found[rel] = read_unlinked(layout.root / rel)
        except FileNotFoundError:
            found[rel] = None
        except OSError:
            continue
    return found


def broken(
    layout: Layout, db: IndexDB, contents: dict[str, bytes | None], indexed: dict[str, str]
) -> dict[str, list[Problem]]:
    """The files of `contents` (path -> bytes, None: deleted) that are broken, with the
    problems that make them so, judged on those bytes. `indexed`: path -> the content
    hash the index holds; where it is the hash of these bytes, the index's judgment of
    them is taken instead of parsing them again."""
    found: dict[str, list[Problem]] = {}
    known = []
    for rel, data in contents.items():
        role = layout.classify(rel)
        if data is None or role is None or role.kind not in TABLE:
            continue  # a deletion, or not a record (config.yaml, a role file)
        if indexed.get(rel) == blob_id(data):
            known.append(rel)
            continue
        problems = breaking(read_file(role, rel, data)[1])
        if problems:
            found[rel] = problems
    for problem in broken_files(db, known) if known else []:
        found.setdefault(problem.path, []).append(problem)
    return found


def left_out(found: dict[str, list[Problem]]) -> list[str]:
    """Warnings naming broken files left out of a commit, each with its first problem
    (`path:line: problem — fix`), the first few of them."""
    said = [
        f"not committed until it is fixed: {problems[0]}" for _, problems in sorted(found.items())
    ]
    return first_few(said, "broken files, not committed either")
