"""The resources: what several agents read and follow at once (the spec's A2A context).

    orch://session/active                 the active session (JSON): record, mode, groups, work
    orch://session/{session_id}/session.md   a session's session.md (text/markdown)
    orch://task/{task_id}                 one task (JSON)
    orch://artifact/{task_id}/{name}      a file a task's report left in artifacts/
    orch://mode/{mode_file}               a role file of .task_orchestrator/roles/
    orch://archive/{name}                 an archived session's export

A client subscribed to one of them is sent `notifications/resources/updated` when its
files change, whoever changed them (another agent, a CLI command, a hand edit): a
watcher (watchfiles) runs while anything is subscribed.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from typing import TYPE_CHECKING, Any

from orchestrator.core import lookup, queries, sessions, workflow
from orchestrator.core.artifacts import artifact_files, artifact_path, file_text, mime_of
from orchestrator.core.feed import ChangeFeed
from orchestrator.core.project import Project
from orchestrator.core.subtasks import session_brief
from orchestrator.errors import OrchError
from orchestrator.layout import SESSION_FILE
from orchestrator.mcp.errors import ResourceError
from orchestrator.mcp.replies import Data, task_brief, task_detail
from orchestrator.mcp.served import Served

if TYPE_CHECKING:
    from orchestrator.mcp.protocol import Session

GROUP_FIELDS = ("group_id", "group_name", "parent_group_id", "group_level", "specialist_focus",
                "total_tasks", "completed_tasks", "progress_percentage")  # fmt: skip
ACTIVE = "orch://session/active"
LISTED_AT_MOST = 200  # rows of resources/list; the templates reach the rest
LINKS = 16  # resource links in one reply

TEMPLATES = [
    {"uriTemplate": "orch://task/{task_id}", "name": "task", "title": "A task",
     "description": "A task: fields, subtasks, dependencies, the tasks it blocks",
     "mimeType": "application/json"},
    {"uriTemplate": "orch://session/{session_id}/session.md", "name": "session_md",
     "title": "A session's session.md", "description": "The session's Markdown view",
     "mimeType": "text/markdown"},
    {"uriTemplate": "orch://artifact/{task_id}/{name}", "name": "artifact",
     "title": "A task's artifact", "description": "A file a task's report left",
     "mimeType": "text/markdown"},
    {"uriTemplate": "orch://mode/{mode_file}", "name": "mode", "title": "A mode",
     "description": "A role file of .task_orchestrator/roles/", "mimeType": "text/yaml"},
    {"uriTemplate": "orch://archive/{name}", "name": "archive", "title": "An archive",
     "description": "An archived session's export", "mimeType": "text/markdown"},
]  # fmt: skip


# -- reading -----------------------------------------------------------------------------


def read(served: Served, uri: str) -> dict[str, Any]:
    """The contents of `uri` (one entry of a resources/read reply): text, or a blob
    (base64) for a file that is not text."""
    with served.read() as project:
        mime, content = _read(project, uri)
    if isinstance(content, bytes):
        return {"uri": uri, "mimeType": mime, "blob": base64.b64encode(content).decode()}
    return {"uri": uri, "mimeType": mime, "text": content}


def _read(project: Project, uri: str) -> tuple[str, str | bytes]:
    if uri == ACTIVE:
        return "application/json", as_json(active_session_data(project))
    if m := re.fullmatch(r"orch://task/([^/]+)", uri):
        return "application/json", as_json(task_detail(project, m[1], full=False))
    if m := re.fullmatch(r"orch://session/([^/]+)/session\.md", uri):
        with project.reading() as db:
            row = lookup.session(db, m[1])
        return "text/markdown", file_text(project, project.root / row["markdown_file_path"])
    if m := re.fullmatch(r"orch://artifact/([^/]+)/(.+)", uri):
        path = artifact_path(project, m[1], m[2])
        return mime_of(path), file_text(project, path)
    if m := re.fullmatch(r"orch://mode/([^/]+)", uri):
        path = project.layout.inside(m[1], project.layout.roles_dir, what="mode file")
        return "text/yaml", file_text(project, path)
    if m := re.fullmatch(r"orch://archive/([^/]+)", uri):
        path = project.layout.inside(m[1], project.layout.archives_dir, what="archive")
        return mime_of(path), file_text(project, path)
    raise ResourceError(
        f"no resource {uri!r}; resources/list and resources/templates/list name them"
    )


def as_json(data: Data) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)


def active_session_data(project: Project) -> Data:
    """The active session: its record, mode configuration, groups, tasks in hand and
    ready, and the path of its session.md."""
    work = queries.active_session_work(project)
    if work is None:
        return {"session": None, "note": "no session is active"}
    shown = sessions.show_session(project, work["session"]["session_id"])
    mode = workflow.planning_context(project)
    return {
        "session": session_brief(shown),
        "mode": {
            "mode_file": shown["mode_file"],
            "binding": shown["mode_binding"],
            "specialist_roles": mode.get("specialist_roles"),
        },
        "groups": [{k: g.get(k) for k in GROUP_FIELDS} for g in shown["groups"]],
        "active_tasks": [task_brief(t) for t in work["in_hand"]],
        "ready_tasks": [task_brief(t) for t in work["ready"]],
        "status_counts": shown["status_counts"],
        "markdown_path": shown["markdown_file_path"],
    }


# -- listing -----------------------------------------------------------------------------


def listed(served: Served) -> list[dict[str, Any]]:
    """resources/list: the active session, each session's session.md, the modes and the
    archives (at most LISTED_AT_MOST; the templates reach every task and artifact)."""
    out = [{"uri": ACTIVE, "name": "active_session", "title": "The active session",
            "mimeType": "application/json"}]  # fmt: skip
    with served.read() as project:
        for row in sessions.list_sessions(project, None, False)[:50]:
            out.append({"uri": f"orch://session/{row['session_id']}/session.md",
                        "name": f"{row['name']} (session.md)", "mimeType": "text/markdown"})  # fmt: skip
        layout = project.layout
        for folder, scheme in ((layout.roles_dir, "mode"), (layout.archives_dir, "archive")):
            if folder.is_dir():
                for path in sorted(folder.iterdir())[:50]:
                    if path.is_file() and not path.name.startswith("."):
                        out.append({"uri": f"orch://{scheme}/{path.name}", "name": path.name,
                                    "mimeType": mime_of(path)})  # fmt: skip
    return out[:LISTED_AT_MOST]


def link(uri: str, name: str, mime: str, description: str | None = None) -> dict[str, Any]:
    """A resource link for a tool's content (execute, archive)."""
    out = {"uri": uri, "name": name, "mimeType": mime}
    if description:
        out["description"] = description
    return out


def execute_links(project: Project, out: Data) -> list[dict[str, Any]]:
    """What an execute reply links to: the task, its session's session.md, the mode's
    role file, and each dependency with the artifacts its reports left (at most LINKS in
    all: they count in the reply's 8 KB)."""
    task = out["task"]
    links = [
        link(f"orch://task/{task['task_id']}", task["task_id"], "application/json", "The task"),
        link(f"orch://session/{task['session_id']}/session.md", "session.md", "text/markdown",
             "The session"),
    ]  # fmt: skip
    if out.get("mode"):
        links.append(link(f"orch://mode/{out['mode']}", out["mode"], "text/yaml", "The roles"))
    for dependency in out.get("dependencies", [])[:10]:
        dep_id = dependency["task_id"]
        links.append(link(f"orch://task/{dep_id}", dep_id, "application/json", "A dependency"))
        for found in artifact_files(project, task["session_id"], dep_id)[:10]:
            links.append(link(f"orch://artifact/{dep_id}/{found['name']}", found["name"],
                              found["mime"], f"A report of {dep_id}"))  # fmt: skip
    return links[:LINKS]


# -- completions ---------------------------------------------------------------------------


def completions(served: Served, ref: dict[str, Any], argument: dict[str, Any]) -> list[str]:
    """Values for a resource template's or a prompt's argument that start with what the
    client typed: task ids, session ids and names, mode files."""
    name, typed = str(argument.get("name", "")), str(argument.get("value", ""))
    try:
        with served.read() as project:
            if name == "mode_file":
                folder = project.layout.roles_dir
                names = sorted(p.name for p in folder.glob("*.y*ml")) if folder.is_dir() else []
                return [n for n in names if n.startswith(typed)]
            return queries.ids_starting(project, name, typed)
    except (ResourceError, OrchError):
        return []


# -- subscriptions ---------------------------------------------------------------------------


def uris_of(rel: str) -> set[str]:
    """The resources a change to `rel` (a path below .task_orchestrator/) may alter."""
    parts = rel.split("/")
    if parts[0] == "roles" and len(parts) == 2:
        return {f"orch://mode/{parts[1]}", ACTIVE}
    if parts[0] == "archives" and len(parts) == 2:
        return {f"orch://archive/{parts[1]}"}
    if parts[0] != "sessions" or len(parts) < 3:
        return set()
    session_id, out = parts[1], {ACTIVE}
    if parts[2] == SESSION_FILE:
        out.add(f"orch://session/{session_id}/session.md")
    elif parts[2] == "tasks" and len(parts) == 4 and parts[3].endswith(".md"):
        out.add(f"orch://task/{parts[3][:-3]}")
    elif parts[2] == "artifacts" and len(parts) >= 5:
        out.add(f"orch://artifact/{parts[3]}/{'/'.join(parts[4:])}")
    return out


class Subscriptions:
    """The resources a client follows, told of their changes by the project's change
    feed (core/feed.py: the one the board listens to too), from the first subscription
    until the server stops."""

    def __init__(self, served: Served):
        self.served = served
        self.session: Session | None = None
        self.uris: set[str] = set()
        self._lock = threading.Lock()
        self._feed: ChangeFeed | None = None
        self._waiting: threading.Event | None = None  # set: stop waiting for a project

    def add(self, uri: str, session: Session) -> None:
        """Follow `uri`, its changes told to `session` (the subscriber's)."""
        with self._lock:
            self.session = session
            self.uris.add(uri)
            if self._feed is not None or self._waiting is not None:
                return
            project = self.served.project
            if project is not None:
                self._follow(project)
                return
            # A project not set up yet: followed from when it is, everything told changed.
            self._waiting = threading.Event()
            threading.Thread(target=self._wait_for_project, args=(self._waiting,),
                             daemon=True, name="orch-mcp-subscriptions").start()  # fmt: skip

    def _follow(self, project: Project) -> None:
        self._feed = ChangeFeed(project.layout.base)
        self._feed.listen(lambda paths: self.notify(set().union(*map(uris_of, paths))))

    def _wait_for_project(self, stop: threading.Event) -> None:
        while not stop.wait(0.2):
            project = self.served.project
            if project is None:
                continue
            with self._lock:
                if stop.is_set():
                    return
                self._follow(project)
                followed = set(self.uris)
            self.notify(followed)
            return

    def remove(self, uri: str) -> None:
        with self._lock:
            self.uris.discard(uri)

    def close(self) -> None:
        """Stop following (a client connecting again starts anew)."""
        with self._lock:
            feed, self._feed = self._feed, None
            if self._waiting is not None:
                self._waiting.set()
            self._waiting = None
            self.uris.clear()
        if feed is not None:
            feed.close()  # outside the lock: a change being told takes it

    def notify(self, changed: set[str]) -> None:
        with self._lock:
            followed = sorted(changed & self.uris)
        if self.session is not None:
            for uri in followed:
                self.session.notify("notifications/resources/updated", {"uri": uri})
