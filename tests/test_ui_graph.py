"""The board's dependency graph: a layered SVG drawn on the server, well-formed XML
whatever the titles hold, that terminates on loops and stays bounded on big sessions."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from orchestrator.ui.graph import layers, svg

NS = "{http://www.w3.org/2000/svg}"


def task(task_id, title=None, status="pending", ready=False, **more):
    return {
        "task_id": task_id,
        "title": title or f"Task {task_id}",
        "status": status,
        "ready": ready,
        **more,
    }


def parse(drawing: str) -> ET.Element:
    return ET.fromstring(drawing)


def drawn_nodes(root: ET.Element) -> dict[str, ET.Element]:
    return {a.get("data-task-id"): a for a in root.iter(f"{NS}a")}


def box(node: ET.Element) -> tuple[float, float, float, float]:
    rect = node.find(f"{NS}rect")
    assert rect is not None
    x, y, width, height = (float(rect.get(k, "nan")) for k in ("x", "y", "width", "height"))
    return x, y, width, height


def edges_drawn(root: ET.Element) -> list[ET.Element]:
    return [p for p in root.iter(f"{NS}path") if "edge" in p.get("class", "").split()]


def texts(root: ET.Element, cls: str) -> list[str]:
    return [t.text or "" for t in root.iter(f"{NS}text") if t.get("class") == cls]


CHAIN = [task("a"), task("b"), task("c")]
CHAIN_EDGES = [("b", "a"), ("c", "b")]  # b depends on a, c on b


def test_a_chain_gets_layers_0_1_2():
    assert layers(CHAIN, CHAIN_EDGES) == {"a": 0, "b": 1, "c": 2}


def test_arrows_go_from_the_dependency_on_the_left_to_the_dependent_on_the_right():
    root = parse(svg(CHAIN, CHAIN_EDGES))
    nodes = drawn_nodes(root)
    xs = {i: box(n)[0] for i, n in nodes.items()}
    assert xs["a"] < xs["b"] < xs["c"]
    paths = edges_drawn(root)
    assert {(p.get("data-from"), p.get("data-to")) for p in paths} == {("a", "b"), ("b", "c")}
    for path in paths:
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.get("d", ""))]
        start_x, end_x = numbers[0], numbers[-2]
        assert (
            start_x == box(nodes[path.get("data-from")])[0] + box(nodes[path.get("data-from")])[2]
        )
        assert end_x == xs[path.get("data-to")]


def test_the_svg_sizes_itself_to_the_drawing():
    root = parse(svg(CHAIN, CHAIN_EDGES))
    width, height = float(root.get("width")), float(root.get("height"))
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    for node in drawn_nodes(root).values():
        x, y, w, h = box(node)
        assert 0 <= x <= x + w <= width
        assert 0 <= y <= y + h <= height


def test_ready_nodes_carry_the_ready_class_and_others_do_not():
    nodes = [task("a", status="completed"), task("b", ready=True), task("c")]
    root = parse(svg(nodes, [("b", "a"), ("c", "b")]))
    classes = {i: n.get("class", "").split() for i, n in drawn_nodes(root).items()}
    assert classes["b"] == ["node", "status-pending", "ready"]
    assert classes["a"] == ["node", "status-completed"]
    assert "ready" not in classes["c"]


def test_each_node_links_to_href_of_its_id_escaped():
    drawing = svg([task("t-1")], [], href=lambda i: f"/board?task={i}&view=graph")
    assert 'href="/board?task=t-1&amp;view=graph"' in drawing
    assert drawn_nodes(parse(drawing))["t-1"].get("href") == "/board?task=t-1&view=graph"


def test_a_cycle_terminates_and_the_edge_closing_it_has_class_cycle():
    nodes = [task("a"), task("b"), task("c")]
    edges = [("b", "a"), ("c", "b"), ("a", "c")]  # a -> b -> c -> a
    assert sorted(layers(nodes, edges).values()) == [0, 1, 2]
    paths = edges_drawn(parse(svg(nodes, edges)))
    assert len(paths) == 3
    looping = [p for p in paths if "cycle" in p.get("class", "").split()]
    assert len(looping) == 1


def test_a_task_that_depends_on_itself_is_drawn_with_a_cycle_edge():
    root = parse(svg([task("a"), task("b")], [("a", "a"), ("b", "a")]))
    classes = {(p.get("data-from"), p.get("data-to")): p.get("class") for p in edges_drawn(root)}
    assert classes == {("a", "a"): "edge cycle", ("a", "b"): "edge"}


def test_titles_with_markup_ampersands_and_quotes_are_escaped_and_the_svg_parses():
    title = "Fix <script>alert(\"x\")</script> & 'quotes'"
    drawing = svg([task("t-<1>&", title=title)], [])
    assert "<script>" not in drawing
    node = drawn_nodes(parse(drawing))["t-<1>&"]
    hover = node.find(f"{NS}title")
    assert hover is not None and hover.text is not None and hover.text.startswith(title)


def test_characters_xml_forbids_in_a_title_still_give_well_formed_xml():
    parse(svg([task("a", title="bell \x07 and form feed \x0c and \udcff")], []))


def test_long_titles_are_cut_with_an_ellipsis_and_shown_whole_on_hover():
    title = "A title much longer than the twenty-eight characters of a box"
    node = drawn_nodes(parse(svg([task("a", title=title)], [])))["a"]
    shown = [t.text for t in node.iter(f"{NS}text") if t.get("class") == "title"]
    assert len(shown[0]) == 28 and shown[0].endswith("…")
    assert title in node.findtext(f"{NS}title", "")


def test_edges_naming_an_unknown_node_are_skipped():
    nodes = [task("a"), task("b")]
    edges = [("b", "a"), ("b", "ghost"), ("ghost", "a")]
    assert layers(nodes, edges) == {"a": 0, "b": 1}
    root = parse(svg(nodes, edges))
    assert [(p.get("data-from"), p.get("data-to")) for p in edges_drawn(root)] == [("a", "b")]
    assert "ghost" not in drawn_nodes(root)


def test_a_long_edge_bends_around_the_node_in_the_layer_it_crosses():
    nodes = [task("a"), task("b"), task("c")]
    root = parse(svg(nodes, [("b", "a"), ("c", "b"), ("c", "a")]))
    nodes_drawn = drawn_nodes(root)
    long = next(
        p for p in edges_drawn(root) if (p.get("data-from"), p.get("data-to")) == ("a", "c")
    )
    straight = re.search(r"L(-?[\d.]+),(-?[\d.]+)", long.get("d", ""))
    assert straight is not None  # its run across b's layer
    _, y, _, height = box(nodes_drawn["b"])
    assert not y <= float(straight.group(2)) <= y + height


def test_unconnected_tasks_go_in_a_grid_rather_than_one_column():
    nodes = [task(f"t-{i}") for i in range(500)]
    root = parse(svg(nodes, []))
    columns = {box(n)[0] for n in drawn_nodes(root).values()}
    assert len(columns) > 1
    assert float(root.get("height")) < 500 * 46 / 4


def test_past_max_nodes_the_rest_is_counted_in_a_more_note():
    nodes = [task(f"t-{i}") for i in range(3000)]
    root = parse(svg(nodes, []))
    assert len(drawn_nodes(root)) == 1500
    assert texts(root, "more") == ["… 1500 more tasks not drawn"]


def test_under_the_cap_tasks_with_edges_are_drawn_first():
    nodes = [task(f"alone-{i}") for i in range(10)] + [task("a"), task("b")]
    root = parse(svg(nodes, [("b", "a")], max_nodes=3))
    assert set(drawn_nodes(root)) == {"a", "b", "alone-0"}
    assert texts(root, "more") == ["… 9 more tasks not drawn"]


def test_an_empty_graph_is_a_small_valid_svg_saying_no_tasks():
    root = parse(svg([], []))
    assert root.tag == f"{NS}svg"
    assert texts(root, "empty") == ["no tasks"]
    assert float(root.get("width")) < 400 and float(root.get("height")) < 100


def test_a_long_chain_needs_no_recursion():
    nodes = [task(f"t-{i}") for i in range(5000)]
    edges = [(f"t-{i + 1}", f"t-{i}") for i in range(4999)]
    assert layers(nodes, edges)["t-4999"] == 4999


def test_wide_characters_count_double_when_a_title_is_cut():
    title = "索引エンジンのベンチマークを一万件のタスクで実行する"
    node = drawn_nodes(parse(svg([task("a", title=title)], [])))["a"]
    shown = next(t.text or "" for t in node.iter(f"{NS}text") if t.get("class") == "title")
    assert shown.endswith("…") and len(shown) <= 28 // 2 + 1


def lowest_point(path: ET.Element) -> float:
    """The lowest y of a path "M x,y C x,y x,y x,y", sampled along the curve."""
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.get("d", ""))]
    y0, y1, y2, y3 = numbers[1], numbers[3], numbers[5], numbers[7]
    return max(
        (1 - t) ** 3 * y0 + 3 * (1 - t) ** 2 * t * y1 + 3 * (1 - t) * t**2 * y2 + t**3 * y3
        for t in (i / 50 for i in range(51))
    )


def test_the_loop_of_a_cycle_edge_stays_above_the_grid_heading():
    nodes = [task("a"), task("b"), task("alone")]
    root = parse(svg(nodes, [("b", "a"), ("a", "b")]))
    loop = next(p for p in edges_drawn(root) if "cycle" in p.get("class", ""))
    heading = next(t for t in root.iter(f"{NS}text") if t.get("class") == "section")
    assert lowest_point(loop) < float(heading.get("y", "0")) - 13
