"""Session states as the spec's state machine has them, and messages that say what
happened (issue 17): a session whose session.md does not parse is listed in the error
state with its problem, and comes back when the file is fixed; a create is `creating`
until it is finished, and one a kill interrupted is named and finished by the doctor; a
commit names what it did to each session; an update that changes nothing writes nothing;
the MCP tools' defaults are the spec's; the index fills the spec's active_session and
session_modes columns. Through the CLI, the MCP client and plain files."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from mcp import Client

from tests.conftest import Orch, task_file


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout


def subjects(root: Path) -> list[str]:
    return git(root, "log", "--format=%s").splitlines()


def session_md(root: Path, session_id: str) -> Path:
    return root / ".task_orchestrator" / "sessions" / session_id / "session.md"


def tool_calls(root: Path, body):
    """Run `body(call)` against the MCP server over `root`, in process; `call(tool,
    **args)` returns (is_error, text, structured content)."""
    from orchestrator.mcp.server import build_server

    async def go():
        async with Client(build_server(root), read_timeout_seconds=60) as client:

            async def call(tool: str, **args):
                result = await client.call_tool(tool, args)
                return result.is_error, result.content[0].text, result.structured_content

            return await body(call)

    return asyncio.run(go())


@pytest.fixture
def orch(sqlite_project) -> Orch:
    return Orch(sqlite_project.root)


# -- a session.md that does not parse: the error state ------------------------------------


def test_a_session_whose_file_does_not_parse_is_listed_in_error_and_back_when_fixed(project):
    orch = Orch(project.root)
    broken = orch.json("session", "create", "Payments")["session_id"]
    path = session_md(project.root, broken)
    good = path.read_text(encoding="utf-8")
    path.write_text(good.replace("name: Payments", "name: [Payments"), encoding="utf-8")

    listed = orch("session", "list", code=None)
    assert "No sessions" not in listed.stdout
    assert broken in listed.stdout and "error" in listed.stdout
    [row] = orch.json("session", "list")
    assert row["session_id"] == broken and row["status"] == "error"
    where = row["problem"].split(" (column")[0]  # path:line: YAML error
    assert where.startswith(f".task_orchestrator/sessions/{broken}/session.md:")
    assert where.endswith(": YAML error") and where in listed.stdout
    shown = orch("session", "show", broken, code=None)
    assert "error" in shown.stdout and where in shown.stdout
    board = orch("status", code=None)
    assert broken in board.stdout and where in board.stdout

    path.write_text(good, encoding="utf-8")  # fixed: it reads as its file says
    [row] = orch.json("session", "list")
    assert row["status"] == "active" and row["name"] == "Payments" and "problem" not in row


def test_a_session_in_error_cannot_be_moved_and_the_active_one_stays(orch, sqlite_project):
    # Activating it paused the active session, committed that, then failed on the file.
    root = sqlite_project.root
    first = orch.json("session", "create", "First")["session_id"]
    second = orch.json("session", "create", "Second", "--switch")["session_id"]
    path = session_md(root, first)
    path.write_text(path.read_text().replace("name: First", "name: First: x"))
    orch("status")
    before = subjects(root)
    for verb in ("activate", "archive", "cancel"):
        refused = orch("session", verb, first, code=1)
        assert f"session {first} is in error: " in refused.stderr, verb
        assert "fix its file first" in refused.stderr and "(orch doctor)" in refused.stderr
    assert subjects(root) == before
    assert orch.json("session", "show", second)["status"] == "active"


def test_a_session_made_active_beside_one_in_error_is_warned_about_it(orch, sqlite_project):
    # The one in error may have been active: once fixed, two would be.
    root = sqlite_project.root
    first = orch.json("session", "create", "First")["session_id"]
    path = session_md(root, first)
    path.write_text(path.read_text().replace("name: First", "name: First: x"))
    created = orch("session", "create", "Second")
    assert f"session {first} is in error, so whether it is active is not known" in created.stderr


def test_mcp_lists_a_session_in_error_with_its_problem(orch, sqlite_project):
    root = sqlite_project.root
    broken = orch.json("session", "create", "Payments")["session_id"]
    orch("session", "pause", broken)
    orch("session", "create", "Search")
    path = session_md(root, broken)
    path.write_text(path.read_text().replace("name: Payments", "name: [Payments"))
    where = f".task_orchestrator/sessions/{broken}/session.md:"

    async def body(call):
        failed, _, listed = await call("orchestrator_session_list")
        assert not failed
        [shown] = [s for s in listed["sessions"] if s["session_id"] == broken]
        assert shown["status"] == "error" and shown["problem"].startswith(where)
        assert "YAML error" in shown["problem"]
        failed, _, status = await call("orchestrator_get_status")
        assert not failed
        [other] = status["other_sessions"]
        assert other["status"] == "error" and other["problem"].startswith(where)

    tool_calls(root, body)


# -- creating: until the create is finished --------------------------------------------------

# `orch session create`, killed (SIGKILL) when it comes to make the new session active:
# its files are written, and neither that step nor the commit happens.
KILLED_BEFORE_THE_COMMIT = textwrap.dedent(
    """
    import os, signal, sys
    import orchestrator.core.sessions
    from orchestrator.cli import cli

    def killed(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    orchestrator.core.sessions.set_session_status = killed
    cli(sys.argv[1:])
    """
)


def test_a_create_killed_before_its_commit_is_creating_until_the_doctor_finishes_it(
    orch, sqlite_project
):
    root = sqlite_project.root
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_BEFORE_THE_COMMIT, "--root", str(root), "session",
         "create", "Interrupted"],
        capture_output=True, text=True, cwd=root,
    )  # fmt: skip
    assert killed.returncode == -9, killed.stderr
    assert git(root, "status", "--porcelain", "--", ".task_orchestrator/sessions")  # not committed

    [row] = orch.json("session", "list")
    assert row["name"] == "Interrupted" and row["status"] == "creating"
    doctor = orch("doctor", code=None)
    assert f'session {row["session_id"]} "Interrupted" is still creating' in doctor.stdout

    fixed = orch("doctor", "--fix", code=None)
    assert f"finished creating session {row['session_id']} (active)" in fixed.stdout
    [row] = orch.json("session", "list")
    assert row["status"] == "active"
    assert "still creating" not in orch("doctor", code=None).stdout
    committed = git(
        root, "show", f"HEAD:.task_orchestrator/sessions/{row['session_id']}/session.md"
    )
    assert "status: active" in committed
    assert git(root, "status", "--porcelain", "--", ".task_orchestrator") == ""


def test_a_finished_create_leaves_no_session_creating(orch, sqlite_project):
    made = orch.json("session", "create", "Payments")
    assert made["status"] == "active" and made["activated_at"] == made["created_at"]
    committed = git(
        sqlite_project.root,
        "show",
        f"HEAD:.task_orchestrator/sessions/{made['session_id']}/session.md",
    )
    assert "status: active" in committed and "creating" not in committed


# -- commit messages that say what happened ---------------------------------------------


def test_create_with_switch_commits_what_it_did_to_each_session(orch, sqlite_project):
    first = orch.json("session", "create", "Payments")["session_id"]
    second = orch.json("session", "create", "Search", "--switch")["session_id"]
    assert subjects(sqlite_project.root)[0] == (
        f'orch: create {second} "Search", pause {first} "Payments"'
    )
    orch("session", "activate", first)
    assert subjects(sqlite_project.root)[0] == (
        f'orch: pause {second} "Search", activate {first} "Payments"'
    )


def test_a_task_update_that_changes_nothing_writes_and_commits_nothing(orch, sqlite_project):
    orch("session", "create", "Payments")
    task_id = orch.json("task", "add", "Write the parser", "--priority", "2")["task_id"]
    path = task_file(sqlite_project, task_id)
    before, commits = path.read_bytes(), subjects(sqlite_project.root)

    for args in ((), ("--title", "Write the parser", "--priority", "2")):
        said = orch("task", "update", task_id, *args)
        assert "Updated" not in said.stdout
        assert f'Nothing to change in {task_id} "Write the parser"' in said.stdout
    assert path.read_bytes() == before
    assert subjects(sqlite_project.root) == commits

    orch("task", "update", task_id, "--priority", "1")  # a change is still one
    assert subjects(sqlite_project.root)[0] == f'orch: update {task_id} "Write the parser"'


def test_mcp_task_update_that_changes_nothing_says_so_and_commits_nothing(orch, sqlite_project):
    root = sqlite_project.root
    orch("session", "create", "Payments")
    task_id = orch.json("task", "add", "Write the parser")["task_id"]
    before, commits = task_file(sqlite_project, task_id).read_bytes(), subjects(root)

    async def body(call):
        failed, text, _ = await call(
            "orchestrator_task_update", task_id=task_id, title="Write the parser"
        )
        assert not failed and "Nothing to change" in text and "Updated" not in text

    tool_calls(root, body)
    assert task_file(sqlite_project, task_id).read_bytes() == before
    assert subjects(root) == commits


# -- the MCP tools' defaults ---------------------------------------------------------------


def test_mcp_session_create_refuses_while_another_is_active_unless_switch(orch, sqlite_project):
    root = sqlite_project.root
    first = orch.json("session", "create", "Payments")["session_id"]

    async def body(call):
        failed, text, _ = await call(
            "orchestrator_session_create", name="Search", description="Find things."
        )
        assert failed and f'session {first} "Payments" is active' in text
        assert (
            "orchestrator_session_create(name='Search', description='Find things.',"
            " switch=true)" in text
        )
        failed, _, made = await call(
            "orchestrator_session_create", name="Search", description="Find things.", switch=True
        )
        assert not failed and made["session"]["status"] == "active"

    tool_calls(root, body)
    statuses = {s["name"]: s["status"] for s in orch.json("session", "list")}
    assert statuses == {"Payments": "paused", "Search": "active"}


def test_cli_session_create_keeps_refusing_without_switch(orch):
    orch("session", "create", "Payments")
    refused = orch("session", "create", "Search", "-d", "Find things.", code=1)
    assert "orch session create Search --description 'Find things.' --switch" in refused.stderr


def test_mcp_mode_list_leaves_invalid_modes_out_unless_asked(orch, sqlite_project):
    root = sqlite_project.root
    (root / ".task_orchestrator" / "roles" / "broken_roles.yaml").write_text(
        "task_orchestrator: [unclosed\n", encoding="utf-8"
    )

    async def body(call):
        failed, _, listed = await call("orchestrator_mode_list")
        assert not failed
        names = {m["mode_id"] for m in listed["modes"]}
        assert "default_roles.yaml" in names and "broken_roles.yaml" not in names
        failed, _, everything = await call("orchestrator_mode_list", include_invalid=True)
        assert not failed
        [broken] = [m for m in everything["modes"] if m["mode_id"] == "broken_roles.yaml"]
        assert broken["is_valid"] is False or broken["is_valid"] == 0

    tool_calls(root, body)


def test_mcp_search_takes_one_content_type_or_a_list(orch, sqlite_project):
    orch("session", "create", "Payments")
    orch("task", "add", "Write the parser")

    async def body(call):
        one = await call("orchestrator_search", query="parser", content_types="tasks")
        listed = await call("orchestrator_search", query="parser", content_types=["tasks"])
        assert not one[0] and not listed[0], (one[1], listed[1])
        assert one[2]["task_total"] == listed[2]["task_total"] == 1

    tool_calls(sqlite_project.root, body)


# -- the spec's index columns --------------------------------------------------------------


def test_the_active_session_row_holds_the_context_agents_read(project):
    orch = Orch(project.root)
    made = orch.json("session", "create", "Payments", "-d", "Ship v2 of the API.",
                     "--mode", "research")  # fmt: skip
    with project.reading() as db:
        context = db.scalar("SELECT context_data FROM active_session")
    context = json.loads(context) if isinstance(context, str) else context
    assert context["session_id"] == made["session_id"] and context["name"] == "Payments"
    assert context["description"] == "Ship v2 of the API."
    assert context["effective_mode"] == "research_roles.yaml"
    assert "researcher" in context["specialist_roles"]


def test_mode_rows_carry_the_times_of_their_files(project):
    path = project.root / ".task_orchestrator" / "roles" / "research_roles.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    os.utime(path, (1_800_000_000, 1_800_000_000))  # 2027-01-15T08:00:00Z
    Orch(project.root)("mode", "list")
    with project.reading() as db:
        row = db.record(
            "SELECT created_at, updated_at, last_validated_at FROM session_modes"
            " WHERE mode_id = 'research_roles.yaml'"
        )
    assert row == {
        "created_at": "2027-01-15T08:00:00.000Z",
        "updated_at": "2027-01-15T08:00:00.000Z",
        "last_validated_at": "2027-01-15T08:00:00.000Z",
    }


def test_error_typed_as_a_sessions_status_is_a_problem_of_its_file(orch, sqlite_project):
    # The doctor found nothing, and session list said the file "cannot be read".
    root = sqlite_project.root
    first = orch.json("session", "create", "First")["session_id"]
    path = session_md(root, first)
    path.write_text(path.read_text().replace("status: active", "status: error"))
    said = orch("doctor", code=1).stdout
    assert "status: error is the state of a session whose file cannot be read" in said
    [row] = orch.json("session", "list")
    assert row["status"] == "error"
    assert row["problem"].startswith(f".task_orchestrator/sessions/{first}/session.md:")
    assert "status: error is the state" in row["problem"]
