"""Moving in from Backlog.md: backlog/tasks/*.md and backlog/completed/*.md."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from orchestrator.core.imports.plans import (
    Item,
    Source,
    as_list,
    dated,
    mapped_priority,
    mapped_status,
    source_key,
)
from orchestrator.core.task_fields import assignee_of, labels_of
from orchestrator.errors import NotFound
from orchestrator.model import CANCELLED, DONE, IN_PROGRESS, PENDING
from orchestrator.store.record_file import load_yaml, split_frontmatter

BACKLOG_STATUS = {"to do": PENDING, "todo": PENDING, "in progress": IN_PROGRESS,
                  "done": DONE, "blocked": "blocked", "cancelled": CANCELLED,
                  "canceled": CANCELLED}  # fmt: skip
_SECTION_MARKER = re.compile(r"^<!-- (SECTION|AC):[A-Z_]+:(BEGIN|END) -->\n?", re.M)
# Backlog.md numbers its acceptance criteria (`- [ ] #1 Tests run`); orch's checklist
# under the same heading (core/task_fields.py) has no numbers.
_CRITERION_NUMBER = re.compile(r"^([-*] \[[ xX]\] )#\d+ ", re.M)


def read_backlog(
    folder: str | Path, labels_as_groups: bool = False, project_root: Path | None = None
) -> list[Source]:
    """A Backlog.md project (the folder holding backlog/, or backlog/ itself) as one
    session: backlog/tasks/ and backlog/completed/ (drafts and archived tasks are left
    out and said so)."""
    base = Path(folder).expanduser()
    if (base / "backlog").is_dir():
        base = base / "backlog"
    if not (base / "tasks").is_dir():
        raise NotFound(f"{folder} has no backlog/tasks/ folder: is it a Backlog.md project?")
    name = base.parent.name or "Backlog"
    config = base / "config.yml"
    if config.exists():
        with contextlib.suppress(Exception):  # a broken config only costs the name
            name = (load_yaml(config.read_text(encoding="utf-8")) or {}).get("project_name") or name
    source = Source(key=source_key(base, project_root), name=str(name),
                    description=f"Imported from the Backlog.md project in {base}.")  # fmt: skip
    files = sorted((base / "tasks").glob("*.md")) + sorted((base / "completed").glob("*.md"))
    for left_out in ("drafts", "archive/tasks"):
        skipped = list((base / left_out).glob("*.md"))
        if skipped:
            source.unmapped.append(f"{len(skipped)} file(s) in backlog/{left_out}/ left out")
    for path in files:
        try:
            head, body = split_frontmatter(path.read_text(encoding="utf-8"))
            meta = load_yaml(head) or {}
        except Exception as e:
            source.unmapped.append(f"{path.name}: cannot be read ({e}); left out")
            continue
        key = str(meta.get("id") or path.name.split(" - ")[0]).strip().lower()
        status = mapped_status(meta.get("status") or ("Done" if path.parent.name == "completed" else "To Do"),
                               BACKLOG_STATUS, key, source)  # fmt: skip
        labels = labels_of([str(x) for x in as_list(meta.get("labels"))])
        group = labels[0] if labels_as_groups and labels else None
        if group:
            source.groups.setdefault(group, f"Tasks labelled {group!r} in Backlog.md.")
        parent = meta.get("parent_task_id") or meta.get("parent")
        if not parent and re.fullmatch(r"[a-z]+-\d+(\.\d+)+", key):
            parent = key.rsplit(".", 1)[0]  # task-4.1 is a subtask of task-4
        # Backlog.md lists assignees as handles (['@ana']); orch has one name: all of them,
        # without the @ (the board puts it back).
        names = [str(x).strip().lstrip("@") for x in as_list(meta.get("assignee"))]
        extra = {"labels": labels or None, "assignee": assignee_of(", ".join(filter(None, names))) or None,
                 "milestone": meta.get("milestone")}  # fmt: skip
        source.items.append(Item(
            key=key, title=str(meta.get("title") or key), body=_CRITERION_NUMBER.sub(r"\1", _SECTION_MARKER.sub("", body)).strip(),
            status=status, priority_level=mapped_priority(meta.get("priority")),
            deps=[str(d).strip().lower() for d in as_list(meta.get("dependencies"))],
            parent=str(parent).strip().lower() if parent else None, group=group,
            created_at=dated(meta.get("created_date"), key, source),
            completed_at=dated(meta.get("updated_date"), key, source),
            extra={k: v for k, v in extra.items() if v is not None}))  # fmt: skip
    return [source]
