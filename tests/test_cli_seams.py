"""The CLI as people expect it, and the MCP server beside it (issue 17, "Files first, at
every seam"): `-o -`, a closed pipe, ids with or without their prefix, exit code 2 and
JSON errors, doctor and cleanup agreeing, one-line titles, an import run twice, and
messages that say what to do. Through the real CLI, real git and plain files."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from mcp import Client

from orchestrator.mcp.server import build_server
from tests.conftest import Orch, git_init


def new_project(root: Path) -> Orch:
    """A project with an active session, in a new git repository at `root`."""
    root.mkdir(parents=True)
    git_init(root)
    orch = Orch(root.resolve())
    orch("init")
    orch("session", "create", "Seams")
    return orch


def added(orch: Orch, title: str, *args: str) -> str:
    return orch.json("task", "add", title, *args)["task_id"]


def git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)


def frontmatter(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])


def call_tool(root: Path, tool: str, **args) -> tuple[bool, str, dict | None]:
    """One call of the MCP server on `root`: (is an error, its text, its data)."""

    async def go():
        async with Client(build_server(root, tools="all"), read_timeout_seconds=60) as client:
            result = await client.call_tool(tool, args)
            return result.is_error, result.content[0].text, result.structured_content

    return asyncio.run(go())


@pytest.fixture
def orch(tmp_path) -> Orch:
    return new_project(tmp_path / "proj")


# -- export: standard output, a person's path, an agent's path ---------------------------


def test_export_to_dash_writes_standard_output_and_no_file(orch):
    added(orch, "Exported")
    done = orch("export", "-o", "-")
    document = json.loads(done.stdout)
    assert [t["frontmatter"]["title"] for t in document["sessions"][0]["tasks"]] == ["Exported"]
    assert not (orch.root / "-").exists() and not Path("-").exists()


def test_export_to_dash_as_zip_is_the_zip_itself(orch):
    added(orch, "Zipped")
    done = orch("export", "--format", "zip", "-o", "-")
    names = zipfile.ZipFile(io.BytesIO(done.stdout_bytes)).namelist()
    assert any(name.endswith("session.md") for name in names)


def test_the_cli_exports_wherever_the_person_names(orch, tmp_path, monkeypatch):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    orch("export", "-o", str(outside / "absolute.json"))
    assert json.loads((outside / "absolute.json").read_text())["sessions"]
    monkeypatch.chdir(outside)  # a relative path is taken from where it was typed
    orch("export", "--format", "markdown", "-o", "relative.md")
    assert (outside / "relative.md").read_text().startswith("# Session")
    assert not (orch.root / "relative.md").exists()


def test_the_mcp_export_stays_inside_its_project(orch, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    for path in (str(outside / "x.json"), "../x.json"):
        failed, text, _ = call_tool(orch.root, "orchestrator_export", output=path)
        assert failed and "outside" in text, text
    assert not list(outside.iterdir()) and not (tmp_path / "x.json").exists()
    failed, text, data = call_tool(orch.root, "orchestrator_export", output="shared/out.json")
    assert not failed, text
    assert data["path"] == "shared/out.json" and (orch.root / "shared/out.json").exists()


# -- a closed pipe ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def many_tasks(tmp_path_factory) -> Path:
    """A project whose task list is longer than a pipe holds (64 KiB): 1,500 task files
    written as plain files, as a person or a script may."""
    root = tmp_path_factory.mktemp("pipe") / "proj"
    orch = new_project(root)
    session = orch.json("session", "show")["session_id"]
    folder = orch.root / ".task_orchestrator/sessions" / session / "tasks"
    folder.mkdir(exist_ok=True)
    for n in range(1500):
        task_id = f"t-{n:08x}"
        (folder / f"{task_id}.md").write_text(
            f"---\ntask_id: {task_id}\nsession_id: {session}\ntitle: Task number {n}\n"
            "status: pending\n---\n"
        )
    orch("task", "list", "--limit", "1")  # indexed once, outside the pipe
    return orch.root


def listing(root: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "--root", str(root), "task", "list"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_a_reader_gone_before_the_output_ends_the_command_quietly(many_tasks):
    proc = listing(many_tasks)  # `orch task list | true`: nothing is ever read
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == 0, err
    assert "Error" not in err and "Traceback" not in err and "Exception" not in err, err


def test_a_reader_that_takes_one_line_ends_the_command_quietly(many_tasks):
    proc = listing(many_tasks)  # `orch task list | head -1`
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert first.split()[0] == b"ID"
    assert proc.wait() == 0, err
    assert "Error" not in err and "Traceback" not in err and "Exception" not in err, err


# -- ids with or without their prefix --------------------------------------------------


def test_every_command_takes_an_id_without_its_prefix(orch):
    first = added(orch, "First")
    second = added(orch, "Second")
    group = orch.json("group", "create", "Backend")["group_id"]
    session = orch.json("session", "show")["session_id"]
    bare = {i: i.split("-", 1)[1] for i in (first, second, group, session)}
    orch("task", "update", bare[second], "--add-dep", bare[first])
    orch("task", "move", bare[second], "--group", bare[group])
    shown = orch.json("task", "show", bare[second])
    assert shown["depends_on"] == [first] and shown["group_id"] == group
    assert orch.json("group", "show", bare[group])["group_id"] == group
    assert orch.json("session", "show", bare[session])["session_id"] == session
    orch("task", "update", bare[second], "--remove-dep", bare[first])
    assert orch.json("task", "show", bare[second])["depends_on"] == []


def with_conflict(orch: Orch, task_id: str) -> None:
    """A title both sides of a merge changed, as the merge records it in the file."""
    path = task_file_of(orch, task_id)
    text = path.read_text()
    path.write_text(
        text.replace(
            "title: Contested\n",
            "title: Ours\norch_conflict:\n  title:\n    base: Contested\n    ours: Ours\n"
            "    theirs: Theirs\n",
        )
    )


def task_file_of(orch: Orch, task_id: str) -> Path:
    [path] = orch.root.glob(f".task_orchestrator/sessions/*/tasks/{task_id}.md")
    return path


def test_resolve_takes_a_record_id_without_its_prefix(orch):
    task_id = added(orch, "Contested")
    with_conflict(orch, task_id)
    assert orch.json("conflicts")[0]["record_id"] == task_id
    orch("resolve", task_id.removeprefix("t-")[:4], "--strategy", "md_wins")
    assert frontmatter(task_file_of(orch, task_id))["title"] == "Theirs"
    assert orch.json("conflicts") == []


def test_the_mcp_resolve_takes_a_record_id_without_its_prefix(orch):
    task_id = added(orch, "Contested")
    with_conflict(orch, task_id)
    failed, text, _ = call_tool(
        orch.root, "orchestrator_resolve_conflict", record_id=task_id[2:], strategy="db_wins"
    )
    assert not failed, text
    assert frontmatter(task_file_of(orch, task_id))["title"] == "Ours"


# -- usage errors: exit code 2, and JSON with --json -----------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("task", "list", "--status", "nonsense"),
        ("task", "list", "--status", "pending,nonsense"),
        ("task", "list", "--complexity", "huge"),
        ("task", "list", "--priority", "x"),
        ("task", "add", "T", "--priority", "x"),
        ("task", "add", "T", "--estimate", "soon"),
        ("session", "list", "--status", "sleeping"),
    ],
)
def test_a_bad_option_value_is_a_usage_error(orch, args):
    said = orch(*args, code=2).stderr
    assert "Usage:" in said and "Error: " in said


def test_with_json_a_usage_error_is_json_on_stderr(orch):
    done = orch("task", "list", "--status", "nonsense", "--json", code=2)
    error = json.loads(done.stderr)
    assert "--status" in error["error"] and "nonsense" in error["error"]
    assert error["hint"] == "orch task list --help" and done.stdout == ""


def test_with_json_an_error_is_json_with_its_hint_as_a_command(orch):
    # Asked before any task exists: with tasks, a random id close to t-00000000 would be
    # suggested instead ("did you mean"), and the hint left out.
    missing = json.loads(orch("task", "show", "t-00000000", "--json", code=1).stderr)
    assert missing == {"error": missing["error"], "hint": "orch task list"}
    parent = added(orch, "Parent")
    added(orch, "Child", "--parent", parent)
    done = orch("task", "done", parent, "--json", code=1)
    error = json.loads(done.stderr)
    assert "subtask" in error["error"]
    assert error["hint"] == f"orch task done {parent} --force"


# -- doctor and cleanup agree ------------------------------------------------------------


def test_doctor_and_cleanup_report_the_same_things(orch):
    parent = added(orch, "Parent")
    child = added(orch, "Child", "--parent", parent)
    waiting = added(orch, "Waiting", "--depends-on", parent)
    orch("group", "create", "Later")
    # What points nowhere: the parent's file deleted by hand, artifacts of no task, and a
    # dependency on a task of another session.
    task_file_of(orch, parent).unlink()
    artifacts = task_file_of(orch, child).parent.parent / "artifacts" / "t-0badc0de"
    artifacts.mkdir(parents=True)
    (artifacts / "01-report.md").write_text("left behind\n")
    orch("session", "create", "Other", "--switch")
    elsewhere = added(orch, "Elsewhere")
    orch("session", "activate", "Seams")
    path = task_file_of(orch, waiting)
    path.write_text(path.read_text().replace(f"- {parent}", f"- {parent}\n- {elsewhere}"))
    doctor = json.loads(orch("doctor", "--json", code=1).stdout)
    cleanup = orch.json("cleanup")["findings"]
    kinds = sorted(f["kind"] for f in cleanup)
    assert kinds == ["dangling_dependency", "dangling_dependency", "empty_group",
                     "orphaned_task", "stale_artifacts"]  # fmt: skip
    dangling = {f["dependency"] for f in cleanup if f["kind"] == "dangling_dependency"}
    assert dangling == {parent, elsewhere}  # the doctor's rule: within the session
    [group] = orch.root.glob(".task_orchestrator/sessions/*/groups/*.md")
    listed = {p["path"] for p in doctor}
    assert str(group.relative_to(orch.root)) in listed
    assert str(artifacts.relative_to(orch.root)) in listed
    said = {(p["path"], p["field"]) for p in doctor}
    for finding in cleanup:
        assert (finding["path"], finding["field"]) in said, finding


def test_cleanup_keeps_an_empty_group_unless_asked(orch):
    orch("group", "create", "Made on purpose")
    [group] = orch.root.glob(".task_orchestrator/sessions/*/groups/*.md")
    dry = orch.json("cleanup")
    assert [f["kind"] for f in dry["findings"]] == ["empty_group"]
    applied = orch.json("cleanup", "--apply")
    assert applied["applied"] == 0 and group.exists()
    assert "--empty-groups" in orch("cleanup").stdout
    orch("cleanup", "--apply", "--empty-groups")
    assert not group.exists()
    assert orch.json("cleanup")["findings"] == []


# -- one-line titles ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("task", "add", "Two\nlines"),
        ("group", "create", "Two\nlines"),
        ("session", "create", "Two\nlines", "--switch"),
    ],
)
def test_a_title_or_name_with_a_line_break_is_refused(orch, args):
    said = orch(*args, code=1).stderr
    assert "line break" in said and "one line" in said


def test_a_task_title_with_a_line_break_is_refused_on_update_and_by_mcp(orch):
    task_id = added(orch, "Single")
    assert "line break" in orch("task", "update", task_id, "--title", "A\nB", code=1).stderr
    assert frontmatter(task_file_of(orch, task_id))["title"] == "Single"
    for tool, args in (
        ("orchestrator_task_create", {"title": "A\r\nB"}),
        ("orchestrator_task_update", {"task_id": task_id, "title": "A\nB"}),
        ("orchestrator_group_create", {"group_name": "G\nH"}),
        ("orchestrator_session_create", {"name": "S\nT"}),
    ):
        failed, text, _ = call_tool(orch.root, tool, **args)
        assert failed and "line break" in text, (tool, text)
    assert [frontmatter(p)["title"] for p in orch.root.glob(".task_orchestrator/**/t-*.md")] == [
        "Single"
    ]


# -- imports run twice -------------------------------------------------------------------


def test_a_zip_import_run_twice_adds_nothing_the_second_time(orch, tmp_path):
    added(orch, "Carried over")
    exported = orch.json("export", "--format", "zip")["path"]
    other = new_project(tmp_path / "other")  # its own session is active: the import pauses
    first = other.json("import", "zip", str(orch.root / exported))
    assert first["files_written"] > 0 and first["paused"]
    commits = git(other.root, "rev-list", "--count", "HEAD").stdout
    again = other.json("import", "zip", str(orch.root / exported))
    assert again["files_written"] == 0 and again["sessions_existing"] == 1
    assert git(other.root, "rev-list", "--count", "HEAD").stdout == commits
    titles = {t["title"] for t in other.json("task", "list", "--all-sessions")}
    assert titles == {"Carried over"}


# -- messages that say what to do --------------------------------------------------------


def test_sync_remote_with_unpushed_code_behind_the_remote_says_to_merge_first(tmp_path):
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    mine = new_project(tmp_path / "mine")
    git(mine.root, "checkout", "-q", "-b", "main")
    (mine.root / "app.py").write_text("code\n")
    git(mine.root, "add", "app.py")
    git(mine.root, "commit", "-qm", "code")
    git(mine.root, "remote", "add", "origin", str(remote))
    assert git(mine.root, "push", "-q", "-u", "origin", "main").returncode == 0
    theirs_root = tmp_path / "theirs"
    assert git(tmp_path, "clone", "-q", str(remote), str(theirs_root)).returncode == 0
    theirs = Orch(theirs_root.resolve())
    theirs("session", "create", "Theirs", "--switch")
    theirs("sync", "--remote", "origin")
    (mine.root / "app.py").write_text("code, changed\n")
    git(mine.root, "commit", "-qam", "unpushed code")
    said = mine("sync", "--remote", "origin", code=1).stderr
    assert "git pull --no-rebase origin main" in said and "git push origin HEAD:main" in said
    assert said.index("git pull") < said.index("git push")
    # Doing what it says works.
    assert (
        git(mine.root, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main").returncode == 0
    )
    assert git(mine.root, "push", "-q", "origin", "HEAD:main").returncode == 0
    mine("sync", "--remote", "origin")


def test_a_body_conflict_in_a_merge_says_conflict_markers_not_kept_ours(orch):
    task_id = added(orch, "Shared", "-d", "one line of text")
    orch("git", "install")
    root = orch.root
    git(root, "checkout", "-q", "-b", "side")
    orch("task", "update", task_id, "-d", "their line of text")
    git(root, "checkout", "-q", "-")
    orch("task", "update", task_id, "-d", "our line of text")
    merged = git(root, "merge", "--no-edit", "side")
    assert "conflict markers in the body" in merged.stderr, merged.stderr
    assert "kept ours" not in merged.stderr
    assert "<<<<<<< " in task_file_of(orch, task_id).read_text()
