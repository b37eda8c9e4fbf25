"""Pictures drawn on the server as SVG: no JavaScript, readable by screen readers (title and
desc), and the same colours everywhere."""

from __future__ import annotations

from html import escape

COLOURS = {"spent": "#1f4e79", "reserved": "#2e75b6", "pre_encumbered": "#9dc3e6", "available": "#e2efda",
           "allocated": "#2e75b6", "free": "#e2efda", "genuine": "#2e7d32", "non_genuine": "#c62828"}


def stacked_bar(parts: list[tuple[str, str, int]], *, title: str, width: int = 560, height: int = 28) -> str:
    """One horizontal bar split into (key, label, value) parts, with a legend underneath."""
    total = sum(max(v, 0) for _, _, v in parts) or 1
    x, rects, legend = 0.0, [], []
    for n, (key, label, value) in enumerate(parts):
        w = width * max(value, 0) / total
        rects.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" fill="{COLOURS.get(key, "#888")}">'
                     f"<title>{escape(label)}: {value}</title></rect>")
        colour = COLOURS.get(key, "#888")
        legend.append(f'<rect x="{n * 140}" y="{height + 10}" width="12" height="12" fill="{colour}"/>'
                      f'<text x="{n * 140 + 18}" y="{height + 21}" font-size="12" fill="#222">{escape(label)}</text>')
        x += w
    desc = "; ".join(f"{label} {value}" for _, label, value in parts)
    return (f'<svg role="img" aria-labelledby="t d" width="{width}" height="{height + 30}" '
            f'viewBox="0 0 {width} {height + 30}"><title id="t">{escape(title)}</title>'
            f'<desc id="d">{escape(desc)}</desc>{"".join(rects)}{"".join(legend)}</svg>')


def usage_bar(used: int, total: int, *, title: str, width: int = 200, height: int = 14) -> str:
    share = used / total if total else 0
    colour = "#c62828" if share >= 0.9 else "#2e75b6"
    return (f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
            f"<title>{escape(title)}: {used} / {total}</title>"
            f'<rect width="{width}" height="{height}" fill="#e2efda"/>'
            f'<rect width="{width * share:.1f}" height="{height}" fill="{colour}"/></svg>')


def compliance_bars(rows: list[tuple[str, int, int]], *, title: str, genuine: str, non_genuine: str) -> str:
    """One pair of bars (genuine, non-genuine) per software kind."""
    top = max([g + n for _, g, n in rows] + [1])
    bar_w, gap, height = 120, 40, 180
    parts = []
    for i, (label, g, n) in enumerate(rows):
        x = i * (bar_w + gap)
        hg, hn = height * g / top, height * n / top
        parts.append(f'<rect x="{x}" y="{height - hg - hn:.1f}" width="{bar_w}" height="{hg:.1f}" '
                     f'fill="{COLOURS["genuine"]}"><title>{escape(label)} {escape(genuine)} {g}</title></rect>')
        parts.append(f'<rect x="{x}" y="{height - hn:.1f}" width="{bar_w}" height="{hn:.1f}" '
                     f'fill="{COLOURS["non_genuine"]}"><title>{escape(label)} {escape(non_genuine)} {n}</title></rect>')
        parts.append(f'<text x="{x}" y="{height + 16}" font-size="12" fill="#222">{escape(label)} {g}/{n}</text>')
    width = len(rows) * (bar_w + gap)
    return (f'<svg role="img" width="{width}" height="{height + 24}" viewBox="0 0 {width} {height + 24}">'
            f'<title>{escape(title)}</title>{"".join(parts)}</svg>')
