"""Index rows from records: the facts a file states, under the spec's column names.

Derived columns (level, progress, blocks, ...) are left to derive.py.
"""

from __future__ import annotations

import json
from typing import Any

from orchestrator.model import Record, field_default
from orchestrator.store.sections import artifact_links


def description_of(body: str) -> str:
    return body.strip()


def _get(meta: dict[str, Any], kind: str, key: str) -> Any:
    value = meta.get(key)
    return field_default(kind, key) if value is None else value


def _ids(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def session_row(meta: dict[str, Any], record: Record, rel: str, root: str) -> dict[str, Any]:
    # session.md's reader, loaded when a session file is read (start-up speed of a read).
    from orchestrator.store.session_view import description as session_description

    g = lambda key: _get(meta, "session", key)  # noqa: E731
    return {
        "session_id": meta["session_id"],
        "name": meta["name"],
        "description": session_description(record.body),
        "session_type": g("session_type"),
        "mode_file": meta.get("mode_file"),
        "status": g("status"),
        "project_root_path": root,
        "markdown_file_path": rel,
        "priority_level": g("priority_level"),
        "created_at": meta.get("created_at"),
        "activated_at": meta.get("activated_at"),
        "completed_at": meta.get("completed_at"),
        "archived_at": meta.get("archived_at"),
    }


def group_row(meta: dict[str, Any], record: Record, rel: str) -> dict[str, Any]:
    return {
        "group_id": meta["group_id"],
        "session_id": meta["session_id"],
        "group_name": meta["group_name"],
        "description": description_of(record.body),
        "parent_group_id": meta.get("parent_group_id"),
        "specialist_focus": meta.get("specialist_focus"),
        "priority_level": _get(meta, "group", "priority_level"),
        "created_at": meta.get("created_at"),
        "updated_at": meta.get("updated_at"),
        "file_path": rel,
    }


def task_row(meta: dict[str, Any], record: Record, rel: str) -> dict[str, Any]:
    g = lambda key: _get(meta, "task", key)  # noqa: E731
    return {
        "task_id": meta["task_id"],
        "session_id": meta["session_id"],
        "parent_task_id": meta.get("parent_task_id"),
        "group_id": meta.get("group_id"),
        "title": meta["title"],
        "description": description_of(record.body),
        "specialist_type": meta.get("specialist_type"),
        "complexity_level": g("complexity_level"),
        "priority_level": g("priority_level"),
        "status": g("status"),
        "estimated_effort": meta.get("estimated_effort"),
        "actual_effort": meta.get("actual_effort"),
        "depends_on": json.dumps(_ids(meta.get("depends_on"))),
        "related_tasks": json.dumps(_ids(meta.get("related_tasks"))),
        "verification_status": meta.get("verification_status") or "pending",
        "labels": json.dumps(_ids(meta.get("labels"))),
        "assignee": meta.get("assignee"),
        "due": meta.get("due"),
        "file_operations_count": artifact_links(record.body, meta["task_id"]),
        "created_at": meta.get("created_at"),
        "started_at": meta.get("started_at"),
        "completed_at": meta.get("completed_at"),
        "last_updated_at": meta.get("last_updated_at"),
        "file_path": rel,
    }


def dependency_rows(meta: dict[str, Any]) -> list[tuple[str, str, str]]:
    deps = dict.fromkeys(_ids(meta.get("depends_on")))  # unique, in file order
    return [(meta["task_id"], dep, meta["session_id"]) for dep in deps]


def label_rows(meta: dict[str, Any]) -> list[tuple[str, str, str]]:
    labels = dict.fromkeys(_ids(meta.get("labels")))  # unique, in file order
    return [(meta["task_id"], label, meta["session_id"]) for label in labels]
