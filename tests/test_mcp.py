"""The MCP server through the SDK's real client: in process for every tool, and over
stdio (a real `orch mcp` subprocess) for the whole workflow and for two agents at once."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from orchestrator.core.project import Project
from orchestrator.core.setup import init_project
from orchestrator.mcp.replies import REPLY_BUDGET
from orchestrator.mcp.server import build_server
from tests.conftest import SQLITE_NOW_DUCKDB_SLOW, copy_sample, git_init, set_engine
from tests.mcp_agent import (
    PLAN,
    Agent,
    connected,
    git_log,
    index_matches_rebuild,
    meta,
    run,
    task_file,
)

SPEC_TOOLS = {
    "orchestrator_session_create", "orchestrator_session_activate", "orchestrator_session_list",
    "orchestrator_session_archive", "orchestrator_session_pause", "orchestrator_session_complete",
    "orchestrator_session_cancel", "orchestrator_group_create", "orchestrator_group_move_tasks",
    "orchestrator_mode_select", "orchestrator_mode_list", "orchestrator_search",
    "orchestrator_cleanup", "orchestrator_initialize_session", "orchestrator_plan_task",
    "orchestrator_execute_subtask", "orchestrator_complete_subtask",
    "orchestrator_synthesize_results", "orchestrator_get_status",
    "orchestrator_maintenance_coordinator", "orchestrator_task_create",
    "orchestrator_task_update", "orchestrator_task_get", "orchestrator_task_delete",
    "orchestrator_task_cancel", "orchestrator_query_tasks", "orchestrator_task_list",
    "orchestrator_sync", "orchestrator_resolve_conflict", "orchestrator_note",
}  # fmt: skip


@pytest.fixture
def new_dir(tmp_path) -> Path:
    root = tmp_path / "work"
    root.mkdir()
    git_init(root)
    return root.resolve()


# -- the tool suite ----------------------------------------------------------------------


def test_every_spec_tool_is_served_with_schemas(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    async def body(agent: Agent):
        tools = {t.name: t for t in (await agent.client.list_tools()).tools}
        assert set(tools) >= SPEC_TOOLS
        for tool in tools.values():
            assert tool.description and tool.output_schema["type"] == "object"
        assert set(tools["orchestrator_complete_subtask"].input_schema["properties"]) >= {
            "task_id", "summary", "detailed_work", "file_paths", "artifact_type",
            "next_action", "results", "artifacts"}  # fmt: skip
        assert "subtasks_json" in tools["orchestrator_plan_task"].input_schema["properties"]
        message = await agent.error("orchestrator_get_status")
        assert "orchestrator_initialize_session(working_directory=" in message

    connected(build_server(tools="all"), body)


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
def test_workflow_initialize_plan_execute_complete_synthesize(new_dir, engine):
    async def body(agent: Agent):
        started = await agent.ok("orchestrator_initialize_session", working_directory=str(new_dir))
        assert started["project_root"] == str(new_dir) and started["session_created"]
        assert started["active_session"]["name"] == "work"  # the directory's name
        assert started["planner"]["role_definition"] and "architect" in started["specialist_roles"]
        assert (new_dir / ".task_orchestrator" / "config.yaml").exists()
        again = await agent.ok("orchestrator_initialize_session", working_directory=str(new_dir))
        assert not again["session_created"]
        await agent.ok("orchestrator_session_pause", session_id="work")
        set_engine(new_dir, engine)
        plan = await agent.ok(
            "orchestrator_plan_task",
            description="Parse config files\nThe app reads TOML today.",
            subtasks_json=json.dumps(PLAN),  # the legacy form
            complexity_level="complex",
            context="Keep the old format readable.",
        )
        assert plan["session_created"] and plan["session"]["name"] == "Parse config files"
        design, write, test = (s["task_id"] for s in plan["subtasks"])
        assert plan["subtasks"][1]["depends_on"] == [design]
        assert plan["subtasks"][2]["depends_on"] == [write]
        assert [r["task_id"] for r in plan["ready"]] == [design]
        parent = plan["parent_task"]["task_id"]
        refused = await agent.error("orchestrator_execute_subtask", task_id=write)
        assert design in refused  # the call that would succeed: the hint test below

        # A prefix of the id, as a person types it: long enough to name one task (ids are
        # random: two may share their first hex digits).
        n = 6
        while any(other.startswith(design[:n]) for other in (write, test, parent)):
            n += 1
        context = await agent.ok("orchestrator_execute_subtask", task_id=design[:n])
        assert context["task"]["status"] == "in_progress"
        assert context["specialist"]["role"] == "architect"
        assert context["specialist"]["role_definition"].startswith("You are a Senior Software")
        assert context["specialist"]["expertise"] and context["specialist"]["output_format"]
        assert context["parent"]["task_id"] == parent
        done = await agent.ok(
            "orchestrator_complete_subtask",
            task_id=design,
            summary="Grammar written as EBNF.",
            detailed_work="```ebnf\nconfig = { entry } ;\n```",
            file_paths=["docs/grammar.md"],
            artifact_type="design",
        )
        artifact = new_dir / done["artifact"]
        assert done["artifact"].endswith(f"artifacts/{design}/01-design.md")
        assert "config = { entry }" in artifact.read_text()
        assert [r["task_id"] for r in done["ready"]] == [write]
        text = task_file(new_dir, design).read_text()
        assert "## Results" in text and "Grammar written as EBNF." in text
        assert f"(../artifacts/{design}/01-design.md)" in text and "`docs/grammar.md`" in text

        context = await agent.ok("orchestrator_execute_subtask", task_id=write)
        assert context["dependencies"][0]["results"].startswith("Grammar written as EBNF.")
        await agent.ok(
            "orchestrator_complete_subtask",
            task_id=write,
            results="Parser done.",
            artifacts="src/parse.py",
        )  # older names
        assert "`src/parse.py`" in task_file(new_dir, write).read_text()
        await agent.ok("orchestrator_execute_subtask", task_id=test)
        revise = await agent.ok(
            "orchestrator_complete_subtask",
            task_id=test,
            summary="Two cases fail.",
            next_action="needs_revision",
        )
        assert revise["task"]["status"] == "needs_revision"
        final = await agent.ok("orchestrator_complete_subtask", task_id=test,
                               summary="All green.", next_action="complete")  # fmt: skip
        assert final["next_step"].startswith(f"every subtask of {parent}")
        synthesis = await agent.ok("orchestrator_synthesize_results", parent_task_id=parent)
        assert synthesis["parent_task"]["status"] == "completed" and synthesis["completed"] == 3
        status = await agent.ok("orchestrator_get_status", include_completed=True)
        assert status["active_session"]["progress_percentage"] == 100.0
        assert len(status["completed"]) == 4 and status["ready"] == []
        return parent

    parent = connected(build_server(), body)
    parent_text = task_file(new_dir, parent).read_text()
    assert "## Synthesis" in parent_text and "All green." in parent_text
    assert "Two cases fail." not in parent_text.split("## Synthesis")[1]  # the newest report
    assert "## Context" in parent_text
    subjects = git_log(new_dir)
    assert subjects[0] == f'orch: synthesize {parent} "Parse config files"'
    assert any(s.startswith("orch: plan ") for s in subjects)
    assert sum(s.startswith("orch: complete t-") for s in subjects) == 3
    assert any(s.startswith("orch: revise t-") for s in subjects)
    status = subprocess.run(["git", "status", "--porcelain"], cwd=new_dir, capture_output=True,
                            text=True).stdout.splitlines()  # fmt: skip
    assert [line for line in status if not line.endswith("config.yaml")] == []  # (the engine)
    index_matches_rebuild(new_dir)


def test_initialize_refuses_what_is_not_a_project_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    import orchestrator

    async def body(agent: Agent):
        assert "absolute path" in await agent.error(
            "orchestrator_initialize_session", working_directory="relative/dir"
        )
        assert "not an existing directory" in await agent.error(
            "orchestrator_initialize_session", working_directory=str(tmp_path / "missing")
        )
        install = Path(orchestrator.__file__).parent
        assert "install directory" in await agent.error(
            "orchestrator_initialize_session", working_directory=str(install)
        )
        assert not (install / ".task_orchestrator").exists()

    connected(build_server(), body)


def test_a_server_started_for_one_project_stays_in_it(sample, tmp_path):
    """With --root (or ORCH_ROOT) a client's working_directory cannot lead the server to
    another directory: not by `..`, an absolute path or a symbolic link pointing out. A
    folder inside the project is the project."""
    root = sample.root
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (root / "docs").mkdir(exist_ok=True)
    (root / "docs" / "link-out").symlink_to(outside)

    async def body(agent: Agent):
        for where in (str(outside), f"{root}/../elsewhere", "../elsewhere",
                      str(root / "docs" / "link-out")):  # fmt: skip
            said = await agent.error("orchestrator_initialize_session", working_directory=where)
            assert "outside it" in said and "orch mcp --root <its directory>" in said, said
            assert str(outside) not in said.replace(where, "")  # where a link leads stays unsaid
        assert not (outside / ".task_orchestrator").exists()
        (root / "docs" / "nested" / ".task_orchestrator").mkdir(parents=True)
        said = await agent.error(
            "orchestrator_initialize_session", working_directory=str(root / "docs" / "nested")
        )
        assert "another project" in said
        inside = await agent.ok(
            "orchestrator_initialize_session", working_directory=str(root / "docs")
        )
        assert inside["active_session"]["name"] == "Payments API v2"

    connected(build_server(root), body)


@pytest.mark.parametrize("engine", SQLITE_NOW_DUCKDB_SLOW)
def test_session_tools_follow_the_state_machine_and_archive_exports(sample):
    root = sample.root

    async def body(agent: Agent):
        listed = await agent.ok("orchestrator_session_list")
        assert [s["status"] for s in listed["sessions"]] == ["active", "paused"]
        made = await agent.ok("orchestrator_session_create", name="Spike",
                              description="Try things.", mode_file="research",
                              switch=True)  # fmt: skip
        spike = made["session"]["session_id"]
        assert made["session"]["mode_file"] == "research_roles.yaml"
        assert made["session"]["status"] == "active"
        paused = await agent.ok("orchestrator_session_pause", session_id=spike)
        assert paused["session"]["status"] == "paused"
        again = await agent.ok("orchestrator_session_activate", session_id="Spike")
        assert again["session"]["status"] == "active"
        await agent.ok("orchestrator_session_complete", session_id=spike)
        refused = await agent.error("orchestrator_session_pause", session_id=spike)
        assert "it is completed" in refused and "archived" in refused  # the allowed move
        for fmt in ("markdown", "json", "zip"):
            other = (await agent.ok("orchestrator_session_create", name=f"S {fmt}",
                                    switch=True))["session"]  # fmt: skip
            await agent.ok("orchestrator_task_create", title=f"Work {fmt}")
            refused = await agent.error("orchestrator_session_archive",
                                        session_id=other["session_id"])  # fmt: skip
            assert "it is active" in refused and "completed" in refused
            await agent.ok("orchestrator_session_complete", session_id=other["session_id"])
            out = await agent.ok("orchestrator_session_archive",
                                 session_id=other["session_id"], export_format=fmt)  # fmt: skip
            assert out["status"] == "archived"
            exported = root / out["export"]
            assert exported.parent.name == "archives" and exported.exists()
            if fmt == "zip":
                names = zipfile.ZipFile(exported).namelist()
                assert f"{other['session_id']}/session.md" in names
                assert any("/tasks/t-" in n for n in names)
            elif fmt == "json":
                data = json.loads(exported.read_text())
                assert data["sessions"][0]["session"]["frontmatter"]["status"] == "archived"
                assert data["sessions"][0]["tasks"][0]["frontmatter"]["title"] == "Work json"
            else:
                assert "Work markdown" in exported.read_text()
        cancelled = await agent.ok(
            "orchestrator_session_cancel", session_id="Developer docs revamp"
        )
        assert cancelled["session"]["status"] == "cancelled"
        default = await agent.ok("orchestrator_session_list")
        assert all(s["status"] != "archived" for s in default["sessions"])
        everything = await agent.ok("orchestrator_session_list", include_archived=True)
        assert sum(s["status"] == "archived" for s in everything["sessions"]) == 3
        only = await agent.ok("orchestrator_session_list", status_filter="cancelled")
        assert [s["name"] for s in only["sessions"]] == ["Developer docs revamp"]

    connected(build_server(root), body)
    assert any(s.startswith("orch: archive ") for s in git_log(root))


@pytest.mark.parametrize("engine", SQLITE_NOW_DUCKDB_SLOW)
def test_group_mode_and_task_record_tools(sample):
    root = sample.root

    async def body(agent: Agent):
        group = (await agent.ok("orchestrator_group_create", group_name="Hardening",
                                description="Make it robust.", specialist_focus="tester",
                                priority_level=2))["group"]  # fmt: skip
        sub = (await agent.ok("orchestrator_group_create", group_name="Fuzzing",
                              parent_group="Hardening"))["group"]  # fmt: skip
        assert sub["parent_group_id"] == group["group_id"]
        one = (await agent.ok("orchestrator_task_create", title="Fuzz the parser",
                              specialist_type="tester", priority_level=1, estimated_effort=3,
                              description="Use hypothesis."))["task"]  # fmt: skip
        two = (await agent.ok("orchestrator_task_create", title="Fix crashes",
                              dependencies=[one["task_id"]],
                              parent_task_id=None))["task"]  # fmt: skip
        moved = await agent.ok("orchestrator_group_move_tasks",
                               task_ids=[one["task_id"], two["task_id"]],
                               target_group="Fuzzing")  # fmt: skip
        assert moved["count"] == 2 and {t["task_group"] for t in moved["moved"]} == {"Fuzzing"}
        updated = await agent.ok("orchestrator_task_update", task_id=two["task_id"],
                                 title="Fix every crash", status="blocked",
                                 remove_dependencies=[one["task_id"]])  # fmt: skip
        assert updated["task"]["status"] == "blocked" and updated["task"]["depends_on"] == []
        shown = (await agent.ok("orchestrator_task_get", task_id=one["task_id"]))["task"]
        assert shown["description"] == "Use hypothesis." and shown["priority_level"] == 1
        missing = await agent.error("orchestrator_task_get", task_id=one["task_id"][:-1] + "x")
        assert "did you mean" in missing and one["task_id"] in missing
        cancelled = await agent.ok("orchestrator_task_cancel", task_id=two["task_id"],
                                   reason="Not needed after all.")  # fmt: skip
        assert cancelled["task"]["status"] == "cancelled"
        assert "Not needed after all." in task_file(root, two["task_id"]).read_text()
        child = (await agent.ok("orchestrator_task_create", title="Seed corpus",
                                parent_task_id=one["task_id"]))["task"]  # fmt: skip
        refused = await agent.error("orchestrator_task_delete", task_id=one["task_id"])
        assert "cascade" in refused and child["task_id"] in refused
        deleted = await agent.ok("orchestrator_task_delete", task_id=one["task_id"], cascade=True)
        assert set(deleted["deleted"]) == {one["task_id"], child["task_id"]}
        assert not list(root.glob(f".task_orchestrator/sessions/*/tasks/{one['task_id']}.md"))

        modes = await agent.ok("orchestrator_mode_list")
        assert {"default_roles.yaml", "research_roles.yaml"} <= {
            m["mode_id"] for m in modes["modes"]
        }
        bound = await agent.ok("orchestrator_mode_select", mode_file="research_roles.yaml")
        assert bound["binding"]["mode_id"] == "research_roles.yaml"
        bad = await agent.error("orchestrator_mode_select", mode_file="nonexistent")
        assert "available:" in bad

        note = await agent.ok("orchestrator_note", kind="decision", text="Fuzz with hypothesis.")
        assert "Fuzz with hypothesis." in (root / note["file"]).read_text()

    connected(build_server(root), body)
    assert "orch: delete 2 tasks" in git_log(root)
    index_matches_rebuild(root)


def test_task_list_pages_stay_small_and_cover_everything(sqlite_project):
    root = sqlite_project.root
    long = "A rather long task title that an agent wrote to be very descriptive indeed"

    async def body(agent: Agent):
        await agent.ok("orchestrator_session_create", name="Big")
        items = [{"title": f"{long} #{n}", "specialist_type": "implementer"} for n in range(230)]
        await agent.ok("orchestrator_plan_task", description="Many things", subtasks=items)
        seen, cursor, pages = [], None, 0
        while True:
            args = {"cursor": cursor} if cursor else {}
            size = await agent.size("orchestrator_task_list", **args)
            assert size <= REPLY_BUDGET
            page = await agent.ok("orchestrator_task_list", **args)
            assert page["total"] == 231
            assert set(page["tasks"][0]) == {"task_id", "title", "status", "task_group",
                                             "specialist_type", "priority_level"}  # fmt: skip
            seen += [t["task_id"] for t in page["tasks"]]
            pages += 1
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen)) == 231 and pages >= 5
        legacy = await agent.ok("orchestrator_query_tasks", status="pending", limit=5)
        assert len(legacy["tasks"]) == 5 and legacy["next_cursor"]
        picked = await agent.ok("orchestrator_task_list", fields=["task_id", "file_path"], limit=3)
        assert set(picked["tasks"][0]) == {"task_id", "file_path"}
        assert "unknown task field" in await agent.error("orchestrator_task_list", fields=["nope"])
        assert "cursor" in await agent.error("orchestrator_task_list", cursor="garbage!")
        ready = await agent.ok("orchestrator_task_list", ready=True, limit=10)
        assert ready["total"] == 230  # the parent waits for its subtasks
        assert await agent.size("orchestrator_get_status") <= REPLY_BUDGET

    connected(build_server(root, tools="all"), body)  # with the legacy name


@pytest.mark.parametrize("engine", SQLITE_NOW_DUCKDB_SLOW)
def test_search_scopes_and_content_types(tmp_path, engine):
    root = copy_sample(tmp_path / "sample", engine).root

    async def body(agent: Agent):
        await agent.ok("orchestrator_task_create", title="Parser for webhook payloads",
                       description="Reject payloads without a signature.")  # fmt: skip
        await agent.ok("orchestrator_note", kind="decision", text="Payloads are versioned.")
        await agent.ok("orchestrator_note", kind="learning", text="Payload sizes vary a lot.")
        await agent.ok("orchestrator_task_create", title="Audit the logs",
                       description="Look for zebras in the request logs.")  # fmt: skip
        await agent.ok("orchestrator_task_create", title="Zebra crossing for the API")
        ranked = await agent.ok("orchestrator_search", query="zebra")
        assert [t["title"] for t in ranked["tasks"]] == [
            "Zebra crossing for the API",
            "Audit the logs",
        ]  # the title weighs more
        assert "**zebras**" in ranked["tasks"][1]["snippet"]
        found = await agent.ok("orchestrator_search", query="payload")
        titles = [t["title"] for t in found["tasks"]]
        assert "Parser for webhook payloads" in titles
        kinds = {n["kind"] for n in found["notes"]}
        assert kinds == {"decision", "learning"}
        decisions = await agent.ok("orchestrator_search", query="payload",
                                   content_types=["decisions"])  # fmt: skip
        assert "tasks" not in decisions and [n["kind"] for n in decisions["notes"]] == ["decision"]
        only_tasks = await agent.ok("orchestrator_search", query="sign", content_types=["tasks"])
        assert "notes" not in only_tasks
        assert any("signature" in t["snippet"] for t in only_tasks["tasks"])  # a prefix
        docs = await agent.ok("orchestrator_search", query="docs", scope="all_sessions")
        assert {t["session_id"] for t in docs["tasks"]} >= {"s-f626d0c8"}
        assert (await agent.ok("orchestrator_search", query="docs", scope="archived"))[
            "task_total"
        ] == 0
        filtered = await agent.ok("orchestrator_search", query="payload", status=["completed"])
        assert filtered["task_total"] == 0
        assert "at least one word" in await agent.error("orchestrator_search", query="  !! ")

    connected(build_server(root), body)


def test_cleanup_dry_run_changes_nothing_and_apply_fixes_in_one_commit(sample):
    root = sample.root

    async def body(agent: Agent):
        task = (await agent.ok("orchestrator_task_create", title="Lonely"))["task"]
        path = task_file(root, task["task_id"])
        text = path.read_text().replace("depends_on: []\n", "")
        path.write_text(
            text.replace("title: Lonely\n", "title: Lonely\ndepends_on:\n- t-deadbeef\n")
        )
        await agent.ok("orchestrator_sync")
        await agent.ok("orchestrator_group_create", group_name="Empty")

        def state():
            files = sorted(p for p in root.rglob("*") if p.is_file() and ".index" not in p.parts
                           and ".git" not in p.parts)  # fmt: skip
            status = subprocess.run(["git", "status", "--porcelain"], cwd=root,
                                    capture_output=True, text=True).stdout  # fmt: skip
            return status, {p: hashlib.sha1(p.read_bytes()).hexdigest() for p in files}

        before = state()
        dry = await agent.ok("orchestrator_cleanup")
        kinds = {f["kind"] for f in dry["findings"]}
        assert {"dangling_dependency", "empty_group"} <= kinds and dry["dry_run"] is True
        assert state() == before
        scan = await agent.ok("orchestrator_maintenance_coordinator", action="scan_cleanup")
        assert scan["findings_total"] == dry["findings_total"] and state() == before
        commits = len(git_log(root))
        applied = await agent.ok("orchestrator_cleanup", dry_run=False, empty_groups=True)
        assert applied["applied"] == dry["findings_total"]
        assert len(git_log(root)) == commits + 1 and git_log(root)[0].startswith("orch: cleanup")
        assert meta(path).get("depends_on") in ([], None)
        assert (await agent.ok("orchestrator_cleanup"))["findings"] == []

    connected(build_server(root), body)


@pytest.mark.parametrize("engine", SQLITE_NOW_DUCKDB_SLOW)
def test_maintenance_sync_conflicts_and_resources(sample):
    root = sample.root

    async def body(agent: Agent):
        task = (await agent.ok("orchestrator_task_create", title="Contested"))["task"]
        path = task_file(root, task["task_id"])
        text = path.read_text().replace("title: Contested\n", "title: Ours\norch_conflict:\n"
                                        "  title:\n    base: Contested\n    ours: Ours\n"
                                        "    theirs: Theirs\n")  # fmt: skip
        path.write_text(text)
        synced = await agent.ok("orchestrator_sync")
        assert synced["conflicts"] == [task["task_id"]]
        listed = await agent.ok("orchestrator_conflicts")
        assert listed["conflicts"][0]["fields"] == ["title"]
        status = await agent.ok("orchestrator_get_status")
        assert status["conflicts"] == [task["task_id"]]
        resolved = await agent.ok("orchestrator_resolve_conflict", record_id=task["task_id"],
                                  strategy="md_wins")  # fmt: skip
        assert resolved["strategy"] == "md_wins" and meta(path)["title"] == "Theirs"

        checked = await agent.ok("orchestrator_maintenance_coordinator",
                                 action="validate_structure")  # fmt: skip
        assert checked["problems_total"] == 0 and checked["invalid_modes"] == []
        docs = await agent.ok("orchestrator_maintenance_coordinator",
                              action="update_documentation")  # fmt: skip
        assert "commits" in docs
        handover = await agent.ok("orchestrator_maintenance_coordinator",
                                  action="prepare_handover")  # fmt: skip
        assert handover["handover"].startswith("Handover: ")
        session_md = (root / handover["file"]).read_text()
        assert "### Next Steps" in session_md and "Handover: " in session_md

        active = json.loads((await agent.client.read_resource("orch://session/active"))
                            .contents[0].text)  # fmt: skip
        assert active["session"]["name"] == "Payments API v2"
        assert active["markdown_path"].endswith("session.md") and active["groups"]
        assert active["mode"]["specialist_roles"]
        one = json.loads((await agent.client.read_resource(f"orch://task/{task['task_id']}"))
                         .contents[0].text)  # fmt: skip
        assert one["title"] == "Theirs"

    connected(build_server(root), body)


@pytest.mark.parametrize("engine", SQLITE_NOW_DUCKDB_SLOW)
def test_edits_between_calls_are_seen_at_the_next_call(sample):
    """The server finds changes from its change journal, not a stat of every file: an
    edit saved just before a call, a new session folder, a deleted file."""
    root = sample.root

    async def body(agent: Agent):
        server_project = server.orch.project
        task = (await agent.ok("orchestrator_task_create", title="Before"))["task"]
        for n in range(3):
            path = task_file(root, task["task_id"])
            path.write_text(path.read_text().replace(meta(path)["title"], f"Edited {n}"))
            got = await agent.ok("orchestrator_task_get", task_id=task["task_id"])
            assert got["task"]["title"] == f"Edited {n}"
        if server_project.monitor is not None:
            assert server_project.monitor.trusted
        other = Project(root)
        from orchestrator.core.sessions import create_session
        from orchestrator.core.tasks import add_task

        made = create_session(other, "Made elsewhere", switch=True)
        add_task(other, "Elsewhere task")
        status = await agent.ok("orchestrator_get_status")
        assert status["active_session"]["session_id"] == made["session_id"]
        listed = await agent.ok("orchestrator_task_list")
        assert [t["title"] for t in listed["tasks"]] == ["Elsewhere task"]
        task_file(root, listed["tasks"][0]["task_id"]).unlink()
        assert (await agent.ok("orchestrator_task_list"))["total"] == 0

    server = build_server(root)
    connected(server, body)


def test_print_config_names_this_machines_command(sample, tmp_path):
    from click.testing import CliRunner

    from orchestrator.cli import cli

    result = CliRunner().invoke(cli, ["mcp", "--root", str(sample.root), "--print-config"])
    assert result.exit_code == 0, result.output
    assert "claude mcp add orch -- " in result.output
    blocks = [b for b in result.output.split("\n\n") if b.strip().startswith("# ")]
    desktop = json.loads(blocks[0].split("\n", 1)[1])
    assert desktop["mcpServers"]["orch"]["args"] == ["mcp", "--root", str(sample.root)]


# -- over stdio: a real `orch mcp` process -------------------------------------------------


def stdio(root: Path | None = None) -> StdioServerParameters:
    args = ["-m", "orchestrator", "mcp"] + (["--root", str(root)] if root else [])
    return StdioServerParameters(command=sys.executable, args=args)


def test_stdio_server_runs_the_whole_workflow(new_dir, tmp_path):
    async def body(agent: Agent):
        await agent.ok("orchestrator_initialize_session", working_directory=str(new_dir))
        plan = await agent.ok("orchestrator_plan_task", description="Ship the CLI",
                              subtasks=PLAN)  # fmt: skip
        for sub in plan["subtasks"]:
            context = await agent.ok("orchestrator_execute_subtask", task_id=sub["task_id"])
            assert context["specialist"]["role"] == sub["specialist_type"]
            await agent.ok(
                "orchestrator_complete_subtask",
                task_id=sub["task_id"],
                summary=f"Did {sub['title']}.",
                detailed_work="Long report.\n" * 50,
            )
        parent = plan["parent_task"]["task_id"]
        out = await agent.ok("orchestrator_synthesize_results", parent_task_id=parent)
        assert out["parent_task"]["status"] == "completed"
        status = await agent.ok("orchestrator_get_status")
        assert status["active_session"]["completed_tasks"] == 4
        return plan

    plan = connected(stdio(), body)
    for sub in plan["subtasks"]:
        [artifact] = new_dir.glob(f".task_orchestrator/sessions/*/artifacts/{sub['task_id']}/*.md")
        assert artifact.read_text().count("Long report.") == 50
        assert meta(task_file(new_dir, sub["task_id"]))["status"] == "completed"
    trailers = git_log(new_dir, "%(trailers:key=Orch-Op,valueonly)")
    ops = [t for t in trailers if t]
    assert ops.count("complete") == 3 and ops.count("start") == 3 and "plan" in ops
    assert ops[0] == "synthesize"
    index_matches_rebuild(new_dir)


def test_a_server_started_for_a_directory_with_no_project_serves_initialize(new_dir):
    # It exited at start ("has no .task_orchestrator/ folder"), and the client saw only
    # "Connection closed".
    async def body(agent: Agent):
        said = await agent.error("orchestrator_get_status")
        assert f"{new_dir} has no orch project yet" in said
        assert "orchestrator_initialize_session(working_directory=" in said
        await agent.ok("orchestrator_initialize_session", working_directory=str(new_dir))
        return await agent.ok("orchestrator_get_status")

    status = connected(stdio(new_dir), body)
    assert status["active_session"]["name"] == new_dir.name
    assert (new_dir / ".task_orchestrator" / "sessions").is_dir()
    assert any("create" in subject for subject in git_log(new_dir, "%s"))


def test_a_server_started_for_a_path_that_is_no_directory_still_fails_at_start(tmp_path):
    with pytest.raises(Exception):  # noqa: B017 - the SDK's error for a process that exits
        connected(stdio(tmp_path / "missing"), lambda agent: agent.ok("orchestrator_get_status"))


def test_two_server_processes_completing_tasks_at_once_lose_nothing(tmp_path):
    root = tmp_path / "shared"
    root.mkdir()
    git_init(root)
    project, _ = init_project(root)
    from orchestrator.core.sessions import create_session
    from orchestrator.core.tasks import add_task

    create_session(project, "Together")
    ids = [add_task(project, f"Task {n}")["task_id"] for n in range(16)]
    halves = ids[::2], ids[1::2]

    async def agent_run(mine: list[str], name: str) -> None:
        async with Client(stdio(root), read_timeout_seconds=60) as client:
            agent = Agent(client)
            for task_id in mine:
                await agent.ok("orchestrator_execute_subtask", task_id=task_id)
                await agent.ok(
                    "orchestrator_complete_subtask",
                    task_id=task_id,
                    summary=f"{name} did it.",
                    detailed_work=f"{name}'s notes",
                )
            status = await agent.ok("orchestrator_get_status")
            assert status["active_session"]["total_tasks"] == 16

    async def both():
        await asyncio.gather(agent_run(halves[0], "Ada"), agent_run(halves[1], "Grace"))

    run(both())
    for n, task_id in enumerate(ids):
        text = task_file(root, task_id).read_text()
        who = "Ada" if n % 2 == 0 else "Grace"
        assert meta(task_file(root, task_id))["status"] == "completed"
        assert f"{who} did it." in text
    subjects = git_log(root)
    assert sum(s.startswith("orch: complete t-") for s in subjects) == 16
    assert sum(s.startswith("orch: start t-") for s in subjects) == 16
    status = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True,
                            text=True).stdout  # fmt: skip
    assert status == ""
    index_matches_rebuild(root)
