"""Groups and tasks as trees, in every view: a nested group under its parent, a subtask
under its own parent and under no other (issue 17, item 5).

The project: groups A, C and B, where B is nested in A but made after C (so its place in
the session's order is after C); a subtask made after its parent's next sibling; a
subtask of a task of A put in group C; a task of no group.

    A:  a1 "A one"  >  a1s "A one sub"        a2 "A two"
      B (in A):  b1 "B one"  >  b1s "B one sub"  >  b1ss "B one sub sub"
    C:  c1 "C one"     x "A one sub in C" (a subtask of a1)
    no group:  loose "Loose"
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import SQLITE_NOW_DUCKDB_SLOW, Orch, git_init, set_engine

GROUPS_REGION = re.compile(r"<!-- orch:begin groups -->\n(.*?)<!-- orch:end groups -->", re.S)


@pytest.fixture(scope="module")
def made() -> dict[str, tuple[Path, dict[str, str]]]:
    """The project of each engine, made once a module: its folder and its ids by name."""
    return {}


def build(root: Path, engine: str) -> dict[str, str]:
    """Make the project of the module docstring at `root` through the CLI."""
    root.mkdir()
    git_init(root)
    orch = Orch(root)
    orch("init", str(root))
    set_engine(root, engine)
    orch("session", "create", "S")
    ids = {name: orch.json("group", "create", name)["group_id"] for name in ("A", "C")}
    ids["B"] = orch.json("group", "create", "B", "--parent", "A")["group_id"]

    def add(key: str, title: str, *options: str) -> None:
        ids[key] = orch.json("task", "add", title, *options)["task_id"]

    add("a1", "A one", "--group", "A")
    add("a2", "A two", "--group", "A")
    add("a1s", "A one sub", "--parent", ids["a1"])
    add("c1", "C one", "--group", "C")
    add("b1", "B one", "--group", "B")
    add("b1s", "B one sub", "--parent", ids["b1"])
    add("b1ss", "B one sub sub", "--parent", ids["b1s"])
    add("x", "A one sub in C", "--parent", ids["a1"], "--group", "C")
    add("loose", "Loose")
    return ids


@pytest.fixture
def tree(tmp_path, tmp_path_factory, engine, made) -> tuple[Orch, dict[str, str]]:
    """A copy of the module's project (its git history included, its index left out:
    the copy's first command builds its own), and its ids by name."""
    if engine not in made:
        root = tmp_path_factory.mktemp(f"trees-{engine}") / "proj"
        made[engine] = root, build(root, engine)
    template, ids = made[engine]
    root = tmp_path / "proj"
    shutil.copytree(template, root, symlinks=True, ignore=shutil.ignore_patterns(".index"))
    return Orch(root.resolve()), ids


def groups_region(orch: Orch) -> str:
    (path,) = orch.root.glob(".task_orchestrator/sessions/*/session.md")
    found = GROUPS_REGION.search(path.read_text(encoding="utf-8"))
    assert found, "session.md has its groups region"
    return found[1]


def outline(region: str, ids: dict[str, str]) -> list[str]:
    """The groups region as headings and checklist lines (indent kept, the task named by
    its key in `ids`), without the progress lines and blank lines."""
    name_of = {task_id: key for key, task_id in ids.items()}
    lines = []
    for line in region.splitlines():
        if line.startswith("#"):
            lines.append(line)
        elif m := re.match(r"^( *)- \[.\] .* <!-- (t-[0-9a-z]+) -->$", line):
            lines.append(m[1] + name_of[m[2]])
    return lines


def section(text: str, heading: str) -> list[str]:
    """The lines of a CLI answer from `heading` to the next blank line."""
    lines = text.splitlines()
    start = lines.index(heading) + 1
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def names(lines: list[str]) -> list[str]:
    """The name column of table lines (two spaces apart), guides kept."""
    return [re.split(r" {2,}", line.strip())[0] for line in lines]


# -- session.md -----------------------------------------------------------------------------


@pytest.mark.parametrize("engine", SQLITE_NOW_DUCKDB_SLOW)
def test_session_md_shows_each_group_under_its_parent_and_each_subtask_under_its_own(tree):
    orch, ids = tree
    assert outline(groups_region(orch), ids) == [
        "## Task Groups",
        "### A",
        "a1",
        "  a1s",
        "a2",
        "#### B",
        "b1",
        "  b1s",
        "    b1ss",
        "### C",
        "c1",
        "x",
        "### Tasks without a group",
        "loose",
    ]


@pytest.mark.parametrize("engine", SQLITE_NOW_DUCKDB_SLOW)
def test_ticking_a_box_deep_in_a_nested_group_completes_that_task(tree):
    orch, ids = tree
    (path,) = orch.root.glob(".task_orchestrator/sessions/*/session.md")
    text = path.read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if ids["b1ss"] in line)
    assert line.startswith("    - [ ] B one sub sub"), "at depth 2 under B"
    path.write_text(text.replace(line, line.replace("- [ ]", "- [x]", 1)), encoding="utf-8")
    orch("sync")
    assert orch.json("task", "show", ids["b1ss"])["status"] == "completed"
    assert orch.json("task", "show", ids["b1s"])["status"] == "pending"
    ticked = next(line for line in groups_region(orch).splitlines() if ids["b1ss"] in line)
    assert ticked.startswith("    - [x] B one sub sub"), "still at its place, ticked"


def test_groups_nested_deeper_than_markdown_headings_keep_distinct_headings(tree):
    orch, _ = tree
    parent = "B"
    for name in ("B2", "B3", "B4", "B5"):
        orch("group", "create", name, "--parent", parent)
        parent = name
    headings = [line for line in groups_region(orch).splitlines() if line.startswith("#")]
    assert headings[1:8] == [
        "### A",
        "#### B",
        "##### B2",
        "###### B3",
        "###### B3 › B4",
        "###### B3 › B4 › B5",
        "### C",
    ]


# -- the CLI --------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", SQLITE_NOW_DUCKDB_SLOW)
def test_status_shows_a_nested_group_under_its_parent(tree):
    orch, _ = tree
    assert names(section(orch("status").stdout, "Groups")) == ["A", "└─ B", "C"]


@pytest.mark.parametrize("engine", SQLITE_NOW_DUCKDB_SLOW)
def test_group_list_shows_a_nested_group_under_its_parent(tree):
    orch, ids = tree
    rows = orch("group", "list").stdout.splitlines()[1:]
    assert [re.split(r" {2,}", line)[:2] for line in rows] == [
        [ids["A"], "A"],
        [ids["B"], "└─ B"],
        [ids["C"], "C"],
    ]


def test_group_list_json_gives_the_groups_as_a_tree(tree):
    orch, ids = tree
    listed = orch.json("group", "list")
    assert [(g["group_name"], g["parent_group_id"], g["group_level"]) for g in listed] == [
        ("A", None, 0),
        ("B", ids["A"], 1),
        ("C", None, 0),
    ]


def test_session_show_lists_a_nested_group_under_its_parent(tree):
    orch, _ = tree
    rows = section(orch("session", "show").stdout, "Groups")
    assert [re.split(r" {2,}", line.strip())[1] for line in rows] == ["A", "└─ B", "C"]


def test_group_show_lists_each_subtask_under_its_own_parent(tree):
    orch, ids = tree
    rows = orch("group", "show", "A").stdout.splitlines()
    tasks = [re.split(r" {2,}", line.strip())[::2] for line in rows if "  t-" in line]
    assert tasks == [
        [ids["a1"], "A one"],
        [ids["a1s"], "└─ A one sub"],
        [ids["a2"], "A two"],
    ]
    shown = orch.json("group", "show", "B")["tasks"]
    assert [(t["task_id"], t["depth"]) for t in shown] == [
        (ids["b1"], 0),
        (ids["b1s"], 1),
        (ids["b1ss"], 2),
    ]


def test_group_show_puts_a_subtask_of_another_groups_task_under_no_task(tree):
    orch, ids = tree
    rows = orch("group", "show", "C").stdout.splitlines()
    tasks = [re.split(r" {2,}", line.strip()) for line in rows if "  t-" in line]
    assert [row[0] for row in tasks] == [ids["c1"], ids["x"]]
    assert tasks[1][2:] == ["A one sub in C", f"(subtask of {ids['a1']})"]
    assert [t["depth"] for t in orch.json("group", "show", "C")["tasks"]] == [0, 0]


def test_groups_whose_parents_loop_are_each_shown_once(tree):
    orch, ids = tree
    path = next(orch.root.glob(f".task_orchestrator/sessions/*/groups/{ids['A']}.md"))
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("parent_group_id: null", f"parent_group_id: {ids['B']}"))
    assert sorted(g["group_name"] for g in orch.json("group", "list")) == ["A", "B", "C"]
    shown = names(section(orch("status").stdout, "Groups"))
    assert sorted(name.removeprefix("└─ ") for name in shown) == ["A", "B", "C"]
    orch("sync")
    headings = [line for line in groups_region(orch).splitlines() if line.startswith("###")]
    assert sorted(h.lstrip("# ") for h in headings) == ["A", "B", "C", "Tasks without a group"]


# -- MCP ------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["sqlite"])  # one server start: the reply is the core's
def test_mcp_status_gives_the_groups_as_a_tree(tree):
    from mcp import Client, StdioServerParameters

    orch, ids = tree
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "orchestrator", "mcp", "--root", str(orch.root)],
        env=dict(os.environ),
    )

    async def status() -> dict:
        async with Client(server, read_timeout_seconds=60) as client:
            result = await client.call_tool("orchestrator_get_status", {})
            assert not result.is_error, result.content[0].text
            return result.structured_content or json.loads(result.content[0].text)

    groups = asyncio.run(status())["groups"]
    assert [(g["group_name"], g.get("parent_group_id")) for g in groups] == [
        ("A", None),
        ("B", ids["A"]),
        ("C", None),
    ]
