"""A session's task dependency graph drawn as an SVG string on the server: no script, no
network, so the board shows it in any browser and a test can parse it.

The layout is a simplified Sugiyama: a task's layer is its longest dependency path from a
task that depends on nothing, so work flows left to right; a few barycenter sweeps order
each layer to reduce crossings, and each task then sits as near the middle of its
neighbours as the spacing allows. Tasks with no edge at all go in a compact grid below, so
500 unrelated tasks do not make one tall column. Dependency loops (a hand edit can make
one) are broken for the layout by leaving out the edges a depth-first search finds going
back; those edges are drawn anyway, with class "cycle".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html import escape
from itertools import pairwise
from typing import Any
from unicodedata import east_asian_width

from orchestrator.model import (
    BLOCKED,
    CANCELLED,
    DONE,
    FAILED,
    IN_PROGRESS,
    NEEDS_REVISION,
    PENDING,
)

NODE_W, NODE_H = 230, 46
GAP_X, GAP_Y = 70, 18
STEP_X, STEP_Y = NODE_W + GAP_X, NODE_H + GAP_Y
# Room around the drawing for the loops of cycle edges above and below the nodes.
MARGIN = 40
# How far the control points of an edge that closes a loop reach under its nodes (the
# curve itself reaches three quarters of that).
LOOP_DEPTH = 40
TITLE_CHARS = 28
SWEEPS = 4
# Bend points for long edges, at most (see _layered).
BEND_BUDGET = 4000
# The grid of unconnected tasks is at least this many columns wide (or as wide as the
# layers above it), so a few hundred of them fill a screen rather than a long column.
GRID_COLUMNS = 6
# Marker ids are global in an HTML page that inlines the SVG: named so they do not clash.
ARROW, CYCLE_ARROW = "orch-graph-arrow", "orch-graph-arrow-cycle"

# Fill, outline and title colour of a node per status, for a light background: muted for
# work that is over, warm for work that waits, red for failure.
COLOURS = {
    PENDING: ("#ffffff", "#94a3b8", "#0f172a"),
    IN_PROGRESS: ("#dbeafe", "#2563eb", "#0f172a"),
    BLOCKED: ("#fef3c7", "#d97706", "#0f172a"),
    NEEDS_REVISION: ("#ede9fe", "#7c3aed", "#0f172a"),
    DONE: ("#f8fafc", "#cbd5e1", "#64748b"),
    FAILED: ("#fee2e2", "#dc2626", "#0f172a"),
    CANCELLED: ("#f8fafc", "#cbd5e1", "#94a3b8"),
}
EDGE_COLOUR, CYCLE_COLOUR = "#94a3b8", "#dc2626"

# Characters XML 1.0 does not allow, even escaped: a title with one would make the whole
# drawing unreadable to a parser.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass
class Graph:
    """The nodes by task_id (in the order given) and the edges between known nodes,
    each once, as (dependency, dependent); `after` and `before` hold them without the
    edges that close a loop, which are in `cycle`."""

    nodes: dict[str, dict[str, Any]]
    edges: list[tuple[str, str]]
    after: dict[str, list[str]]
    before: dict[str, list[str]]
    cycle: set[tuple[str, str]]


def layers(nodes: Iterable[dict[str, Any]], edges: Iterable[tuple[str, str]]) -> dict[str, int]:
    """The layer (column) of each node: the length of the longest dependency path that
    leads to it, loops broken; 0 for a node that depends on nothing."""
    return _layers(_graph(_unique(nodes), edges))


def svg(
    nodes: list[dict[str, Any]],
    edges: list[tuple[str, str]],
    *,
    href: Callable[[str], str] = lambda i: f"#/task/{i}",
    max_nodes: int = 1500,
) -> str:
    """The dependency graph as a standalone SVG document (also fit to inline in HTML).

    `nodes` are dicts with task_id, title, status, ready and optionally group_name and
    parent_task_id; `edges` are (task_id, depends_on_task_id) pairs, an arrow going from
    the dependency to the task; edges naming an unknown node are left out. Each node is a
    link to href(task_id). Past `max_nodes`, the tasks with edges are drawn first and a
    note says how many were left out."""
    kept, hidden = _capped(_unique(nodes), edges, max_nodes)
    graph = _graph(kept, edges)
    if not graph.nodes and not hidden:
        return _document(240, 60, ['<text x="20" y="35" class="empty">no tasks</text>'])
    ranked = _by_group(graph.nodes)
    at, bends, labels = _positions(graph, ranked)
    parts = [_edges(graph, at, bends), *labels]
    parts.extend(_node(graph.nodes[n], *at[n], href(n)) for n in ranked)
    right = max((x + NODE_W for x, _ in at.values()), default=MARGIN + NODE_W)
    bottom = max((y + NODE_H for _, y in at.values()), default=MARGIN)
    if hidden:
        bottom += 30
        noun = "task" if hidden == 1 else "tasks"
        parts.append(
            f'<text x="{MARGIN}" y="{bottom}" class="more">… {hidden} more {noun} not drawn</text>'
        )
    return _document(right + MARGIN, bottom + MARGIN, parts)


def _positions(
    graph: Graph, ranked: list[str]
) -> tuple[dict[str, tuple[int, int]], dict[tuple[str, str], list[tuple[int, int]]], list[str]]:
    """Where everything goes: the top-left corner of each node, the bend points of the
    long edges, and the heading over the grid of tasks with no edge, below the layers."""
    layer = _layers(graph)
    linked = {node for edge in graph.edges for node in edge}
    connected = [n for n in ranked if n in linked]
    alone = [n for n in ranked if n not in linked]
    items = _layered(graph, connected, layer)
    rows = _rows(items)
    centres = _centres(items, rows)
    at = {
        n: (MARGIN + layer[n] * STEP_X, round(centres[i] - NODE_H / 2))
        for i, n in enumerate(connected)
    }
    bends = {
        edge: [(MARGIN + items.layer[b] * STEP_X, round(centres[b])) for b in path]
        for edge, path in items.bends.items()
    }
    labels = []
    if alone:
        top = max((y + NODE_H + GAP_Y for _, y in at.values()), default=MARGIN)
        for dep, task in graph.cycle:  # its curve hangs below the lower of its two nodes
            if dep != task:
                top = max(top, max(at[dep][1], at[task][1]) + NODE_H + LOOP_DEPTH)
        if connected:
            heading = "Tasks with no dependencies or dependents"
            labels.append(f'<text x="{MARGIN}" y="{top + 20}" class="section">{heading}</text>')
            top += 34
        columns = min(len(alone), max(len(rows), GRID_COLUMNS))
        at.update(_grid_positions(alone, columns, top))
    return at, bends, labels


def _unique(nodes: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The nodes by task_id, the first of any that share one."""
    by_id: dict[str, dict[str, Any]] = {}
    for node in nodes:
        by_id.setdefault(node["task_id"], node)
    return by_id


def _capped(
    nodes: dict[str, dict[str, Any]], edges: Iterable[tuple[str, str]], limit: int
) -> tuple[dict[str, dict[str, Any]], int]:
    """At most `limit` nodes, those with an edge first (the graph is what the drawing is
    for), and how many were left out."""
    if len(nodes) <= limit:
        return nodes, 0
    linked = {n for edge in edges if edge[0] in nodes and edge[1] in nodes for n in edge}
    order = [n for n in nodes if n in linked] + [n for n in nodes if n not in linked]
    kept = order[: max(limit, 0)]
    return {n: nodes[n] for n in kept}, len(nodes) - len(kept)


def _graph(nodes: dict[str, dict[str, Any]], edges: Iterable[tuple[str, str]]) -> Graph:
    """The graph of the given nodes: edges turned to point from dependency to task, those
    naming an unknown node left out, loops broken."""
    pairs = list(
        dict.fromkeys((dep, task) for task, dep in edges if task in nodes and dep in nodes)
    )
    cycle = _back_edges(pairs)
    after: dict[str, list[str]] = {}
    before: dict[str, list[str]] = {}
    for dep, task in pairs:
        if (dep, task) not in cycle:
            after.setdefault(dep, []).append(task)
            before.setdefault(task, []).append(dep)
    return Graph(nodes, pairs, after, before, cycle)


def _back_edges(pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """The edges that a depth-first search, started from the nodes that depend on
    nothing, finds leading back to a node on its current path: without them no loop is
    left. Iterative, so a long chain does not reach Python's recursion limit."""
    out: dict[str, list[str]] = {}
    has_dependency = set()
    for dep, task in pairs:
        out.setdefault(dep, []).append(task)
        has_dependency.add(task)
    on_path, done = 1, 2
    state: dict[str, int] = {}
    back = set()
    # Every loop goes through a node with an edge out: those are roots enough.
    roots = [n for n in out if n not in has_dependency] + list(out)
    for root in roots:
        if root in state:
            continue
        state[root] = on_path
        stack = [(root, iter(out.get(root, ())))]
        while stack:
            node, children = stack[-1]
            for child in children:
                seen = state.get(child)
                if seen is None:
                    state[child] = on_path
                    stack.append((child, iter(out.get(child, ()))))
                    break
                if seen == on_path:
                    back.add((node, child))
            else:
                state[node] = done
                stack.pop()
    return back


def _layers(graph: Graph) -> dict[str, int]:
    """Longest path from the sources, in topological order (Kahn): the loop-closing
    edges are out, so every node is reached."""
    waiting = {n: len(graph.before.get(n, ())) for n in graph.nodes}
    layer = dict.fromkeys(graph.nodes, 0)
    queue = [n for n, count in waiting.items() if count == 0]
    for node in queue:  # the queue grows as the loop goes
        for task in graph.after.get(node, ()):
            layer[task] = max(layer[task], layer[node] + 1)
            waiting[task] -= 1
            if waiting[task] == 0:
                queue.append(task)
    return layer


def _by_group(nodes: dict[str, dict[str, Any]]) -> list[str]:
    """The node ids with the tasks of a group together (groups in order of first
    appearance), otherwise in the order given: the first guess of the order in a layer."""
    rank: dict[str, int] = {}
    for node in nodes.values():
        rank.setdefault(node.get("group_name") or "", len(rank))
    return sorted(nodes, key=lambda n: rank[nodes[n].get("group_name") or ""])


@dataclass
class Layered:
    """The layered part of the drawing. Items are the nodes (0 to len(ids) - 1) and the
    bend points that carry an edge across the layers between its ends (Sugiyama's dummy
    nodes), so that long edges take part in the ordering and pass between nodes rather
    than through them. `up` and `down` are each item's neighbours in the layers before
    and after it (the next one, unless the edge got no bend points); `bends` are an
    edge's bend points in order."""

    ids: list[str]
    layer: list[int]
    up: list[list[int]]
    down: list[list[int]]
    bends: dict[tuple[str, str], list[int]]


def _layered(graph: Graph, ids: list[str], layer: dict[str, int]) -> Layered:
    """The items of the layered part. Shortest edges get bend points first, up to
    BEND_BUDGET in all: past it (long chains crossed by many long edges) an edge is one
    curve, which costs less than the bend points would in time and bytes."""
    index = {n: i for i, n in enumerate(ids)}
    out = Layered(ids, [layer[n] for n in ids], [[] for _ in ids], [[] for _ in ids], {})
    budget = BEND_BUDGET
    straight = [e for e in graph.edges if e not in graph.cycle]
    for dep, task in sorted(straight, key=lambda e: layer[e[1]] - layer[e[0]]):
        a, b = index[dep], index[task]
        bends = []
        if 0 < layer[task] - layer[dep] - 1 <= budget:
            budget -= layer[task] - layer[dep] - 1
            for level in range(layer[dep] + 1, layer[task]):
                bends.append(len(out.layer))
                out.layer.append(level)
                out.up.append([])
                out.down.append([])
        chain = [a, *bends, b]
        for p, q in pairwise(chain):
            out.down[p].append(q)
            out.up[q].append(p)
        out.bends[(dep, task)] = bends
    return out


def _rows(items: Layered) -> list[list[int]]:
    """The items of each layer, ordered by barycenter sweeps: down the layers by the
    mean position of each item's neighbours in the layer before, then up by its
    neighbours' in the layer after, and so on. The first order keeps groups together."""
    rows: list[list[int]] = [[] for _ in range(max(items.layer, default=-1) + 1)]
    for item, level in enumerate(items.layer):
        rows[level].append(item)
    pos = [0] * len(items.layer)
    for row in rows:
        for i, item in enumerate(row):
            pos[item] = i
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        near = items.up if down else items.down
        for row in rows[1:] if down else rows[-2::-1]:
            _sort_row(row, near, pos)
    return rows


def _sort_row(row: list[int], near: list[list[int]], pos: list[int]) -> None:
    """Sort a layer by the mean position of each item's neighbours; an item with none
    on that side keeps its place (its index means nothing next to the others' means)."""
    keyed: list[tuple[float, int, int]] = []
    kept: dict[int, int] = {}
    for i, item in enumerate(row):
        others = near[item]
        if len(others) == 1:  # every bend point, most tasks
            keyed.append((pos[others[0]], i, item))
        elif others:
            keyed.append((sum(map(pos.__getitem__, others)) / len(others), i, item))
        else:
            kept[i] = item
    keyed.sort()
    moved = iter(keyed)
    for i in range(len(row)):
        item = kept[i] if i in kept else next(moved)[2]
        row[i] = item
        pos[item] = i


def _centres(items: Layered, rows: list[list[int]]) -> list[float]:
    """The y of each item's middle: as near the mean of its neighbours' as the spacing
    and the order in its layer allow, refined in passes down, up and down again. A bend
    point takes no height, so edges can run close together between nodes."""
    nodes = len(items.ids)
    half = [NODE_H / 2 if item < nodes else 0.0 for item in range(len(items.layer))]
    y = [0.0] * len(items.layer)
    gaps = [[half[p] + half[q] + GAP_Y for p, q in pairwise(row)] for row in rows]
    for row, row_gaps in zip(rows, gaps, strict=True):
        for item, value in zip(row, _stacked(row_gaps), strict=True):
            y[item] = value
    for down in (True, False, True):
        near = items.up if down else items.down
        order = range(1, len(rows)) if down else range(len(rows) - 2, -1, -1)
        for level in order:
            wanted = []
            for item in rows[level]:
                others = near[item]
                if len(others) == 1:  # every bend point, most tasks
                    wanted.append(y[others[0]])
                else:
                    wanted.append(
                        sum(map(y.__getitem__, others)) / len(others) if others else y[item]
                    )
            for item, value in zip(rows[level], _spread(wanted, gaps[level]), strict=True):
                y[item] = value
    top = min((y[i] - half[i] for i in range(len(y))), default=0.0)
    return [MARGIN + value - top for value in y]


def _spread(wanted: list[float], gaps: list[float]) -> list[float]:
    """Positions in the same order, each at least gaps[i] after the one before, as close
    to `wanted` as can be (least squares): pool adjacent violators on wanted less the
    room the items before need, so a crowd of items that want one place centres on it
    rather than running down from it."""
    room = _stacked(gaps)
    # Runs pooled together, as sums and counts (a mean is sum / count).
    sums: list[float] = []
    counts: list[int] = []
    for w, r in zip(wanted, room, strict=True):
        total, count = w - r, 1
        while sums and sums[-1] * count > total * counts[-1]:
            total += sums.pop()
            count += counts.pop()
        sums.append(total)
        counts.append(count)
    out: list[float] = []
    for total, count in zip(sums, counts, strict=True):
        out.extend([total / count] * count)
    return [z + r for z, r in zip(out, room, strict=True)]


def _stacked(gaps: list[float]) -> list[float]:
    """Positions from 0, each the given gap after the one before."""
    room = [0.0]
    for gap in gaps:
        room.append(room[-1] + gap)
    return room


def _grid_positions(ids: list[str], columns: int, top: int) -> dict[str, tuple[int, int]]:
    return {
        n: (MARGIN + (i % columns) * STEP_X, top + (i // columns) * STEP_Y)
        for i, n in enumerate(ids)
    }


def _edges(
    graph: Graph,
    at: dict[str, tuple[int, int]],
    bends: dict[tuple[str, str], list[tuple[int, int]]],
) -> str:
    """The edges as one group of paths, drawn before the nodes so that nodes cover them:
    curves from the dependency's right side through the edge's bend points (each a
    straight run across a layer) to the dependent's left side. An edge closing a loop
    runs under the nodes (over the node, for a task that depends on itself)."""
    out = ['<g class="edges">']
    for dep, task in graph.edges:
        (x1, y1), (x2, y2) = at[dep], at[task]
        if (dep, task) not in graph.cycle:
            kind = "edge"
            d = f"M{x1 + NODE_W},{y1 + NODE_H // 2}"
            x, y = x1 + NODE_W, y1 + NODE_H // 2
            for bx, by in bends.get((dep, task), ()):
                d += f" {_curve(x, y, bx, by)} L{bx + NODE_W},{by}"
                x, y = bx + NODE_W, by
            d += " " + _curve(x, y, x2, y2 + NODE_H // 2)
        elif dep == task:
            kind = "edge cycle"
            a, b = x1 + NODE_W * 2 // 3, x1 + NODE_W // 3
            d = f"M{a},{y1} C{a},{y1 - 30} {b},{y1 - 30} {b},{y1}"
        else:
            kind = "edge cycle"
            a, b, low1, low2 = x1 + NODE_W // 2, x2 + NODE_W // 2, y1 + NODE_H, y2 + NODE_H
            d = f"M{a},{low1} C{a},{low1 + LOOP_DEPTH} {b},{low2 + LOOP_DEPTH} {b},{low2}"
        out.append(
            f'<path class="{kind}" d="{d}" data-from="{_text(dep)}" data-to="{_text(task)}"/>'
        )
    out.append("</g>")
    return "".join(out)


def _curve(x1: int, y1: int, x2: int, y2: int) -> str:
    """A cubic from the current point (x1, y1) to (x2, y2), level at both ends."""
    bend = (x2 - x1) // 2
    return f"C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}"


def _node(node: dict[str, Any], x: int, y: int, link: str) -> str:
    """A link around a rounded box: the title (cut to TITLE_CHARS, whole on hover) over
    the id and the status."""
    task_id = str(node["task_id"])
    status = str(node.get("status") or "")
    title = " ".join(str(node.get("title") or "").split())
    short = _cut(title)
    ready = bool(node.get("ready"))
    state = status.replace("_", " ") + (" · ready" if ready else "")
    hover = [title, f"{task_id} · {state}"]
    if node.get("group_name"):
        hover.append(f"group: {node['group_name']}")
    if node.get("parent_task_id"):
        hover.append(f"subtask of {node['parent_task_id']}")
    classes = f"node status-{status}" + (" ready" if ready else "")
    return (
        f'<a href="{_text(link)}" class="{_text(classes)}" data-task-id="{_text(task_id)}">'
        f"<title>{_text(chr(10).join(hover))}</title>"
        f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="7"/>'
        # The texts in a viewport of the box's size, which clips what the cut misjudged.
        f'<svg x="{x}" y="{y}" width="{NODE_W - 6}" height="{NODE_H}">'
        f'<text x="10" y="19" class="title">{_text(short)}</text>'
        f'<text x="10" y="36" class="id">{_text(task_id)} · {_text(state)}</text>'
        "</svg></a>"
    )


def _cut(title: str) -> str:
    """The title cut to TITLE_CHARS with an ellipsis, a wide (CJK) character counting
    as two: about what fits in a box."""
    used = 0
    for i, char in enumerate(title):
        used += 2 if east_asian_width(char) in "WF" else 1
        if used > TITLE_CHARS:
            return title[: max(i - 1, 0)].rstrip() + "…"
    return title


def _text(value: object) -> str:
    """Text or an attribute value, escaped for XML, characters XML forbids replaced."""
    return escape(NOT_XML.sub("\ufffd", str(value)), quote=True)


def _style() -> str:
    """The stylesheet, scoped to the drawing's class: an SVG inlined in a page shares the
    page's styles both ways."""
    rules = [
        "svg.orch-graph{font-family:system-ui,sans-serif}",
        f".orch-graph .node rect{{fill:#ffffff;stroke:{EDGE_COLOUR};stroke-width:1.5}}",
        ".orch-graph .node .title{font-size:13px;fill:#0f172a}",
        ".orch-graph .node .id{font-size:11px;fill:#64748b}",
        ".orch-graph .node:hover rect{stroke-width:3}",
    ]
    for status, (fill, stroke, ink) in COLOURS.items():
        rules.append(f".orch-graph .status-{status} rect{{fill:{fill};stroke:{stroke}}}")
        rules.append(f".orch-graph .status-{status} .title{{fill:{ink}}}")
    rules += [
        f".orch-graph .status-{CANCELLED} .title{{text-decoration:line-through}}",
        ".orch-graph .node.ready rect{fill:#dcfce7;stroke:#15803d;stroke-width:3}",
        ".orch-graph .node.ready .id{fill:#15803d;font-weight:600}",
        f".orch-graph .edge{{fill:none;stroke:{EDGE_COLOUR};stroke-width:1.5;marker-end:url(#{ARROW})}}",
        f".orch-graph .edge.cycle{{stroke:{CYCLE_COLOUR};stroke-dasharray:5 4;marker-end:url(#{CYCLE_ARROW})}}",
        ".orch-graph .section,.orch-graph .more,.orch-graph .empty{font-size:13px;fill:#475569}",
        ".orch-graph .section{font-weight:600}",
    ]
    return "<style>" + "".join(rules) + "</style>"


def _document(width: int, height: int, parts: list[str]) -> str:
    def marker(name: str, colour: str) -> str:
        return (
            f'<marker id="{name}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7"'
            f' markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/>'
            "</marker>"
        )

    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="orch-graph" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}" role="img"'
        ' aria-label="task dependency graph">'
        + _style()
        + "<defs>"
        + marker(ARROW, EDGE_COLOUR)
        + marker(CYCLE_ARROW, CYCLE_COLOUR)
        + "</defs>"
        + "".join(parts)
        + "</svg>"
    )
