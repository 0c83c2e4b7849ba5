"""Finding records by what people type: an id, a unique id prefix (with or without its
`t-`/`g-`/`s-`), a file name, or (for sessions and groups) a name. The one rule for ids
is `_candidates`: every command and tool that takes an id reads it through `by_id` (a
record of one kind, in the index) or `among` (one of a list of ids of any kind)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from orchestrator.errors import AmbiguousId, Hint, NotFound
from orchestrator.index.engine import IndexDB
from orchestrator.model import ID_KEY, ID_PREFIX, TABLE, TITLE_KEY
from orchestrator.store.validation import checked_texts

NOUN = {"session": "session", "group": "task group", "task": "task"}
# The operation that lists each kind (errors.OPERATIONS).
LIST_OP = {"session": "session_list", "group": "group_list", "task": "task_list"}


def _candidates(text: str, kind: str | None) -> list[str]:
    """The ids `text` may stand for, most likely first: itself with its kind's prefix
    (any kind's, for None) put before it unless it has one, then itself as typed; a
    file name or path stands for its record's id."""
    checked_texts(**{f"the {NOUN.get(kind or '', 'record')} id": text})
    text = text.strip()
    if "/" in text or text.endswith(".md"):
        text = text.rsplit("/", 1)[-1].removesuffix(".md")
    prefixes = [ID_PREFIX[kind]] if kind else list(ID_PREFIX.values())
    if text.startswith(tuple(prefixes)):
        return [text]
    return [prefix + text for prefix in prefixes] + [text]


def among(text: str, ids: Iterable[str], noun: str = "record") -> str | None:
    """The one of `ids` (of any kind) that `text` names, by the rule `by_id` follows: the
    id, or a unique prefix of it, with or without its `t-`/`g-`/`s-`. None if it names
    none; AmbiguousId if it could be several."""
    known = set(ids)
    candidates = [c for c in _candidates(text, None) if c]
    exact = [c for c in candidates if c in known]
    if exact:
        return exact[0]
    matched = sorted({i for i in known for c in candidates if i.startswith(c)})
    if len(matched) > 1:
        raise AmbiguousId(
            f"{text!r} matches several {noun}s; type more of the id: {', '.join(matched)}"
        )
    return matched[0] if matched else None


def by_id(db: IndexDB, kind: str, text: str, where: str = "", params: tuple = ()) -> dict[str, Any]:
    """The one record whose id is `text` or starts with it."""
    table, key, title = TABLE[kind], ID_KEY[kind], TITLE_KEY[kind]
    extra = f" AND {where}" if where else ""
    for candidate in _candidates(text, kind):
        if not candidate:
            continue
        row = db.record(f"SELECT * FROM {table} WHERE {key} = ?{extra}", [candidate, *params])
        if row:
            return row
        rows = db.records(
            f"SELECT * FROM {table} WHERE {key} >= ? AND {key} < ?{extra} ORDER BY {key} LIMIT 11",
            [candidate, candidate + "~", *params],
        )
        if len(rows) == 1:
            return rows[0]
        if rows:
            listed = "\n".join(f"  {r[key]}  {r[title]}" for r in rows[:10])
            more = "\n  ..." if len(rows) > 10 else ""
            raise AmbiguousId(
                f"{text!r} matches several {NOUN[kind]}s; type more of the id:\n{listed}{more}"
            )
    raise not_found(db, kind, text, where, params)


def unusable(db: IndexDB, kind: str, text: str) -> NotFound | None:
    """Why record `text` (an id, or the start of one) cannot be used, if its file exists
    but cannot be read: which file, which line, what is wrong. None otherwise."""
    for candidate in _candidates(text, kind):
        # The id typed, or the one unreadable file whose id starts with it.
        rows = db.records(
            "SELECT s.record_id, s.path, p.line, p.message FROM file_signatures s"
            " LEFT JOIN problems p ON p.path = s.path AND p.severity = 'error'"
            " WHERE s.kind = ? AND s.record_id >= ? AND s.record_id < ? AND s.readable = FALSE"
            " ORDER BY s.record_id = ? DESC, s.record_id, p.line NULLS FIRST",
            [kind, candidate, candidate + "~", candidate],
        )
        if rows and (rows[0]["record_id"] == candidate or len({r["record_id"] for r in rows}) == 1):
            row = rows[0]
            where_ = f"{row['path']}:{row['line']}" if row["line"] else row["path"]
            return NotFound(
                f"{NOUN[kind]} {row['record_id']} cannot be used: {where_}: {row['message']};"
                " fix the file first (the doctor lists every problem)",
                hint=Hint("doctor"),
            )
    return None


def not_found(db: IndexDB, kind: str, text: str, where: str = "", params: tuple = ()) -> NotFound:
    """No record `text`: say why if its file exists but cannot be read, else suggest the
    closest ids."""
    import difflib

    broken = unusable(db, kind, text)
    if broken is not None:
        return broken
    table, key, title = TABLE[kind], ID_KEY[kind], TITLE_KEY[kind]
    clause = f" WHERE {where}" if where else ""
    named = db.rows(f"SELECT {key}, {title} FROM {table}{clause}", list(params))
    if kind in ("session", "group"):  # these go by their names too
        names = {str(n).casefold(): str(n) for _, n in named if n}
        close = difflib.get_close_matches(text.strip().casefold(), names, n=3, cutoff=0.6)
        if close:
            listed = " or ".join(repr(names[c]) for c in close)
            return NotFound(f"no {NOUN[kind]} named {text!r}; did you mean {listed}?")
    ids = [r[0] for r in named]
    close = difflib.get_close_matches(_candidates(text, kind)[0], ids, n=3, cutoff=0.5)
    if close:
        return NotFound(f"no {NOUN[kind]} {text!r}; did you mean {', '.join(close)}?")
    return NotFound(
        f"no {NOUN[kind]} {text!r}; listing them shows the ids", hint=Hint(LIST_OP[kind])
    )


def task(db: IndexDB, text: str) -> dict[str, Any]:
    return by_id(db, "task", text)


def session(db: IndexDB, text: str) -> dict[str, Any]:
    """A session by id (or prefix) or by exact name."""
    rows = db.records("SELECT * FROM sessions WHERE name = ? ORDER BY session_id", [text])
    if len(rows) == 1:
        return rows[0]
    if rows:
        listed = "\n".join(f"  {r['session_id']}  {r['name']} ({r['status']})" for r in rows)
        raise AmbiguousId(f"several sessions are named {text!r}; use an id:\n{listed}")
    return by_id(db, "session", text)


def same_name(a: str, b: str) -> bool:
    """Group names compare without case, in every language (the engines' lower() differ)."""
    return a.casefold() == b.casefold()


def group(db: IndexDB, text: str, session_id: str | None) -> dict[str, Any]:
    """A group by name within `session_id` (case-insensitive) or by id (or prefix)."""
    if session_id is not None:
        rows = db.records(
            "SELECT * FROM task_groups WHERE session_id = ? ORDER BY group_id", [session_id]
        )
        named = [r for r in rows if same_name(r["group_name"], text)]
        if len(named) == 1:
            return named[0]
        return by_id(db, "group", text, "session_id = ?", (session_id,))
    return by_id(db, "group", text)


def active_session(db: IndexDB) -> dict[str, Any] | None:
    return db.record(
        "SELECT s.* FROM active_session a JOIN sessions s ON s.session_id = a.session_id"
    )


def session_or_active(db: IndexDB, text: str | None) -> dict[str, Any]:
    """The session named by `text`, or the active one."""
    if text:
        return session(db, text)
    row = active_session(db)
    if row is None:
        raise NotFound(
            "no session is active; activate one, create one, or name the session to use",
            hint=Hint("session_list"),
        )
    return row
