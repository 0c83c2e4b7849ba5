"""A task's labels, assignee, due date and acceptance criteria: written in the file,
filtered on in the index (both engines, a rebuild answering the same), merged as sets,
refused with the file, line and field when malformed, served by MCP and the board."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from datetime import date

import pytest

from orchestrator.core import task_fields
from orchestrator.store.merge import merge_texts
from orchestrator.store.record_file import dump_yaml, load_yaml, split_frontmatter
from tests.conftest import Orch, edit, task_file
from tests.mcp_agent import Agent, connected

TODAY = date(2026, 12, 2)


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    """ "today" is set, so due dates and overdue never depend on the day a test runs."""
    monkeypatch.setattr(task_fields, "today", lambda: TODAY)


@pytest.fixture
def started(project) -> Orch:
    orch = Orch(project.root)
    orch("session", "create", "Shop")
    return orch


def add(orch: Orch, title: str, *args: str) -> str:
    return orch.json("task", "add", title, *args)["task_id"]


def frontmatter(project, task_id: str) -> dict:
    return load_yaml(split_frontmatter(task_file(project, task_id).read_text())[0])


def titles(rows: list[dict]) -> list[str]:
    return sorted(r["title"] for r in rows)


# -- the index, on both engines -------------------------------------------------------------


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
def test_listing_filters_by_labels_assignee_and_overdue_and_a_rebuild_answers_the_same(
    project, started
):
    orch = started
    add(orch, "Login bug", "--label", "bug,ui", "--assignee", "ana", "--due", "2026-12-01")
    add(orch, "Layout", "--label", "ui", "--assignee", "bo", "--due", "2026-12-09")
    done = add(orch, "Old bug", "--label", "bug", "--assignee", "ana", "--due", "2026-11-01")
    orch("task", "done", done)
    add(orch, "Plain")
    queries = {
        ("--label", "bug"): ["Login bug", "Old bug"],
        ("--label", "bug", "--label", "ui"): ["Login bug"],
        ("--label", "ui,bug"): ["Login bug"],
        ("--assignee", "ana"): ["Login bug", "Old bug"],
        ("--overdue",): ["Login bug"],  # the finished one is not overdue
        ("--label", "ui", "--assignee", "bo"): ["Layout"],
        ("--label", "nothing"): [],
    }
    answers = {q: titles(orch.json("task", "list", *q)) for q in queries}
    assert answers == queries
    table = orch("task", "list").stdout
    assert "LABELS" in table and "bug,ui" in table and "2026-12-09" in table
    before = {q: orch("task", "list", *q, "--json").stdout for q in queries}
    shutil.rmtree(project.layout.index_dir)
    orch("reindex")
    assert {q: orch("task", "list", *q, "--json").stdout for q in queries} == before


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
def test_search_filters_by_label_and_assignee(project, started):
    orch = started
    add(orch, "Parser crash", "--label", "bug", "--assignee", "ana")
    add(orch, "Parser docs", "--label", "docs", "--assignee", "bo")
    found = orch.json("search", "parser", "--label", "bug")
    assert titles(found["tasks"]) == ["Parser crash"]
    assert titles(orch.json("search", "parser", "--assignee", "bo")["tasks"]) == ["Parser docs"]
    assert orch.json("search", "parser", "--label", "bug", "--assignee", "bo")["tasks"] == []


# -- the files ------------------------------------------------------------------------------


@pytest.fixture
def engine() -> str:
    """Below, the files and the commands: SQLite (the index tests above name both)."""
    return "sqlite"


def test_add_writes_the_facts_in_the_frontmatter_and_show_gives_them(project, started):
    orch = started
    task_id = add(orch, "Checkout", "--label", "shop", "--label", "needs review, ui",
                  "--assignee", " ana ", "--due", "2026-12-24")  # fmt: skip
    fields = frontmatter(project, task_id)
    assert fields["labels"] == ["shop", "needs review", "ui"]
    assert fields["assignee"] == "ana" and fields["due"] == "2026-12-24"
    shown = orch("task", "show", task_id).stdout
    assert "shop, needs review, ui" in shown and "ana" in shown and "2026-12-24" in shown
    plain = add(orch, "Plain")
    assert not {"labels", "assignee", "due"} & set(frontmatter(project, plain))
    assert "LABELS" not in orch("task", "list", "--assignee", "nobody").stdout


def test_a_listing_shows_the_columns_only_when_a_task_has_them(started):
    orch = started
    add(orch, "Plain")
    assert "ASSIGNEE" not in orch("task", "list").stdout
    add(orch, "Someone's", "--assignee", "ana")
    table = orch("task", "list").stdout
    assert "ASSIGNEE" in table and "LABELS" not in table and "DUE" not in table


def test_update_replaces_adds_and_removes_labels_and_clears_assignee_and_due(project, started):
    orch = started
    task_id = add(orch, "Checkout", "--label", "a,b", "--assignee", "ana", "--due", "+3d")
    assert frontmatter(project, task_id)["due"] == "2026-12-05"
    orch("task", "update", task_id, "--add-label", "c", "--remove-label", "a")
    assert frontmatter(project, task_id)["labels"] == ["b", "c"]
    orch("task", "update", task_id, "--label", "x", "--assignee", "", "--due", "")
    fields = frontmatter(project, task_id)
    assert fields["labels"] == ["x"] and "assignee" not in fields and "due" not in fields
    orch("task", "update", task_id, "--no-labels")
    assert "labels" not in frontmatter(project, task_id)
    again = orch.json("task", "update", task_id, "--no-labels")
    assert again["changed"] is False  # nothing to change: no write, no commit


@pytest.mark.parametrize(
    ("given", "stored"),
    [("today", "2026-12-02"), ("tomorrow", "2026-12-03"), ("+10d", "2026-12-12"),
     ("+2w", "2026-12-16"), ("2027-01-31", "2027-01-31"), ("", "")],
)  # fmt: skip
def test_due_reads_a_date_or_a_day_counted_from_today(given, stored):
    assert task_fields.due_of(given) == stored


def test_a_due_that_is_no_date_is_refused_naming_the_formats(started):
    for bad in ("2026-13-01", "2026-02-30", "next week", "12/24"):
        out = started("task", "add", "X", "--due", bad, code=2)
        assert f"due {bad!r} is not a date" in out.stderr and "YYYY-MM-DD" in out.stderr
    assert started.json("task", "list") == []  # nothing was written


def test_bad_fields_in_a_file_are_problems_naming_the_line_field_and_form(project, started):
    orch = started
    task_id = add(orch, "Checkout")
    path = task_file(project, task_id)
    edit(path, "priority_level: 3\n",
         "priority_level: 3\ndue: 2026-13-01\nlabels: [ok, 'a,b']\nassignee: [ana, bo]\n")  # fmt: skip
    problems = orch("doctor", code=None).stdout
    rel = path.relative_to(project.root)
    assert f"{rel}:" in problems
    lines = path.read_text().splitlines()
    due_line = lines.index("due: 2026-13-01") + 1
    assert (f"{rel}:{due_line}: due: '2026-13-01' is not a date as YYYY-MM-DD"
            " — write it like due: 2026-12-01") in problems  # fmt: skip
    assert "labels[1]: 'a,b' is not a label" in problems
    assert "assignee: ['ana', 'bo'] is not a name on one line" in problems
    # The rest of the task still reads; the bad fields count as unset.
    shown = orch.json("task", "show", task_id)
    assert shown["title"] == "Checkout" and shown["due"] is None and shown["labels"] == []
    edit(path, "due: 2026-13-01", "due: 2026-02-30")  # passes the pattern, not the calendar
    assert "due: '2026-02-30' is not a date" in orch("doctor", code=None).stdout


def test_acceptance_criteria_are_a_checklist_counted_and_listed(project, started):
    orch = started
    task_id = add(orch, "Checkout", "-d", "Pay by card.",
                  "--acceptance", "card accepted", "--acceptance", "receipt sent")  # fmt: skip
    text = task_file(project, task_id).read_text()
    assert text.endswith(
        "\nPay by card.\n\n## Acceptance criteria\n\n- [ ] card accepted\n- [ ] receipt sent\n"
    )
    assert "acceptance" not in frontmatter(project, task_id)
    edit(task_file(project, task_id), "- [ ] receipt sent", "- [x] receipt sent")
    shown = orch.json("task", "show", task_id)
    assert shown["acceptance"] == {
        "done": 1, "total": 2,
        "items": [{"text": "card accepted", "done": False}, {"text": "receipt sent", "done": True}],
    }  # fmt: skip
    out = orch("task", "show", task_id).stdout
    assert "acceptance  1/2" in out and "[x] receipt sent" in out and "[ ] card accepted" in out
    assert out.count("card accepted") == 1  # listed once, not again with the text
    none = orch.json("task", "show", add(orch, "Plain"))["acceptance"]
    assert none == {"done": 0, "total": 0, "items": []}


# -- merges ---------------------------------------------------------------------------------


def record(**fields) -> str:
    base = {"task_id": "t-05082545", "session_id": "s-d8917066", "title": "Checkout",
            "labels": ["shop"], "last_updated_at": "2026-11-25T23:35:14.947Z"}  # fmt: skip
    return f"---\n{dump_yaml(base | fields)}---\n\nText.\n"


def test_labels_two_sides_add_merge_as_a_set():
    result = merge_texts(record(), record(labels=["shop", "bug"]), record(labels=["ui", "shop"]))
    assert result.clean
    assert load_yaml(split_frontmatter(result.text)[0])["labels"] == ["shop", "bug", "ui"]
    removed = merge_texts(record(), record(labels=[]), record(labels=["shop", "ui"]))
    assert load_yaml(split_frontmatter(removed.text)[0])["labels"] == ["ui"]


def git(cwd, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_two_clones_adding_different_labels_keep_both_through_git_merge(tmp_path):
    from tests.test_sync import clone_pair

    orch_a, orch_b, a, b, task_id = clone_pair(tmp_path)
    orch_b("git", "install")
    orch_a("task", "update", task_id, "--add-label", "bug", "--assignee", "ana")
    orch_b("task", "update", task_id, "--add-label", "ui", "--due", "2026-12-24")
    git(b, "fetch", "-q", str(a), "main")
    git(b, "merge", "-q", "--no-edit", "FETCH_HEAD")  # through orch's merge driver
    shown = orch_b.json("task", "show", task_id)
    assert sorted(shown["labels"]) == ["bug", "ui"]
    assert (shown["assignee"], shown["due"]) == ("ana", "2026-12-24")
    assert orch_b.json("conflicts") == []
    assert [t["task_id"] for t in orch_b.json("task", "list", "--label", "bug,ui")] == [task_id]


# -- MCP and the board ----------------------------------------------------------------------


def test_mcp_task_tools_set_and_filter_the_fields(project, started):
    from orchestrator.mcp.server import build_server

    async def body(agent: Agent):
        made = await agent.ok("orchestrator_task_create", title="Checkout", labels="shop,ui",
                              assignee="ana", due="tomorrow", acceptance=["card accepted"])  # fmt: skip
        task_id = made["task"]["task_id"]
        await agent.ok("orchestrator_task_create", title="Other", labels="docs")
        bad = await agent.error("orchestrator_task_update", task_id=task_id, due="soon")
        changed = await agent.ok("orchestrator_task_update", task_id=task_id, labels="shop")
        listed = await agent.ok("orchestrator_task_list", labels="shop", assignee="ana")
        overdue = await agent.ok("orchestrator_task_list", overdue=True)
        got = await agent.ok("orchestrator_task_get", task_id=task_id)
        return task_id, bad, changed, listed, overdue, got

    task_id, bad, changed, listed, overdue, got = connected(build_server(project.root), body)
    assert "YYYY-MM-DD" in bad
    assert changed["task"]["labels"] == ["shop"] and changed["task"]["assignee"] == "ana"
    assert [t["task_id"] for t in listed["tasks"]] == [task_id] and overdue["tasks"] == []
    assert got["task"]["due"] == "2026-12-03"
    assert got["task"]["acceptance"]["total"] == 1


def asgi_get(app, path: str, query: str) -> dict:
    """One GET through the board's ASGI app, as a browser on loopback would send it."""
    sent: list[dict] = []

    async def go():
        scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
                 "query_string": query.encode(), "headers": [(b"host", b"127.0.0.1:8765")],
                 "scheme": "http", "server": ("127.0.0.1", 8765), "client": ("127.0.0.1", 5),
                 "root_path": "", "http_version": "1.1"}  # fmt: skip

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        await app(scope, receive, send)

    asyncio.run(go())
    assert sent[0]["status"] == 200, sent
    return json.loads(b"".join(m.get("body", b"") for m in sent[1:]))["data"]


def test_the_board_filters_cards_by_label_and_assignee(project, started):
    from orchestrator.ui.app import Board, build_app

    orch = started
    add(orch, "Login bug", "--label", "bug", "--assignee", "ana", "--due", "2026-12-24")
    add(orch, "Layout", "--label", "ui", "--assignee", "bo")
    board = Board(project.root)
    try:
        app = build_app(board, hosts=None, token=None, port=8765)
        cards = lambda data: [c["title"] for col in data["columns"] for c in col["cards"]]  # noqa: E731
        every = asgi_get(app, "/api/board", "")
        assert sorted(cards(every)) == ["Layout", "Login bug"]
        assert every["labels"] == ["bug", "ui"] and every["assignees"] == ["ana", "bo"]
        bug = asgi_get(app, "/api/board", "label=bug")
        assert cards(bug) == ["Login bug"]
        [card] = [c for col in bug["columns"] for c in col["cards"]]
        assert (card["labels"], card["assignee"], card["due"]) == (["bug"], "ana", "2026-12-24")
        assert cards(asgi_get(app, "/api/board", "assignee=bo")) == ["Layout"]
        session = every["session"]["session_id"]
        more = asgi_get(app, "/api/column", f"session={session}&status=pending&label=ui")
        assert [c["title"] for c in more["cards"]] == ["Layout"]
    finally:
        board.close()


def test_a_blank_or_contradictory_label_is_refused_and_the_labels_kept(sqlite_project):
    orch = Orch(sqlite_project.root)
    orch("session", "create", "Shop")
    task = add(orch, "Fix", "--label", "a,b")
    assert "blank" in orch("task", "update", task, "--label", "  ", code=1).stderr
    assert "opposite" in orch("task", "update", task, "--label", "c", "--no-labels", code=2).stderr
    said = orch("task", "update", task, "--label", "a\u2028b", code=1).stderr
    assert "one line" in said
    assert orch.json("task", "show", task)["labels"] == ["a", "b"]
    assert "blank" in orch("task", "list", "--label", " ", code=1).stderr
    assert "blank" in orch("task", "list", "--assignee", " ", code=1).stderr
