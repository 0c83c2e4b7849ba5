"""The layout holds: layers import only upward, no import cycle (imports inside functions
count), no function over 100 lines or module over 700, adapters hold no SQL and set no
core state (ARCHITECTURE.md, "Layers")."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from orchestrator import graph

PACKAGE = Path(__file__).resolve().parent.parent / "orchestrator"
# Lower numbers sit higher in ARCHITECTURE.md's table: a module imports its own rank or lower.
RANKS = {"store": 1, "index": 2, "git": 3, "core": 4, "cli": 5, "mcp": 5, "ui": 5}
ADAPTERS = ("cli", "mcp", "ui")
TOP_LEVEL_ADAPTERS = {"orchestrator.__main__", "orchestrator.launch", "orchestrator.merge_driver"}
# `orch mcp` is the CLI command that starts the MCP server: the one adapter-to-adapter import.
STARTS = {"orchestrator.cli.mcp": "orchestrator.mcp", "orchestrator.cli.ui": "orchestrator.ui"}
# config.py reads config.yaml with the store's bounded YAML reader: it sits with the store.
TOP_LEVEL_RANKS = {"orchestrator.config": 1}
MAX_FUNCTION = 100
MAX_MODULE = 700
SQL = re.compile(
    r"\b(SELECT\b.*\bFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", re.I | re.S
)


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    imports: dict[str, int] = field(default_factory=dict)  # imported module -> line


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def type_checking_nodes(tree: ast.Module) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            inside.update(id(n) for n in ast.walk(node))
    return inside


def imported(module: Module, node: ast.Import | ast.ImportFrom, known: set[str]) -> list[str]:
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            base = module.name.split(".")
            if module.path.name != "__init__.py":
                base = base[:-1]
            base = base[: len(base) - node.level + 1]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        names = [
            f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in known else prefix for a in node.names
        ]
    found = []
    for name in names:
        while name and name not in known and "." in name:
            name = name.rsplit(".", 1)[0]
        if name in known and name != module.name:
            found.append(name)
    return found


@pytest.fixture(scope="module")
def modules() -> dict[str, Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "_data" in path.parts:
            continue
        found[module_name(path)] = Module(module_name(path), path, ast.parse(path.read_text()))
    known = set(found)
    for module in found.values():
        skipped = type_checking_nodes(module.tree)
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in skipped:
                for name in imported(module, node, known):
                    module.imports.setdefault(name, node.lineno)
    return found


def rank(name: str) -> int:
    if name in TOP_LEVEL_ADAPTERS:
        return 5
    if name in TOP_LEVEL_RANKS:
        return TOP_LEVEL_RANKS[name]
    parts = name.split(".")
    return RANKS.get(parts[1], 0) if len(parts) > 1 else 0


def cycles(modules: dict[str, Module]) -> list[list[str]]:
    """One import loop per tangle of modules (graph.cycles, the search orch uses for
    dependency loops)."""
    return graph.cycles({name: list(module.imports) for name, module in modules.items()})


def test_no_import_cycle_even_through_imports_inside_functions(modules):
    assert cycles(modules) == []


def test_each_layer_imports_only_the_layers_above_it(modules):
    wrong = []
    for module in modules.values():
        for target, line in module.imports.items():
            if rank(target) > rank(module.name):
                wrong.append(f"{module.path.name}:{line} {module.name} imports {target}")
            elif rank(module.name) == 5 and rank(target) == 5:
                mine, theirs = module.name.split(".")[1], target.split(".")[1]
                starts = STARTS.get(module.name, "") and target.startswith(STARTS[module.name])
                if (
                    mine != theirs
                    and theirs in ADAPTERS
                    and module.name not in TOP_LEVEL_ADAPTERS
                    and not starts
                ):
                    wrong.append(
                        f"{module.path.name}:{line} adapter {module.name} imports adapter {target}"
                    )
    assert wrong == [], "\n".join(wrong)


def test_no_function_over_100_lines_and_no_module_over_700(modules):
    long = []
    for module in modules.values():
        lines = module.path.read_text().count("\n")
        if lines > MAX_MODULE:
            long.append(f"{module.name}: {lines} lines")
        for node in ast.walk(module.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION:
                    long.append(f"{module.name}.{node.name}: {length} lines")
    assert long == [], "\n".join(long)


def project_attributes(modules: dict[str, Module]) -> set[str]:
    """The attributes a Project sets on itself: core state."""
    tree = modules["orchestrator.core.project"].tree
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "Project":
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.Attribute)
                    and isinstance(inner.ctx, ast.Store)
                    and isinstance(inner.value, ast.Name)
                    and inner.value.id == "self"
                ):
                    names.add(inner.attr)
    return names


def test_adapters_hold_no_sql_and_set_no_core_state(modules):
    state = project_attributes(modules)
    found = []
    for module in modules.values():
        if rank(module.name) != 5:
            continue
        for node in ast.walk(module.tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and SQL.search(node.value)
            ):
                found.append(f"{module.name}:{node.lineno} SQL {node.value[:40]!r}")
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                owner = node.value.id if isinstance(node.value, ast.Name) else ""
                if node.attr in state and owner != "self":
                    found.append(f"{module.name}:{node.lineno} sets core state .{node.attr}")
    assert found == [], "\n".join(found)


def test_the_checks_see_a_cycle_and_an_upward_import(tmp_path):
    """The checks above can fail: a cycle and a wrong-way import are found."""
    a = Module("orchestrator.store.a", tmp_path / "a.py", ast.parse(""), {"orchestrator.core.b": 1})
    b = Module("orchestrator.core.b", tmp_path / "b.py", ast.parse(""), {"orchestrator.store.a": 1})
    assert cycles({a.name: a, b.name: b}) == [[b.name, a.name, b.name]]
    assert rank(b.name) > rank(a.name)
    assert SQL.search("SELECT * FROM tasks WHERE x = ?")


# Fields of a record that a core function takes as a keyword: by the spec's name only.
SPEC_NAMES = {"specialist": "specialist_type", "complexity": "complexity_level",
              "priority": "priority_level", "estimate": "estimated_effort",
              "actual": "actual_effort"}  # fmt: skip


def test_core_functions_take_the_specs_field_names():
    import inspect

    from orchestrator.core import groups, search, sessions, tasks, workflow

    wrong = []
    for module in (tasks, search, groups, sessions, workflow):
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ != module.__name__ or name.startswith("_"):
                continue
            for parameter in inspect.signature(function).parameters:
                if parameter in SPEC_NAMES:
                    wrong.append(
                        f"{module.__name__}.{name}({parameter}=): say {SPEC_NAMES[parameter]}"
                    )
    assert wrong == [], "\n".join(wrong)


def test_comments_cite_architecture_md_not_a_design_outside_the_repository():
    root = PACKAGE.parent
    citing = [
        f"{path.relative_to(root)}:{n}"
        for path in [
            *PACKAGE.rglob("*.py"),
            root / "pyproject.toml",
            *(root / "tests").glob("*.py"),
        ]
        if path != Path(__file__)
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "DESIGN.md" in line
    ]
    assert citing == []
