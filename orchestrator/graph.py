"""Paths, cycles and tree listings in the dependency and parent graphs (plain dicts of id
-> ids)."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from itertools import pairwise
from typing import Any


def find_path(edges: Mapping[str, Iterable[str]], start: str, goal: str) -> list[str] | None:
    """The shortest path start -> ... -> goal following `edges`, or None."""
    previous: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            path = [node]
            step = previous[node]
            while step is not None:
                path.append(step)
                step = previous[step]
            return path[::-1]
        for nxt in sorted(edges.get(node, ())):
            if nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    return None


def looping_part(edges: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """The part of the graph left after repeatedly removing nodes with no edge out
    (Kahn's algorithm): empty when there is no cycle, which is the common case and
    costs one pass; otherwise it holds every cycle."""
    out_degree = {node: 0 for node in edges}
    incoming: dict[str, list[str]] = {}
    for node, targets in edges.items():
        for target in targets:
            if target in out_degree:
                out_degree[node] += 1
                incoming.setdefault(target, []).append(node)
    ready = [node for node, degree in out_degree.items() if degree == 0]
    while ready:
        node = ready.pop()
        del out_degree[node]
        for source in incoming.get(node, ()):
            out_degree[source] -= 1
            if out_degree[source] == 0:
                ready.append(source)
    return {node: [t for t in edges[node] if t in out_degree] for node in out_degree}


def cycles(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """One cycle (a path ending where it starts) for every strongly connected group of
    nodes that loops, found with Tarjan's algorithm; deterministic order."""
    edges = looping_part(edges)
    if not edges:
        return []
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in edges and child not in index:
                    continue  # an edge to an unknown node: reported elsewhere
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                looping = len(component) > 1 or node in set(edges.get(node, ()))
                if looping:
                    components.append(sorted(component))
    result = []
    for component in sorted(components):
        members = set(component)
        start = component[0]
        inner = {n: [m for m in edges.get(n, ()) if m in members] for n in component}
        if start in inner[start]:
            result.append([start, start])
            continue
        path = min(
            (p for nxt in inner[start] if (p := find_path(inner, nxt, start))),
            key=lambda p: (len(p), p),
        )
        result.append([start, *path])
    return result


def show_cycle(cycle: list[str], parent_edges: Collection[tuple[str, str]] = ()) -> str:
    """ "a → b → a", saying so when the loop goes through a parent waiting for a subtask."""
    text = " → ".join(cycle)
    if any(pair in parent_edges for pair in pairwise(cycle)):
        text += " (a parent waits for its subtasks)"
    return text


def preorder(parent: Mapping[str, str | None]) -> list[tuple[int, str]]:
    """The nodes of a forest as a tree listing, each with its depth: every node right
    after its parent's earlier children and their subtrees, siblings in the mapping's
    order. A node whose parent is None or not a node is a top. Nodes whose parents make a
    loop (a hand edit) are listed too, after the rest, each once: the first of them in
    the mapping's order as a top, the others under it."""
    children: dict[str, list[str]] = {}
    tops = []
    for node, above in parent.items():
        if above is not None and above != node and above in parent:
            children.setdefault(above, []).append(node)
        else:
            tops.append(node)
    out: list[tuple[int, str]] = []
    placed: set[str] = set()

    def place(top: str) -> None:
        stack = [(0, top)]
        while stack:
            depth, node = stack.pop()
            if node in placed:
                continue
            placed.add(node)
            out.append((depth, node))
            stack.extend((depth + 1, child) for child in reversed(children.get(node, ())))

    for top in tops:
        place(top)
    if len(placed) < len(parent):  # only loops are left: no node of one has its parent above
        for node in parent:
            place(node)
    return out


def tree_rows(
    rows: Sequence[dict[str, Any]], key: str, parent_key: str, level_key: str
) -> list[tuple[int, dict[str, Any]]]:
    """Index rows (tasks, groups) in listing order rearranged as a tree (see preorder),
    each with its depth in the listing. A row at level 0 is a top whatever its parent
    says: the index cut that link (the parent is gone, or they loop). Where the parent is
    listed here (a loop), the row comes after the other tops, its loop under it."""
    by_key = {r[key]: r for r in rows}
    parents = {k: None if r.get(level_key) == 0 else r.get(parent_key) for k, r in by_key.items()}
    looped = {k for k, r in by_key.items() if r.get(level_key) == 0 and r.get(parent_key) in by_key}
    if looped:  # to the end of the mapping: last among the tops
        parents = {k: p for k, p in parents.items() if k not in looped} | {
            k: p for k, p in parents.items() if k in looped
        }
    return [(depth, by_key[k]) for depth, k in preorder(parents)]
