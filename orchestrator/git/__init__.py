"""Git: the repository (subprocesses), commit building, the syncer that commits each
change, the one stale-editor-buffer merge, and the merge driver (ARCHITECTURE.md)."""

from __future__ import annotations

from pathlib import Path

# In .index/: syncs whose commit is still to be made, and changes a git hook indexed.
PENDING_FILE = "pending.json"
HELD_FILE = "held.json"


def waiting(index_dir: Path) -> bool:
    """Whether a sync waits in `index_dir`: two stats, so that a read of an unchanged
    project loads none of git's modules (the syncer decides what to do with it)."""
    return (index_dir / PENDING_FILE).exists() or (index_dir / HELD_FILE).exists()
