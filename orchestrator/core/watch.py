"""`orch watch`: keep the index, the session.md views and the commits current while
people and agents edit the files.

watchfiles (Rust notify) reports file events under .task_orchestrator/; a burst (an
editor's save-rename-chmod dance, a `git checkout` of 500 files) is gathered until the
folder has been quiet for the debounce time, then synced once: the same refresh every
command starts with (outside edits indexed, boxes ticked in session.md applied, views
regenerated, an `edit` commit). orch's own writes (the index, views it regenerates, git)
come back as events too; they find nothing changed and print nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrator.core.project import Project
from orchestrator.layout import is_record_name

# The longest a continuous stream of events is gathered before a sync all the same.
LONGEST_BURST_MS = 5_000
STARTUP_MS = 300


def sync_once(root: Path, say: Callable[[str], None]) -> bool:
    """One sync, as a command would make it, and one line saying what it did (nothing
    if nothing changed: orch's own writes coming back as events). A fresh Project each
    time, so a changed config.yaml is read. Never raises: a watcher keeps watching."""
    project = Project(root)
    project.follow_views = True
    try:
        with project.reading():
            pass
        for warning in project.warnings:
            say(f"warning: {warning}")
        if not project.refreshed:
            return False
        stamp = time.strftime("%H:%M:%S")
        commits = project.syncer.commits
        repo = project.syncer.repo() if commits else None
        for commit in commits:
            subject = repo.out("log", "-1", "--format=%s", commit) if repo else ""
            say(f"{stamp}  {subject}  ({commit[:9]})")
        if not commits:
            mode = project.config.commit
            why = (
                "nothing new to commit"
                if mode == "every-sync"
                else f"not committed (commit: {mode})"
            )
            say(f"{stamp}  indexed {project.refreshed} file(s); {why}")
        return True
    except Exception as error:  # one bad sync must not end the watch
        say(f"error: {error}")
        return False


def watch(
    root: Path,
    debounce_s: float,
    say: Callable[[str], None],
    stop_event: Any = None,
) -> None:
    """Sync on every burst of changes until stopped (Ctrl-C, or `stop_event` set)."""
    from watchfiles import DefaultFilter
    from watchfiles import watch as file_events

    base = Project(root).layout.base

    class Records(DefaultFilter):
        """Everything under .task_orchestrator/ but the index, git's own folder and
        editor droppings."""

        def __call__(self, change, path: str) -> bool:
            parts = Path(path).relative_to(base).parts
            if not parts or parts[0] in (".index", ".git") or not is_record_name(parts[-1]):
                return False
            return super().__call__(change, path)

    quiet_ms = max(int(debounce_s * 1000), 1)
    started = False
    for changes in file_events(
        base,
        watch_filter=Records(),
        step=quiet_ms,
        debounce=max(LONGEST_BURST_MS, quiet_ms),
        stop_event=stop_event,
        # An empty batch after this long: the first one starts the watch with a sync,
        # made once events are being collected, so an edit saved meanwhile is not missed.
        yield_on_timeout=True,
        rust_timeout=STARTUP_MS,
    ):
        if changes or not started:
            started = True
            sync_once(root, say)
