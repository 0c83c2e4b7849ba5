"""One rule in one place: every path that completes or starts a task refuses the same
cases with the same message, efforts and id lists are read the same way everywhere, and
core errors carry hints instead of CLI words. Each test here failed on a960842, where the
paths had drifted apart."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import click
import pytest

from orchestrator.cli import COMMANDS, cli
from orchestrator.core import tasks
from orchestrator.core.inputs import parse_subtasks
from orchestrator.core.project import Project
from orchestrator.core.subtasks import complete_subtask, execute_subtask
from orchestrator.errors import OPERATIONS, Hint, OrchError
from orchestrator.model import allowed_values
from tests.conftest import Orch, make_project, task_file


@pytest.fixture
def project(tmp_path) -> Project:
    """The rules are the core's whatever the index engine, so this file runs on SQLite;
    the one test below that takes `engine` runs the rule's queries on DuckDB too."""
    return make_project(tmp_path / "proj")


@pytest.fixture
def work(project):
    """A session with a parent and its pending subtask, and a task waiting on another."""
    orch = Orch(project.root)
    orch("session", "create", "S")
    ids = {"parent": orch.json("task", "add", "Parent")["task_id"]}
    ids["child"] = orch.json("task", "add", "Child", "--parent", ids["parent"])["task_id"]
    ids["first"] = orch.json("task", "add", "First")["task_id"]
    ids["waiting"] = orch.json("task", "add", "Waiting", "--depends-on", ids["first"])["task_id"]
    return orch, ids


def status_of(orch: Orch, task_id: str) -> str:
    return orch.json("task", "show", task_id)["status"]


def refusal(call) -> str:
    with pytest.raises(OrchError) as caught:
        call()
    return str(caught.value)


# -- completing ---------------------------------------------------------------------------


def test_every_path_refuses_to_complete_a_task_with_open_subtasks_in_the_same_words(project, work):
    orch, ids = work
    parent = ids["parent"]
    said = {
        "done": refusal(lambda: tasks.done_task(project, parent)),
        "update": refusal(lambda: tasks.update_task(project, parent, status="completed")),
        "complete_subtask": refusal(lambda: complete_subtask(project, parent, "Did it")),
    }
    assert len(set(said.values())) == 1, said
    assert f'{parent} "Parent" has unfinished subtasks: {ids["child"]} (pending)' in said["done"]
    assert status_of(orch, parent) == "pending"


def test_every_path_refuses_to_complete_a_task_with_open_dependencies_in_the_same_words(
    project, work
):
    orch, ids = work
    waiting = ids["waiting"]
    said = {
        "done": refusal(lambda: tasks.done_task(project, waiting)),
        "update": refusal(lambda: tasks.update_task(project, waiting, status="completed")),
        "complete_subtask": refusal(lambda: complete_subtask(project, waiting, "Did it")),
    }
    assert len(set(said.values())) == 1, said
    assert f"has unfinished dependencies: {ids['first']} (pending)" in said["done"]
    assert status_of(orch, waiting) == "pending"


def test_task_done_refuses_open_dependencies_unless_forced(work):
    orch, ids = work
    result = orch("task", "done", ids["waiting"], code=1)
    assert f"has unfinished dependencies: {ids['first']} (pending)" in result.stderr
    assert f"(orch task done {ids['waiting']} --force)" in result.stderr
    orch("task", "done", ids["waiting"], "--force")
    assert status_of(orch, ids["waiting"]) == "completed"


def test_task_update_status_completed_refuses_open_subtasks_unless_forced(work):
    orch, ids = work
    result = orch("task", "update", ids["parent"], "--status", "completed", code=1)
    assert f"has unfinished subtasks: {ids['child']} (pending)" in result.stderr
    assert status_of(orch, ids["parent"]) == "pending"
    orch("task", "update", ids["parent"], "--status", "completed", "--force")
    assert status_of(orch, ids["parent"]) == "completed"


def test_complete_subtask_refuses_open_dependencies_unless_forced(project, work):
    orch, ids = work
    with pytest.raises(OrchError) as caught:
        complete_subtask(project, ids["waiting"], "Did it")
    assert caught.value.hint == Hint("task_complete", {"task_id": ids["waiting"], "force": True})
    complete_subtask(project, ids["waiting"], "Did it", force=True)
    assert status_of(orch, ids["waiting"]) == "completed"


# -- starting -----------------------------------------------------------------------------


def test_every_path_refuses_to_start_a_task_with_open_dependencies_in_the_same_words(project, work):
    orch, ids = work
    waiting = ids["waiting"]
    said = {
        "start": refusal(lambda: tasks.start_task(project, waiting)),
        "update": refusal(lambda: tasks.update_task(project, waiting, status="in_progress")),
        "execute_subtask": refusal(lambda: execute_subtask(project, waiting)),
    }
    assert len(set(said.values())) == 1, said
    assert status_of(orch, waiting) == "pending"
    tasks.update_task(project, waiting, status="in_progress", force=True)
    assert status_of(orch, waiting) == "in_progress"


def test_a_cancelled_dependency_keeps_a_task_from_starting_as_from_being_ready(project, work):
    _, ids = work
    tasks.cancel_task(project, ids["first"])
    assert ids["waiting"] not in [t["task_id"] for t in tasks.list_tasks(project, ready=True)]
    said = refusal(lambda: tasks.start_task(project, ids["waiting"]))
    assert f"has unfinished dependencies: {ids['first']} (cancelled)" in said


def test_a_forbidden_session_move_hints_at_the_move_that_would_succeed(work):
    orch, _ = work
    session_id = orch.json("session", "show")["session_id"]
    orch("session", "complete", session_id)
    result = orch("session", "pause", session_id, code=1)
    assert f"(orch session archive {session_id})" in result.stderr


# -- edits in files -----------------------------------------------------------------------


def tick(project, task_id: str) -> None:
    view = task_file(project, task_id).parent.parent / "session.md"
    text = view.read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if f"<!-- {task_id} -->" in line)
    view.write_text(text.replace(line, line.replace("[ ]", "[x]", 1)), encoding="utf-8")


def test_a_box_ticked_with_open_subtasks_completes_the_task_and_names_them(project, work):
    orch, ids = work
    tick(project, ids["parent"])
    result = orch("task", "list")
    assert f'{ids["parent"]} "Parent" was set to completed by an edit' in result.stderr
    assert f"unfinished subtasks: {ids['child']} (pending)" in result.stderr
    assert status_of(orch, ids["parent"]) == "completed"


def type_status(project, task_id: str, status: str) -> None:
    path = task_file(project, task_id)
    text = path.read_text(encoding="utf-8")
    path.write_text(
        re.sub(r"(?m)^status: .*$", f"status: {status}", text, count=1), encoding="utf-8"
    )


def test_a_status_typed_into_a_task_file_stands_and_names_what_is_open(project, work):
    orch, ids = work
    type_status(project, ids["parent"], "completed")
    result = orch("task", "list")
    assert f'{ids["parent"]} "Parent" was set to completed by an edit' in result.stderr
    assert f"unfinished subtasks: {ids['child']} (pending)" in result.stderr
    assert status_of(orch, ids["parent"]) == "completed"  # the person's decision stands
    assert "was set to" not in orch("task", "list").stderr  # said once, when found


def test_an_index_rebuilt_over_typed_statuses_reads_them_without_a_word(project, work):
    # The index did not know these tasks: their statuses were written, not changed. A
    # project of 10,000 hand-written files warned 1,200 times on its first command.
    orch, ids = work
    type_status(project, ids["parent"], "completed")
    shutil.rmtree(project.layout.index_dir)
    result = orch("task", "list")
    assert "was set to" not in result.stderr
    assert status_of(orch, ids["parent"]) == "completed"


def test_a_bulk_edit_of_statuses_names_ten_tasks_and_counts_the_rest(project, work):
    orch, ids = work
    waiting = [
        orch.json("task", "add", f"Waiting {n}", "--depends-on", ids["first"])["task_id"]
        for n in range(12)
    ]
    for task_id in waiting:
        type_status(project, task_id, "completed")
    said = orch("task", "list").stderr
    assert said.count("was set to completed by an edit") == 10
    assert "and 2 more tasks set by edits while work they need is open" in said
    assert all(status_of(orch, task_id) == "completed" for task_id in waiting)


def test_a_status_typed_with_nothing_open_is_taken_without_a_word(project, work):
    orch, ids = work
    type_status(project, ids["first"], "completed")
    result = orch("task", "list")
    assert "was set to" not in result.stderr
    assert status_of(orch, ids["first"]) == "completed"


def test_a_box_ticked_with_open_dependencies_completes_the_task_and_warns(project, work):
    orch, ids = work
    tick(project, ids["waiting"])
    result = orch("task", "list")
    assert f"unfinished dependencies: {ids['first']} (pending)" in result.stderr
    assert status_of(orch, ids["waiting"]) == "completed"


# -- efforts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [("3", 3), ("2.5", 3), ("2h", 2), ("90m", 2), ("1.5 h", 2), ("10m", 1), ("0", 0)],
)
def test_the_cli_takes_efforts_in_every_format_the_core_reads(work, given, stored):
    orch, _ = work
    added = orch.json("task", "add", "Timed", "--estimate", given)
    assert added["estimated_effort"] == stored
    done = orch.json("task", "done", added["task_id"], "--actual", given)
    assert done["actual_effort"] == stored


def test_core_functions_read_efforts_as_given(project, work):
    _, ids = work
    added = tasks.add_task(project, "Timed", estimated_effort="90m")
    assert added["estimated_effort"] == 2
    updated = tasks.update_task(project, added["task_id"], estimated_effort=2.5, actual_effort="1h")
    assert (updated["estimated_effort"], updated["actual_effort"]) == (3, 1)
    reported = complete_subtask(project, ids["first"], "Did it", actual_effort="2.5")
    assert tasks.show_task(project, reported["task"]["task_id"])["actual_effort"] == 3


def test_a_plan_rounds_efforts_as_the_cli_does():
    items = parse_subtasks([{"title": "A", "estimated_effort": "2.5"},
                            {"title": "B", "estimated_effort": 2.5}])  # fmt: skip
    assert [i["estimated_effort"] for i in items] == [3, 3]


def test_an_effort_that_is_not_a_duration_is_refused_by_every_path(project, work):
    said = [
        refusal(lambda: tasks.add_task(project, "T", estimated_effort="soon")),
        refusal(lambda: tasks.update_task(project, work[1]["first"], actual_effort="soon")),
    ]
    assert all("'soon' is not a number of hours" in s for s in said), said


# -- id lists -----------------------------------------------------------------------------


def test_split_ids_reads_commas_spaces_and_lists_alike():
    from orchestrator.core.inputs import split_ids

    assert split_ids("a,b c") == ["a", "b", "c"]
    assert split_ids(["a", "b, c", ""]) == ["a", "b", "c"]
    assert split_ids(None) == []


def test_the_cli_takes_dependencies_separated_by_spaces_or_commas(work):
    orch, ids = work
    added = orch.json("task", "add", "Both", "--depends-on", f"{ids['first']} {ids['child']}")
    assert sorted(added["depends_on"]) == sorted([ids["first"], ids["child"]])


# -- hints --------------------------------------------------------------------------------

SAMPLE_ARGS = {
    "task_id": "t-1234abcd", "session_id": "s-1234abcd", "record_id": "t-1234abcd",
    "name": "Spike", "root": "/tmp/x", "status": "in_progress", "strategy": "merge",
    "remote": "origin", "mode_file": "default_roles.yaml", "force": True, "switch": True,
    "cascade": True, "no_parent": True, "group_id": "g-1234abcd",
}  # fmt: skip


def hint_args(op: str) -> dict:
    """Every argument OPERATIONS documents for `op`, with a sample value."""
    listed = re.search(r"\[(.*)\]", OPERATIONS[op])
    names = [n.strip() for n in listed.group(1).split(",")] if listed else []
    return {name: SAMPLE_ARGS[name] for name in names}


@pytest.mark.parametrize("op", sorted(OPERATIONS))
def test_every_hint_renders_as_a_command_line_click_accepts(op):
    from orchestrator.cli.hints import command_args, rendered

    args = command_args(Hint(op, hint_args(op)))
    assert rendered(Hint(op, hint_args(op))).startswith("orch ")
    ctx = click.Context(cli)
    command: click.Command = cli
    rest = list(args)
    while isinstance(command, click.Group):
        found = command.get_command(ctx, rest[0])
        assert found is not None, f"{op}: no command {rest[0]!r} in {args}"
        command, rest = found, rest[1:]
    command.make_context(command.name or op, rest)  # raises on an unknown option


OWNED_CORE = sorted(
    p
    for p in (Path(__file__).parent.parent / "orchestrator" / "core").glob("*.py")
    if p.name not in ("imports.py", "project.py", "writer.py")
)
ORCH_COMMANDS = "|".join(COMMANDS)
# A line of shell script a person adds to another tool's hook: text to copy, not advice.
SCRIPT_LINES = ('hooks run {} "$@"',)


def said_texts(path: Path) -> list[tuple[int, str]]:
    """The texts of the errors a module raises and the warnings it appends."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            calls.append(node.exc)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "append" and "warnings" in ast.unparse(node.func.value)):  # fmt: skip
            calls.append(node)
    out = []
    for call in calls:
        for arg in [*call.args, *(k.value for k in call.keywords if k.arg != "hint")]:
            text = "".join(
                n.value if isinstance(n, ast.Constant) and isinstance(n.value, str) else "{}"
                for n in (arg.values if isinstance(arg, ast.JoinedStr) else [arg])
            )
            out.append((call.lineno, text))
    return out


@pytest.mark.parametrize("path", OWNED_CORE, ids=lambda p: p.name)
def test_no_core_message_names_a_cli_command_or_flag(path):
    for line, text in said_texts(path):
        if any(script in text for script in SCRIPT_LINES):
            continue
        # git's own commands (`git merge --abort`) are the person's to run, not orch's.
        text = re.sub(r"`git [^`]*`", "", text)
        assert not re.search(rf"(^|\W)--[a-z]|\borch ({ORCH_COMMANDS})\b", text), (
            f"{path.name}:{line}: {text}"
        )


def test_status_names_in_model_are_the_schemas():
    from orchestrator import model

    statuses = set(allowed_values("task", "status")) | set(allowed_values("session", "status"))
    names = ("PENDING", "IN_PROGRESS", "BLOCKED", "NEEDS_REVISION", "DONE", "FAILED",
             "CANCELLED", "CREATING", "ACTIVE", "PAUSED", "ARCHIVED", "ERROR")  # fmt: skip
    assert {getattr(model, n) for n in names} == statuses


def test_the_rules_queries_answer_alike_on_both_engines(tmp_path, engine):
    project = make_project(tmp_path / "both", engine)
    orch = Orch(project.root)
    orch("session", "create", "S")
    parent = orch.json("task", "add", "Parent")["task_id"]
    child = orch.json("task", "add", "Child", "--parent", parent)["task_id"]
    first = orch.json("task", "add", "First")["task_id"]
    waiting = orch.json("task", "add", "Waiting", "--depends-on", first)["task_id"]
    assert f"unfinished subtasks: {child} (pending)" in refusal(
        lambda: tasks.done_task(project, parent)
    )
    assert f"unfinished dependencies: {first} (pending)" in refusal(
        lambda: tasks.start_task(project, waiting)
    )
