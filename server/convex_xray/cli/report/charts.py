"""Inline SVG bar charts (no script, no network): they scale with the page through viewBox."""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

WIDTH = 480
ROW = 24
LABEL = 170  # room for the label column
PALETTE = {"add": "#2e7d32", "remove": "#c62828", "value": "#1565c0", "saved": "#90caf9"}


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    segments: tuple[tuple[str, float], ...]  # (palette key, value), drawn left to right
    note: str = ""  # printed after the bar


def compact(value: float) -> str:
    """12,345 -> 12.3k, 100,020,000 -> 100M: short enough for a bar's label or a card."""
    if value < 10_000:
        return f"{value:,.0f}"
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            text = f"{value / size:.1f}".removesuffix(".0")
            return f"{text}{suffix}"
    return f"{value:,.0f}"


def _fit(text: str, limit: int = 26) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bar_chart(title: str, bars: list[Bar], legend: tuple[tuple[str, str], ...] = ()) -> str:
    """A horizontal bar chart with a title, one row per bar, and an optional legend. When the
    largest bar is over 100 times the smallest, lengths are logarithmic (the title says so)
    so the small ones stay visible."""
    totals = [sum(v for _, v in b.segments) for b in bars]
    positive = [t for t in totals if t > 0]
    log = bool(positive) and max(positive) > 100 * min(positive)
    if log:
        title += " (log scale)"
        bars = [_log_bar(b) for b in bars]
    top = 30 + (18 if legend else 0)
    height = top + ROW * max(len(bars), 1) + 8
    scale_max = max((sum(v for _, v in b.segments) for b in bars), default=0) or 1
    room = WIDTH - LABEL - 70
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="18" class="chart-title">{escape(title)}</text>',
    ]
    x = 0
    for key, text in legend:
        parts.append(f'<rect x="{x}" y="28" width="12" height="12" fill="{PALETTE[key]}"/>')
        parts.append(f'<text x="{x + 16}" y="39" class="chart-legend">{escape(text)}</text>')
        x += 24 + 7 * len(text)
    if not bars:
        parts.append(f'<text x="0" y="{top + 16}" class="chart-label">nothing to show</text>')
    for row, bar in enumerate(bars):
        y = top + row * ROW
        parts.append(f'<text x="{LABEL - 8}" y="{y + 17}" text-anchor="end" class="chart-label">{escape(_fit(bar.label))}</text>')
        offset = float(LABEL)
        for key, value in bar.segments:
            width = room * value / scale_max
            if width > 0:
                parts.append(f'<rect x="{offset:.1f}" y="{y + 5}" width="{max(width, 1.5):.1f}" height="{ROW - 10}" rx="2" fill="{PALETTE[key]}"/>')
            offset += width
        parts.append(f'<text x="{offset + 6:.1f}" y="{y + 17}" class="chart-value">{escape(bar.note)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _log_bar(bar: Bar) -> Bar:
    """The bar's total drawn at log10(1 + total), its segments keeping their proportions."""
    total = sum(v for _, v in bar.segments)
    if total <= 0:
        return bar
    scaled = math.log10(1 + total)
    return Bar(bar.label, tuple((k, scaled * v / total) for k, v in bar.segments), bar.note)
