"""Spreadsheets and delimited tables: .xlsx/.xls workbooks, .csv and .jsonl, with **the one** cell renderer.

Every cell reads as Excel shows it (:func:`cell_text`): a number formatted ``0%`` is "100%", ``0.00``
keeps two decimals, True is "是". A workbook whose sheets are 绩效目标表 grids is read through
:func:`nlp.readers.blocks.best_reading`; a flat header table through :mod:`nlp.readers.tables`.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import re
from pathlib import Path
from typing import Any

from nlp.errors import InputError
from nlp.limits import LIMITS_ENV, Limits, check_archive
from nlp.readers.blocks import Block, Span, Table, _detail, as_problem, best_reading
from nlp.readers.text import decode
from nlp.records import Document, Problem
from nlp.tabular import looks_like_formula

__all__ = ["WORKBOOK_SUFFIXES", "workbook_tables", "read_workbook", "cell_text", "csv_rows"]

WORKBOOK_SUFFIXES: tuple[str, ...] = (".xlsx", ".xlsm", ".xls")

# ----------------------------------------------------------------------------------------- workbooks


def workbook_tables(path: str | Path) -> list[Table]:
    """Every non-empty sheet of an .xlsx (openpyxl) or .xls (xlrd) workbook as a :class:`Table`.

    Cells read as Excel shows them: a number formatted ``0%`` is "100%", ``0.00`` keeps two decimals.

    Raises :class:`InputError` E052 when the file is not a readable workbook, E055 when reading .xls
    needs xlrd and it is missing.

    >>> [t.where for t in workbook_tables("plan.xlsx")]  # doctest: +SKIP
    ["sheet '社保'", "sheet '医保'"]
    """
    path = Path(path)
    if path.suffix.lower() == ".xls":
        return _xls_tables(path)
    import openpyxl

    check_archive(path, Limits.from_env())
    try:
        # Not read_only: merged ranges are only available on a fully loaded sheet.
        book = openpyxl.load_workbook(path, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException, lxml errors
        raise InputError("E052", path=path, kind="an Excel (.xlsx) workbook", detail=_detail(exc)) from exc
    tables = []
    for sheet in book.worksheets:
        rows = [
            [cell_text(cell.value, cell.number_format) for cell in row]
            for row in sheet.iter_rows(min_row=1, max_row=sheet.max_row, max_col=sheet.max_column)
        ]
        spans = [
            (m.min_row - 1, m.min_col - 1, m.max_row - 1, m.max_col - 1) for m in sheet.merged_cells.ranges
        ]
        table = _trimmed(rows, spans, where=f"sheet '{sheet.title}'")
        if table.rows:
            tables.append(table)
    return tables


def _xls_tables(path: Path) -> list[Table]:
    try:
        import xlrd
    except ImportError as exc:
        raise InputError("E055", path=path) from exc
    try:
        book = xlrd.open_workbook(str(path), formatting_info=True)
    except Exception as exc:
        raise InputError(
            "E052", path=path, kind="an Excel 97-2003 (.xls) workbook", detail=_detail(exc)
        ) from exc
    tables = []
    for sheet in book.sheets():
        rows = []
        for r in range(sheet.nrows):
            row = []
            for c in range(sheet.ncols):
                cell = sheet.cell(r, c)
                fmt = book.format_map.get(book.xf_list[cell.xf_index].format_key)
                value: Any = cell.value
                if cell.ctype == xlrd.XL_CELL_DATE:
                    value = xlrd.xldate.xldate_as_datetime(cell.value, book.datemode)
                elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                    value = None
                row.append(cell_text(value, fmt.format_str if fmt else "General"))
            rows.append(row)
        spans = [(r0, c0, r1 - 1, c1 - 1) for r0, r1, c0, c1 in sheet.merged_cells]
        table = _trimmed(rows, spans, where=f"sheet '{sheet.name}'")
        if table.rows:
            tables.append(table)
    return tables


def _trimmed(rows: list[list[str]], spans: list[Span], *, where: str) -> Table:
    """Drop the empty rows and columns at the end (a sheet's used range often runs past the table)."""
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    width = max((i + 1 for row in rows for i, cell in enumerate(row) if cell.strip()), default=0)
    kept = [s for s in spans if s[0] < len(rows) and s[1] < width]
    clipped = [(r0, c0, min(r1, len(rows) - 1), min(c1, width - 1)) for r0, c0, r1, c1 in kept]
    return Table(rows=tuple(tuple(row[:width]) for row in rows), spans=tuple(clipped), where=where)


_DECIMALS = re.compile(r"0\.(0+)")


def cell_text(value: Any, number_format: str | None) -> str:
    """A cell's value as the sheet displays it (percent and fixed-decimal formats applied).

    >>> cell_text(1, "0%"), cell_text(0.955, "0.0%"), cell_text(800, "0.00"), cell_text(3650.68, "General")
    ('100%', '95.5%', '800.00', '3650.68')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, _dt.datetime):
        return value.date().isoformat() if value.time() == _dt.time() else value.isoformat(sep=" ")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, int | float):
        fmt = number_format or "General"
        decimals = _DECIMALS.search(fmt)
        places = len(decimals.group(1)) if decimals else None
        if "%" in fmt:
            number = value * 100
            text = f"{number:.{places}f}" if places is not None else _plain_number(number)
            return text + "%"
        if places is not None:
            return f"{value:.{places}f}"
        return _plain_number(value)
    return str(value).strip()


def _plain_number(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.10g}"


def read_workbook(path: str | Path) -> Document:
    """Read every sheet of an .xlsx/.xls workbook whose indicator tables are not one flat header table.

    Header rows are found wherever they are, a sheet may hold several projects, and a merged range
    reads as its top-left cell (the grid reader carries 一级/二级 and project cells down). A sheet
    without an indicator table (a cover, a budget summary) is passed over; a workbook with none is E056.

    >>> doc = read_workbook("长安社保.xlsx")  # doctest: +SKIP
    >>> len(doc.projects), len(doc.indicators)  # doctest: +SKIP
    (3, 50)
    """
    path = Path(path)
    try:
        if path.suffix.lower() not in WORKBOOK_SUFFIXES:
            raise InputError("E006", path=path, suffix=path.suffix, detail="here. Use .xlsx, .xlsm or .xls")
        if not path.exists():
            raise InputError("E001", path=path)
        tables = workbook_tables(path)
    except InputError as exc:
        return Document(path=str(path), layout="error", problems=(as_problem(path, exc),))
    projects: list[Any] = []
    problems: list[Problem] = []
    layouts: list[str] = []
    for table in tables:
        reading = best_reading([Block(table=table)], path=path, styles=("rows", "tabs"))
        projects.extend(reading.projects)
        problems.extend(p for p in reading.problems if p.code != "E004")  # E004: no table on this sheet
        if reading.indicators:
            layouts.append(reading.layout)
    if not projects:
        sheets = ", ".join(t.where.removeprefix("sheet ") for t in tables) or "none with data"
        problems.append(as_problem(path, InputError("E056", path=path, sheets=sheets)))
    return Document(
        path=str(path),
        layout=layouts[0] if layouts else "error",
        projects=tuple(projects),
        problems=tuple(problems),
    )


def csv_rows(data: bytes, *, path: str | Path = "") -> list[list[str]] | None:
    """The cells of a .csv (comma or tab separated; UTF-8, UTF-16 with BOM, GB18030); ``None`` if undecodable."""
    text = decode(data)
    if text is None:
        return None
    limits = Limits.from_env()
    sample = text[:4096]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    previous = csv.field_size_limit(limits.max_line_chars)
    try:
        # Our writers protect formula-like text with an apostrophe (nlp.tabular); reading takes it off again.
        for row in reader:
            rows.append(
                [cell[1:] if cell[:1] == "'" and looks_like_formula(cell[1:]) else cell for cell in row]
            )
    except csv.Error as exc:
        if "field larger" not in str(exc):
            raise
        raise InputError(
            "E059", path=path, line=reader.line_num, what="a field", value=f"over {limits.max_line_chars:,} characters",
            limit=f"{limits.max_line_chars:,}", advice=f"Check the quoting of the file, or raise {LIMITS_ENV['max_line_chars']}.",
        ) from exc  # fmt: skip
    finally:
        csv.field_size_limit(previous)
    return rows
