"""The workflow's replies as an agent reads them (issue 18): a plan's own ready subtasks
and the rest of a long plan, what execute hands over after a revision and from
dependencies, the refusals of work that is not a task's to do now, a next step in every
reply, ids in the text, and a cancelled plan, archive or import that leaves nothing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import StdioServerParameters

from orchestrator.core import archive, subtasks
from orchestrator.core import next_step as next_step_module
from orchestrator.core.imports import Item, Source, import_plans
from orchestrator.core.progress import Cancelled, Progress
from orchestrator.core.project import Project
from orchestrator.core.remote import sync_remote
from orchestrator.errors import InvalidTransition
from tests.mcp_agent import PLAN, Agent, connected, git_log, index_matches_rebuild, task_file

# -- helpers ------------------------------------------------------------------------------


def over_stdio(root: Path) -> StdioServerParameters:
    """A real `orch mcp` process for the project: each fix as an agent meets it."""
    return StdioServerParameters(
        command=sys.executable, args=["-m", "orchestrator", "mcp", "--root", str(root)]
    )


async def text_of(agent: Agent, tool: str, **args) -> tuple[str, dict]:
    """The text content and the data of a reply that is not an error."""
    result = await agent.client.call_tool(tool, args)
    assert not result.is_error, result.content[0].text
    return result.content[0].text, result.structured_content


def files_of(root: Path) -> set[str]:
    base = root / ".task_orchestrator"
    return {p.relative_to(base).as_posix() for p in base.rglob("*")
            if p.is_file() and ".index" not in p.parts}  # fmt: skip


def stopping_after(steps: int) -> Progress:
    """A caller that gives up once `steps` steps were reported."""
    seen: list[float] = []
    return Progress(report=lambda done, total, message: seen.append(done),
                    cancelled=lambda: len(seen) >= steps)  # fmt: skip


def recording() -> tuple[Progress, list[tuple]]:
    steps: list[tuple] = []
    return Progress(report=lambda *step: steps.append(step)), steps


async def two_in_order(agent: Agent, session: str, first: str, second: str) -> list[str]:
    """A new session with a plan of two subtasks, the second waiting for the first: their
    ids."""
    await agent.ok("orchestrator_session_create", name=session)
    plan = await agent.ok("orchestrator_plan_task", description="Two", subtasks=[
        {"title": first}, {"title": second, "dependencies": [1]}])  # fmt: skip
    return [s["task_id"] for s in plan["subtasks"]]


def session_of(project: Project) -> str:
    with project.reading() as db:
        return db.scalar("SELECT session_id FROM active_session")


# -- 1, 2: a plan's reply -----------------------------------------------------------------


def test_a_plan_lists_its_own_ready_subtasks_whatever_else_is_ready(sqlite_project):
    root = sqlite_project.root

    async def body(agent: Agent):
        await agent.ok("orchestrator_session_create", name="Busy")
        urgent = [{"title": f"Urgent {n}", "priority": 1} for n in range(11)]
        await agent.ok("orchestrator_plan_task", description="Other work", subtasks=urgent)
        text, plan = await text_of(agent, "orchestrator_plan_task", description="New work",
                                   subtasks_json=PLAN)  # fmt: skip
        design = plan["subtasks"][0]["task_id"]
        assert [r["task_id"] for r in plan["ready"]] == [design]
        assert plan["next_step"] == f"orchestrator_execute_subtask(task_id={design!r})"
        return text, plan

    text, plan = connected(over_stdio(root), body)
    # The text alone names the parent, the ready subtask and the session.
    assert plan["parent_task"]["task_id"] in text and plan["ready"][0]["task_id"] in text
    assert plan["session"]["session_id"] in text


def test_a_long_plan_gives_its_total_and_a_cursor_the_task_list_continues(sqlite_project):
    root = sqlite_project.root

    async def body(agent: Agent):
        await agent.ok("orchestrator_session_create", name="Long")
        items = [{"title": f"Item {n:03d}"} for n in range(130)]
        text, plan = await text_of(agent, "orchestrator_plan_task", description="Many",
                                   subtasks=items)  # fmt: skip
        parent = plan["parent_task"]["task_id"]
        assert plan["subtasks_total"] == 130 and len(plan["subtasks"]) < 130
        assert plan["next_cursor"]
        assert f"orchestrator_task_list(parent_task_id={parent!r}, cursor=" in text
        titles = [s["title"] for s in plan["subtasks"]]
        cursor = plan["next_cursor"]
        while cursor:
            page = await agent.ok("orchestrator_task_list", parent_task_id=parent, cursor=cursor)
            titles += [t["title"] for t in page["tasks"]]
            cursor = page["next_cursor"]
        assert titles == [f"Item {n:03d}" for n in range(130)]

    connected(over_stdio(root), body)


# -- 3: what execute hands over ------------------------------------------------------------


def test_execute_after_a_revision_gives_the_tasks_earlier_results(sqlite_project):
    root = sqlite_project.root

    async def body(agent: Agent):
        await agent.ok("orchestrator_session_create", name="Revise")
        plan = await agent.ok(
            "orchestrator_plan_task", description="Fix", subtasks=[{"title": "Patch"}]
        )
        task = plan["subtasks"][0]["task_id"]
        await agent.ok("orchestrator_execute_subtask", task_id=task)
        await agent.ok("orchestrator_complete_subtask", task_id=task, summary="First try.")
        await agent.ok("orchestrator_task_update", task_id=task, status="in_progress")
        await agent.ok("orchestrator_complete_subtask", task_id=task, next_action="needs_revision",
                       summary="The null case crashes: guard it.")  # fmt: skip
        again = await agent.ok("orchestrator_execute_subtask", task_id=task)
        earlier = again["earlier_results"]
        assert "The null case crashes: guard it." in earlier and "needs_revision" in earlier
        assert earlier.index("null case") < earlier.index("First try.")  # newest first

    connected(over_stdio(root), body)


def test_dependents_get_every_result_entry_with_links_from_the_project_root(sqlite_project):
    root = sqlite_project.root

    async def body(agent: Agent):
        first, second = await two_in_order(agent, "Deps", "Research", "Write")
        await agent.ok("orchestrator_complete_subtask", task_id=first, next_action="blocked",
                       summary="Blocked: no access to the logs.")  # fmt: skip
        await agent.ok("orchestrator_complete_subtask", task_id=first, summary="Logs read.",
                       detailed_work="The long report.")  # fmt: skip
        context = await agent.ok("orchestrator_execute_subtask", task_id=second)
        results = context["dependencies"][0]["results"]
        assert "Logs read." in results and "no access to the logs" in results
        link = re.search(r"\]\(([^)]+)\)", results)[1]
        assert link.startswith(".task_orchestrator/sessions/")
        assert (root / link).read_text().strip().endswith("The long report.")

    connected(over_stdio(root), body)


# -- 4: what execute and complete refuse --------------------------------------------------


def test_complete_refuses_an_unfinished_dependency_as_execute_does(sqlite_project):
    root = sqlite_project.root

    async def body(agent: Agent):
        first, second = await two_in_order(agent, "Order", "First", "Second")
        started = await agent.error("orchestrator_execute_subtask", task_id=second)
        completed = await agent.error("orchestrator_complete_subtask", task_id=second,
                                      summary="Skipped ahead.")  # fmt: skip
        for said in (started, completed):
            assert f"unfinished dependencies: {first} (pending)" in said
        # Blocked or to revise is a report, not a completion: no dependency needed.
        await agent.ok("orchestrator_complete_subtask", task_id=second, summary="Waiting.",
                       next_action="blocked")  # fmt: skip
        return second

    second = connected(over_stdio(root), body)
    assert "Skipped ahead." not in task_file(root, second).read_text()


def test_execute_refuses_a_parent_whose_subtasks_are_open(sqlite_project):
    root = sqlite_project.root

    async def body(agent: Agent):
        await agent.ok("orchestrator_session_create", name="Tree")
        plan = await agent.ok(
            "orchestrator_plan_task", description="Parent", subtasks=[{"title": "Child"}]
        )
        parent, child = plan["parent_task"]["task_id"], plan["subtasks"][0]["task_id"]
        said = await agent.error("orchestrator_execute_subtask", task_id=parent)
        assert child in said and f"orchestrator_execute_subtask(task_id={child!r})" in said
        forced = await agent.ok("orchestrator_execute_subtask", task_id=parent, force=True)
        assert forced["task"]["status"] == "in_progress"

    connected(over_stdio(root), body)


@pytest.mark.parametrize("end", ["complete", "cancel"])
def test_execute_refuses_a_task_of_a_finished_session(sqlite_project, end):
    root = sqlite_project.root

    async def body(agent: Agent):
        session = (await agent.ok("orchestrator_session_create", name="Over"))["session"]
        task = (await agent.ok("orchestrator_task_create", title="Left over"))["task"]
        await agent.ok(f"orchestrator_session_{end}", session_id=session["session_id"])
        said = await agent.error("orchestrator_execute_subtask", task_id=task["task_id"])
        assert session["session_id"] in said and "call orchestrator_" in said
        got = await agent.ok("orchestrator_task_get", task_id=task["task_id"])
        assert got["task"]["status"] == "pending"

    connected(over_stdio(root), body)


# -- 6, 7: next steps and the text --------------------------------------------------------


def test_every_workflow_reply_names_its_next_call(sqlite_project):
    root = sqlite_project.root

    async def body(agent: Agent):
        session = (await agent.ok("orchestrator_session_create", name="Steps"))["session"]
        sid = session["session_id"]
        other = await agent.ok("orchestrator_plan_task", description="Elsewhere",
                               subtasks=[{"title": "Urgent elsewhere", "priority": 1}])  # fmt: skip
        plan = await agent.ok("orchestrator_plan_task", description="Here",
                              subtasks=[{"title": "One"}, {"title": "Two"},
                                        {"title": "Three", "dependencies": [2]}])  # fmt: skip
        parent = plan["parent_task"]["task_id"]
        one, two, three = (s["task_id"] for s in plan["subtasks"])
        blocked = await agent.ok("orchestrator_complete_subtask", task_id=one, summary="Stuck.",
                                 next_action="blocked")  # fmt: skip
        assert f"orchestrator_execute_subtask(task_id={one!r})" in blocked["next_step"]
        revise = await agent.ok("orchestrator_complete_subtask", task_id=one, summary="Redo.",
                                next_action="needs_revision")  # fmt: skip
        assert f"orchestrator_execute_subtask(task_id={one!r})" in revise["next_step"]
        done = await agent.ok("orchestrator_complete_subtask", task_id=one, summary="Done.")
        # The same plan's next subtask, not the urgent one of the other plan.
        assert done["next_step"] == f"orchestrator_execute_subtask(task_id={two!r})"
        done = await agent.ok("orchestrator_complete_subtask", task_id=two, summary="Done.")
        assert done["next_step"] == f"orchestrator_execute_subtask(task_id={three!r})"
        done = await agent.ok("orchestrator_complete_subtask", task_id=three, summary="Done.")
        assert f"orchestrator_synthesize_results(parent_task_id={parent!r})" in done["next_step"]
        synthesis = await agent.ok("orchestrator_synthesize_results", parent_task_id=parent)
        urgent = other["subtasks"][0]["task_id"]
        assert f"orchestrator_execute_subtask(task_id={urgent!r})" in synthesis["next_step"]
        await agent.ok("orchestrator_complete_subtask", task_id=urgent, summary="Done.")
        last = await agent.ok("orchestrator_synthesize_results",
                              parent_task_id=other["parent_task"]["task_id"])  # fmt: skip
        assert f"orchestrator_session_complete(session_id={sid!r})" in last["next_step"]
        status = await agent.ok("orchestrator_get_status")
        assert f"orchestrator_session_complete(session_id={sid!r})" in status["next_step"]

    connected(over_stdio(root), body)


def test_the_text_alone_carries_the_ids_and_the_role(sqlite_project):
    root = sqlite_project.root

    async def body(agent: Agent):
        await agent.ok("orchestrator_session_create", name="Text")
        text, plan = await text_of(agent, "orchestrator_plan_task", description="Parse",
                                   subtasks_json=PLAN)  # fmt: skip
        parent = plan["parent_task"]["task_id"]
        sid = plan["session"]["session_id"]
        design, write, _ = (s["task_id"] for s in plan["subtasks"])
        await agent.ok("orchestrator_execute_subtask", task_id=design)
        text, _ = await text_of(agent, "orchestrator_complete_subtask", task_id=design,
                                   summary="Grammar written as EBNF.")  # fmt: skip
        assert design in text and parent in text and write in text
        text, context = await text_of(agent, "orchestrator_execute_subtask", task_id=write)
        for said in (write, parent, sid, "implementer", "Grammar written as EBNF."):
            assert said in text, said
        role = context["specialist"]
        assert role["role_definition"][:40] in text and role["output_format"][:30] in text
        assert len(text) <= 1500
        text, _ = await text_of(agent, "orchestrator_synthesize_results", parent_task_id=parent)
        assert parent in text and sid in text

    connected(over_stdio(root), body)


# -- 5: progress and cancellation in the core ---------------------------------------------

PLAN_ITEMS = [{"title": f"Step {n}", "description": "", "specialist_type": None,
               "dependencies": [], "estimated_effort": None, "complexity_level": None,
               "priority_level": None} for n in range(6)]  # fmt: skip


def test_a_plan_reports_a_step_per_subtask(sqlite_project):
    sqlite_project.progress, steps = recording()
    subtasks.plan_task(sqlite_project, "Work", PLAN_ITEMS)
    assert [s[:2] for s in steps] == [(n, 6) for n in range(1, 7)]
    assert all(s[2] for s in steps)


@pytest.mark.parametrize("session", ["created for it", "active already"])
def test_a_cancelled_plan_leaves_nothing_written_or_committed(sqlite_project, session):
    project, root = sqlite_project, sqlite_project.root
    if session == "active already":
        from orchestrator.core.sessions import create_session

        create_session(project, "Here")
    files, log = files_of(root), git_log(root)
    project.progress = stopping_after(3)
    with pytest.raises(Cancelled):
        subtasks.plan_task(project, "Work", PLAN_ITEMS)
    project.progress = Progress()
    assert files_of(root) == files and git_log(root) == log
    assert not list(root.glob(".task_orchestrator/sessions/*/tasks"))
    status = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True,
                            text=True, check=True).stdout  # fmt: skip
    assert ".task_orchestrator/sessions" not in status
    index_matches_rebuild(root)
    with project.reading() as db:
        assert db.scalar("SELECT count(*) FROM tasks") == 0


def archived_project(project: Project) -> str:
    subtasks.plan_task(project, "Work", PLAN_ITEMS)
    sid = session_of(project)
    from orchestrator.core.sessions import change_status

    change_status(project, sid, "completed")
    return sid


def test_a_cancelled_archive_leaves_the_session_as_it_was(sqlite_project):
    project, root = sqlite_project, sqlite_project.root
    sid = archived_project(project)
    session_md = root / f".task_orchestrator/sessions/{sid}/session.md"
    files, log, before = files_of(root), git_log(root), session_md.read_bytes()
    project.progress = stopping_after(2)
    with pytest.raises(Cancelled):
        archive.archive_session(project, sid)
    project.progress = Progress()
    assert files_of(root) == files and git_log(root) == log
    assert session_md.read_bytes() == before
    index_matches_rebuild(root)


def test_an_archive_reports_its_steps(sqlite_project):
    sid = archived_project(sqlite_project)
    sqlite_project.progress, steps = recording()
    archive.archive_session(sqlite_project, sid)
    assert len(steps) >= 7 and steps[-1][0] == steps[-1][1]


def test_a_cancelled_import_leaves_nothing_and_a_whole_one_reports(sqlite_project):
    project, root = sqlite_project, sqlite_project.root
    source = Source("k", "Imported", items=[Item(str(n), f"Task {n}") for n in range(5)])
    files, log = files_of(root), git_log(root)
    project.progress = stopping_after(2)
    with pytest.raises(Cancelled):
        import_plans(project, "backlog", [source])
    assert files_of(root) == files and git_log(root) == log
    index_matches_rebuild(root)
    project.progress, steps = recording()
    import_plans(project, "backlog", [source])
    assert [s[:2] for s in steps] == [(n, 5) for n in range(1, 6)]


def test_a_sync_with_a_remote_reports_its_steps_and_stops_before_writing(tmp_path):
    from tests.conftest import make_project

    project = make_project(tmp_path / "clone")
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
    subprocess.run(["git", "remote", "add", "origin", str(remote)], cwd=project.root, check=True)
    subtasks.plan_task(project, "Work", PLAN_ITEMS[:1])
    log = git_log(project.root)
    project.progress = stopping_after(0)
    with pytest.raises(Cancelled):
        sync_remote(project, "origin")
    assert git_log(project.root) == log
    project.progress, steps = recording()
    sync_remote(project, "origin")
    assert len(steps) >= 2 and all(s[2] for s in steps)
    assert steps[-1][:2] == (3, 3) and "pushed" in steps[-1][2]  # the end, past any cancel


# -- what a cancel must never take back ------------------------------------------------------


def stopping_at(steps: int, then) -> Progress:
    """A caller that gives up after `steps` steps, `then(n)` run at each step n (a person
    at work meanwhile)."""
    seen: list[float] = []

    def report(done, total, message):
        seen.append(done)
        then(len(seen))

    return Progress(report=report, cancelled=lambda: len(seen) >= steps)


def test_a_cancelled_zip_import_keeps_what_a_person_saved_in_its_new_session(
    sqlite_project, tmp_path
):
    sid = archived_project(sqlite_project)
    export = archive.archive_session(sqlite_project, sid, "zip")["export"]
    target = Project(tmp_path / "target")
    (tmp_path / "target").mkdir()
    subprocess.run(["git", "init", "-q", str(target.root)], check=True)
    from orchestrator.core.imports.zip_export import import_zip
    from orchestrator.core.setup import init_project

    init_project(target.root)
    target = Project(target.root.resolve())
    folder = target.layout.session_dir(sid)
    log = git_log(target.root)

    def person(n: int) -> None:
        if n == 2:
            (folder / "notes-by-person.md").write_text("my notes\n")

    target.progress = stopping_at(3, person)
    with pytest.raises(Cancelled):
        import_zip(target, sqlite_project.root / export)
    assert (folder / "notes-by-person.md").read_text() == "my notes\n"
    assert git_log(target.root) == log
    assert not list(folder.glob("tasks/*.md"))  # what the import wrote is gone


def test_a_save_landing_while_a_file_is_put_back_stays(sqlite_project, monkeypatch):
    import orchestrator.core.writer as writer_module

    project, root = sqlite_project, sqlite_project.root
    sid = archived_project(project)
    session_md = root / f".task_orchestrator/sessions/{sid}/session.md"
    real, take_back = writer_module.replace_checked, writer_module.Writer._take_back
    armed: list[bool] = []

    def putting_back(self, path, rel, before):
        armed.append(True)
        return take_back(self, path, rel, before)

    def editor_saves_first(path, data, held, expected, **kw):
        if armed and path == session_md:  # in place, just before the put-back
            armed.clear()
            with open(path, "ab") as f:
                f.write(b"\nSaved by the editor at that instant.\n")
        return real(path, data, held, expected, **kw)

    monkeypatch.setattr(writer_module.Writer, "_take_back", putting_back)
    monkeypatch.setattr(writer_module, "replace_checked", editor_saves_first)
    project.progress = stopping_after(2)
    with pytest.raises(Cancelled):
        archive.archive_session(project, sid)
    assert "Saved by the editor at that instant." in session_md.read_text()


def test_a_file_that_cannot_be_taken_back_is_said_and_nothing_is_committed(sqlite_project):
    from orchestrator.core.sessions import create_session

    project, root = sqlite_project, sqlite_project.root
    create_session(project, "Here")
    log = git_log(root)

    def person(n: int) -> None:
        if n == 2:  # a person puts a link where orch just wrote a task
            first = sorted(root.glob(".task_orchestrator/sessions/*/tasks/*.md"))[0]
            first.unlink()
            first.symlink_to(root / "elsewhere.md")

    project.progress = stopping_at(3, person)
    with pytest.raises(Cancelled):
        subtasks.plan_task(project, "Work", PLAN_ITEMS)
    assert git_log(root) == log
    assert any("could not take back" in w for w in project.finish_command())


def test_a_call_past_its_commit_is_answered_though_cancelled():
    from orchestrator.mcp.protocol import Session

    sent: list[dict] = []

    class Handler:
        def handle(self, method, params, request):
            request.answer_anyway.set()  # committed
            request.cancelled.set()  # the cancel comes after
            return {"done": True}

    session = Session(Handler(), sent.append)
    session.receive({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {}})
    session.close()
    assert sent == [{"jsonrpc": "2.0", "id": 1, "result": {"done": True}}]


# -- advice that execute would refuse -------------------------------------------------------


def test_advice_never_names_a_call_execute_refuses(sqlite_project):
    from orchestrator.core import tasks
    from orchestrator.core.sessions import change_status, create_session

    project = sqlite_project
    create_session(project, "Here")
    from orchestrator.core.inputs import parse_subtasks

    plan = subtasks.plan_task(project, "Work", parse_subtasks([
        {"title": "A"}, {"title": "B", "dependencies": [1], "priority_level": 1}]))  # fmt: skip
    a, b = (s["task_id"] for s in plan["subtasks"])
    parent = plan["parent_task"]["task_id"]
    # A parent with open subtasks, and a task whose dependency is open, are not executed.
    assert next_step_module.step_for_task(project, parent) != next_step_module.execute_call(parent)
    assert next_step_module.step_for_task(project, b) == next_step_module.execute_call(a)
    # B reported blocked, then A taken up again: the advice is A's report, not B.
    subtasks.execute_subtask(project, b, force=True)
    subtasks.complete_subtask(project, b, "Blocked on A.", next_action="blocked", force=True)
    tasks.update_task(project, a, status="in_progress")
    with project.reading() as db:
        step = next_step_module.next_step(project, db, session_of(project))
    assert f"orchestrator_complete_subtask(task_id={a!r}" in step
    # A closed session's work is neither planned nor executed, nor advised.
    sid = session_of(project)
    change_status(project, sid, "completed")
    assert "orchestrator_get_status()" in next_step_module.step_for_task(project, b)
    with pytest.raises(InvalidTransition, match="completed"):
        subtasks.plan_task(project, "More", PLAN_ITEMS[:1], session=sid)
    change_status(project, sid, "archived")
    with pytest.raises(InvalidTransition, match="archived"):
        subtasks.execute_subtask(project, a)


def test_links_are_rooted_outside_code_only_and_never_lead_out():
    text = (
        "See [a](../artifacts/t-1/01.md), `[k](../x)` and [far](../../../../../etc/passwd)\n"
        "```\ncat [n](../b)\n```\n[ang](<../a.md>)\n"
    )
    rooted = subtasks.rooted_links(text, ".task_orchestrator/sessions/s-1/tasks/t-1.md")
    assert "[a](.task_orchestrator/sessions/s-1/artifacts/t-1/01.md)" in rooted
    assert "`[k](../x)`" in rooted and "cat [n](../b)" in rooted
    assert "[far](../../../../../etc/passwd)" in rooted and "[ang](<../a.md>)" in rooted


def test_a_note_above_the_reports_and_a_synthesis_reach_the_specialist():
    from orchestrator.store.sections import entries

    results = "Reviewed by Bob: do not use the v1 API.\n\n### 2026-01-01 · completed\n\nDone.\n"
    assert entries(results)[0] == "Reviewed by Bob: do not use the v1 API."
    parent = {"description": "Work.\n\n## Synthesis\n\nAll three parts agree.\n",
              "file_path": ".task_orchestrator/sessions/s-1/tasks/t-1.md"}  # fmt: skip
    assert "All three parts agree." in subtasks.reported(parent, 800, newest_headed=False)


def test_a_report_that_left_a_code_fence_open_does_not_swallow_the_next():
    from orchestrator.store.sections import entries, latest_entry

    results = ("### 2026-01-01 10:00 UTC · needs_revision\n\nTried:\n```python\nprint(1)\n\n"
               "### 2026-01-02 11:00 UTC · completed\n\nFixed the null case.\n")  # fmt: skip
    assert len(entries(results)) == 2
    assert latest_entry(results) == "Fixed the null case."
    quoted = "### 2026-01-01 10:00 UTC · completed\n\n```\n### A heading in code\n```\n"
    assert len(entries(quoted)) == 1  # a heading of a person's own in code stays code
