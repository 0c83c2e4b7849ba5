"""SQLite keeps each task row's JSON in task_json by triggers (index/engine.py): after any
write, by any path (commands, edits by hand, deletes, moves, a rebuild), every kept text
equals the row's JSON built afresh, and `task list --json` is those texts."""

from __future__ import annotations

import json

from orchestrator.index.engine import IndexDB, index_path, json_object
from tests.conftest import Orch, copy_sample, edit, task_file


def kept_and_fresh(project) -> tuple[dict[str, str], dict[str, str]]:
    db = IndexDB("sqlite", index_path(project.layout.index_dir, "sqlite"), False)
    try:
        kept = dict(db.rows("SELECT task_id, json FROM task_json"))
        fresh = dict(
            db.rows(
                f"SELECT task_id, {json_object(db.columns('tasks'), 't', 'sqlite')} FROM tasks t"
            )
        )
    finally:
        db.close()
    return kept, fresh


def test_kept_json_equals_the_rows_after_every_kind_of_write(tmp_path):
    project = copy_sample(tmp_path / "sample")
    orch = Orch(project.root)
    tasks = orch.json("task", "list", "--all-sessions")
    active = orch.json("task", "list")
    first = active[0]["task_id"]
    second = next(t["task_id"] for t in active if t["status"] == "pending")
    orch("task", "update", first, "--priority", "1", "--label", "hot")
    orch("task", "start", second)
    added = orch.json("task", "add", 'A task with a "quote" and ünïcode', "--depends-on", first)
    orch("task", "delete", added["task_id"])
    edit(task_file(project, first), "priority_level: 1", "priority_level: 2")
    listed = orch("task", "list", "--all-sessions", "--json").stdout
    kept, fresh = kept_and_fresh(project)
    assert kept == fresh and len(kept) == len(tasks)
    assert {t["task_id"]: t for t in json.loads(listed)} == {
        k: json.loads(v) for k, v in fresh.items()
    }
    orch("reindex", "--json")
    assert kept_and_fresh(project)[0] == fresh
