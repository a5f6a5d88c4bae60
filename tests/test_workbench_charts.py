"""Charts as SVG whose Chinese labels are text, not glyphs drawn with whatever font the machine had
(issue 15, item 2), and the audit report that embeds them and says what to do next (item 8)."""

from __future__ import annotations

import warnings
from pathlib import Path
from xml.etree import ElementTree

import pytest

from nlp.charts import bar_chart_svg, stacked_bar_svg

SVG = "{http://www.w3.org/2000/svg}"


def texts(svg: str) -> list[str]:
    return [node.text or "" for node in ElementTree.fromstring(svg).iter(f"{SVG}text")]


def test_bar_chart_keeps_every_label_and_figure_as_text() -> None:
    svg = bar_chart_svg([("社会保险事业管理中心", 0.253), ("医保中心", 0.1)], title="各部门疑似错放指标比例")
    assert texts(svg)[:1] == ["各部门疑似错放指标比例"]
    assert {"社会保险事业管理中心", "医保中心", "25.3%", "10.0%"} <= set(texts(svg))
    root = ElementTree.fromstring(svg)
    widths = [float(r.get("width", 0)) for r in root.iter(f"{SVG}rect")]
    assert widths[0] > widths[1] > 0  # bars scale with the values


def test_chart_text_is_escaped_and_the_svg_has_no_script_or_external_reference() -> None:
    svg = bar_chart_svg([("<script>alert(1)</script>", 0.5)], title="x & y")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    root = ElementTree.fromstring(svg)  # well-formed XML despite the payload
    assert not list(root.iter(f"{SVG}script")) and "href" not in svg


def test_stacked_bars_sum_and_name_every_series() -> None:
    series = ["数量指标", "质量指标", "服务对象满意度指标"]
    svg = stacked_bar_svg([("社保局", [3, 1, 2]), ("医保中心", [1, 0, 0])], series=series, title="类别分布")
    shown = texts(svg)
    assert set(series) <= set(shown) and "6" in shown and "1" in shown
    assert len([r for r in ElementTree.fromstring(svg).iter(f"{SVG}g")]) == 4  # zero segments are left out


def test_an_empty_chart_says_so() -> None:
    assert "（无数据）" in texts(bar_chart_svg([], title="空"))


@pytest.mark.slow
def test_audit_report_embeds_the_svg_chart_prints_no_font_warnings_and_says_what_to_do_next(
    tmp_path: Path, seed_paths: dict[str, Path]
) -> None:
    from nlp.cli import main

    out = tmp_path / "audit.html"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["audit", str(seed_paths["000"]), "--out", str(out)]) == 0
    assert not [w for w in caught if "Glyph" in str(w.message) or "font" in str(w.message).lower()]
    html = out.read_text(encoding="utf-8")
    assert "<svg" in html and "data:image/png" not in html
    assert "各部门疑似错放指标比例" in html and "zhibiao serve" in html and 'href="#flag-1"' in html
    assert 'id="flag-1"' in html
