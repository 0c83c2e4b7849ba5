"""Dependencies: refused when unknown or cyclic (the cycle printed), and the ready list."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from orchestrator.core import sessions, tasks
from orchestrator.core.project import Project
from orchestrator.errors import DependencyCycle, InvalidInput, NotFound
from tests.conftest import make_project


@pytest.fixture(scope="module")
def chains() -> dict[str, tuple[Path, tuple[str, str, str]]]:
    """The chain's project for each engine, made once a module (on DuckDB that is a
    second of writes and commits), by engine: its folder and its task ids."""
    return {}


@pytest.fixture
def chain(tmp_path, tmp_path_factory, engine, chains) -> tuple[Project, str, str, str]:
    """a <- b <- c (c depends on b, b on a), in a project of its own: a copy of one made
    through the core, git history included and the index left out (the copy's first
    command builds its own: the index holds absolute paths)."""
    if engine not in chains:
        made = make_project(tmp_path_factory.mktemp(f"chain-{engine}") / "proj", engine)
        sessions.create_session(made, "S")
        a = tasks.add_task(made, "A")["task_id"]
        b = tasks.add_task(made, "B", depends_on=[a])["task_id"]
        c = tasks.add_task(made, "C", depends_on=[b])["task_id"]
        chains[engine] = made.root, (a, b, c)
    template, ids = chains[engine]
    root = tmp_path / "proj"
    shutil.copytree(template, root, symlinks=True, ignore=shutil.ignore_patterns(".index"))
    return Project(root.resolve()), *ids


def test_a_cycle_is_refused_and_printed(chain):
    project, a, b, c = chain
    with pytest.raises(DependencyCycle) as refused:
        tasks.update_task(project, a, add_dependencies=[c])
    assert (
        str(refused.value)
        == f"{a} cannot depend on {c}: that would make a cycle: {a} → {c} → {b} → {a}"
    )
    assert tasks.show_task(project, a)["depends_on"] == [], "nothing was written"


def test_depending_on_itself_is_refused(chain):
    project, a, _, _ = chain
    with pytest.raises(DependencyCycle, match="cannot depend on itself"):
        tasks.update_task(project, a, add_dependencies=[a])


def test_an_unknown_dependency_is_refused(chain):
    project, *_ = chain
    with pytest.raises(NotFound, match="no task 't-nothere'"):
        tasks.add_task(project, "D", depends_on=["t-nothere"])


def test_a_dependency_in_another_session_is_refused(chain):
    project, a, _, _ = chain
    sessions.create_session(project, "Other", switch=True)
    with pytest.raises(InvalidInput, match="can only depend on tasks of its own session"):
        tasks.add_task(project, "D", depends_on=[a])


def test_a_subtask_cannot_wait_on_its_own_parent(chain):
    project, a, _, _ = chain
    with pytest.raises(DependencyCycle) as refused:
        tasks.add_task(project, "A1", parent=a, depends_on=[a])
    assert re.fullmatch(
        rf"(t-\w+) cannot depend on {a}: that would make a cycle: \1 → {a} → \1"
        r" \(a parent waits for its subtasks\)",
        str(refused.value),
    )


def test_moving_a_task_under_one_it_waits_on_is_refused(chain):
    project, a, b, _ = chain
    with pytest.raises(DependencyCycle) as refused:
        tasks.move_task(project, b, parent=a)
    assert str(refused.value) == (
        f"cannot move {b} under {a}: that would make a cycle: {a} → {b} → {a}"
        " (a parent waits for its subtasks)"
    )


def ready_ids(project):
    return [t["task_id"] for t in tasks.list_tasks(project, ready=True)]


def test_ready_lists_pending_tasks_whose_dependencies_are_completed(chain):
    project, a, b, c = chain
    assert ready_ids(project) == [a]
    tasks.done_task(project, a)
    assert ready_ids(project) == [b]
    tasks.start_task(project, b)
    assert ready_ids(project) == [], "in progress is not ready"
    tasks.done_task(project, b)
    assert ready_ids(project) == [c]


def test_ready_puts_urgent_first(project):
    sessions.create_session(project, "S")
    low = tasks.add_task(project, "Someday", priority_level=5)["task_id"]
    urgent = tasks.add_task(project, "Urgent", priority_level=1)["task_id"]
    normal = tasks.add_task(project, "Normal")["task_id"]
    assert ready_ids(project) == [urgent, normal, low]


def test_a_parent_is_ready_only_when_its_subtasks_are_done(project):
    sessions.create_session(project, "S")
    parent = tasks.add_task(project, "Parent")["task_id"]
    child = tasks.add_task(project, "Child", parent=parent)["task_id"]
    assert ready_ids(project) == [child]
    tasks.done_task(project, child)
    assert ready_ids(project) == [parent]


def test_a_cancelled_dependency_does_not_make_a_task_ready(chain):
    project, a, b, _ = chain
    tasks.update_task(project, a, status="cancelled")
    assert b not in ready_ids(project)


def test_a_loop_through_a_parent_is_refused(project):
    """P waits for its subtask T; T waiting for X, which waits for P, never ends."""
    sessions.create_session(project, "S")
    p = tasks.add_task(project, "P")["task_id"]
    x = tasks.add_task(project, "X", depends_on=[p])["task_id"]
    with pytest.raises(DependencyCycle) as refused:
        tasks.add_task(project, "T", parent=p, depends_on=[x])
    assert f"→ {x} → {p} →" in str(refused.value)
    assert str(refused.value).endswith("(a parent waits for its subtasks)")


def test_moving_a_task_under_its_own_subtask_is_refused(chain):
    project, a, _, _ = chain
    child = tasks.add_task(project, "A1", parent=a)["task_id"]
    with pytest.raises(
        DependencyCycle, match=f"cannot move {a} under {child}: that would make a cycle"
    ):
        tasks.move_task(project, a, parent=child)


def test_a_loop_through_a_parent_made_by_hand_is_reported(project):
    sessions.create_session(project, "S")
    p = tasks.add_task(project, "P")["task_id"]
    x = tasks.add_task(project, "X", depends_on=[p])["task_id"]
    t = tasks.add_task(project, "T", parent=p)["task_id"]
    path = next(project.layout.sessions_dir.glob(f"*/tasks/{t}.md"))
    path.write_text(path.read_text().replace("title: T\n", f"title: T\ndepends_on: [{x}]\n"))
    from orchestrator.core.board import problems

    found = [str(problem) for problem in problems(project)]
    assert len(found) == 1 and "dependency cycle:" in found[0]
    assert found[0].endswith("(a parent waits for its subtasks) — remove one of these dependencies")
