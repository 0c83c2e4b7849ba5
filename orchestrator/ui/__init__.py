"""orch ui: the board in the browser (an adapter over the core)."""
