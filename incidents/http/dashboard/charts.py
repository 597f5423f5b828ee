"""Charts drawn on the server as SVG: no script, readable by a screen reader.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` that says in
words what the bars say; the page prints the same numbers in a table beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

# Colours with at least 4.5:1 contrast against white, told apart by more than hue.
PALETTE = ("#1f5f99", "#b3420e", "#2e7d32", "#6a3d9a", "#8a6d00", "#a1234f", "#00695c")
STATUS_COLOURS = {
    "met": "#2e7d32",
    "partially_met": "#8a6d00",
    "rejected": "#b3420e",
    "open": "#1f5f99",
}

_ROW = 26
_LABEL_WIDTH = 150
_BAR_WIDTH = 300
_VALUE_WIDTH = 70


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def bar_chart(
    title: str, rows: Sequence[tuple[str, float]], unit: str = "", colour: str = PALETTE[0]
) -> Markup:
    """Horizontal bars, one a row, each labelled with its value."""
    height = max(1, len(rows)) * _ROW + 8
    width = _LABEL_WIDTH + _BAR_WIDTH + _VALUE_WIDTH
    top = max((value for _, value in rows), default=0) or 1
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="xMinYMin meet" aria-labelledby="{_id(title)}-t {_id(title)}-d">',
        f'<title id="{_id(title)}-t">{_text(title)}</title>',
        f'<desc id="{_id(title)}-d">'
        + _text("; ".join(f"{label}: {_number(value)}{unit}" for label, value in rows) or "none")
        + "</desc>",
    ]
    for index, (label, value) in enumerate(rows):
        y = 4 + index * _ROW
        bar = 0 if value <= 0 else max(2, round(_BAR_WIDTH * value / top))
        parts.append(
            f'<text x="{_LABEL_WIDTH - 8}" y="{y + 17}" text-anchor="end">{_text(label)}</text>'
            f'<rect x="{_LABEL_WIDTH}" y="{y + 4}" width="{bar}" height="{_ROW - 8}" '
            f'fill="{colour}" rx="2"/>'
            f'<text x="{_LABEL_WIDTH + bar + 6}" y="{y + 17}">{_number(value)}{_text(unit)}</text>'
        )
    if not rows:
        parts.append(f'<text x="8" y="20">{_text("nothing to show")}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_bars(
    title: str,
    rows: Sequence[tuple[str, dict[str, int]]],
    keys: Sequence[str],
    colours: dict[str, str] | None = None,
) -> Markup:
    """One horizontal bar a row, split into its keys (a legend above names them)."""
    colours = colours or {key: PALETTE[i % len(PALETTE)] for i, key in enumerate(keys)}
    legend_height = 24
    height = legend_height + max(1, len(rows)) * _ROW + 8
    width = _LABEL_WIDTH + _BAR_WIDTH + _VALUE_WIDTH
    top = max((sum(parts.values()) for _, parts in rows), default=0) or 1
    described = "; ".join(
        f"{label}: " + ", ".join(f"{key} {parts.get(key, 0)}" for key in keys)
        for label, parts in rows
    )
    svg = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="xMinYMin meet" aria-labelledby="{_id(title)}-t {_id(title)}-d">',
        f'<title id="{_id(title)}-t">{_text(title)}</title>',
        f'<desc id="{_id(title)}-d">{_text(described or "none")}</desc>',
    ]
    x = 8
    for key in keys:
        svg.append(
            f'<rect x="{x}" y="6" width="12" height="12" fill="{colours[key]}"/>'
            f'<text x="{x + 16}" y="16">{_text(key.replace("_", " "))}</text>'
        )
        x += 24 + 8 * len(key)
    for index, (label, parts) in enumerate(rows):
        y = legend_height + 4 + index * _ROW
        svg.append(
            f'<text x="{_LABEL_WIDTH - 8}" y="{y + 17}" text-anchor="end">{_text(label)}</text>'
        )
        offset = _LABEL_WIDTH
        for key in keys:
            value = parts.get(key, 0)
            if value <= 0:
                continue
            span = max(2, round(_BAR_WIDTH * value / top))
            svg.append(
                f'<rect x="{offset}" y="{y + 4}" width="{span}" height="{_ROW - 8}" '
                f'fill="{colours[key]}"><title>{_text(f"{key}: {value}")}</title></rect>'
            )
            offset += span
        svg.append(f'<text x="{offset + 6}" y="{y + 17}">{sum(parts.values())}</text>')
    if not rows:
        svg.append(f'<text x="8" y="{legend_height + 20}">nothing to show</text>')
    svg.append("</svg>")
    return Markup("".join(svg))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _id(title: str) -> str:
    return "chart-" + "".join(c if c.isalnum() else "-" for c in title.lower())
