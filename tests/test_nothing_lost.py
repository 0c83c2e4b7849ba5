"""Nothing a person or an agent writes is lost in the hostile cases of the commit path:
an editor saving in orch's write-to-commit window or in the instant before its rename, a
write during a stopped rebase or merge, a deliberate edit that undoes an agent's change
(not a stale buffer), and a git lock left by a killed git. Each interleaving is placed
exactly, by running the editor's save at the step it races (no timing), with real git."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import orchestrator.store.files as files
from orchestrator.core.project import Project
from orchestrator.core.subtasks import complete_subtask
from orchestrator.core.tasks import delete_task, update_task
from orchestrator.core.writer import Writer
from orchestrator.errors import RecordError
from orchestrator.git import repo as gitrepo
from orchestrator.git.repo import Repo
from orchestrator.git.syncer import Syncer
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


def test_an_editor_that_saved_during_orchs_write_and_saves_again_keeps_orchs_change(
    started, monkeypatch
):
    """orch merged the editor's save into its write; the editor, not reloaded, saves
    again from its own buffer: that buffer's version is named in orch's commit."""
    project, orch = started
    task_id = new_task(orch, "Write the parser", "--description", "Parse the input.")
    path = task_file(project, task_id)
    first = path.read_text().replace("Parse the input.", "Parse the input.\n\nFirst save.")
    real, saved = files._temp_in, []

    def temp_then_a_save(folder, name, *args, **kwargs):
        tmp = real(folder, name, *args, **kwargs)
        if name == path.name and not saved:
            saved.append(True)
            editor_save(path, first, "by a rename")
        return tmp

    monkeypatch.setattr(files, "_temp_in", temp_then_a_save)
    orch("task", "update", task_id, "--title", "Write the fast parser")
    monkeypatch.undo()
    assert saved and "Orch-Merged: " in git(project.root, "log", "-1", "--format=%b")
    save_again_from_the_same_buffer(project, orch, task_id, path, first)


def test_an_editor_that_saved_just_before_orchs_load_and_saves_again_keeps_orchs_change(
    started, monkeypatch
):
    """The save lands after the command's refresh, before its writer loads the file: orch
    builds on it, and its commit names it, as history never holds it on its own."""
    project, orch = started
    task_id = new_task(orch, "Write the parser", "--description", "Parse the input.")
    path = task_file(project, task_id)
    first = path.read_text().replace("Parse the input.", "Parse the input.\n\nFirst save.")
    real, saved = Project._refresh, []

    def refresh_then_a_save(self, *args, **kwargs):
        report = real(self, *args, **kwargs)
        if not saved:
            saved.append(True)
            path.write_text(first)
        return report

    monkeypatch.setattr(Project, "_refresh", refresh_then_a_save)
    update_task(project, task_id, title="Write the fast parser")
    monkeypatch.undo()
    assert saved and "Orch-Merged: " in git(project.root, "log", "-1", "--format=%b")
    assert "First save." in committed(project, path)
    save_again_from_the_same_buffer(project, orch, task_id, path, first)


def save_again_from_the_same_buffer(project, orch, task_id, path, first) -> None:
    """The editor, not reloaded, saves its first save with one more line: orch's new
    title stays, both saves' lines are kept, and the title was added by one commit."""
    path.write_text(first.replace("First save.", "First save.\n\nSecond save."))
    assert orch.json("task", "show", task_id)["title"] == "Write the fast parser"
    text = path.read_text()
    assert "First save." in text and "Second save." in text
    assert commits_adding(project, path, "title: Write the fast parser") == 1
    assert clean(project)


def test_an_interrupt_while_merging_a_save_taken_out_leaves_the_save_in_place(started, monkeypatch):
    project, orch = started
    task_id = new_task(orch, "Write the parser", "--description", "Parse the input.")
    path = task_file(project, task_id)
    real, saved = files._temp_in, []

    def temp_then_a_save(folder, name, *args, **kwargs):
        tmp = real(folder, name, *args, **kwargs)
        if name == path.name and not saved:
            saved.append(True)
            editor_save(
                path, path.read_text().replace("Parse the input.", "Editor's line."), "by a rename"
            )
        return tmp

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C while merging the save

    monkeypatch.setattr(files, "_temp_in", temp_then_a_save)
    monkeypatch.setattr(Writer, "_merge", interrupted)
    with pytest.raises(KeyboardInterrupt):
        update_task(project, task_id, title="Write the fast parser")
    monkeypatch.undo()
    assert saved and "Editor's line." in path.read_text()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_an_in_place_save_caught_half_way_is_not_merged_as_an_empty_file(started, monkeypatch):
    project, orch = started
    task_id = new_task(orch, "Write the parser", "--description", "Parse the input.")
    path = task_file(project, task_id)
    editor_text = path.read_text().replace("Parse the input.", "Editor's line.")
    real_exchange, real_read, state = files.exchange, files._read_all, {}

    def exchange_while_saving(folder, a, b):
        if b == path.name and "done" not in state:
            state["done"] = state["f"] = open(path, "r+b")  # noqa: SIM115 (held across calls)
            state["f"].truncate(0)  # the editor has truncated, not written yet
        return real_exchange(folder, a, b)

    def read_then_the_editor_writes(fd):
        data = real_read(fd)
        f = state.pop("f", None)
        if f is not None:
            f.write(editor_text.encode())  # into the file it opened
            f.close()
        return data

    monkeypatch.setattr(files, "exchange", exchange_while_saving)
    monkeypatch.setattr(files, "_read_all", read_then_the_editor_writes)
    orch("task", "update", task_id, "--title", "Write the fast parser")
    monkeypatch.undo()
    text = path.read_text()
    assert "Editor's line." in text and "title: Write the fast parser" in text
    assert "<<<<<<<" not in text
    assert committed(project, path) == text


def test_a_file_caught_empty_by_orchs_load_is_read_again_once_the_editor_wrote_it(
    started, monkeypatch
):
    import orchestrator.core.writer as record_file

    project, orch = started
    task_id = new_task(orch, "Write the parser", "--description", "Parse the input.")
    path = task_file(project, task_id)
    editor_text = path.read_text().replace("Parse the input.", "Editor's line.")
    real_refresh, real_parse, calls = Project._refresh, record_file.parse_record, []

    def refresh_then_a_truncation(self, *args, **kwargs):
        report = real_refresh(self, *args, **kwargs)
        path.write_text("")  # an in-place save has truncated the file
        return report

    def parse_then_the_editor_writes(*args, **kwargs):
        parsed = real_parse(*args, **kwargs)
        if not calls:
            calls.append(True)
            path.write_text(editor_text)  # and writes, a moment later
        return parsed

    monkeypatch.setattr(Project, "_refresh", refresh_then_a_truncation)
    monkeypatch.setattr(record_file, "parse_record", parse_then_the_editor_writes)
    update_task(project, task_id, title="Write the fast parser")
    monkeypatch.undo()
    text = path.read_text()
    assert "Editor's line." in text and "title: Write the fast parser" in text


def test_doctor_lists_a_temporary_file_an_orch_killed_mid_write_left(started):
    project, orch = started
    task_id = new_task(orch, "Write the parser")
    path = task_file(project, task_id)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    left = path.with_name(f".{path.name}.{dead}.a1b2c3.tmp")
    left.write_text(path.read_text() + "\nA save taken out of its place.\n")
    mine = path.with_name(f".{path.name}.{os.getpid()}.a1b2c3.tmp")  # a live writer's
    mine.write_text("in progress")
    out = orch("doctor").stdout  # a warning: the check still passes
    assert f"{left.name}: left by an orch process killed while writing" in out
    assert f"compare it with {path.name}" in out
    assert mine.name not in out
    assert left.exists()  # shown, never removed by orch


def test_a_new_file_appearing_in_the_instant_before_leaves_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "t.md"
    real = files._temp_in

    def temp_then_theirs(folder, name, *args, **kwargs):
        tmp = real(folder, name, *args, **kwargs)
        path.write_text("theirs")
        return tmp

    monkeypatch.setattr(files, "_temp_in", temp_then_theirs)
    assert files.replace_checked(path, b"ours", None, None) == b"theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["t.md"]
    assert path.read_bytes() == b"theirs"


def test_a_folder_put_in_a_files_place_is_left_where_it_is(tmp_path):
    path = tmp_path / "t.md"
    path.write_bytes(b"old")
    held, current = files.read_held(path)
    path.unlink()
    path.mkdir()
    (path / "important.txt").write_text("keep me")
    with pytest.raises(IsADirectoryError):
        files.replace_checked(path, b"ours", held, current)
    assert (path / "important.txt").read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["t.md"]


def test_a_file_deleted_after_an_editor_save_in_the_instant_before_is_kept(started, monkeypatch):
    project, orch = started
    task_id = new_task(orch, "Write the parser")
    path = task_file(project, task_id)
    real = files.remove_checked

    def save_then_remove(target, held, expected, *args):
        path.write_text(path.read_text() + "\nEditor's line.\n")
        return real(target, held, expected, *args)

    monkeypatch.setattr("orchestrator.core.writer.remove_checked", save_then_remove)
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


def test_a_stale_buffer_that_also_changed_a_line_the_agent_changed_is_merged_as_a_conflict(
    started,
):
    project, orch = started
    task_id = new_task(orch, "Write the parser", "--description", "Parse the input.")
    path = task_file(project, task_id)
    buffer = path.read_text()  # opened before the agent worked (status: pending)
    orch("task", "start", task_id)
    complete_subtask(project, task_id, "Parser written; 40 tests.")
    stale = buffer.replace("status: pending", "status: blocked")
    path.write_text(stale.replace("Parse the input.", "Parse the input.\n\nWaiting on the spec."))
    orch("task", "show", task_id)
    text = path.read_text()
    assert "Parser written; 40 tests." in text  # the agent's Results stay
    assert "Waiting on the spec." in text  # and the person's line
    conflicts = orch.json("conflicts")
    assert [c["fields"] for c in conflicts if c["record_id"] == task_id] == [["status"]]


def test_a_save_landing_while_a_stale_buffer_is_merged_is_merged_too(started, monkeypatch):
    import orchestrator.git.stale as merge_module  # where the stale merge calls merge_texts

    project, orch = started
    task_id = new_task(orch, "Write the parser", "--description", "Parse the input.")
    path = task_file(project, task_id)
    buffer = path.read_text()
    orch("task", "start", task_id)
    orch("task", "done", task_id)
    first = buffer.replace("Parse the input.", "Parse the input.\n\nFirst save.")
    path.write_text(first)  # the stale buffer, saved
    real, saved = merge_module.merge_texts, []

    def merge_then_a_save(*args, **kwargs):
        result = real(*args, **kwargs)
        if not saved:  # the person saves again, one more line, while orch merges
            saved.append(True)
            path.write_text(first.replace("First save.", "First save.\n\nSecond save."))
        return result

    monkeypatch.setattr(merge_module, "merge_texts", merge_then_a_save)
    shown = orch.json("task", "show", task_id)
    monkeypatch.undo()
    assert saved and shown["status"] == "completed"
    text = path.read_text()
    assert "Second save." in text and "status: completed" in text
    assert committed(project, path) == text


def test_a_stale_save_indexed_by_a_process_killed_before_it_synced_is_still_merged(
    started, monkeypatch
):
    project, orch = started
    task_id = new_task(orch, "Write the parser", "--description", "Parse the input.")
    path = task_file(project, task_id)
    buffer = path.read_text()
    orch("task", "done", task_id)
    path.write_text(buffer.replace("Parse the input.", "Parse the input and comments."))

    def killed(self, *args, **kwargs):
        raise SystemExit(137)  # the process dies after indexing the save, before syncing it

    monkeypatch.setattr(Syncer, "outside", killed)
    with pytest.raises(SystemExit), Project(project.root).reading():
        pass
    monkeypatch.undo()
    shown = orch.json("task", "show", task_id)  # the next command
    assert shown["status"] == "completed"
    text = path.read_text()
    assert "Parse the input and comments." in text and "status: completed" in text
    assert committed(project, path) == text


def test_a_second_save_from_a_buffer_whose_first_save_was_merged_is_merged_too(started):
    """The editor does not reload after orch merged its stale save: its next save starts
    from its own first save, which the merge commit names (Orch-Merged) though it never
    was a version of its own."""
    project, orch = started
    task_id = new_task(orch, "Write the parser", "--description", "Parse the input.")
    path = task_file(project, task_id)
    buffer = path.read_text()
    orch("task", "done", task_id)
    first = buffer.replace("Parse the input.", "Parse the input.\n\nFirst save.")
    path.write_text(first)
    orch("task", "list")  # merged: completed and "First save."
    assert "Orch-Merged: " in git(project.root, "log", "-1", "--format=%b")
    path.write_text(first.replace("First save.", "First save.\n\nSecond save."))
    shown = orch.json("task", "show", task_id)
    assert shown["status"] == "completed"
    text = path.read_text()
    assert "First save." in text and "Second save." in text and "status: completed" in text
    assert commits_adding(project, path, "status: completed") == 1
    assert clean(project)


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


def left_by_a_killed_git(lock: Path) -> None:
    """A lock file as a git killed while holding it leaves it, some seconds ago (the
    lock's age is set, not waited for)."""
    lock.write_bytes(b"")
    past = time.time() - 10 * gitrepo.STALE_LOCK_AGE
    os.utime(lock, (past, past))


@pytest.mark.parametrize(
    "which",
    [private_lock, user_lock, branch_lock],
    ids=["orch's index", "your index", "the branch"],
)
def test_a_lock_left_by_a_killed_git_does_not_stop_later_commits(started, which):
    project, orch = started
    lock = which(project)
    left_by_a_killed_git(lock)
    task_id = new_task(orch, "After the kill")
    assert subjects(project.root)[0] == f'orch: add {task_id} "After the kill"'
    assert not lock.exists()
    assert clean(project)
    assert git(project.root, "diff", "--cached", "--name-only") == ""


@pytest.fixture
def users_commit(started):
    """The user's `git commit -a` of their own code, waiting in its editor: git holds
    .git/index.lock meanwhile, without keeping the file open."""
    project, _ = started
    root = project.root
    (root / "code.txt").write_text("one\n")
    git(root, "add", "code.txt")
    git(root, "commit", "-qm", "code")
    (root / "code.txt").write_text("two\n")
    editor = root.parent / "editor.py"
    editor.write_text(
        "import sys\nsys.stdin.read()\nopen(sys.argv[1], 'w').write('The user commits\\n')\n"
    )
    process = subprocess.Popen(
        ["git", "commit", "-a"],
        cwd=root,
        env={**os.environ, "GIT_EDITOR": f"{sys.executable} {editor}"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    lock = user_lock(project)
    deadline = time.monotonic() + 60
    while not lock.exists():  # git has taken its lock and started the editor
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    past = time.time() - 10 * gitrepo.STALE_LOCK_AGE
    os.utime(lock, (past, past))  # however long the user takes over the message
    yield process
    if process.poll() is None:
        process.communicate(b"")


def test_a_lock_a_live_git_holds_is_never_removed_and_the_change_waits_for_it(
    started, users_commit, monkeypatch
):
    project, orch = started
    monkeypatch.setattr(gitrepo, "HELD_LOCK_WAIT", 0.0)
    lock = user_lock(project)
    result = orch("task", "add", "While the user commits")
    assert lock.exists()  # the user's commit keeps its lock
    assert f"held by git process {users_commit.pid}" in result.stderr
    assert subjects(project.root)[0] == "code"  # not committed yet
    doctor = orch("doctor", code=1).stdout
    assert "index.lock: held by git process" in doctor
    assert "1 sync(s) of" in doctor and "wait for their commit" in doctor
    sync = orch("sync", code=1)
    assert "still wait for their commit" in sync.stdout
    _out, err = users_commit.communicate(b"")  # the user writes the message: git commits
    assert users_commit.returncode == 0, err
    assert subjects(project.root)[0] == "The user commits"
    orch("task", "list")  # the next command, a read, commits what waited
    assert subjects(project.root)[0].startswith("orch: add t-")
    assert subjects(project.root)[1] == "The user commits"
    assert clean(project)
    assert orch("doctor").stdout.strip() == "No problems found."


def a_moment_is_an_hour(monkeypatch) -> None:
    """A lock written just now stays younger than STALE_LOCK_AGE however slow the machine
    (with its 2 s, a loaded one could take that long to reach the lock)."""
    monkeypatch.setattr(gitrepo, "STALE_LOCK_AGE", 3600.0)


def test_a_lock_of_a_moment_ago_is_waited_for_not_removed(started, monkeypatch):
    project, orch = started
    monkeypatch.setattr(gitrepo, "HELD_LOCK_WAIT", 0.0)
    a_moment_is_an_hour(monkeypatch)
    lock = private_lock(project)
    lock.write_bytes(b"")  # as a git that may still be working leaves it, just now
    os.utime(lock, (time.time(), time.time()))
    result = orch("task", "add", "Next")
    assert lock.exists()
    assert "left by a git process" in result.stderr
    left_by_a_killed_git(lock)  # seconds later, and no git works in the repository
    orch("task", "list")
    assert not lock.exists() and clean(project)
    assert subjects(project.root)[0].startswith("orch: add t-")


def test_sync_in_batch_mode_that_cannot_commit_says_so_and_exits_1(started, monkeypatch):
    project, orch = started
    config = project.layout.config_file
    config.write_text(config.read_text().replace("commit: every-sync", "commit: batch"))
    orch("task", "add", "Pending")
    monkeypatch.setattr(gitrepo, "HELD_LOCK_WAIT", 0.0)
    a_moment_is_an_hour(monkeypatch)
    lock = private_lock(project)
    lock.write_bytes(b"")  # a git working a moment ago
    result = orch("sync", code=1)
    assert "still wait for their commit (see the warning)" in result.stdout
    assert "left by a git process" in result.stderr


def test_doctor_reports_a_lock_whose_owner_is_gone(started):
    project, orch = started
    lock = user_lock(project)
    left_by_a_killed_git(lock)
    out = orch("doctor").stdout  # a warning: it does not fail the check
    assert "index.lock: a lock left by a git process that was killed" in out
    orch("task", "add", "Next")
    assert not lock.exists()
