"""Broken files never reach git: a record that does not parse or validate stays out of
orch's commits, byte for byte as the person left it, named by `orch status` and `orch
doctor`, and is committed by the first sync after it is fixed (issue 17, items 1, 2, 7
and 8). Written against the CLI and plain files, so that each test also runs on the
code from before the fix (where it fails)."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Orch

TITLE = "Write the parser"


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def committed(root: Path, rel: str) -> bytes:
    return subprocess.run(
        ["git", "show", f"HEAD:{rel}"], cwd=root, capture_output=True, check=True
    ).stdout


def dirty(root: Path) -> dict[str, str]:
    """path -> `git status` code of what is not committed under .task_orchestrator/."""
    out = git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", ".")
    return {e[3:]: e[:2] for e in out.split("\0") if len(e) > 3}


def subjects(root: Path) -> list[str]:
    return git(root, "log", "--format=%s").splitlines()


def added(orch: Orch, title: str) -> str:
    return re.search(r"\bt-[0-9a-f]+", orch("task", "add", title).stdout).group()


def rel_of(root: Path, task_id: str) -> str:
    (path,) = root.glob(f".task_orchestrator/sessions/*/tasks/{task_id}.md")
    return path.relative_to(root).as_posix()


@pytest.fixture
def started(sqlite_project):
    """A project with an active session and one task (every change committed)."""
    orch = Orch(sqlite_project.root)
    orch("session", "create", "Sprint")
    task_id = added(orch, TITLE)
    return sqlite_project.root, orch, task_id


def broken_lines(status_out: str) -> list[str]:
    """The lines `orch status` names broken files with."""
    return [line.strip() for line in status_out.splitlines() if ".task_orchestrator/" in line]


def break_title(text: str) -> str:
    return text.replace(f"title: {TITLE}", "title: Smoke: test")


def duplicate_key(text: str) -> str:
    return text.replace("status: pending\n", "status: pending\nstatus: in_progress\n")


def drop_title(text: str) -> str:
    return text.replace(f"title: {TITLE}\n", "")


# how a file is broken, what the problem says, and how the person fixes it
BREAKAGES = {
    "unquoted colon": (
        break_title,
        "YAML error",
        lambda t: t.replace("Smoke: test", '"Smoke: test"'),
    ),
    "key twice": (duplicate_key, "written twice", lambda t: t.replace("status: pending\n", "", 1)),
    "no title": (
        drop_title,
        "title is missing",
        lambda t: t.replace("status:", "title: Back\nstatus:"),
    ),
}


@pytest.mark.parametrize("hooks", [False, True], ids=["no hooks", "hooks installed"])
@pytest.mark.parametrize("how", sorted(BREAKAGES))
def test_a_broken_record_stays_out_of_orchs_commits_until_it_is_fixed(started, how, hooks):
    root, orch, task_id = started
    if hooks:
        orch("hooks", "install")
    breaking, said, fixing = BREAKAGES[how]
    rel = rel_of(root, task_id)
    path = root / rel
    text = breaking(path.read_text(encoding="utf-8"))
    path.write_text(text, encoding="utf-8")
    before = head(root)

    status = orch("status")
    orch("task", "list")
    assert head(root) == before, "orch committed the broken file"
    assert path.read_bytes() == text.encode(), "the file is as the person left it"
    assert dirty(root) == {rel: " M"}
    # Named by status as the doctor names it, not counted in a warning.
    named = broken_lines(status.stdout)
    assert named and all(line.startswith(f"{rel}") and said in line for line in named[:1])
    assert " — " in named[0]
    assert "could not be read" not in status.stderr
    doctor = orch("doctor", code=1).stdout.splitlines()
    assert named[0] in doctor

    fixed = fixing(text)
    path.write_text(fixed, encoding="utf-8")
    orch("task", "list")
    assert committed(root, rel) == fixed.encode(), "the first sync after the fix commits it"
    assert subjects(root)[0].startswith(f"orch: edit {task_id}")
    assert dirty(root) == {}
    assert broken_lines(orch("status").stdout) == []


def test_a_file_not_named_by_an_id_stays_out_until_renamed(started):
    root, orch, task_id = started
    rel = rel_of(root, task_id)
    draft = Path(rel).with_name("my task.md").as_posix()
    text = (root / rel).read_text(encoding="utf-8").replace(task_id, "t-0a1b2c3d")
    (root / draft).write_text(text, encoding="utf-8")
    before = head(root)
    status = orch("status")
    assert head(root) == before
    assert dirty(root) == {draft: "??"}
    assert any(line.startswith(f"{draft}: the file name") for line in broken_lines(status.stdout))
    os.rename(root / draft, root / Path(rel).with_name("t-0a1b2c3d.md"))
    orch("task", "list")
    assert committed(root, Path(rel).with_name("t-0a1b2c3d.md").as_posix()) == text.encode()
    assert dirty(root) == {}


def _repo_class():
    try:
        from orchestrator.git.repo import Repo
    except ImportError:  # the code from before the fix
        from orchestrator.gitrepo import Repo  # type: ignore[no-redef]
    return Repo


def test_a_file_broken_between_the_check_and_the_commit_is_not_what_is_committed(
    started, monkeypatch
):
    root, orch, task_id = started
    rel = rel_of(root, task_id)
    path = root / rel
    good = path.read_text(encoding="utf-8").replace("priority_level: 3", "priority_level: 1")
    path.write_text(good, encoding="utf-8")
    bad = break_title(good)
    Repo = _repo_class()
    real_commit = Repo.commit

    def breaking_first(self, *args, **kwargs):
        monkeypatch.setattr(Repo, "commit", real_commit)
        path.write_text(bad, encoding="utf-8")  # the person saves again, broken, just now
        return real_commit(self, *args, **kwargs)

    monkeypatch.setattr(Repo, "commit", breaking_first)
    orch("task", "list")
    assert committed(root, rel) == good.encode(), "the commit holds the bytes that were checked"
    assert path.read_bytes() == bad.encode()
    after = head(root)
    orch("task", "list")
    orch("status")
    assert head(root) == after and dirty(root) == {rel: " M"}


def test_a_broken_file_deleted_afterwards_commits_the_deletion(started):
    root, orch, task_id = started
    rel = rel_of(root, task_id)
    path = root / rel
    path.write_text(break_title(path.read_text(encoding="utf-8")), encoding="utf-8")
    new = Path(rel).with_name("t-00c0ffee.md")
    (root / new).write_text("---\ntitle: Half: written\n---\n", encoding="utf-8")
    before = head(root)
    orch("status")
    assert head(root) == before
    path.unlink()
    (root / new).unlink()  # never committed: nothing to say about it
    orch("task", "list")
    assert subjects(root)[0].startswith(f"orch: delete {task_id}")
    assert git(root, "log", "-1", "--format=%(trailers:key=Orch-Op,valueonly)").strip() == "delete"
    assert dirty(root) == {}
    index = root / ".task_orchestrator" / ".index"
    assert not (index / "held.json").exists() and not (index / "pending.json").exists()


def test_a_file_fixed_back_to_its_committed_bytes_leaves_nothing_to_commit_or_hold(started):
    root, orch, task_id = started
    path = root / rel_of(root, task_id)
    original = path.read_bytes()
    path.write_text(duplicate_key(original.decode()), encoding="utf-8")
    before = head(root)
    orch("status")
    path.write_bytes(original)
    orch("task", "list")
    orch("sync")
    assert head(root) == before
    assert dirty(root) == {}
    index = root / ".task_orchestrator" / ".index"
    assert not (index / "held.json").exists() and not (index / "pending.json").exists()
    assert broken_lines(orch("status").stdout) == []


def test_a_session_md_with_broken_frontmatter_is_left_as_written_while_orch_works(started):
    root, orch, task_id = started
    (session_md,) = root.glob(".task_orchestrator/sessions/*/session.md")
    rel = session_md.relative_to(root).as_posix()
    text = session_md.read_text(encoding="utf-8").replace("name: Sprint", "name: Sprint: one")
    session_md.write_text(text, encoding="utf-8")
    was = committed(root, rel)
    orch("task", "start", task_id)
    orch("task", "done", task_id)
    orch("sync")
    assert committed(root, rel) == was, "no commit took the broken session.md"
    assert session_md.read_bytes() == text.encode()
    assert dirty(root) == {rel: " M"}
    fixed = text.replace("name: Sprint: one", "name: 'Sprint: one'")
    session_md.write_text(fixed, encoding="utf-8")
    orch("sync")
    assert b"name: 'Sprint: one'" in committed(root, rel)
    assert dirty(root) == {}


def test_many_broken_files_at_once_and_a_good_edit_beside_them(started):
    root, orch, task_id = started
    rel = rel_of(root, task_id)
    folder = (root / rel).parent
    for n in range(12):
        (folder / f"draft {n:02}.md").write_text(f"---\ntitle: Draft {n}\n---\n", encoding="utf-8")
    good = (
        (root / rel).read_text(encoding="utf-8").replace("priority_level: 3", "priority_level: 2")
    )
    (root / rel).write_text(good, encoding="utf-8")
    status = orch("status")
    assert committed(root, rel) == good.encode(), "the good edit is committed"
    assert git(root, "ls-files", "--", str(folder.relative_to(root))).split() == [rel]
    assert len(dirty(root)) == 12
    assert "12 broken file(s)" in status.stdout
    assert len(broken_lines(status.stdout)) == 10 and "and 2 more" in status.stdout


def test_batch_mode_commits_the_checked_edit_not_the_breakage_that_followed(started):
    root, orch, task_id = started
    config = root / ".task_orchestrator" / "config.yaml"
    config.write_text(config.read_text().replace("commit: every-sync", "commit: batch"))
    orch("task", "list")
    rel = rel_of(root, task_id)
    path = root / rel
    good = path.read_text(encoding="utf-8").replace("priority_level: 3", "priority_level: 1")
    path.write_text(good, encoding="utf-8")
    orch("task", "list")  # the edit waits for the batch
    bad = break_title(good)
    path.write_text(bad, encoding="utf-8")
    orch("sync")
    assert committed(root, rel) == good.encode()
    assert path.read_bytes() == bad.encode() and dirty(root) == {rel: " M"}


def test_changes_a_git_hook_held_are_committed_without_the_broken_ones(started):
    root, orch, task_id = started
    other = added(orch, "Test the parser")
    good_rel, bad_rel = rel_of(root, task_id), rel_of(root, other)
    good = (root / good_rel).read_text().replace("priority_level: 3", "priority_level: 4")
    (root / good_rel).write_text(good)
    bad = (root / bad_rel).read_text().replace("title: Test the parser", "title: Test: it")
    (root / bad_rel).write_text(bad)
    before = head(root)
    orch("hooks", "run", "post-checkout", "0" * 40, "0" * 40, "1")
    assert head(root) == before, "a hook commits nothing"
    orch("task", "list")
    assert committed(root, good_rel) == good.encode()
    assert dirty(root) == {bad_rel: " M"}
    assert not (root / ".task_orchestrator" / ".index" / "held.json").exists()


# -- item 2: an edit that puts the old mtime back --------------------------------------


def test_a_same_size_edit_with_its_old_mtime_put_back_is_seen(started):
    root, orch, task_id = started
    path = root / rel_of(root, task_id)
    long_ago = 1_600_000_000_000_000_000
    os.utime(path, ns=(long_ago, long_ago))
    assert TITLE in orch("task", "show", task_id).stdout  # indexed with the old mtime
    with open(path, "r+b") as f:  # in place: same inode, same size
        data = f.read()
        f.seek(0)
        f.write(data.replace(TITLE.encode(), TITLE.upper().encode()))
    os.utime(path, ns=(long_ago, long_ago))
    assert TITLE.upper() in orch("task", "show", task_id).stdout


def test_an_index_that_still_compares_mtimes_is_rebuilt_not_trusted(started):
    root, orch, task_id = started
    index = root / ".task_orchestrator" / ".index" / "index.sqlite"
    path = root / rel_of(root, task_id)
    with sqlite3.connect(index) as db:  # as an orch that compared mtimes left it
        db.execute("ALTER TABLE file_signatures RENAME COLUMN ctime_ns TO mtime_ns")
        db.execute("UPDATE index_meta SET value = 'an older orch' WHERE key = 'version'")
    path.write_text(path.read_text().replace(TITLE, "Write the lexer"))
    shown = orch("task", "show", task_id)
    assert "Write the lexer" in shown.stdout and "rebuilt" in shown.stderr


# -- item 7: a broken task is not called missing -----------------------------------------


def test_a_broken_task_asked_for_by_prefix_is_said_broken_not_missing(project, tmp_path):
    orch = Orch(project.root)
    orch("session", "create", "Sprint")
    task_id = added(orch, TITLE)
    added(orch, "Write the printer")
    rel = rel_of(project.root, task_id)
    path = project.root / rel
    path.write_text(break_title(path.read_text(encoding="utf-8")), encoding="utf-8")
    prefix = task_id[2:6]
    said = orch("task", "show", prefix, code=1).stderr
    assert f"{rel}:4: YAML error" in said and "did you mean" not in said

    from mcp import Client

    try:
        from orchestrator.mcp.server import build_server
    except ImportError:  # the code from before the fix
        from orchestrator.mcp_server import build_server  # type: ignore[no-redef]
    import asyncio

    async def ask() -> str:
        async with Client(build_server(project.root), read_timeout_seconds=60) as client:
            result = await client.call_tool("orchestrator_task_get", {"task_id": prefix})
            assert result.is_error
            return result.content[0].text

    told = asyncio.run(ask())
    assert f"{rel}:4: YAML error" in told and "did you mean" not in told


def test_a_box_ticked_for_a_task_whose_file_is_broken_is_said_broken_not_missing(started):
    root, orch, task_id = started
    rel = rel_of(root, task_id)
    (root / rel).write_text(break_title((root / rel).read_text(encoding="utf-8")))
    (session,) = root.glob(".task_orchestrator/sessions/*/session.md")
    text = session.read_text(encoding="utf-8")
    session.write_text(text.replace(f"- [ ] {TITLE}", f"- [x] {TITLE}"), encoding="utf-8")
    said = orch("sync").stderr
    assert f"no task {task_id}" not in said
    assert f"task {task_id} cannot be used: {rel}:4: YAML error" in said
    assert "make it again once the file is fixed" in said


# -- item 8: commit messages that say what happened --------------------------------------


def test_a_record_deleted_by_hand_commits_as_its_deletion_with_its_title(started):
    root, orch, task_id = started
    (root / rel_of(root, task_id)).unlink()
    orch("task", "list")
    assert subjects(root)[0] == f'orch: delete {task_id} "{TITLE}"'
    assert git(root, "log", "-1", "--format=%(trailers:key=Orch-Op,valueonly)").strip() == "delete"


def test_a_batch_commit_names_each_change_once(started):
    root, orch, task_id = started
    config = root / ".task_orchestrator" / "config.yaml"
    config.write_text(config.read_text().replace("commit: every-sync", "commit: batch"))
    orch("task", "list")
    path = root / rel_of(root, task_id)
    for priority in ("2", "1"):
        text = re.sub(r"priority_level: \d", f"priority_level: {priority}", path.read_text())
        path.write_text(text)
        orch("task", "list")
    orch("sync")
    body = git(root, "log", "-1", "--format=%b").splitlines()
    assert body.count(f'orch: edit {task_id} "{TITLE}"') == 1, body


@pytest.mark.parametrize("breaks", [drop_title, duplicate_key], ids=["no title", "duplicate key"])
def test_an_operation_on_a_broken_record_is_refused_and_commits_nothing(started, breaks):
    # The file still parses, so the index has a row for it: `task update` loaded it,
    # rewrote it still broken, and committed it as orch's own write.
    root, orch, task_id = started
    rel = rel_of(root, task_id)
    path = root / rel
    path.write_text(breaks(path.read_text(encoding="utf-8")), encoding="utf-8")
    orch("status")
    before, as_left = head(root), path.read_bytes()
    result = orch("task", "update", task_id, "--priority", "1", code=1)
    assert "fix the file first" in result.stderr and rel in result.stderr
    assert "(orch doctor)" in result.stderr
    assert head(root) == before and path.read_bytes() == as_left
    assert rel in dirty(root)


def test_a_box_ticked_for_a_task_whose_file_is_broken_waits_and_stops_nothing(started):
    # The task file has a bad value (it still loads): the tick's save was refused and
    # the error stopped every command, doctor included.
    root, orch, task_id = started
    path = root / rel_of(root, task_id)
    path.write_text(
        re.sub(r"(?m)^priority_level: .*$", "priority_level: high", path.read_text()),
        encoding="utf-8",
    )
    orch("status")
    (view,) = root.glob(".task_orchestrator/sessions/*/session.md")
    view.write_text(view.read_text().replace(f"- [ ] {TITLE}", f"- [x] {TITLE}"), encoding="utf-8")
    said = orch("status").stderr
    assert f"the edit of {task_id}'s line is not applied" in said
    assert "priority_level" in said and "fix the file first" in said
    assert "was set to" not in said  # nothing was set
    assert orch.json("task", "show", task_id)["status"] == "pending"
    assert "priority_level: high" in path.read_text()
    orch("doctor", code=1)  # runs, and lists the bad value
    orch("task", "list")


def test_doctor_fix_leaves_a_file_its_repair_would_leave_broken(started):
    # It set the id from the file's name and dropped `level`, then committed the file
    # with its bad priority still in it, as orch's own write.
    root, orch, task_id = started
    rel = rel_of(root, task_id)
    path = root / rel
    text = path.read_text().replace(f"task_id: {task_id}", "task_id: t-wrongid")
    text = re.sub(r"(?m)^priority_level: .*$", "priority_level: high\nlevel: 3", text)
    path.write_text(text, encoding="utf-8")
    orch("status")
    before = head(root)
    fixed = orch("doctor", "--fix", code=None)
    assert f"{rel}: not repaired, as it would stay broken" in fixed.stdout + fixed.stderr
    assert "priority_level" in fixed.stdout + fixed.stderr
    assert path.read_text() == text and rel in dirty(root)
    assert b"priority_level: high" not in committed(root, rel)
    assert head(root) == before or rel not in git(root, "show", "--stat", "--format=", "HEAD")
