"""The reviewer's Excel workbook: the flags to check, out and back in.

Out (:func:`reviewer_workbook`, ``zhibiao export --reviewer FILE.xlsx``, ``GET /api/export/reviewer``):
one row per flag with Chinese headers (the field names in a second, grey header row), wrapped text,
probabilities as percentages, the goal, the description, both target values, and empty 审核结论 and
备注 columns (审核结论 offers a list). A second sheet explains how to fill it in.

In (:func:`import_decisions`, ``zhibiao import-decisions FILE.xlsx``): every filled 审核结论 becomes an
ordinary append-only decision by the importing reviewer; a row that cannot be read is reported by
its row number, and nothing is dropped without a word.

>>> content = reviewer_workbook(db)  # doctest: +SKIP
>>> import_decisions(db, "filled.xlsx", reviewer_id=1).decided  # doctest: +SKIP
5
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from nlp.errors import ZhibiaoError
from nlp.review import QueueFilter, append_decision, check_decision, narrow
from nlp.review_rows import CHOICES, items_of, rows_query
from nlp.schema import decisions, documents, effective_decisions, flags, indicators
from nlp.store import Store
from nlp.taxonomy import LEAF_NAMES, PROCESS

__all__ = [
    "COLUMNS", "CONCLUSIONS", "reviewer_rows", "reviewer_workbook", "ImportReport", "import_decisions",
    "corrected_rows", "write_corrected",
]  # fmt: skip

#: (field, Chinese header, width, kind) of every column, in order. kind: text, wide, percent, input.
COLUMNS: tuple[tuple[str, str, int, str], ...] = (
    ("indicator_id", "编号", 8, "text"),
    ("department", "部门", 14, "text"),
    ("project", "项目名称", 22, "wide"),
    ("goal", "项目绩效目标", 36, "wide"),
    ("name", "三级指标（指标名称）", 24, "wide"),
    ("description", "指标解释", 28, "wide"),
    ("cycle_value", "实施期目标值", 12, "text"),
    ("annual_value", "年度目标值", 12, "text"),
    ("declared_l1", "申报一级指标", 12, "text"),
    ("declared_l2", "申报二级指标", 14, "text"),
    ("suggested_name", "建议类别", 16, "text"),
    ("suggested_code", "建议类别编号", 8, "text"),
    ("probability", "建议概率", 9, "percent"),
    ("tier", "标记层级", 9, "text"),
    ("reasons", "标记原因", 18, "wide"),
    ("flag_score", "标记分值", 9, "percent"),
    ("explanation", "说明", 40, "wide"),
    ("decision", "当前审核决定", 14, "text"),
    ("conclusion", "审核结论", 16, "input"),
    ("note", "备注", 24, "input"),
)
_TIERS = {"flagged": "标记", "review": "值得一看"}

#: What 审核结论 may say, and the decision each makes; a category's name or code means "改为" it.
CONCLUSIONS: dict[str, tuple[str, str]] = {
    "接受建议": ("accept", ""),
    "保留申报类别": ("keep", ""),
    "过程指标": ("process", ""),
    "跳过": ("skip", ""),
    **{LEAF_NAMES[code]: ("choose", code) for code in CHOICES if code != PROCESS},
    **{code: ("choose", code) for code in CHOICES if code != PROCESS},
}
_HELP = (
    ("怎样填写", "在“审核结论”一列填写下面之一；不填的行不导入。"),
    ("接受建议", "采用“建议类别”。"),
    ("保留申报类别", "维持原申报的一级/二级指标。"),
    ("过程指标", "该指标衡量预算执行或资金到位，不是绩效指标。"),
    ("跳过", "暂不决定，留在队列中。"),
    ("类别名称或编号", "改为该类别，例如“质量指标”或“12”。"),
    ("导入", "zhibiao import-decisions 文件.xlsx --reviewer 用户名 ；有问题的行按行号列出，其余照常导入。"),
    ("第二行", "灰色的第二行是字段名，导入时据此识别各列，请勿修改或删除。"),
)
_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
EXCEL_CELL = 32_767


def reviewer_rows(
    db: Store, *, filters: QueueFilter | None = None, reasons: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """One row per flag (as ``filters`` narrow them; by default every flagged one), by score."""
    f = filters or QueueFilter()
    query = narrow(rows_query().where(flags.c.id.is_not(None), indicators.c.active.is_(True)), f)
    with db.read() as conn:
        rows = conn.execute(query.order_by(flags.c.score.desc(), indicators.c.id)).all()
        items = items_of(conn, rows, reasons or {})
    out = []
    for item in items:
        s = item["suggestion"] or {}
        flag = item["flag"] or {}
        out.append(
            {
                "indicator_id": item["id"],
                "department": item["department"],
                "project": item["project"],
                "goal": item["goal"],
                "name": item["name"],
                "description": item["description"],
                "cycle_value": item["cycle_value"],
                "annual_value": item["annual_value"],
                "declared_l1": item["declared"]["l1"],
                "declared_l2": item["declared"]["l2"],
                "suggested_name": s.get("name", ""),
                "suggested_code": s.get("code", ""),
                "probability": s.get("probability"),
                "tier": _TIERS.get(flag.get("tier", ""), ""),
                "reasons": "；".join(r["label"] for r in flag.get("reasons", [])),
                "flag_score": flag.get("score"),
                "explanation": s.get("explanation", ""),
                "decision": (item["decision"] or {}).get("code_name", "") if item["decision"] else "",
                "conclusion": "",
                "note": "",
            }
        )
    return out


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    return _ILLEGAL.sub("", str(value))[:EXCEL_CELL]


def reviewer_workbook(
    db: Store, *, filters: QueueFilter | None = None, reasons: dict[str, str] | None = None
) -> bytes:
    """The reviewer workbook as .xlsx bytes (see the module docstring)."""
    import xlsxwriter

    rows = reviewer_rows(db, filters=filters, reasons=reasons)
    buffer = io.BytesIO()
    # Text is always text: a document's "=HYPERLINK(…)" must not become a live formula.
    book = xlsxwriter.Workbook(buffer, {"strings_to_formulas": False, "strings_to_urls": False,
                                        "strings_to_numbers": False, "in_memory": True})  # fmt: skip
    head = book.add_format(
        {"bold": True, "bg_color": "#DCE6F1", "border": 1, "text_wrap": True, "valign": "top"}
    )
    names = book.add_format({"font_color": "#808080", "font_size": 8})
    styles = {
        "text": book.add_format({"valign": "top"}),
        "wide": book.add_format({"text_wrap": True, "valign": "top"}),
        "percent": book.add_format({"num_format": "0%", "valign": "top"}),
        "input": book.add_format({"bg_color": "#FFF2CC", "border": 1, "text_wrap": True, "valign": "top"}),
    }
    sheet = book.add_worksheet("审核表")
    for i, (name, header, width, kind) in enumerate(COLUMNS):
        sheet.set_column(i, i, width, styles[kind])
        sheet.write_string(0, i, header, head)
        sheet.write_string(1, i, name, names)
    sheet.freeze_panes(2, 5)
    sheet.autofilter(1, 0, max(len(rows), 1) + 1, len(COLUMNS) - 1)
    for r, row in enumerate(rows, start=2):
        for i, (name, _header, _width, kind) in enumerate(COLUMNS):
            sheet.write(r, i, _cell(row[name]), styles[kind])
    conclusion = [c[0] for c in COLUMNS].index("conclusion")
    sheet.data_validation(
        2, conclusion, max(len(rows), 1) + 1, conclusion,
        {"validate": "list", "source": [k for k in CONCLUSIONS if not k.isdigit()], "error_type": "warning",
         "input_title": "审核结论", "input_message": "从列表中选择，或填写类别名称/编号"},
    )  # fmt: skip
    guide = book.add_worksheet("填写说明")
    guide.set_column(0, 0, 18)
    guide.set_column(1, 1, 80, styles["wide"])
    for r, (term, text) in enumerate(_HELP):
        guide.write_string(r, 0, term, head)
        guide.write_string(r, 1, text)
    book.close()
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------- import


@dataclass(frozen=True)
class ImportReport:
    """What an import did: decisions recorded, rows left empty or unchanged, and every row refused."""

    decided: int
    empty: int
    unchanged: int
    problems: tuple[tuple[int, str], ...] = field(default_factory=tuple)


class WorkbookError(ZhibiaoError):
    """The file is not a reviewer workbook."""


def _read(path: Path) -> tuple[dict[str, int], list[tuple[int, tuple[Any, ...]]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # a damaged or foreign file: say which, never a traceback
        raise WorkbookError("E094", path=path, detail=f"cannot be opened: {type(exc).__name__}",
                            detail_zh="无法打开") from None  # fmt: skip
    sheet = book["审核表"] if "审核表" in book.sheetnames else book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    fields = {str(v).strip(): i for i, v in enumerate(rows[1] if len(rows) > 1 else ()) if v}
    for needed in ("indicator_id", "conclusion"):
        if needed not in fields:
            raise WorkbookError("E094", path=path, detail=f"no field row with '{needed}' in row 2",
                                detail_zh=f"第 2 行没有字段 {needed}")  # fmt: skip
    return fields, [(n, row) for n, row in enumerate(rows[2:], start=3)]


def import_decisions(db: Store, path: str | Path, *, reviewer_id: int) -> ImportReport:
    """Record the filled 审核结论 of a reviewer workbook as ``reviewer_id``'s decisions (one
    transaction); unreadable rows are reported as (row number, message), the rest are recorded."""
    path = Path(path)
    fields, rows = _read(path)
    choices = "、".join(k for k in CONCLUSIONS if not k.isdigit())
    problems: list[tuple[int, str]] = []
    wanted: list[tuple[int, int, str, str, str]] = []
    empty = 0
    for number, row in rows:

        def value(name: str, row: tuple[Any, ...] = row) -> str:
            i = fields.get(name)
            return "" if i is None or i >= len(row) or row[i] is None else str(row[i]).strip()

        said = value("conclusion")
        if not said:
            empty += 1
            continue
        if said not in CONCLUSIONS:
            problems.append((number, str(WorkbookError("E093", path=path.name, row=number, choices=choices,
                                                       detail=f"'{said[:30]}' is not a conclusion"))))  # fmt: skip
            continue
        raw_id = value("indicator_id")
        if not raw_id.removesuffix(".0").isdigit():
            problems.append((number, str(WorkbookError("E093", path=path.name, row=number, choices=choices,
                                                       detail=f"编号 '{raw_id[:20]}' is not a number"))))  # fmt: skip
            continue
        action, code = CONCLUSIONS[said]
        note = value("note")[:1000]
        check_decision(action, code, note)
        wanted.append((number, int(raw_id.removesuffix(".0")), action, code, note))
    decided = unchanged = 0
    with db.write() as conn:
        known = set(
            conn.execute(select(indicators.c.id).where(indicators.c.id.in_([w[1] for w in wanted]))).scalars()
        )
        own = effective_decisions().where(decisions.c.reviewer_id == reviewer_id).subquery()
        latest = {
            r.indicator_id: r
            for r in conn.execute(select(own).where(own.c.indicator_id.in_(list(known))).order_by(own.c.id))
        }
        for number, indicator_id, action, code, note in wanted:
            if indicator_id not in known:
                problems.append((number, str(WorkbookError("E093", path=path.name, row=number, choices=choices,
                                                           detail=f"no indicator {indicator_id} in the store"))))  # fmt: skip
                continue
            before = latest.get(indicator_id)
            if (
                before is not None
                and before.action == action
                and (before.code_after == code or action != "choose")
            ):
                unchanged += 1  # importing the same file twice records nothing twice
                continue
            append_decision(conn, reviewer_id=reviewer_id, indicator_id=indicator_id, action=action, code=code,
                            comment=note or f"导入自 {path.name} 第 {number} 行")  # fmt: skip
            decided += 1
    return ImportReport(decided=decided, empty=empty, unchanged=unchanged, problems=tuple(sorted(problems)))


# ------------------------------------------------------------------------------- corrected tables

CORRECTED_COLUMNS: tuple[tuple[str, int], ...] = (
    ("项目名称", 24), ("一级指标", 12), ("二级指标", 16), ("三级指标", 26), ("指标解释", 26),
    ("实施期目标值", 12), ("年度目标值", 12), ("原申报一级", 12), ("原申报二级", 14), ("调整说明", 36),
)  # fmt: skip


def corrected_rows(db: Store) -> dict[str, list[list[Any]]]:
    """Per department, every active indicator in its document's order with its final placement: the
    latest decision in force (skips aside), else the declared one; process items marked for removal."""
    from nlp.review_rows import decisions_for
    from nlp.taxonomy import SCHEME_CLASSIC, l1_for_leaf, label_name

    with db.read() as conn:
        rows = conn.execute(
            rows_query()
            .where(indicators.c.active.is_(True))
            .order_by(documents.c.doc, indicators.c.line, indicators.c.id)
        ).all()
        history = decisions_for(conn, [r.id for r in rows])
    by_department: dict[str, list[list[Any]]] = {}
    for r in rows:
        decided = [h for h in history.get(r.id, []) if h.action != "skip"]
        final = decided[-1].code_after if decided else r.declared_code
        if not decided or final == r.declared_code:
            l1, l2 = r.declared_l1, r.declared_l2
            note = "" if not decided else f"审核确认（{decided[-1].reviewer}）"
        elif final == PROCESS:
            l1, l2 = "（建议剔除）", label_name(PROCESS)
            note = f"过程指标，不属于绩效指标，建议剔除（{decided[-1].reviewer}）"
        else:
            l1, l2 = l1_for_leaf(final, scheme=r.scheme or SCHEME_CLASSIC), label_name(final)
            note = f"由“{r.declared_l1}/{r.declared_l2}”调整（{decided[-1].reviewer}）"
        if len({h.code_after for h in decided}) > 1:
            note += "；审核意见不一，以最新决定为准"
        by_department.setdefault(r.department or "未注明部门", []).append(
            [r.project, l1, l2, r.name, r.description, r.cycle_value, r.annual_value, r.declared_l1,
             r.declared_l2, note]
        )  # fmt: skip
    return by_department


def write_corrected(db: Store, folder: str | Path) -> list[Path]:
    """One corrected table (.xlsx) per department under ``folder``, to send back; returns the files."""
    import xlsxwriter

    from nlp.tabular import atomic_path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for department, rows in sorted(corrected_rows(db).items()):
        safe = re.sub(r'[\\/:*?"<>|\s]+', "_", department)[:80] or "department"
        target = folder / f"{safe}-绩效目标表（审核后）.xlsx"
        with atomic_path(target) as temporary:
            book = xlsxwriter.Workbook(str(temporary), {"strings_to_formulas": False, "strings_to_urls": False,
                                                        "strings_to_numbers": False})  # fmt: skip
            head = book.add_format({"bold": True, "bg_color": "#DCE6F1", "border": 1})
            wrap = book.add_format({"text_wrap": True, "valign": "top"})
            changed = book.add_format({"text_wrap": True, "valign": "top", "bg_color": "#FFF2CC"})
            sheet = book.add_worksheet("绩效目标表")
            for i, (header, width) in enumerate(CORRECTED_COLUMNS):
                sheet.set_column(i, i, width, wrap)
                sheet.write_string(0, i, header, head)
            sheet.freeze_panes(1, 0)
            for n, row in enumerate(rows, start=1):
                style = changed if row[-1].startswith(("由", "过程")) else wrap
                sheet.write_row(n, 0, [_cell(v) for v in row], style)
            book.close()
        written.append(target)
    return written
