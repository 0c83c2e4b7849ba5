"""`orch agents`: the orch section of AGENTS.md, CLAUDE.md and the like, typed as a
person types it."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess

import click
import pytest

from tests.conftest import Orch, copy_sample, orch_in

BEGIN = "<!-- orch:begin agents -->"
END = "<!-- orch:end agents -->"
LONG_AGO = 1_000_000_000 * 10**9  # 2001, in nanoseconds: no write of today can keep it


@pytest.fixture
def orch(sqlite_project) -> Orch:
    return Orch(sqlite_project.root)


def section(orch: Orch) -> str:
    return orch("agents", "--print").stdout


def commits(root) -> str:
    done = subprocess.run(["git", "-C", str(root), "log", "--all", "--oneline"],
                          capture_output=True, text=True)  # fmt: skip
    return done.stdout


def test_a_project_without_agents_md_gets_one_holding_the_section_uncommitted(orch):
    before = commits(orch.root)
    out = orch("agents").stdout
    assert "AGENTS.md: created" in out
    assert "Not committed" in out
    text = (orch.root / "AGENTS.md").read_text(encoding="utf-8")
    assert text == section(orch)
    assert text.startswith(BEGIN + "\n") and text.endswith(END + "\n")
    assert not (orch.root / "CLAUDE.md").exists()  # only when the person has one
    assert commits(orch.root) == before


def test_an_old_section_is_replaced_and_the_text_around_it_kept_byte_for_byte(orch):
    before = "# My project\n\nBuild with `make`.  \n\n"
    after = "\n## Style\n\nTabs, never spaces.\n"
    path = orch.root / "AGENTS.md"
    path.write_bytes(f"{before}{BEGIN}\nan old text of orch's\n{END}\n{after}".encode())
    assert "AGENTS.md: section updated" in orch("agents").stdout
    assert path.read_bytes() == f"{before}{section(orch)}{after}".encode()


@pytest.mark.parametrize(
    "theirs, gap",
    [("# Mine\n", "\n"), ("# Mine\nno newline at the end", "\n\n"), ("# Mine\n\n", "")],
)
def test_a_file_without_the_section_gets_it_at_its_end_after_one_blank_line(orch, theirs, gap):
    path = orch.root / "AGENTS.md"
    path.write_text(theirs, encoding="utf-8")
    assert "AGENTS.md: section added at the end" in orch("agents").stdout
    assert path.read_text(encoding="utf-8") == theirs + gap + section(orch)


def test_running_it_again_leaves_the_file_alone_same_bytes_same_mtime(orch):
    path = orch.root / "AGENTS.md"
    path.write_text("# Mine\n", encoding="utf-8")
    orch("agents")
    written = path.read_bytes()
    os.utime(path, ns=(LONG_AGO, LONG_AGO))
    inode = path.stat().st_ino
    out = orch("agents").stdout
    assert out == "AGENTS.md: unchanged (not rewritten)\n"
    assert path.read_bytes() == written
    assert path.stat().st_mtime_ns == LONG_AGO and path.stat().st_ino == inode


def test_claude_md_gets_the_section_too_when_it_exists(orch):
    (orch.root / "CLAUDE.md").write_text("# Claude\n\nBe brief.\n", encoding="utf-8")
    out = orch("agents").stdout
    assert "AGENTS.md: created" in out and "CLAUDE.md: section added at the end" in out
    claude = (orch.root / "CLAUDE.md").read_text(encoding="utf-8")
    assert claude == "# Claude\n\nBe brief.\n\n" + section(orch)


def test_a_claude_md_that_links_to_agents_md_is_written_once_and_stays_a_link(orch):
    (orch.root / "CLAUDE.md").symlink_to("AGENTS.md")
    out = orch("agents").stdout
    assert "AGENTS.md: created" in out and "CLAUDE.md: same as AGENTS.md" in out
    assert (orch.root / "CLAUDE.md").is_symlink()
    assert (orch.root / "AGENTS.md").read_text(encoding="utf-8") == section(orch)


def test_a_file_that_leads_out_of_the_project_is_refused(orch, tmp_path):
    outside = tmp_path / "elsewhere.md"
    outside.write_text("not the project's\n", encoding="utf-8")
    (orch.root / "CLAUDE.md").symlink_to(outside)
    result = orch("agents", code=1)
    assert "CLAUDE.md leads out of the project" in result.stderr
    assert outside.read_text(encoding="utf-8") == "not the project's\n"
    assert not (orch.root / "AGENTS.md").exists()


def test_file_chooses_the_files_and_a_plain_run_keeps_them_current(orch):
    out = orch("agents", "--file", "GEMINI.md", "--file", ".github/copilot-instructions.md").stdout
    assert out.splitlines()[:2] == [
        "GEMINI.md: created",
        ".github/copilot-instructions.md: created",
    ]
    assert not (orch.root / "AGENTS.md").exists()
    copilot = orch.root / ".github" / "copilot-instructions.md"
    assert copilot.read_text(encoding="utf-8") == section(orch)
    out = orch("agents").stdout  # the files chosen once hold the section: kept current
    assert "AGENTS.md: created" in out
    assert "GEMINI.md: unchanged" in out and ".github/copilot-instructions.md: unchanged" in out


def test_file_takes_only_the_files_agents_read(orch):
    result = orch("agents", "--file", "../README.md", code=2)
    assert "AGENTS.md" in result.stderr and "GEMINI.md" in result.stderr
    assert not (orch.root / "AGENTS.md").exists()


def test_print_prints_the_section_and_writes_nothing_even_outside_a_project(orch, tmp_path):
    out = orch("agents", "--print").stdout
    assert out.startswith(BEGIN + "\n## ") and out.endswith(END + "\n")
    assert not (orch.root / "AGENTS.md").exists()
    bare = tmp_path / "no-project"
    bare.mkdir()
    assert orch_in(bare, "agents", "--print").stdout == out
    assert list(bare.iterdir()) == []


def test_remove_takes_the_section_out_and_gives_the_file_back_as_it_was(orch):
    (orch.root / "CLAUDE.md").write_text("# Claude\n", encoding="utf-8")
    orch("agents")
    out = orch("agents", "--remove").stdout
    assert "AGENTS.md: section removed; nothing else was in it: file deleted" in out
    assert "CLAUDE.md: section removed" in out
    assert not (orch.root / "AGENTS.md").exists()
    assert (orch.root / "CLAUDE.md").read_text(encoding="utf-8") == "# Claude\n"
    assert orch("agents", "--remove").stdout == "No file holds orch's section: nothing to remove.\n"


def test_remove_keeps_the_text_on_both_sides(orch):
    path = orch.root / "AGENTS.md"
    path.write_text(f"before\n{BEGIN}\nold\n{END}\nafter\n", encoding="utf-8")
    orch("agents", "--remove")
    assert path.read_text(encoding="utf-8") == "before\nafter\n"


@pytest.mark.parametrize(
    "text, line, problem",
    [
        (f"# Mine\n\n{BEGIN}\nhalf a section\n", 3, f"{BEGIN} with no {END} after it"),
        (f"{BEGIN}\n{END}\n\n{BEGIN}\n{END}\n", 4, f"a second {BEGIN} (the first is on line 1)"),
        (f"{BEGIN}\n{BEGIN}\n{END}\n", 2, f"a second {BEGIN} (the first is on line 1)"),
        (f"# Mine\n{END}\n", 2, f"{END} with no {BEGIN} before it"),
    ],
)
def test_broken_markers_are_refused_with_file_and_line_and_nothing_is_written(
    orch, text, line, problem
):
    claude = orch.root / "CLAUDE.md"
    claude.write_text("# Claude\n", encoding="utf-8")
    agents = orch.root / "AGENTS.md"
    agents.write_text(text, encoding="utf-8")
    good_first = ["agents", "--file", "CLAUDE.md", "--file", "AGENTS.md"]
    for args in (["agents"], good_first, ["agents", "--remove"]):
        result = orch(*args, code=1)
        assert f"AGENTS.md:{line}: {problem}" in result.stderr
        assert agents.read_text(encoding="utf-8") == text
        assert claude.read_text(encoding="utf-8") == "# Claude\n"  # not even the good one


def test_markers_shown_in_a_code_block_are_the_persons_text(orch):
    path = orch.root / "AGENTS.md"
    theirs = f"# Mine\n\n```markdown\n{BEGIN}\n```\n"
    path.write_text(theirs, encoding="utf-8")
    orch("agents")
    assert path.read_text(encoding="utf-8") == theirs + "\n" + section(orch)


def test_a_file_with_crlf_line_endings_gets_a_crlf_section(orch):
    path = orch.root / "AGENTS.md"
    path.write_bytes(b"# Mine\r\n")
    orch("agents")
    data = path.read_bytes()
    assert data == b"# Mine\r\n\r\n" + section(orch).replace("\n", "\r\n").encode()
    assert "unchanged" in orch("agents").stdout


def test_json_gives_each_file_with_what_was_done(orch):
    (orch.root / "CLAUDE.md").write_text("# Claude\n", encoding="utf-8")
    answer = orch.json("agents")
    assert answer == {
        "files": [
            {"file": "AGENTS.md", "path": str(orch.root / "AGENTS.md"), "action": "created"},
            {"file": "CLAUDE.md", "path": str(orch.root / "CLAUDE.md"), "action": "added"},
        ],
        "committed": False,
    }
    assert [f["action"] for f in orch.json("agents")["files"]] == ["unchanged", "unchanged"]
    assert orch.json("agents", "--print") == {"section": section(orch)}


def test_a_refusal_with_json_is_json(orch):
    (orch.root / "AGENTS.md").write_text(f"{BEGIN}\n", encoding="utf-8")
    result = orch("agents", "--json", code=1)
    assert json.loads(result.stderr)["error"].startswith(f"AGENTS.md:1: {BEGIN} with no")


def test_print_and_remove_together_is_a_usage_error(orch):
    assert "--remove" in orch("agents", "--print", "--remove", code=2).stderr


def test_outside_a_project_it_says_how_to_make_one(tmp_path):
    result = orch_in(tmp_path, "agents", code=1)
    assert "orch init" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_section_is_short(orch):
    assert len(section(orch).splitlines()) <= 40


def test_every_tool_the_section_names_exists_with_the_parameters_it_names(orch):
    from orchestrator.mcp.server import TOOLS, parameters

    tools = {tool.__name__: parameters(tool) for tool in TOOLS}
    named = re.findall(r"`(orchestrator_\w+)(?:\(([^)]*)\))?`", section(orch))
    assert [name for name, _ in named] == [
        "orchestrator_get_status",
        "orchestrator_plan_task",
        "orchestrator_execute_subtask",
        "orchestrator_complete_subtask",
        "orchestrator_synthesize_results",
    ]
    for name, args in named:
        assert name in tools
        for arg in filter(None, (a.strip() for a in args.split(","))):
            assert arg in tools[name], f"{name} takes no {arg}"


def test_every_command_the_section_names_runs(tmp_path):
    """Each `orch ...` of the section, run in its order on a copy of the sample project,
    with its placeholders filled in; the server itself is only looked up, not started."""
    orch = Orch(copy_sample(tmp_path / "sample").root)
    commands = [shlex.split(c) for c in re.findall(r"`orch ([^`]+)`", section(orch))]
    assert ["task", "list", "--ready"] in commands and ["task", "done", "ID"] in commands
    ready = orch.json("task", "list", "--ready")[0]["task_id"]
    added = None
    for words in commands:
        if words[0] == "mcp" and "--print-config" not in words:  # would start the server
            assert all(w in orch("mcp", "--help").stdout for w in words if w.startswith("-"))
            continue
        if words[:2] == ["task", "delete"]:
            assert added, "the section deletes before it adds"
            words = [*words[:-1], added]
        words = [{"ID": ready, "TITLE": "Check the dates", "WORDS": "payment",
                  "TEXT": "Dates in UTC"}.get(w, w) for w in words]  # fmt: skip
        if words[:2] == ["task", "add"]:
            added = json.loads(orch(*words, "--json").stdout)["task_id"]
            continue
        orch(*words)


def test_the_section_names_mcp_tools_core_only_where_orch_mcp_takes_it(orch, monkeypatch):
    from orchestrator.cli.mcp import mcp

    assert ("--tools" in orch("mcp", "--help").stdout) == ("--tools core" in section(orch))
    tools = click.Option(["--tools"], type=click.Choice(["core", "all"]))
    monkeypatch.setattr(mcp, "params", [*mcp.params, tools])
    assert "`orch mcp --tools core` serves only the workflow tools" in section(orch)
