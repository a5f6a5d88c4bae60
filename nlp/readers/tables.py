"""Flat tables of indicators (CSV, XLSX, JSONL): one row per indicator, columns named in Chinese or English.

``zhibiao classify`` takes documents or a plain table whose columns include ``name`` (or 三级指标),
optionally ``value``/``annual_value``, ``description``, ``project``, ``declared_l1``, ``declared_l2``; extra
columns pass through unchanged and rows keep their order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from nlp.errors import InputError
from nlp.readers.grid import compose_value
from nlp.records import Indicator
from nlp.taxonomy import SCHEME_CLASSIC, declared_code, detect_scheme

__all__ = ["read_rows", "is_indicator_table", "rows_to_indicators"]

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
    """Columns and rows of a .csv (UTF-8, UTF-16 with BOM, GB18030), .xlsx or .jsonl table, every cell as
    text as the sheet shows it (:func:`nlp.readers.sheets.cell_text`)."""
    from nlp.readers.sheets import csv_rows, workbook_tables

    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        columns = list(dict.fromkeys(k for row in rows for k in row))
        return columns, [{k: "" if v is None else str(v) for k, v in row.items()} for row in rows]
    if suffix == ".csv":
        grid = csv_rows(path.read_bytes(), path=path)
        if grid is None:
            raise InputError("E003", path=path)
    elif suffix in (".xlsx", ".xlsm", ".xls"):
        tables = workbook_tables(path)
        grid = [list(row) for row in tables[0].rows] if tables else []
    else:
        raise InputError("E006", path=path, suffix=suffix)
    if not grid:
        return [], []
    columns = [c.strip() for c in grid[0]]
    return columns, [dict(zip(columns, row, strict=False)) for row in grid[1:] if any(c.strip() for c in row)]


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
