"""The record file format: a YAML frontmatter block between `---` lines, then Markdown.

    ---
    task_id: t-7f3a9c2e
    title: Write the parser
    status: pending
    ---

    The description, in Markdown.

Parsing never raises for bad content: it returns the record it could read and the
problems it found, each with the file's line number, so that a bad file is reported
rather than silently dropped. Rendering writes known fields in schema order, then the
keys a user added, and the body exactly as it was.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from itertools import chain
from typing import Any

from orchestrator.layout import FileRole
from orchestrator.model import (
    CONFLICT_CLONE_KEY,
    CONFLICT_KEY,
    CONFLICT_MARKERS,
    ERROR,
    ID_KEY,
    TITLE_KEY,
    Parsed,
    Problem,
    Record,
    conflict_text,
    derived_fields,
    field_default,
    format_time,
    known_fields,
)
from orchestrator.store.validation import KeyLines, validate_fields

DELIMITERS = ("---", "...")


class FrontmatterError(ValueError):
    def __init__(self, line: int, message: str, fix: str):
        super().__init__(message)
        self.line, self.message, self.fix = line, message, fix


def split_frontmatter(text: str) -> tuple[str, str]:
    """Split a record file into (yaml_text, body). The YAML starts on line 2."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip() != "---":
        raise FrontmatterError(
            1, "no frontmatter", "start the file with a line `---`, the YAML fields, then `---`"
        )
    for i in range(1, len(lines)):
        if lines[i].rstrip() in DELIMITERS:
            return "".join(lines[1:i]), "".join(lines[i + 1 :])
    raise FrontmatterError(
        len(lines), "the frontmatter is not closed", "add a line `---` after the YAML fields"
    )


# Records and role files nest a few levels (orch_conflict: key: side: value); a deeper
# value is refused before it reaches the code that walks values recursively.
MAX_NESTING = 32
# Aliases (`*name`) repeat a value written once with an anchor (`&name`); orch up to 0.x
# wrote some itself, in conflict records. Repeating more values than this is a bomb (a few
# hundred bytes of nested aliases expand to gigabytes), refused before it is expanded.
MAX_ALIASED = 10_000


def load_yaml(yaml_text: str, unique_keys: bool = True) -> Any:
    """Load YAML from a user's file with PyYAML's C loader, refusing what a hostile file
    would use: aliases that loop or repeat more than MAX_ALIASED values, and values nested
    more than MAX_NESTING levels deep; and, with `unique_keys`, a key written twice in one
    mapping (YAML would keep the last silently, and a rewrite of a record would then lose
    the first; in config.yaml a setting appended at the end wins). Every refusal is a
    yaml.YAMLError with the line it is on."""
    import yaml

    return yaml.load(yaml_text, Loader=_bounded_loader(unique_keys))


@cache
def _bounded_loader(unique_keys: bool):
    import yaml

    # CSafeLoader exists only where PyYAML was built with libyaml: the base is chosen at run time.
    class BoundedLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        def __init__(self, stream):
            super().__init__(stream)
            self.text = stream

        def construct_document(self, node):
            # The composer (in C) has built the node graph without expanding anything:
            # an alias is the same node object met twice. Check it before constructing.
            _check_nodes(node, self.text)
            return super().construct_document(node)

        def construct_yaml_timestamp(self, node):
            # `due: 2026-13-01` looks like a date to YAML but is none: kept as the text it
            # is, so the schema says which field is wrong rather than the file not loading.
            try:
                return super().construct_yaml_timestamp(node)
            except ValueError:
                return self.construct_scalar(node)

    BoundedLoader.add_constructor(
        "tag:yaml.org,2002:timestamp", BoundedLoader.construct_yaml_timestamp
    )

    if not unique_keys:
        return BoundedLoader

    class StrictLoader(BoundedLoader):
        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                key = key_node.value if key_node.id == "scalar" else None
                if key is not None and key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key {key!r} is written twice", key_node.start_mark
                    )
                seen.add(key)
            return super().construct_mapping(node, deep)

    return StrictLoader


def _children(node: Any) -> list:
    if node.id == "mapping":
        return list(chain.from_iterable(node.value))
    return node.value if node.id == "sequence" else []


def _check_nodes(root: Any, text: str) -> None:
    """Raise a yaml.YAMLError at a value nested too deep, or at aliases that loop or
    repeat too much. Level by level, a few C-level set and list operations each; a level
    is expanded only while all nodes met are distinct (no alias), so the work is bounded
    by the text's size. Aliases are then checked by `_check_aliases`."""

    seen: set[int] = set()
    met = 0
    level = [root]
    for _ in range(MAX_NESTING + 1):
        seen.update(map(id, level))
        met += len(level)
        if len(seen) != met:  # a node met twice: an alias
            _check_aliases(root, text)
            return
        below: list[Any] = []
        for node in level:
            if node.id == "mapping":
                below.extend(chain.from_iterable(node.value))
            elif node.id == "sequence":
                below.extend(node.value)
        if not below:
            return
        level = below
    raise _nesting_error(level[0])


def _nesting_error(node: Any) -> Exception:
    import yaml

    return yaml.composer.ComposerError(
        None, None, f"values are nested more than {MAX_NESTING} levels deep", node.start_mark
    )


def _check_aliases(root: Any, text: str) -> None:
    """Size and depth of the node graph once its aliases are expanded, computed on the
    graph (each node once): a loop, a depth past MAX_NESTING or more than MAX_ALIASED
    values added by aliases is refused."""
    import yaml

    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    path: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        key = id(node)
        if leaving:
            path.discard(key)
            below = _children(node)
            size[key] = 1 + sum(size[id(child)] for child in below)
            depth[key] = 1 + max((depth[id(child)] for child in below), default=0)
            continue
        if key in size:
            continue
        path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in path:
                alias = _first_alias(text, looping=True)
                raise yaml.composer.ComposerError(
                    None, None, f"the alias *{alias.anchor} is inside the value it repeats:"
                    " the YAML loops", alias.start_mark,
                )  # fmt: skip
            if id(child) not in size:
                stack.append((child, False))
    if depth[id(root)] > MAX_NESTING + 1:
        node = root
        for _ in range(MAX_NESTING + 1):
            node = max(_children(node), key=lambda child: depth[id(child)])
        raise _nesting_error(node)
    if size[id(root)] - len(size) > MAX_ALIASED:
        alias = _first_alias(text)
        raise yaml.composer.ComposerError(
            None, None, f"the alias *{alias.anchor} and those after it repeat more than"
            f" {MAX_ALIASED:,} values", alias.start_mark,
        )  # fmt: skip


def _first_alias(text: str, looping: bool = False) -> Any:
    """The first alias event in `text` (the node graph knows only where anchors are);
    with `looping`, the first inside the value its anchor names."""
    import yaml

    anchors: list[str | None] = []  # of the collections being read
    for event in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        if isinstance(event, yaml.CollectionStartEvent):
            anchors.append(event.anchor)
        elif isinstance(event, yaml.CollectionEndEvent):
            anchors.pop()
        elif isinstance(event, yaml.AliasEvent) and (not looping or event.anchor in anchors):
            return event
    raise AssertionError("an alias was found in the node graph")


def yaml_problem(error: Exception, rel: str, first_line: int) -> Problem:
    """A YAML syntax error as a Problem on the file's own line numbers."""
    mark = getattr(error, "problem_mark", None)
    line = first_line + mark.line if mark is not None else None
    problem = getattr(error, "problem", None) or str(error)
    column = f" (column {mark.column + 1})" if mark is not None else ""
    fix = "fix the YAML syntax on that line"
    if "mapping values are not allowed" in problem:
        fix = 'a value containing ": " must be quoted, e.g. title: "Fix: the parser"'
    elif "found character '\\t'" in problem:
        fix = "indent with spaces, not tabs"
    elif "could not find expected ':'" in problem:
        fix = "each line must be `key: value`"
    elif "is written twice" in problem:
        fix = "keep one of the two lines (merge their values if both matter)"
    elif "the alias" in problem:
        fix = "write the values out in full, without anchors (&name) and aliases (*name)"
    elif "nested more than" in problem:
        fix = "flatten the value (a record's fields are text, numbers, lists and short mappings)"
    return Problem(rel, f"YAML error{column}: {problem}", line=line, fix=fix)


def normalize(value: Any) -> Any:
    """YAML reads unquoted timestamps as datetimes; records keep them as ISO strings."""
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    return value


def parse_record(kind: str, text: str, rel: str, role: FileRole) -> Parsed:
    """Read a session, group or task file. The file's location is its identity: its
    name gives the record id and its folder the session, whatever the frontmatter says
    (a disagreement is reported)."""
    try:
        yaml_text, body = split_frontmatter(text)
    except FrontmatterError as e:
        problem = Problem(rel, e.message, line=e.line, fix=e.fix)
        return Parsed(None, [problem, *marker_problems(text, rel, role.record_id)])
    try:
        data = load_yaml(yaml_text)
    except Exception as e:  # yaml.YAMLError and its marked subclasses
        problem = yaml_problem(e, rel, first_line=2)
        return Parsed(None, [problem, *marker_problems(yaml_text, rel, role.record_id, 2)])
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return Parsed(
            None,
            [
                Problem(
                    rel,
                    "the frontmatter is not a set of `key: value` fields",
                    line=2,
                    fix="write one `key: value` per line between the `---` lines",
                )
            ],
        )
    meta = {str(k): normalize(v) for k, v in data.items()}
    problems: list[Problem] = []
    lines = KeyLines(yaml_text, first_line=2, opening=1)
    identity = {ID_KEY[kind]: role.record_id, "session_id": role.session_dir}
    for key, expected in identity.items():
        written = meta.get(key)
        if written is not None and written != expected:
            where = "file name" if key == ID_KEY[kind] else "session folder"
            problems.append(
                Problem(
                    rel,
                    f"{key} {written!r} does not match the {where} ({expected})",
                    line=lines.get((key,)),
                    field=key,
                    fix=f"set {key}: {expected} (the {where} is the record's identity)",
                )
            )
        meta[key] = expected
    for key in derived_fields(kind):
        if key in meta:
            problems.append(
                Problem(
                    rel,
                    f"{key} is computed by orch and is ignored here",
                    line=lines.get((key,)),
                    field=key,
                    fix=f"remove the line `{key}: ...`",
                    severity="warning",
                )
            )
    schema_problems, bad_fields = validate_fields(kind, meta, rel, lines)
    problems.extend(schema_problems)
    if kind == "session" and meta.get("status") == ERROR:
        # The state orch gives a session whose file cannot be read: never the file's own.
        problems.append(Problem(
            rel, f"status: {ERROR} is the state of a session whose file cannot be read",
            line=lines.get(("status",)), field="status",
            fix="write the status the session is in (active, paused, completed, ...)",
        ))  # fmt: skip
    index_meta = None
    if bad_fields:
        index_meta = dict(meta)
        for key in bad_fields:
            index_meta[key] = field_default(kind, key)
        title_key = TITLE_KEY[kind]
        if not isinstance(index_meta.get(title_key), str) or not index_meta[title_key]:
            index_meta[title_key] = f"(no {title_key}: {role.record_id})"
    problems.extend(conflict_problems(kind, meta, body, rel, lines, yaml_text))
    if kind == "session":
        problems.extend(region_problems(body, rel, first_line=yaml_text.count("\n") + 3))
    misplaced = any(p.field in identity and p.severity == "error" for p in problems)
    record = Record(kind, meta, body, newline=line_ending(text))
    return Parsed(record, problems, index_meta, misplaced)


def line_ending(text: str) -> str:
    """A record file's line ending, as its first line (`---`) has it."""
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def region_problems(body: str, rel: str, first_line: int) -> list[Problem]:
    """session.md's generated regions that cannot be told apart from people's text."""
    # session.md's reader, loaded when a body is checked (start-up speed of a read).
    from orchestrator.store.session_view import broken_markers

    return [
        Problem(
            rel,
            f"session view: {what}",
            line=first_line + n,
            fix="restore the marker pair (`<!-- orch:begin NAME -->` ... `<!-- orch:end NAME -->`),"
            " or let the doctor's repair drop that region's markers (its old lines stay, as your text) and rebuild the view",
        )
        for n, what in broken_markers(body)
    ]


def conflict_problems(
    kind: str, meta: dict[str, Any], body: str, rel: str, lines, yaml_text: str
) -> list[Problem]:
    """What a three-way merge left to settle in a record: fields both sides changed
    (recorded under CONFLICT_KEY) and conflict markers in the body."""
    found = []
    fix = f"resolve the conflicts of {meta[ID_KEY[kind]]} (strategy db_wins, md_wins or merge)"
    recorded = meta.get(CONFLICT_KEY)
    if isinstance(recorded, dict):
        for key, sides in recorded.items():
            sides = sides if isinstance(sides, dict) else {}
            message = conflict_text(key, sides.get("ours"), sides.get("theirs"), sides.get("base"))
            if sides.get(CONFLICT_CLONE_KEY):  # a merge between clones (store/merge.py)
                message += (
                    f"; ours is clone {sides[CONFLICT_CLONE_KEY]}'s side (the conflicts list"
                    " shows the sides as this clone sees them)"
                )
            found.append(
                Problem(
                    rel,
                    message,
                    line=lines.get((CONFLICT_KEY, key)) or lines.get((CONFLICT_KEY,)),
                    field=str(key),
                    fix=fix,
                    severity="conflict",
                )
            )
    if CONFLICT_MARKERS[0] in body and CONFLICT_MARKERS[1] in body:
        body_start = yaml_text.count("\n") + 3  # the --- lines and the YAML before the body
        for n, line in enumerate(body.splitlines(), start=body_start):
            if line.startswith(CONFLICT_MARKERS[0]):
                found.append(
                    Problem(
                        rel,
                        "merge conflict in the text: both sides changed these lines",
                        line=n,
                        fix=fix,
                        severity="conflict",
                    )
                )
    return found


def marker_problems(text: str, rel: str, record_id: str, first_line: int = 1) -> list[Problem]:
    """Conflict markers a line merge left where orch cannot read past them (in the
    frontmatter): reported as a conflict, so `orch conflicts` and `orch resolve` find
    the file."""
    return [
        Problem(
            rel,
            "merge conflict markers: the fields cannot be read until one side is kept",
            line=n,
            fix=f"resolve the conflicts of {record_id} (strategy db_wins or md_wins), or edit the lines",
            severity="conflict",
        )
        for n, line in enumerate(text.splitlines(), start=first_line)
        if line.startswith(CONFLICT_MARKERS[0])
    ]


def render_record(record: Record) -> str:
    """The file text of a record: known fields in schema order (unset ones left out),
    then the keys a user added in their order, then the body byte for byte."""
    known = known_fields(record.kind)
    ordered: dict[str, Any] = {}
    for key in known:
        value = record.meta.get(key)
        if value is not None and value != []:
            ordered[key] = value
    for key, value in record.meta.items():
        if key not in known:
            ordered[key] = value
    return frontmatter(ordered, record.newline) + record.body


def frontmatter(meta: dict[str, Any], newline: str = "\n") -> str:
    """The frontmatter block of `meta`, both `---` lines included, with the line ending
    of the file it goes into (a file saved on Windows keeps its CRLF)."""
    text = f"---\n{dump_yaml(meta)}---\n"
    return text if newline == "\n" else text.replace("\n", newline)


def dump_yaml(data: dict[str, Any]) -> str:
    import yaml

    return yaml.dump(
        data,
        Dumper=_plain_dumper(),
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1_000_000,
    )


@cache
def _plain_dumper():
    """PyYAML's C dumper, writing a value held twice (a merge's conflict record shares
    one side's value) out in full both times rather than as an anchor and an alias."""
    import yaml

    base: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class PlainDumper(base):  # type: ignore[valid-type,misc]  # chosen at run time: libyaml's or Python's
        def ignore_aliases(self, data):
            return True

    return PlainDumper


def body_text(description: str | None) -> str:
    """The body of a new record holding `description`."""
    description = (description or "").strip()
    return f"\n{description}\n" if description else ""


def new_record(kind: str, meta: dict[str, Any], description: str | None = None) -> Record:
    """A record with schema defaults filled in for the fields `meta` leaves out."""
    full = {key: field_default(kind, key) for key in known_fields(kind)}
    full.update({k: v for k, v in meta.items() if v is not None})
    return Record(kind, full, body_text(description))
