-- Full-text search over tasks, for the SQLite engine only (DuckDB searches the same
-- columns by pattern): an FTS5 index whose content is the tasks table itself, kept in
-- step by triggers, so every refresh that writes a task row keeps it current and a
-- rebuild fills it as the rows go in. Ranking: bm25, the title weighing more.
-- Derived columns are updated in place without touching it (UPDATE OF title, description).

CREATE VIRTUAL TABLE IF NOT EXISTS tasks_fts USING fts5(
    title, description, content='tasks', content_rowid='rowid',
    tokenize='unicode61 remove_diacritics 2'
);

CREATE TRIGGER IF NOT EXISTS tasks_fts_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO tasks_fts (rowid, title, description)
    VALUES (new.rowid, new.title, new.description);
END;

CREATE TRIGGER IF NOT EXISTS tasks_fts_delete AFTER DELETE ON tasks BEGIN
    INSERT INTO tasks_fts (tasks_fts, rowid, title, description)
    VALUES ('delete', old.rowid, old.title, old.description);
END;

CREATE TRIGGER IF NOT EXISTS tasks_fts_update AFTER UPDATE OF title, description ON tasks BEGIN
    INSERT INTO tasks_fts (tasks_fts, rowid, title, description)
    VALUES ('delete', old.rowid, old.title, old.description);
    INSERT INTO tasks_fts (rowid, title, description)
    VALUES (new.rowid, new.title, new.description);
END
