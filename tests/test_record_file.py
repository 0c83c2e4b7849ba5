"""The record file format: render and parse are inverses; parsing never raises."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.layout import FileRole
from orchestrator.model import Record, known_fields
from orchestrator.store.record_file import parse_record, render_record, split_frontmatter

ROLE = FileRole("task", "t-1234abcd", "s-5678ef01")
ids = st.integers(0, 2**32 - 1).map(lambda n: f"t-{n:08x}")
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
# Keys a user adds: "x_" keeps them apart from the schema's own fields.
extra_keys = st.text(string.ascii_lowercase + "_", max_size=10).map(lambda k: f"x_{k}")
extra_values = st.recursive(
    st.none() | st.booleans() | st.integers() | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(extra_keys, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def task_records(draw) -> Record:
    meta = {
        "task_id": ROLE.record_id,
        "session_id": ROLE.session_dir,
        "title": draw(text.filter(lambda t: t.strip())),
        "status": draw(st.sampled_from(["pending", "in_progress", "completed", "cancelled"])),
        "priority_level": draw(st.integers(1, 5)),
        "estimated_effort": draw(st.none() | st.integers(0, 500)),
        "depends_on": draw(st.lists(ids, unique=True, max_size=4)),
        "created_at": "2026-11-25T22:37:33.042Z",
    }
    meta.update(draw(st.dictionaries(extra_keys, extra_values, max_size=4)))
    body = draw(st.just("") | text.map(lambda t: "\n" + t))
    return Record("task", meta, body)


def normalized(meta: dict) -> dict:
    """What a render keeps: unset known fields (None, []) are left out of the file."""
    known = set(known_fields("task"))
    return {k: v for k, v in meta.items() if k not in known or v not in (None, [])}


@settings(max_examples=300)
@given(task_records())
def test_render_then_parse_gives_the_record_back(record):
    parsed = parse_record("task", render_record(record), "x.md", ROLE)
    assert parsed.problems == []
    assert normalized(parsed.record.meta) == normalized(record.meta)
    assert parsed.record.body == record.body


@settings(max_examples=300)
@given(task_records())
def test_rendering_is_stable(record):
    once = render_record(record)
    again = render_record(parse_record("task", once, "x.md", ROLE).record)
    assert again == once


@settings(max_examples=500)
@given(st.text(max_size=300))
def test_parsing_anything_never_raises(content):
    parsed = parse_record("task", content, "x.md", ROLE)
    assert parsed.record is not None or parsed.problems


def test_text_that_looks_like_yaml_stays_text():
    record = Record(
        "task",
        {
            "task_id": ROLE.record_id,
            "session_id": ROLE.session_dir,
            "title": "status: completed\n---\nnope: [1",
        },
        "\n---\nbody\n",
    )
    parsed = parse_record("task", render_record(record), "x.md", ROLE)
    assert parsed.record.meta["title"] == "status: completed\n---\nnope: [1"
    assert parsed.record.meta.get("status") is None
    assert parsed.record.body == "\n---\nbody\n"


def test_unknown_keys_keep_their_place_after_the_known_ones():
    text = "---\nmy_note: keep me\ntitle: T\nstatus: pending\n---\nBody\n"
    parsed = parse_record("task", text, "x.md", ROLE)
    rendered = render_record(parsed.record)
    yaml_text, body = split_frontmatter(rendered)
    assert yaml_text.splitlines()[-1] == "my_note: keep me"
    assert body == "Body\n"


def test_windows_line_endings_and_a_byte_order_mark_are_read():
    text = "\ufeff---\r\ntitle: T\r\n---\r\nBody\r\n"
    parsed = parse_record("task", text, "x.md", ROLE)
    assert parsed.problems == [] and parsed.record.meta["title"] == "T"


def test_yaml_timestamps_become_iso_text():
    parsed = parse_record(
        "task", "---\ntitle: T\ncreated_at: 2026-01-02 03:04:05+01:00\n---\n", "x.md", ROLE
    )
    assert parsed.record.meta["created_at"] == "2026-01-02T02:04:05.000Z"


# The quick check that spares importing jsonschema must never pass what jsonschema fails.

FIELD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 12),
    st.floats(allow_nan=False, min_value=-5, max_value=15),
    st.sampled_from(
        ["pending", "completed", "moderate", "t-7f3a9c2e", "t-7F3A", "s-1", "g-x", "",
         "2026-11-25T14:30:00Z", "yesterday", "active"]
    ),
    st.lists(st.sampled_from(["t-7f3a9c2e", "t-0b66aa11", "x", 3]), max_size=3),
    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(), max_size=2),
)  # fmt: skip


@pytest.mark.parametrize("kind", ["session", "group", "task"])
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_the_quick_schema_check_never_passes_what_jsonschema_fails(kind, data):
    import jsonschema

    from orchestrator.model import TITLE_KEY, known_fields, record_schema
    from orchestrator.store.validation import surely_valid

    schema = record_schema(kind)
    keys = data.draw(st.lists(st.sampled_from(known_fields(kind)), unique=True, max_size=8))
    meta = {TITLE_KEY[kind]: "A title"} | {key: data.draw(FIELD_VALUES) for key in keys}
    quick = surely_valid(meta, schema, schema)
    valid = not list(jsonschema.Draft202012Validator(schema).iter_errors(meta))
    assert valid or not quick, meta


def test_the_quick_schema_check_says_yes_and_no():
    from orchestrator.model import record_schema
    from orchestrator.store.validation import surely_valid

    schema = record_schema("task")
    good = {"title": "x", "status": "pending", "depends_on": ["t-7f3a9c2e"], "priority_level": 2}
    assert surely_valid(good, schema, schema)
    for bad in ({"status": "nope"}, {"priority_level": 9}, {"depends_on": ["t-1", "t-1"]},
                {"priority_level": True}, {"title": ""}, {"task_id": "T-1"}):  # fmt: skip
        assert not surely_valid(good | bad, schema, schema), bad


def test_the_sample_records_pass_the_quick_check():
    from orchestrator.layout import Layout
    from orchestrator.model import record_schema
    from orchestrator.resources import shipped
    from orchestrator.store.record_file import load_yaml, split_frontmatter
    from orchestrator.store.validation import surely_valid

    layout = Layout(shipped("sample_project"))
    files = sorted(layout.sessions_dir.rglob("*.md"))
    assert len(files) > 30
    for path in files:
        role = layout.classify(layout.rel(path))
        meta = load_yaml(split_frontmatter(path.read_text(encoding="utf-8"))[0])
        schema = record_schema(role.kind)
        assert surely_valid(meta, schema, schema), path
