"""Draw bench/sizes.json (made by bench/sizes.py) as bench/latency.svg.

    python bench/plot.py [--figures bench/sizes.json] [--out bench/latency.svg]

One chart, both axes logarithmic: the time of one `task show` (a whole process) against
the number of tasks in the project, for orch without the journal daemon, orch asking its
journal (`ORCH_RELAY=0`), orch run by it (the default with a daemon), Backlog.md's `task
view`, and the floor (a Python process importing click and sqlite3).
Plain SVG written by hand: no plotting library to install.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

HERE = Path(__file__).resolve().parent
WIDTH, HEIGHT = 660, 400
LEFT, RIGHT, TOP, BOTTOM = 90, 190, 40, 50
SHOW = "`orch task show"
LINES = (  # label, colour, dash, the figure of one size (None: not measured)
    ("Backlog.md task view", "#c0392b", "", lambda s: s.get("backlog", {}).get("view")),
    ("orch, no daemon", "#2471a3", "", lambda s: _show(s["without"])),
    ("orch, daemon's journal", "#d68910", "", lambda s: _show(s.get("journal", {}))),
    ("orch, run by the daemon", "#1e8449", "", lambda s: _show(s["with"])),
    ("floor (python start)", "#7f8c8d", "4 3", lambda s: s["floor"]),
)


def _show(figures: dict[str, float]) -> float | None:
    return next((v for k, v in figures.items() if k.startswith(SHOW)), None)


def svg(sizes: list[dict]) -> str:
    xs = [s["tasks"] for s in sizes]
    values = [f(s) for _, _, _, f in LINES for s in sizes]
    ys = [v for v in values if v]
    x0, x1 = math.log10(min(xs)), math.log10(max(xs))
    y0, y1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def at(tasks: float, ms: float) -> tuple[float, float]:
        x = LEFT + (math.log10(tasks) - x0) / ((x1 - x0) or 1) * plot_w
        y = TOP + plot_h - (math.log10(ms) - y0) / ((y1 - y0) or 1) * plot_h
        return round(x, 1), round(y, 1)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}"'
        f' viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{LEFT}" y="22" font-size="14" font-weight="bold">'
        "One task shown, a whole process, against project size</text>",
    ]
    for decade in range(y0, y1 + 1):  # horizontal grid: 1, 2, 5, 10, 20, 50 ms ...
        for step in (1, 2, 5) if decade < y1 else (1,):
            value = step * 10**decade
            _, y = at(xs[0], value)
            grey = "#ccc" if step == 1 else "#eee"
            out.append(
                f'<line x1="{LEFT}" y1="{y}" x2="{LEFT + plot_w}" y2="{y}" stroke="{grey}"/>'
            )
            out.append(f'<text x="{LEFT - 8}" y="{y + 4}" text-anchor="end">{value:,} ms</text>')
    for tasks in xs:
        x, _ = at(tasks, 10**y0)
        out.append(f'<line x1="{x}" y1="{TOP}" x2="{x}" y2="{TOP + plot_h}" stroke="#ddd"/>')
        out.append(f'<text x="{x}" y="{TOP + plot_h + 18}" text-anchor="middle">{tasks:,}</text>')
    out.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 12}" text-anchor="middle">tasks in the project</text>')  # fmt: skip
    for n, (label, colour, dash, figure) in enumerate(LINES):
        points = [at(s["tasks"], v) for s in sizes if (v := figure(s))]
        if not points:
            continue
        path = " ".join(f"{x},{y}" for x, y in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"'
                   f' stroke-dasharray="{dash}"/>')  # fmt: skip
        out += [f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>' for x, y in points]
        ly = TOP + 10 + n * 20
        out.append(f'<line x1="{WIDTH - RIGHT + 15}" y1="{ly}" x2="{WIDTH - RIGHT + 40}" y2="{ly}"'
                   f' stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/>')  # fmt: skip
        out.append(f'<text x="{WIDTH - RIGHT + 46}" y="{ly + 4}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--figures", type=Path, default=HERE / "sizes.json")
    parser.add_argument("--out", type=Path, default=HERE / "latency.svg")
    args = parser.parse_args(argv)
    sizes = json.loads(args.figures.read_text())["sizes"]
    args.out.write_text(svg(sizes), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
