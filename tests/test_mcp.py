"""The MCP server through the SDK's real client: in process for every tool, and over
stdio (a real `orch mcp` subprocess) for the whole workflow and for two agents at once."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from mcp import Client, StdioServerParameters

from orchestrator.core.project import Project
from orchestrator.core.setup import init_project
from orchestrator.mcp.replies import REPLY_BUDGET
from orchestrator.mcp.server import build_server
from tests.conftest import copy_sample, git_init, set_engine

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

PLAN = [
    {"title": "Design the grammar", "description": "EBNF for the config format.",
     "specialist_type": "architect", "estimated_effort": "2h"},
    {"title": "Write the parser", "specialist_type": "implementer",
     "dependencies": ["Design the grammar"], "estimated_effort": 3},
    {"title": "Test the parser", "specialist_type": "tester", "dependencies": [2],
     "estimated_effort": "90m"},
]  # fmt: skip


class Agent:
    """A connected client with helpers that check the reply."""

    def __init__(self, client: Client):
        self.client = client

    async def ok(self, tool: str, **args) -> dict:
        result = await self.client.call_tool(tool, args)
        assert not result.is_error, result.content[0].text
        assert result.content[0].text  # the short text beside the data
        return result.structured_content

    async def error(self, tool: str, **args) -> str:
        result = await self.client.call_tool(tool, args)
        assert result.is_error, result.structured_content
        return result.content[0].text

    async def size(self, tool: str, **args) -> int:
        result = await self.client.call_tool(tool, args)
        assert not result.is_error, result.content[0].text
        text = sum(len(b.text.encode()) for b in result.content)
        data = json.dumps(result.structured_content, separators=(",", ":"), ensure_ascii=False)
        return text + len(data.encode())


def run(coro):
    return asyncio.run(coro)


def connected(server_or_params, body):
    async def go():
        async with Client(server_or_params, read_timeout_seconds=60) as client:
            return await body(Agent(client))

    return run(go())


def git_log(root: Path, fmt: str = "%s") -> list[str]:
    repo = root if (root / ".git").exists() else root / ".task_orchestrator"
    out = subprocess.run(["git", "log", f"--format={fmt}"], cwd=repo, capture_output=True,
                         text=True, check=True)  # fmt: skip
    return out.stdout.splitlines()


def meta(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])


def task_file(root: Path, task_id: str) -> Path:
    return next(root.glob(f".task_orchestrator/sessions/*/tasks/{task_id}.md"))


def index_matches_rebuild(root: Path) -> None:
    query = "SELECT task_id, status, title, depends_on, description FROM tasks ORDER BY task_id"
    with Project(root).reading() as db:
        before = db.records(query)
    Project(root).reindex()
    with Project(root).reading() as db:
        assert db.records(query) == before


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

    connected(build_server(), body)


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

        context = await agent.ok("orchestrator_execute_subtask", task_id=design[:6])
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


def test_session_tools_follow_the_state_machine_and_archive_exports(sample):
    root = sample.root

    async def body(agent: Agent):
        listed = await agent.ok("orchestrator_session_list")
        assert [s["status"] for s in listed["sessions"]] == ["active", "paused"]
        made = await agent.ok("orchestrator_session_create", name="Spike",
                              description="Try things.", mode_file="research")  # fmt: skip
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
            other = (await agent.ok("orchestrator_session_create", name=f"S {fmt}"))["session"]
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

    connected(build_server(root), body)


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
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
        applied = await agent.ok("orchestrator_cleanup", dry_run=False)
        assert applied["applied"] == dry["findings_total"]
        assert len(git_log(root)) == commits + 1 and git_log(root)[0].startswith("orch: cleanup")
        assert meta(path).get("depends_on") in ([], None)
        assert (await agent.ok("orchestrator_cleanup"))["findings"] == []

    connected(build_server(root), body)


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


# -- what a careless or hostile client sends, and what a big project answers --------------


def test_bad_values_are_clear_tool_errors_and_break_nothing(sample):
    root = sample.root

    async def body(agent: Agent):
        too_big = await agent.error("orchestrator_plan_task", description="Huge",
                                    subtasks=[{"title": "A", "estimated_effort": "99999999999h"}])  # fmt: skip
        assert "more than 1,000,000 hours" in too_big
        assert "estimate must be 0 to 1000000" in await agent.error(
            "orchestrator_task_create", title="X", estimated_effort=10**19
        )
        assert "priority must be a whole number" in await agent.error(
            "orchestrator_plan_task", description="P", subtasks=[{"title": "A", "priority": "high"}]
        )
        forged = base64.urlsafe_b64encode(b'{"o": 99999999999999999999}').decode()
        assert "cursor" in await agent.error("orchestrator_task_list", cursor=forged)
        unknown = await agent.error("orchestrator_session_activate", session_id="nope")
        assert "no session 'nope'" in unknown
        assert (await agent.ok("orchestrator_task_list"))["total"] > 0  # still working

    connected(build_server(root), body)
    path = next(root.glob(".task_orchestrator/sessions/*/tasks/*.md"))
    text = re.sub(r"(?m)^estimated_effort: .*\n", "", path.read_text())
    path.write_text(text.replace("title:", "estimated_effort: 99999999999999999999\ntitle:", 1))
    with Project(root).reading() as db:  # a hand edit past the bound: reported, not a crash
        fields = db.rows("SELECT field FROM problems WHERE path LIKE ?", [f"%{path.name}"])
    assert fields == [("estimated_effort",)]


def test_default_replies_stay_under_8_kb_on_big_inputs(sqlite_project):
    root = sqlite_project.root
    report = "A long report line about what was found and why it matters. " * 30

    async def body(agent: Agent):
        for n in range(42):
            await agent.ok(
                "orchestrator_session_create", name=f"Session number {n:02d} " + "x" * 80
            )
        for n in range(60):
            await agent.ok("orchestrator_group_create", group_name=f"Group {n} " + "y" * 60)
        deps = [{"title": f"Dependency {n} " + "z" * 60} for n in range(14)]
        plan = await agent.ok("orchestrator_plan_task", description="Wide", subtasks=[
            *deps, {"title": "Last", "dependencies": list(range(1, 15))}])  # fmt: skip
        ids = [s["task_id"] for s in plan["subtasks"]]
        for task_id in ids[:14]:
            await agent.ok("orchestrator_execute_subtask", task_id=task_id)
            await agent.ok("orchestrator_complete_subtask", task_id=task_id, summary=report)
        sizes = {
            "execute": await agent.size("orchestrator_execute_subtask", task_id=ids[14]),
            "sessions": await agent.size("orchestrator_session_list"),
            "status": await agent.size("orchestrator_get_status"),
            "get": await agent.size(
                "orchestrator_task_get", task_id=plan["parent_task"]["task_id"]
            ),
            "search": await agent.size("orchestrator_search", query="dependency report"),
        }
        open_plan = await agent.ok("orchestrator_plan_task", description="Open", subtasks=[
            {"title": f"Open item {n} " + "w" * 70} for n in range(80)])  # fmt: skip
        done = open_plan["subtasks"][0]["task_id"]
        await agent.ok("orchestrator_complete_subtask", task_id=done, summary=report)
        sizes["synthesize"] = await agent.size(
            "orchestrator_synthesize_results", parent_task_id=open_plan["parent_task"]["task_id"]
        )
        sizes["delete"] = await agent.size(
            "orchestrator_task_delete", task_id=open_plan["parent_task"]["task_id"], cascade=True
        )
        listed = await agent.ok("orchestrator_session_list")
        assert listed["total"] == 42 and len(listed["sessions"]) <= 42
        return sizes

    sizes = connected(build_server(root), body)
    assert all(size <= REPLY_BUDGET for size in sizes.values()), sizes


def test_artifact_numbers_never_reuse_a_deleted_ones_name(sqlite_project):
    root = sqlite_project.root

    async def body(agent: Agent):
        await agent.ok("orchestrator_session_create", name="Reports")
        task = (await agent.ok("orchestrator_task_create", title="Report thrice"))["task"]
        first = await agent.ok("orchestrator_complete_subtask", task_id=task["task_id"],
                               summary="One.", detailed_work="first", next_action="blocked")  # fmt: skip
        second = await agent.ok("orchestrator_complete_subtask", task_id=task["task_id"],
                                summary="Two.", detailed_work="second", next_action="blocked")  # fmt: skip
        (root / first["artifact"]).unlink()
        third = await agent.ok("orchestrator_complete_subtask", task_id=task["task_id"],
                               summary="Three.", detailed_work="third")  # fmt: skip
        assert third["artifact"].endswith("/03-general.md")
        assert (root / second["artifact"]).read_text().strip().endswith("second")

    connected(build_server(root), body)


def test_cleanup_applies_every_kind_and_spares_files_it_cannot_read(sample):
    root = sample.root

    async def body(agent: Agent):
        group = (await agent.ok("orchestrator_group_create", group_name="Doomed"))["group"]
        plan = await agent.ok("orchestrator_plan_task", description="Tree", group="Doomed",
                              subtasks=[{"title": "Leaf one"}, {"title": "Leaf two"}])  # fmt: skip
        parent = plan["parent_task"]["task_id"]
        leaf = plan["subtasks"][0]["task_id"]
        await agent.ok("orchestrator_complete_subtask", task_id=leaf, summary="x",
                       detailed_work="kept while the task exists")  # fmt: skip
        # The parent's file breaks (a merge marker): its subtasks are not orphans.
        parent_file = task_file(root, parent)
        good = parent_file.read_text()
        parent_file.write_text(good.replace("title:", "<<<<<<< ours\ntitle:", 1))
        await agent.ok("orchestrator_sync")
        dry = await agent.ok("orchestrator_cleanup")
        assert not [f for f in dry["findings"] if f.get("task_id") in (leaf, parent)]
        # Now really gone: the parent file, the group file; artifacts of a deleted task.
        parent_file.unlink()
        next(root.glob(f".task_orchestrator/sessions/*/groups/{group['group_id']}.md")).unlink()
        stale = task_file(root, leaf).parent.parent / "artifacts" / "t-0badc0de"
        stale.mkdir(parents=True)
        (stale / "01-general.md").write_text("left behind")
        await agent.ok("orchestrator_sync")
        found = await agent.ok("orchestrator_cleanup")
        kinds = sorted({f["kind"] for f in found["findings"]})
        assert kinds == ["missing_group", "orphaned_task", "stale_artifacts"], found
        applied = await agent.ok("orchestrator_cleanup", dry_run=False)
        assert applied["applied"] == found["findings_total"]
        assert not stale.exists() and (await agent.ok("orchestrator_cleanup"))["findings"] == []
        fields = meta(task_file(root, leaf))
        assert fields.get("parent_task_id") is None and fields.get("group_id") is None
        assert list(task_file(root, leaf).parent.parent.glob(f"artifacts/{leaf}/*.md"))

    connected(build_server(root), body)
    status = subprocess.run(["git", "status", "--porcelain", "--", ".task_orchestrator"], cwd=root, capture_output=True,
                            text=True).stdout  # fmt: skip
    assert status == ""


def test_the_change_journal_is_used_and_falls_back_to_full_scans(sample, monkeypatch):
    root = sample.root
    server = build_server(root)
    monitor = server.orch.project.monitor
    if monitor is None:
        pytest.skip("no inotify here: every check is a full scan")
    answers = []
    original = monitor.changes

    def recorded():
        answers.append(original())
        return answers[-1]

    monkeypatch.setattr(monitor, "changes", recorded)

    async def body(agent: Agent):
        task = (await agent.ok("orchestrator_task_create", title="Watched"))["task"]
        path = task_file(root, task["task_id"])
        answers.clear()
        path.write_text(path.read_text().replace("title: Watched", "title: Seen"))
        assert (await agent.ok("orchestrator_task_get", task_id=task["task_id"]))["task"][
            "title"
        ] == "Seen"
        assert server.orch.project.layout.rel(path) in answers[0]  # a list: not a full scan
        monitor.distrust()  # as after a failed refresh
        answers.clear()
        await agent.ok("orchestrator_get_status")
        assert answers[0] is None and monitor.trusted
        # Out of inotify watches: give the journal up, keep answering from full scans.
        monkeypatch.setattr(monitor.inotify, "add_watch",
                            lambda *a: (_ for _ in ()).throw(OSError(28, "No space left on device")))  # fmt: skip
        monitor.distrust()
        path.write_text(path.read_text().replace("title: Seen", "title: Scanned"))
        got = await agent.ok("orchestrator_task_get", task_id=task["task_id"])
        assert got["task"]["title"] == "Scanned" and monitor.broken
        path.write_text(path.read_text().replace("title: Scanned", "title: Still seen"))
        got = await agent.ok("orchestrator_task_get", task_id=task["task_id"])
        assert got["task"]["title"] == "Still seen"

    connected(server, body)


def test_search_finds_the_same_tasks_on_both_engines(tmp_path):
    found = {}
    for engine in ("sqlite", "duckdb"):
        root = copy_sample(tmp_path / engine, engine).root

        async def body(agent: Agent):
            await agent.ok("orchestrator_task_create", title="snake_case names in a_b module")
            return {
                query: sorted(t["title"] for t in (await agent.ok(
                    "orchestrator_search", query=query, scope="all_sessions", limit=100))["tasks"])
                for query in ("a_", "b", "case", "web", "pay refund", "Docs")
            }  # fmt: skip

        found[engine] = connected(build_server(root), body)
    assert found["sqlite"] == found["duckdb"]
    assert "snake_case names in a_b module" in found["sqlite"]["b"]
