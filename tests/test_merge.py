"""The three-way merge of a record file: fields merge one by one, the body line by line
with git's diff3, conflicts are written into the file and settled by resolve_text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.store.merge import (
    CONFLICT_KEY,
    MergeResult,
    find_conflicts,
    merge_texts,
    resolve_text,
)
from orchestrator.store.record_file import dump_yaml, load_yaml, split_frontmatter

BASE_META = {
    "task_id": "t-05082545",
    "session_id": "s-d8917066",
    "title": "Announce the v2 beta to merchants",
    "status": "pending",
    "group_id": "g-25e86ce7",
    "depends_on": ["t-1393e030", "t-8abf4f53"],
    "created_at": "2026-11-25T23:35:14.947Z",
    "last_updated_at": "2026-11-25T23:35:14.947Z",
}
BASE_BODY = "\nThe description, in Markdown.\n"


def record(meta: dict | None = None, body: str = BASE_BODY, **changes) -> str:
    """A task file: BASE_META (or `meta`) with `changes`; a change to None removes the key."""
    fields = dict(BASE_META if meta is None else meta)
    for key, value in changes.items():
        if value is None:
            fields.pop(key, None)
        else:
            fields[key] = value
    return f"---\n{dump_yaml(fields)}---\n{body}"


BASE = record()
# The same title, written another way.
QUOTED_TITLE = (
    "title: Announce the v2 beta to merchants\n",
    "title: 'Announce the v2 beta to merchants'\n",
)


def fields(text: str) -> dict:
    return load_yaml(split_frontmatter(text)[0])


def body(text: str) -> str:
    return split_frontmatter(text)[1]


# Frontmatter


def test_identical_sides_give_that_text():
    ours = record(status="in_progress")
    assert merge_texts(BASE, ours, ours) == MergeResult(ours, [], False)


def test_each_side_keeps_its_own_field_change():
    result = merge_texts(BASE, record(status="in_progress"), record(title="Announce v2"))
    assert result.clean
    assert fields(result.text) == {**BASE_META, "status": "in_progress", "title": "Announce v2"}


def test_a_deleted_key_stays_deleted_when_the_other_side_left_it_alone():
    result = merge_texts(BASE, record(status="in_progress"), record(group_id=None))
    assert result.clean
    assert "group_id" not in fields(result.text)
    assert fields(result.text)["status"] == "in_progress"


def test_stale_buffer_keeps_agent_status_and_user_description():
    base = record(status="in_progress", body="\nShip the beta announcement.\n")
    agent = record(
        status="completed",
        completed_at="2026-11-26T09:12:00.000Z",
        last_updated_at="2026-11-26T09:12:00.000Z",
        body="\nShip the beta announcement.\n",
    )
    user = record(
        status="in_progress",
        body="\nShip the beta announcement.\n\nMention the new refund API.\n",
    )
    result = merge_texts(base, agent, user)
    assert result.clean
    merged = fields(result.text)
    assert merged["status"] == "completed"
    assert merged["completed_at"] == "2026-11-26T09:12:00.000Z"
    assert merged["last_updated_at"] == "2026-11-26T09:12:00.000Z"
    assert body(result.text) == "\nShip the beta announcement.\n\nMention the new refund API.\n"


def test_depends_on_merges_as_a_set():
    ours = record(depends_on=["t-1393e030", "t-8abf4f53", "t-00000001"])
    theirs = record(depends_on=["t-8abf4f53", "t-00000002"])  # removes t-1393e030
    result = merge_texts(BASE, ours, theirs)
    assert result.clean
    assert fields(result.text)["depends_on"] == ["t-8abf4f53", "t-00000001", "t-00000002"]


def test_a_list_both_sides_start_takes_both_additions():
    result = merge_texts(BASE, record(tags=["launch"]), record(tags=["docs", "launch"]))
    assert result.clean
    assert fields(result.text)["tags"] == ["launch", "docs"]


def test_a_list_emptied_on_one_side_keeps_only_the_other_sides_additions():
    ours = record(depends_on=["t-1393e030", "t-8abf4f53", "t-00000001"])
    result = merge_texts(BASE, ours, record(depends_on=None))
    assert fields(result.text)["depends_on"] == ["t-00000001"]


def test_mappings_merge_key_by_key():
    base = record(links={"spec": "a.md", "pr": "1"})
    ours = record(links={"spec": "b.md", "pr": "1"})
    theirs = record(links={"spec": "a.md", "pr": "2", "ci": "ok"})
    result = merge_texts(base, ours, theirs)
    assert result.clean
    assert fields(result.text)["links"] == {"spec": "b.md", "pr": "2", "ci": "ok"}


def test_a_conflict_inside_a_mapping_is_a_conflict_of_its_key():
    base = record(links={"spec": "a.md", "pr": "1"})
    ours = record(links={"spec": "b.md", "pr": "1"})
    theirs = record(links={"spec": "c.md", "pr": "2"})
    result = merge_texts(base, ours, theirs)
    assert result.conflicts == ["links"]
    merged = fields(result.text)
    assert merged["links"] == {"spec": "b.md", "pr": "1"}
    assert merged[CONFLICT_KEY]["links"]["theirs"] == {"spec": "c.md", "pr": "2"}


def test_last_updated_at_takes_the_later_stamp():
    ours = record(status="in_progress", last_updated_at="2026-11-25T23:40:00.000Z")
    theirs = record(title="Announce v2", last_updated_at="2026-11-25T23:41:00.500Z")
    result = merge_texts(BASE, ours, theirs)
    assert result.clean
    assert fields(result.text)["last_updated_at"] == "2026-11-25T23:41:00.500Z"


def test_a_field_conflict_keeps_ours_and_records_all_three_last():
    result = merge_texts(BASE, record(status="completed"), record(status="cancelled"))
    assert (result.conflicts, result.body_conflict, result.clean) == (["status"], False, False)
    merged = fields(result.text)
    assert merged["status"] == "completed"
    assert list(merged)[-1] == CONFLICT_KEY
    assert merged[CONFLICT_KEY] == {
        "status": {"base": "pending", "ours": "completed", "theirs": "cancelled"}
    }
    assert find_conflicts(result.text) == (["status"], False)


def test_an_absent_side_is_recorded_as_null():
    result = merge_texts(BASE, record(group_id=None), record(group_id="g-99999999"))
    merged = fields(result.text)
    assert "group_id" not in merged
    assert merged[CONFLICT_KEY]["group_id"] == {
        "base": "g-25e86ce7",
        "ours": None,
        "theirs": "g-99999999",
    }


def test_an_earlier_unresolved_conflict_is_never_dropped():
    carried = {"status": {"base": "pending", "ours": "completed", "theirs": "cancelled"}}
    base = record(status="completed", orch_conflict=carried)
    ours = record(status="completed", title="Announce v2", orch_conflict=carried)
    theirs = record(status="completed", estimated_effort=3, orch_conflict=carried)
    result = merge_texts(base, ours, theirs)
    assert result.conflicts == ["status"]
    assert fields(result.text)[CONFLICT_KEY] == carried


def test_conflicts_carried_by_each_side_are_kept_beside_a_new_one():
    title = {"title": {"base": "a", "ours": "b", "theirs": "c"}}
    status = {"status": {"base": "pending", "ours": "completed", "theirs": "cancelled"}}
    ours = record(priority_level=1, orch_conflict=title)
    theirs = record(priority_level=2, orch_conflict=status)
    result = merge_texts(BASE, ours, theirs)
    assert result.conflicts == ["title", "status", "priority_level"]
    assert fields(result.text)[CONFLICT_KEY] == {
        **title,
        **status,
        "priority_level": {"base": None, "ours": 1, "theirs": 2},
    }


def test_merged_fields_keep_ours_order_then_keys_only_theirs_has():
    ours = record({"title": "x", "status": "pending", "a": 1})
    theirs = record({"status": "pending", "b": 2, "title": "y", "c": 3})
    base = record({"title": "x", "status": "pending"})
    result = merge_texts(base, ours, theirs)
    assert list(fields(result.text)) == ["title", "status", "a", "b", "c"]


def test_ours_yaml_text_is_kept_when_the_merge_equals_ours():
    ours = BASE.replace("status: pending\n", "status: in_progress  # picked up by the agent\n")
    theirs = BASE.replace(QUOTED_TITLE[0], QUOTED_TITLE[1]).replace(BASE_BODY, "\nNew.\n")
    result = merge_texts(BASE, ours, theirs)
    assert result.text == ours.replace(BASE_BODY, "\nNew.\n")


def test_theirs_yaml_text_is_kept_when_the_merge_equals_theirs():
    ours = BASE.replace(QUOTED_TITLE[0], QUOTED_TITLE[1])  # same fields as base
    theirs = BASE.replace("status: pending\n", "status: completed  # done\n")
    assert merge_texts(BASE, ours, theirs).text == theirs


# Body


def test_body_edits_on_separate_lines_merge_cleanly():
    base = record(body="\nOne.\n\nTwo.\n\nThree.\n")
    ours = record(body="\nOne, edited.\n\nTwo.\n\nThree.\n")
    theirs = record(body="\nOne.\n\nTwo.\n\nThree, edited.\n")
    result = merge_texts(base, ours, theirs)
    assert result.clean
    assert body(result.text) == "\nOne, edited.\n\nTwo.\n\nThree, edited.\n"


def test_a_body_conflict_writes_diff3_markers():
    base = record(body="\nShip on Monday.\n")
    result = merge_texts(
        base, record(body="\nShip on Tuesday.\n"), record(body="\nShip on Friday.\n")
    )
    assert (result.conflicts, result.body_conflict) == ([], True)
    assert body(result.text) == (
        "\n<<<<<<< ours\nShip on Tuesday.\n||||||| base\nShip on Monday.\n"
        "=======\nShip on Friday.\n>>>>>>> theirs\n"
    )
    assert find_conflicts(result.text) == ([], True)


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("ours", "\nShip on Tuesday.\nBy noon.\n"),
        ("theirs", "\nShip on Friday.\nBy noon.\n"),
        ("merge", "\nShip on Tuesday.\nBy noon.\nShip on Friday.\n"),
    ],
)
def test_body_conflict_blocks_resolve_by_strategy(strategy, expected):
    base = record(body="\nShip on Monday.\n")
    ours = record(body="\nShip on Tuesday.\nBy noon.\n")
    theirs = record(body="\nShip on Friday.\nBy noon.\n")
    resolved = resolve_text(merge_texts(base, ours, theirs).text, strategy)
    assert resolved == record(body=expected)
    assert find_conflicts(resolved) == ([], False)


def test_generated_regions_take_ours_content_and_never_conflict():
    def page(note: str, region: str) -> str:
        return record(
            body=f"\n{note}\n\n<!-- orch:begin subtasks -->\n{region}<!-- orch:end subtasks -->\n"
        )

    base = page("Note.", "- [ ] t-1\n")
    ours = page("Note, by the agent.", "- [x] t-1\n")
    theirs = page("Note.", "- [ ] t-1\n- [ ] t-2\n")
    result = merge_texts(base, ours, theirs)
    assert result.clean
    assert result.text == ours


def test_a_region_only_theirs_has_uses_theirs_content():
    base = record(body="\nA.\n<!-- orch:begin log -->\nold\n<!-- orch:end log -->\nB.\n")
    ours = record(body="\nA, edited.\nB.\n")  # ours removed the region
    theirs = record(body="\nA.\n<!-- orch:begin log -->\nnew\n<!-- orch:end log -->\nB.\n")
    result = merge_texts(base, ours, theirs)
    assert result.clean
    assert body(result.text) == "\nA, edited.\nB.\n"


def test_texts_without_a_final_newline_round_trip():
    base = record(body="\nOne.\n\nTwo.\n\nThree.")
    ours = record(status="in_progress", body="\nOne!\n\nTwo.\n\nThree.")
    theirs = record(body="\nOne.\n\nTwo.\n\nThree!")
    result = merge_texts(base, ours, theirs)
    assert result.clean
    assert body(result.text) == "\nOne!\n\nTwo.\n\nThree!"


# Edges


def test_an_unreadable_side_falls_back_to_a_line_merge():
    ours = BASE.replace("status: pending", "status: [in_progress")  # broken YAML
    theirs = BASE.replace(BASE_BODY, "\nThe description, in Markdown.\n\nMore.\n")
    result = merge_texts(BASE, ours, theirs)
    assert result == MergeResult(ours + "\nMore.\n", [], False)


def test_an_unreadable_side_with_a_clash_reports_the_body_conflict():
    ours = BASE.replace("status: pending", "status: [in_progress")
    theirs = BASE.replace("status: pending", "status: done")
    result = merge_texts(BASE, ours, theirs)
    assert (result.conflicts, result.body_conflict) == ([], True)
    assert "<<<<<<< ours\nstatus: [in_progress\n" in result.text


def test_a_file_added_on_both_sides_merges_against_nothing():
    ours = record(status="in_progress", body="\nFrom here.\n")
    theirs = record(title="Announce v2", body="\nFrom here.\n")
    result = merge_texts(None, ours, theirs)
    assert result.conflicts == ["title", "status"]
    assert fields(result.text)[CONFLICT_KEY]["status"] == {
        "base": None,
        "ours": "in_progress",
        "theirs": "pending",
    }
    assert body(result.text) == "\nFrom here.\n"


def test_git_failing_raises_with_its_message():
    with pytest.raises(RuntimeError, match="binary"):
        merge_texts("a\n", "b\0\n", "c\n")


def test_find_conflicts_never_raises_on_bad_text():
    assert find_conflicts("no frontmatter") == ([], False)
    assert find_conflicts("---\n: [\n---\n") == ([], False)
    assert find_conflicts("x\n<<<<<<< ours\na\n=======\nb\n>>>>>>> theirs\n") == ([], True)
    assert find_conflicts(f"---\n{CONFLICT_KEY}: 3\n---\n") == ([], False)


# Resolution


@pytest.fixture
def conflicted() -> str:
    """A merge with two field conflicts, one of them against a deleted key."""
    return merge_texts(
        BASE,
        record(status="completed", group_id=None),
        record(status="cancelled", group_id="g-99999999"),
    ).text


@pytest.mark.parametrize(
    ("strategy", "status", "group_id"),
    [("ours", "completed", None), ("theirs", "cancelled", "g-99999999")],
)
def test_resolving_takes_one_side_for_every_field(conflicted, strategy, status, group_id):
    resolved = resolve_text(conflicted, strategy)
    assert find_conflicts(resolved) == ([], False)
    assert fields(resolved) == fields(record(status=status, group_id=group_id))


def test_resolving_by_merge_takes_the_side_picked_for_each_field(conflicted):
    resolved = resolve_text(conflicted, "merge", {"status": "base", "group_id": "theirs"})
    assert fields(resolved) == fields(record(group_id="g-99999999"))
    assert body(resolved) == BASE_BODY


def test_resolving_by_merge_names_the_fields_still_to_choose(conflicted):
    with pytest.raises(ValueError, match=r"choose group_id=ours\|theirs\|base"):
        resolve_text(conflicted, "merge", {"status": "ours"})


@pytest.mark.parametrize(
    ("strategy", "picks"),
    [
        ("mine", None),
        ("merge", {"status": "mine", "group_id": "ours"}),
        ("merge", {"status": "ours", "group_id": "ours", "title": "ours"}),
        ("ours", {"status": "theirs"}),
    ],
)
def test_resolving_refuses_unknown_strategies_and_picks(conflicted, strategy, picks):
    with pytest.raises(ValueError):
        resolve_text(conflicted, strategy, picks)


def test_resolving_a_clean_file_changes_nothing():
    assert resolve_text(BASE, "merge") == BASE


# Properties

fragments = st.sampled_from(
    [":", ": ", "'", '"', "---", "...", "\n", "# ", "- ", "é", "日本", "\t", " "]
)
tricky_text = st.lists(fragments | st.text(max_size=4), max_size=6).map("".join)
scalars = st.none() | st.booleans() | st.integers(-5, 5) | tricky_text
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(tricky_text, inner, max_size=3),
    max_leaves=6,
)
keys = st.sampled_from(["title", "status", "depends_on", "last_updated_at", "a: b", "---", "é"])
metas = st.dictionaries(keys, values, max_size=5)
bodies = st.lists(st.sampled_from(["\n", "One.\n", "Two.\n", "---\n", "Three."]), max_size=4).map(
    "".join
)


def file_text(meta: dict, body_text: str = BASE_BODY) -> str:
    return f"---\n{dump_yaml(meta)}---\n{body_text}"


@settings(max_examples=100, deadline=None)
@given(metas, metas, bodies, bodies)
def test_identical_sides_merge_to_themselves(base, side, base_body, side_body):
    text = file_text(side, side_body)
    assert merge_texts(file_text(base, base_body), text, text).text == text


@settings(max_examples=100, deadline=None)
@given(metas, metas, bodies, bodies)
def test_a_side_equal_to_base_gives_the_other_side(base, side, base_body, side_body):
    base_text, text = file_text(base, base_body), file_text(side, side_body)
    assert merge_texts(base_text, base_text, text).text == text
    assert merge_texts(base_text, text, base_text).text == text


@st.composite
def one_sided_changes(draw):
    """A base and two sides that change (or delete) disjoint sets of its fields."""
    base = draw(metas)
    changed = draw(st.dictionaries(keys, values | st.just(None), min_size=1, max_size=4))
    ours_keys = draw(st.sets(st.sampled_from(sorted(changed))))
    ours, theirs = dict(base), dict(base)
    for key, value in changed.items():
        side = ours if key in ours_keys else theirs
        if value is None:
            side.pop(key, None)
        else:
            side[key] = value
    return base, ours, theirs


@settings(max_examples=150, deadline=None)
@given(one_sided_changes())
def test_a_field_changed_on_one_side_is_never_dropped(sides):
    base, ours, theirs = sides
    result = merge_texts(file_text(base), file_text(ours), file_text(theirs))
    assert result.clean
    merged = fields(result.text)
    for side in (ours, theirs):
        for key in set(base) | set(side):
            if base.get(key, KeyError) != side.get(key, KeyError):
                assert merged.get(key, KeyError) == side.get(key, KeyError)


@settings(max_examples=200, deadline=None)
@given(metas, metas, metas)
def test_merged_frontmatter_always_loads_as_yaml(base, ours, theirs):
    result = merge_texts(file_text(base), file_text(ours), file_text(theirs))
    merged = fields(result.text)
    assert isinstance(merged, dict)
    assert find_conflicts(result.text) == (result.conflicts, False)
    records = merged.get(CONFLICT_KEY, {})
    assert list(records) == result.conflicts
    for key in result.conflicts:
        assert merged.get(key) == ours.get(key)
        assert records[key] == {
            side: meta.get(key)
            for side, meta in (("base", base), ("ours", ours), ("theirs", theirs))
        }
    for key in set(ours) | set(theirs):
        if key not in records and theirs.get(key, KeyError) == base.get(key, KeyError):
            assert merged.get(key, KeyError) == ours.get(key, KeyError)
    for strategy in ("ours", "theirs"):
        assert find_conflicts(resolve_text(result.text, strategy)) == ([], False)


def test_a_start_keeps_the_earlier_stamp_and_a_completion_the_later():
    ours = record(status="completed", started_at="2026-11-25T10:00:00.000Z",
                  completed_at="2026-11-25T12:00:00.000Z")  # fmt: skip
    theirs = record(status="completed", started_at="2026-11-25T09:00:00.000Z",
                    completed_at="2026-11-25T13:00:00.000Z")  # fmt: skip
    result = merge_texts(BASE, ours, theirs)
    assert result.clean
    merged = fields(result.text)
    assert merged["started_at"] == "2026-11-25T09:00:00.000Z"
    assert merged["completed_at"] == "2026-11-25T13:00:00.000Z"
