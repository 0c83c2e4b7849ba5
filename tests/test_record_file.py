"""The record file format: render and parse are inverses; parsing never raises."""

from __future__ import annotations

import string

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
