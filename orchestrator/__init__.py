"""orch: a file-first, git-backed task and session orchestrator."""

__version__ = "0.1.0"
