"""Hostile input is refused or reported, never a hang, a crash or a lost index: YAML alias
bombs and deep nesting, fields of the wrong type, a full disk, control characters in
titles, parents that loop, and files saved with Windows line endings."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import duckdb
import pytest

from orchestrator.core.project import Project
from orchestrator.core.setup import init_project
from orchestrator.index.engine import index_path
from orchestrator.mcp.server import build_server
from orchestrator.store.merge import merge_texts
from orchestrator.store.record_file import dump_yaml, load_yaml
from tests.conftest import Orch, git_init, set_engine, task_file
from tests.test_mcp import Agent, connected

# What a terminal acts on instead of showing (C0 but tab and newline, DEL, C1).
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def problems(orch: Orch) -> list[dict]:
    return json.loads(orch("doctor", "--json", code=None).stdout)


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout


def add_task(orch: Orch, title: str, *args: str) -> str:
    return orch.json("task", "add", title, *args)["task_id"]


def insert_after_title(path: Path, title: str, lines: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert f"title: {title}\n" in text
    path.write_text(text.replace(f"title: {title}\n", f"title: {title}\n{lines}", 1), "utf-8")


def alias_bomb(levels: int) -> str:
    """`levels` lines, each a list of ten aliases of the line above: 10**levels strings
    once expanded, in a few hundred bytes."""
    lines = ['lol0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, levels):
        lines.append(f"lol{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]")
    return "\n".join(lines) + "\n"


# -- 5. YAML alias bombs ---------------------------------------------------------------------


def test_an_alias_bomb_in_a_task_is_refused_and_reported_like_any_bad_file(project, orch):
    orch("session", "create", "Bombs", "--switch")
    bad, good = add_task(orch, "Bomb"), add_task(orch, "Fine")
    path = task_file(project, bad)
    before = path.read_text(encoding="utf-8")
    insert_after_title(path, "Bomb", alias_bomb(9))  # 10**9 strings if expanded
    written = path.read_bytes()

    listed = orch("task", "list")
    assert good in listed.stdout and bad not in listed.stdout
    assert "1 file(s) could not be read" in listed.stderr
    [problem] = [p for p in problems(orch) if p["path"].endswith(f"{bad}.md")]
    assert problem["line"] == 6  # the first alias: `lol1: &a1 [*a0, ...`
    assert "the alias *a0 and those after it repeat more than 10,000 values" in problem["message"]
    assert "write the values out in full, without anchors (&name) and aliases" in problem["fix"]
    assert f"{bad}.md:6: YAML error" in orch("doctor", code=1).stdout
    refused = orch("task", "update", bad, "--status", "in_progress", code=1)
    assert "fix the file first" in refused.stderr
    assert path.read_bytes() == written  # never expanded, never rewritten
    # and, broken, never committed either (tests/test_broken_files.py)
    assert git(project.root, "show", f"HEAD:{project.layout.rel(path)}") == before


def test_aliases_are_refused_in_role_files_and_config(sqlite_project):
    orch = Orch(sqlite_project.root)
    roles = sqlite_project.layout.base / "roles" / "bomb.yaml"
    roles.write_text(alias_bomb(8), encoding="utf-8")
    checked = orch("mode", "validate", "bomb.yaml", code=1)
    assert "the alias *a0 and those after it repeat more than 10,000 values" in checked.stdout
    config = sqlite_project.layout.config_file
    config.write_text(config.read_text(encoding="utf-8") + alias_bomb(8), encoding="utf-8")
    listed = orch("session", "list")
    assert "config.yaml" in listed.stderr and "the alias *a0" in listed.stderr


def test_an_alias_that_holds_itself_is_refused_at_its_line():
    with pytest.raises(Exception, match="the alias \\*x is inside the value it repeats") as raised:
        load_yaml("title: Loop\nother: &y [1]\nx: &x [*y, {k: *x}]\n")
    assert (raised.value.problem_mark.line, raised.value.problem_mark.column) == (
        2,
        15,
    )  # `*x`, not `*y`


def test_a_few_aliases_as_earlier_versions_wrote_them_are_still_read():
    """orch up to a960842 wrote a value both sides of a conflict share as an anchor and
    an alias; such files stay readable, and are written without them."""
    text = (
        "links: &id001\n  spec: b.md\norch_conflict:\n  links:\n    base:\n      spec: a.md\n"
        "    ours: *id001\n"
    )
    data = load_yaml(text)
    assert data["orch_conflict"]["links"]["ours"] == {"spec": "b.md"}
    assert "&" not in dump_yaml(data) and "*" not in dump_yaml(data)


# -- 10. inputs that crashed instead of being reported -----------------------------------------


@pytest.mark.parametrize("levels", [600, 999])
def test_yaml_nested_hundreds_of_levels_deep_is_a_bad_file_not_a_crash(project, orch, levels):
    orch("session", "create", "Deep", "--switch")
    flow, block, good = add_task(orch, "Flow"), add_task(orch, "Block"), add_task(orch, "Fine")
    insert_after_title(task_file(project, flow), "Flow", f"x: {'[' * levels}{']' * levels}\n")
    nested = "".join(f"{' ' * n}k{n}:\n" for n in range(levels))
    insert_after_title(task_file(project, block), "Block", nested)

    listed = orch("task", "list")
    assert good in listed.stdout and "2 file(s) could not be read" in listed.stderr
    found = {p["path"].rsplit("/", 1)[1]: p for p in problems(orch)}
    assert found[f"{flow}.md"]["line"] == 5
    assert found[f"{block}.md"]["line"] == 5 + 32  # the key 32 levels below the first
    for problem in (found[f"{flow}.md"], found[f"{block}.md"]):
        assert "values are nested more than 32 levels deep" in problem["message"]
    refused = orch("task", "update", flow, "--title", "x", code=1)
    assert "nested more than 32 levels deep; fix the file first" in refused.stderr
    orch("status")


def test_a_title_that_is_a_number_refuses_an_update_without_a_crash(project, orch):
    # A number where text belongs does not validate: orch neither crashes nor writes and
    # commits the file still broken (issue 17); it says where and how to fix it, and the
    # update works once the title is text.
    orch("session", "create", "Numbers", "--switch")
    task_id = add_task(orch, "Words")
    path = task_file(project, task_id)
    path.write_text(path.read_text(encoding="utf-8").replace("title: Words", "title: 123"))

    refused = orch("task", "update", task_id, "--status", "in_progress", code=1)
    assert "title: expected text, found a number 123 — write text" in refused.stderr
    assert "fix the file first" in refused.stderr
    assert "title: 123" in path.read_text(encoding="utf-8")  # the file as it was left
    assert "status: pending" in path.read_text(encoding="utf-8")
    [problem] = [p for p in problems(orch) if p["path"].endswith(f"{task_id}.md")]
    assert problem["message"] == "title: expected text, found a number 123"

    path.write_text(path.read_text(encoding="utf-8").replace("title: 123", "title: '123'"))
    orch("task", "update", task_id, "--status", "in_progress")
    assert "status: in_progress" in path.read_text(encoding="utf-8")
    assert git(project.root, "status", "--porcelain") == ""


def test_a_session_name_that_is_a_number_refuses_note_pause_or_activate_without_a_crash(
    project, orch
):
    session_id = orch.json("session", "create", "Words", "--switch")["session_id"]
    path = project.layout.session_dir(session_id) / "session.md"
    path.write_text(path.read_text(encoding="utf-8").replace("name: Words", "name: 123"))

    for command in (("note", "decision", "Keep going"), ("session", "pause", session_id)):
        refused = orch(*command, code=1)
        assert "name: expected text, found a number 123" in refused.stderr, command
    assert "name: 123" in path.read_text(encoding="utf-8")

    path.write_text(path.read_text(encoding="utf-8").replace("name: 123", "name: '123'"))
    orch("note", "decision", "Keep going")
    orch("session", "pause", session_id)
    orch("session", "activate", session_id)
    assert (
        git(project.root, "log", "-1", "--format=%s")
        .strip()
        .startswith(f"orch: activate {session_id}")
    )
    assert git(project.root, "status", "--porcelain") == ""


def fill(folder: Path) -> None:
    """Write zeros into `folder` until its file system has no room left."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as e:
                assert e.errno == errno.ENOSPC
    finally:
        os.close(fd)


@pytest.fixture
def small_disk(tmp_path):
    """A 32 MB file system of its own (tmpfs), or a skip where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount)],
                          capture_output=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_really_full_disk_is_said_and_the_index_kept(small_disk, engine):
    root = small_disk / "proj"
    root.mkdir()
    git_init(root)
    init_project(root)
    set_engine(root, engine)
    orch = Orch(root.resolve())
    orch("session", "create", "Full", "--switch")
    add_task(orch, "Before the disk filled")
    index = index_path(Project(root).layout.index_dir, engine)
    kept = index.read_bytes()
    fill(small_disk)

    for command in (["task", "list"], ["task", "add", "More"], ["doctor"]):
        said = orch(*command, code=1)
        assert f"the disk is full: cannot write {index}" in said.stderr
        assert "free some space" in said.stderr
        assert index.read_bytes() == kept
    said = orch("reindex", code=1)  # the rebuild is made beside the index, which stays
    assert "the disk is full: cannot write" in said.stderr
    assert index.read_bytes() == kept
    assert not index.with_name(f"{index.name}.new").exists()
    (small_disk / "filler").unlink()
    listed = orch("task", "list")
    assert "Before the disk filled" in listed.stdout and "rebuilt" not in listed.stderr


@pytest.mark.parametrize(
    ("code", "said"),
    [(errno.ENOSPC, "the disk is full"), (errno.EDQUOT, "the disk quota is used up"),
     (errno.EROFS, "the file system is read-only")],
)  # fmt: skip
def test_a_full_disk_at_the_index_open_is_said_and_the_index_kept(
    project, orch, monkeypatch, code, said
):
    """The failure is injected at the engine's open (making a real full disk needs a
    mount: see test_a_really_full_disk_is_said_and_the_index_kept)."""
    orch("session", "create", "Quota", "--switch")
    add_task(orch, "Kept")
    index = index_path(project.layout.index_dir, project.config.index)
    kept = index.read_bytes()

    def refused(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(index))

    with monkeypatch.context() as patch:
        patch.setattr(sqlite3, "connect", refused)
        patch.setattr(duckdb, "connect", refused)
        failed = orch("task", "list", code=1)
    assert failed.stderr.startswith(f"Error: {said}: cannot write {index}")
    assert index.read_bytes() == kept
    listed = orch("task", "list")
    assert "Kept" in listed.stdout and "rebuilt" not in listed.stderr


# -- 11. control characters ---------------------------------------------------------------------


def test_control_characters_are_refused_in_what_orch_is_given(project, orch):
    orch("session", "create", "Plain", "--switch")
    task_id = add_task(orch, "Plain")
    refusals = {
        ("task", "add", "Red \x1b[31malert"): "title holds the control character ESC (\\x1b)",
        ("task", "update", task_id, "--title", "Bell\x07"): "title holds the control character BEL",
        ("task", "add", "Fine", "-d", "a\x7f"): "description holds the control character DEL",
        ("session", "create", "Csi \x9b2J"): "name holds the control character CSI (\\x9b)",
        ("group", "create", "Back\x08end"): "group_name holds the control character BS",
        ("note", "decision", "\x1b]0;pwned\x07"): "text holds the control character ESC",
        ("task", "add", "Carriage\rreturn"): "title holds the control character CR (\\x0d)",
    }
    before = git(project.root, "rev-parse", "HEAD")
    for args, message in refusals.items():
        assert message in orch(*args, code=1).stderr
    assert git(project.root, "rev-parse", "HEAD") == before  # nothing was written
    # Tabs, newlines and Windows line ends are text.
    orch("task", "add", "Tabbed\ttitle", "-d", "line one\r\nline two\n\tindented")


def test_control_characters_are_refused_through_mcp(sqlite_project):
    async def body(agent: Agent):
        await agent.ok("orchestrator_session_create", name="Plain")
        said = await agent.error("orchestrator_task_create", title="Red \x1b[31malert")
        assert "title holds the control character ESC (\\x1b)" in said
        said = await agent.error("orchestrator_plan_task", description="Work",
                                 subtasks=[{"title": "ok"}, {"title": "bell\x07"}])  # fmt: skip
        assert "subtask 2 title holds the control character BEL" in said
        said = await agent.error("orchestrator_note", kind="decision", text="x\x9b")
        assert "text holds the control character CSI" in said
        task_id = (await agent.ok("orchestrator_task_create", title="Plain"))["task"]["task_id"]
        said = await agent.error("orchestrator_task_cancel", task_id=task_id, reason="a\x00b")
        assert "reason holds the control character NUL" in said

    connected(build_server(sqlite_project.root), body)


def test_an_empty_id_is_a_usage_error_not_several_matches(sqlite_project):
    orch = Orch(sqlite_project.root)
    orch("session", "create", "Plain")
    add_task(orch, "One")
    add_task(orch, "Two")
    for args in (("task", "show", ""), ("task", "done", "  "), ("session", "show", "")):
        said = orch(*args, code=2).stderr
        assert "an empty id names no" in said and "matches several" not in said


def test_an_empty_id_is_a_clear_error_through_mcp(sqlite_project):
    async def body(agent: Agent):
        await agent.ok("orchestrator_session_create", name="Plain")
        for n in range(2):
            await agent.ok("orchestrator_task_create", title=f"Task {n}")
        said = await agent.error("orchestrator_task_get", task_id="")
        assert "an empty id names no task" in said and "matches several" not in said
        said = await agent.error("orchestrator_session_pause", session_id=" ")
        assert "an empty id names no session" in said

    connected(build_server(sqlite_project.root), body)


def test_an_id_typed_in_capitals_finds_its_record(sqlite_project):
    orch = Orch(sqlite_project.root)
    session_id = orch.json("session", "create", "Plain")["session_id"]
    task_id = add_task(orch, "One")
    assert orch.json("task", "show", task_id.upper())["task_id"] == task_id
    assert orch.json("task", "show", task_id[2:7].upper())["task_id"] == task_id
    assert orch.json("session", "show", session_id.upper())["session_id"] == session_id

    async def body(agent: Agent):
        got = await agent.ok("orchestrator_task_get", task_id=task_id.upper())
        assert got["task"]["task_id"] == task_id

    connected(build_server(sqlite_project.root), body)


def test_control_characters_from_a_hand_edit_are_shown_escaped(project, orch):
    session_id = orch.json("session", "create", "Edits", "--switch")["session_id"]
    task_id = add_task(orch, "Plain")
    path = task_file(project, task_id)
    hostile = '"Evil \\e]0;pwned\\a \\e[2J \\x9b1m\\x7f"'  # YAML escapes: ESC, BEL, CSI, DEL
    path.write_text(path.read_text(encoding="utf-8").replace("title: Plain", f"title: {hostile}"))
    shown = "Evil \\x1b]0;pwned\\x07 \\x1b[2J \\x9b1m\\x7f"

    for command in (["task", "list"], ["task", "show", task_id], ["status"], ["doctor"]):
        result = orch(*command, code=None)
        assert not RAW_CONTROL.search(result.stdout + result.stderr), command
    assert shown in orch("task", "list").stdout
    assert shown in orch("task", "show", task_id).stdout
    listed = orch("task", "list", "--json").stdout
    assert not RAW_CONTROL.search(listed)
    assert json.loads(listed)[0]["title"] == "Evil \x1b]0;pwned\x07 \x1b[2J \x9b1m\x7f"
    assert hostile in path.read_text(encoding="utf-8")  # a record is data: kept as written
    orch("sync")  # the view follows the hand edit
    view = project.layout.session_dir(session_id) / "session.md"
    text = view.read_text(encoding="utf-8")
    assert not RAW_CONTROL.search(text)
    assert f"- [ ] {shown} (Pending) <!-- {task_id} -->" in text
    # Ticking the box of that line completes the task and leaves its title as it was.
    view.write_text(text.replace(f"- [ ] {shown}", f"- [x] {shown}"), encoding="utf-8")
    [row] = orch.json("task", "list")
    assert row["status"] == "completed"
    assert row["title"] == "Evil \x1b]0;pwned\x07 \x1b[2J \x9b1m\x7f"


def test_every_line_the_cli_prints_goes_through_its_output_module():
    """Text from records is escaped in one place (cli/output.py): no command module
    prints or styles text by itself."""
    folder = Path(__file__).parent.parent / "orchestrator" / "cli"
    bypass = re.compile(r"\bclick\.(echo|secho|style)\(")
    offenders = [
        f"{path.name}:{n}"
        for path in sorted(folder.glob("*.py"))
        if path.name != "output.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if bypass.search(line)
    ]
    assert offenders == []


# -- 12. loops of parents, Windows line endings -------------------------------------------------


def test_two_tasks_that_are_each_others_parent_are_listed_with_a_warning(project, orch):
    orch("session", "create", "Loop", "--switch")
    a = add_task(orch, "Alpha")
    b = add_task(orch, "Beta", "--parent", a)
    other = add_task(orch, "Other")
    insert_after_title(task_file(project, a), "Alpha", f"parent_task_id: {b}\n")

    listed = orch("task", "list")
    lines = listed.stdout.splitlines()
    [top, under] = [line.split()[0] for line in lines[2:]]
    assert lines[1].split()[0] == other and {top, under} == {a, b}
    assert re.search(r"P3    \w", lines[2]) and re.search(r"P3      \w", lines[3])  # nested
    assert f"{top}: the parents (parent_task_id) make a loop" in listed.stderr
    assert "orch doctor" in listed.stderr
    first, second = sorted([a, b])
    cycle = f"parent_task_id makes a cycle: {first} → {second} → {first}"
    assert cycle in [p["message"] for p in problems(orch)]
    assert "1 problem(s)" in orch("status").stdout


def crlf(path: Path) -> None:
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))


def lf_lines(path: Path) -> list[str]:
    """The lines of a file that end in a bare LF."""
    return [line for line in path.read_bytes().split(b"\n")[:-1] if not line.endswith(b"\r")]


def test_a_crlf_file_keeps_its_line_endings_when_orch_rewrites_it(project, orch):
    session_id = orch.json("session", "create", "Windows", "--switch")["session_id"]
    task_id = add_task(orch, "Saved on Windows", "-d", "line one\nline two")
    path = task_file(project, task_id)
    view = project.layout.session_dir(session_id) / "session.md"
    crlf(path)
    crlf(view)
    orch("sync")

    orch("task", "update", task_id, "--status", "in_progress", "--priority", "1")
    orch("task", "add", "Another")
    orch("note", "learning", "CRLF stays")
    orch("session", "pause", session_id)
    assert lf_lines(path) == [] and lf_lines(view) == []
    assert b"status: in_progress\r\n" in path.read_bytes()
    assert b"status: paused\r\n" in view.read_bytes()
    assert b": CRLF stays\r\n" in view.read_bytes()
    assert git(project.root, "status", "--porcelain") == ""


def test_a_merge_of_two_crlf_edits_keeps_crlf():
    base = "---\ntitle: T\nstatus: pending\npriority_level: 3\n---\n\nBody\n"
    ours, theirs = base.replace("pending", "completed"), base.replace("3", "1")
    merged = merge_texts(*(text.replace("\n", "\r\n") for text in (base, ours, theirs)))
    assert merged.clean
    assert merged.text == ours.replace("priority_level: 3", "priority_level: 1").replace(
        "\n", "\r\n"
    )
