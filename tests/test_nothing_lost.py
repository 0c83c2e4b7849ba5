"""Nothing a person or an agent writes is lost in the hostile cases of the commit path:
an editor saving in orch's write-to-commit window or in the instant before its rename, a
write during a stopped rebase or merge, a deliberate edit that undoes an agent's change
(not a stale buffer), and a git lock left by a killed git. Each interleaving is placed
exactly, by running the editor's save at the step it races (no timing), with real git."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import orchestrator.store.files as files
from orchestrator import gitrepo
from orchestrator.core.project import Project
from orchestrator.core.tasks import delete_task
from orchestrator.core.workflow import complete_subtask
from orchestrator.errors import RecordError
from orchestrator.gitrepo import Repo
from tests.conftest import Orch, task_file
from tests.test_sync import git, meta, new_task, subjects


@pytest.fixture
def started(sqlite_project) -> tuple[Project, Orch]:
    orch = Orch(sqlite_project.root)
    orch("session", "create", "Payments")
    return sqlite_project, orch


def rel_in_git(project: Project, path: Path) -> str:
    return path.relative_to(project.root).as_posix()


def committed(project: Project, path: Path, rev: str = "HEAD") -> str:
    done = subprocess.run(
        ["git", "show", f"{rev}:{rel_in_git(project, path)}"],
        cwd=project.root,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def clean(project: Project) -> bool:
    return git(project.root, "status", "--porcelain", "--", ".task_orchestrator") == ""


def commits_adding(project: Project, path: Path, line: str) -> int:
    """How many commits of the history add `line` to the file."""
    log = git(
        project.root, "log", "-p", "--format=tformat:@@commit", "--", rel_in_git(project, path)
    )
    count = 0
    for chunk in log.split("@@commit")[1:]:
        count += any(row == f"+{line}" for row in chunk.splitlines())
    return count


# -- 1. an editor's save in orch's write-to-commit window ------------------------------------


def test_an_editor_save_before_orchs_commit_leaves_orchs_change_in_its_commit(started, monkeypatch):
    project, orch = started
    task_id = new_task(orch, "Write the parser", "--description", "Parse the input.")
    path = task_file(project, task_id)
    buffer = path.read_text()  # an editor holds this copy
    real, saved = Repo.commit, []

    def commit_after_a_save(self, paths, *args, **kwargs):
        if not saved:  # the editor saves its copy after orch wrote the file
            saved.append(True)
            path.write_text(
                buffer.replace("Parse the input.", "Parse the input.\n\nEditor's line.")
            )
        return real(self, paths, *args, **kwargs)

    monkeypatch.setattr(Repo, "commit", commit_after_a_save)
    orch("task", "update", task_id, "--title", "Write the fast parser")
    monkeypatch.undo()
    assert saved
    assert subjects(project.root)[0] == f'orch: update {task_id} "Write the fast parser"'
    head = committed(project, path)
    assert "title: Write the fast parser" in head  # the commit holds what orch wrote
    assert "Editor's line." not in head
    assert git(project.root, "diff", "--cached", "--name-only") == ""  # nor staged stale
    # The save is an edit for the next command: a stale buffer, merged with orch's change.
    shown = orch.json("task", "show", task_id)
    assert shown["title"] == "Write the fast parser"
    text = path.read_text()
    assert "title: Write the fast parser" in text and "Editor's line." in text
    assert clean(project)
    assert commits_adding(project, path, "title: Write the fast parser") == 1
    assert commits_adding(project, path, "Editor's line.") == 1


def test_an_editor_save_before_a_commit_kept_pending_is_not_what_gets_committed(
    started, monkeypatch
):
    project, orch = started
    config = project.layout.config_file
    config.write_text(config.read_text().replace("commit: every-sync", "commit: batch"))
    task_id = new_task(orch, "Write the parser")
    orch("sync")  # the task as created is committed; the editor opens it
    path = task_file(project, task_id)
    buffer = path.read_text()
    real, saved = Repo.commit, []

    def commit_after_a_save(self, paths, *args, **kwargs):
        if not saved:
            saved.append(True)
            path.write_text(buffer + "\nEditor's line.\n")
        return real(self, paths, *args, **kwargs)

    orch("task", "update", task_id, "--title", "Write the fast parser")  # pending (batch)
    monkeypatch.setattr(Repo, "commit", commit_after_a_save)
    orch("sync")
    monkeypatch.undo()
    assert saved
    assert "title: Write the fast parser" in committed(project, path)
    orch("sync")
    text = path.read_text()
    assert "title: Write the fast parser" in text and "Editor's line." in text
    assert clean(project)


def editor_save(path: Path, text: str, how: str) -> None:
    if how == "by a rename":  # most editors: a new file renamed over the old one
        tmp = path.with_name(".editor-swap")
        tmp.write_text(text)
        tmp.replace(path)
    else:  # vi with backupcopy, sed -i on some systems, `>` in a shell
        with open(path, "r+") as f:
            f.write(text)
            f.truncate()


@pytest.mark.parametrize("how", ["by a rename", "in place"])
def test_a_save_in_the_instant_before_orchs_rename_is_merged_not_overwritten(
    started, monkeypatch, how
):
    project, orch = started
    task_id = new_task(orch, "Write the parser", "--description", "Parse the input.")
    path = task_file(project, task_id)
    real, saved = getattr(files, "_temp_in", None), []

    def temp_then_a_save(folder, name, *args, **kwargs):
        tmp = real(folder, name, *args, **kwargs)
        if name == path.name and not saved:  # orch has checked the file; the editor saves
            saved.append(True)
            editor_save(path, path.read_text().replace("Parse the input.", "Editor's line."), how)
        return tmp

    monkeypatch.setattr(files, "_temp_in", temp_then_a_save, raising=False)
    orch("task", "update", task_id, "--title", "Write the fast parser")
    monkeypatch.undo()
    assert saved
    text = path.read_text()
    assert "title: Write the fast parser" in text
    assert "Editor's line." in text and "Parse the input." not in text
    assert committed(project, path) == text
    assert clean(project)


def test_a_file_deleted_after_an_editor_save_in_the_instant_before_is_kept(started, monkeypatch):
    project, orch = started
    task_id = new_task(orch, "Write the parser")
    path = task_file(project, task_id)
    real = files.remove_checked

    def save_then_remove(target, held, expected, *args):
        path.write_text(path.read_text() + "\nEditor's line.\n")
        return real(target, held, expected, *args)

    monkeypatch.setattr("orchestrator.core.project.remove_checked", save_then_remove)
    with pytest.raises(RecordError, match="was edited while orch was deleting it"):
        delete_task(project, task_id)
    assert "Editor's line." in path.read_text()


# -- 2. a write while git is stopped half-way ------------------------------------------------


def stop_a_rebase(root: Path) -> None:
    """A real `git rebase` of a topic branch, stopped by a conflict in the user's code."""
    (root / "code.txt").write_text("base\n")
    git(root, "add", "code.txt")
    git(root, "commit", "-qm", "code")
    main = git(root, "rev-parse", "--abbrev-ref", "HEAD")
    git(root, "checkout", "-qb", "topic")
    (root / "code.txt").write_text("topic\n")
    git(root, "commit", "-qam", "topic")
    git(root, "checkout", "-q", main)
    (root / "code.txt").write_text("main\n")
    git(root, "commit", "-qam", "main")
    git(root, "checkout", "-q", "topic")
    git(root, "rebase", main, check=False)  # stops: both changed code.txt
    assert (Path(git(root, "rev-parse", "--absolute-git-dir")) / "rebase-merge").is_dir()


def test_a_change_during_a_stopped_rebase_is_refused_not_thrown_away_by_the_abort(started):
    project, orch = started
    task_id = new_task(orch, "Write the parser")
    path = task_file(project, task_id)
    stop_a_rebase(project.root)
    result = orch("task", "update", task_id, "--title", "During the rebase", code=1)
    assert "git is in the middle of a rebase" in result.stderr
    assert "git rebase --abort" in result.stderr
    assert meta(path)["title"] == "Write the parser"  # nothing written that the abort resets
    git(project.root, "rebase", "--abort")
    orch("task", "update", task_id, "--title", "After the rebase")
    assert meta(path)["title"] == "After the rebase"
    assert "title: After the rebase" in committed(project, path)
    assert clean(project)


def test_a_read_during_a_stopped_rebase_still_answers(started):
    project, orch = started
    task_id = new_task(orch, "Write the parser")
    stop_a_rebase(project.root)
    assert orch.json("task", "show", task_id)["title"] == "Write the parser"


# -- 3. a deliberate edit is not a stale buffer ----------------------------------------------


def test_a_fresh_edit_that_undoes_an_agents_results_is_kept(started):
    project, orch = started
    task_id = new_task(orch, "Write the parsre")
    orch("task", "start", task_id)
    complete_subtask(project, task_id, "Parser written; 40 tests.")
    path = task_file(project, task_id)
    current = path.read_text()  # the person opens the current file
    assert "## Results" in current and "status: completed" in current
    body_start = current.index("## Results")
    mine = current[:body_start].rstrip() + "\n"  # deletes the Results the agent wrote,
    mine = mine.replace("status: completed", "status: in_progress")  # reopens the task,
    mine = mine.replace("Write the parsre", "Write the parser")  # and fixes a typo
    path.write_text(mine)
    shown = orch.json("task", "show", task_id)
    assert shown["status"] == "in_progress"
    assert shown["title"] == "Write the parser"
    assert path.read_text() == mine  # nothing re-inserted
    assert committed(project, path) == mine
    assert subjects(project.root)[0].startswith("orch: edit")


def test_a_stale_buffer_from_two_versions_back_is_still_merged(started):
    project, orch = started
    task_id = new_task(orch, "Write the parser", "--description", "Parse the input.")
    path = task_file(project, task_id)
    buffer = path.read_text()  # opened before the agent's two steps
    orch("task", "start", task_id)
    orch("task", "done", task_id)
    path.write_text(buffer.replace("Parse the input.", "Parse the input and comments."))
    shown = orch.json("task", "show", task_id)
    assert shown["status"] == "completed"
    assert "Parse the input and comments." in path.read_text()


# -- 4. a git lock left by a killed git ------------------------------------------------------


def private_lock(project: Project) -> Path:
    return project.layout.index_dir / "git-index.lock"


def user_lock(project: Project) -> Path:
    return Path(git(project.root, "rev-parse", "--absolute-git-dir")) / "index.lock"


def branch_lock(project: Project) -> Path:
    git_dir = Path(git(project.root, "rev-parse", "--absolute-git-dir"))
    return git_dir / f"{git(project.root, 'symbolic-ref', 'HEAD')}.lock"


@pytest.mark.parametrize(
    "which",
    [private_lock, user_lock, branch_lock],
    ids=["orch's index", "your index", "the branch"],
)
def test_a_lock_left_by_a_killed_git_does_not_stop_later_commits(started, which):
    project, orch = started
    lock = which(project)
    lock.write_bytes(b"")  # what a git killed while it held the index leaves
    task_id = new_task(orch, "After the kill")
    assert subjects(project.root)[0] == f'orch: add {task_id} "After the kill"'
    assert not lock.exists()
    assert clean(project)
    assert git(project.root, "diff", "--cached", "--name-only") == ""


@pytest.fixture
def holder(tmp_path):
    """A live process holding a file open (as a running git holds its lock)."""
    started = []

    def hold(path: Path) -> subprocess.Popen:
        code = (
            "import sys; f = open(sys.argv[1], 'ab'); print('held', flush=True); sys.stdin.read()"
        )
        process = subprocess.Popen(
            [sys.executable, "-c", code, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        assert process.stdout.readline() == b"held\n"
        started.append(process)
        return process

    yield hold
    for process in started:
        process.communicate(b"")


def test_a_held_lock_is_reported_and_the_change_committed_once_it_is_let_go(
    started, monkeypatch, holder
):
    project, orch = started
    monkeypatch.setattr(gitrepo, "HELD_LOCK_WAIT", 0.0)
    lock = private_lock(project)
    process = holder(lock)
    result = orch("task", "add", "While it is held")
    assert f"held by process {process.pid}" in result.stderr
    assert subjects(project.root)[0].startswith("orch: create s-")  # not committed yet
    doctor = orch("doctor", code=1).stdout
    assert "git-index.lock: held by" in doctor
    assert "1 sync(s) of" in doctor and "wait for their commit" in doctor
    sync = orch("sync", code=1)
    assert "still wait for their commit" in sync.stdout
    process.communicate(b"")  # the git command ends; its lock stays behind
    orch("task", "list")  # the next command, a read, commits what waited
    assert subjects(project.root)[0].startswith("orch: add t-")
    assert not lock.exists() and clean(project)
    assert orch("doctor").stdout.strip() == "No problems found."


def test_doctor_reports_a_lock_whose_owner_is_gone(started):
    project, orch = started
    lock = user_lock(project)
    lock.write_bytes(b"")
    out = orch("doctor").stdout  # a warning: it does not fail the check
    assert "index.lock: a lock left by a git process that was killed" in out
    orch("task", "add", "Next")
    assert not lock.exists()
