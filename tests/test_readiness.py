"""The index keeps the ready tasks in task_ready (index/readiness.py): after every kind
of change (statuses, dependencies, subtasks, deletions, edits by hand of a status, a
dependency or a parent, a file removed), on both engines, it holds exactly the tasks
the rule, evaluated afresh over every task, finds ready; and a rebuild agrees."""

from __future__ import annotations

from random import Random

from orchestrator.core.project import Project
from orchestrator.index.readiness import KEPT, READY_RULE
from tests.conftest import Orch, copy_sample, task_file

STATUSES = ["pending", "in_progress", "completed", "cancelled", "blocked"]


def kept_and_ruled(project: Project) -> tuple[set[tuple], set[tuple]]:
    """task_ready's rows, and the rows the rule gives from the tasks as they are now
    (what orders them included: a place in a group a refresh moved is kept too)."""
    columns = ", ".join(KEPT)
    with project.reading() as db:
        kept = set(db.rows(f"SELECT {columns} FROM task_ready"))
        ruled = set(
            db.rows(f"SELECT {', '.join(f't.{c}' for c in KEPT)} FROM tasks t WHERE {READY_RULE}")
        )
    return kept, ruled


def set_line(project: Project, task_id: str, key: str, value: str) -> None:
    """Edit one frontmatter field of a task file by hand (added if absent)."""
    path = task_file(project, task_id)
    lines = path.read_text(encoding="utf-8").split("\n")
    end = lines.index("---", 1)
    found = [i for i in range(1, end) if lines[i].startswith(f"{key}:")]
    # A list field (depends_on) may go on over the next lines: replace those too.
    if found:
        i = found[0]
        stop = i + 1
        while stop < end and lines[stop].startswith(("  ", "- ")):
            stop += 1
        lines[i:stop] = [f"{key}: {value}"]
    else:
        lines.insert(end, f"{key}: {value}")
    path.write_text("\n".join(lines), encoding="utf-8")


def test_kept_ready_tasks_follow_every_kind_of_change(tmp_path, engine):
    project = copy_sample(tmp_path / "sample", engine)
    orch = Orch(project.root)
    rng = Random(20)
    for step in range(40 if engine == "sqlite" else 8):  # DuckDB: the same SQL, slower
        ids = [t["task_id"] for t in orch.json("task", "list")]
        a, b = rng.sample(ids, 2)
        kind = step % 8
        if kind == 0:
            orch("task", "update", a, "--status", rng.choice(STATUSES), "--force", code=None)
        elif kind == 1:
            orch("task", "add", f"Subtask {step}", "--parent", a, code=None)
        elif kind == 2:
            orch("task", "update", a, "--add-dep", b, code=None)
        elif kind == 3:
            orch("task", "update", a, "--no-dependencies", code=None)
        elif kind == 4:
            set_line(project, a, "status", rng.choice(STATUSES))
        elif kind == 5:
            set_line(project, a, "depends_on", f"[{b}, t-gone{step:04d}]")
        elif kind == 6:
            set_line(project, a, "parent_task_id", b)
        elif step % 16 == 7:
            task_file(project, a).unlink()  # removed by hand: its dependents wait for nothing
        else:
            orch("task", "delete", a, "--cascade", code=None)
        kept, ruled = kept_and_ruled(project)
        assert kept == ruled, f"step {step} ({kind}): kept {kept ^ ruled} differ"
    assert kept, "nothing was ready at the end: the sequence tested too little"
    orch("reindex", "--json")
    assert kept_and_ruled(project) == (kept, kept)


def test_a_parent_named_by_hand_stops_being_ready_and_is_again_when_its_subtask_ends(
    tmp_path,
):
    project = copy_sample(tmp_path / "sample")
    orch = Orch(project.root)
    parent = orch.json("task", "add", "A parent")["task_id"]
    child = orch.json("task", "add", "A child")["task_id"]
    ready = lambda: {t["task_id"] for t in orch.json("task", "list", "--ready")}  # noqa: E731
    assert {parent, child} <= ready()
    set_line(project, child, "parent_task_id", parent)  # only the child's file changes
    assert parent not in ready() and child in ready()
    set_line(project, child, "status", "completed")
    assert parent in ready() and child not in ready()
    dependent = orch.json("task", "add", "Waits for the child", "--depends-on", child)["task_id"]
    assert dependent in ready()
    set_line(project, child, "status", "in_progress")  # only the dependency's file changes
    assert dependent not in ready() and parent not in ready()
    kept, ruled = kept_and_ruled(project)
    assert kept == ruled
