"""What every import shares: a source read into plain plans (Source, Item), ids derived
from the source's own keys, and how dates, statuses and priorities are mapped."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator.model import ID_PREFIX, PENDING, format_time

PRIORITY = {"critical": 1, "urgent": 1, "high": 2, "medium": 3, "normal": 3, "low": 4}


@dataclass
class Item:
    """One task as a source has it, in orch's terms."""

    key: str  # the source's id of it (unique within its session)
    title: str
    body: str = ""
    status: str = PENDING
    priority_level: int | None = None
    deps: list[str] = field(default_factory=list)  # keys of items of the same session
    parent: str | None = None
    group: str | None = None
    specialist_type: str | None = None
    complexity_level: str | None = None
    effort: int | None = None
    created_at: str | None = None
    completed_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # frontmatter kept as is


@dataclass
class Source:
    """One session to make from a source."""

    key: str  # unique within the source kind
    name: str
    description: str = ""
    items: list[Item] = field(default_factory=list)
    groups: dict[str, str] = field(default_factory=dict)  # name -> description
    unmapped: list[str] = field(default_factory=list)


def stable_id(kind: str, key: str) -> str:
    """The id of an imported record: the same for the same source record, every run."""
    return ID_PREFIX[kind] + hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:8]


def stamp(value: Any) -> str | None:
    """A date or time as records write it (ISO 8601, UTC), from what sources write."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        try:
            moment = datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
        return format_time(moment)
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_time(moment)


def as_list(value: Any) -> list[Any]:
    """A field sources write as a list, or as one value."""
    if value in (None, ""):
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def dated(value: Any, where: str, source: Source) -> str | None:
    moment = stamp(value)
    if moment is None and value not in (None, ""):
        source.unmapped.append(f"{where}: date {value!r} not understood; left out")
    return moment


def source_key(path: Path, base: Path | None) -> str:
    """How a source is known across runs: its path inside the project if it is there
    (the same in every clone), else its absolute path."""
    resolved = path.resolve()
    if base is not None and resolved.is_relative_to(base):
        return resolved.relative_to(base).as_posix() or "."
    return str(resolved)


def mapped_status(value: Any, table: dict[str, str], where: str, source: Source) -> str:
    text = str(value or "").strip().lower()
    status = table.get(text)
    if status is None:
        source.unmapped.append(f"{where}: status {value!r} has no equivalent; imported as pending")
        return PENDING
    return status


def mapped_priority(value: Any) -> int | None:
    if isinstance(value, int) and 1 <= value <= 5:
        return value
    return PRIORITY.get(str(value or "").strip().lower())
