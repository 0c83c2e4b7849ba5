"""The MCP server as an agent's client sees it over stdio (a real `orch mcp` process, the
SDK's real client): tool sets and their sizes, annotations, the text beside the data,
structured errors, resources, subscriptions told of another process's writes, prompts and
completions."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError
from mcp.types import PromptReference, ResourceTemplateReference

from tests.conftest import copy_sample
from tests.mcp_agent import PLAN, Agent, run, task_file

CORE = {
    "orchestrator_initialize_session", "orchestrator_plan_task", "orchestrator_execute_subtask",
    "orchestrator_complete_subtask", "orchestrator_synthesize_results", "orchestrator_get_status",
    "orchestrator_task_list", "orchestrator_task_get", "orchestrator_search",
}  # fmt: skip


def stdio(root: Path, *flags: str, env: dict[str, str] | None = None) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "orchestrator", "mcp", "--root", str(root), *flags],
        env={**os.environ, **(env or {})},
    )


def over_stdio(params: StdioServerParameters, body, **client_args):
    async def go():
        async with Client(params, read_timeout_seconds=60, **client_args) as client:
            return await body(Agent(client))

    return run(go())


def wire_size(listed) -> int:
    """The bytes of a tools/list result as it travels (compact JSON)."""
    data = listed.model_dump(by_alias=True, exclude_none=True, mode="json")
    return len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())


@pytest.fixture
def project(tmp_path) -> Path:
    return copy_sample(tmp_path / "sample").root


# -- tool sets, annotations ------------------------------------------------------------------


def test_tool_sets_their_sizes_and_annotations(project):
    async def listing(agent: Agent):
        listed = await agent.client.list_tools()
        return {t.name: t for t in listed.tools}, wire_size(listed)

    core, core_size = over_stdio(stdio(project, "--tools", "core"), listing)
    standard, standard_size = over_stdio(stdio(project), listing)
    everything, all_size = over_stdio(stdio(project, env={"ORCH_MCP_TOOLS": "all"}), listing)
    assert set(core) == CORE
    assert core_size <= 6 * 1024 and standard_size <= 16 * 1024 < all_size
    assert set(core) < set(standard) < set(everything)
    assert {"orchestrator_query_tasks", "orchestrator_export"} == set(everything) - set(standard)
    for tool in everything.values():
        hints = tool.annotations
        assert tool.title and hints is not None, tool.name
        assert hints.read_only_hint or hints.destructive_hint is not None, tool.name
        assert tool.output_schema["type"] == "object" and tool.output_schema["properties"]
        assert "title" not in tool.input_schema  # no generated titles
    assert everything["orchestrator_get_status"].annotations.read_only_hint
    assert everything["orchestrator_task_delete"].annotations.destructive_hint
    assert everything["orchestrator_task_update"].annotations.idempotent_hint
    assert everything["orchestrator_plan_task"].annotations.destructive_hint is False
    # Bounds and the typed subtask schema.
    props = standard["orchestrator_task_create"].input_schema["properties"]
    assert (props["priority_level"]["minimum"], props["priority_level"]["maximum"]) == (1, 5)
    subtask = core["orchestrator_plan_task"].input_schema["properties"]["subtasks"]["items"]
    assert subtask["required"] == ["title"] and "dependencies" in subtask["properties"]
    # The legacy parameter names are listed only in the `all` set (and accepted in each).
    assert "subtasks_json" not in core["orchestrator_plan_task"].input_schema["properties"]
    assert "subtasks_json" in everything["orchestrator_plan_task"].input_schema["properties"]


def test_read_only_offers_only_what_changes_nothing(project):
    async def body(agent: Agent):
        tools = (await agent.client.list_tools()).tools
        with pytest.raises(MCPError, match="read-only"):
            await agent.client.call_tool("orchestrator_task_create", {"title": "x"})
        status = await agent.ok("orchestrator_get_status")
        return tools, status

    subprocess.run([sys.executable, "-m", "orchestrator", "--root", str(project), "status"],
                   check=True, capture_output=True)  # views brought up to date first  # fmt: skip
    before = tree_state(project)
    tools, status = over_stdio(stdio(project, "--read-only"), body)
    assert tools and all(t.annotations.read_only_hint for t in tools)
    assert status["active_session"] and tree_state(project) == before


def tree_state(root: Path) -> dict[str, bytes]:
    """Every record file's bytes (what a write would change)."""
    base = root / ".task_orchestrator"
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in base.rglob("*.md")}


def test_a_bad_tool_set_is_said_before_serving(project):
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator", "mcp", "--root", str(project)],
        env={**os.environ, "ORCH_MCP_TOOLS": "tiny"}, capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1 and "tool set 'tiny'" in done.stderr + done.stdout


# -- replies and errors ------------------------------------------------------------------------


def test_text_content_carries_ids_and_next_step_and_errors_are_structured(tmp_path):
    root = tmp_path / "new"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)

    async def body(agent: Agent):
        await agent.ok("orchestrator_initialize_session", working_directory=str(root))
        result = await agent.client.call_tool(
            "orchestrator_plan_task", {"description": "Build the parser", "subtasks": PLAN}
        )
        plan = result.structured_content
        text = result.content[0].text
        assert plan["parent_task"]["task_id"] in text and "Next: " in text
        first = plan["subtasks"][0]["task_id"]
        assert first in text
        # An argument no tool takes: refused with the names it does take.
        wrong = await agent.client.call_tool("orchestrator_task_get", {"taskId": first})
        assert wrong.is_error and "taskId" in wrong.content[0].text
        assert "task_id" in wrong.structured_content["error"]["candidates"]
        # A refusal with a hint: the call that would succeed, apart.
        second = plan["subtasks"][1]["task_id"]
        refused = await agent.client.call_tool("orchestrator_execute_subtask", {"task_id": second})
        error = refused.structured_content["error"]
        assert refused.is_error and error["message"] == refused.content[0].text
        assert "orchestrator_execute_subtask(task_id=" in error["hint"]
        assert "force=true" in error["hint"]
        # Arguments that do not fit the schema: plain words, no validator report.
        bad = await agent.client.call_tool(
            "orchestrator_task_create", {"title": "x", "priority_level": 9}
        )
        assert bad.is_error and "priority_level" in bad.content[0].text
        assert "pydantic" not in bad.content[0].text
        # Execute: the role in the text, and links to what the task builds on.
        started = await agent.client.call_tool("orchestrator_execute_subtask", {"task_id": first})
        text = started.content[0].text
        assert first in text and "architect" in text and "Next: " in text
        links = {str(c.uri) for c in started.content if c.type == "resource_link"}
        assert f"orch://task/{first}" in links
        assert any(u.startswith("orch://mode/") for u in links)
        for uri in links:
            assert (await agent.client.read_resource(uri)).contents

    over_stdio(stdio(root), body)


# -- resources, prompts, completions -------------------------------------------------------------


def test_resources_prompts_and_completions(project):
    async def body(agent: Agent):
        client = agent.client
        listed = {str(r.uri): r for r in (await client.list_resources()).resources}
        assert "orch://session/active" in listed
        views = [u for u in listed if u.endswith("/session.md")]
        assert views and listed[views[0]].mime_type == "text/markdown"
        modes = [u for u in listed if u.startswith("orch://mode/")]
        templates = {
            t.uri_template for t in (await client.list_resource_templates()).resource_templates
        }
        assert {"orch://task/{task_id}", "orch://artifact/{task_id}/{name}"} <= templates
        view = (await client.read_resource(views[0])).contents[0]
        assert view.mime_type == "text/markdown" and "## " in view.text
        mode = (await client.read_resource(modes[0])).contents[0]
        assert "roles" in mode.text or "specialist" in mode.text
        with pytest.raises(MCPError, match="no resource"):
            await client.read_resource("orch://mode/../../config.yaml")
        with pytest.raises(MCPError, match="outside"):
            await client.read_resource("orch://archive/..")
        active = json.loads((await client.read_resource("orch://session/active")).contents[0].text)
        task_id = active["ready_tasks"][0]["task_id"]
        # Completions: task ids from what was typed, and prompt arguments.
        done = await client.complete(
            ResourceTemplateReference(type="ref/resource", uri="orch://task/{task_id}"),
            {"name": "task_id", "value": task_id[:4]},
        )
        assert task_id in done.completion.values
        assert all(v.startswith(task_id[:4]) for v in done.completion.values)
        by_prompt = await client.complete(
            PromptReference(type="ref/prompt", name="review-subtask"),
            {"name": "task_id", "value": task_id[:6]},
        )
        assert task_id in by_prompt.completion.values
        # Prompts: the workflow's steps, filled from the project.
        names = {p.name for p in (await client.list_prompts()).prompts}
        assert names == {"plan-work", "run-next-subtask", "review-subtask", "handover"}
        nxt = await client.get_prompt("run-next-subtask")
        assert task_id in nxt.messages[0].content.text
        plan = await client.get_prompt("plan-work", {"goal": "a search page"})
        assert "a search page" in plan.messages[0].content.text
        with pytest.raises(MCPError, match="task_id"):
            await client.get_prompt("review-subtask")
        # An archive answers with a link to its export, which reads as a resource.
        session = active["session"]["session_id"]
        await agent.ok("orchestrator_session_pause", session_id=session)
        archived = await client.call_tool("orchestrator_session_archive", {"session_id": session})
        assert not archived.is_error, archived.content[0].text
        links = [c for c in archived.content if c.type == "resource_link"]
        assert links and str(links[0].uri).startswith("orch://archive/")
        export = (await client.read_resource(str(links[0].uri))).contents[0]
        assert active["session"]["name"] in export.text

    over_stdio(stdio(project), body)


# -- subscriptions -------------------------------------------------------------------------------


def test_a_subscriber_is_told_of_another_process_write_and_a_hand_edit(project):
    updates: list[str] = []
    arrived = asyncio.Event()

    async def handler(message) -> None:
        if getattr(message, "method", None) == "notifications/resources/updated":
            updates.append(str(message.params.uri))
            arrived.set()

    async def wait_for(uri: str) -> None:
        while uri not in updates:
            arrived.clear()
            await asyncio.wait_for(arrived.wait(), timeout=30)

    async def body(agent: Agent):
        client = agent.client
        active = json.loads((await client.read_resource("orch://session/active")).contents[0].text)
        task_id = active["ready_tasks"][0]["task_id"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await client.subscribe_resource(f"orch://task/{task_id}")
            await client.subscribe_resource("orch://session/active")
        # Another process: the CLI.
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "orchestrator", "--root", str(project), "task", "update",
             task_id, "--priority", "1"],
            check=True, capture_output=True,
        )  # fmt: skip
        await wait_for(f"orch://task/{task_id}")
        await wait_for("orch://session/active")
        # A hand edit in an editor.
        updates.clear()
        path = task_file(project, task_id)
        path.write_text(path.read_text().replace("priority_level: 1", "priority_level: 2"))
        await wait_for(f"orch://task/{task_id}")

    over_stdio(stdio(project), body, message_handler=handler)


# -- the protocol against a hostile or careless client ------------------------------------------

HELLO = [
    {"jsonrpc": "2.0", "id": 0, "method": "initialize",
     "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "raw", "version": "1"}}},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
]  # fmt: skip


def raw(root: Path, lines: list, *flags: str) -> list[dict]:
    """What `orch mcp` answers to these lines (objects are sent as JSON, text as it is),
    stdin closed after the last: every answer, in the order it came."""
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator", "mcp", "--root", str(root), *flags],
        input=text.encode(), capture_output=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines()]


def call(n: int, tool: str, **arguments) -> dict:
    return {"jsonrpc": "2.0", "id": n, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments}}  # fmt: skip


def test_malformed_messages_are_answered_and_the_server_goes_on(project):
    answers = raw(project, [
        *HELLO,
        {"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"},
        {"jsonrpc": "2.0", "id": True, "method": "ping"},
        "[" * 100_000 + "]" * 100_000,
        '{"jsonrpc": "2.0", "id": NaN, "method": "ping"}',
        "not json",
        [{"jsonrpc": "2.0", "id": 5, "method": "ping"}],
        {"jsonrpc": "2.0", "id": 6},
        {"jsonrpc": "1.0", "id": 7, "method": "ping"},
        {"jsonrpc": "2.0", "id": 8, "method": "tools/list", "params": []},
        {"jsonrpc": "2.0", "id": 9, "method": "tools/call",
         "params": {"name": "orchestrator_task_get", "arguments": []}},
        {"jsonrpc": "2.0", "id": 10, "method": "completion/complete",
         "params": {"ref": {"type": "ref/prompt", "name": "x"}, "argument": [1]}},
        {"jsonrpc": "2.0", "id": "\ud800", "method": "ping"},
        {"jsonrpc": "2.0", "id": 11, "method": "no/such"},
        {"jsonrpc": "2.0", "method": "notifications/whatever"},
        {"jsonrpc": "2.0", "id": 12, "method": "ping"},
    ])  # fmt: skip
    by_id = {json.dumps(a.get("id")): a for a in answers}
    assert by_id["12"]["result"] == {}  # still serving after all of it
    codes = [a["error"]["code"] for a in answers if "error" in a]
    assert codes.count(-32700) == 3  # the nesting, NaN, not JSON
    assert codes.count(-32600) >= 4  # object id, bool id, batch, no method
    for n, code in (("7", -32600), ("8", -32602), ("9", -32602), ("10", -32602),
                    ("11", -32601)):  # fmt: skip
        assert by_id[n]["error"]["code"] == code, by_id[n]
    assert by_id[json.dumps("\ud800")]["result"] == {}  # answered, escaped
    assert len(answers) == 15  # one answer a request; none for a notification


def test_requests_piped_before_stdin_closes_all_run_in_order(project):
    before = git_count(project)
    answers = raw(project, [*HELLO, *(call(n, "orchestrator_task_create", title=f"Piped {n}")
                                      for n in range(1, 6))])  # fmt: skip
    assert [a["id"] for a in answers[1:]] == [1, 2, 3, 4, 5]
    assert not any(a["result"].get("isError") for a in answers[1:])
    log = subprocess.run(["git", "log", "--format=%s", f"-{git_count(project) - before}"],
                         cwd=project, capture_output=True, text=True, check=True)  # fmt: skip
    created = re.findall(r"Piped (\d)", log.stdout)
    assert created == ["5", "4", "3", "2", "1"]  # newest first: committed in the order sent


def git_count(root: Path) -> int:
    done = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=root,
                          capture_output=True, text=True)  # fmt: skip
    return int(done.stdout.strip() or 0)


def test_read_only_commits_nothing_even_for_an_outside_edit(project):
    subprocess.run([sys.executable, "-m", "orchestrator", "--root", str(project), "status"],
                   check=True, capture_output=True)  # fmt: skip
    view = next(project.glob(".task_orchestrator/sessions/*/session.md"))
    ticked = view.read_text(encoding="utf-8").replace("- [ ] ", "- [x] ", 1)
    view.write_text(ticked, encoding="utf-8")
    before, commits = tree_state(project), git_count(project)
    answers = raw(project, [
        *HELLO, call(1, "orchestrator_get_status"),
        {"jsonrpc": "2.0", "id": 2, "method": "resources/read",
         "params": {"uri": "orch://session/active"}},
    ], "--read-only")  # fmt: skip
    assert "result" in answers[1] and "result" in answers[2]
    assert tree_state(project) == before and git_count(project) == commits
    # The next command that may write applies the tick, as always.
    subprocess.run([sys.executable, "-m", "orchestrator", "--root", str(project), "status"],
                   check=True, capture_output=True)  # fmt: skip
    assert git_count(project) > commits


def test_resources_refuse_what_is_not_a_regular_file_and_give_binary_as_a_blob(project):
    roles = project / ".task_orchestrator" / "roles"
    os.mkfifo(roles / "fifo.yaml")
    archives = project / ".task_orchestrator" / "archives"
    archives.mkdir(exist_ok=True)
    (archives / "s.zip").write_bytes(b"PK\x03\x04\xff\xfe binary")
    answers = raw(project, [
        *HELLO,
        {"jsonrpc": "2.0", "id": 1, "method": "resources/read",
         "params": {"uri": "orch://mode/fifo.yaml"}},
        {"jsonrpc": "2.0", "id": 2, "method": "resources/read",
         "params": {"uri": "orch://archive/s.zip"}},
        {"jsonrpc": "2.0", "id": 3, "method": "ping"},
    ])  # fmt: skip
    by_id = {a["id"]: a for a in answers}
    assert "not a regular file" in by_id[1]["error"]["message"]
    blob = by_id[2]["result"]["contents"][0]
    assert "text" not in blob and base64.b64decode(blob["blob"]) == b"PK\x03\x04\xff\xfe binary"
    assert by_id[3]["result"] == {}


# -- progress and cancellation -----------------------------------------------------------------


def test_progress_reaches_the_client_and_a_cancelled_plan_leaves_nothing(tmp_path):
    root = tmp_path / "new"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    steps: list[tuple[float, float | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        steps.append((done, total))

    items = [{"title": f"Step {n}", "specialist_type": "implementer"} for n in range(1, 31)]

    async def body(agent: Agent):
        client = agent.client
        await agent.ok("orchestrator_initialize_session", working_directory=str(root))
        await client.call_tool(
            "orchestrator_plan_task", {"description": "Thirty steps", "subtasks": items},
            progress_callback=progress,
        )  # fmt: skip
        commits = git_count(root / ".task_orchestrator") or git_count(root)
        # Cancelled while it waits for the project lock (held here): nothing is written.
        lock = os.open(root / ".task_orchestrator" / ".index" / "lock", os.O_RDWR | os.O_CREAT)
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            doomed = asyncio.create_task(client.call_tool(
                "orchestrator_plan_task", {"description": "Never", "subtasks": items}))  # fmt: skip
            await asyncio.sleep(0.3)  # (sent; whether it waits yet or not, it cannot write)
            doomed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await doomed
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                await client.send_ping()  # answered after the cancellation was read
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            os.close(lock)
        status = await agent.ok("orchestrator_task_list", all_sessions=True, limit=100)
        titles = [t["title"] for t in status["tasks"]]
        assert "Never" not in titles and titles.count("Thirty steps") == 1
        assert (git_count(root / ".task_orchestrator") or git_count(root)) == commits

    over_stdio(stdio(root), body)
    assert len(steps) >= 30 and steps[-1][0] == steps[-1][1] == 30
    assert [d for d, _ in steps] == sorted(d for d, _ in steps)
    assert not list(root.glob(".task_orchestrator/sessions/*/tasks/*.md.tmp*"))


def test_print_config_carries_the_tool_set_and_read_only(project):
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator", "mcp", "--root", str(project), "--tools", "core",
         "--read-only", "--print-config"], capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert f"mcp --root {project} --tools core --read-only" in done.stdout
    desktop = json.loads(done.stdout.split("\n\n")[0].split("\n", 1)[1])
    assert desktop["mcpServers"]["orch"]["args"][-3:] == ["--tools", "core", "--read-only"]


def test_every_reply_says_what_to_do_next(project):
    async def body(agent: Agent):
        client = agent.client
        replies = {}

        async def record(tool: str, **args):
            result = await client.call_tool(tool, args)
            assert not result.is_error, result.content[0].text
            replies[tool] = result
            return result.structured_content

        status = await record("orchestrator_get_status")
        session = status["active_session"]["session_id"]
        listed = await record("orchestrator_task_list", status="pending", limit=2)
        assert "status='pending'" in listed["next_step"] and "limit=2" in listed["next_step"]
        task = listed["tasks"][0]["task_id"]
        await record("orchestrator_task_get", task_id=task)
        await record("orchestrator_search", query="refund")
        made = await record("orchestrator_task_create", title="A new one")
        await record("orchestrator_task_update", task_id=made["task"]["task_id"], priority_level=2)
        await record("orchestrator_task_cancel", task_id=made["task"]["task_id"])
        await record("orchestrator_group_create", group_name="Later")
        await record("orchestrator_session_list")
        await record("orchestrator_mode_list")
        await record("orchestrator_note", kind="decision", text="Keep it small")
        await record("orchestrator_cleanup")
        await record("orchestrator_conflicts")
        await record("orchestrator_sync")
        await record("orchestrator_session_pause", session_id=session)
        for tool, result in replies.items():
            step = result.structured_content.get("next_step")
            assert step and "orchestrator_" in step, tool
            assert f"Next: {step}" in result.content[0].text, tool

    over_stdio(stdio(project), body)


def test_a_read_only_server_without_a_project_says_how_to_start_one(tmp_path):
    async def body(agent: Agent):
        return await agent.error("orchestrator_get_status")

    said = over_stdio(stdio(tmp_path, "--read-only"), body)
    assert "read-only server creates none" in said and "initialize_session" not in said
    assert not (tmp_path / ".task_orchestrator").exists()
