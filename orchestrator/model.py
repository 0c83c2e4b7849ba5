"""Records, ids, statuses and the session state machine.

Field names, allowed values, defaults and the session transitions come from the JSON
Schemas in schema/ (the one place they are written down); this module reads them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from orchestrator.resources import shipped

KINDS = ("session", "group", "task")
ID_KEY = {"session": "session_id", "group": "group_id", "task": "task_id"}
ID_PREFIX = {"session": "s-", "group": "g-", "task": "t-"}
# What a record's name is called in its frontmatter.
TITLE_KEY = {"session": "name", "group": "group_name", "task": "title"}

# The mode a session uses when it names none (a role file in config/ and roles/).
DEFAULT_MODE = "default_roles.yaml"

# Statuses by name; the lists and what may follow what are in schema/*.schema.json
# (a test checks that every name here is one of the schema's).
# A task's:
PENDING = "pending"
IN_PROGRESS = "in_progress"
BLOCKED = "blocked"
NEEDS_REVISION = "needs_revision"
DONE = "completed"  # a session's too
FAILED = "failed"
CANCELLED = "cancelled"  # a session's too
# A session's:
CREATING = "creating"
ACTIVE = "active"
PAUSED = "paused"
ARCHIVED = "archived"
ERROR = "error"

# The index table of each record kind.
TABLE = {"session": "sessions", "group": "task_groups", "task": "tasks"}


@cache
def record_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of a record's frontmatter ("session", "group", "task") or of a
    role file ("roles")."""
    path = shipped("schema") / f"{kind}.schema.json"
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def known_fields(kind: str) -> list[str]:
    """Frontmatter keys orch knows for a record kind, in the order files are written."""
    return list(record_schema(kind)["properties"])


def derived_fields(kind: str) -> list[str]:
    """Keys that orch computes in the index and that must not be written in frontmatter."""
    return list(record_schema(kind).get("x-derived", []))


def field_default(kind: str, key: str) -> Any:
    """The schema's default for a field (a fresh copy for lists), or None."""
    value = record_schema(kind)["properties"].get(key, {}).get("default")
    return list(value) if isinstance(value, list) else value


def allowed_values(kind: str, key: str) -> tuple[str, ...]:
    """The values a field may take, e.g. allowed_values("task", "status")."""
    return tuple(record_schema(kind)["properties"][key]["enum"])


def session_transitions() -> dict[str, tuple[str, ...]]:
    """The spec's session state machine: status -> statuses it may move to."""
    table = record_schema("session")["properties"]["status"]["x-transitions"]
    return {status: tuple(targets) for status, targets in table.items()}


def new_id(kind: str) -> str:
    """A random id (prefix + 8 hex): two clones creating records at once do not collide."""
    return ID_PREFIX[kind] + os.urandom(4).hex()


def format_time(moment: datetime) -> str:
    """A time as written in records: ISO 8601 in UTC with milliseconds
    ("2026-11-25T22:37:33.042Z"); one width, so text order is time order."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond // 1000:03d}Z"


_last_now: datetime | None = None


def now() -> str:
    """The current time for a record. Strictly increasing within a process, so records
    created in one burst (a plan of twenty subtasks) keep their creation order."""
    global _last_now
    moment = datetime.now(UTC)
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    if _last_now is not None and moment <= _last_now:
        moment = _last_now + timedelta(milliseconds=1)
    _last_now = moment
    return format_time(moment)


# The frontmatter key where a three-way merge records fields both sides changed
# (store/merge.py); a record holding it, or conflict markers in its body, is in conflict.
CONFLICT_KEY = "orch_conflict"
# In an entry recorded by `orch sync --remote`'s merge: the clone whose side "ours" is
# (the one that merged; "theirs" came from the remote). Another clone, reading the file
# after a sync, sees the sides swapped, so "ours" is always the reader's own value.
CONFLICT_CLONE_KEY = "ours_clone"


def conflict_text(key: Any, ours: Any, theirs: Any, base: Any) -> str:
    """How a field in conflict is said (`orch doctor`, `orch conflicts`)."""
    return f"merge conflict in {key}: ours {ours!r}, theirs {theirs!r} (was {base!r})"


CONFLICT_MARKERS = ("<<<<<<< ", ">>>>>>> ")


@dataclass
class Record:
    """One Markdown record: frontmatter facts and the body below them."""

    kind: str  # "session" | "group" | "task"
    meta: dict[str, Any]  # frontmatter: known fields and any keys a user added
    body: str = ""  # the Markdown after the frontmatter, byte for byte
    path: Path | None = None
    newline: str = "\n"  # the file's line ending ("\r\n" from Windows), kept on rewrite

    @property
    def id(self) -> str:
        return self.meta[ID_KEY[self.kind]]

    @property
    def title(self) -> str:
        """The record's title (a session's name), "" if unset or not text: a hand edit
        can write `title: 123`, which the file keeps and the index reports as a problem."""
        title = self.meta.get(TITLE_KEY[self.kind])
        return title if isinstance(title, str) else ""


@dataclass(frozen=True)
class Problem:
    """Something wrong in a file, located as precisely as orch can."""

    path: str  # relative to the project root
    message: str
    line: int | None = None
    field: str | None = None
    fix: str | None = None
    severity: str = "error"  # error | warning | conflict (a merge left two values)

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        text = f"{where}: {self.message}"
        return f"{text} — {self.fix}" if self.fix else text


@dataclass
class Parsed:
    """A record file as read: the record (None if unreadable) and what is wrong with it."""

    record: Record | None
    problems: list[Problem] = field(default_factory=list)
    # Values to index in place of fields that failed validation (schema defaults).
    index_meta: dict[str, Any] | None = None
    # The frontmatter names another id or session than the file's place (a copied file).
    misplaced: bool = False
