"""Pictures drawn on the server as SVG: no JavaScript, readable by screen readers (title and
desc), and the same colours everywhere."""

from __future__ import annotations

from html import escape

COLOURS = {"spent": "#1f4e79", "reserved": "#2e75b6", "pre_encumbered": "#9dc3e6", "available": "#e2efda",
           "allocated": "#2e75b6", "free": "#e2efda", "genuine": "#2e7d32", "non_genuine": "#c62828",
           "idle": "#f4b183"}


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


def title_positions(rows: list[tuple[str, dict]], *, title: str, words: dict[str, str], width: int = 760) -> str:
    """The license position of each title as two bars: its installs (genuine, non-genuine) over the
    seats held for it (in use, idle, not allocated), on one scale, so a title installed beyond its seats
    or seats bought and left idle stand out. `rows` are (label, position) pairs; `words` name the parts."""
    label_w, bar_h, gap = 230, 11, 10
    top = max([max(p["installed"], p["entitled"]) for _, p in rows] + [1])
    scale = (width - label_w - 60) / top
    parts = []
    for i, (label, p) in enumerate(rows):
        y = i * (2 * bar_h + gap)
        parts.append(f'<text x="0" y="{y + bar_h + 4}" font-size="12" fill="#222">{escape(label[:34])}</text>')
        x = label_w
        for key, value in (("genuine", p["genuine"]), ("non_genuine", p["non_genuine"])):
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{value * scale:.1f}" height="{bar_h}" '
                         f'fill="{COLOURS[key]}"><title>{escape(label)} {escape(words[key])} {value}</title></rect>')
            x += value * scale
        parts.append(f'<text x="{x + 4:.1f}" y="{y + bar_h - 1}" font-size="10" fill="#222">{p["installed"]}</text>')
        x = label_w
        # Seats: in use, idle (on a computer without the title: the first to reclaim), not allocated.
        seats = (("allocated", max(p["allocated"] - p["idle"], 0)), ("idle", p["idle"]),
                 ("free", max(p["entitled"] - p["allocated"], 0)))
        for key, value in seats:
            parts.append(f'<rect x="{x:.1f}" y="{y + bar_h}" width="{value * scale:.1f}" height="{bar_h}" '
                         f'fill="{COLOURS[key]}" stroke="#2e75b6" stroke-width="0.5">'
                         f"<title>{escape(label)} {escape(words[key])} {value}</title></rect>")
            x += value * scale
        if p["entitled"]:
            parts.append(f'<text x="{x + 4:.1f}" y="{y + 2 * bar_h - 1}" font-size="10" fill="#222">'
                         f'{p["entitled"]}</text>')
    height = len(rows) * (2 * bar_h + gap) + 24
    legend = []
    for n, key in enumerate(("genuine", "non_genuine", "allocated", "idle", "free")):
        legend.append(f'<rect x="{label_w + n * 110}" y="{height - 14}" width="12" height="12" fill="{COLOURS[key]}"/>'
                      f'<text x="{label_w + n * 110 + 16}" y="{height - 4}" font-size="12" fill="#222">'
                      f"{escape(words[key])}</text>")
    desc = "; ".join(f"{label}: {p['genuine']}/{p['non_genuine']}/{p['entitled']}" for label, p in rows)
    return (f'<svg role="img" aria-labelledby="tp-t tp-d" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}"><title id="tp-t">{escape(title)}</title>'
            f'<desc id="tp-d">{escape(desc)}</desc>'
            f'{"".join(parts)}{"".join(legend)}</svg>')
