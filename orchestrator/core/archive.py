"""Archiving a session: the spec's transition to `archived`, with an export of the
session written under .task_orchestrator/archives/ in the same commit.

Formats: `markdown` (one readable document), `json` (records as data: frontmatter and
body of each file) and `zip` (the session's folder, files as they are).
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import TYPE_CHECKING, Any

from orchestrator.core import lookup
from orchestrator.core.progress import QUIET, Progress
from orchestrator.core.project import Project
from orchestrator.core.sessions import change_status
from orchestrator.errors import InvalidInput
from orchestrator.model import ARCHIVED, now

if TYPE_CHECKING:
    from orchestrator.core.writer import Writer

FORMATS = ("markdown", "json", "zip")
SUFFIX = {"markdown": "md", "json": "json", "zip": "zip"}
EXPORT_FORMAT = "orch-export"  # schema/export.schema.json
EXPORT_VERSION = 1


def archive_session(project: Project, ref: str, export_format: str = "markdown") -> dict[str, Any]:
    """Move a session to archived and write its export; one commit. `project.progress`
    is told each file of the session read into the export; a cancel takes back the
    status change and writes no export (Project.writing)."""
    if export_format not in FORMATS:
        raise InvalidInput(f"export format {export_format!r} is not one of {', '.join(FORMATS)}")
    project.progress.check()
    with project.writing("archive") as w:
        row = lookup.session(w.db, ref)
        row = change_status(project, row["session_id"], ARCHIVED)
        export = write_export(w, row["session_id"], export_format, project.progress)
    return {
        "session_id": row["session_id"],
        "name": row["name"],
        "status": row["status"],
        "export": export,
        "format": export_format,
    }


def session_files(layout, session_id: str, progress: Progress = QUIET) -> list[tuple[str, bytes]]:
    """(path relative to the session folder, content) of every file of a session;
    `progress` is told each file read."""
    folder = layout.session_dir(session_id)
    paths = [p for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(".")]
    files = []
    for n, path in enumerate(paths, 1):
        files.append((path.relative_to(folder).as_posix(), path.read_bytes()))
        progress.step(n, len(paths), f"{session_id}: {n} of {len(paths)} files read")
    return files


def export_bytes(
    layout, session_ids: list[str], export_format: str, progress: Progress = QUIET
) -> bytes:
    """Sessions as one export document: a zip of their folders, the JSON of
    schema/export.schema.json, or one Markdown document."""
    files = {sid: session_files(layout, sid, progress) for sid in session_ids}
    if export_format == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for sid, entries in files.items():
                for rel, data in entries:
                    archive.writestr(f"{sid}/{rel}", data)
        return buffer.getvalue()
    if export_format == "json":
        document = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "exported_at": now(),
                    "sessions": [_as_data(entries, sid) for sid, entries in files.items()]}  # fmt: skip
        return json.dumps(document, indent=1, ensure_ascii=False).encode()
    return "".join(_as_markdown(entries, sid) for sid, entries in files.items()).encode()


def write_export(w: Writer, session_id: str, export_format: str, progress: Progress = QUIET) -> str:
    stamp = now().replace(":", "").replace("-", "")[:15]
    path = w.layout.archives_dir / f"{session_id}-{stamp}.{SUFFIX[export_format]}"
    return w.write_file(path, export_bytes(w.layout, [session_id], export_format, progress))


def _as_data(files: list[tuple[str, bytes]], session_id: str) -> dict[str, Any]:
    from orchestrator.store.record_file import load_yaml, split_frontmatter

    out: dict[str, Any] = {"session_id": session_id, "session": None, "groups": [], "tasks": [],
                           "artifacts": []}  # fmt: skip
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
