"""One server's state: the project it serves (with its change journal) and one call at a
time against it. server.py makes one `Served` per server and hands it to each tool call
in its Context (context.py), so two servers in one process share nothing."""

from __future__ import annotations

import os
import threading
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import cast

from orchestrator.core.progress import QUIET, Progress
from orchestrator.core.project import Project
from orchestrator.core.setup import init_project
from orchestrator.errors import OrchError, ProjectNotFound
from orchestrator.mcp.context import Context
from orchestrator.mcp.errors import (
    ResourceError,
    ToolError,
    message,
    resource_error,
    said,
    tool_error,
)
from orchestrator.mcp.replies import REPLY_BUDGET, Data, ToolResult, reply

INSTALL_DIR = Path(__file__).resolve().parent.parent  # orch's own package directory


def refused_root(path: Path) -> str | None:
    """Why a directory cannot be a project root for the server, or None."""
    if path.is_relative_to(INSTALL_DIR) or INSTALL_DIR.is_relative_to(path / "orchestrator"):
        return f"{path} is orch's own install directory, not a project"
    if path == Path(path.anchor):
        return f"{path} is the root of the file system, not a project"
    return None


class Served:
    """The project the server works on, and one call at a time against it (the protocol
    runs requests on worker threads; the project object is not shared between calls)."""

    def __init__(self, root: str | os.PathLike | None = None, read_only: bool = False):
        self.lock = threading.RLock()
        # A read-only server changes nothing: what it finds changed outside orch is
        # indexed and left for the next command to commit (as inside a git hook).
        self.read_only = read_only
        self.project: Project | None = None
        # The parameters of each tool served, for errors to name the call that succeeds.
        self.tools: Mapping[str, Collection[str]] = {}
        # A server started for one project (--root, ORCH_ROOT) serves that one alone: a
        # client's working_directory cannot take it elsewhere.
        self.bound: Path | None = None
        # The progress of the call each worker thread runs (core/progress.py): set by the
        # server before a tool runs, given to the project once the call holds the lock.
        self.local = threading.local()
        given = root or os.environ.get("ORCH_ROOT")
        if given:
            try:
                self.project = Project.find(given)
                self.bound = self.project.root
            except ProjectNotFound:
                # A directory with no project yet is served all the same (a client that
                # only saw "Connection closed" could not say why): initialize_session
                # creates it. A root that is no directory fails the start, loudly.
                folder = Path(given).expanduser().resolve()
                if not folder.is_dir() or refused_root(folder):
                    raise
                self.bound = folder
        else:
            try:
                found = Project.find(None)
            except ProjectNotFound:
                found = None
            if found is not None and refused_root(found.root) is None:
                self.project = found
        if self.project is not None:
            self._serve(self.project)

    def use(self, project: Project) -> None:
        if self.project is not None and self.project.monitor is not None:
            self.project.monitor.close()
        self.project = project
        self._serve(project)

    def _serve(self, project: Project) -> None:
        project.watch_changes()
        if self.read_only:
            project.commit_nothing()

    def need(self) -> Project:
        if self.project is None and self.read_only:  # it has no tool that sets one up
            where = f"{self.bound} has no orch project" if self.bound else "no project found"
            raise ToolError(
                f"{where}, and a read-only server creates none: start it with"
                " `orch mcp --root DIR --read-only` on a directory that has one"
            )
        if self.project is None and self.bound is not None:
            raise ToolError(
                f"{self.bound} has no orch project yet: call orchestrator_initialize_session("
                f"working_directory={str(self.bound)!r}) to create it"
            )
        if self.project is None:
            raise ToolError(
                "no project yet: call orchestrator_initialize_session(working_directory=<the"
                " project directory>) first, or start the server with `orch mcp --root DIR`"
            )
        return self.project

    @contextmanager
    def call(self, working_directory: str | None = None) -> Iterator[Call]:
        """One tool call: the lock held, the project chosen (`working_directory` first
        sets it up), the core's errors turned into tool errors, its warnings gathered."""
        with self.lock:
            if working_directory:
                self.initialize(working_directory)
            call = Call(self, self.need())
            call.project.finish_command()  # what an earlier failed call may have left
            # Cancelled while it waited for the lock: nothing is done.
            progress: Progress = getattr(self.local, "call_progress", QUIET)
            try:
                with call.project.reporting(progress):
                    yield call
            except (OrchError, OSError) as e:
                raise tool_error(e, self.tools) from None
            finally:
                call.finish()

    @contextmanager
    def read(self) -> Iterator[Project]:
        """For a resource: the project, the errors as resource errors."""
        with self.lock:
            project = self.project
            if project is None:
                raise ResourceError("no project yet: call orchestrator_initialize_session first")
            try:
                yield project
            except (OrchError, OSError) as e:
                raise resource_error(e, self.tools) from None
            finally:
                project.finish_command()

    def initialize(self, working_directory: str) -> Project:
        """Serve the project at `working_directory` (set up there if missing), within
        the bounds this server was started with."""
        given = Path(working_directory).expanduser()
        if not given.is_absolute():
            if self.project is None:
                raise ToolError(
                    f"working_directory {working_directory!r} is relative; give the project's"
                    " absolute path"
                )
            given = self.project.root / given
        path = given.resolve()  # `..` and symbolic links followed to where they lead
        if self.bound is not None:
            return self._bound_project(working_directory, path)
        if not given.is_dir():
            raise ToolError(
                f"working_directory {str(given)!r} is not an existing directory; give the"
                " project's absolute path"
            )
        why = refused_root(path)
        if why:
            raise ToolError(f"{why}; give the project's absolute path as working_directory")
        if self.project is not None and self.project.root == path:
            return self.project
        return self._set_up(path)

    def _set_up(self, path: Path) -> Project:
        """Serve the project at `path`, set up there first if there is none."""
        try:
            project = Project.find(path) if (path / ".task_orchestrator").is_dir() else None
            if project is None:
                project, _ = init_project(path)
        except OrchError as e:
            raise tool_error(e, self.tools) from None
        except OSError as e:
            raise ToolError(f"cannot set up {path}: {message(e, self.tools)}") from None
        self.use(project)
        return project

    def _bound_project(self, working_directory: str, path: Path) -> Project:
        """The project of a server started for one: `path` must lie in it. Judged before
        anything is looked at there: a client learns nothing of what lies outside."""
        bound = cast(Path, self.bound)
        inside = path.is_relative_to(bound)  # the root itself included
        if not inside or (path != bound and (path / ".task_orchestrator").exists()):
            raise ToolError(
                f"this server serves the project at {bound} alone (started with"
                f" --root or ORCH_ROOT); working_directory {working_directory!r} is"
                f" {'another project' if inside else 'outside it'}. Start a server for"
                " that project: orch mcp --root <its directory>"
            )
        if self.project is None:  # started for a directory with no project yet
            return self._set_up(bound)
        return self.project


class Call:
    """One tool call in progress: its project, and the reply it makes."""

    def __init__(self, served: Served, project: Project):
        self.served = served
        self.project = project
        self.warnings: list[str] = []

    def finish(self) -> None:
        """Take the warnings of every project the call used (initialize may switch)."""
        used = {id(p): p for p in (self.project, self.served.project) if p is not None}
        for project in used.values():
            tools = self.served.tools
            self.warnings += [said(w, tools) for w in project.finish_command()]

    def reply(
        self,
        text: str,
        data: Data,
        budget: int | None = REPLY_BUDGET,
        links: list[dict] | None = None,
    ) -> ToolResult:
        """The answer: `text` and `data`, with the warnings so far, within `budget`;
        `links`: resource links to give beside the text."""
        self.finish()
        return reply(text, data, self.warnings, budget, links)


def served(ctx: Context) -> Served:
    """The state of the server a tool call came to."""
    return ctx.served
