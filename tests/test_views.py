"""session.md as a living view: generated regions, people's text kept byte for byte,
boxes and titles edited in it applied to the tasks, notes, valid CommonMark."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from orchestrator.core.project import Project
from orchestrator.core.tasks import delete_task
from orchestrator.store.record_file import split_frontmatter
from orchestrator.store.session_view import (
    REGIONS,
    SessionView,
    place,
    regions_of,
    render,
    shown_title,
    task_line,
)
from orchestrator.store.view_edits import read_edits
from tests.conftest import SQLITE_NOW_DUCKDB_SLOW, Orch, task_file
from tests.conftest import edit as edit_file

STATUSES = ["pending", "in_progress", "blocked", "completed", "needs_revision"]


def session_file(project: Project) -> tuple:
    [path] = list(project.layout.sessions_dir.glob("*/session.md"))
    return path, split_frontmatter(path.read_text(encoding="utf-8"))[1]


def outside_regions(body: str) -> list[str]:
    """The text between the regions: what people wrote."""
    lines = body.splitlines(keepends=True)
    spans = sorted(regions_of(body).values())
    parts, at = [], 0
    for first, last in spans:
        parts.append("".join(lines[at:first]))
        at = last + 1
    parts.append("".join(lines[at:]))
    return parts


def git(root, *args) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True).stdout


# -- the pure view: render, place, read back ----------------------------------------------

titles = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(
    lambda t: t.strip() and "<!--" not in t and "-->" not in t
)
people_text = st.text(
    st.characters(
        blacklist_categories=("Cs",), blacklist_characters="\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
    ),
    max_size=80,
).filter(lambda t: "orch:begin" not in t and "orch:end" not in t)


@st.composite
def views(draw):
    count = draw(st.integers(1, 8))
    tasks = []
    for n in range(count):
        parent = draw(st.sampled_from([None, *(t["task_id"] for t in tasks)])) if tasks else None
        tasks.append(
            {
                "task_id": f"t-{n:08x}",
                "title": draw(titles),
                "status": draw(st.sampled_from(STATUSES)),
                "group_id": draw(st.sampled_from([None, "g-00000001"])),
                "parent_task_id": parent,
                "specialist_type": draw(st.sampled_from([None, "implementer"])),
                "estimated_effort": draw(st.sampled_from([None, 2])),
                "started_at": None,
            }
        )
    session = {"session_id": "s-00000001", "name": draw(titles), "status": "active",
               "total_tasks": count, "completed_tasks": 0, "progress_percentage": 0.0}  # fmt: skip
    groups = [{"group_id": "g-00000001", "group_name": "Backend", "group_level": 0,
               "priority_level": 2, "total_tasks": 0, "completed_tasks": 0}]  # fmt: skip
    return SessionView(session, groups, tasks, ["2026-11-26 10:00 `abc1234` orch: add"])


@settings(max_examples=150, deadline=None)
@given(view=views(), before=people_text, notes=people_text, flips=st.data())
def test_round_trip_keeps_peoples_text_and_applies_boxes_and_titles(view, before, notes, flips):
    body = place(f"\n{before}\n", render(view))
    body = body.replace("### Next Steps\n", f"### Next Steps\n{notes}\n")
    kept = outside_regions(body)
    # A person ticks or unticks boxes and renames a task in the checklist.
    tasks = {t["task_id"]: t for t in view.tasks}
    was_done = {t["task_id"]: t["status"] == "completed" for t in view.tasks}
    flipped = flips.draw(st.sets(st.sampled_from(sorted(tasks))))
    renamed = flips.draw(st.sampled_from(sorted(tasks)))
    new_title = flips.draw(titles)
    lines = body.splitlines(keepends=True)
    for i, line in enumerate(lines):
        for task_id in flipped | {renamed}:
            task = tasks[task_id]
            depth = (len(line) - len(line.lstrip(" "))) // 2
            if line.rstrip("\n") == task_line(task, depth):
                edited = dict(task)
                if task_id in flipped:
                    edited["status"] = "pending" if task["status"] == "completed" else "completed"
                if task_id == renamed:
                    edited["title"] = new_title
                # The line as the person leaves it: box and title changed, the rest as shown.
                mark = "x" if edited["status"] == "completed" else " "
                text = task_line(task, depth)
                text = text.replace(
                    f"- [{'x' if task['status'] == 'completed' else ' '}] ", f"- [{mark}] ", 1
                )
                if task_id == renamed:
                    shown = shown_title(task["title"])
                    text = text.replace(f"] {shown} (", f"] {shown_title(new_title)} (", 1)
                lines[i] = text + "\n"
    edited_body = "".join(lines)
    edits, problems = read_edits(edited_body, body, tasks)
    assert problems == []
    for edit in edits:
        task = tasks[edit.task_id]
        if edit.checked is not None:
            task["status"] = "completed" if edit.checked else "pending"
        if edit.title is not None:
            task["title"] = edit.title
    for task_id, done in was_done.items():
        assert (tasks[task_id]["status"] == "completed") == (done != (task_id in flipped))
    regenerated = place(edited_body, render(view))
    assert outside_regions(regenerated) == kept  # people's text, byte for byte
    again_edits, _ = read_edits(regenerated, edited_body, tasks)
    assert again_edits == []  # the regenerated view shows what the person set
    assert " ".join(tasks[renamed]["title"].split()) == " ".join(new_title.split())


def test_an_edited_line_of_a_task_whose_file_is_broken_is_said_broken_not_missing():
    """The task is left out of the list while its file is broken; the caller's rule says
    why (file:line: problem), and the edit is said to wait for the fix."""
    task = {"task_id": "t-0000000a", "title": "Bulk", "status": "pending"}
    view = SessionView({"session_id": "s-00000001", "name": "S", "status": "active"}, [], [task])
    base = place("", render(view))
    body = base.replace("- [ ] Bulk", "- [x] Bulk")
    why = "task t-0000000a cannot be used: t-0000000a.md:4: YAML error; fix the file first"
    edits, [problem] = read_edits(body, base, {}, unusable={"t-0000000a": why}.get)
    assert edits == []
    assert problem.message.startswith(why) and "no task" not in problem.message
    assert "make it again once the file is fixed" in problem.message
    _, [missing] = read_edits(body, base, {}, unusable=lambda _: None)
    assert missing.message.startswith("no task t-0000000a")


def test_a_body_without_regions_gets_the_layout_around_its_text():
    view = SessionView({"session_id": "s-1", "name": "Alpha", "status": "active"}, [], [])
    body = place("\nShip v2 of the API.\n", render(view))
    assert [name for name, _ in sorted(regions_of(body).items(), key=lambda i: i[1])] == list(
        REGIONS
    )
    assert "Ship v2 of the API." in outside_regions(body)[1]
    assert "## Session Notes" in body


# -- through orch: real files, the index, commits -------------------------------------------


def make_session(orch: Orch) -> dict[str, str]:
    orch("session", "create", "Payments", "-d", "Ship it.")
    orch("group", "create", "Backend", "--focus", "implementer")
    parent = orch.json("task", "add", "Write the parser", "--group", "Backend", "--estimate", "3")
    child = orch.json("task", "add", "Parse dates", "--parent", parent["task_id"])
    started = orch.json("task", "add", "Started one")
    orch("task", "start", started["task_id"])
    loose = orch.json("task", "add", "Loose task")
    return {"parent": parent["task_id"], "child": child["task_id"],
            "started": started["task_id"], "loose": loose["task_id"]}  # fmt: skip


@pytest.mark.parametrize("engine", SQLITE_NOW_DUCKDB_SLOW)
def test_the_view_follows_every_change_and_is_committed_with_it(project):
    orch = Orch(project.root)
    ids = make_session(orch)
    _, body = session_file(project)
    assert f"- [ ] Write the parser (Pending) - 3h <!-- {ids['parent']} -->" in body
    assert f"  - [ ] Parse dates (Pending) <!-- {ids['child']} -->" in body
    orch("task", "done", ids["child"])
    _, body = session_file(project)
    assert f"  - [x] Parse dates (Completed) <!-- {ids['child']} -->" in body
    assert "Ship it." in body
    assert git(project.root, "status", "--porcelain") == ""
    assert "session.md" in git(project.root, "show", "--name-only", "--format=", "HEAD")


@pytest.mark.parametrize("engine", SQLITE_NOW_DUCKDB_SLOW)
def test_a_change_the_view_does_not_show_leaves_it_alone(project):
    """A priority or a description is not on the task's line nor in any count: the view
    is not regenerated for it (at thousands of tasks that is most of the change's cost),
    and its commit holds the task alone. A change the view shows still rewrites it."""
    orch = Orch(project.root)
    ids = make_session(orch)
    path, before = session_file(project)
    stat = path.stat()
    orch("task", "update", ids["loose"], "--priority", "1", "--description", "Quietly.")
    # Not written at all: a rewrite (a new file renamed into place) would show in the inode
    # and the ctime, even one within the clock tick of the last (equal times).
    assert (path.stat().st_ino, path.stat().st_ctime_ns) == (stat.st_ino, stat.st_ctime_ns)
    assert session_file(project)[1] == before
    changed = git(project.root, "show", "--name-only", "--format=", "HEAD").split()
    assert changed == [project.layout.rel(task_file(project, ids["loose"]))]
    orch("task", "update", ids["loose"], "--estimate", "4")
    _, body = session_file(project)
    assert f"- [ ] Loose task (Pending) - 4h <!-- {ids['loose']} -->" in body
    assert "session.md" in git(project.root, "show", "--name-only", "--format=", "HEAD")
    assert git(project.root, "status", "--porcelain") == ""


@pytest.mark.parametrize("engine", SQLITE_NOW_DUCKDB_SLOW)
def test_boxes_ticked_and_titles_edited_in_session_md_reach_the_tasks(project):
    orch = Orch(project.root)
    ids = make_session(orch)
    orch("task", "done", ids["loose"])
    path, _ = session_file(project)
    text = path.read_text(encoding="utf-8")
    text = text.replace("- [ ] Write the parser (Pending)", "- [x] Write the parser, v2 (Pending)")
    text = text.replace("- [ ] Started one (In Progress)", "- [x] Started one (In Progress)")
    text = text.replace("- [x] Loose task (Completed)", "- [ ] Loose task (Completed)")
    text = text.replace("### Next Steps\n", "### Next Steps\n\n- My own line, kept.\n")
    path.write_text(text, encoding="utf-8")
    tasks = {t["task_id"]: t for t in orch.json("task", "list")}
    assert tasks[ids["parent"]]["status"] == "completed"
    assert tasks[ids["parent"]]["title"] == "Write the parser, v2"
    assert tasks[ids["started"]]["status"] == "completed"
    assert tasks[ids["loose"]]["status"] == "pending"  # unticked: back to pending
    assert "status: completed" in task_file(project, ids["parent"]).read_text()
    _, body = session_file(project)
    assert "- [x] Write the parser, v2 (Completed) - 3h" in body
    assert "- My own line, kept." in body
    assert git(project.root, "status", "--porcelain") == ""
    assert git(project.root, "log", "-1", "--format=%s").startswith("orch: edit")


def test_unticking_a_started_task_takes_it_back_to_in_progress(sqlite_project):
    orch = Orch(sqlite_project.root)
    ids = make_session(orch)
    orch("task", "done", ids["started"])
    path, _ = session_file(sqlite_project)
    text = path.read_text().replace(
        "- [x] Started one (Completed)", "- [ ] Started one (Completed)"
    )
    path.write_text(text)
    assert orch.json("task", "show", ids["started"])["status"] == "in_progress"


def test_a_line_orch_cannot_map_is_reported_and_kept(sqlite_project):
    orch = Orch(sqlite_project.root)
    make_session(orch)
    path, _ = session_file(sqlite_project)
    text = path.read_text().replace(
        "<!-- orch:end groups -->", "- [ ] A task written here by hand\n<!-- orch:end groups -->"
    )
    path.write_text(text)
    line = text.splitlines().index("- [ ] A task written here by hand") + 1
    result = orch("task", "list")
    assert f"{sqlite_project.layout.rel(path)}:{line}: not a task line orch wrote" in result.stderr
    _, body = session_file(sqlite_project)
    assert "- [ ] A task written here by hand" in outside_regions(body)[3]  # kept, below the list
    assert len(orch.json("task", "list")) == 4  # not guessed into a task


def test_notes_are_dated_entries_under_their_heading(sqlite_project):
    orch = Orch(sqlite_project.root)
    make_session(orch)
    path, _ = session_file(sqlite_project)
    text = path.read_text().replace("### Key Learnings\n", "### Key Learnings\n\nWritten by me.\n")
    path.write_text(text)
    orch("note", "decision", "Use ISO dates everywhere")
    orch("note", "learning", "The parser is slow on big files")
    orch("note", "next", "Benchmark the parser")
    _, body = session_file(sqlite_project)
    notes = body[body.index("## Session Notes") : body.index("<!-- orch:begin changelog")]
    assert "### Decisions Made\n\n- 20" in notes and ": Use ISO dates everywhere\n" in notes
    assert "Written by me.\n- 20" in notes and "The parser is slow on big files" in notes
    assert "### Next Steps\n\n- 20" in notes
    assert git(sqlite_project.root, "log", "-1", "--format=%s").startswith("orch: note-next s-")
    assert orch("note", "decision", "   ", code=1).stderr.strip().endswith("a note needs some text")


def test_session_md_is_commonmark_that_renders_as_intended(sample_orch, sample):
    sample_orch("task", "list")  # the sample's views are generated by the first change:
    first = sample_orch.json("task", "list")[0]["task_id"]
    sample_orch("task", "update", first, "--priority", "2")
    active = sample_orch.json("session", "show")["session_id"]
    text = (sample.layout.session_dir(active) / "session.md").read_text(encoding="utf-8")
    body = split_frontmatter(text)[1]
    tokens = MarkdownIt("commonmark").enable("table").parse(body)
    types = [t.type for t in tokens]
    assert types.count("table_open") == 2  # the header and the overview
    items = [
        tokens[i + 2].content
        for i, t in enumerate(tokens)
        if t.type == "list_item_open" and tokens[i + 2].type == "inline"
    ]
    tasks = sample_orch.json("task", "list")
    checklist = [i for i in items if i.startswith(("[x] ", "[ ] "))]
    assert len(checklist) == len(tasks)  # every task is a checkbox item (GitHub, Obsidian)
    for token in tokens:
        if token.type == "html_block":
            assert token.content.strip().startswith("<!--") and token.content.strip().endswith(
                "-->"
            )
    inline_html = [
        c.content for t in tokens if t.children for c in t.children if c.type == "html_inline"
    ]
    assert inline_html and all(h.startswith("<!-- t-") and h.endswith("-->") for h in inline_html)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert {"Session Overview", "Task Groups", "Session Notes", "Change Log"} <= set(headings)


# -- what review found --------------------------------------------------------------------------


def test_a_stale_session_md_buffer_keeps_what_changed_meanwhile(sqlite_project):
    orch = Orch(sqlite_project.root)
    ids = make_session(orch)
    path, _ = session_file(sqlite_project)
    buffer = path.read_text()  # the person opens session.md
    orch("task", "done", ids["child"])  # an agent completes a task
    orch("note", "decision", "Decided by the agent")  # and writes a note
    ticked = buffer.replace("- [ ] Loose task (Pending)", "- [x] Loose task (Pending)")
    ticked = ticked.replace("### Next Steps\n", "### Next Steps\n\n- Mine, from the old buffer.\n")
    path.write_text(ticked)  # the person saves the old buffer with a tick and a line
    tasks = {t["task_id"]: t for t in orch.json("task", "list")}
    assert tasks[ids["child"]]["status"] == "completed"  # the agent's change stays
    assert tasks[ids["loose"]]["status"] == "completed"  # the person's tick applies
    _, body = session_file(sqlite_project)
    assert "Decided by the agent" in body and "- Mine, from the old buffer." in body
    assert "  - [x] Parse dates (Completed)" in body


def test_a_task_renamed_in_its_file_is_not_renamed_back_by_the_view(sqlite_project):
    orch = Orch(sqlite_project.root)
    ids = make_session(orch)
    edit_title = task_file(sqlite_project, ids["parent"])
    edit_title.write_text(
        edit_title.read_text().replace("title: Write the parser", "title: Parser v2")
    )
    path, _ = session_file(sqlite_project)
    path.write_text(
        path.read_text().replace("- [ ] Loose task (Pending)", "- [x] Loose task (Pending)")
    )
    tasks = {t["task_id"]: t for t in orch.json("task", "list")}
    assert tasks[ids["parent"]]["title"] == "Parser v2"
    assert tasks[ids["loose"]]["status"] == "completed"


def test_the_frontmatter_text_of_session_md_is_kept(sqlite_project):
    orch = Orch(sqlite_project.root)
    ids = make_session(orch)
    path, _ = session_file(sqlite_project)
    text = path.read_text().replace("status: active\n", "status: active  # owner: alice\n", 1)
    path.write_text(text)
    orch("task", "list")
    orch("task", "done", ids["loose"])
    assert "status: active  # owner: alice\n" in path.read_text()


def test_a_note_goes_to_session_notes_even_with_a_group_of_that_name(sqlite_project):
    orch = Orch(sqlite_project.root)
    make_session(orch)
    orch("group", "create", "Next Steps")
    orch("note", "next", "After the group")
    _, body = session_file(sqlite_project)
    notes = body[body.index("## Session Notes") :]
    assert ": After the group" in notes


def test_titles_cannot_open_an_html_comment(sqlite_project):
    orch = Orch(sqlite_project.root)
    make_session(orch)
    task_id = orch.json("task", "add", "Strip <!-- comments")["task_id"]
    _, body = session_file(sqlite_project)
    tokens = MarkdownIt("commonmark").parse(body)
    shown = [t.content for t in tokens if t.type == "inline" and task_id in t.content]
    assert shown and "Strip \\<!-- comments (Pending)" in shown[0]
    path, _ = session_file(sqlite_project)
    path.write_text(path.read_text().replace("- [ ] Strip", "- [x] Strip"))
    task = orch.json("task", "show", task_id)
    assert task["status"] == "completed" and task["title"] == "Strip <!-- comments"


def test_crlf_session_md_takes_notes_and_moved_lines(sqlite_project):
    orch = Orch(sqlite_project.root)
    make_session(orch)
    path, _ = session_file(sqlite_project)
    text = path.read_text().replace(
        "<!-- orch:end groups -->", "- my line\n<!-- orch:end groups -->"
    )
    path.write_bytes(text.replace("\n", "\r\n").encode())
    orch("task", "list")
    orch("note", "learning", "Works with CRLF")
    body = path.read_bytes().decode()
    assert "- my line" in body and ": Works with CRLF" in body


def test_commands_leave_views_of_hand_edits_to_the_next_change_or_sync(sqlite_project):
    orch = Orch(sqlite_project.root)
    ids = make_session(orch)
    path = task_file(sqlite_project, ids["loose"])
    path.write_text(path.read_text().replace("title: Loose task", "title: Renamed by hand"))
    orch("task", "list")  # indexed and committed; the view waits (reads stay fast)
    _, body = session_file(sqlite_project)
    assert "Loose task (Pending)" in body
    orch("sync")
    _, body = session_file(sqlite_project)
    assert "- [ ] Renamed by hand (Pending)" in body
    assert git(sqlite_project.root, "status", "--porcelain") == ""


def test_a_task_line_edited_back_to_an_older_version_deliberately_is_kept(sqlite_project):
    """A person who renames a task back to what an older version of session.md said
    made the edit on the newest file (it holds the newest change log): not a stale
    editor buffer. The edit applies; it is not merged away with the newest version."""
    orch = Orch(sqlite_project.root)
    ids = make_session(orch)
    path, _ = session_file(sqlite_project)
    orch("task", "update", ids["loose"], "--title", "Loose task, renamed")
    newer = path.read_text()
    assert "- [ ] Loose task, renamed (Pending)" in newer
    path.write_text(newer.replace("Loose task, renamed (Pending)", "Loose task (Pending)"))
    assert orch.json("task", "show", ids["loose"])["title"] == "Loose task"
    assert "- [ ] Loose task (Pending)" in path.read_text()
    assert git(sqlite_project.root, "status", "--porcelain") == ""


def test_session_md_restored_to_an_older_version_deliberately_is_kept(sqlite_project):
    """A file equal to an older committed version (restored from history, an undo) is a
    deliberate revert, as the syncer takes it (git/stale.py): its task lines are the
    person's edits and apply, instead of being merged back to the newest version."""
    orch = Orch(sqlite_project.root)
    ids = make_session(orch)
    path, _ = session_file(sqlite_project)
    older = path.read_text()
    orch("task", "update", ids["loose"], "--title", "Loose task, renamed")
    path.write_text(older)
    assert orch.json("task", "show", ids["loose"])["title"] == "Loose task"
    assert "- [ ] Loose task (Pending)" in path.read_text()
    assert git(sqlite_project.root, "status", "--porcelain") == ""


def test_a_restored_view_that_reopens_finished_work_says_so(sqlite_project):
    """The revert stands (the person's decision), but a task completed since the older
    view was taken is not reopened quietly: the warning names it and what it became."""
    orch = Orch(sqlite_project.root)
    ids = make_session(orch)
    path, _ = session_file(sqlite_project)
    older = path.read_text()
    orch("task", "done", ids["loose"])
    path.write_text(older)
    result = orch("task", "show", ids["loose"], "--json")
    assert f'{ids["loose"]} "Loose task" was completed; the edit took it back to pending' in (
        result.stderr
    )
    assert orch.json("task", "show", ids["loose"])["status"] == "pending"


def views_kept_and_afresh(project: Project) -> list[tuple[dict, dict]]:
    """Each session's regions rendered from the checklists the index keeps, beside the
    same rendered from every task afresh."""
    from orchestrator.core.views import view_of

    pairs = []
    with project.reading() as db:
        for (session_id,) in db.rows("SELECT session_id FROM sessions ORDER BY session_id"):
            kept = view_of(project, db, session_id)
            afresh = view_of(project, db, session_id, whole=True)
            assert kept is not None and afresh is not None
            pairs.append((render(kept), render(afresh)))
    return pairs


@pytest.mark.parametrize("engine", SQLITE_NOW_DUCKDB_SLOW)
def test_the_checklists_the_index_keeps_follow_every_change(sample):
    """session.md's view is rendered from each group's checklist as the index keeps it
    (core/views.py), dropped by the refresh that changes one of its tasks: after every
    kind of change, by a command, by hand or by git, it renders what every task read
    afresh renders."""
    orch = Orch(sample.root)
    active = orch.json("session", "show")["session_id"]
    groups = [g["group_id"] for g in orch.json("group", "list")]
    tasks = [t["task_id"] for t in orch.json("task", "list")]
    first, second = tasks[0], tasks[1]
    child = orch.json("task", "add", "Subtask", "--parent", first, "--estimate", "2")["task_id"]
    grandchild = task_file(
        sample, orch.json("task", "add", "Under it", "--parent", child)["task_id"]
    )
    with sample.reading() as db:
        assert db.scalar("SELECT count(*) FROM view_checklists WHERE session_id = ?", [active])
    steps = [
        ("task", "update", first, "--title", "Renamed [by a command]"),
        ("task", "done", child, "--actual", "3", "--force"),
        ("task", "update", second, "--estimate", "5", "--specialist", "reviewer"),
    ]
    for step in steps:
        orch(*step)
        for kept, afresh in views_kept_and_afresh(sample):
            assert kept == afresh, step
    delete_task(sample, second, cascade=True)
    for kept, afresh in views_kept_and_afresh(sample):
        assert kept == afresh
    # By hand: another group, a title, a new parent (the levels below it change: the
    # grandchild's group is told by the index's derived figures alone).
    path = task_file(sample, child)
    group_line = next(
        line for line in path.read_text().splitlines() if line.startswith("group_id:")
    )
    other = next(g for g in groups if g not in group_line)
    edit_file(grandchild, group_line, f"group_id: {other}")
    orch("status")
    for kept, afresh in views_kept_and_afresh(sample):
        assert kept == afresh
    edit_file(path, "title: Subtask", "title: Subtask renamed by hand")
    orch("status")
    for kept, afresh in views_kept_and_afresh(sample):
        assert kept == afresh
    text = path.read_text()
    assert f"parent_task_id: {first}" in text
    path.write_text(text.replace(f"parent_task_id: {first}", "parent_task_id: null"))
    orch("status")
    for kept, afresh in views_kept_and_afresh(sample):
        assert kept == afresh
    moved = task_file(sample, first)
    moved.write_text(moved.read_text().replace(group_line, f"group_id: {other}"))
    orch("status")
    for kept, afresh in views_kept_and_afresh(sample):
        assert kept == afresh
    # By git: every file back as two commits ago.
    subprocess.run(["git", "checkout", "HEAD~2", "--", "."], cwd=sample.root, check=True,
                   capture_output=True)  # fmt: skip
    orch("status")
    for kept, afresh in views_kept_and_afresh(sample):
        assert kept == afresh


def test_a_loop_made_in_one_group_changes_the_checklist_of_another(sqlite_project):
    """A parent link that closes a loop is cut by the index (one task becomes a top):
    the cut may fall in another group than the edited file's, whose kept checklist the
    derived figures alone change."""
    orch = Orch(sqlite_project.root)
    orch("session", "create", "Loops")
    one = orch.json("group", "create", "One")["group_id"]
    two = orch.json("group", "create", "Two")["group_id"]
    top = orch.json("task", "add", "Top", "--group", one)["task_id"]
    folder = task_file(sqlite_project, top).parent
    session = orch.json("session", "show")["session_id"]
    # Ids chosen below any random one: the loop is cut at its smallest id, Bottom, whose
    # parent is listed in its group too: it moves after the group's other tops.
    for task_id, title, parent in [
        ("t-00000002", "Middle", top),
        ("t-00000001", "Bottom", "t-00000002"),
    ]:
        (folder / f"{task_id}.md").write_text(
            f"---\ntask_id: {task_id}\nsession_id: {session}\ntitle: {title}\nstatus: pending\n"
            f"group_id: {two}\nparent_task_id: {parent}\n---\n"
        )
    orch("task", "add", "Beside", "--group", two)
    bottom = "t-00000001"
    before = views_kept_and_afresh(sqlite_project)
    assert before[0][0] == before[0][1]
    edit_file(
        task_file(sqlite_project, top),
        f"group_id: {one}",
        f"group_id: {one}\nparent_task_id: {bottom}",
    )
    orch("status")
    [(kept, afresh)] = views_kept_and_afresh(sqlite_project)
    assert kept == afresh
    assert kept["groups"] != before[0][0]["groups"]
