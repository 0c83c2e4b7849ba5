"""The index: rebuildable (identical answers), always fresh, incremental, on both engines."""

from __future__ import annotations

import json
import os
import shutil
from types import SimpleNamespace

import pytest
import yaml

from orchestrator.core.project import Project
from orchestrator.index import signatures
from orchestrator.index.engine import IndexDB, index_path
from orchestrator.index.refresh import Indexer
from orchestrator.model import derived_fields
from orchestrator.store.record_file import split_frontmatter
from tests.conftest import SQLITE_NOW_DUCKDB_SLOW, Orch, edit, task_file


def all_answers(
    orch: Orch,
    formats: tuple[tuple[str, ...], ...] = ((), ("--json",)),
    tasks_shown: set[str] | None = None,
) -> dict[str, str]:
    """The output of every read command over a project, as text (in each of `formats`);
    `task show` of the tasks in `tasks_shown` only, if given (the lists show every task's
    row either way)."""
    answers = {}
    reads = [
        ["status"],
        ["session", "list", "--all"],
        ["group", "list", "--all-sessions"],
        ["task", "list", "--all-sessions"],
        ["task", "list", "--ready"],
        ["mode", "list"],
        ["doctor"],
        ["session", "show"],
    ]
    for session in orch.json("session", "list", "--all"):
        reads.append(["session", "show", session["session_id"]])
    for group in orch.json("group", "list", "--all-sessions"):
        reads.append(["group", "show", group["group_id"]])
    for task in orch.json("task", "list", "--all-sessions"):
        if tasks_shown is None or task["task_id"] in tasks_shown:
            reads.append(["task", "show", task["task_id"]])
    for args in reads:
        for fmt in formats:
            answers[" ".join([*args, *fmt])] = orch(*args, *fmt, code=None).stdout
    return answers


@pytest.mark.parametrize("engine", SQLITE_NOW_DUCKDB_SLOW)
def test_rebuilding_the_index_gives_identical_answers(sample, sample_orch):
    before = all_answers(sample_orch)
    assert len(before) > 80
    shutil.rmtree(sample.layout.index_dir)
    sample_orch("reindex")
    assert all_answers(sample_orch) == before


@pytest.mark.parametrize("engine", SQLITE_NOW_DUCKDB_SLOW)
def test_incremental_refresh_gives_the_answers_of_a_rebuild(sample, sample_orch):
    tasks = sample_orch.json("task", "list", "--all-sessions")  # builds the index
    first, second, third = tasks[0]["task_id"], tasks[1]["task_id"], tasks[5]["task_id"]
    edit(task_file(sample, first), "title: ", "title: Renamed ")
    edit(task_file(sample, second), f"status: {tasks[1]['status']}", "status: completed")
    task_file(sample, third).unlink()
    new = task_file(sample, first).parent / "t-handmade.md"
    new.write_text("---\ntitle: Made by hand\ndepends_on: [" + first + "]\n---\nSome text.\n")
    incremental = all_answers(sample_orch)
    assert "Renamed" in incremental["task list --all-sessions"]
    assert "t-handmade" in incremental["task list --all-sessions"]
    shutil.rmtree(sample.layout.index_dir)
    assert all_answers(sample_orch) == incremental


def test_hand_edits_are_seen_without_reindex(sample, sample_orch):
    task = sample_orch.json("task", "list")[0]
    path = task_file(sample, task["task_id"])
    edit(path, f"title: {task['title']}", "title: Edited in vim")
    assert sample_orch.json("task", "show", task["task_id"])["title"] == "Edited in vim"
    path.unlink()
    assert task["task_id"] not in sample_orch("task", "list").stdout
    path.write_text("---\ntitle: Back again\nstatus: completed\n---\n")
    assert sample_orch.json("task", "show", task["task_id"])["status"] == "completed"


def test_a_new_session_folder_written_by_hand_appears(sample, sample_orch):
    folder = sample.layout.sessions_dir / "s-byhand"
    (folder / "tasks").mkdir(parents=True)
    (folder / "session.md").write_text("---\nname: Written by hand\nstatus: paused\n---\n")
    (folder / "tasks" / "t-one.md").write_text("---\ntitle: One\n---\n")
    sessions = {s["session_id"]: s for s in sample_orch.json("session", "list")}
    assert sessions["s-byhand"]["name"] == "Written by hand"
    assert sessions["s-byhand"]["total_tasks"] == 1
    assert sample_orch.json("task", "show", "t-one")["session_id"] == "s-byhand"


def test_only_changed_files_are_read_again(sample):
    with sample.reading():
        pass
    task = next(sample.layout.sessions_dir.glob("*/tasks/*.md"))
    edit(task, "title: ", "title: x")
    engine = sample.config.index
    db = IndexDB(engine, index_path(sample.layout.index_dir, engine), writable=True)
    try:
        report = Indexer(sample.layout, db).refresh()
        assert report.read == [sample.layout.rel(task)]
        assert not Indexer(sample.layout, db).refresh().changed
    finally:
        db.close()


def planned_reads(project: Project) -> list[str]:
    """The files the next command will read again (changed, or to be checked by content)."""
    engine = project.config.index
    db = IndexDB(engine, index_path(project.layout.index_dir, engine), writable=False)
    try:
        return list(signatures.plan(project.layout, db).to_read)
    finally:
        db.close()


def read_at(monkeypatch, clock_ns: int, orch: Orch, *args: str):
    """Run a command whose change detection reads the clock as `clock_ns`: when a read
    happens relative to a write is set, not raced (a loaded machine is slow)."""
    with monkeypatch.context() as patch:
        patch.setattr(signatures, "time", SimpleNamespace(time_ns=lambda: clock_ns))
        return orch(*args)


def well_after_every_write(project: Project) -> int:
    """A clock reading past the tick of every file's last write, coarse clocks included."""
    newest = max(p.stat().st_ctime_ns for p in project.layout.base.rglob("*"))
    return newest + signatures.COARSE_CLOCK_NS + 1_000_000_000


def test_a_file_read_in_the_clock_tick_of_its_write_is_checked_by_content_next_time(
    sample, sample_orch, monkeypatch
):
    """Coarse file-system clocks can give two writes the same ctime: a second same-size
    write in the tick a command read the file in keeps its whole signature. A file read
    within that tick is checked by content the next time, whatever its signature says."""
    task = sample_orch.json("task", "list")[0]
    read_at(monkeypatch, well_after_every_write(sample), sample_orch, "status")
    assert planned_reads(sample) == []
    path = task_file(sample, task["task_id"])
    text = path.read_text()
    path.write_text(text)  # written just now
    read_at(monkeypatch, path.stat().st_ctime_ns, sample_orch, "task", "list")  # in its tick
    assert planned_reads(sample) == [sample.layout.rel(path)]  # though its signature is kept
    swapped = text.replace(task["title"], task["title"][::-1], 1)
    assert len(swapped) == len(text) and swapped != text
    path.write_text(swapped)  # in the same tick or not (one cannot set a ctime): seen
    assert sample_orch.json("task", "show", task["task_id"])["title"] == task["title"][::-1]


def test_a_file_read_well_after_its_write_is_trusted_by_its_signature(
    sample, sample_orch, monkeypatch
):
    """The check by content costs a read: a file last written long before a command read
    it is not read again until its signature changes."""
    task = sample_orch.json("task", "list")[0]
    path = task_file(sample, task["task_id"])
    path.write_text(path.read_text())
    read_at(monkeypatch, well_after_every_write(sample), sample_orch, "task", "list")
    assert planned_reads(sample) == []
    edit(path, f"title: {task['title']}", "title: Edited")
    assert planned_reads(sample) == [sample.layout.rel(path)]


def test_a_same_size_edit_in_place_with_its_old_mtime_put_back_is_seen(sample, sample_orch):
    """Editors and tools that preserve times put the old mtime back; the ctime still moves
    (it cannot be set), and orch compares it, as git does."""
    task = sample_orch.json("task", "list")[0]
    path = task_file(sample, task["task_id"])
    before = path.stat()
    text = path.read_text()
    swapped = text.replace(task["title"], task["title"][::-1], 1)
    with open(path, "r+") as f:  # in place: the same inode
        f.write(swapped)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_mtime_ns, after.st_size, after.st_ino) == (
        before.st_mtime_ns,
        before.st_size,
        before.st_ino,
    )
    assert sample_orch.json("task", "show", task["task_id"])["title"] == task["title"][::-1]


def test_a_damaged_index_is_rebuilt_with_a_notice(sample, sample_orch):
    sample_orch("status")
    path = index_path(sample.layout.index_dir, sample.config.index)
    path.write_bytes(b"this is not a database" * 100)
    for extra in path.parent.glob(path.name + "*"):
        if extra != path:
            extra.unlink()
    result = sample_orch("status")
    assert "Payments API v2" in result.stdout
    assert "rebuilt it from the files" in result.stderr


def test_derived_figures_are_never_written_to_files(sample, sample_orch):
    sample_orch("task", "done", sample_orch.json("task", "list", "--ready")[0]["task_id"])
    for kind, pattern in (
        ("session", "*/session.md"),
        ("group", "*/groups/*.md"),
        ("task", "*/tasks/*.md"),
    ):
        for path in sample.layout.sessions_dir.glob(pattern):
            yaml_text, _ = split_frontmatter(path.read_text())
            keys = set(yaml.safe_load(yaml_text))
            assert keys.isdisjoint(derived_fields(kind)), (path, keys & set(derived_fields(kind)))


@pytest.mark.parametrize("engine", SQLITE_NOW_DUCKDB_SLOW)
def test_progress_aggregates_recursively(project, orch):
    orch("session", "create", "S")
    orch("group", "create", "G")
    top = orch.json("task", "add", "Top", "--group", "G")["task_id"]
    mid = orch.json("task", "add", "Mid", "--parent", top)["task_id"]
    leaf1 = orch.json("task", "add", "Leaf 1", "--parent", mid)["task_id"]
    orch.json("task", "add", "Leaf 2", "--parent", mid)
    cancelled = orch.json("task", "add", "Dropped", "--parent", top)["task_id"]
    orch("task", "update", cancelled, "--status", "cancelled")
    orch("task", "done", leaf1)
    shown = {t["task_id"]: t for t in orch.json("task", "list")}
    # Top's counted descendants: Mid, Leaf 1, Leaf 2 (Dropped is cancelled): 1 of 3 done.
    assert shown[top]["progress_percentage"] == 33.3
    assert shown[mid]["progress_percentage"] == 50.0
    assert shown[leaf1]["progress_percentage"] == 100.0
    assert shown[leaf1]["hierarchy_path"] == f"/{shown[top]['session_id']}/{top}/{mid}/{leaf1}"
    group = orch.json("group", "show", "G")
    assert (group["total_tasks"], group["completed_tasks"], group["progress_percentage"]) == (
        4,
        1,
        25.0,
    )
    session = orch.json("session", "show")
    assert (session["total_tasks"], session["completed_tasks"]) == (4, 1)


def test_both_engines_run_the_schema_from_the_schema_folder(project):
    with project.reading() as db:
        tables = {
            r[0]
            for r in db.rows(
                "SELECT table_name FROM information_schema.tables"
                if db.engine == "duckdb"
                else "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
        }
    for spec_table in (
        "sessions",
        "active_session",
        "tasks",
        "session_modes",
        "session_mode_bindings",
        "task_groups",
        "markdown_sync_state",
    ):
        assert spec_table in tables


def test_sqlite_index_uses_wal(sqlite_project):
    with sqlite_project.reading() as db:
        assert db.scalar("PRAGMA journal_mode") == "wal"


def test_switching_engine_in_config_builds_the_other_index(sample, sample_orch):
    before = sample_orch.json("task", "list", "--all-sessions")
    config = sample.layout.config_file
    current = sample.config.index
    other = "duckdb" if current == "sqlite" else "sqlite"
    config.write_text(config.read_text().replace(f"index: {current}", f"index: {other}"))
    after = Orch(Project(sample.root).root).json("task", "list", "--all-sessions")
    assert after == before
    assert index_path(sample.layout.index_dir, other).exists()


def test_a_broken_config_falls_back_to_defaults_with_a_warning(sample, sample_orch):
    sample.layout.config_file.write_text("index: [sqlite\n")
    result = sample_orch("task", "list")
    assert (
        "config.yaml:2: not valid YAML (did not find expected ',' or ']'); using default settings"
        in result.stderr
    )
    assert json.loads(sample_orch("task", "list", "--json").stdout)


def test_the_signature_snapshot_always_matches_the_index(sample, sample_orch):
    """The snapshot that makes "nothing changed" cheap is patched after each refresh;
    after any sequence of edits it must equal one made from the table."""
    from orchestrator.index import signatures

    def check():
        engine = sample.config.index
        db = IndexDB(engine, index_path(sample.layout.index_dir, engine), writable=True)
        try:
            expected = signatures.snapshot_from_rows(db.generation(), signatures.stored_rows(db))
            assert signatures.load_snapshot(sample.layout, engine) == expected
        finally:
            db.close()

    tasks = sample_orch.json("task", "list")
    check()
    edit(task_file(sample, tasks[0]["task_id"]), "title: ", "title: Edited ")
    sample_orch("task", "list")
    check()
    sample_orch("task", "done", sample_orch.json("task", "list", "--ready")[0]["task_id"])
    check()
    task_file(sample, tasks[1]["task_id"]).unlink()
    sample_orch("status")
    check()
    sample_orch("task", "add", "New one")
    check()


def lineage(task: dict) -> set[str]:
    """The task and its ancestors (what an edit of it re-derives), from its hierarchy_path."""
    return {part for part in task["hierarchy_path"].split("/") if part.startswith("t-")}


def check_edits_against_rebuilds(sample, orch: Orch, monkeypatch, show_every_task: bool) -> None:
    """Status, effort and text edits are derived for the edited tasks and their ancestors
    only (Indexer._derive_edited); after each edit the answers must be those of a full
    rebuild. With `show_every_task` off, `task show` is compared for the edited task and
    its ancestors only: every task's derived figures are in the lists all the same."""
    rows = orch.json("task", "list", "--all-sessions")  # builds the index
    by_id = {t["task_id"]: t for t in rows}
    deep = [t for t in rows if t["level"] >= 1 and t["status"] != "completed"]
    grouped = next(t for t in rows if t["group_id"] and t["estimated_effort"])
    latest = max(rows, key=lambda t: t["last_updated_at"])

    def full_derive_not_expected(self, session_id):
        raise AssertionError(f"an in-place edit re-derived all of {session_id}")

    steps = [
        (
            deep[0],
            lambda: edit(
                task_file(sample, deep[0]["task_id"]),
                f"status: {deep[0]['status']}",
                "status: completed",
            ),
        ),
        (deep[1], lambda: orch("task", "update", deep[1]["task_id"], "--status", "cancelled")),
        (grouped, lambda: orch("task", "update", grouped["task_id"], "--estimate", "40")),
        (deep[1], lambda: orch("task", "update", deep[1]["task_id"], "--status", "pending")),
        (
            rows[0],
            lambda: edit(task_file(sample, rows[0]["task_id"]), "title: ", "title: Retitled "),
        ),
        # The task holding its session's latest timestamp goes back in time.
        (
            latest,
            lambda: edit(
                task_file(sample, latest["task_id"]),
                f"last_updated_at: '{latest['last_updated_at']}'",
                "last_updated_at: '2020-01-01T00:00:00.000Z'",
            ),
        ),
    ]
    # The data of every answer, step by step (the text forms print the same data: the
    # rebuild test above compares them once).
    json_only = (("--json",),)
    for task, step in steps:
        shown = None if show_every_task else lineage(by_id[task["task_id"]])
        with monkeypatch.context() as patch:
            patch.setattr(Indexer, "_derive", full_derive_not_expected)
            step()
            incremental = all_answers(orch, json_only, shown)
        shutil.rmtree(sample.layout.index_dir)
        assert all_answers(orch, json_only, shown) == incremental


@pytest.mark.parametrize("engine", ["sqlite"])
def test_edits_that_keep_the_task_tree_give_the_answers_of_a_rebuild(
    sample, sample_orch, monkeypatch
):
    """Every answer on SQLite; on DuckDB (a command there costs ten times as much) the
    slow variant below gives every answer too (a shorter DuckDB variant in the slow
    step would check a part of what it checks)."""
    check_edits_against_rebuilds(sample, sample_orch, monkeypatch, show_every_task=True)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["duckdb"])
def test_edits_that_keep_the_task_tree_give_every_answer_of_a_rebuild_on_duckdb(
    sample, sample_orch, monkeypatch
):
    check_edits_against_rebuilds(sample, sample_orch, monkeypatch, show_every_task=True)


@pytest.mark.parametrize("engine", SQLITE_NOW_DUCKDB_SLOW)
def test_a_session_files_own_edit_keeps_the_figures_a_rebuild_gives(sample):
    """A regenerated view or a note added to session.md keeps the session's derived
    figures without a scan of its tasks; an edit of its own timestamps reads them all
    again. Either way the figures are a rebuild's."""
    from orchestrator.core import tasks
    from orchestrator.index.derive import SESSION_DERIVED

    query = f"SELECT session_id, {', '.join(SESSION_DERIVED)} FROM sessions ORDER BY session_id"

    def figures() -> list[dict]:
        with Project(sample.root).reading() as db:
            return db.records(query)

    def rebuilt() -> list[dict]:
        Project(sample.root).reindex()
        return figures()

    task = tasks.list_tasks(sample, status=["pending"])[0]
    tasks.update_task(sample, task["task_id"], status="in_progress")  # the view regenerated
    assert figures() == rebuilt()
    session_md = next(sample.layout.sessions_dir.glob("*/session.md"))
    session_md.write_text(session_md.read_text() + "\nA note of mine.\n")
    assert figures() == rebuilt()
    text = session_md.read_text()
    stamp = next(line for line in text.splitlines() if line.startswith("created_at:"))
    session_md.write_text(text.replace(stamp, "created_at: '2030-01-01T00:00:00.000Z'"))
    after = figures()
    assert after == rebuilt()
    assert any(s["last_activity_at"] == "2030-01-01T00:00:00.000Z" for s in after)
