"""Reviewer-facing audit reports: HTML (with an inline SVG chart), XLSX (flags + all indicators) or CSV.

Flags are ranked by score and grouped by department and project; each department gets its
misplacement rate.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from nlp.annotate import AUDIT_COLUMNS, PREDICTION_COLUMNS, annotation
from nlp.audit import REASONS, Verdict
from nlp.cluster import _NAME_SEPARATOR, CLUSTER_COLUMNS, LEVEL_NAMES, Cluster, Member
from nlp.diffs import _glue, diff_segments
from nlp.errors import InputError
from nlp.model import Prediction
from nlp.records import INDICATOR_COLUMNS, Indicator, indicator_row
from nlp.tabular import write_rows
from nlp.taxonomy import label_name

__all__ = [
    "AuditRow", "audit_rows", "department_rates", "write_audit", "chart_png", "setup_fonts", "cluster_rows",
    "write_clusters", "rates_svg",
]  # fmt: skip

FLAG_COLUMNS = (
    "flag_score",
    "department",
    "project",
    "name",
    "annual_value",
    "declared_l1",
    "declared_l2",
    "declared_code",
    "suggested_code",
    "suggested_name",
    "flag_reasons",
    "reason_text",
    "explanation",
    "doc",
    "line",
)


@dataclass(frozen=True)
class AuditRow:
    indicator: Indicator
    prediction: Prediction
    verdict: Verdict

    def as_dict(self) -> dict[str, Any]:
        return {
            **indicator_row(self.indicator),
            **annotation(self.prediction, self.verdict),
            "suggested_name": label_name(self.verdict.suggested_code),
            "reason_text": self.verdict.reason_text,
        }


def audit_rows(
    indicators: Sequence[Indicator], predictions: Sequence[Prediction], verdicts: Sequence[Verdict]
) -> list[AuditRow]:
    return [AuditRow(i, p, v) for i, p, v in zip(indicators, predictions, verdicts, strict=True)]


def department_rates(rows: Sequence[AuditRow]) -> list[dict[str, Any]]:
    """Per department: indicators, flags and the misplacement rate, highest rate first."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        department = row.indicator.department or "（未注明部门）"
        counts[department][0] += 1
        counts[department][1] += int(row.verdict.flagged)
    table = [
        {"department": d, "indicators": n, "flagged": f, "rate": round(f / n, 4) if n else 0.0}
        for d, (n, f) in counts.items()
    ]
    return sorted(table, key=lambda r: (-r["rate"], r["department"]))


def setup_fonts() -> None:
    """Use a CJK font in charts when one is installed (Debian's fonts-noto-cjk), so labels are legible."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager, rcParams

    available = {f.name for f in font_manager.fontManager.ttflist}
    for family in ("Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Micro Hei", "Source Han Sans SC"):
        if family in available:
            rcParams["font.sans-serif"] = [family, "DejaVu Sans"]
            break
    rcParams["axes.unicode_minus"] = False


def chart_png(rates: Sequence[dict[str, Any]]) -> bytes:
    """A horizontal bar chart of misplacement rates per department, as PNG bytes."""
    setup_fonts()
    import matplotlib.pyplot as plt

    shown = list(rates)[:20]
    fig, ax = plt.subplots(figsize=(8, 0.45 * max(len(shown), 2) + 1.2))
    ax.barh(
        [r["department"][:24] for r in shown][::-1], [r["rate"] * 100 for r in shown][::-1], color="#c0504d"
    )
    ax.set_xlabel("疑似错放比例 (%)")
    ax.set_title("各部门疑似错放指标比例")
    return png_bytes(fig)


def rates_svg(rates: Sequence[dict[str, Any]]) -> str:
    """The misplacement rate per department as an inline SVG chart (text stays text: no font needed)."""
    from nlp.charts import bar_chart_svg

    return bar_chart_svg(
        [(r["department"], r["rate"]) for r in rates], title="各部门疑似错放指标比例", axis="疑似错放比例"
    )


def png_bytes(fig: Any) -> bytes:
    """A matplotlib figure as PNG bytes (closed afterwards), ready to embed as base64."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


_HTML = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>绩效指标错放审核报告</title>
<style>
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0 20px;width:100%}
th,td{border:1px solid #ccc;padding:4px 8px;font-size:13px;vertical-align:top}
th{background:#f3f3f3} .score{font-weight:bold;color:#b00} h2{margin-top:28px} .muted{color:#666}
</style></head><body>
<h1>绩效指标错放审核报告</h1>
<p>共审核指标 <b id="total-indicators">{{ total }}</b> 个，疑似错放 <b id="flag-count">{{ flags|length }}</b> 个
（阈值 {{ threshold }}）。<span class="muted">每条均附理由和建议类别，请逐条复核。</span></p>
<section class="next" id="next-steps"><h2>下一步</h2><ol>
<li>把文件载入审核库：<code>zhibiao load 文件或文件夹</code></li>
<li>创建审核员账号：<code>zhibiao user add 用户名</code></li>
<li>打开审核台：<code>zhibiao serve</code>，然后在浏览器中访问 <code>http://127.0.0.1:8000/</code></li>
<li>或导出审核表，在 Excel 中填写“审核结论”后导回：<code>zhibiao export --reviewer 审核表.xlsx</code>、
<code>zhibiao import-decisions 审核表.xlsx --reviewer 用户名</code></li>
</ol>
{% if top %}<p>分数最高的 {{ top|length }} 条：</p><ol class="top-flags">{% for r in top %}
<li><a href="#flag-{{ r.anchor }}">{{ r.name }}</a>（{{ r.department or "未注明部门" }}，建议{{ r.suggested_name }}）</li>
{% endfor %}</ol>{% endif %}</section>
<h2>各部门错放比例</h2>
<figure class="chart">{{ chart }}</figure>
<table><tr><th>部门</th><th>指标数</th><th>疑似错放</th><th>比例</th></tr>
{% for r in rates %}<tr><td>{{ r.department }}</td><td>{{ r.indicators }}</td><td>{{ r.flagged }}</td>
<td>{{ "%.1f"|format(r.rate * 100) }}%</td></tr>{% endfor %}</table>
<h2>疑似错放指标（按部门、项目分组，按分数排序）</h2>
{% for (department, project), items in groups %}
<h3>{{ department }} · {{ project }}</h3>
<table><tr><th>分数</th><th>指标</th><th>指标值</th><th>原填类别</th><th>建议类别</th><th>理由</th><th>说明</th></tr>
{% for r in items %}<tr class="flag-row" id="flag-{{ r.anchor }}"><td class="score">{{ "%.2f"|format(r.flag_score) }}</td><td>{{ r.name }}</td>
<td>{{ r.annual_value }}</td><td>{{ r.declared_l1 }} / {{ r.declared_l2 }}</td><td>{{ r.suggested_name }}</td>
<td>{{ r.reason_text }}</td><td>{{ r.explanation }}</td></tr>{% endfor %}</table>
{% endfor %}
<h2>理由说明</h2><ul>{% for code, text in reasons %}<li><code>{{ code }}</code>：{{ text }}</li>{% endfor %}</ul>
</body></html>
"""


def write_audit(rows: Sequence[AuditRow], path: Path, *, threshold: float) -> int:
    """Write the audit report; returns the number of flags written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = sorted((r.as_dict() for r in rows if r.verdict.flagged), key=lambda d: -d["flag_score"])
    everything = [r.as_dict() for r in rows]
    suffix = path.suffix.lower()
    if suffix == ".csv":
        write_rows(flags, FLAG_COLUMNS, path)
    elif suffix == ".xlsx":
        write_rows(
            flags,
            FLAG_COLUMNS,
            path,
            sheet="flags",
            more=[
                ("indicators", [*INDICATOR_COLUMNS, *PREDICTION_COLUMNS, *AUDIT_COLUMNS], everything),
                ("departments", ["department", "indicators", "flagged", "rate"], department_rates(rows)),
            ],
        )
    elif suffix in (".html", ".htm"):
        path.write_text(render_html(rows, flags, threshold=threshold), encoding="utf-8")
    else:
        raise InputError("E006", path=path, suffix=suffix)
    return len(flags)


def render_html(rows: Sequence[AuditRow], flags: Sequence[dict[str, Any]], *, threshold: float) -> str:
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    flags = [{**flag, "anchor": n} for n, flag in enumerate(flags, start=1)]
    for flag in flags:
        grouped[(flag["department"] or "（未注明部门）", flag["project"])].append(flag)
    groups = sorted(grouped.items(), key=lambda kv: -max(f["flag_score"] for f in kv[1]))
    rates = department_rates(rows)
    template = Environment(autoescape=True).from_string(_HTML)
    return template.render(
        total=len(rows),
        flags=flags,
        threshold=threshold,
        rates=rates,
        groups=groups,
        chart=Markup(rates_svg(rates)),
        top=flags[:10],
        reasons=sorted(REASONS.items()),
    )


# ------------------------------------------------------------------------------------------ clusters


def cluster_rows(clusters: Iterable[Cluster]) -> Iterator[dict[str, Any]]:
    """One row per member in ``CLUSTER_COLUMNS`` order (items in no cluster are not listed)."""
    for cluster in clusters:
        for member in cluster.members:
            yield {
                "cluster_id": cluster.id,
                "level": cluster.level,
                "size": cluster.size,
                "departments": len(cluster.departments),
                "doc": member.doc,
                "department": member.department,
                "project": member.project,
                "line": member.line,
                "text": member.text,
                "representative": cluster.representative,
                "similarity": member.similarity,
                "diff": member.diff,
                "mean_similarity": cluster.mean_similarity,
            }


def write_clusters(clusters: Sequence[Cluster], path: str | Path) -> Path:
    """Write clusters to ``.csv`` (UTF-8 with BOM, opens in Excel), ``.xlsx`` or a self-contained ``.html``.

    >>> import tempfile, pathlib
    >>> out = write_clusters([], pathlib.Path(tempfile.mkdtemp()) / "none.csv")
    >>> out.read_text(encoding="utf-8-sig").split(",")[:2]
    ['cluster_id', 'level']
    """
    path = Path(path)
    suffix = path.suffix.lower()
    writers = {".csv": _write_csv, ".xlsx": _write_xlsx, ".html": _write_html, ".htm": _write_html}
    if suffix not in writers:
        raise InputError("E042", path=path, suffix=suffix or "(none)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        writers[suffix](clusters, path)
    except OSError as exc:
        raise InputError("E043", path=path, detail=exc.strerror or exc) from exc
    return path


def _write_csv(clusters: Sequence[Cluster], path: Path) -> None:
    write_rows(list(cluster_rows(clusters)), CLUSTER_COLUMNS, path)


def _write_xlsx(clusters: Sequence[Cluster], path: Path) -> None:
    write_rows(list(cluster_rows(clusters)), CLUSTER_COLUMNS, path, sheet="clusters")


def _write_html(clusters: Sequence[Cluster], path: Path) -> None:
    from jinja2 import Environment, PackageLoader, select_autoescape

    # Autoescape on: every text in the page comes from the documents.
    env = Environment(loader=PackageLoader("nlp", "templates"), autoescape=select_autoescape(default=True))
    views = [
        {
            "cluster": cluster,
            "rows": [(member, *_side_by_side(cluster, member)) for member in cluster.members],
        }
        for cluster in clusters
    ]
    html = env.get_template("cluster.html.j2").render(
        views=views,
        level_name="、".join(LEVEL_NAMES[level] for level in sorted({c.level for c in clusters})) or "—",
        total=sum(c.size for c in clusters),
    )
    path.write_text(html, encoding="utf-8")


def _side_by_side(cluster: Cluster, member: Member) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The representative and the member as (kind, text) pieces, kind one of plain / del / ins."""
    if cluster.level == "sets":
        old: Sequence[str] = cluster.representative.split(_NAME_SEPARATOR)
        new: Sequence[str] = member.text.split(_NAME_SEPARATOR)
    else:
        old, new = cluster.representative, member.text
    glue = _glue(old, new)
    left: list[tuple[str, str]] = []
    right: list[tuple[str, str]] = []
    for tag, before, after in diff_segments(old, new):
        for pieces, text, kind in ((left, before, "del"), (right, after, "ins")):
            if not text:
                continue
            if pieces and glue:
                pieces.append(("plain", glue))
            pieces.append(("plain" if tag == "equal" else kind, text))
    return left, right
