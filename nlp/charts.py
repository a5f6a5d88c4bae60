"""Charts as inline SVG with their text kept as text: the browser draws the Chinese labels with its
own fonts, so a chart never depends on a font installed on (or cached by) the machine that wrote it.

Two shapes cover the reports: horizontal bars (a rate per department) and stacked horizontal bars
(category counts per department). The SVG is self-contained (no script, no external reference), all
text is XML-escaped, and each bar carries a ``<title>`` tooltip with its exact figure.

>>> svg = bar_chart_svg([("社保局", 0.25), ("医保中心", 0.1)], title="各部门疑似错放比例")
>>> "<text" in svg and "社保局" in svg and "25.0%" in svg
True
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

__all__ = ["bar_chart_svg", "stacked_bar_svg", "COLORS"]

COLORS: tuple[str, ...] = (
    "#4e79a7", "#59a14f", "#f28e2b", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f", "#ff9da7",
)  # fmt: skip
_FONT = "Noto Sans CJK SC, Noto Sans SC, PingFang SC, Microsoft YaHei, sans-serif"
_ROW, _LABEL, _WIDTH, _TOP = 24, 190, 760, 40


def _text(x: float, y: float, text: str, *, size: int = 12, anchor: str = "start", weight: str = "") -> str:
    bold = f' font-weight="{weight}"' if weight else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{bold}>{escape(text)}</text>'
    )


def _frame(height: float, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{_WIDTH}" height="{height:.0f}" '
        f'viewBox="0 0 {_WIDTH} {height:.0f}" font-family="{_FONT}" class="chart">'
        f"<title>{escape(title)}</title>"
        + _text(_WIDTH / 2, 22, title, size=15, anchor="middle", weight="bold")
        + "".join(body)
        + "</svg>"
    )


def _label(text: str, limit: int = 14) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bar_chart_svg(
    bars: Sequence[tuple[str, float]],
    *,
    title: str,
    percent: bool = True,
    color: str = "#c0504d",
    limit: int = 20,
    axis: str = "",
) -> str:
    """Horizontal bars, one per (label, value), in the order given (at most ``limit``); values are
    fractions shown as percentages when ``percent``, else counts."""
    shown = list(bars)[:limit]
    top = max((value for _label_text, value in shown), default=0.0) or 1.0
    span = _WIDTH - _LABEL - 80
    body = []
    for i, (label, value) in enumerate(shown):
        y = _TOP + i * _ROW
        width = max(0.0, value) / top * span
        figure = f"{value * 100:.1f}%" if percent else f"{value:g}"
        body.append(
            f'<g class="bar"><title>{escape(label)}：{escape(figure)}</title>'
            f'<rect x="{_LABEL}" y="{y + 4}" width="{width:.1f}" height="{_ROW - 8}" fill="{color}"/></g>'
        )
        body.append(_text(_LABEL - 8, y + _ROW / 2 + 4, _label(label), anchor="end"))
        body.append(_text(_LABEL + width + 6, y + _ROW / 2 + 4, figure, size=11))
    if not shown:
        body.append(_text(_WIDTH / 2, _TOP + 16, "（无数据）", anchor="middle"))
    height = _TOP + max(len(shown), 1) * _ROW + 30
    if axis:
        body.append(_text(_LABEL + span / 2, height - 10, axis, size=11, anchor="middle"))
    return _frame(height, title, body)


def stacked_bar_svg(
    rows: Sequence[tuple[str, Sequence[float]]],
    *,
    series: Sequence[str],
    title: str,
    colors: Sequence[str] = COLORS,
    limit: int = 20,
    axis: str = "",
) -> str:
    """Stacked horizontal bars: per (label, values) one bar split into ``series`` (values parallel to
    it), with a legend underneath."""
    shown = list(rows)[:limit]
    top = max((sum(values) for _label_text, values in shown), default=0.0) or 1.0
    span = _WIDTH - _LABEL - 60
    body = []
    for i, (label, values) in enumerate(shown):
        y = _TOP + i * _ROW
        x = float(_LABEL)
        for name, value, color in zip(series, values, colors, strict=False):
            if value <= 0:
                continue
            width = value / top * span
            body.append(
                f'<g class="bar"><title>{escape(label)} · {escape(name)}：{value:g}</title>'
                f'<rect x="{x:.1f}" y="{y + 4}" width="{width:.1f}" height="{_ROW - 8}" fill="{color}"/></g>'
            )
            x += width
        body.append(_text(_LABEL - 8, y + _ROW / 2 + 4, _label(label), anchor="end"))
        body.append(_text(x + 6, y + _ROW / 2 + 4, f"{sum(values):g}", size=11))
    legend_y = _TOP + max(len(shown), 1) * _ROW + 16
    per_line = 4
    for k, (name, color) in enumerate(zip(series, colors, strict=False)):
        x = _LABEL + (k % per_line) * 135
        y = legend_y + (k // per_line) * 18
        body.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{color}"/>')
        body.append(_text(x + 16, y, name, size=11))
    height = legend_y + ((len(series) - 1) // per_line + 1) * 18 + (24 if axis else 6)
    if axis:
        body.append(_text(_LABEL + span / 2, height - 8, axis, size=11, anchor="middle"))
    return _frame(height, title, body)
