"""What a batch run writes: the indicator table, the flags workbook, the clusters workbook, the HTML report.

Rows are written chunk by chunk (CSV and write-only XLSX), so a run over a million indicators never
holds a million row dictionaries; the counts the report needs are tallied on the way. The report is
one self-contained Chinese HTML page (charts as inline SVG whose labels stay text) whose
totals carry stable element ids (``#total-indicators``, ``#total-flagged``, ``#cat-11`` …) so tests and
scripts can read them.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from nlp.annotate import AUDIT_COLUMNS, PREDICTION_COLUMNS
from nlp.audit import REASONS, Verdict
from nlp.cluster import CLUSTER_COLUMNS, LEVEL_NAMES, Cluster
from nlp.model import Prediction
from nlp.records import INDICATOR_COLUMNS, Indicator
from nlp.report import FLAG_COLUMNS, AuditRow, cluster_rows, rates_svg
from nlp.tabular import EXCEL_ROWS, StreamBook, atomic_dir, atomic_path, safe_csv, write_parquet
from nlp.taxonomy import LEAF_NAMES, LEAVES

__all__ = [
    "RUN_COLUMNS",
    "Tally",
    "ReportData",
    "BOOK_COLUMNS",
    "CSV_ROWS",
    "RunTable",
    "province_of",
    "book_name",
    "write_tables",
    "write_run_csv",
    "write_flags_book",
    "write_department_books",
    "write_parquet_table",
    "write_clusters_book",
    "write_report",
    "render_report",
    "category_chart_svg",
]

#: Columns of ``indicators.csv`` and of the ``indicators`` sheet of ``flags.xlsx``.
RUN_COLUMNS: tuple[str, ...] = (
    *INDICATOR_COLUMNS, *PREDICTION_COLUMNS, *AUDIT_COLUMNS, "suggested_name", "reason_text",
)  # fmt: skip
NO_DEPARTMENT = "（未注明部门）"
_EXCEL_ROWS = EXCEL_ROWS


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

#: Columns of a department workbook: what a reviewer reads (every column is in the Parquet dataset).
BOOK_COLUMNS: tuple[str, ...] = (
    "tier", "flag_score", "project", "name", "annual_value", "cycle_value", "declared_l1", "declared_l2",
    "pred_l1", "pred_l2", "confidence", "suggested_code", "suggested_name", "flag_reasons", "explanation",
    "doc", "line",
)  # fmt: skip
#: Up to this many indicators a run also writes ``indicators.csv`` and an ``indicators`` sheet in
#: ``flags.xlsx``; above it the table is the Parquet dataset and the department workbooks.
CSV_ROWS = 50_000
#: Departments listed in the report (the most misplaced first); every one is in flags.xlsx.
REPORT_DEPARTMENTS = 200
_BOOKS_PER_TASK = 2_000  # rows of department workbooks handed to one worker process at a time
_REGION = re.compile(r"^(?:北京市|天津市|上海市|重庆市|.{2,7}?(?:省|自治区|特别行政区)|.{2,5}?[市州盟])")
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def province_of(department: str) -> str:
    """The region a department belongs to: the leading 省/自治区/直辖市 of its name, else its leading
    市/州/盟 (the Parquet dataset is partitioned by it).

    >>> province_of("广东省人力资源和社会保障厅"), province_of("广州市番禺区医疗保障局"), province_of("")
    ('广东省', '广州市', '（未注明）')
    """
    found = _REGION.match(department or "")
    return found.group() if found else "（未注明）"


def book_name(department: str) -> str:
    """The file name of a department's workbook (characters a file system refuses replaced).

    >>> book_name("广州市/番禺区:人社局")
    '广州市_番禺区_人社局.xlsx'
    """
    return (_UNSAFE.sub("_", department or NO_DEPARTMENT).strip(". ") or "_")[:120] + ".xlsx"


def _tail(indicator: Indicator, prediction: Prediction, verdict: Verdict) -> list[Any]:
    """The prediction and audit columns, exactly as :meth:`nlp.report.AuditRow.as_dict` writes them."""
    row = AuditRow(indicator, prediction, verdict).as_dict()
    return [row[column] for column in RUN_COLUMNS[len(INDICATOR_COLUMNS) :]]


@dataclass(frozen=True)
class RunTable:
    """Every output row of a run, column by column: indicator columns, then the shared prediction and
    audit columns, stored once per distinct (prediction, verdict) and indexed by row."""

    columns: dict[str, list[Any]]
    tails: list[list[Any]]
    pair: list[int]
    flagged: list[int]

    @classmethod
    def build(
        cls, indicators: Sequence[Indicator], predictions: Sequence[Prediction], verdicts: Sequence[Verdict],
        tally: Tally,
    ) -> RunTable:  # fmt: skip
        pairs: dict[tuple[int, int], int] = {}
        tails: list[list[Any]] = []
        pair: list[int] = []
        flagged: list[int] = []
        for i, (indicator, prediction, verdict) in enumerate(
            zip(indicators, predictions, verdicts, strict=True)
        ):
            key = (id(prediction), id(verdict))
            k = pairs.get(key)
            if k is None:
                k = pairs[key] = len(tails)
                tails.append(_tail(indicator, prediction, verdict))
            pair.append(k)
            tally.add(indicator, prediction, verdict)
            if verdict.flagged:
                flagged.append(i)
        columns = {c: [getattr(ind, c) for ind in indicators] for c in INDICATOR_COLUMNS}
        flagged.sort(key=lambda i: (-verdicts[i].score, indicators[i].department, indicators[i].project,
                                    indicators[i].line))  # fmt: skip
        return cls(columns, tails, pair, flagged)

    def __len__(self) -> int:
        return len(self.pair)

    def row(self, i: int) -> list[Any]:
        return [self.columns[c][i] for c in INDICATOR_COLUMNS] + self.tails[self.pair[i]]

    def arrow(self) -> dict[str, Any]:
        """The columns as pyarrow arrays (the shared ones expanded with ``take``, in C)."""
        import pyarrow as pa

        index = pa.array(self.pair, type=pa.int64())
        arrays: dict[str, Any] = {c: pa.array(values) for c, values in self.columns.items()}
        arrays["budget"] = pa.array(self.columns["budget"], type=pa.float64())
        for j, column in enumerate(RUN_COLUMNS[len(INDICATOR_COLUMNS) :]):
            arrays[column] = pa.array([tail[j] for tail in self.tails]).take(index)
        provinces = {d: province_of(d) for d in set(self.columns["department"])}
        arrays["province"] = pa.array([provinces[d] for d in self.columns["department"]])
        arrays["department"] = pa.array([d or NO_DEPARTMENT for d in self.columns["department"]])
        return arrays


def write_tables(
    indicators: Sequence[Indicator],
    predictions: Sequence[Prediction],
    verdicts: Sequence[Verdict],
    *,
    indicators_csv: Path | None = None,
    flags_xlsx: Path,
    with_sheet: bool | None = None,
    chunk: int = 20_000,
    progress: Callable[[int, int], None] | None = None,
) -> Tally:
    """Write ``indicators.csv`` (when a path is given) and ``flags.xlsx`` (sheets: flags ranked by score,
    every indicator when ``with_sheet`` — by default up to ``CSV_ROWS`` — and the rate per department),
    each to a temporary name renamed when complete; returns the counts the report needs."""
    tally = Tally()
    table = RunTable.build(indicators, predictions, verdicts, tally)
    if indicators_csv is not None:
        write_run_csv(table, indicators_csv, chunk=chunk, progress=progress)
    write_flags_book(
        table, tally, flags_xlsx, with_sheet=len(table) <= CSV_ROWS if with_sheet is None else with_sheet
    )
    return tally


def write_run_csv(
    table: RunTable, path: Path, *, chunk: int = 20_000, progress: Callable[[int, int], None] | None = None
) -> Path:
    """``indicators.csv``: UTF-8 with BOM (Excel shows Chinese), formula-like cells kept text."""
    total = len(table)
    with atomic_path(path) as temporary, open(temporary, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(RUN_COLUMNS)
        for start in range(0, total, chunk):
            writer.writerows(
                [safe_csv(v) for v in table.row(i)] for i in range(start, min(start + chunk, total))
            )
            if progress is not None:
                progress(min(start + chunk, total), total)
    return path


def write_flags_book(table: RunTable, tally: Tally, path: Path, *, with_sheet: bool) -> Path:
    """``flags.xlsx``: flags ranked by score, every indicator (small runs), the rate per department with
    the name of its workbook; a sheet that would pass Excel's row limit goes on in another."""
    positions = {column: RUN_COLUMNS.index(column) for column in FLAG_COLUMNS if column in RUN_COLUMNS}
    with atomic_path(path) as temporary:
        book = StreamBook(temporary)
        rows = ([row[positions[c]] if c in positions else "" for c in FLAG_COLUMNS]
                for row in map(table.row, table.flagged))  # fmt: skip
        _sheets(book, "flags", FLAG_COLUMNS, rows, len(table.flagged))
        if with_sheet:
            _sheets(book, "indicators", RUN_COLUMNS, map(table.row, range(len(table))), len(table))
        rates = tally.rates()
        columns = ["department", "indicators", "flagged", "rate", "workbook"]
        _sheets(book, "departments", columns, ([r["department"], r["indicators"], r["flagged"], r["rate"],
                f"departments/{book_name(r['department'])}"] for r in rates), len(rates))  # fmt: skip
        book.close()
    return path


def _sheets(
    book: StreamBook, title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], n: int
) -> None:
    """Rows into sheet ``title``, going on in ``title2``, ``title3`` … past Excel's row limit."""
    sheet = book.sheet(title, columns, n_rows=min(n, _EXCEL_ROWS))
    written, part = 0, 1
    for row in rows:
        if written == _EXCEL_ROWS:
            part += 1
            sheet = book.sheet(
                f"{title}{part}", columns, n_rows=min(n - (part - 1) * _EXCEL_ROWS, _EXCEL_ROWS)
            )
            written = 0
        book.append(sheet, row)
        written += 1


def department_rows(table: RunTable) -> dict[str, list[int]]:
    """Per department, its row numbers in workbook order: flags by score, then the review tier by score,
    then the rest in document order."""
    by_department: dict[str, list[int]] = {}
    for i, department in enumerate(table.columns["department"]):
        by_department.setdefault(department or NO_DEPARTMENT, []).append(i)
    tier, score = RUN_COLUMNS.index("tier"), RUN_COLUMNS.index("flag_score")
    rank = {"flagged": 0, "review": 1}

    def order(i: int) -> tuple[int, float]:
        tail = table.tails[table.pair[i]]
        level = rank.get(tail[tier - len(INDICATOR_COLUMNS)], 2)
        return level, -(tail[score - len(INDICATOR_COLUMNS)] or 0) if level < 2 else 0.0

    return {department: sorted(ids, key=order) for department, ids in by_department.items()}


def _book_rows(table: RunTable, ids: Sequence[int]) -> list[list[Any]]:
    at = [RUN_COLUMNS.index(column) for column in BOOK_COLUMNS]
    return [[row[k] for k in at] for row in map(table.row, ids)]


def write_department_book(path: Path, rows: Sequence[Sequence[Any]]) -> Path:
    """One department's workbook (sheet ``indicators``; ``indicators2`` … past Excel's row limit)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = StreamBook(path)
    _sheets(book, "indicators", BOOK_COLUMNS, rows, len(rows))
    book.close()
    return path


def _write_books(folder: str, books: list[tuple[str, list[list[Any]]]]) -> int:
    for name, rows in books:
        write_department_book(Path(folder) / name, rows)
    return len(books)


def write_department_books(
    table: RunTable, folder: Path, *, workers: int = 1, client: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:  # fmt: skip
    """``departments/NAME.xlsx`` for every department, in worker processes (or on a Dask cluster) when
    there are many; the folder replaces the old one only when every workbook is written."""
    books = [(book_name(d), ids) for d, ids in department_rows(table).items()]
    groups: list[list[tuple[str, list[int]]]] = [[]]
    size = 0
    for book in books:
        if size >= _BOOKS_PER_TASK:
            groups.append([])
            size = 0
        groups[-1].append(book)
        size += len(book[1])
    # Each task's rows are built only when it is handed out: never every department's rows at once.
    tasks = ([(name, _book_rows(table, ids)) for name, ids in group] for group in groups)
    done = 0
    with atomic_dir(folder) as temporary:
        if client is not None:
            from distributed import as_completed

            futures = [client.submit(_write_books, str(temporary), task, pure=False) for task in tasks]
            results: Iterable[int] = (future.result() for future in as_completed(futures))
        elif workers > 1 and len(groups) > 1:
            from joblib import Parallel, delayed

            results = Parallel(n_jobs=min(workers, len(groups)), return_as="generator_unordered")(
                delayed(_write_books)(str(temporary), task) for task in tasks
            )
        else:
            results = (_write_books(str(temporary), task) for task in tasks)
        for n in results:
            done += n
            if progress is not None:
                progress(done, len(books))
    return folder


def write_parquet_table(table: RunTable, folder: Path) -> Path:
    """``indicators.parquet/``: every column of every row, partitioned ``province=…/department=…``."""
    return write_parquet(table.arrow(), folder, partition_by=("province", "department"))


def write_clusters_book(clusters: Mapping[str, Sequence[Cluster]], path: Path) -> Path:
    """``clusters.xlsx``: one sheet per level (goals, indicators, sets), one row per cluster member; a
    level past Excel's row limit goes on in another sheet."""
    with atomic_path(path) as temporary:
        book = StreamBook(temporary)
        for level, found in clusters.items():
            n = sum(len(c.members) for c in found)
            rows = ([row[column] for column in CLUSTER_COLUMNS] for row in cluster_rows(found))
            _sheets(book, level, CLUSTER_COLUMNS, rows, n)
        book.close()
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


def category_chart_svg(departments: Sequence[dict[str, Any]], *, limit: int = 20) -> str:
    """Predicted 二级 categories per department (largest departments) as an inline SVG whose labels stay
    text, so the browser's own CJK fonts draw them: no font cache, no missing glyphs."""
    from nlp.charts import stacked_bar_svg

    shown = sorted(departments, key=lambda r: (-r["indicators"], r["department"]))[:limit]
    return stacked_bar_svg(
        [(r["department"], [r["codes"].get(code, 0) for code in LEAVES]) for r in shown],
        series=[LEAF_NAMES[code] for code in LEAVES],
        title="各部门指标的标准二级类别分布（模型判断）",
        axis="指标数",
    )


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
<figure class="chart">{{ category_chart }}</figure>
<table><tr><th>部门</th><th>指标数</th>{% for code, name in leaves %}<th>{{ name }}</th>{% endfor %}</tr>
{% for r in by_size[:shown] %}<tr><td>{{ r.department }}</td><td class="n">{{ r.indicators }}</td>
{% for code, name in leaves %}<td class="n">{{ r.codes.get(code, 0) }}</td>{% endfor %}</tr>{% endfor %}</table>
<h2>各部门疑似错放比例</h2>
<figure class="chart">{{ rate_chart }}</figure>
<table><tr><th>部门</th><th>指标数</th><th>疑似错放</th><th>比例</th><th>工作簿</th></tr>
{% for r in d.departments[:shown] %}<tr class="department-row"><td>{{ r.department }}</td><td class="n">{{ r.indicators }}</td>
<td class="n">{{ r.flagged }}</td><td class="n">{{ "%.1f"|format(r.rate * 100) }}%</td>
<td><a href="departments/{{ book_name(r.department)|urlencode }}">{{ book_name(r.department) }}</a></td></tr>{% endfor %}</table>
{% if d.departments|length > shown %}<p class="muted">只列出比例最高的 {{ shown }} 个部门（共 {{ d.departments|length }} 个）；全部见 <code>{{ d.outputs.flags }}</code> 的 departments 表和 <code>departments/</code> 文件夹。</p>{% endif %}
<p class="muted">全部指标（含预测与审核列）：<code>{{ d.outputs.parquet }}</code>（Parquet，按 province/department 分区）{% if d.outputs.indicators %}、<code>{{ d.outputs.indicators }}</code>{% endif %}。</p>
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
        category_chart=Markup(category_chart_svg(data.departments)),
        rate_chart=Markup(rates_svg(data.departments)),
        level_names=LEVEL_NAMES,
        book_name=book_name,
        shown=REPORT_DEPARTMENTS,
        reason_names={code: text.split("：")[0] for code, text in REASONS.items()},
    )


def write_report(data: ReportData, path: Path) -> Path:
    with atomic_path(path) as temporary:
        temporary.write_text(render_report(data), encoding="utf-8")
    return path
