"""Inputs as people and agents give them, parsed once for every adapter: efforts, id
lists, choices, numbers and a plan's subtasks. The CLI and the MCP server pass what they
were given through; the core functions parse it here, so "90m" means the same everywhere.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from orchestrator.core.lookup import NOUN
from orchestrator.errors import InvalidInput
from orchestrator.layout import is_id
from orchestrator.model import ID_PREFIX, allowed_values, record_schema
from orchestrator.store.validation import checked_texts

# Efforts are whole hours, within the schema's bounds (schema/task.schema.json).
MAX_EFFORT = record_schema("task")["properties"]["estimated_effort"]["maximum"]
EFFORT_FORMATS = '3, 2.5, "3h", "90m", "1.5 h", "2d" (a day is 8 hours)'
_DURATION = re.compile(
    r"\s*(\d+(?:\.\d+)?|\.\d+)\s*(h|hr|hrs|hours?|m|min|mins|minutes?|d|days?)?\s*", re.I
)
HOURS_PER_DAY = 8


def effort(value: Any, name: str = "estimated_effort") -> int | None:
    """An effort in the stored unit, whole hours, from 3, 2.5, "3", "3h", "90m", "1.5 h"
    or "2d"; None for None or "". Halves round up (2.5 -> 3, "90m" -> 2), and any effort
    above zero is at least 1 hour, so that work done never reads as none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{name} must be a number of hours ({EFFORT_FORMATS}), not {value!r}")
    if isinstance(value, int | float):
        hours = float(value)
    else:
        match = _DURATION.fullmatch(str(value))
        if not match:
            raise InvalidInput(
                f"{name} {value!r} is not a number of hours; give one of {EFFORT_FORMATS}"
            )
        hours = float(match.group(1))
        unit = (match.group(2) or "h").lower()
        if unit.startswith("m"):
            hours /= 60
        elif unit.startswith("d"):
            hours *= HOURS_PER_DAY
    if not math.isfinite(hours) or hours < 0:
        raise InvalidInput(f"{name} must be 0 or more hours, not {value!r}")
    if hours > MAX_EFFORT:
        raise InvalidInput(f"{name} {value!r} is more than {MAX_EFFORT:,} hours")
    return max(1, math.floor(hours + 0.5)) if hours else 0


def one_line(**fields: str | None) -> None:
    """Refuse a title or a name (InvalidInput naming the field) that spans lines: it is a
    heading in session.md, a row of every list and a line of a commit message. Line
    breaks around it are not counted: they are trimmed."""
    for field, value in fields.items():
        if isinstance(value, str) and len(value.strip().splitlines()) > 1:
            raise InvalidInput(
                f"{field} holds a line break: titles and names are one line; put the rest in"
                " the description"
            )


def checked_name(kind: str, name: str) -> str:
    """A session's or a group's name as typed, trimmed: refused if blank, over several
    lines, or written like an id (`s-7d03b030`: a lookup would then find this record
    where the id's owner was meant)."""
    field = "group_name" if kind == "group" else "name"
    checked_texts(**{field: name})
    one_line(**{field: name})
    name = name.strip()
    if not name:
        raise InvalidInput(f"a {kind} needs a name")
    if any(is_id(k, name.lower()) for k in ID_PREFIX):
        raise InvalidInput(
            f"{kind} name {name!r} is written like an id, and would be taken for one:"
            " choose another name"
        )
    return name


def split_ids(value: str | Iterable[str] | None) -> list[str]:
    """Ids as given: "a,b c", ["a", "b,c"] or None -> ["a", "b", "c"] (order kept, empty
    parts dropped)."""
    if value is None:
        return []
    parts = [value] if isinstance(value, str) else list(value)
    return [ref for part in parts for ref in re.split(r"[,\s]+", str(part)) if ref]


# What the ids orch makes look like (model.new_id: a prefix and lower-case hex), and a
# start of one; for tasks, which have no names, the prefix may be left out.
_OWN_ID = {
    kind: re.compile(rf"(?:{re.escape(prefix)}){'?' if kind == 'task' else ''}[0-9a-f]+", re.I)
    for kind, prefix in ID_PREFIX.items()
}


def record_ref(kind: str, text: str) -> str:
    """A reference to a record of `kind` as typed (an id, a unique start of one, a file
    name, or for sessions and groups a name), ready to look up: a blank one is refused,
    since it would name every record; one of orch's own ids typed in capitals
    (`T-3C1C`) is read in lower case, as orch writes them. A session or a group may go
    by a name, so only an id written with its prefix is."""
    noun = NOUN[kind]
    if not text.strip():
        raise InvalidInput(
            f"an empty id names no {noun}: give the {noun}'s id, or a unique start of it"
        )
    return text.lower() if _OWN_ID[kind].fullmatch(text.strip()) else text


def checked_choice(kind: str, key: str, value: str | None) -> str | None:
    """`value` if the schema allows it for `key` (None passes); else InvalidInput."""
    if value is None:
        return None
    allowed = allowed_values(kind, key)
    if value not in allowed:
        raise InvalidInput(f"{key} {value!r} is not one of {', '.join(allowed)}")
    return value


def checked_number(
    name: str, value: int | None, low: int = 0, high: int | None = None
) -> int | None:
    """A whole number within [low, high] (None passes); else InvalidInput."""
    if value is None:
        return None
    # A caller's type hint does not bind what a tool call or a YAML file hands in.
    if not isinstance(value, int) or isinstance(value, bool):  # type: ignore[redundant-expr]
        raise InvalidInput(f"{name} must be a whole number, not {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"{low} to {high}" if high is not None else f"{low} or more"
        raise InvalidInput(f"{name} must be {bound}, not {value}")
    return value


def parse_subtasks(subtasks: Any = None, subtasks_json: Any = None) -> list[dict[str, Any]]:
    """The subtasks of a plan, given as a list or as the legacy JSON text."""
    if subtasks_json:
        if subtasks:
            raise InvalidInput("give the subtasks once: as subtasks or as subtasks_json, not both")
        try:
            # (an MCP client's SDK may have decoded the JSON text already)
            subtasks = (
                json.loads(subtasks_json) if isinstance(subtasks_json, str) else subtasks_json
            )
        except json.JSONDecodeError as e:
            raise InvalidInput(
                f"subtasks_json is not valid JSON: line {e.lineno} column {e.colno}: {e.msg}"
            ) from None
    if isinstance(subtasks, Mapping) and "subtasks" in subtasks:
        subtasks = subtasks["subtasks"]
    if not isinstance(subtasks, list) or not subtasks:
        raise InvalidInput(
            "a plan needs subtasks: a list of {title, description, specialist_type,"
            " dependencies, estimated_effort}"
        )
    return [subtask(n, item) for n, item in enumerate(subtasks, 1)]


def subtask(n: int, item: Any) -> dict[str, Any]:
    """Subtask number `n` of a plan (a title, or an object) with its fields checked."""
    where = f"subtask {n}"
    if isinstance(item, str):
        item = {"title": item}
    if not isinstance(item, Mapping):
        raise InvalidInput(f"{where}: expected an object with a title, got {type(item).__name__}")
    for key in ("title", "description", "specialist_type", "specialist"):
        checked_texts(**{f"{where} {key}": item.get(key)})
    one_line(**{f"{where} title": item.get("title")})
    title = str(item.get("title") or "").strip()
    if not title:
        raise InvalidInput(f"{where}: a subtask needs a title")
    deps = item.get("dependencies", item.get("depends_on")) or []
    if isinstance(deps, str | int):
        deps = [deps]
    if not isinstance(deps, list):
        raise InvalidInput(f"{where} ({title!r}): dependencies must be a list")
    complexity = item.get("complexity_level")
    checked_choice("task", "complexity_level", complexity)
    priority = item.get("priority_level", item.get("priority"))
    checked_number(f"{where}: priority", priority, 1, 5)
    return {
        "title": title,
        "description": str(item.get("description") or "").strip(),
        "specialist_type": (str(item.get("specialist_type") or item.get("specialist") or "").strip()
                            or None),
        "dependencies": [str(d).strip() for d in deps if str(d).strip()],
        "estimated_effort": effort(item.get("estimated_effort"), f"{where}: estimated_effort"),
        "complexity_level": complexity,
        "priority_level": priority,
    }  # fmt: skip
