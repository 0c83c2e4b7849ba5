"""Git: the repository (subprocesses), commit building, the syncer that commits each
change, the one stale-editor-buffer merge, and the merge driver (ARCHITECTURE.md)."""
