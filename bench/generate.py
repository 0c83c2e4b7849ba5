"""Generate a large, realistic orch project for benchmarks.

    python bench/generate.py DIR --tasks 10000 [--sessions 5] [--groups 8] [--seed 1]

The project is created with `orch init`'s code, then the session, group and task files
are written directly (rendering them as orch does), which takes seconds where the CLI
would take minutes. The index is removed at the end, so the first orch command in DIR
pays for a cold build. Same arguments, same files: everything comes from one seeded RNG.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random

from orchestrator.core.setup import init_project
from orchestrator.model import format_time
from orchestrator.store.record_file import new_record, render_record

BASE_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SPECIALISTS = ("architect", "implementer", "tester", "documenter", "reviewer")
SESSION_NAMES = (
    "Payments API v2",
    "Mobile app redesign",
    "Data warehouse migration",
    "Developer docs revamp",
    "Search relevance",
    "Billing cleanup",
    "Onboarding flow",
    "Observability",
)
GROUP_NAMES = (
    "Design",
    "Backend",
    "Frontend",
    "Data",
    "Security",
    "Testing",
    "Docs",
    "Release",
)
VERBS = ("Add", "Fix", "Refactor", "Document", "Test", "Review", "Design", "Migrate", "Speed up")
OBJECTS = (
    "the login form",
    "refund handling",
    "the CSV export",
    "webhook retries",
    "the settings page",
    "rate limiting",
    "the search index",
    "audit logging",
    "invoice PDFs",
    "the onboarding emails",
    "session timeouts",
    "the billing cron job",
    "error messages",
    "the health check",
    "pagination",
    "the cache layer",
)
DETAILS = (
    "Start from the current behaviour and write down what users actually hit.",
    "Keep the change small enough to review in one sitting.",
    "The old code path stays behind a flag until the new one has run for a week.",
    "Measure before and after; the numbers go in the pull request.",
    "Ask the support team which cases they see most often.",
    "Cover the edge cases listed in the last incident review.",
    "Update the runbook and the changelog in the same change.",
)
# Task status -> share of tasks (the rest is pending).
STATUS_SHARES = (("completed", 0.40), ("in_progress", 0.10), ("blocked", 0.05))
SUBTASK_SHARE = 0.30
DEPENDENT_SHARE = 0.25
MAX_LEVEL = 3  # a subtask's level (0 = top-level task): at most 3 ancestors


def generate(
    target: Path, tasks: int, sessions: int = 5, groups_per_session: int = 8, seed: int = 1
) -> dict:
    """Create a project in `target` holding `sessions` sessions (the last one active, the
    others paused), `groups_per_session` groups each and `tasks` tasks spread evenly over
    the sessions. Returns the ids worth benchmarking and the project's shape:
    {"root", "active_session", "task_id", "sessions", "groups", "tasks", "active_tasks"}."""
    rng = Random(seed)
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    project, _ = init_project(target)
    layout = project.layout
    used: set[str] = set()
    clock = iter(range(10**9))

    def new_id(prefix: str) -> str:
        while True:
            candidate = f"{prefix}{rng.getrandbits(32):08x}"
            if candidate not in used:
                used.add(candidate)
                return candidate

    def stamp(seconds_later: int = 0) -> str:
        return format_time(BASE_TIME + timedelta(seconds=next(clock) + seconds_later))

    def write(kind: str, session_id: str, record_id: str, meta: dict, description: str) -> None:
        path = layout.record_path(kind, session_id, record_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_record(new_record(kind, meta, description)), encoding="utf-8")

    shape = {"root": str(layout.root), "sessions": sessions, "groups": 0, "tasks": tasks}
    for s in range(sessions):
        session_id = new_id("s-")
        active = s == sessions - 1
        created = stamp()
        name = SESSION_NAMES[s % len(SESSION_NAMES)]
        write(
            "session",
            session_id,
            session_id,
            {
                "session_id": session_id,
                "name": name if s < len(SESSION_NAMES) else f"{name} {s + 1}",
                "status": "active" if active else "paused",
                "priority_level": rng.randint(1, 5),
                "created_at": created,
                "activated_at": created,
            },
            f"Benchmark session {s + 1} of {sessions}. {rng.choice(DETAILS)}",
        )
        group_ids = []
        for g in range(groups_per_session):
            group_id = new_id("g-")
            group_ids.append(group_id)
            name = GROUP_NAMES[g % len(GROUP_NAMES)]
            write(
                "group",
                session_id,
                group_id,
                {
                    "group_id": group_id,
                    "session_id": session_id,
                    "group_name": name if g < len(GROUP_NAMES) else f"{name} {g + 1}",
                    "specialist_focus": rng.choice(SPECIALISTS),
                    "priority_level": rng.randint(1, 5),
                    "created_at": stamp(),
                },
                f"The {name.lower()} work of this session.",
            )
        shape["groups"] += len(group_ids)
        count = tasks // sessions + (1 if s < tasks % sessions else 0)
        ids = write_tasks(rng, write, new_id, stamp, session_id, group_ids, count)
        if active:
            shape["active_session"] = session_id
            shape["task_id"] = ids[len(ids) // 2] if ids else None
            shape["active_tasks"] = len(ids)
    shutil.rmtree(layout.index_dir, ignore_errors=True)
    return shape


def write_tasks(rng, write, new_id, stamp, session_id, group_ids, count) -> list[str]:
    """Write `count` tasks of one session; returns their ids in creation order.

    A parent waits for its subtasks and a task for its dependencies, so dependencies are
    drawn from an order in which everything can finish: the forest in post-order
    (subtasks before their parent). A task depends only on tasks before it in that order,
    which also keeps it from depending on its own ancestors: no cycles."""
    ids = [new_id("t-") for _ in range(count)]
    parent_of: dict[str, str | None] = {}
    level: dict[str, int] = {}
    children: dict[str | None, list[str]] = {None: []}
    for i, task_id in enumerate(ids):
        parent = None
        if i and rng.random() < SUBTASK_SHARE:
            candidate = ids[rng.randrange(i)]
            if level[candidate] < MAX_LEVEL:
                parent = candidate
        parent_of[task_id] = parent
        level[task_id] = level[parent] + 1 if parent else 0
        children.setdefault(task_id, [])
        children[parent].append(task_id)
    finish_order: list[str] = []
    stack: list[tuple[str, bool]] = [(t, False) for t in reversed(children[None])]
    while stack:
        task_id, expanded = stack.pop()
        if expanded:
            finish_order.append(task_id)
            continue
        stack.append((task_id, True))
        stack.extend((child, False) for child in reversed(children[task_id]))
    rank = {task_id: n for n, task_id in enumerate(finish_order)}

    group_of: dict[str, str] = {}
    for task_id in ids:
        parent = parent_of[task_id]
        group_id = group_of[parent] if parent else rng.choice(group_ids)
        group_of[task_id] = group_id
        depends_on: list[str] = []
        if rank[task_id] and rng.random() < DEPENDENT_SHARE:
            for _ in range(rng.randint(1, 2)):
                candidate = finish_order[rng.randrange(rank[task_id])]
                if candidate not in depends_on:
                    depends_on.append(candidate)
        meta = {
            "task_id": task_id,
            "session_id": session_id,
            "title": f"{rng.choice(VERBS)} {rng.choice(OBJECTS)}",
            "status": pick_status(rng),
            "group_id": group_id,
            "parent_task_id": parent,
            "specialist_type": rng.choice(SPECIALISTS),
            "complexity_level": rng.choice(("simple", "moderate", "moderate", "complex")),
            "priority_level": rng.randint(1, 5),
            "estimated_effort": rng.randint(1, 8),
            "depends_on": depends_on,
            "created_at": stamp(),
        }
        if meta["status"] in ("completed", "in_progress", "blocked"):
            meta["started_at"] = stamp(60)
        if meta["status"] == "completed":
            meta["completed_at"] = stamp(3600)
            meta["actual_effort"] = rng.randint(1, 10)
        meta["last_updated_at"] = meta.get("completed_at") or meta.get("started_at")
        description = " ".join(rng.sample(DETAILS, 3))
        write("task", session_id, task_id, meta, description)
    return ids


def pick_status(rng: Random) -> str:
    roll = rng.random()
    for status, share in STATUS_SHARES:
        if roll < share:
            return status
        roll -= share
    return "pending"


def fresh_project(root: Path, tasks: int, engine: str = "sqlite") -> dict:
    """A new project in `root` (any old one removed) on `engine`, with its index built
    and every file committed once: what a benchmark times against. Returns its shape."""
    from orchestrator.core.project import Project

    shutil.rmtree(root, ignore_errors=True)
    shape = generate(root, tasks)
    if engine != "sqlite":
        config = root / ".task_orchestrator" / "config.yaml"
        config.write_text(config.read_text().replace("index: sqlite", f"index: {engine}"))
    with Project(root).reading():
        pass
    return shape


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", type=Path, help="directory of the new project")
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--groups", type=int, default=8, help="groups per session")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if (args.target / ".task_orchestrator").exists():
        sys.exit(f"{args.target} already holds a project; give a new directory")
    shape = generate(args.target, args.tasks, args.sessions, args.groups, args.seed)
    print(json.dumps(shape, indent=2))


if __name__ == "__main__":
    main()
