"""Checking frontmatter and role files against the JSON Schemas in schema/, and saying
where each problem is (line and key) and how to fix it."""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from typing import Any

from orchestrator.errors import InvalidInput
from orchestrator.model import Problem, record_schema

TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "array": "a list",
    "object": "a mapping of key: value",
    "null": "empty",
    "boolean": "true or false",
}
ID_EXAMPLE = {
    "t-": "a task id like t-7f3a9c2e",
    "g-": "a group id like g-1a2b3c4d",
    "s-": "a session id like s-9e8d7c6b",
}


# Characters that act on a terminal instead of showing: C0 controls but tab and newline
# (ESC starts sequences that move the cursor, retitle the window or set the clipboard;
# BEL rings; CR rewrites the line), DEL, and the C1 controls (U+009B is a one-character
# ESC [). A CR before a newline is a Windows line end, not a control.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
SURROGATE = re.compile("[\ud800-\udfff]")
UNSHOWABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
CONTROL_NAMES = {0x00: "NUL", 0x07: "BEL", 0x08: "BS", 0x0D: "CR", 0x1B: "ESC", 0x7F: "DEL",
                 0x9B: "CSI"}  # fmt: skip


def checked_texts(**fields: str | None) -> None:
    """Refuse text given to orch (InvalidInput naming the field) that holds a control
    character: titles, names and descriptions end up in terminals and in session.md."""
    for field, value in fields.items():
        if not isinstance(value, str):
            continue
        if SURROGATE.search(value):  # bytes that are not UTF-8, in a command's arguments
            raise InvalidInput(f"{field} is not UTF-8 text; write it again in UTF-8")
        found = CONTROL.search(value.replace("\r\n", "\n"))
        if found is not None:
            char = found.group()
            name = CONTROL_NAMES.get(ord(char), f"U+{ord(char):04X}")
            raise InvalidInput(
                f"{field} holds the control character {name} ({escaped(char)}): control"
                " characters act on terminals rather than show; remove it"
            )


def escaped(text: str) -> str:
    """`text` with every control character (see CONTROL) written as `\\x1b`, and each byte
    that was not UTF-8 (a surrogate, in a command's arguments) as `\\xff`: safe to print on
    a terminal or to write into session.md. Windows line ends become newlines."""
    if not UNSHOWABLE.search(text):
        return text
    return UNSHOWABLE.sub(_escape, text.replace("\r\n", "\n"))


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00 if code >= 0xDC00 else code:02x}"


class KeyLines:
    """Line numbers of the keys in a YAML text, computed only when first asked for
    (composing the YAML again costs as much as loading it). `opening`: the line that
    opens the text (a frontmatter's `---`), where a key missing from it is said."""

    def __init__(self, yaml_text: str, first_line: int, opening: int | None = None):
        self.yaml_text, self.first_line = yaml_text, first_line
        self.opening = first_line if opening is None else opening
        self._lines: dict[tuple, int] | None = None

    def get(self, path: tuple) -> int | None:
        if self._lines is None:
            self._lines = {}
            try:
                import yaml

                node = yaml.compose(
                    self.yaml_text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
                )
            except Exception:
                node = None
            if node is not None:
                self._walk(node, (), self._lines)
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]  # fall back to the enclosing key
        return None

    def _walk(self, node: Any, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> None:
        if node.id == "mapping":
            for key_node, value_node in node.value:
                child = (*path, key_node.value)
                lines[child] = self.first_line + key_node.start_mark.line
                self._walk(value_node, child, lines)
        elif node.id == "sequence":
            for i, item in enumerate(node.value):
                child = (*path, i)
                lines[child] = self.first_line + item.start_mark.line
                self._walk(item, child, lines)


@cache
def _validator(kind: str):
    # jsonschema takes ~40 ms to import: only files that changed since the last command
    # are validated, so a command with nothing new to read never pays for it.
    import jsonschema

    schema = record_schema(kind)
    # Only "date" is checked as a format (a task's due): 2026-02-30 passes the pattern.
    dates = jsonschema.FormatChecker(formats=["date"])
    return jsonschema.validators.validator_for(schema)(schema, format_checker=dates)


# JSON Schema keywords `surely_valid` understands; a schema using any other makes it
# defer to jsonschema.
ASSERTIONS = {"type", "enum", "pattern", "minimum", "maximum", "minLength", "uniqueItems",
              "items", "$ref", "properties", "required", "format"}  # fmt: skip
ANNOTATIONS = {"description", "default", "title", "$schema", "$id", "$defs"}
JSON_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def surely_valid(value: Any, schema: dict[str, Any], root: dict[str, Any]) -> bool:
    """True only if `value` is valid against `schema` (a subset of JSON Schema, with
    local $refs into `root`); False means "ask jsonschema", which then says what is
    wrong. Saves importing jsonschema (~50 ms) for the files that are fine: most of
    them, and every file orch writes itself."""
    for keyword, rule in schema.items():
        if keyword in ANNOTATIONS or keyword.startswith("x-"):
            continue
        if keyword not in ASSERTIONS:
            return False
        if keyword == "$ref":
            if not rule.startswith("#/$defs/"):
                return False
            target = root.get("$defs", {}).get(rule[len("#/$defs/") :])
            if target is None or not surely_valid(value, target, root):
                return False
        elif keyword == "type":
            types = [rule] if isinstance(rule, str) else rule
            if not any(t in JSON_TYPES and JSON_TYPES[t](value) for t in types):
                return False
        elif keyword == "enum":
            if not any(type(value) is type(option) and value == option for option in rule):
                return False
        elif keyword == "pattern":
            if isinstance(value, str) and not _pattern(rule).search(value):
                return False
        elif keyword in ("minimum", "maximum"):
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if number and ((value < rule) if keyword == "minimum" else (value > rule)):
                return False
        elif keyword == "format":
            if rule != "date" or (isinstance(value, str) and not _is_date(value)):
                return False
        elif keyword == "minLength":
            if isinstance(value, str) and len(value) < rule:
                return False
        elif keyword == "uniqueItems":
            # Only lists of text are checked here (1 and 1.0 are the same item to JSON).
            texts = isinstance(value, list) and all(isinstance(v, str) for v in value)
            if rule and isinstance(value, list) and (not texts or len(set(value)) != len(value)):
                return False
        elif keyword == "items":
            if isinstance(value, list) and not all(surely_valid(v, rule, root) for v in value):
                return False
        elif keyword == "required":
            if isinstance(value, dict) and any(k not in value for k in rule):
                return False
        elif keyword == "properties" and isinstance(value, dict):
            for key, sub in rule.items():
                if key in value and not surely_valid(value[key], sub, root):
                    return False
    return True


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


@cache
def _pattern(text: str) -> re.Pattern:
    return re.compile(text)


def warm() -> None:
    """Read every kind's schema and compile its patterns, as the first validation of a
    command would (~2 ms): for a process that forks commands (the journal daemon)."""

    def patterns(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                _pattern(node["pattern"])
            for value in node.values():
                patterns(value)
        elif isinstance(node, list):
            for value in node:
                patterns(value)

    for kind in ("session", "group", "task", "roles"):
        patterns(record_schema(kind))


def validate_fields(
    kind: str, data: dict[str, Any], rel: str, lines: KeyLines
) -> tuple[list[Problem], set[str]]:
    """Validate `data` against the kind's schema. Returns the problems (with lines) and
    the top-level keys whose values cannot be used."""
    problems: list[Problem] = []
    bad: set[str] = set()
    schema = record_schema(kind)
    if surely_valid(data, schema, schema):
        return problems, bad
    errors = sorted(
        _validator(kind).iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]
    )
    for error in errors:
        path = tuple(error.absolute_path)
        if error.validator == "required":
            for missing in error.validator_value:
                if isinstance(error.instance, dict) and missing not in error.instance:
                    problems.append(
                        Problem(
                            rel,
                            f"{dotted((*path, missing))} is missing",
                            line=lines.get(path) if path else lines.opening,
                            field=dotted((*path, missing)),
                            fix=f"add a line `{missing}: ...`",
                        )
                    )
                    if not path:
                        bad.add(missing)
            continue
        message, fix = describe(error, path)
        problems.append(Problem(rel, message, line=lines.get(path), field=dotted(path), fix=fix))
        if path:
            bad.add(str(path[0]))
    return problems, bad


def dotted(path: tuple) -> str:
    """("architect", "expertise", 2) -> "architect.expertise[2]"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def describe(error: Any, path: tuple) -> tuple[str, str]:
    """A one-line message and a fix for a jsonschema error."""
    where, value, rule = dotted(path), error.instance, error.validator_value
    # A field that says what it expects (schema/task.schema.json's labels, due, ...).
    expected = error.schema.get("x-expected")
    if expected and error.validator in ("pattern", "format", "type", "minLength"):
        what, _, example = expected.partition(", e.g. ")
        return f"{where}: {value!r} is not {what}", f"write it like {example or what}"
    match error.validator:
        case "enum":
            return (
                f"{where}: {value!r} is not one of {', '.join(map(str, rule))}",
                "use one of the listed values",
            )
        case "type":
            wanted = " or ".join(
                TYPE_WORDS.get(t, t) for t in ([rule] if isinstance(rule, str) else rule)
            )
            fix = f"write {wanted}"
            if "array" in rule:
                fix = (
                    f"write a list, e.g. {path[-1]}: [{value}]"
                    if isinstance(value, str)
                    else "write a list: [a, b]"
                )
            return f"{where}: expected {wanted}, found {kind_of(value)} {value!r}", fix
        case "pattern":
            what = next(
                (text for prefix, text in ID_EXAMPLE.items() if rule.startswith(f"^{prefix}")), None
            )
            if what:
                return f"{where}: {value!r} is not {what}", f"write {what}"
            return (
                f"{where}: {value!r} is not in the expected format",
                "write an ISO date-time like 2026-11-25T14:30:00Z",
            )
        case "minimum" | "maximum":
            schema = error.schema
            return (
                f"{where}: {value!r} is out of range ({schema.get('minimum', '…')} to {schema.get('maximum', '…')})",
                "use a number in that range",
            )
        case "minLength" | "minItems" | "minProperties":
            return f"{where} is empty", "give it a value"
        case "uniqueItems":
            return f"{where} lists the same value twice", "remove the duplicate"
        case _:
            return f"{where}: {error.message}", "see the schema in schema/ for the expected form"


def kind_of(value: Any) -> str:
    for python_type, word in (
        (bool, "true/false"),
        (int, "a number"),
        (float, "a number"),
        (str, "text"),
        (list, "a list"),
        (dict, "a mapping"),
    ):
        if isinstance(value, python_type):
            return word
    return "nothing" if value is None else type(value).__name__
