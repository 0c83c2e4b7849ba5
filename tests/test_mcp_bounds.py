"""The MCP server against what a careless or hostile client sends and what a big project
answers: clear tool errors, replies under 8 KB, the change journal and its fallback."""

from __future__ import annotations

import base64
import re
import subprocess

import pytest

from orchestrator.core.project import Project
from orchestrator.mcp.replies import REPLY_BUDGET
from orchestrator.mcp.server import build_server
from tests.conftest import SQLITE_NOW_DUCKDB_SLOW, copy_sample
from tests.mcp_agent import Agent, connected, meta, task_file


def test_bad_values_are_clear_tool_errors_and_break_nothing(sample):
    root = sample.root

    async def body(agent: Agent):
        too_big = await agent.error("orchestrator_plan_task", description="Huge",
                                    subtasks=[{"title": "A", "estimated_effort": "99999999999h"}])  # fmt: skip
        assert "more than 1,000,000 hours" in too_big
        # The same bound, the same words as the plan above and the CLI: one parser.
        assert "estimated_effort 10000000000000000000 is more than 1,000,000 hours" in (
            await agent.error("orchestrator_task_create", title="X", estimated_effort=10**19)
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
                "orchestrator_session_create",
                name=f"Session number {n:02d} " + "x" * 80,
                switch=True,
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


@pytest.mark.parametrize("engine", SQLITE_NOW_DUCKDB_SLOW)
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
