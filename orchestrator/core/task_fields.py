"""A task's labels, assignee, due date and acceptance criteria: read as people and agents
give them, written into a record, filtered on in listings.

Labels, assignee and due are frontmatter facts (schema/task.schema.json); acceptance
criteria are a Markdown checklist under `## Acceptance criteria` in the body, counted
when a task is shown and never stored in the frontmatter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from orchestrator.errors import InvalidInput
from orchestrator.model import CANCELLED, DONE
from orchestrator.store.sections import section, set_section
from orchestrator.store.validation import checked_texts

ACCEPTANCE = "Acceptance criteria"
DUE_FORMATS = "YYYY-MM-DD (e.g. 2026-12-01), today, tomorrow, +3d or +2w"
_RELATIVE = re.compile(r"\+(\d{1,4})([dw])", re.I)
# A checklist item: `- [ ] text` or `- [x] text` (also `*` and `+` bullets).
_ITEM = re.compile(r"\s*[-*+] \[([ xX])\] (.*\S)\s*")


def today() -> date:
    """The local day, as a person reads "due" and "overdue" (tests set it)."""
    return date.today()


def labels_of(value: str | Iterable[str] | None, name: str = "label") -> list[str]:
    """Labels as given: "bug, ui" or ["bug", "ui,docs"] -> ["bug", "ui", "docs"] (order
    kept, each once, blanks dropped). A label may hold spaces but no comma or line."""
    if value is None:
        return []
    parts = [value] if isinstance(value, str) else list(value)
    found: dict[str, None] = {}
    for part in parts:
        if not isinstance(part, str):
            raise InvalidInput(f"{name} {part!r} is not text; give labels like bug or ui")
        checked_texts(**{name: part})
        if len(part.splitlines()) > 1 or part.endswith(("\n", "\r", "\u2028", "\u2029", "\x85")):
            raise InvalidInput(f"{name} {part!r} spans lines; a label is one line")
        for label in part.split(","):
            if label.strip():
                found[label.strip()] = None
    return list(found)


def assignee_of(value: str | None) -> str | None:
    """An assignee as given: None leaves it, "" clears it, else the name on one line."""
    if value is None:
        return None
    checked_texts(assignee=value)
    if len(value.strip().splitlines()) > 1:
        raise InvalidInput("assignee holds a line break: give a name on one line")
    return value.strip()


def due_of(value: str | date | None) -> str | None:
    """A due date as given, as the file keeps it (YYYY-MM-DD): None leaves it, "" clears
    it; "today", "tomorrow", "+3d" and "+2w" count from today."""
    if value is None or isinstance(value, date):
        return value.isoformat() if isinstance(value, date) else None
    text = str(value).strip().lower()
    if not text:
        return ""
    if text in ("today", "tomorrow"):
        return (today() + timedelta(days=text == "tomorrow")).isoformat()
    if match := _RELATIVE.fullmatch(text):
        days = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
        return (today() + timedelta(days=days)).isoformat()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    raise InvalidInput(f"due {value!r} is not a date; give {DUE_FORMATS}")


def set_fields(
    meta: dict[str, Any],
    *,
    labels: str | Iterable[str] | None = None,
    add_labels: str | Iterable[str] = (),
    remove_labels: str | Iterable[str] = (),
    assignee: str | None = None,
    due: str | date | None = None,
) -> None:
    """Write labels (`labels` replaces the list, the add/remove lists edit it), an
    assignee and a due date into a task's frontmatter, each read as labels_of,
    assignee_of and due_of read them; None leaves a field, "" clears it."""
    add, remove = labels_of(add_labels), set(labels_of(remove_labels))
    if labels is not None and not labels_of(labels) and not _empty(labels):
        # "  " or ",": a slip, not a wish to drop every label (that is an empty list).
        raise InvalidInput(
            f"label {labels!r} is blank: give a label, or an empty list to remove every label"
        )
    assignee, due = assignee_of(assignee), due_of(due)
    if labels is not None or add or remove:
        written = meta.get("labels") or []
        # A single label written as text (labels: bug) counts as a one-item list.
        current = [written] if isinstance(written, str) else list(written)
        kept = labels_of(labels) if labels is not None else current
        _put(meta, "labels", [x for x in dict.fromkeys([*kept, *add]) if x not in remove])
    if assignee is not None:
        _put(meta, "assignee", assignee or None)
    if due is not None:
        _put(meta, "due", due or None)


def _empty(value: str | Iterable[str]) -> bool:
    """An empty list of labels (or no text at all), as asked for on purpose."""
    return value == "" if isinstance(value, str) else not list(value)


def _put(meta: dict[str, Any], key: str, value: Any) -> None:
    # Clearing a field that is unset is no change (update_task then writes nothing).
    if value or meta.get(key):
        meta[key] = value


def with_acceptance(body: str, criteria: Iterable[str]) -> str:
    """`body` with the criteria added, unticked, to its `## Acceptance criteria`
    checklist (the section is made if missing)."""
    items = [" ".join(c.split()) for c in criteria if c and c.strip()]
    if not items:
        return body
    checked_texts(**{f"acceptance[{n}]": item for n, item in enumerate(items)})
    lines = "\n".join(f"- [ ] {item}" for item in items)
    return "\n" + set_section(body.lstrip("\n"), ACCEPTANCE, lines, append=True)


def acceptance(body: str | None) -> dict[str, Any]:
    """The acceptance criteria of a task's body (or its description): how many are
    ticked, how many there are, and each with its state."""
    items = [
        {"text": m.group(2), "done": m.group(1) != " "}
        for line in (section(body or "", ACCEPTANCE) or "").splitlines()
        if (m := _ITEM.fullmatch(line))
    ]
    return {"done": sum(i["done"] for i in items), "total": len(items), "items": items}


def field_filter(
    labels: Iterable[str] = (), assignee: str | None = None, overdue: bool = False, alias: str = "t"
) -> tuple[list[str], list[Any]]:
    """WHERE clauses (over `tasks` as `alias`) and their parameters: tasks having every
    label, assigned to `assignee`, or due before today and not finished."""
    clauses: list[str] = []
    params: list[Any] = []
    wanted = labels_of(labels)
    if (labels and not wanted) or (
        assignee is not None and assignee != "" and not assignee.strip()
    ):
        raise InvalidInput("a blank label or assignee filter: give a label or a name")
    for label in wanted:
        # The label index finds the tasks; no task row is read for a label it lacks.
        clauses.append(f"{alias}.task_id IN (SELECT task_id FROM task_labels WHERE label = ?)")
        params.append(label)
    if assignee:
        clauses.append(f"{alias}.assignee = ?")
        params.append(assignee_of(assignee))
    if overdue:
        clauses.append(f"{alias}.due < ? AND {alias}.status NOT IN (?, ?)")
        params += [today().isoformat(), DONE, CANCELLED]
    return clauses, params
