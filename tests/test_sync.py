"""Sync: a commit per change, outside edits committed, three-way merge in its three uses
(a tool write racing an editor save, a stale editor buffer, git merges between clones),
conflicts listed and resolved, remote sync between clones. All with real git."""

from __future__ import annotations

import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrator.core.project import Project
from orchestrator.core.setup import init_project
from orchestrator.store.record_file import load_yaml, split_frontmatter
from tests.conftest import SQLITE_NOW_DUCKDB_SLOW, Orch, edit, task_file


def git(root: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if check:
        assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def subjects(root: Path) -> list[str]:
    return git(root, "log", "--format=%s").splitlines()


@dataclass
class Commit:
    """One commit of `history()`: its subject, its trailers and, per file, the lines it
    added (whole lines, without the diff's `+`)."""

    sha: str
    subject: str
    trailers: list[str]
    added: dict[str, list[str]]

    def lines(self) -> list[str]:
        return [line for lines in self.added.values() for line in lines]


def history(root: Path, *paths: str) -> list[Commit]:
    """The commits touching `paths` (all if none), newest first, parsed from `git log -p`
    into exact added lines: a value is found by equality, never as a substring (`w0 n1`
    must not be found in `w0 n10`)."""
    out = git(root, "log", "-p", "--no-renames", "--no-color",
              "--format=%x00%H%x01%s%x01%(trailers:only,unfold)%x01", "--", *paths)  # fmt: skip
    commits = []
    for chunk in out.split("\0")[1:]:
        sha, subject, trailers, diff = chunk.split("\x01", 3)
        added: dict[str, list[str]] = {}
        path, in_hunk = None, False
        for line in diff.splitlines():
            if line.startswith("diff --git "):
                path, in_hunk = line.split(" b/", 1)[1], False
                added.setdefault(path, [])
            elif line.startswith("@@"):
                in_hunk = True
            elif in_hunk and line.startswith("+") and path is not None:
                added[path].append(line[1:])
        commits.append(Commit(sha, subject, trailers.split("\n") if trailers else [], added))
    return commits


def meta(path: Path) -> dict:
    return load_yaml(split_frontmatter(path.read_text(encoding="utf-8"))[0])


def new_task(orch: Orch, title: str, *args: str) -> str:
    return orch.json("task", "add", title, *args)["task_id"]


def race_on_title(project: Project, task_id: str, ours: str, theirs: str) -> None:
    """orch loads a task, an editor saves a new title, orch saves its own new title."""
    path = task_file(project, task_id)
    old = meta(path)["title"]
    with project.writing("update") as w:
        row = w.db.query_one("SELECT session_id FROM tasks WHERE task_id = ?", [task_id])
        record = w.load("task", row["session_id"], task_id)
        edit(path, f"title: {old}", f"title: {theirs}")
        record.meta["title"] = ours
        w.save(record)


@pytest.fixture
def engine() -> str:
    """Commits, merges and conflicts are git's and the files': SQLite here. The tests
    where the index takes part (an outside edit found, a checkout indexed, writers at
    once) name both engines themselves."""
    return "sqlite"


@pytest.fixture
def started(project) -> tuple[Project, Orch]:
    """A project with an active session (on SQLite, or the engines a test names)."""
    orch = Orch(project.root)
    orch("session", "create", "Payments")
    return project, orch


# -- commits -----------------------------------------------------------------------------


def test_each_change_is_one_commit_with_a_structured_message(started):
    project, orch = started
    root = project.root
    before = int(git(root, "rev-list", "--count", "HEAD"))
    task_id = new_task(orch, "Write the parser")
    orch("task", "done", task_id)
    assert int(git(root, "rev-list", "--count", "HEAD")) == before + 2
    assert subjects(root)[0] == f'orch: done {task_id} "Write the parser"'
    trailers = git(root, "log", "-1", "--format=%(trailers)")
    assert "Orch-Op: done" in trailers
    assert f"Orch-Task: {task_id}" in trailers
    assert "Orch-Session: s-" in trailers
    # "What happened to this task": git answers from the trailers alone.
    history = git(root, "log", "--format=%s", f"--grep=Orch-Task: {task_id}")
    assert history.splitlines() == [
        f'orch: done {task_id} "Write the parser"',
        f'orch: add {task_id} "Write the parser"',
    ]
    ops = git(root, "log", "--format=%(trailers:key=Orch-Op,valueonly)", "-2").split()
    assert ops == ["done", "add"]
    assert git(root, "status", "--porcelain") == ""


def test_the_users_own_staged_and_unstaged_work_is_never_touched(started):
    project, orch = started
    root = project.root
    (root / "notes.txt").write_text("staged work\n")
    (root / "draft.txt").write_text("unstaged work\n")
    git(root, "add", "notes.txt")
    (root / "notes.txt").write_text("staged work\nplus an unstaged line\n")
    task_id = new_task(orch, "First")
    for n in range(8):
        orch("task", "update", task_id, "--priority", str(n % 5 + 1))
    orch("task", "done", task_id)
    status = git(root, "status", "--porcelain")
    assert "AM notes.txt" in status.splitlines()
    assert "?? draft.txt" in status.splitlines()
    assert len(status.splitlines()) == 2  # nothing of orch's is left uncommitted
    assert git(root, "show", ":notes.txt") == "staged work"  # still staged, as staged
    assert (root / "notes.txt").read_text() == "staged work\nplus an unstaged line\n"
    committed = git(root, "log", "--name-only", "--format=").split()
    assert committed and all(p.startswith(".task_orchestrator/") for p in committed)
    assert not any("/.index/" in p for p in committed)


def test_each_commit_lands_on_the_branch_tip_whoever_moved_it(started):
    """orch reads the branch's tip from its ref file when it names the commit orch made
    last; a commit of the user's, refs packed by `git pack-refs` (no ref file left) and
    a marker cut short all send it back to git: each commit has the tip as its parent."""
    project, orch = started
    root = project.root
    task_id = new_task(orch, "Tip")
    marker = project.layout.index_dir / "git-index.head"

    def update_lands_on_tip(priority: str) -> None:
        tip = git(root, "rev-parse", "HEAD")
        orch("task", "update", task_id, "--priority", priority)
        assert git(root, "rev-parse", "HEAD~1") == tip
        assert (
            marker.read_text().split()
            == git(root, "rev-parse", "HEAD^{commit}", "HEAD^{tree}").split()
        )

    update_lands_on_tip("2")  # orch's own commit before: known from the files
    (root / "notes.txt").write_text("theirs\n")
    git(root, "add", "notes.txt")
    git(root, "commit", "-q", "-m", "their commit")
    update_lands_on_tip("3")
    git(root, "pack-refs", "--all")
    assert not list((root / ".git" / "refs" / "heads").iterdir())
    update_lands_on_tip("4")
    marker.write_text(marker.read_text()[:50])  # a write of the marker cut short
    update_lands_on_tip("5")
    assert git(root, "show", "HEAD:notes.txt") == "theirs"
    assert git(root, "status", "--porcelain") == ""


def test_a_folder_that_is_not_a_repository_gets_one_of_its_own(tmp_path):
    root = tmp_path / "plain"
    project, _ = init_project(root)
    assert any("a repository of its own" in w for w in project.warnings)
    base = root / ".task_orchestrator"
    assert (base / ".git").is_dir() and not (root / ".git").exists()
    orch = Orch(root)
    orch("session", "create", "Solo")
    assert subjects(base)[0].startswith("orch: create s-")
    assert subjects(base)[-1] == "orch: init 5 files"
    tracked = git(base, "ls-files").splitlines()
    assert "config.yaml" in tracked and not any(p.startswith(".index") for p in tracked)


def test_a_project_the_enclosing_repository_ignores_gets_its_own(tmp_path):
    outer = tmp_path / "outer"
    outer.mkdir()
    git(outer, "init", "-q")
    (outer / ".gitignore").write_text("generated/\n")
    root = outer / "generated" / "proj"
    init_project(root)
    Orch(root)("session", "create", "Kept apart")
    assert git(outer, "rev-list", "--all") == ""  # nothing committed to the outer one
    assert subjects(root / ".task_orchestrator")[0].startswith("orch: create s-")


def test_a_bulk_operation_is_one_commit(started):
    project, orch = started
    root = project.root
    orch("group", "create", "Backend")
    ids = [new_task(orch, f"Task {n}") for n in range(5)]
    before = int(git(root, "rev-list", "--count", "HEAD"))
    orch("group", "move", *ids, "--to", "Backend")
    assert int(git(root, "rev-list", "--count", "HEAD")) == before + 1
    assert subjects(root)[0] == "orch: move 5 tasks"
    trailers = git(root, "log", "-1", "--format=%(trailers:key=Orch-Task,valueonly)").split()
    assert sorted(trailers) == sorted(ids)


def test_commits_work_without_a_git_identity(tmp_path, monkeypatch):
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.gitconfig
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("EMAIL", "")
    root = tmp_path / "p"
    init_project(root)
    Orch(root)("session", "create", "Anonymous")
    base = root / ".task_orchestrator"
    assert git(base, "log", "-1", "--format=%an <%ae>") == "orch <orch@localhost>"


def set_config(project: Project, text: str) -> None:
    config = project.layout.config_file
    config.write_text(config.read_text(encoding="utf-8") + text, encoding="utf-8")
    project.layout.root.joinpath(".task_orchestrator", ".index", "config.json").unlink(
        missing_ok=True
    )


def test_commit_batch_coalesces_until_the_window_passes_or_sync(started):
    project, orch = started
    root = project.root
    set_config(project, "commit: batch\ncommit_window: 3600\n")
    orch("sync")  # commits the config change itself
    before = int(git(root, "rev-list", "--count", "HEAD"))
    a = new_task(orch, "Alpha")
    b = new_task(orch, "Beta")
    orch("task", "done", a)
    assert int(git(root, "rev-list", "--count", "HEAD")) == before
    with Project(root).reading() as db:
        rows = dict(db.rows("SELECT markdown_file_path, sync_status FROM markdown_sync_state"))
    assert rows[str(task_file(project, a).relative_to(root))] == "db_newer"
    result = orch.json("sync")
    assert len(result["commits"]) == 1 and result["pending"] == 0
    assert int(git(root, "rev-list", "--count", "HEAD")) == before + 1
    assert subjects(root)[0] == "orch: 3 syncs (add, done)"
    body = git(root, "log", "-1", "--format=%b")
    assert f'orch: add {a} "Alpha"' in body and f'orch: done {a} "Alpha"' in body
    assert sorted(
        git(root, "log", "-1", "--format=%(trailers:key=Orch-Task,valueonly)").split()
    ) == sorted([a, b])
    assert git(root, "status", "--porcelain") == ""
    with Project(root).reading() as db:
        rows = dict(db.rows("SELECT markdown_file_path, sync_status FROM markdown_sync_state"))
    assert rows[str(task_file(project, a).relative_to(root))] == "synchronized"


def test_commit_batch_window_elapsed_commits_on_the_next_change(started):
    project, orch = started
    root = project.root
    set_config(project, "commit: batch\ncommit_window: 0\n")
    orch("sync")
    before = int(git(root, "rev-list", "--count", "HEAD"))
    new_task(orch, "Alpha")
    assert int(git(root, "rev-list", "--count", "HEAD")) == before + 1


def test_commit_off_writes_files_only(started):
    project, orch = started
    root = project.root
    set_config(project, "commit: off\n")
    orch("task", "list")  # reads the new config (an outside edit: not committed either)
    before = git(root, "rev-parse", "HEAD")
    task_id = new_task(orch, "Uncommitted")
    assert git(root, "rev-parse", "HEAD") == before
    assert task_file(project, task_id).exists()
    out = orch("sync").stdout
    assert "commits are off" in out and git(root, "rev-parse", "HEAD") == before


# -- outside edits -------------------------------------------------------------------------


@pytest.mark.parametrize("engine", SQLITE_NOW_DUCKDB_SLOW)
def test_an_outside_edit_is_committed_by_the_next_command(started):
    project, orch = started
    root = project.root
    task_id = new_task(orch, "Edit me")
    path = task_file(project, task_id)
    edit(path, "title: Edit me", "title: Edited by hand")
    orch("task", "list")  # a read command syncs it too
    assert subjects(root)[0] == f'orch: edit {task_id} "Edited by hand"'
    assert "Orch-Op: edit" in git(root, "log", "-1", "--format=%(trailers)")
    assert git(root, "status", "--porcelain") == ""
    with project.reading() as db:
        row = db.query_one(
            "SELECT * FROM markdown_sync_state WHERE markdown_file_path = ?",
            [str(path.relative_to(root))],
        )
    assert row["sync_status"] == "synchronized"
    assert row["last_md_to_db_sync"] and row["md_content_hash"] == row["db_content_hash"]


def test_sync_commits_files_orch_does_not_index(started):
    project, orch = started
    root = project.root
    artifact = project.layout.base / "sessions" / "notes.txt"
    artifact.write_text("an agent's output\n")
    result = orch.json("sync")
    assert len(result["commits"]) == 1
    assert subjects(root)[0] == "orch: edit .task_orchestrator/sessions/notes.txt"
    assert orch.json("sync")["commits"] == []


@pytest.mark.parametrize("engine", SQLITE_NOW_DUCKDB_SLOW)
def test_checking_out_old_versions_is_indexed_and_committed_as_an_edit(started):
    project, orch = started
    root = project.root
    task_id = new_task(orch, "Before")
    orch("task", "update", task_id, "--title", "After")
    head = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "HEAD~1", "--", ".task_orchestrator")
    git(root, "reset", "-q")  # leave the old version in the work tree only
    assert orch.json("task", "show", task_id)["title"] == "Before"
    # The old version equals a committed one: a deliberate revert, committed as an edit.
    assert git(root, "rev-parse", "HEAD") != head
    assert subjects(root)[0].startswith("orch: edit ")
    assert task_id in git(root, "log", "-1", "--format=%(trailers:key=Orch-Task,valueonly)")
    git(root, "checkout", "-q", head, "--", ".task_orchestrator")
    git(root, "reset", "-q")
    assert orch.json("task", "show", task_id)["title"] == "After"


# -- three-way merge, use 1: a tool write racing an editor save ----------------------------


def test_a_tool_write_racing_an_editor_save_merges_instead_of_overwriting(started):
    project, orch = started
    task_id = new_task(orch, "Race", "--description", "First line.")
    path = task_file(project, task_id)
    with project.writing("done") as w:
        row = w.db.query_one("SELECT session_id FROM tasks WHERE task_id = ?", [task_id])
        record = w.load("task", row["session_id"], task_id)
        # The editor saves between orch's read and orch's write.
        edit(path, "First line.", "First line.\n\nAdded in the editor.")
        record.meta["status"] = "completed"
        w.save(record)
    text = path.read_text()
    assert "status: completed" in text and "Added in the editor." in text
    assert "merged the two" in git(project.root, "log", "-1", "--format=%b")
    assert git(project.root, "status", "--porcelain") == ""


def test_a_racing_write_of_the_same_field_is_kept_as_a_conflict(started):
    project, orch = started
    task_id = new_task(orch, "Race")
    path = task_file(project, task_id)
    race_on_title(project, task_id, ours="Agent's title", theirs="Editor's title")
    fields = meta(path)
    assert fields["title"] == "Agent's title"
    assert fields["orch_conflict"]["title"] == {
        "base": "Race",
        "ours": "Agent's title",
        "theirs": "Editor's title",
    }
    assert any("conflict" in w for w in project.warnings)
    [conflict] = orch.json("conflicts")
    assert conflict["record_id"] == task_id and conflict["fields"] == ["title"]


# -- use 2: a stale editor buffer ----------------------------------------------------------


@pytest.mark.parametrize("round", range(3))
def test_a_stale_buffer_keeps_the_agents_status_and_the_users_description(started, round):
    project, orch = started
    root = project.root
    task_id = new_task(orch, "Write the parser", "--description", "Parse the input.")
    path = task_file(project, task_id)
    buffer = path.read_text()  # the user opens the task in an editor
    orch("task", "start", task_id)  # an agent works meanwhile, each step committed
    orch("task", "done", task_id)
    stale = buffer.replace("Parse the input.", "Parse the input.\n\nAlso handle comments.")
    path.write_text(stale)  # the user saves the old buffer
    shown = orch.json("task", "show", task_id)
    assert shown["status"] == "completed"
    text = path.read_text()
    assert "Also handle comments." in text and "status: completed" in text
    assert meta(path)["completed_at"]
    assert subjects(root)[0] == f'orch: merge {task_id} "Write the parser"'
    assert "stale editor buffer" in git(root, "log", "-1", "--format=%b")
    assert git(root, "status", "--porcelain") == ""


def test_a_fresh_edit_that_reverts_a_field_is_not_taken_for_a_stale_buffer(started):
    project, orch = started
    task_id = new_task(orch, "Reopen me")
    orch("task", "done", task_id)
    path = task_file(project, task_id)
    edit(path, "status: completed", "status: in_progress")  # deliberately reopened
    assert orch.json("task", "show", task_id)["status"] == "in_progress"
    assert meta(path)["status"] == "in_progress"


# -- use 3: git merge between clones, through the driver -----------------------------------


def clone_pair(tmp_path: Path) -> tuple[Orch, Orch, Path, Path, str]:
    """A project pushed to a bare remote, and a second clone of it."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    a = tmp_path / "a"
    a.mkdir()
    git(a, "init", "-q", "-b", "main")
    init_project(a)
    orch_a = Orch(a)
    orch_a("git", "install")
    orch_a("session", "create", "Shared")
    task_id = new_task(orch_a, "Shared task", "--description", "Line one.")
    git(a, "remote", "add", "origin", str(remote))
    git(a, "push", "-q", "origin", "main")
    git(tmp_path, "clone", "-q", "-b", "main", str(remote), "b")
    b = tmp_path / "b"
    return orch_a, Orch(b), a, b, task_id


def test_git_merge_merges_different_fields_of_one_task_cleanly(tmp_path):
    orch_a, orch_b, a, b, task_id = clone_pair(tmp_path)
    orch_b("git", "install")  # a clone has the attributes; the config is per clone
    orch_b("task", "done", task_id)
    orch_a("task", "update", task_id, "--priority", "5", "--description", "Line one.\n\nFrom A.")
    git(b, "fetch", "-q", str(a), "main")
    git(b, "merge", "-q", "--no-edit", "FETCH_HEAD")  # a real git merge, through the driver
    path = next(b.glob(f".task_orchestrator/sessions/*/tasks/{task_id}.md"))
    fields = meta(path)
    assert fields["status"] == "completed" and fields["priority_level"] == 5
    assert "orch_conflict" not in fields and "From A." in path.read_text()
    shown = orch_b.json("task", "show", task_id)
    assert shown["status"] == "completed" and shown["priority_level"] == 5
    assert orch_b.json("conflicts") == []


def test_git_merge_of_one_field_changed_both_ways_leaves_a_readable_conflict(tmp_path):
    orch_a, orch_b, a, b, task_id = clone_pair(tmp_path)
    orch_b("git", "install")
    orch_b("task", "update", task_id, "--title", "Title from B")
    orch_a("task", "update", task_id, "--title", "Title from A")
    git(b, "fetch", "-q", str(a), "main")
    merge = subprocess.run(
        ["git", "merge", "--no-edit", "FETCH_HEAD"], cwd=b, capture_output=True, text=True
    )
    assert merge.returncode == 0, merge.stderr
    assert "both sides changed title" in merge.stderr
    path = next(b.glob(f".task_orchestrator/sessions/*/tasks/{task_id}.md"))
    assert meta(path)["orch_conflict"]["title"]["theirs"] == "Title from A"  # valid YAML
    [conflict] = orch_b.json("conflicts")
    assert conflict["fields"] == ["title"]
    status = orch_b("status").stdout
    assert "1 merge conflict(s)" in status
    orch_b("doctor", code=1)
    with Project(b).reading() as db:
        state = db.scalar(
            "SELECT sync_status FROM markdown_sync_state WHERE markdown_file_path LIKE ?",
            [f"%{task_id}.md"],
        )
    assert state == "conflict"
    orch_b("resolve", task_id[:6], "--strategy", "md_wins")
    assert meta(path)["title"] == "Title from A" and "orch_conflict" not in meta(path)
    assert orch_b.json("conflicts") == []
    assert subjects(b)[0] == f'orch: resolve {task_id} "Title from A"'
    with Project(b).reading() as db:
        row = db.query_one(
            "SELECT * FROM markdown_sync_state WHERE markdown_file_path LIKE ?", [f"%{task_id}.md"]
        )
    assert row["sync_status"] == "synchronized"
    assert row["last_conflict_resolution"].startswith("md_wins ")


@pytest.mark.parametrize(
    ("strategy", "picks", "title"),
    [
        ("db_wins", [], "Ours"),
        ("md_wins", [], "Theirs"),
        ("merge", ["--pick", "title=base"], "Race"),
    ],
)
def test_resolve_strategies(started, strategy, picks, title):
    project, orch = started
    task_id = new_task(orch, "Race")
    path = task_file(project, task_id)
    race_on_title(project, task_id, ours="Ours", theirs="Theirs")
    orch("resolve", task_id, "--strategy", strategy, *picks)
    assert meta(path)["title"] == title
    assert orch.json("task", "show", task_id)["title"] == title
    assert orch.json("conflicts") == []


def test_resolve_errors_say_what_to_do(started):
    project, orch = started
    task_id = new_task(orch, "Calm")
    assert "no merge conflict" in orch("resolve", task_id, "--strategy", "db_wins", code=1).stderr
    with project.writing("update") as w:
        row = w.db.query_one("SELECT session_id FROM tasks WHERE task_id = ?", [task_id])
        record = w.load("task", row["session_id"], task_id)
        edit(task_file(project, task_id), "title: Calm", "title: Theirs")
        record.meta["title"] = "Ours"
        w.save(record)
    err = orch("resolve", task_id, "--strategy", "merge", code=1).stderr
    assert "title=ours|theirs|base" in err
    picked = orch("resolve", task_id, "--strategy", "db_wins", "--pick", "title=ours", code=1)
    assert "picking fields goes with the merge strategy" in picked.stderr
    # No hint: `--strategy merge` without the picks would do something else than asked.
    assert "(orch resolve" not in picked.stderr


# -- distributed use -----------------------------------------------------------------------


def test_two_clones_converge_through_a_remote(tmp_path):
    orch_a, orch_b, a, b, shared = clone_pair(tmp_path)
    # Each clone creates tasks and completes others, then syncs (b has no driver config:
    # sync --remote sets it from the committed attributes).
    made_b = [new_task(orch_b, f"From B {n}") for n in range(3)]
    orch_b("task", "done", shared)
    made_a = [new_task(orch_a, f"From A {n}") for n in range(3)]
    orch_a("task", "update", shared, "--priority", "1")
    orch_a("task", "done", made_a[0])
    orch_a("sync", "--remote", "origin")
    result = orch_b.json("sync", "--remote", "origin")
    assert result["merged"] and result["conflicts"] == []
    orch_a("sync", "--remote", "origin")
    tasks_a = {t["task_id"]: t for t in orch_a.json("task", "list")}
    tasks_b = {t["task_id"]: t for t in orch_b.json("task", "list")}
    assert set(tasks_a) == set(tasks_b) == {shared, *made_a, *made_b}  # no collision, none lost
    for tasks in (tasks_a, tasks_b):
        assert tasks[shared]["status"] == "completed" and tasks[shared]["priority_level"] == 1
        assert tasks[made_a[0]]["status"] == "completed"
    assert git(a, "rev-parse", "HEAD") == git(b, "rev-parse", "HEAD")
    assert git(a, "status", "--porcelain") == "" and git(b, "status", "--porcelain") == ""


def test_sync_remote_reports_a_remote_that_does_not_exist(started):
    _, orch = started
    err = orch("sync", "--remote", "nowhere", code=1).stderr
    assert "git fetch nowhere" in err


# -- concurrency ---------------------------------------------------------------------------

# Half the workers go through the core, half through the CLI (in process, to keep the
# test fast); every other update goes to a task another worker updates too.
WORKER = """
import sys
from orchestrator.cli import cli
from orchestrator.core.project import Project
from orchestrator.core.tasks import update_task
root, worker, ids, updates = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(","), int(sys.argv[4])
for n in range(updates):
    task_id = ids[(worker + n) % len(ids)] if n % 2 else ids[worker]
    text = f"w{worker} n{n}"
    if worker % 2:
        cli(["--root", root, "task", "update", task_id, "--description", text], standalone_mode=False)
    else:
        update_task(Project.find(root), task_id, description=text)
"""


def assert_one_commit_per_value(root: Path, values: set[str]) -> None:
    """The last len(values) commits each add exactly one of `values` (a task file's
    description line), and each value is added by exactly one commit in the history."""
    commits = history(root)
    found = [[line for line in c.lines() if line in values] for c in commits]
    odd = [
        (c.subject, f) for c, f in zip(commits[: len(values)], found, strict=False) if len(f) != 1
    ]
    assert odd == []
    counts = Counter(line for f in found for line in f)
    assert {v: counts[v] for v in values if counts[v] != 1} == {}


def four_processes_update_at_once(started, tmp_path: Path, updates: int) -> None:
    project, orch = started
    root = project.root
    ids = [new_task(orch, f"Task {n}") for n in range(4)]
    before = int(git(root, "rev-list", "--count", "HEAD"))
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    import sys

    workers = [
        subprocess.Popen(
            [sys.executable, str(script), str(root), str(w), ",".join(ids), str(updates)]
        )
        for w in range(4)
    ]
    assert [p.wait(timeout=300) for p in workers] == [0, 0, 0, 0]
    # Every update is one commit that adds its description, whole, and no other.
    assert int(git(root, "rev-list", "--count", "HEAD")) == before + 4 * updates
    assert_one_commit_per_value(root, {f"w{w} n{n}" for w in range(4) for n in range(updates)})
    assert git(root, "status", "--porcelain") == ""
    # The index equals a fresh rebuild.
    listed = orch("task", "list", "--json").stdout
    orch("reindex")
    assert orch("task", "list", "--json").stdout == listed


@pytest.mark.parametrize("engine", SQLITE_NOW_DUCKDB_SLOW)
def test_four_processes_updating_at_once_lose_nothing(started, tmp_path):
    """20 updates each; 10 on DuckDB, whose writes cost several times as much (writers
    take turns in orch's project lock on either engine: the same kind of interleaving)."""
    project, _ = started
    updates = 10 if project.config.index == "duckdb" else 20
    four_processes_update_at_once(started, tmp_path, updates)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
@pytest.mark.parametrize("round", range(2))
def test_four_processes_times_fifty_updates_lose_nothing(started, tmp_path, round):
    if round and started[0].config.index == "duckdb":
        pytest.skip("one round on DuckDB: a round costs it ~70 s, and the slow step's 15 minutes")
    four_processes_update_at_once(started, tmp_path, updates=50)


# -- a merge in progress ---------------------------------------------------------------------


def test_a_change_during_a_stopped_merge_is_refused_and_the_merge_can_still_end(started):
    project, orch = started
    root = project.root
    stop_a_merge(root)
    before = git(root, "rev-parse", "HEAD")
    result = orch("task", "add", "During the merge", code=1)
    assert "git is in the middle of a merge" in result.stderr
    assert "git merge --abort" in result.stderr  # how to end it
    assert git(root, "rev-parse", "HEAD") == before
    assert git(root, "status", "--porcelain", "--", ".task_orchestrator") == ""
    git(root, "merge", "--abort")  # nothing of orch's is in its way
    orch("task", "add", "After the merge")
    assert subjects(root)[0].startswith("orch: add t-")
    assert git(root, "status", "--porcelain") == ""


def stop_a_merge(root: Path) -> None:
    """A real `git merge` stopped by a conflict in a file of the user's code."""
    (root / "code.txt").write_text("base\n")
    git(root, "add", "code.txt")
    git(root, "commit", "-qm", "code")
    git(root, "checkout", "-qb", "other")
    (root / "code.txt").write_text("theirs\n")
    git(root, "commit", "-qam", "theirs")
    git(root, "checkout", "-q", "-")
    (root / "code.txt").write_text("ours\n")
    git(root, "commit", "-qam", "ours")
    git(root, "merge", "other", check=False)  # stops: both changed code.txt
    assert (Path(git(root, "rev-parse", "--absolute-git-dir")) / "MERGE_HEAD").exists()


def test_sync_states_with_commits_off(started):
    project, orch = started
    root = project.root
    set_config(project, "commit: off\n")
    task_id = new_task(orch, "Written by orch")
    path = task_file(project, task_id)
    rel = str(path.relative_to(root))

    def state() -> str:
        with Project(root).reading() as db:
            return db.scalar(
                "SELECT sync_status FROM markdown_sync_state WHERE markdown_file_path = ?", [rel]
            )

    assert state() == "db_newer"  # orch wrote it; no commit yet
    edit(path, "title: Written by orch", "title: Then by hand")
    orch("task", "list")
    assert state() == "md_newer"  # edited outside; no commit yet


# -- a crash between writing a file and committing it ----------------------------------------

CRASHER = """
import os, signal, sys
from orchestrator.core.project import Project
from orchestrator.git import syncer as sync
from orchestrator.core.tasks import update_task

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)  # the file is written and indexed, not committed

sync.Syncer.record = die
update_task(Project.find(sys.argv[1]), sys.argv[2], title="Written before the crash")
"""


def test_a_change_whose_commit_was_cut_short_is_committed_by_the_next_change(started, tmp_path):
    import sys

    project, orch = started
    root = project.root
    task_id = new_task(orch, "Before the crash")
    script = tmp_path / "crash.py"
    script.write_text(CRASHER)
    done = subprocess.run([sys.executable, str(script), str(root), task_id])
    assert done.returncode == -9
    assert "Written before the crash" in task_file(project, task_id).read_text()
    assert git(root, "status", "--porcelain")  # written, not committed
    other = new_task(orch, "After the crash")
    assert git(root, "status", "--porcelain") == ""
    history = git(root, "log", "--format=%s", "-2").splitlines()
    assert history == [
        f'orch: add {other} "After the crash"',
        f'orch: update {task_id} "Written before the crash"',
    ]


# -- what the review of the first version found ------------------------------------------------


def test_a_stale_buffer_over_an_uncommitted_orch_write_keeps_both(started):
    project, orch = started
    set_config(project, "commit: batch\ncommit_window: 3600\n")
    orch("sync")
    task_id = new_task(orch, "Batched", "--description", "Old text.")
    path = task_file(project, task_id)
    buffer = path.read_text()
    orch("task", "done", task_id)  # written, waiting for the batch's commit
    path.write_text(buffer.replace("Old text.", "Old text.\n\nFrom the editor."))
    assert orch.json("task", "show", task_id)["status"] == "completed"
    assert "From the editor." in path.read_text()
    orch("sync")
    assert git(project.root, "status", "--porcelain") == ""
    assert "status: completed" in git(
        project.root, "show", f"HEAD:{path.relative_to(project.root)}"
    )


def test_a_file_whose_newest_version_is_a_persons_edit_is_not_merged(started):
    project, orch = started
    task_id = new_task(orch, "Hand edited", "--description", "One.")
    path = task_file(project, task_id)
    edit(path, "One.", "One.\n\nTwo.")  # a person's edit, committed as such
    orch("task", "list")
    edit(path, "One.\n\nTwo.", "One.")  # the same person takes it back
    orch("task", "list")
    assert "Two." not in path.read_text()


def test_an_operation_that_sets_a_conflicting_field_settles_that_conflict(started):
    project, orch = started
    task_id = new_task(orch, "Race")
    path = task_file(project, task_id)
    race_on_title(project, task_id, ours="Ours", theirs="Theirs")
    assert orch.json("conflicts")
    orch("task", "update", task_id, "--title", "Decided later")
    assert orch.json("conflicts") == [] and "orch_conflict" not in meta(path)
    assert meta(path)["title"] == "Decided later"


def test_a_detached_head_keeps_changes_uncommitted(started):
    project, orch = started
    root = project.root
    new_task(orch, "On the branch")
    git(root, "checkout", "-q", "--detach")
    head = git(root, "rev-parse", "HEAD")
    result = orch("task", "add", "While detached")
    assert "HEAD is detached" in result.stderr
    assert git(root, "rev-parse", "HEAD") == head
    git(root, "checkout", "-q", "-")
    orch("sync")
    assert subjects(root)[0] == f'orch: add {result.stdout.split()[1]} "While detached"'
    assert git(root, "status", "--porcelain") == ""


def test_a_project_in_a_subfolder_of_a_code_repository(tmp_path):
    code = tmp_path / "code"
    (code / "services" / "api").mkdir(parents=True)
    git(code, "init", "-q", "-b", "main")
    (code / "main.py").write_text("print('hi')\n")
    git(code, "add", "main.py")
    git(code, "commit", "-q", "-m", "code")
    root = code / "services" / "api"
    init_project(root)
    orch = Orch(root)
    orch("session", "create", "API")
    task_id = new_task(orch, "In a subfolder")
    committed = git(code, "show", "--name-only", "--format=", "HEAD").split()
    session_dir = f"services/api/.task_orchestrator/sessions/{task_file(Project(root), task_id).parent.parent.name}"
    assert sorted(committed) == [f"{session_dir}/session.md", f"{session_dir}/tasks/{task_id}.md"]
    assert git(code, "status", "--porcelain") == ""
    vim_swap = task_file(Project(root), task_id).with_name(f".{task_id}.md.swp")
    vim_swap.write_text("swap")
    orch("sync")
    assert ".swp" not in git(code, "ls-files")


def test_sync_remote_does_not_push_the_users_code(tmp_path):
    orch_a, _, a, _, _ = clone_pair(tmp_path)
    (a / "app.py").write_text("code\n")
    git(a, "add", "app.py")
    git(a, "commit", "-q", "-m", "my code")
    new_task(orch_a, "Planned")
    err = orch_a("sync", "--remote", "origin", code=1).stderr
    assert "outside .task_orchestrator/" in err and "git push" in err
    git(a, "push", "-q", "origin", "main")
    orch_a("sync", "--remote", "origin")


def test_sync_remote_names_a_broken_file_the_remote_changed_too_and_says_to_fix_it(tmp_path):
    """git refuses to start the merge over a broken file orch left uncommitted: the
    error names the file with its problem and says to fix it, not to `git commit` it
    as it is nor to abort a merge that never started."""
    orch_a, orch_b, a, _, task_id = clone_pair(tmp_path)
    orch_b("task", "update", task_id, "--priority", "5")
    orch_b("sync", "--remote", "origin")
    path = task_file(Project(a), task_id)
    edit(path, "title: Shared task", "title: Mended: broken")
    err = orch_a("sync", "--remote", "origin", code=1).stderr
    assert f"{task_id}.md:4: YAML error" in err and "fix them" in err
    assert "--abort" not in err and "git commit" not in err
    assert not (a / ".git" / "MERGE_HEAD").exists()
    edit(path, "title: Mended: broken", "title: Mended")
    orch_a("sync", "--remote", "origin")
    assert meta(path)["title"] == "Mended" and meta(path)["priority_level"] == 5


def test_a_hook_that_runs_orch_during_sync_remote_does_not_wait_for_the_lock(tmp_path):
    import sys

    orch_a, _, _, b, task_id = clone_pair(tmp_path)
    orch_a("task", "done", task_id)
    orch_a("sync", "--remote", "origin")
    hook = b / ".git" / "hooks" / "post-merge"
    log = tmp_path / "hook.log"
    hook.write_text(
        f"#!/bin/sh\n{sys.executable} -m orchestrator --root {b} task list --json > {log}\n"
    )
    hook.chmod(0o755)
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator", "--root", str(b), "sync", "--remote", "origin"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert task_id in log.read_text()


def test_a_briefly_locked_git_index_is_waited_for(started, monkeypatch):
    """Another git holds the user's index for a moment: orch waits for it to let go,
    neither removing its lock nor giving up. That git ends the moment orch first finds its
    lock (placed, not timed), and the lock is never old enough to be taken for stale."""
    from orchestrator.git import repo as gitrepo

    project, orch = started
    root = project.root
    lock = Path(git(root, "rev-parse", "--absolute-git-dir")) / "index.lock"
    lock.write_text("")
    monkeypatch.setattr(gitrepo, "STALE_LOCK_AGE", 3600.0)
    monkeypatch.setattr(gitrepo, "HELD_LOCK_WAIT", 60.0)  # a bound, never reached
    real, found = gitrepo.clear_stale_lock, []

    def the_other_git_ends_once_found(path, repo_dirs):
        in_the_way = real(path, repo_dirs)
        if in_the_way is not None and Path(path).resolve() == lock.resolve():
            found.append(in_the_way)
            lock.unlink()
        return in_the_way

    monkeypatch.setattr(gitrepo, "clear_stale_lock", the_other_git_ends_once_found)
    task_id = new_task(orch, "Despite the lock")
    assert [held.stale for held in found] == [False]
    assert subjects(root)[0] == f'orch: add {task_id} "Despite the lock"'
    assert git(root, "status", "--porcelain") == ""


def test_a_damaged_private_git_index_is_rebuilt_from_head(started):
    """orch builds its commits in a git index of its own, kept between commands; if that
    file is damaged (a disk error, a copy cut short), the next commit builds it again
    from HEAD instead of failing, and the user's own index is left as it was."""
    project, orch = started
    root = project.root
    task_id = new_task(orch, "Damaged index")
    private = project.layout.index_dir / "git-index"
    assert private.stat().st_size > 0
    private.write_bytes(b"DIRC\x00\x00\x00\x02 not an index")
    orch("task", "update", task_id, "--priority", "1")
    assert subjects(root)[0] == f'orch: update {task_id} "Damaged index"'
    shown = git(root, "show", f"HEAD:{project.layout.rel(task_file(project, task_id))}")
    assert "priority_level: 1" in shown
    assert git(root, "status", "--porcelain") == ""
    # The shared part of the damaged (split) index cannot be named any more: it is left
    # for git to remove (splitIndex.sharedIndexExpire, two weeks). Only that one.
    assert len(shared_index_files(root)) <= 2


def shared_index_files(root: Path) -> list[Path]:
    return list(Path(git(root, "rev-parse", "--absolute-git-dir")).glob("sharedindex.*"))


def test_a_lost_shared_part_of_the_private_index_is_rebuilt_from_head(started):
    """Someone tidies .git and deletes the sharedindex file orch's private index links
    to: git cannot read the index any more, and the next commit builds it again."""
    project, orch = started
    root = project.root
    task_id = new_task(orch, "Lost shared part")
    orch("task", "update", task_id, "--priority", "2")
    (shared,) = shared_index_files(root)
    shared.unlink()
    orch("task", "update", task_id, "--priority", "3")
    assert subjects(root)[0] == f'orch: update {task_id} "Lost shared part"'
    shown = git(root, "show", f"HEAD:{project.layout.rel(task_file(project, task_id))}")
    assert "priority_level: 3" in shown
    assert git(root, "status", "--porcelain") == ""
    assert len(shared_index_files(root)) == 1


def test_the_private_index_built_again_leaves_no_shared_file_behind(started):
    """orch's private index is split (git keeps its entries in .git/sharedindex.<id>);
    each time HEAD moves by other hands it is built again, and the shared file of the
    one it replaces goes with it: git would keep it two weeks, a full-size file each."""
    project, orch = started
    root = project.root
    task_id = new_task(orch, "Split")
    for n in range(4):
        (root / "notes.txt").write_text(f"theirs {n}\n")
        git(root, "add", "notes.txt")
        git(root, "commit", "-q", "-m", f"their commit {n}")
        orch("task", "update", task_id, "--priority", str(n + 1))
        assert len(shared_index_files(root)) == 1
    for n in range(5):  # orch's own commits, in a project of a few files: none either
        orch("task", "update", task_id, "--title", f"Split {n}")
    assert len(shared_index_files(root)) == 1
    assert (project.layout.index_dir / "git-index").stat().st_size < 4096  # split
    assert git(root, "status", "--porcelain") == ""


def test_a_split_part_grown_large_is_folded_into_a_new_shared_file(started, monkeypatch):
    """Files added by the hundred (an import) land in the split part, which git never
    folds into the shared one (orch tells it not to): past SPLIT_MAX entries the private
    index is built again, and the old shared file goes."""
    from orchestrator.git import private_index

    project, orch = started
    root = project.root
    private = project.layout.index_dir / "git-index"
    orch("task", "add", "First")
    entries = int.from_bytes(private.read_bytes()[8:12], "big")  # of the split part
    monkeypatch.setattr(private_index, "SPLIT_MAX", entries + 2)
    seen = set()
    for n in range(6):
        orch("task", "add", f"Imported {n}")
        (shared,) = shared_index_files(root)  # one at a time
        seen.add(shared.name)
    assert len(seen) > 1  # built again, with a new shared part
    assert git(root, "status", "--porcelain") == ""


def bare_repo(tmp_path: Path, object_format: str, folders: int = 0):
    """A git repository of its own with a few files (and `folders` folders of one file
    each), committed; a Repo on it with a private index."""
    from orchestrator.git.repo import Repo

    root = tmp_path / f"repo-{object_format}"
    subprocess.run(["git", "init", "-q", f"--object-format={object_format}", str(root)],
                   check=True)  # fmt: skip
    for i in range(20):
        (root / f"f{i}.md").write_text(f"{i}\n")
    for i in range(folders):
        (root / f"d{i}").mkdir()
        (root / f"d{i}" / "x.txt").write_text(f"{i}\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "init")
    (root / ".idx").mkdir()
    with open(root / ".git" / "info" / "exclude", "a") as exclude:
        exclude.write(".idx/\n")
    return root, Repo(root, root / ".git", root / ".idx" / "git-index")


@pytest.mark.parametrize("object_format", ["sha1", "sha256"])
def test_the_shared_file_is_found_in_sha1_and_sha256_repositories(tmp_path, object_format):
    """The private index's link to its shared file is read with the repository's id
    length: a SHA-256 repository's rebuild removes its predecessor's shared file too."""
    root, repo = bare_repo(tmp_path, object_format)
    for round in range(3):
        for k in range(3):
            name = f"task-{round}-{k}-with-a-longer-name.md"
            (root / name).write_text(f"new {round} {k}\n")
            repo.commit([name], f"orch {round} {k}")
        (root / "user.txt").write_text(f"{round}\n")  # HEAD moved by other hands
        git(root, "add", "user.txt")
        git(root, "commit", "-q", "-m", "theirs")
        assert len(shared_index_files(root)) <= 1
    assert git(root, "status", "--porcelain") == ""


def test_a_repository_of_many_folders_keeps_its_private_index(tmp_path):
    """git keeps the trees of every folder in the split part of orch's index: a
    repository of thousands of folders must not make each commit build it again."""
    root, repo = bare_repo(tmp_path, "sha1", folders=2500)
    names = set()
    for k in range(4):
        (root / "task.md").write_text(f"{k}\n")
        repo.commit(["task.md"], f"orch {k}")
        (shared,) = shared_index_files(root)
        names.add(shared.name)
    assert len(names) == 1  # one shared part from the first commit on: never rebuilt


def test_files_the_code_repository_ignores_are_not_committed(tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    git(code, "init", "-q")
    (code / ".gitignore").write_text(".task_orchestrator/exports/\n")
    init_project(code)
    orch = Orch(code)
    orch("session", "create", "S")
    (code / ".task_orchestrator" / "exports" / "big.json").write_text("{}")
    (code / ".task_orchestrator" / "roles" / "team.yaml").write_text("# my roles\n")
    orch("sync")
    tracked = git(code, "ls-files").split()
    assert ".task_orchestrator/roles/team.yaml" in tracked
    assert not any("exports" in p for p in tracked)


def test_markers_in_the_frontmatter_are_a_conflict_resolve_can_settle(started):
    project, orch = started
    task_id = new_task(orch, "Lines")
    path = task_file(project, task_id)
    text = path.read_text()
    path.write_text(
        text.replace(
            "title: Lines\n",
            "<<<<<<< ours\ntitle: Lines from us\n||||||| base\ntitle: Lines\n=======\n"
            "title: Lines from them\n>>>>>>> theirs\n",
        )
    )
    [conflict] = orch.json("conflicts")
    assert conflict["record_id"] == task_id and conflict["text_conflict"]
    orch("resolve", task_id, "--strategy", "md_wins")
    assert meta(path)["title"] == "Lines from them"
    assert orch.json("task", "show", task_id)["title"] == "Lines from them"
    assert orch.json("conflicts") == []


def test_the_driver_leaves_unreadable_merges_to_git(tmp_path):
    orch_a, orch_b, a, b, task_id = clone_pair(tmp_path)
    orch_b("git", "install")
    path_b = next(b.glob(f".task_orchestrator/sessions/*/tasks/{task_id}.md"))
    edit(path_b, "title: Shared task", "title: broken: yaml: here")  # B breaks its YAML
    git(b, "commit", "-qam", "broken by hand")
    orch_a("task", "update", task_id, "--title", "Fine title")
    git(b, "fetch", "-q", str(a), "main")
    merge = subprocess.run(
        ["git", "merge", "--no-edit", "FETCH_HEAD"], cwd=b, capture_output=True, text=True
    )
    assert merge.returncode != 0 and "CONFLICT" in merge.stdout
    assert "<<<<<<<" in path_b.read_text()
    [conflict] = orch_b.json("conflicts")
    assert conflict["record_id"] == task_id


def test_a_path_git_cannot_take_does_not_block_later_commits(started, tmp_path):
    project, orch = started
    root = project.root
    set_config(project, "commit: batch\ncommit_window: 3600\n")
    orch("sync")
    task_id = new_task(orch, "Waiting in the batch")
    # Its folder is then moved away and replaced by a symbolic link: git refuses a path
    # beyond a symbolic link, and the pending change names one.
    tasks = task_file(project, task_id).parent
    moved = tmp_path / "tasks-elsewhere"
    tasks.rename(moved)
    tasks.symlink_to(moved)
    result = orch("sync")
    assert "behind a symbolic link" in result.stderr
    assert git(root, "status", "--porcelain", "--untracked-files=no") == ""
    tasks.unlink()
    moved.rename(tasks)
    other = new_task(orch, "Later")
    orch("sync")
    assert subjects(root)[0].startswith("orch: ") and other in git(
        root, "log", "-1", "--format=%b%s"
    )
