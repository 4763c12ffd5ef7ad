"""Charts as hand-written SVG (no plotting library): Lorenz curves and bar charts with target lines."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def lorenz_svg(curves: Sequence[tuple[str, np.ndarray, np.ndarray]], title: str, *, size: int = 220) -> str:
    """Lorenz curves (x: cumulative share of residents, y: of access) with the line of equality."""
    pad, w = 34, size
    inner = w - pad - 10

    def pt(x: float, y: float) -> str:
        return f"{pad + x * inner:.1f},{10 + (1 - y) * inner:.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{w + 16 * len(curves) + 18}" '
             f'viewBox="0 0 {w} {w + 16 * len(curves) + 18}" role="img" aria-label="{_e(title)}">',
             f'<title>{_e(title)}</title>',
             f'<rect x="{pad}" y="10" width="{inner}" height="{inner}" fill="#fff" stroke="#999"/>',
             f'<polyline points="{pt(0, 0)} {pt(1, 1)}" fill="none" stroke="#bbb" stroke-dasharray="4 3"/>']
    for k, (label, x, y) in enumerate(curves):
        pts = " ".join(pt(float(a), float(b)) for a, b in zip(x, y))
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{PALETTE[k % len(PALETTE)]}" stroke-width="2"/>')
    for v in (0, 0.5, 1):
        parts.append(f'<text x="{pad + v * inner:.1f}" y="{inner + 24}" font-size="9" text-anchor="middle">{v:.0%}</text>')
        parts.append(f'<text x="{pad - 4}" y="{10 + (1 - v) * inner + 3:.1f}" font-size="9" text-anchor="end">{v:.0%}</text>')
    for k, (label, _, _) in enumerate(curves):
        y0 = inner + 38 + 16 * k
        parts.append(f'<rect x="{pad}" y="{y0 - 8}" width="12" height="3" fill="{PALETTE[k % len(PALETTE)]}"/>'
                     f'<text x="{pad + 16}" y="{y0 - 4}" font-size="10">{_e(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bars_svg(bars: Sequence[tuple[str, float | None]], title: str, *, targets: Sequence[tuple[str, float]] = (),
             width: int = 360, share: bool = True) -> str:
    """Horizontal bars (values in [0, 1] when `share`), with dashed vertical lines at the targets."""
    label_w, bar_h, gap = 150, 14, 6
    inner = width - label_w - 50
    top = max((v for _, v in bars if v is not None), default=0.0)
    top = 1.0 if share else max(top, max((v for _, v in targets), default=0.0)) or 1.0
    height = 20 + len(bars) * (bar_h + gap) + 14 * len(targets) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="{_e(title)}"><title>{_e(title)}</title>']
    for k, (label, value) in enumerate(bars):
        y = 10 + k * (bar_h + gap)
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_h - 3}" font-size="10" text-anchor="end">{_e(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{inner}" height="{bar_h}" fill="#f2f2f2"/>')
        if value is not None and np.isfinite(value):
            parts.append(f'<rect x="{label_w}" y="{y}" width="{max(0.0, min(1.0, value / top)) * inner:.1f}" '
                         f'height="{bar_h}" fill="{PALETTE[0]}"/>')
            text = f"{value:.1%}" if share else f"{value:,.2f}"
            parts.append(f'<text x="{label_w + inner + 4}" y="{y + bar_h - 3}" font-size="10">{_e(text)}</text>')
    bottom = 10 + len(bars) * (bar_h + gap)
    for k, (label, value) in enumerate(targets):
        x = label_w + max(0.0, min(1.0, value / top)) * inner
        colour = PALETTE[(k + 1) % len(PALETTE)]
        parts.append(f'<line x1="{x:.1f}" y1="6" x2="{x:.1f}" y2="{bottom}" stroke="{colour}" stroke-dasharray="4 2"/>')
        parts.append(f'<text x="{label_w}" y="{bottom + 12 + 14 * k}" font-size="10" fill="{colour}">'
                     f'┆ {_e(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
