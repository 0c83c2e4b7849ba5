"""Search: tasks (title, description, results) and session notes (decisions, learnings,
next steps), ranked, with the hit shown in a snippet.

On SQLite, tasks are found and ranked by FTS5 (bm25, the title weighing more than the
text; schema/index_sqlite.sql). DuckDB finds the same tasks by pattern (every word, as a
word prefix) and ranks them by where and how often the words occur. Session notes are
few: they are read from the sessions' bodies and matched the same way.

Snippets are cut here, on both engines, from a window around the first hit: FTS5's own
snippet() scores every hit of a column against every other, and a pasted log repeating
a word 100,000 times held a search for minutes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from typing import Any

from orchestrator.core import lookup
from orchestrator.core.inputs import checked_choice
from orchestrator.core.project import Project
from orchestrator.core.task_fields import field_filter
from orchestrator.errors import InvalidInput
from orchestrator.model import ARCHIVED

SCOPES = ("active", "all_sessions", "archived")
SCOPE_ALIASES = {"active_session": "active", "all": "all_sessions"}
CONTENT_TYPES = ("tasks", "notes", "decisions", "learnings", "all")
# Which Session Notes headings each content type searches (notes: all of them).
NOTE_KINDS = {"decisions": ("decision",), "learnings": ("learning",),
              "notes": ("decision", "learning", "next")}  # fmt: skip
MARK = ("**", "**")  # how a snippet marks the words found (Markdown bold)
TITLE_WEIGHT = 5.0
# A snippet is cut from at most this many characters on each side of the first hit,
# whatever the size of the text and however many hits it holds.
WINDOW = 150


def words(query: str) -> list[str]:
    # Letters and digits, as FTS5's unicode61 tokenizer cuts words (an underscore
    # separates two), so both engines look for the same words.
    found = re.findall(r"[^\W_]+", query or "")
    if not found:
        raise InvalidInput("search for at least one word")
    return found


def checked_scope(scope: str) -> str:
    scope = SCOPE_ALIASES.get(scope, scope)
    if scope not in SCOPES:
        raise InvalidInput(f"scope {scope!r} is not one of {', '.join(SCOPES)}")
    return scope


def checked_types(content_types: Iterable[str] | str) -> set[str]:
    given = [content_types] if isinstance(content_types, str) else list(content_types)
    given = given or ["all"]
    for kind in given:
        if kind not in CONTENT_TYPES:
            raise InvalidInput(f"content type {kind!r} is not one of {', '.join(CONTENT_TYPES)}")
    if "all" in given:
        return {"tasks", "notes"}
    return set(given)


def search(
    project: Project,
    query: str,
    *,
    scope: str = "active",
    content_types: Iterable[str] | str = ("all",),
    status: Iterable[str] = (),
    group: str | None = None,
    specialist_type: str | None = None,
    labels: Iterable[str] = (),
    assignee: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> dict[str, Any]:
    """Tasks and notes matching every word of `query` (each word also as a prefix:
    "pars" finds "parser"), best first. `scope`: the active session, all sessions, or
    the archived ones. `labels` (tasks having all) and `assignee` filter the tasks."""
    terms = words(query)
    scope = checked_scope(scope)
    kinds = checked_types(content_types)
    statuses = [checked_choice("task", "status", s) for s in status]
    with project.reading() as db:
        sessions = _sessions(project, db, scope)
        out: dict[str, Any] = {"query": query, "scope": scope, "sessions": len(sessions)}
        if "tasks" in kinds:
            clauses, params = _filters(db, sessions, scope, statuses, group, specialist_type)
            more, more_params = field_filter(labels, assignee)
            clauses, params = clauses + more, params + more_params
            finder = _fts if db.engine == "sqlite" else _patterns
            total, rows = finder(db, terms, clauses, params, limit, offset)
            out["tasks"] = rows
            out["task_total"] = total
        note_kinds = {k for kind in kinds for k in NOTE_KINDS.get(kind, ())}
        if note_kinds:
            out["notes"] = _notes(db, sessions, terms, note_kinds, limit)
    return out


def _sessions(project: Project, db, scope: str) -> list[dict[str, Any]]:
    if scope == "active":
        active = lookup.active_session(db)
        if active is not None:
            return [active]
        project.warnings.append("no session is active: searched every session not archived")
        return db.records(
            f"SELECT * FROM sessions WHERE status <> '{ARCHIVED}' ORDER BY session_id"
        )
    if scope == "archived":
        return db.records(f"SELECT * FROM sessions WHERE status = '{ARCHIVED}' ORDER BY session_id")
    return db.records("SELECT * FROM sessions ORDER BY session_id")


def _filters(db, sessions, scope, statuses, group, specialist_type) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if scope != "all_sessions":
        ids = [s["session_id"] for s in sessions] or [""]
        clauses.append(f"t.session_id IN ({', '.join('?' * len(ids))})")
        params += ids
    if statuses:
        clauses.append(f"t.status IN ({', '.join('?' * len(statuses))})")
        params += statuses
    if group:
        if len(sessions) == 1:
            clauses.append("t.group_id = ?")
            params.append(lookup.group(db, group, sessions[0]["session_id"])["group_id"])
        else:
            clauses.append("(t.group_id = ? OR t.task_group = ?)")
            params += [group, group]
    if specialist_type:
        clauses.append("t.specialist_type = ?")
        params.append(specialist_type)
    return clauses, params


COLUMNS = "t.task_id, t.title, t.status, t.session_id, t.task_group, t.specialist_type"


def _fts(db, terms, clauses, params, limit, offset):
    # FTS5 first (materialized), then the filters: asked the other way round, SQLite
    # walks a session's tasks and runs the match on each, a hundred times slower.
    match = " ".join(f'"{t}"*' for t in terms)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = db.records(
        "WITH hits AS MATERIALIZED (SELECT rowid AS id, bm25(tasks_fts,"
        f" {TITLE_WEIGHT}, 1.0) AS score FROM tasks_fts WHERE tasks_fts MATCH ?)"
        f" SELECT {COLUMNS}, hits.id AS fts_id, hits.score, count(*) OVER () AS total"
        f" FROM hits JOIN tasks t ON t.rowid = hits.id {where}"
        f" ORDER BY hits.score, t.task_id LIMIT {int(limit)} OFFSET {int(offset)}",
        [match, *params],
    )
    total = rows[0]["total"] if rows else _fts_total(db, match, where, params, offset)
    # The texts of this page only; the snippets are cut here (see the module's docstring).
    texts = {}
    if rows:
        ids = [r["fts_id"] for r in rows]
        in_ids = ", ".join("?" * len(ids))
        texts = dict(
            db.rows(f"SELECT rowid, description FROM tasks WHERE rowid IN ({in_ids})", ids)
        )
    patterns = word_patterns(terms)
    for row in rows:
        text = texts.get(row.pop("fts_id")) or ""
        row["snippet"] = task_snippet(row["title"] or "", text, patterns)
        row["rank"] = round(-row.pop("score"), 3)  # bm25 is lower for better: a score
        del row["total"]
    return total, rows


def _fts_total(db, match, where, params, offset) -> int:
    """The number of hits when the page asked for is past the last one."""
    if not offset:
        return 0
    return db.scalar(
        "WITH hits AS MATERIALIZED (SELECT rowid AS id FROM tasks_fts WHERE tasks_fts MATCH ?)"
        f" SELECT count(*) FROM hits JOIN tasks t ON t.rowid = hits.id {where}",
        [match, *params],
    )


def _patterns(db, terms, clauses, params, limit, offset):
    """DuckDB: every word as a word prefix in the title or the text, scored in Python
    by the same idea as bm25 (title hits weigh more; more hits, higher)."""
    conds, values = [], []
    for term in terms:
        conds.append("(t.title ILIKE ? OR t.description ILIKE ?)")
        values += [f"%{term}%", f"%{term}%"]
    where = " AND ".join([*conds, *clauses])
    rows = db.records(
        f"SELECT {COLUMNS}, t.description FROM tasks t WHERE {where}", [*values, *params]
    )
    patterns = word_patterns(terms)
    scored = []
    for row in rows:
        title, text = row["title"] or "", row.pop("description") or ""
        if not all(p.search(title) or p.search(text) for p in patterns):
            continue  # the word occurs only inside another word
        score = sum(
            TITLE_WEIGHT * len(p.findall(title)) + len(p.findall(text)) / (1 + len(text) / 2000)
            for p in patterns
        )
        row["snippet"] = task_snippet(title, text, patterns)
        row["rank"] = round(score, 3)
        scored.append(row)
    scored.sort(key=lambda r: (-r["rank"], r["task_id"]))
    return len(scored), scored[offset : offset + limit]


@cache
def _accented() -> dict[str, str]:
    """Each Latin letter -> itself and its accented forms ("e" -> "eéèêë..."): FTS5's
    unicode61 tokenizer (remove_diacritics) takes "café" and "cafe" for one word."""
    forms: dict[str, str] = {}
    for code in range(0xC0, 0x250):
        char = chr(code)
        base = unicodedata.normalize("NFD", char)
        if len(base) > 1 and base[0].isascii() and all(map(unicodedata.combining, base[1:])):
            forms[base[0].lower()] = forms.get(base[0].lower(), base[0].lower()) + char.lower()
    return forms


def word_patterns(terms: list[str]) -> list[re.Pattern]:
    """One pattern per word: the word as a word prefix, in any case, accents aside."""
    forms = _accented()
    patterns = []
    for term in terms:
        letters = unicodedata.normalize("NFD", term.lower())
        letters = "".join(c for c in letters if not unicodedata.combining(c))
        body = "".join(f"[{forms[c]}]" if c in forms else re.escape(c) for c in letters)
        patterns.append(re.compile(rf"(?<![^\W_]){body}", re.I))
    return patterns


def first_hit(text: str, patterns: list[re.Pattern]) -> int | None:
    """Where the first word found starts in `text` (None: nowhere). Each pattern stops
    at its first hit: at most one pass over the text per word, however many hits."""
    starts = [m.start() for p in patterns if (m := p.search(text))]
    return min(starts) if starts else None


_WORD = re.compile(r"\S+")  # a snippet's words: what whitespace separates
_NOT_SPACE = re.compile(r"\S")


def snippet(text: str, patterns: list[re.Pattern], width: int = 12, at: int | None = None) -> str:
    """About `width` words around the first hit (or `at`), the hits marked. The words
    come from at most WINDOW characters each side of it: the work does not grow with
    the size of the text or the number of hits."""
    if at is None:
        at = first_hit(text, patterns) or 0
    start, end = max(0, at - WINDOW), min(len(text), at + WINDOW)
    spans = [m.span() for m in _WORD.finditer(text, start, end)]
    # Leave out a word the window's edge cuts in two (not the one holding the hit).
    if spans and spans[0][0] == start > 0 and not text[start - 1].isspace() and spans[0][1] <= at:
        spans.pop(0)
    if spans and spans[-1][1] == end < len(text) and not text[end].isspace() and spans[-1][0] > at:
        spans.pop()
    if not spans:
        return ""
    hit = next((i for i, (_, stop) in enumerate(spans) if stop > at), 0)
    first = max(0, hit - width // 2)
    part = spans[first : first + width]
    shown = " ".join(
        f"{MARK[0]}{word}{MARK[1]}" if any(p.search(word) for p in patterns) else word
        for word in (text[a:b] for a, b in part)
    )
    more_before = _NOT_SPACE.search(text, 0, part[0][0]) is not None
    more_after = _NOT_SPACE.search(text, part[-1][1]) is not None
    return ("…" if more_before else "") + shown + ("…" if more_after else "")


def task_snippet(title: str, text: str, patterns: list[re.Pattern]) -> str:
    """A task's snippet: around the first hit in its text, else in its title, else the
    start of its text."""
    for source in (text, title):
        at = first_hit(source, patterns)
        if at is not None:
            return snippet(source, patterns, at=at)
    return snippet(text or title, patterns, at=0)


def _notes(db, sessions, terms, kinds, limit) -> list[dict[str, Any]]:
    """Entries of the sessions' notes (one bullet each) holding every word."""
    from orchestrator.store.session_view import NOTE_SECTIONS, NOTES_HEADING

    patterns = word_patterns(terms)
    headings = {NOTE_SECTIONS[k]: k for k in kinds}
    found = []
    for session in sessions:
        body = session.get("description") or ""
        if NOTES_HEADING not in body:
            continue
        kind = None
        for line in body.splitlines():
            stripped = line.rstrip()
            if stripped.startswith("#"):
                kind = headings.get(stripped)
                continue
            if kind and stripped.startswith(("- ", "* ")):
                entry = stripped[2:].strip()
                if all(p.search(entry) for p in patterns):
                    found.append(
                        {
                            "kind": kind,
                            "session_id": session["session_id"],
                            "session": session["name"],
                            "text": entry if len(entry) <= 300 else entry[:300] + " …",
                            "snippet": snippet(entry, patterns, 16),
                            "file": session["markdown_file_path"],
                        }
                    )
    return found[:limit]
