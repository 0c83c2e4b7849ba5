"""Regions and code fences of a Markdown body (store/regions.py): a marker or heading
shown in a code block is an example, never structure, for every reader of them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from orchestrator.store.merge import merge_texts
from orchestrator.store.regions import MARKER, begin, end, fenced, markers
from orchestrator.store.session_view import broken_markers, regions_of


def test_a_line_of_three_backticks_does_not_close_a_fence_of_four():
    body = "\n".join(["````", "```", begin("groups"), "```", "````", "after"])
    assert fenced(body.splitlines()) == [True, True, True, True, True, False]
    assert list(markers(body.splitlines())) == []
    assert regions_of(body) == {} and broken_markers(body) == []  # an example, not a region


def test_a_tilde_fence_is_not_closed_by_backticks():
    lines = ["~~~", "```", end("groups"), "~~~", end("groups")]
    assert fenced(lines) == [True, True, True, True, False]
    assert list(markers(lines)) == [(4, "end", "groups")]


def test_a_closing_fence_takes_no_info_string():
    assert fenced(["```", "``` python", "x", "```", "y"]) == [True, True, True, True, False]


def test_the_merge_sees_the_regions_the_view_sees():
    """A marker shown in a code block is no region to the merge either: the people's
    text around it merges line by line."""
    example = f"````\n```\n{begin('header')}\n```\n````\n"
    base = f"{begin('header')}\nold\n{end('header')}\n{example}notes\n"
    ours = base.replace("notes", "notes, ours")
    theirs = base.replace("old", "new")
    merged = merge_texts(base, ours, theirs)
    assert merged.text.count(begin("header")) == 2 and "new" in merged.text


# -- against markdown-it-py, CommonMark's reference behaviour -------------------------

LINES = st.one_of(
    st.builds(
        lambda indent, char, n, info: " " * indent + char * n + info,
        st.integers(0, 3),
        st.sampled_from("`~"),
        st.integers(3, 5),
        st.sampled_from(["", " ", "py", " x`y", "~"]),
    ),
    st.sampled_from(["## Heading", "# Title", "", "text", "a `code` span", "~~ two", "``"]),
    st.builds(
        lambda kind, name: f"<!-- orch:{kind} {name} -->",
        st.sampled_from(["begin", "end"]),
        st.sampled_from(["groups", "header"]),
    ),
)


def fence_lines(lines: list[str]) -> list[bool]:
    """Which lines markdown-it puts in a fenced code block (fences included)."""
    inside = [False] * len(lines)
    for token in MarkdownIt("commonmark").parse("".join(f"{line}\n" for line in lines)):
        if token.type == "fence" and token.map:
            for n in range(token.map[0], min(token.map[1], len(lines))):
                inside[n] = True
    return inside


@settings(max_examples=400, deadline=None)
@given(st.lists(LINES, max_size=14))
def test_fenced_agrees_with_markdown_it(lines):
    assert fenced(lines) == fence_lines(lines)


@settings(max_examples=400, deadline=None)
@given(st.lists(LINES, max_size=14))
def test_markers_found_by_one_search_are_those_of_a_line_by_line_walk(lines):
    """markers() looks only at the lines one search of the text finds (fences and
    markers): the same markers as a walk over every line with fenced()."""
    walked = [
        (n, m[1], m[2])
        for n, (line, code) in enumerate(zip(lines, fenced(lines), strict=True))
        if not code and (m := MARKER.match(line))
    ]
    assert list(markers(lines)) == walked
    assert list(markers([f"{line}\n" for line in lines])) == walked  # lines with their ends


def test_the_newest_results_entry_is_found_outside_code_fences():
    from orchestrator.store.sections import latest_entry

    results = "### 2026-01-01\nOld.\n\n### 2026-01-02\nNew:\n\n```\n### not a heading\n```\n"
    assert latest_entry(results) == "New:\n\n```\n### not a heading\n```"
