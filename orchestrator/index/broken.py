"""Which files are broken, as the index knows from its problems table.

Apart from refresh.py, which finds the problems: `orch status` names the broken files on
every call, and a read that finds nothing changed imports nothing that reads files.
"""

from __future__ import annotations

from collections.abc import Iterable

from orchestrator.index.engine import IndexDB
from orchestrator.model import Problem


def breaking(problems: Iterable[Problem]) -> list[Problem]:
    """The problems that make a file broken: errors in the file itself (it does not
    parse, or does not validate, or is not named by an id), not warnings or merge
    conflicts to settle. A broken file stays out of orch's commits, as the person left
    it, until it is fixed (git/syncer.py)."""
    return [p for p in problems if p.severity == "error"]


def broken_files(db: IndexDB, paths: list[str] | None = None) -> list[Problem]:
    """The problems that make the files of the index broken (all of them, or of
    `paths`), by path and line."""
    sql = "SELECT path, line, field, severity, message, fix FROM problems WHERE source = 'parse'"
    rows = db.rows(sql) if paths is None else db.rows_in(f"{sql} AND path IN ({{in}})", paths)
    found = breaking(Problem(path, message, line, field, fix, severity)
                     for path, line, field, severity, message, fix in rows)  # fmt: skip
    return sorted(found, key=lambda p: (p.path, p.line or 0, p.message))
