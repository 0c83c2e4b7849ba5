"""A task's text as HTML for the task page: CommonMark with tables, raw HTML in the text
shown as text (never run), and the links a task's body holds made to work in the board:
its artifacts (`../artifacts/<task>/<name>`) are served by the board, other tasks' files
(`t-….md`) open their task page."""

from __future__ import annotations

import re
from functools import cache
from typing import Any
from urllib.parse import quote, unquote

ARTIFACT = re.compile(r"^(?:\.\./)?artifacts/(?P<task>t-[\w-]+)/(?P<name>[^?#]+)$")
TASK_FILE = re.compile(r"^(?:(?:\.\./)*(?:[\w.-]+/)*tasks/)?(?P<task>t-[\w-]+)\.md$")


def board_href(href: str) -> str:
    """Where a link of a task's body leads on the board."""
    if m := ARTIFACT.match(href):
        return f"/api/artifact/{quote(m['task'])}/{quote(unquote(m['name']))}"
    if m := TASK_FILE.match(href):
        return f"#/task/{m['task']}"
    return href


@cache
def _renderer() -> Any:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")

    def link_open(renderer, tokens, idx, options, env):
        token = tokens[idx]
        token.attrSet("href", board_href(token.attrGet("href") or ""))
        if str(token.attrGet("href")).startswith(("http://", "https://")):
            token.attrSet("rel", "noopener noreferrer")
            token.attrSet("target", "_blank")
        return renderer.renderToken(tokens, idx, options, env)

    def image(renderer, tokens, idx, options, env):
        token = tokens[idx]  # an artifact's picture shown from the board
        token.attrSet("src", board_href(token.attrGet("src") or ""))
        return renderer.image(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    md.add_render_rule("image", image)
    return md


def to_html(text: str | None) -> str:
    """`text` (Markdown) as HTML, safe to put in the page."""
    return _renderer().render(text or "")
