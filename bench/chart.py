#!/usr/bin/env python3
"""Draws a bench/ results JSON (written by bench/summary.py) as an SVG
chart: one panel per metric, one horizontal bar per contender at the
median with a whisker from min to max, the figure printed at the bar's
end and, in brackets for each peer, the ratio of the first contender's
median to that peer's.

Usage: chart.py [RESULTS.json [OUT.svg]]
  (default bench/results/run.json; OUT defaults to RESULTS with .svg)
Standard library only.
"""
import json
import os
import sys
from xml.sax.saxutils import escape

COLORS = ["#d9480f", "#1c7ed6", "#5c940d", "#7048e8", "#868e96", "#e67700"]
PANEL_W = 520
BAR_H = 16
GAP = 6
LABEL_W = 190
COLS = 2


def fmt(x):
    a = abs(x)
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def text(x, y, s, size=11, anchor="start", weight="normal", color="#212529"):
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{color}">{escape(str(s))}</text>')


def panel(x0, y0, metric, section, color_of):
    """SVG elements of one metric's panel at (x0, y0); returns (parts, height)."""
    key = metric["key"]
    stats = section["summary"].get(key, {})
    whos = section["contenders"]
    parts = []
    better = {"lower": "lower is better", "higher": "higher is better"}.get(metric["better"], "for reference")
    parts.append(text(x0, y0 + 12, metric["label"], 12, weight="bold"))
    parts.append(text(x0 + PANEL_W - 10, y0 + 12, better, 10, "end", color="#868e96"))
    top = max([s["max"] for s in stats.values()] + [0])
    scale = (PANEL_W - LABEL_W - 110) / top if top > 0 else 0
    y = y0 + 22
    base = stats.get(whos[0]["id"])
    for w in whos:
        s = stats.get(w["id"])
        parts.append(text(x0 + LABEL_W - 6, y + BAR_H - 4, w["label"], 11, "end"))
        bx = x0 + LABEL_W
        if s is None:
            parts.append(text(bx + 4, y + BAR_H - 4, "not measured", 10, color="#adb5bd"))
        else:
            c = color_of[w["id"]]
            parts.append(f'<rect x="{bx}" y="{y}" width="{max(s["median"] * scale, 1):.1f}" '
                         f'height="{BAR_H}" fill="{c}" opacity="0.85"/>')
            if s["max"] > s["min"]:
                x1, x2, ym = bx + s["min"] * scale, bx + s["max"] * scale, y + BAR_H / 2
                parts.append(f'<line x1="{x1:.1f}" y1="{ym}" x2="{x2:.1f}" y2="{ym}" stroke="#212529"/>')
                for xx in (x1, x2):
                    parts.append(f'<line x1="{xx:.1f}" y1="{ym - 4}" x2="{xx:.1f}" y2="{ym + 4}" stroke="#212529"/>')
            label = fmt(s["median"])
            if base and w["id"] != whos[0]["id"] and s["median"]:
                label += f"  ({base['median'] / s['median']:.2f})"
            parts.append(text(bx + max(s["median"], s["max"]) * scale + 4, y + BAR_H - 4, label, 10))
        y += BAR_H + GAP
    return parts, y - y0 + 10


def render(doc):
    parts, y = [], 10
    meta = doc.get("meta", {})
    sub = ", ".join(f"{k} {meta[k]}" for k in ("date", "commit", "rounds", "secs", "kernel", "cpus") if k in meta)
    parts.append(text(10, y + 14, "oxvs side-by-side benchmark (medians, whiskers min-max)", 15, weight="bold"))
    parts.append(text(10, y + 30, sub, 10, color="#495057"))
    parts.append(text(10, y + 44, "In brackets: the first contender's median divided by that contender's.", 10, color="#495057"))
    y += 58
    width = COLS * (PANEL_W + 20) + 10
    for section in doc.get("sections", {}).values():
        color_of = {w["id"]: COLORS[i % len(COLORS)] for i, w in enumerate(section["contenders"])}
        parts.append(text(10, y + 16, f"{section['title']} (rounds: {section['rounds']})", 14, weight="bold"))
        y += 26
        row_h, col = 0, 0
        for m in section["metrics"]:
            p, h = panel(10 + col * (PANEL_W + 20), y, m, section, color_of)
            parts += p
            row_h = max(row_h, h)
            col += 1
            if col == COLS:
                y, row_h, col = y + row_h, 0, 0
        y += row_h + 10
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y}" '
            f'viewBox="0 0 {width} {y}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">'
            f'<rect width="100%" height="100%" fill="white"/>')
    return head + "".join(parts) + "</svg>\n"


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "results", "run.json")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.splitext(src)[0] + ".svg"
    try:
        with open(src) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"chart: cannot read {src}: {e}")
    if not isinstance(doc.get("sections"), dict):
        sys.exit(f"chart: {src} has no sections (not written by bench/summary.py)")
    with open(out, "w") as f:
        f.write(render(doc))
    print(out)


if __name__ == "__main__":
    main()
