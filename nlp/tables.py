"""Tables in and out (CSV, XLSX, JSONL), and classifying a table of indicators row by row.

``zhibiao classify`` takes documents or a plain table whose columns include ``name`` (or 三级指标),
optionally ``value``/``annual_value``, ``description``, ``project``, ``declared_l1``, ``declared_l2``; extra
columns pass through unchanged and rows keep their order.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from nlp.errors import InputError
from nlp.parse_tables import compose_value
from nlp.records import Indicator
from nlp.taxonomy import SCHEME_CLASSIC, declared_code, detect_scheme

__all__ = [
    "PREDICTION_COLUMNS",
    "AUDIT_COLUMNS",
    "read_rows",
    "write_rows",
    "is_indicator_table",
    "rows_to_indicators",
    "annotate",
    "annotation",
]

PREDICTION_COLUMNS = ("pred_l1", "pred_l2", "pred_code", "confidence", "top3")
AUDIT_COLUMNS = ("flagged", "flag_reasons", "suggested_code", "flag_score", "explanation")

# Header aliases: the first matching column feeds each field.
_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "三级指标", "指标名称", "绩效指标", "indicator"),
    "value": (
        "value",
        "annual_value",
        "年度指标值",
        "当年度指标值",
        "指标值",
        "目标值",
        "cycle_value",
        "实施周期指标值",
    ),
    "description": ("description", "绩效指标描述", "指标描述", "指标解释"),
    "project": ("project", "项目名称", "项目"),
    "declared_l1": ("declared_l1", "l1", "一级指标"),
    "declared_l2": ("declared_l2", "l2", "二级指标"),
    "doc": ("doc", "文件", "document"),
    "comparator": ("指标性质", "指标方向", "指标方向性", "运算符号", "比较符", "符号"),
    "unit": ("度量单位", "计量单位", "unit"),
    "department": ("department", "部门", "部门名称", "单位"),
}


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Columns and rows of a .csv (UTF-8/GBK), .xlsx or .jsonl table, every cell as text."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise InputError("E003", path=path)
        reader = csv.DictReader(text.splitlines())
        columns = list(reader.fieldnames or [])
        return columns, [{k: (v or "") for k, v in row.items() if k is not None} for row in reader]
    if suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        columns = list(dict.fromkeys(k for row in rows for k in row))
        return columns, [{k: "" if v is None else str(v) for k, v in row.items()} for row in rows]
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        values = [["" if c is None else str(c) for c in row] for row in sheet.iter_rows(values_only=True)]
        if not values:
            return [], []
        columns = [c.strip() for c in values[0]]
        return columns, [dict(zip(columns, row, strict=False)) for row in values[1:] if any(row)]
    raise InputError("E006", path=path, suffix=suffix)


def write_rows(rows: Sequence[dict[str, Any]], columns: Sequence[str], path: Path) -> None:
    """Write rows to .csv (UTF-8 with BOM, so Excel shows Chinese), .xlsx (filters, frozen header) or .jsonl."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with open(path, "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    elif suffix == ".jsonl":
        with open(path, "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps({c: row.get(c, "") for c in columns}, ensure_ascii=False) + "\n")
    elif suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = "indicators"
        append_sheet(sheet, rows, columns)
        book.save(path)
    else:
        raise InputError("E006", path=path, suffix=suffix)


def append_sheet(sheet: Any, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """Fill an openpyxl sheet: header, rows, autofilter, frozen header, sensible widths."""
    from openpyxl.styles import Font

    sheet.append(list(columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([row.get(c, "") for c in columns])
    if columns:
        sheet.auto_filter.ref = sheet.dimensions
        sheet.freeze_panes = "A2"
        for i, column in enumerate(columns, start=1):
            letter = sheet.cell(row=1, column=i).column_letter
            sheet.column_dimensions[letter].width = 40 if column in ("name", "explanation", "goal") else 14


def _field(row: dict[str, str], field: str, columns: Iterable[str]) -> str:
    for alias in _ALIASES[field]:
        if alias in columns and row.get(alias):
            return str(row[alias]).strip()
    return ""


def is_indicator_table(columns: Sequence[str]) -> bool:
    """Whether a table is a plain list of indicators (has a name column) rather than a 绩效目标表 grid."""
    return any(alias in columns for alias in _ALIASES["name"])


def rows_to_indicators(
    path: Path, columns: Sequence[str], rows: Sequence[dict[str, str]]
) -> tuple[list[tuple[dict[str, str], Indicator]], list[InputError]]:
    """Indicator records for a plain table, each with its input row; a row with no name is skipped and
    reported (E007), never dropped silently."""
    found: list[tuple[dict[str, str], Indicator]] = []
    problems: list[InputError] = []
    for number, row in enumerate(rows, start=2):
        name = _field(row, "name", columns)
        if not name:
            problems.append(InputError("E007", path=path, line=number, column="name / 三级指标"))
            continue
        l1, l2 = _field(row, "declared_l1", columns), _field(row, "declared_l2", columns)
        indicator = Indicator(
            doc=_field(row, "doc", columns) or path.name,
            department=_field(row, "department", columns),
            project=_field(row, "project", columns),
            goal="",
            budget=None,
            scheme=detect_scheme([l1], [l2]) if l1 or l2 else SCHEME_CLASSIC,
            declared_l1=l1,
            declared_l2=l2,
            declared_code=declared_code(l1, l2),
            name=name,
            description=_field(row, "description", columns),
            annual_value=compose_value(
                _field(row, "value", columns),
                _field(row, "comparator", columns),
                _field(row, "unit", columns),
            ),
            line=number,
        )
        found.append((row, indicator))
    return found, problems


def annotate(
    indicators: Sequence[Indicator], bundle: Any, *, threshold: float | None = None
) -> list[dict[str, Any]]:
    """Prediction and audit columns for each indicator, in order."""
    from nlp.audit import audit
    from nlp.model import classify

    predictions = classify(bundle, indicators, explain=False)
    verdicts = audit(indicators, predictions, bundle=bundle, threshold=threshold)
    return [annotation(p, v) for p, v in zip(predictions, verdicts, strict=True)]


def annotation(prediction: Any, verdict: Any) -> dict[str, Any]:
    """The ``PREDICTION_COLUMNS`` and ``AUDIT_COLUMNS`` of one indicator."""
    return {
        "pred_l1": prediction.l1,
        "pred_l2": prediction.l2,
        "pred_code": prediction.code,
        "confidence": round(prediction.confidence, 4),
        "top3": prediction.top3,
        "flagged": verdict.flagged,
        "flag_reasons": ";".join(verdict.reasons),
        "suggested_code": verdict.suggested_code,
        "flag_score": verdict.score,
        "explanation": verdict.explanation,
    }
