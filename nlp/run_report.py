"""What a batch run writes: the indicator table, the flags workbook, the clusters workbook, the HTML report.

Rows are written chunk by chunk (CSV and write-only XLSX), so a run over a million indicators never
holds a million row dictionaries; the counts the report needs are tallied on the way. The report is
one self-contained Chinese HTML page (charts drawn with matplotlib, embedded as base64 PNG) whose
totals carry stable element ids (``#total-indicators``, ``#total-flagged``, ``#cat-11`` …) so tests and
scripts can read them.
"""

from __future__ import annotations

import base64
import csv
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment

from nlp.annotate import AUDIT_COLUMNS, PREDICTION_COLUMNS
from nlp.audit import REASONS, Verdict
from nlp.cluster import CLUSTER_COLUMNS, LEVEL_NAMES, Cluster
from nlp.model import Prediction
from nlp.records import INDICATOR_COLUMNS, Indicator
from nlp.report import FLAG_COLUMNS, AuditRow, chart_png, cluster_rows, png_bytes, setup_fonts
from nlp.tabular import EXCEL_ROWS, SheetBook, safe_csv
from nlp.taxonomy import LEAF_NAMES, LEAVES

__all__ = [
    "RUN_COLUMNS",
    "Tally",
    "ReportData",
    "write_tables",
    "write_clusters_book",
    "write_report",
    "render_report",
    "category_chart_png",
]

#: Columns of ``indicators.csv`` and of the ``indicators`` sheet of ``flags.xlsx``.
RUN_COLUMNS: tuple[str, ...] = (
    *INDICATOR_COLUMNS, *PREDICTION_COLUMNS, *AUDIT_COLUMNS, "suggested_name", "reason_text",
)  # fmt: skip
NO_DEPARTMENT = "（未注明部门）"
_EXCEL_ROWS = EXCEL_ROWS
_EXCEL_CELL = 32_767  # characters per cell
_MEMO_LIMIT = 100_000  # cleaned texts remembered while writing a workbook


@dataclass
class Tally:
    """Counts gathered while the rows are written (mutable while writing, then only read)."""

    indicators: int = 0
    flagged: int = 0
    categories: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    #: department -> [indicators, flagged, Counter of predicted codes]
    departments: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, indicator: Indicator, prediction: Prediction, verdict: Verdict) -> None:
        self.indicators += 1
        self.categories[prediction.code] += 1
        entry = self.departments.get(indicator.department or NO_DEPARTMENT)
        if entry is None:
            entry = self.departments[indicator.department or NO_DEPARTMENT] = [0, 0, Counter()]
        entry[0] += 1
        entry[2][prediction.code] += 1
        if verdict.flagged:
            self.flagged += 1
            entry[1] += 1
            self.reasons[verdict.reasons[0] if verdict.reasons else ""] += 1

    def rates(self) -> list[dict[str, Any]]:
        """Per department: indicators, flags, misplacement rate (highest first) and predicted codes."""
        table = [
            {
                "department": name,
                "indicators": n,
                "flagged": f,
                "rate": round(f / n, 4) if n else 0.0,
                "codes": codes,
            }
            for name, (n, f, codes) in self.departments.items()
        ]
        return sorted(table, key=lambda r: (-r["rate"], r["department"]))


# ------------------------------------------------------------------------------------------- tables


def _tail(indicator: Indicator, prediction: Prediction, verdict: Verdict) -> list[Any]:
    """The prediction and audit columns, exactly as :meth:`nlp.report.AuditRow.as_dict` writes them."""
    row = AuditRow(indicator, prediction, verdict).as_dict()
    return [row[column] for column in RUN_COLUMNS[len(INDICATOR_COLUMNS) :]]


def write_tables(
    indicators: Sequence[Indicator],
    predictions: Sequence[Prediction],
    verdicts: Sequence[Verdict],
    *,
    indicators_csv: Path,
    flags_xlsx: Path,
    chunk: int = 20_000,
    progress: Callable[[int, int], None] | None = None,
) -> Tally:
    """Write ``indicators.csv`` and ``flags.xlsx`` (sheets: flags ranked by score, indicators, departments)
    chunk by chunk; returns the counts the report needs."""
    total = len(indicators)
    tally = Tally()
    tails: dict[tuple[int, int], list[Any]] = {}  # one per distinct (prediction, verdict): both are shared
    flagged: list[int] = []
    book = SheetBook()
    clean = book.clean
    flag_count = sum(1 for v in verdicts if v.flagged)
    flag_sheet = book.sheet("flags", FLAG_COLUMNS, n_rows=flag_count)
    sheets = [book.sheet("indicators", RUN_COLUMNS, n_rows=min(total, _EXCEL_ROWS))]
    in_sheet = 0
    indicators_csv.parent.mkdir(parents=True, exist_ok=True)
    with open(indicators_csv, "w", encoding="utf-8-sig", newline="") as handle:  # BOM: Excel shows Chinese
        writer = csv.writer(handle)
        writer.writerow(RUN_COLUMNS)
        # CSV cells that Excel would run as formulas are kept text (nlp.tabular).
        for start in range(0, total, chunk):
            rows = []
            for i in range(start, min(start + chunk, total)):
                indicator, prediction, verdict = indicators[i], predictions[i], verdicts[i]
                key = (id(prediction), id(verdict))
                tail = tails.get(key)
                if tail is None:
                    tail = tails[key] = _tail(indicator, prediction, verdict)
                rows.append([getattr(indicator, column) for column in INDICATOR_COLUMNS] + tail)
                tally.add(indicator, prediction, verdict)
                if verdict.flagged:
                    flagged.append(i)
            writer.writerows([safe_csv(value) for value in row] for row in rows)
            for row in rows:
                if in_sheet == _EXCEL_ROWS:  # Excel's limit: go on in another sheet
                    sheets.append(book.sheet(f"indicators{len(sheets) + 1}", RUN_COLUMNS, n_rows=_EXCEL_ROWS))
                    in_sheet = 0
                sheets[-1].append([clean(value) for value in row])
                in_sheet += 1
            if progress is not None:
                progress(min(start + chunk, total), total)
    flagged.sort(
        key=lambda i: (
            -verdicts[i].score,
            indicators[i].department,
            indicators[i].project,
            indicators[i].line,
        )
    )
    positions = {column: RUN_COLUMNS.index(column) for column in FLAG_COLUMNS if column in RUN_COLUMNS}
    for i in flagged:
        row = [getattr(indicators[i], c) for c in INDICATOR_COLUMNS] + tails[
            (id(predictions[i]), id(verdicts[i]))
        ]
        flag_sheet.append([clean(row[positions[c]] if c in positions else "") for c in FLAG_COLUMNS])
    departments = book.sheet(
        "departments", ["department", "indicators", "flagged", "rate"], n_rows=len(tally.departments)
    )
    for r in tally.rates():
        departments.append([clean(r["department"]), r["indicators"], r["flagged"], r["rate"]])
    book.save(flags_xlsx)
    if progress is not None:
        progress(total, total)
    return tally


def write_clusters_book(clusters: Mapping[str, Sequence[Cluster]], path: Path) -> Path:
    """``clusters.xlsx``: one sheet per level (goals, indicators, sets), one row per cluster member."""
    book = SheetBook()
    for level, found in clusters.items():
        rows = list(cluster_rows(found))
        sheet = book.sheet(level, CLUSTER_COLUMNS, n_rows=min(len(rows), _EXCEL_ROWS))
        for row in rows[:_EXCEL_ROWS]:
            book.append(sheet, (row[column] for column in CLUSTER_COLUMNS))
    book.save(path)
    return path


# ------------------------------------------------------------------------------------------- report


@dataclass(frozen=True)
class ReportData:
    """Everything the HTML report shows."""

    totals: dict[str, int]
    categories: dict[str, int]
    departments: list[dict[str, Any]]
    top_clusters: dict[str, list[Cluster]]
    problems: list[str]
    failed_files: list[str]
    outputs: dict[str, str]
    model_version: str
    threshold: float
    reasons: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @classmethod
    def build(
        cls, report: Any, tally: Tally, clusters: Mapping[str, Sequence[Cluster]], *, model_version: str,
        threshold: float, top: int = 10,
    ) -> ReportData:  # fmt: skip
        """From a :class:`nlp.run.RunReport` (without its store part) and the tally of the written rows."""
        totals = {
            "files": len(report.files),
            "failed-files": len(report.failed_files),
            "skipped": len(report.problems),
            "projects": report.projects,
            "indicators": report.indicators,
            "distinct": report.distinct,
            "flagged": tally.flagged,
            "departments": len(tally.departments),
            **{f"clusters-{level}": len(found) for level, found in clusters.items()},
        }
        largest = {
            level: sorted(found, key=lambda c: (-c.size, -len(c.departments), c.id))[:top]
            for level, found in clusters.items()
        }
        return cls(
            totals=totals,
            categories={code: tally.categories.get(code, 0) for code in LEAVES},
            departments=tally.rates(),
            top_clusters=largest,
            problems=[str(p) for p in report.problems],
            failed_files=list(report.failed_files),
            outputs={role: path.name for role, path in report.outputs.items()},
            model_version=model_version,
            threshold=threshold,
            reasons=dict(tally.reasons.most_common()),
            seconds=dict(report.seconds),
        )


_COLORS = ("#4e79a7", "#59a14f", "#f28e2b", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f", "#ff9da7")


def category_chart_png(departments: Sequence[dict[str, Any]], *, limit: int = 20) -> bytes:
    """A stacked horizontal bar chart: predicted 二级 categories per department (largest departments)."""
    setup_fonts()
    import matplotlib.pyplot as plt

    shown = sorted(departments, key=lambda r: (-r["indicators"], r["department"]))[:limit][::-1]
    fig, ax = plt.subplots(figsize=(9, 0.45 * max(len(shown), 2) + 1.6))
    labels = [r["department"][:24] for r in shown]
    left = [0] * len(shown)
    for code, color in zip(LEAVES, _COLORS, strict=False):
        values = [r["codes"].get(code, 0) for r in shown]
        ax.barh(labels, values, left=left, color=color, label=LEAF_NAMES[code])
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_xlabel("指标数")
    ax.set_title("各部门指标的标准二级类别分布（模型判断）")
    ax.legend(fontsize=8, ncol=3, loc="lower right")
    return png_bytes(fig)


_HTML = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>绩效指标批量审核报告</title>
<style>
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:24px;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:8px 0 20px;width:100%}
th,td{border:1px solid #ccc;padding:4px 8px;font-size:13px;vertical-align:top;text-align:left}
th{background:#f3f3f3} td.n{text-align:right;font-variant-numeric:tabular-nums}
.totals{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}
.total{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:120px}
.total b{display:block;font-size:22px} .total.bad b{color:#b00} .muted{color:#666} img{max-width:100%}
</style></head><body>
<h1>绩效指标批量审核报告</h1>
<p class="muted">模型版本 {{ d.model_version }}；错放判定阈值 {{ d.threshold }}。输出文件：
{% for role, name in d.outputs.items() %}<code>{{ name }}</code>{% if not loop.last %}、{% endif %}{% endfor %}。</p>
<h2>总计</h2>
<div class="totals">
{% for key, label in totals %}<div class="total{% if key in ('failed-files', 'skipped') and d.totals[key] %} bad{% endif %}">
{{ label }}<b id="total-{{ key }}">{{ d.totals[key] }}</b></div>
{% endfor %}</div>
{% if d.failed_files or d.problems %}
<h2 id="problems">未能读取或跳过的内容</h2>
{% if d.failed_files %}<p>无法读取的文件（{{ d.failed_files|length }} 个）：</p>
<ul id="failed-files">{% for f in d.failed_files %}<li><code>{{ f }}</code></li>{% endfor %}</ul>{% endif %}
<ul class="problems">{% for p in d.problems %}<li>{{ p }}</li>{% endfor %}</ul>
{% endif %}
<h2>标准二级类别分布</h2>
<table><tr>{% for code, name in leaves %}<th>{{ name }}</th>{% endfor %}</tr>
<tr>{% for code, name in leaves %}<td class="n" id="cat-{{ code }}">{{ d.categories[code] }}</td>{% endfor %}</tr></table>
<img alt="各部门类别分布" src="data:image/png;base64,{{ category_chart }}">
<table><tr><th>部门</th><th>指标数</th>{% for code, name in leaves %}<th>{{ name }}</th>{% endfor %}</tr>
{% for r in by_size %}<tr><td>{{ r.department }}</td><td class="n">{{ r.indicators }}</td>
{% for code, name in leaves %}<td class="n">{{ r.codes.get(code, 0) }}</td>{% endfor %}</tr>{% endfor %}</table>
<h2>各部门疑似错放比例</h2>
<img alt="各部门错放比例" src="data:image/png;base64,{{ rate_chart }}">
<table><tr><th>部门</th><th>指标数</th><th>疑似错放</th><th>比例</th></tr>
{% for r in d.departments %}<tr class="department-row"><td>{{ r.department }}</td><td class="n">{{ r.indicators }}</td>
<td class="n">{{ r.flagged }}</td><td class="n">{{ "%.1f"|format(r.rate * 100) }}%</td></tr>{% endfor %}</table>
{% if d.reasons %}<p>疑似错放的主要理由：{% for code, n in d.reasons.items() %}{{ reason_names.get(code, code) }} {{ n }} 条{% if not loop.last %}；{% endif %}{% endfor %}。详见 <code>{{ d.outputs.flags }}</code>。</p>{% endif %}
<h2>最大的模板化（雷同）文本聚类</h2>
{% for level, found in d.top_clusters.items() %}
<h3>{{ level_names.get(level, level) }}（共 {{ d.totals["clusters-" + level] }} 组）</h3>
{% if found %}<table><tr><th>编号</th><th>出现次数</th><th>涉及部门</th><th>平均相似度</th><th>代表文本</th></tr>
{% for c in found %}<tr class="cluster-row"><td>{{ c.id }}</td><td class="n">{{ c.size }}</td><td>{{ c.departments|length }}：{{ c.departments[:5]|join("、") }}{% if c.departments|length > 5 %} 等{% endif %}</td>
<td class="n">{{ "%.2f"|format(c.mean_similarity) }}</td><td>{{ c.representative[:160] }}</td></tr>{% endfor %}</table>
{% else %}<p class="muted">没有发现。</p>{% endif %}
{% endfor %}
<p class="muted">各阶段耗时（秒）：{% for stage, s in d.seconds.items() %}{{ stage }} {{ s }}{% if not loop.last %}；{% endif %}{% endfor %}</p>
</body></html>
"""

_TOTAL_LABELS = (
    ("files", "文件数"),
    ("failed-files", "无法读取的文件"),
    ("skipped", "跳过的条目"),
    ("projects", "项目数"),
    ("indicators", "指标数"),
    ("distinct", "不同的指标文本"),
    ("flagged", "疑似错放"),
    ("departments", "部门数"),
)


def render_report(data: ReportData) -> str:
    """The report as one self-contained HTML page."""
    totals = [
        *_TOTAL_LABELS,
        *(
            (key, f"{LEVEL_NAMES.get(key[9:], key[9:])}聚类")
            for key in data.totals
            if key.startswith("clusters-")
        ),
    ]
    template = Environment(autoescape=True).from_string(_HTML)
    return template.render(
        d=data,
        totals=totals,
        leaves=[(code, LEAF_NAMES[code]) for code in LEAVES],
        by_size=sorted(data.departments, key=lambda r: (-r["indicators"], r["department"])),
        category_chart=base64.b64encode(category_chart_png(data.departments)).decode(),
        rate_chart=base64.b64encode(chart_png(data.departments)).decode(),
        level_names=LEVEL_NAMES,
        reason_names={code: text.split("：")[0] for code, text in REASONS.items()},
    )


def write_report(data: ReportData, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(data), encoding="utf-8")
    return path
