"""Archiving a session: the spec's transition to `archived`, with an export of the
session written under .task_orchestrator/archives/ in the same commit.

Formats: `markdown` (one readable document), `json` (records as data: frontmatter and
body of each file) and `zip` (the session's folder, files as they are).
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from orchestrator.core import lookup
from orchestrator.core.project import Project, Writer
from orchestrator.errors import InvalidInput
from orchestrator.model import now

FORMATS = ("markdown", "json", "zip")
SUFFIX = {"markdown": "md", "json": "json", "zip": "zip"}
EXPORT_FORMAT = "orch-session-export"
EXPORT_VERSION = 1


def archive_session(project: Project, ref: str, export_format: str = "markdown") -> dict[str, Any]:
    """Move a session to archived and write its export; one commit."""
    from orchestrator.core.sessions import change_status

    if export_format not in FORMATS:
        raise InvalidInput(f"export format {export_format!r} is not one of {', '.join(FORMATS)}")
    with project.writing("archive") as w:
        row = lookup.session(w.db, ref)
        row = change_status(project, row["session_id"], "archived")
        export = write_export(w, row["session_id"], export_format)
    return {
        "session_id": row["session_id"],
        "name": row["name"],
        "status": row["status"],
        "export": export,
        "format": export_format,
    }


def session_files(w: Writer, session_id: str) -> list[tuple[str, bytes]]:
    """(path relative to the session folder, content) of every file of a session."""
    folder = w.layout.session_dir(session_id)
    return [
        (p.relative_to(folder).as_posix(), p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    ]


def write_export(w: Writer, session_id: str, export_format: str) -> str:
    files = session_files(w, session_id)
    stamp = now().replace(":", "").replace("-", "")[:15]
    path = w.layout.archives_dir / f"{session_id}-{stamp}.{SUFFIX[export_format]}"
    if export_format == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for rel, data in files:
                archive.writestr(f"{session_id}/{rel}", data)
        data = buffer.getvalue()
    elif export_format == "json":
        data = json.dumps(_as_data(files, session_id), indent=1, ensure_ascii=False).encode()
    else:
        data = _as_markdown(files, session_id).encode("utf-8")
    return w.write_file(path, data)


def _as_data(files: list[tuple[str, bytes]], session_id: str) -> dict[str, Any]:
    from orchestrator.store.record_file import load_yaml, split_frontmatter

    out: dict[str, Any] = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION,
                           "session_id": session_id, "exported_at": now(),
                           "session": None, "groups": [], "tasks": [], "artifacts": []}  # fmt: skip
    for rel, data in files:
        text = data.decode("utf-8", errors="replace")
        if not rel.endswith(".md") or rel.startswith("artifacts/"):
            out["artifacts"].append({"path": rel, "text": text})
            continue
        try:
            head, body = split_frontmatter(text)
            meta = load_yaml(head) or {}
        except Exception:
            meta, body = {}, text
        entry = {"path": rel, "frontmatter": json.loads(json.dumps(meta, default=str)),
                 "body": body}  # fmt: skip
        if rel == "session.md":
            out["session"] = entry
        elif rel.startswith("groups/"):
            out["groups"].append(entry)
        else:
            out["tasks"].append(entry)
    return out


def _as_markdown(files: list[tuple[str, bytes]], session_id: str) -> str:
    parts = [f"# Session {session_id}: export of {now()[:10]}\n"]
    for rel, data in files:
        text = data.decode("utf-8", errors="replace")
        parts.append(f"\n## {rel}\n\n````markdown\n{text.rstrip()}\n````\n")
    return "".join(parts)
