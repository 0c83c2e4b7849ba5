"""The rebuildable index: a cache of the record files in SQLite or DuckDB."""
