"""Moving in from Task Master: a tasks.json, each tag a session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from orchestrator.core.imports.plans import (
    Item,
    Source,
    as_list,
    mapped_priority,
    mapped_status,
    source_key,
)
from orchestrator.errors import InvalidInput, NotFound
from orchestrator.model import CANCELLED, DONE, IN_PROGRESS, PENDING

TASKMASTER_STATUS = {"pending": PENDING, "todo": PENDING, "in-progress": IN_PROGRESS,
                     "in_progress": IN_PROGRESS, "review": "needs_revision", "done": DONE,
                     "completed": DONE, "blocked": "blocked", "deferred": "blocked",
                     "cancelled": CANCELLED, "canceled": CANCELLED}  # fmt: skip


def read_taskmaster(file: str | Path, project_root: Path | None = None) -> list[Source]:
    """A Task Master tasks.json: each tag a session (the older untagged file: one)."""
    path = Path(file).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFound(f"no file {file}") from None
    except json.JSONDecodeError as e:
        raise InvalidInput(
            f"{file} is not JSON: line {e.lineno} column {e.colno}: {e.msg}"
        ) from None
    if isinstance(data, dict) and isinstance(data.get("tasks"), list):
        tags = {"master": data}
    elif isinstance(data, dict):
        tags = {
            t: v
            for t, v in data.items()
            if isinstance(v, dict) and isinstance(v.get("tasks"), list)
        }
    else:
        tags = {}
    if not tags:
        raise InvalidInput(
            f"{file} is not a Task Master tasks.json (no tasks, and no tags holding them)"
        )
    sources = []
    for tag, content in tags.items():
        about = content.get("metadata") or content.get("meta") or {}
        about = str(about.get("description") or "") if isinstance(about, dict) else ""
        source = Source(key=f"{source_key(path, project_root)}#{tag}", name=f"{tag} (Task Master)" if tag != "master" else "Task Master",
                        description=about or f"Imported from tag {tag!r} of {path}.")  # fmt: skip
        for task in content["tasks"]:
            if not isinstance(task, dict):
                source.unmapped.append(
                    f"tag {tag}: an entry of tasks is {task!r}, not a task; left out"
                )
                continue
            tid = str(task.get("id"))
            source.items.append(_taskmaster_item(task, tid, None, source))
            subtasks = [s for s in as_list(task.get("subtasks")) if isinstance(s, dict)]
            siblings = {str(s.get("id")) for s in subtasks}
            for sub in subtasks:
                item = _taskmaster_item(sub, f"{tid}.{sub.get('id')}", tid, source)
                item.deps = [
                    f"{tid}.{d}" if "." not in str(d) and str(d) in siblings else str(d)
                    for d in as_list(sub.get("dependencies"))
                ]
                source.items.append(item)
        sources.append(source)
    return sources


def _taskmaster_item(task: dict[str, Any], key: str, parent: str | None, source: Source) -> Item:
    parts = [str(task.get("description") or "").strip()]
    if task.get("details"):
        parts.append(f"## Details\n\n{str(task['details']).strip()}")
    if task.get("testStrategy"):
        parts.append(f"## Test Strategy\n\n{str(task['testStrategy']).strip()}")
    return Item(
        key=key, title=str(task.get("title") or f"Task {key}"), parent=parent,
        body="\n\n".join(p for p in parts if p),
        status=mapped_status(task.get("status") or "pending", TASKMASTER_STATUS, key, source),
        priority_level=mapped_priority(task.get("priority")),
        deps=[str(d) for d in as_list(task.get("dependencies"))],
        extra={"taskmaster_id": key},
    )  # fmt: skip
