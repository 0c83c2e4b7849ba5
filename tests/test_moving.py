"""Search, cleanup, archive and export, and imports from Backlog.md, Task Master and the
legacy MCP Task Orchestrator, through the CLI on real projects in real git repositories."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
from pathlib import Path

import duckdb
import jsonschema
import pytest
import yaml

from orchestrator.core.project import Project
from orchestrator.core.tasks import add_task
from orchestrator.core.views import add_note
from orchestrator.resources import shipped
from tests.conftest import SQLITE_NOW_DUCKDB_SLOW
from tests.conftest import orch_in as orch


def as_json(root: Path, *args: str):
    return json.loads(orch(root, *args, "--json").stdout)


def subjects(root: Path) -> list[str]:
    return subprocess.run(["git", "log", "--format=%s"], cwd=root, capture_output=True,
                          text=True, check=True).stdout.splitlines()  # fmt: skip


def state(root: Path) -> tuple[str, dict]:
    """git status and every file's hash, outside the index."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and ".index" not in p.parts
                   and ".git" not in p.parts)  # fmt: skip
    status = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True,
                            text=True).stdout  # fmt: skip
    return status, {p: hashlib.sha1(p.read_bytes()).hexdigest() for p in files}


def meta(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])


def tasks_of(root: Path, session_id: str) -> dict[str, dict]:
    """title -> frontmatter of a session's tasks."""
    folder = root / ".task_orchestrator/sessions" / session_id / "tasks"
    return {meta(p)["title"]: meta(p) for p in folder.glob("*.md")}


@pytest.fixture
def sample_root(sample) -> Path:
    subprocess.run(["git", "add", "-A"], cwd=sample.root, check=True)
    subprocess.run(["git", "commit", "-qm", "sample"], cwd=sample.root, check=True)
    orch(sample.root, "status")
    return sample.root


# -- search ------------------------------------------------------------------------------


def test_search_every_scope_and_content_type(sample_root):
    root = sample_root
    project = Project(root)
    add_task(project, "Parser for refund webhooks", description="Check each signature.")
    add_note(project, "decision", "Refunds are idempotent by key.")
    add_note(project, "learning", "Refund webhooks arrive twice.")
    add_note(project, "next", "Ship the refund parser.")
    found = as_json(root, "search", "refund")
    assert found["scope"] == "active" and found["sessions"] == 1
    assert "Parser for refund webhooks" in [t["title"] for t in found["tasks"]]
    assert {n["kind"] for n in found["notes"]} == {"decision", "learning", "next"}
    assert (
        as_json(root, "search", "refund", "--type", "decisions")["notes"][0]["kind"] == "decision"
    )
    learned = as_json(root, "search", "refund", "--type", "learnings")
    assert [n["kind"] for n in learned["notes"]] == ["learning"] and "tasks" not in learned
    notes = as_json(root, "search", "refund", "--type", "notes")
    assert len(notes["notes"]) == 3 and "tasks" not in notes
    only = as_json(root, "search", "sign", "--type", "tasks")
    assert "notes" not in only and "**" in only["tasks"][0]["snippet"]
    everywhere = as_json(root, "search", "docs", "--scope", "all_sessions")
    assert {t["session_id"] for t in everywhere["tasks"]} == {"s-f626d0c8"}
    assert as_json(root, "search", "docs", "--scope", "archived")["task_total"] == 0
    orch(root, "session", "archive", "s-f626d0c8")
    archived = as_json(root, "search", "docs", "--scope", "archived")
    assert archived["task_total"] == everywhere["task_total"] > 0
    done = as_json(root, "search", "refund", "--status", "completed")
    assert {t["status"] for t in done["tasks"]} <= {"completed"}
    assert done["task_total"] < found["task_total"]
    assert as_json(root, "search", "refund", "--specialist", "nobody")["task_total"] == 0
    shown = orch(root, "search", "refund").stdout
    assert "Parser for refund webhooks" in shown and "note(s) match" in shown
    assert "at least one word" in orch(root, "search", "!!", code=1).stderr


# -- cleanup -----------------------------------------------------------------------------


def test_cleanup_dry_run_changes_nothing_and_apply_is_one_commit(sample_root):
    root = sample_root
    project = Project(root)
    task = add_task(project, "Depends on a ghost")
    path = next(root.glob(f".task_orchestrator/sessions/*/tasks/{task['task_id']}.md"))
    path.write_text(path.read_text().replace("title: Depends on a ghost",
                                             "title: Depends on a ghost\ndepends_on:\n- t-0000dead"))  # fmt: skip
    orch(root, "sync")
    # A sync state left behind in the index by a file that is gone.
    insert = (
        "INSERT INTO markdown_sync_state (sync_id, session_id, markdown_file_path) VALUES"
        " ('gone', 's-d8917066', '.task_orchestrator/sessions/s-d8917066/tasks/t-gone.md')"
    )
    if project.config.index == "duckdb":
        con = duckdb.connect(str(root / ".task_orchestrator/.index/index.duckdb"))
        con.execute(insert)
        con.close()
    else:
        with sqlite3.connect(root / ".task_orchestrator/.index/index.sqlite") as con:
            con.execute(insert)
    before = state(root)
    dry = as_json(root, "cleanup")
    kinds = {f["kind"] for f in dry["findings"]}
    assert {"dangling_dependency", "stale_sync_state"} <= kinds and dry["dry_run"]
    assert "Would fix" in orch(root, "cleanup").stdout
    assert state(root) == before  # git status and every file byte for byte
    commits = len(subjects(root))
    applied = as_json(root, "cleanup", "--apply")
    assert applied["applied"] == len(dry["findings"])
    assert len(subjects(root)) == commits + 1 and subjects(root)[0].startswith("orch: cleanup")
    assert as_json(root, "cleanup")["findings"] == []


# -- archive and export --------------------------------------------------------------------


@pytest.mark.parametrize("engine", SQLITE_NOW_DUCKDB_SLOW)
def test_archive_with_an_export_and_back(sample_root):
    root = sample_root
    orch(root, "session", "pause", "s-f626d0c8")
    for fmt in ("markdown", "json", "zip"):
        done = as_json(root, "session", "archive", "s-f626d0c8", "--format", fmt)
        assert done["status"] == "archived" and (root / done["export"]).exists()
        assert subjects(root)[0].startswith("orch: archive")
        listed = as_json(root, "session", "list")
        assert "s-f626d0c8" not in {s["session_id"] for s in listed}
        orch(root, "session", "activate", "s-f626d0c8")  # the spec's way back
        orch(root, "session", "pause", "s-f626d0c8")
    document = json.loads(next(root.glob(".task_orchestrator/archives/*.json")).read_text())
    schema = json.loads((shipped("schema") / "export.schema.json").read_text())
    jsonschema.validate(document, schema)


def test_exports_json_parquet_and_a_zip_that_comes_back_identical(sample_root, tmp_path):
    root = sample_root
    out = as_json(root, "export", "--format", "json", "--all")
    document = json.loads((root / out["path"]).read_text())
    jsonschema.validate(
        document, json.loads((shipped("schema") / "export.schema.json").read_text())
    )
    assert len(document["sessions"]) == 2
    assert sum(len(s["tasks"]) for s in document["sessions"]) == len(
        list(root.glob(".task_orchestrator/sessions/*/tasks/*.md")))  # fmt: skip
    assert subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True,
                          text=True).stdout == ""  # exports are not committed, nor dirty  # fmt: skip
    parquet = as_json(root, "export", "s-d8917066", "--format", "parquet", "-o", "analysis")
    folder = root / "analysis"
    [tasks] = duckdb.sql(
        f"SELECT count(*), count(DISTINCT status) FROM '{folder}/tasks.parquet'"
    ).fetchall()
    assert tasks[0] == parquet["counts"]["tasks"] == 25 and tasks[1] > 1
    [progress] = duckdb.sql(
        f"SELECT progress_percentage FROM '{folder}/sessions.parquet'"
    ).fetchall()
    assert progress[0] is not None  # derived figures are in
    orch(root, "export", "--format", "json", "-o", "../out.json")  # a person's path, anywhere
    assert (root.parent / "out.json").exists()
    zipped = as_json(root, "export", "s-d8917066", "--format", "zip")
    session = root / ".task_orchestrator/sessions/s-d8917066"
    before = {p.relative_to(session): p.read_bytes() for p in session.rglob("*") if p.is_file()}
    other = tmp_path / "fresh"
    other.mkdir()
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    orch(other, "init")
    first = as_json(other, "import", "zip", str(root / zipped["path"]))
    assert first["sessions"] == ["s-d8917066"] and first["files_written"] == len(before)
    again = as_json(other, "import", "zip", str(root / zipped["path"]))
    assert again["files_written"] == 0 and again["sessions_existing"] == 1
    copy = other / ".task_orchestrator/sessions/s-d8917066"
    after = {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    assert after == before
    assert as_json(other, "task", "list", "--session", "s-d8917066").__len__() == 25


# -- imports ---------------------------------------------------------------------------------


def write_backlog(folder: Path) -> None:
    tasks = folder / "backlog" / "tasks"
    tasks.mkdir(parents=True)
    (folder / "backlog" / "completed").mkdir()
    (folder / "backlog" / "drafts").mkdir()
    (folder / "backlog" / "config.yml").write_text(
        'project_name: "Shop"\ndefault_status: "To Do"\n'
    )
    files = {
        "tasks/task-1 - Set-up-CI.md": """---
id: task-1
title: Set up CI
status: To Do
assignee:
  - '@ana'
created_date: '2025-07-26 14:30'
labels:
  - infra
dependencies: []
priority: high
---

## Description

<!-- SECTION:DESCRIPTION:BEGIN -->
Run the tests on every push.
<!-- SECTION:DESCRIPTION:END -->

## Acceptance Criteria
<!-- AC:BEGIN -->
- [ ] #1 Tests run on push
<!-- AC:END -->
""",
        "tasks/task-2 - Write-the-parser.md": """---
id: task-2
title: Write the parser
status: In Progress
assignee: []
created_date: '2025-07-27'
labels: [backend]
dependencies: [task-1, task-99]
priority: medium
---

## Description

Parse the config format.
""",
        "tasks/task-2.1 - Lexer.md": """---
id: task-2.1
title: Lexer
status: QA
assignee: []
created_date: '2025-07-28'
labels: [backend]
dependencies: []
---
""",
        "completed/task-3 - Old-release.md": """---
id: task-3
title: Old release
status: Done
assignee: []
created_date: '2025-06-01'
labels: []
dependencies: []
priority: low
---
""",
        "drafts/task-4 - Idea.md": "---\nid: task-4\ntitle: Idea\nstatus: To Do\n---\n",
    }
    for name, text in files.items():
        (folder / "backlog" / name).write_text(text)


def test_import_backlog_round_trip_and_again(sqlite_project, tmp_path):
    root = sqlite_project.root
    source = tmp_path / "shop"
    write_backlog(source)
    first = as_json(root, "import", "backlog", str(source), "--labels-as-groups")
    assert (first["sessions_created"], first["tasks_created"], first["groups_created"]) == (1, 4, 2)
    unmapped = "\n".join(first["unmapped"])
    assert "status 'QA'" in unmapped and "task-99" in unmapped and "backlog/drafts/" in unmapped
    [session] = first["sessions"]
    tasks = tasks_of(root, session)
    assert set(tasks) == {"Set up CI", "Write the parser", "Lexer", "Old release"}
    ci, parser, lexer, old = (
        tasks[t] for t in ("Set up CI", "Write the parser", "Lexer", "Old release")
    )
    assert (ci["status"], parser["status"], lexer["status"], old["status"]) == (
        "pending", "in_progress", "pending", "completed")  # fmt: skip
    assert parser["depends_on"] == [ci["task_id"]] and lexer["parent_task_id"] == parser["task_id"]
    assert ci["priority_level"] == 2 and old["priority_level"] == 4
    # Labels stay labels beside the groups they made; the assignee is a name, no @.
    assert ci["labels"] == ["infra"] and parser["labels"] == ["backend"]
    assert ci["assignee"] == "ana" and "assignee" not in parser
    assert ci["import_source"].endswith(":task-1")
    criteria = as_json(root, "task", "show", ci["task_id"])["acceptance"]
    assert criteria == {"done": 0, "total": 1,
                        "items": [{"text": "Tests run on push", "done": False}]}  # fmt: skip
    assert ci["created_at"] == "2025-07-26T14:30:00.000Z"
    body = (
        root / ".task_orchestrator/sessions" / session / "tasks" / f"{ci['task_id']}.md"
    ).read_text()
    assert "Run the tests on every push." in body and "SECTION:" not in body
    groups = {
        meta(p)["group_name"]
        for p in root.glob(f".task_orchestrator/sessions/{session}/groups/*.md")
    }
    assert groups == {"infra", "backend"}
    shown = as_json(root, "session", "show", session)
    assert shown["name"] == "Shop"
    commits = len(subjects(root))
    again = as_json(root, "import", "backlog", str(source), "--labels-as-groups")
    assert (again["tasks_created"], again["tasks_existing"], again["sessions_created"]) == (0, 4, 0)
    assert len(subjects(root)) == commits  # nothing new: no commit
    assert len(tasks_of(root, session)) == 4
    assert orch(root, "doctor").exit_code == 0


def test_import_taskmaster_tags_subtasks_and_again(sqlite_project, tmp_path):
    root = sqlite_project.root
    data = {
        "master": {
            "tasks": [
                {"id": 1, "title": "Set up the repo", "description": "Create it.",
                 "details": "Use the template.", "testStrategy": "Clone it.", "status": "done",
                 "priority": "high", "dependencies": [],
                 "subtasks": [
                     {"id": 1, "title": "Init", "description": "", "status": "done", "dependencies": []},
                     {"id": 2, "title": "Push", "description": "", "status": "in-progress",
                      "dependencies": [1]}]},
                {"id": 2, "title": "Add the API", "description": "REST.", "status": "pending",
                 "priority": "medium", "dependencies": [1, 7], "subtasks": []},
                {"id": 3, "title": "Later", "status": "deferred", "dependencies": ["1.2"]},
            ],
            "metadata": {"created": "2025-01-01T00:00:00Z", "description": "Main work"},
        },
        "feature-x": {"tasks": [{"id": 1, "title": "Feature work", "status": "review"}]},
    }  # fmt: skip
    file = tmp_path / "tasks.json"
    file.write_text(json.dumps(data))
    first = as_json(root, "import", "taskmaster", str(file))
    assert (first["sessions_created"], first["tasks_created"]) == (2, 6)
    assert any("'7'" in n for n in first["unmapped"])
    master, feature = first["sessions"]
    tasks = tasks_of(root, master)
    assert tasks["Push"]["depends_on"] == [tasks["Init"]["task_id"]]
    assert tasks["Push"]["parent_task_id"] == tasks["Set up the repo"]["task_id"]
    assert tasks["Add the API"]["depends_on"] == [tasks["Set up the repo"]["task_id"]]
    assert tasks["Later"]["depends_on"] == [tasks["Push"]["task_id"]]
    assert (tasks["Later"]["status"], tasks["Push"]["status"]) == ("blocked", "in_progress")
    assert (
        tasks["Set up the repo"]["taskmaster_id"] == "1" and tasks["Push"]["taskmaster_id"] == "1.2"
    )
    text = next(p for p in root.glob(f".task_orchestrator/sessions/{master}/tasks/*.md")
                if meta(p)["title"] == "Set up the repo").read_text()  # fmt: skip
    assert "## Details\n\nUse the template." in text and "## Test Strategy\n\nClone it." in text
    assert tasks_of(root, feature)["Feature work"]["status"] == "needs_revision"
    again = as_json(root, "import", "taskmaster", str(file))
    assert (again["tasks_created"], again["tasks_existing"]) == (0, 6)
    big = {"tasks": [{"id": n, "title": f"Task {n}", "status": "pending"} for n in range(1, 260)]}
    (tmp_path / "big.json").write_text(json.dumps(big))
    shown = orch(root, "import", "taskmaster", str(tmp_path / "big.json"))
    assert "Importing" in shown.stderr and "259 task(s) created" in shown.stdout


def test_import_legacy_database_and_again(sqlite_project, tmp_path):
    root = sqlite_project.root
    db = tmp_path / "task_orchestrator.db"
    con = sqlite3.connect(db)
    con.executescript("""
        CREATE TABLE task_breakdowns (parent_task_id TEXT PRIMARY KEY, description TEXT NOT NULL,
            complexity TEXT NOT NULL, context TEXT, created_at TIMESTAMP NOT NULL);
        CREATE TABLE subtasks (task_id TEXT PRIMARY KEY, parent_task_id TEXT NOT NULL,
            title TEXT NOT NULL, specialist_type TEXT NOT NULL, description TEXT NOT NULL,
            dependencies TEXT, estimated_effort TEXT, status TEXT NOT NULL DEFAULT 'pending',
            created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL);
        CREATE TABLE task_results (task_id TEXT PRIMARY KEY, results TEXT NOT NULL,
            artifacts TEXT, next_action TEXT NOT NULL, completed_at TIMESTAMP NOT NULL);
        INSERT INTO task_breakdowns VALUES ('task_a1', 'Build the importer\nFrom old data.',
            'complex', 'Legacy users', '2025-05-01 10:00:00');
        INSERT INTO subtasks VALUES ('architect_1', 'task_a1', 'Design it', 'architect',
            'Shape of the data.', '[]', '2 hours', 'completed', '2025-05-01 10:01:00', '2025-05-02');
        INSERT INTO subtasks VALUES ('implementer_2', 'task_a1', 'Code it', 'implementer',
            'Write it.', '["architect_1"]', 'about a day', 'active', '2025-05-01 10:02:00', '2025-05-02');
        INSERT INTO task_results VALUES ('architect_1', 'Designed with two tables.',
            '["docs/design.md"]', 'continue', '2025-05-02 09:00:00');
    """)  # fmt: skip
    con.commit()
    con.close()
    first = as_json(root, "import", "legacy", str(db))
    assert (first["sessions_created"], first["tasks_created"]) == (1, 3)
    assert any("about a day" in n for n in first["unmapped"])
    tasks = tasks_of(root, first["sessions"][0])
    design, code, parent = tasks["Design it"], tasks["Code it"], tasks["Build the importer"]
    assert design["parent_task_id"] == code["parent_task_id"] == parent["task_id"]
    assert code["depends_on"] == [design["task_id"]] and code["status"] == "in_progress"
    assert design["estimated_effort"] == 2 and design["specialist_type"] == "architect"
    assert design["completed_at"] == "2025-05-02T09:00:00.000Z"
    assert parent["complexity_level"] == "complex"
    text = next(p for p in root.glob(".task_orchestrator/sessions/*/tasks/*.md")
                if meta(p)["title"] == "Design it").read_text()  # fmt: skip
    assert "## Results\n\nDesigned with two tables." in text and "`docs/design.md`" in text
    assert as_json(root, "import", "legacy", str(db))["tasks_created"] == 0
    assert (
        "not a legacy MCP Task Orchestrator database"
        in orch(
            root, "import", "legacy", str(root / ".task_orchestrator/.index/index.sqlite"), code=1
        ).stderr
    )


# -- what a review of imports and exports found -----------------------------------------


def test_imports_leave_out_what_orch_would_refuse_and_lose_nothing(sqlite_project, tmp_path):
    root = sqlite_project.root
    data = {"tasks": [
        {"id": 5, "title": "Parent", "status": "pending", "dependencies": [6],
         "subtasks": [{"id": 1, "title": "Child waits for parent", "dependencies": [5]},
                      {"id": 2, "title": "Child", "dependencies": ["5.1"]}]},
        {"id": 6, "title": "Loops back", "dependencies": [5]},
        {"id": 7, "title": "Twin one"}, {"id": 7, "title": "Twin two"},
        None,
        {"id": 8, "title": "One string dep", "dependencies": "6", "subtasks": "none"},
    ], "metadata": "not a mapping"}  # fmt: skip
    file = tmp_path / "tasks.json"
    file.write_text(json.dumps(data))
    result = as_json(root, "import", "taskmaster", str(file))
    notes = "\n".join(result["unmapped"])
    assert "a task above it in the tree" in notes and "closes a cycle" in notes
    assert "the id is used twice" in notes and "not a task; left out" in notes
    assert result["tasks_created"] == 7  # both twins
    assert orch(root, "doctor").stdout.strip() == "No problems found."
    tasks = tasks_of(root, result["sessions"][0])
    assert tasks["One string dep"]["depends_on"] == [tasks["Loops back"]["task_id"]]
    assert {"Twin one", "Twin two"} <= set(tasks)


def test_a_backlog_inside_the_project_is_the_same_source_in_every_clone(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    orch(root, "init")
    write_backlog(root)
    (root / "backlog/tasks/task-5 - Odd.md").write_text(
        "---\nid: task-5\ntitle: Odd\nstatus: To Do\ndependencies: task-1\nlabels: backend\n"
        "created_date: 03/06/2025\n---\n"
    )
    first = as_json(root, "import", "backlog", "backlog")
    assert first["tasks_created"] == 5
    assert any("date '03/06/2025' not understood" in n for n in first["unmapped"])
    odd = tasks_of(root, first["sessions"][0])["Odd"]
    assert odd["labels"] == ["backend"] and len(odd["depends_on"]) == 1
    # Without --labels-as-groups, labels are labels only, and a listing filters by them.
    assert not list(root.glob(".task_orchestrator/sessions/*/groups/*.md"))
    labelled = as_json(root, "task", "list", "--all-sessions", "--label", "backend")
    assert sorted(t["title"] for t in labelled) == ["Lexer", "Odd", "Write the parser"]
    assert odd["import_source"] == "backlog:backlog:task-5"  # no absolute path committed
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-qm", "backlog"], cwd=root, check=True)
    clone = tmp_path / "elsewhere" / "clone"
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
    again = as_json(clone, "import", "backlog", "backlog")
    assert (again["sessions_created"], again["tasks_created"], again["tasks_existing"]) == (0, 0, 5)


def test_zip_import_is_all_or_nothing_and_pauses_a_second_active_session(sample_root, tmp_path):
    import zipfile

    root = sample_root
    zipped = root / as_json(root, "export", "--format", "zip")["path"]  # the active session
    other = tmp_path / "other"
    other.mkdir()
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    orch(other, "init")
    orch(other, "session", "create", "Already active")
    done = as_json(other, "import", "zip", str(zipped))
    assert done["paused"] == ["s-d8917066"]
    statuses = {s["name"]: s["status"] for s in as_json(other, "session", "list")}
    assert statuses == {"Already active": "active", "Payments API v2": "paused"}
    again = as_json(other, "import", "zip", str(zipped))  # its session.md differs here: kept
    assert again["files_written"] == 0 and again["sessions_existing"] == 1
    assert {s["name"]: s["status"] for s in as_json(other, "session", "list")} == statuses
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("s-aaaaaaaa/session.md", "---\nsession_id: s-aaaaaaaa\nname: A\n---\n")
        archive.writestr("s-d8917066/../evil.md", "not a file of a session")
    commits = len(subjects(other))
    assert "nothing was imported" in orch(other, "import", "zip", str(bad), code=1).stderr
    assert not (other / ".task_orchestrator/sessions/s-aaaaaaaa").exists()
    assert len(subjects(other)) == commits


def test_export_never_overwrites_and_stays_out_of_gits_and_orchs_files(sample_root):
    root = sample_root
    task = next(root.glob(".task_orchestrator/sessions/*/tasks/*.md"))
    before = task.read_text()
    for target in (".git/HEAD", str(task.relative_to(root)), ".task_orchestrator/config.yaml"):
        said = orch(root, "export", "-o", target, code=1).stderr
        assert "among git's or orch's own files" in said
    (root / "taken.json").write_text("mine")
    assert "exists" in orch(root, "export", "-o", "taken.json", code=1).stderr
    assert task.read_text() == before and (root / "taken.json").read_text() == "mine"
    as_json(root, "export", "--format", "parquet", "-o", "pq")
    [(kind, length)] = duckdb.sql(
        f"SELECT any_value(typeof(depends_on)), max(json_array_length(depends_on))"
        f" FROM '{root}/pq/tasks.parquet'"
    ).fetchall()
    assert kind == "JSON" and length >= 1  # lists, not text holding JSON
