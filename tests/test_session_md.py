"""session.md as people and the spec want it: a deliberate hand edit stands, what maps to
a field is applied and what does not is said, the description is the person's text, and
the view shows the mode, actual efforts, an estimated completion date, the session's time
and its key metrics; the index fills the spec's columns from the files.

Everything here goes through the CLI and plain files (issue 17)."""

from __future__ import annotations

import math
import re
from datetime import date, timedelta

from tests.conftest import Orch, task_file


def session_md(project):
    [path] = list(project.layout.sessions_dir.glob("*/session.md"))
    return path


def make_session(orch: Orch) -> dict[str, str]:
    orch("session", "create", "Payments", "-d", "Ship v2 of the payments API.")
    orch("group", "create", "Backend")
    parser = orch.json("task", "add", "Write the parser", "--group", "Backend", "--estimate", "3")
    tests = orch.json("task", "add", "Test the parser", "--estimate", "2")
    return {"parser": parser["task_id"], "tests": tests["task_id"]}


def line_of(path, text: str) -> int:
    """The 1-based line of the file that holds `text`."""
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def no_stale_warning(result) -> None:
    assert "stale" not in result.stderr and "older version" not in result.stderr


# -- item 3: a deliberate hand edit stands ------------------------------------------------


def test_a_session_made_active_by_hand_in_session_md_stays_active(project):
    orch = Orch(project.root)
    make_session(orch)
    session_id = orch.json("session", "show")["session_id"]
    orch("session", "pause", session_id)
    path = session_md(project)
    path.write_text(path.read_text().replace("status: paused\n", "status: active\n", 1))
    result = orch("session", "list", "--json")
    no_stale_warning(result)
    assert orch.json("session", "show", session_id)["status"] == "active"
    assert "status: active\n" in path.read_text()


def test_the_last_good_copy_of_a_broken_session_md_restored_stands(sqlite_project):
    orch = Orch(sqlite_project.root)
    make_session(orch)
    session_id = orch.json("session", "show")["session_id"]
    orch("session", "pause", session_id)
    path = session_md(sqlite_project)
    good = path.read_text()
    added = orch.json("task", "add", "Added since", "--session", session_id)["task_id"]
    broken = path.read_text().replace("name: Payments", "name: [Payments", 1)
    path.write_text(broken)
    orch("session", "list")  # the broken file is seen, and committed as it is
    path.write_text(good)  # the person puts the last good copy back
    result = orch("session", "list", "--json")
    no_stale_warning(result)
    # A copy restored whole is not a list edited line by line: nothing to say about the
    # task added since (its line comes back) nor about the regions orch writes.
    assert "deleted task line" not in result.stderr and "generated from" not in result.stderr
    assert orch.json("session", "show", session_id)["name"] == "Payments"
    assert "name: Payments\n" in path.read_text() and "[Payments" not in path.read_text()
    assert f"<!-- {added} -->" in path.read_text()


def test_a_status_word_edited_in_the_checklist_sets_the_task_status(project):
    orch = Orch(project.root)
    ids = make_session(orch)
    path = session_md(project)
    path.write_text(
        path.read_text().replace(
            "- [ ] Test the parser (Pending)", "- [ ] Test the parser (In Progress)"
        )
    )
    task = orch.json("task", "show", ids["tests"])
    assert task["status"] == "in_progress" and task["started_at"]
    assert f"- [ ] Test the parser (In Progress) - 2h <!-- {ids['tests']} -->" in path.read_text()
    assert "status: in_progress" in task_file(project, ids["tests"]).read_text()


def test_a_status_word_follows_the_rule_of_a_ticked_box(sqlite_project):
    """Completed typed over Pending is the person's decision, as a ticked box is: it
    stands, with the same warning naming the subtask still open."""
    orch = Orch(sqlite_project.root)
    ids = make_session(orch)
    child = orch.json("task", "add", "Parse dates", "--parent", ids["parser"])["task_id"]
    path = session_md(sqlite_project)
    path.write_text(
        path.read_text().replace(
            "- [ ] Write the parser (Pending)", "- [ ] Write the parser (Completed)"
        )
    )
    result = orch("task", "list")
    assert f"unfinished subtasks: {child} (pending)" in result.stderr
    assert orch.json("task", "show", ids["parser"])["status"] == "completed"
    assert "- [x] Write the parser (Completed)" in path.read_text()


def test_a_renamed_title_and_a_status_word_apply_together(sqlite_project):
    orch = Orch(sqlite_project.root)
    ids = make_session(orch)
    path = session_md(sqlite_project)
    path.write_text(
        path.read_text().replace("- [ ] Test the parser (Pending)", "- [ ] Test it all (Blocked)")
    )
    task = orch.json("task", "show", ids["tests"])
    assert (task["title"], task["status"]) == ("Test it all", "blocked")


def test_an_unknown_status_word_is_said_and_changes_nothing(sqlite_project):
    orch = Orch(sqlite_project.root)
    ids = make_session(orch)
    path = session_md(sqlite_project)
    at = line_of(path, "Test the parser (Pending)")
    path.write_text(
        path.read_text().replace("- [ ] Test the parser (Pending)", "- [ ] Test the parser (Done)")
    )
    result = orch("task", "list")
    assert f"session.md:{at}: (Done) is not a status orch knows" in result.stderr
    task = orch.json("task", "show", ids["tests"])
    assert (task["title"], task["status"]) == ("Test the parser", "pending")


def test_a_deleted_task_line_is_said_and_listed_again(sqlite_project):
    orch = Orch(sqlite_project.root)
    ids = make_session(orch)
    path = session_md(sqlite_project)
    text = path.read_text()
    at = line_of(path, "Test the parser (Pending)")
    path.write_text("".join(line for line in text.splitlines(True) if ids["tests"] not in line))
    result = orch("task", "list")
    assert (
        f"session.md:{at}: a deleted task line does not delete the task: {ids['tests']}"
        in result.stderr
    )
    assert f"orch task delete {ids['tests']}" in result.stderr  # the hint, as the CLI says it
    assert len(orch.json("task", "list")) == 2
    assert f"- [ ] Test the parser (Pending) - 2h <!-- {ids['tests']} -->" in path.read_text()


def test_an_edited_header_is_said_with_where_its_facts_live(sqlite_project):
    orch = Orch(sqlite_project.root)
    make_session(orch)
    session_id = orch.json("session", "show")["session_id"]
    path = session_md(sqlite_project)
    at = line_of(path, f"| `{session_id}` | active |")
    path.write_text(
        path.read_text().replace(f"| `{session_id}` | active |", f"| `{session_id}` | paused |")
    )
    result = orch("task", "list")
    assert f"session.md:{at}: the header is generated from the session's name and status" in (
        result.stderr
    )
    assert f"orch session pause {session_id}" in result.stderr
    assert orch.json("session", "show")["status"] == "active"
    assert f"| `{session_id}` | active |" in path.read_text()


# -- item 6: the description is the person's text -----------------------------------------


def test_the_session_description_is_the_persons_text_not_the_view(project):
    orch = Orch(project.root)
    make_session(orch)
    shown = orch.json("session", "show")
    assert shown["description"] == "Ship v2 of the payments API."
    orch("note", "decision", "Use ISO dates")
    description = orch.json("session", "show")["description"]
    assert "orch:begin" not in description and "Task Groups" not in description
    assert description.startswith("Ship v2 of the payments API.\n\n## Session Notes")
    assert ": Use ISO dates" in description
    assert "orch:begin" not in orch("session", "show").stdout


# -- the view as the spec draws it --------------------------------------------------------


def test_the_header_names_the_mode_and_its_file(sqlite_project):
    orch = Orch(sqlite_project.root)
    make_session(orch)
    text = session_md(sqlite_project).read_text()
    assert "| default_roles (default_roles.yaml) |" in text


def test_a_completed_task_shows_its_actual_effort(sqlite_project):
    orch = Orch(sqlite_project.root)
    ids = make_session(orch)
    orch("task", "done", ids["parser"])
    orch("task", "update", ids["parser"], "--actual", "5")
    text = session_md(sqlite_project).read_text()
    assert f"- [x] Write the parser (Completed) - 3h est, 5h actual <!-- {ids['parser']} -->" in (
        text
    )
    assert "- Actual against estimated: 5h for 3h over 1 completed task(s) (1.67x)" in text


def test_the_estimated_completion_is_a_date_at_the_sessions_pace(project):
    """Pace: estimated effort completed per calendar day since activation; the open
    effort at that pace gives the date. The index column and session.md agree."""
    orch = Orch(project.root)
    ids = make_session(orch)
    orch.json("task", "add", "Document it", "--estimate", "4")
    path = session_md(project)
    text = path.read_text()
    assert "| no pace yet (no estimated work completed) |" in text
    assert orch.json("session", "show")["estimated_completion_date"] is None
    started = (date.today() - timedelta(days=3)).isoformat()
    text = re.sub(r"activated_at: '[^']*'", f"activated_at: '{started}T09:00:00Z'", text)
    path.write_text(text)
    orch("task", "done", ids["parser"])  # 3h done over 4 days; 6h left
    session = orch.json("session", "show")
    last = date.fromisoformat(session["last_activity_at"][:10])
    days = (last - date.fromisoformat(started)).days + 1
    expected = (last + timedelta(days=math.ceil(6 * days / 3))).isoformat()
    assert session["estimated_completion_date"] == expected
    assert f"| {expected} |" in path.read_text()
    orch("reindex")  # a rebuild from the files gives the same date
    assert orch.json("session", "show")["estimated_completion_date"] == expected


def test_an_estimate_too_far_ahead_for_a_date_breaks_nothing(sqlite_project):
    # 3,000,000 h left at 1 h a day is past the year 9999: every command, doctor and
    # reindex included, failed with an internal error (OverflowError).
    orch = Orch(sqlite_project.root)
    orch("session", "create", "Big")
    small = orch.json("task", "add", "Small", "--estimate", "1")["task_id"]
    for n in range(3):
        orch("task", "add", f"Huge {n}", "--estimate", "1000000")
    orch("task", "done", small)
    assert orch.json("session", "show")["estimated_completion_date"] is None
    assert "| over 100 years at this pace |" in session_md(sqlite_project).read_text()
    orch("reindex")
    orch("doctor")


def test_key_metrics_and_the_total_session_time(sqlite_project):
    orch = Orch(sqlite_project.root)
    ids = make_session(orch)
    orch("task", "done", ids["parser"])
    orch("task", "update", ids["tests"], "--status", "blocked")
    text = session_md(sqlite_project).read_text()
    metrics = text[text.index("### Key Metrics") : text.index("<!-- orch:end overview")]
    assert "- Tasks done: 1 of 2 (50%)\n" in metrics
    assert "- Effort done: 3h of 5h estimated (60%)\n" in metrics
    assert "- Blocked: 1\n" in metrics
    assert "- Actual against estimated: no completed task has both yet\n" in metrics
    assert re.search(r"total session time \d+m ·", text)


# -- index columns the spec has -----------------------------------------------------------


def test_the_index_fills_markdown_section_verification_and_file_operations(project):
    orch = Orch(project.root)
    ids = make_session(orch)
    path = task_file(project, ids["parser"])
    folder = path.parent.parent / "artifacts" / ids["parser"]
    folder.mkdir(parents=True)
    (folder / "01-design.md").write_text("# Design\n")
    (folder / "02-review.md").write_text("# Review\n")
    path.write_text(
        path.read_text()
        + "\n## Results\n\n- Details: [01-design.md](../artifacts/"
        + f"{ids['parser']}/01-design.md)\n- Details: [02-review.md](../artifacts/"
        + f"{ids['parser']}/02-review.md)\n"
    )
    tasks = {t["task_id"]: t for t in orch.json("task", "list")}
    parser, tests = (orch.json("task", "show", ids[k]) for k in ("parser", "tests"))
    assert (parser["markdown_section"], tests["markdown_section"]) == (
        "Backend",
        "Tasks without a group",
    )
    assert parser["verification_status"] == tests["verification_status"] == "pending"
    assert (parser["file_operations_count"], tests["file_operations_count"]) == (2, 0)
    assert set(tasks) == set(ids.values())
    orch("reindex")
    assert orch.json("task", "show", ids["parser"])["file_operations_count"] == 2
