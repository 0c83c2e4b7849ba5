"""One change feed for processes that stay up: a watcher of .task_orchestrator/ that tells
its listeners which record files changed (a hand edit in an editor, a CLI command, an
agent's MCP write, a `git pull`). The board's live pages and the MCP server's resource
subscriptions listen to it; each listener is told the changed paths, relative to the
orchestrator folder (`sessions/s-1/tasks/t-1.md`), once per burst of events.

watchfiles (Rust notify) does the watching and the debounce; the index, git's own folder
and editor droppings are left out. A listener that raises stays a listener; its
error is swallowed, so one bad listener cannot stop the others being told. The change
journal of issue 20 is to become this feed's source (ARCHITECTURE.md, "Decisions").
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

from orchestrator.layout import is_record_name

Listener = Callable[[list[str]], None]
# Milliseconds a burst is gathered (an editor's save-rename-chmod dance is one change)
# and between two looks at the kernel's events.
DEBOUNCE_MS = 80
STEP_MS = 20


class ChangeFeed:
    """The watcher of one project's folder and its listeners; the watcher runs from the
    first listener until `close()`."""

    def __init__(self, base: Path):
        self.base = base  # the project's .task_orchestrator folder
        self._listeners: dict[int, Listener] = {}
        self._next = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()  # set once the watcher receives events

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Tell `listener` of every change from now on; returns the call that stops it."""
        with self._lock:
            key, self._next = self._next, self._next + 1
            self._listeners[key] = listener
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, args=(self._stop,), daemon=True, name="orch-change-feed"
                )
                self._thread.start()
        return lambda: self._forget(key)

    def _forget(self, key: int) -> None:
        with self._lock:
            self._listeners.pop(key, None)

    def close(self) -> None:
        with self._lock:
            self._stop.set()
            thread, self._thread = self._thread, None
            self._listeners.clear()
        if thread is not None:
            thread.join(timeout=2)

    def tell(self, paths: list[str]) -> None:
        """Tell every listener that `paths` changed."""
        with self._lock:
            listeners = list(self._listeners.values())
        for listener in listeners:
            with contextlib.suppress(Exception):  # one failing must not silence the feed
                listener(paths)

    def _watch(self, stop: threading.Event) -> None:
        from watchfiles import watch

        base = self.base

        def wanted(_change, path: str) -> bool:
            parts = Path(path).relative_to(base).parts if path.startswith(str(base)) else ()
            return bool(parts) and parts[0] not in (".index", ".git") and is_record_name(parts[-1])

        for changes in watch(
            base,
            watch_filter=wanted,
            stop_event=stop,
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            yield_on_timeout=True,
            rust_timeout=200,
        ):
            self.ready.set()
            if changes:
                self.tell(sorted({Path(p).relative_to(base).as_posix() for _, p in changes}))
