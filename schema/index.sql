-- The index schema: the spec's session tables and indexes, as one SQL text that both
-- SQLite and DuckDB run (orch reads this file; nothing repeats it in code).
--
-- The index is a cache of the Markdown files under .task_orchestrator/ and is rebuilt
-- from them by `orch reindex`. Where this departs from the spec's DDL, it is so that
-- both engines answer byte-identically after a rebuild:
--   * timestamps are TEXT (ISO 8601, UTC, "2026-11-25T22:37:33Z"), as written in the files;
--   * JSON columns hold JSON text (SQLite keeps it as text, DuckDB as its JSON type);
--   * progress figures are DOUBLE (DuckDB's REAL is 4 bytes and would round 33.3);
--   * no FOREIGN KEYs and no DEFAULT CURRENT_TIMESTAMP: the index mirrors files that a
--     person may have left inconsistent (a dangling parent is reported, not refused), and
--     every value comes from a file, never from the time of indexing.
-- Columns the spec does not have are marked "orch:".

CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    session_type TEXT DEFAULT 'project',
    mode_file TEXT,
    status TEXT DEFAULT 'active',
    project_root_path TEXT,
    markdown_file_path TEXT,
    priority_level INTEGER DEFAULT 3,
    total_tasks INTEGER DEFAULT 0,
    completed_tasks INTEGER DEFAULT 0,
    progress_percentage DOUBLE DEFAULT 0.0,
    estimated_completion_date TEXT,
    created_at TEXT,
    activated_at TEXT,
    last_activity_at TEXT,
    completed_at TEXT,
    archived_at TEXT,
    CHECK (priority_level BETWEEN 1 AND 5),
    CHECK (progress_percentage BETWEEN 0.0 AND 100.0)
);

CREATE TABLE IF NOT EXISTS active_session (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    session_id TEXT NOT NULL,
    activated_at TEXT,
    context_data JSON                -- what agents share of it: name, description, type, priority,
                                     -- the mode it really uses and that mode's specialists
);

CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    parent_task_id TEXT,
    root_task_id TEXT,
    task_group TEXT,                 -- the group's name, as in the spec
    group_id TEXT,                   -- orch: the group's id (what the file stores)
    level INTEGER DEFAULT 0,
    hierarchy_path TEXT,
    position_in_group INTEGER DEFAULT 0,
    title TEXT NOT NULL,
    description TEXT,
    specialist_type TEXT,
    complexity_level TEXT DEFAULT 'moderate',
    priority_level INTEGER DEFAULT 3, -- orch: 1 urgent .. 5 someday; orders the ready list
    status TEXT DEFAULT 'pending',
    progress_percentage DOUBLE DEFAULT 0.0,
    estimated_effort INTEGER,
    actual_effort INTEGER,
    depends_on JSON,
    blocks JSON,
    related_tasks JSON,
    markdown_section TEXT,
    file_operations_count INTEGER DEFAULT 0,
    verification_status TEXT DEFAULT 'pending',
    labels JSON,                     -- orch: as the file lists them; filtered through task_labels
    assignee TEXT,                   -- orch: who does it
    due TEXT,                        -- orch: YYYY-MM-DD, so text order is date order
    created_at TEXT,
    started_at TEXT,
    completed_at TEXT,
    last_updated_at TEXT,
    file_path TEXT,                  -- orch: the record's file, relative to the project root
    CHECK (level >= 0),
    CHECK (progress_percentage BETWEEN 0.0 AND 100.0),
    CHECK (estimated_effort >= 0),
    CHECK (actual_effort >= 0)
);

CREATE TABLE IF NOT EXISTS session_modes (
    mode_id TEXT PRIMARY KEY,
    mode_name TEXT NOT NULL,
    yaml_file_path TEXT NOT NULL,
    yaml_content_hash TEXT,
    description TEXT,
    specialist_roles JSON,
    default_complexity TEXT DEFAULT 'moderate',
    auto_task_routing BOOLEAN DEFAULT FALSE,
    is_valid BOOLEAN DEFAULT TRUE,
    last_validated_at TEXT,          -- the file's times, not the reading's (a rebuild gives the same):
    validation_errors JSON,          -- validated and updated: when its content was last modified;
    created_at TEXT,                 -- created: its creation where the system records one, else the same
    updated_at TEXT,
    UNIQUE (yaml_file_path)
);

CREATE TABLE IF NOT EXISTS session_mode_bindings (
    session_id TEXT NOT NULL,
    mode_id TEXT NOT NULL,
    bound_at TEXT,
    binding_context JSON,
    PRIMARY KEY (session_id, mode_id)
);

CREATE TABLE IF NOT EXISTS task_groups (
    group_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    group_name TEXT NOT NULL,
    description TEXT,
    parent_group_id TEXT,
    group_level INTEGER DEFAULT 0,
    position_in_session INTEGER DEFAULT 0,
    specialist_focus TEXT,
    estimated_effort INTEGER DEFAULT 0,
    priority_level INTEGER DEFAULT 3,
    total_tasks INTEGER DEFAULT 0,
    completed_tasks INTEGER DEFAULT 0,
    progress_percentage DOUBLE DEFAULT 0.0,
    markdown_section TEXT,
    created_at TEXT,
    updated_at TEXT,
    file_path TEXT,                  -- orch: the record's file, relative to the project root
    CHECK (group_level >= 0),
    CHECK (priority_level BETWEEN 1 AND 5),
    CHECK (progress_percentage BETWEEN 0.0 AND 100.0)
);

CREATE TABLE IF NOT EXISTS markdown_sync_state (
    sync_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    markdown_file_path TEXT NOT NULL,
    last_db_to_md_sync TEXT,
    last_md_to_db_sync TEXT,
    sync_status TEXT DEFAULT 'synchronized',
    db_content_hash TEXT,
    md_content_hash TEXT,
    last_conflict_resolution TEXT,
    file_monitor_active BOOLEAN DEFAULT TRUE,
    last_file_modification TEXT,
    UNIQUE (session_id, markdown_file_path)
);

CREATE INDEX IF NOT EXISTS idx_sessions_status ON sessions (status);
CREATE INDEX IF NOT EXISTS idx_sessions_priority ON sessions (priority_level);
CREATE INDEX IF NOT EXISTS idx_sessions_activity ON sessions (last_activity_at);

CREATE INDEX IF NOT EXISTS idx_tasks_session ON tasks (session_id);
CREATE INDEX IF NOT EXISTS idx_tasks_hierarchy ON tasks (session_id, hierarchy_path);
-- Covers the session's totals by status and effort (index/refresh.py, core/views.py):
-- a count over 10,000 tasks reads the index alone, not every row.
CREATE INDEX IF NOT EXISTS idx_tasks_status ON tasks (session_id, status, estimated_effort, actual_effort);
CREATE INDEX IF NOT EXISTS idx_tasks_group ON tasks (session_id, task_group);
CREATE INDEX IF NOT EXISTS idx_tasks_parent ON tasks (parent_task_id);
CREATE INDEX IF NOT EXISTS idx_tasks_group_id ON tasks (session_id, group_id, status, estimated_effort);  -- orch: covers a group's totals
CREATE INDEX IF NOT EXISTS idx_tasks_assignee ON tasks (assignee);  -- orch
CREATE INDEX IF NOT EXISTS idx_tasks_due ON tasks (due);  -- orch: --overdue reads a range
CREATE INDEX IF NOT EXISTS idx_tasks_started ON tasks (session_id, status, started_at, task_id);  -- orch: the board's longest in progress

CREATE INDEX IF NOT EXISTS idx_task_groups_session ON task_groups (session_id);
CREATE INDEX IF NOT EXISTS idx_task_groups_parent ON task_groups (parent_group_id);

CREATE INDEX IF NOT EXISTS idx_markdown_sync_session ON markdown_sync_state (session_id);
CREATE INDEX IF NOT EXISTS idx_markdown_sync_status ON markdown_sync_state (sync_status);

-- orch's own bookkeeping (not in the spec) -----------------------------------------

-- One row per dependency edge, so "ready" and "blocks" are plain joins on both engines.
CREATE TABLE IF NOT EXISTS task_dependencies (
    task_id TEXT NOT NULL,
    depends_on_task_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    PRIMARY KEY (task_id, depends_on_task_id)
);
CREATE INDEX IF NOT EXISTS idx_task_dependencies_target ON task_dependencies (depends_on_task_id);

-- One row per label of a task, as task_dependencies for depends_on: "tasks labelled bug
-- and ui" is an indexed lookup by label on both engines, where a search in the JSON
-- column would read every task (DuckDB and SQLite index no JSON array's items).
CREATE TABLE IF NOT EXISTS task_labels (
    task_id TEXT NOT NULL,
    label TEXT NOT NULL,
    session_id TEXT NOT NULL,
    PRIMARY KEY (task_id, label)
);
CREATE INDEX IF NOT EXISTS idx_task_labels_label ON task_labels (label, task_id);

-- The tasks that are ready now, by the rule of index/readiness.py, kept by every refresh
-- for the tasks a change can make ready or not: "ready" is a lookup, not a look at the
-- dependencies and subtasks of every pending task.
CREATE TABLE IF NOT EXISTS task_ready (
    task_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    priority_level INTEGER,
    group_id TEXT,
    position_in_group INTEGER,
    created_at TEXT
);
CREATE INDEX IF NOT EXISTS idx_task_ready_session ON task_ready (session_id, task_id);

-- What each record file looked like when it was last read: lets every command find the
-- files edited since (stat only), and re-parse just those.
CREATE TABLE IF NOT EXISTS file_signatures (
    path TEXT PRIMARY KEY,           -- relative to the project root
    kind TEXT NOT NULL,              -- session | group | task | mode
    record_id TEXT NOT NULL,         -- taken from the file name
    session_dir TEXT,                -- the session folder the file lives in
    ctime_ns BIGINT NOT NULL,        -- change time: moves on any write, even one that puts the mtime back
    size BIGINT NOT NULL,
    inode BIGINT NOT NULL,
    content_hash TEXT NOT NULL,      -- git blob id of the content
    recorded_ns BIGINT NOT NULL,     -- when it was read (racy-clock check)
    readable BOOLEAN NOT NULL        -- the frontmatter parsed: the file can be indexed
);
CREATE INDEX IF NOT EXISTS idx_file_signatures_record ON file_signatures (kind, record_id);
CREATE INDEX IF NOT EXISTS idx_file_signatures_readable ON file_signatures (readable);

-- Every problem found in the files, so that nothing bad vanishes silently.
CREATE TABLE IF NOT EXISTS problems (
    path TEXT NOT NULL,
    line INTEGER,
    field TEXT,
    severity TEXT NOT NULL,          -- error | warning
    message TEXT NOT NULL,
    fix TEXT,
    source TEXT NOT NULL,            -- parse | duplicate | session:<session_id> | project
    record_id TEXT
);
CREATE INDEX IF NOT EXISTS idx_problems_path ON problems (path);

CREATE TABLE IF NOT EXISTS index_meta (
    key TEXT PRIMARY KEY,
    value TEXT
);

-- Each group's checklist as session.md's groups region shows it (store/session_view.py),
-- kept so that regenerating a view renders again only the groups whose tasks changed:
-- core/views.py fills it, index/refresh.py drops a group's text when one of its tasks'
-- rows changes. group_key is the group's id, or '' for the tasks without a group.
CREATE TABLE IF NOT EXISTS view_checklists (
    session_id TEXT NOT NULL,
    group_key TEXT NOT NULL,
    checklist TEXT NOT NULL,
    PRIMARY KEY (session_id, group_key)
);
