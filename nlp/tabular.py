"""Every table zhibiao writes (.csv, .xlsx, .jsonl), formula-safe.

A document's text can start like a spreadsheet formula ("=1+1", "+SUM(A1)", "@x", "-2+3"); opened in
Excel such a cell would run. Every writer here keeps it text: in .xlsx the cell is typed as a string,
in .csv it gets a leading apostrophe (what Excel itself shows for text typed that way). JSON Lines are
data for programs and stay exact.

>>> safe_csv("=1+1"), safe_csv("-5%"), safe_csv("≥95%")
("'=1+1", '-5%', '≥95%')
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from nlp.errors import InputError
from nlp.records import INDICATOR_COLUMNS, Indicator, indicator_row

__all__ = [
    "FORMULA_START",
    "EXCEL_ROWS",
    "safe_csv",
    "looks_like_formula",
    "csv_bytes",
    "xlsx_bytes",
    "write_rows",
    "write_indicators",
    "SheetBook",
]

#: First characters a spreadsheet reads as the start of a formula (OWASP's CSV-injection list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EXCEL_ROWS = 1_048_575  # rows per sheet after the header
EXCEL_CELL = 32_767  # characters per cell
_MEMO_LIMIT = 100_000  # cleaned texts remembered while writing a workbook
_WIDE = ("name", "explanation", "goal", "reason_text", "text", "representative", "project", "description")


def _numeric(text: str) -> bool:
    try:
        float(text.rstrip("%"))
    except ValueError:
        return False
    return True


def looks_like_formula(value: object) -> bool:
    """Whether a spreadsheet would run ``value`` as a formula ("-5" and "-5%" are plain numbers)."""
    return isinstance(value, str) and value[:1] in FORMULA_START and not _numeric(value)


def safe_csv(value: Any) -> Any:
    """A CSV cell that Excel shows as text: formula-like text gets a leading apostrophe."""
    return "'" + value if looks_like_formula(value) else value


def _csv_text(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> Iterable[list[Any]]:
    for row in rows:
        yield [safe_csv("" if row.get(c) is None else row.get(c, "")) for c in columns]


def csv_bytes(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> bytes:
    """A UTF-8 CSV with BOM (so Excel reads Chinese) of ``rows`` in ``columns`` order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(_csv_text(rows, columns))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


class SheetBook:
    """A write-only (constant-memory) openpyxl workbook whose sheets have a bold, frozen, filterable
    header and sensible widths, and whose text cells are always text.

    >>> book = SheetBook()
    >>> sheet = book.sheet("flags", ["name", "value"], n_rows=1)
    >>> book.append(sheet, ["=1+1", 3])
    """

    def __init__(self) -> None:
        from openpyxl import Workbook
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        self._book = Workbook(write_only=True)
        self._illegal = ILLEGAL_CHARACTERS_RE
        anchor = self._book.create_sheet("_")  # text cells need a sheet of the workbook; never saved
        self._book._sheets.remove(anchor)
        self._anchor = anchor
        # Texts repeat (departments, projects, goals): each distinct one is cleaned once.
        self._memo: dict[str, str] = {}

    def sheet(self, title: str, columns: Sequence[str], *, n_rows: int) -> Any:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        sheet = self._book.create_sheet(title)
        sheet.freeze_panes = "A2"
        for i, column in enumerate(columns, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = 40 if column in _WIDE else 14
        if columns:
            sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(n_rows, 0) + 1}"
        header = [WriteOnlyCell(sheet, value=column) for column in columns]
        for cell in header:
            cell.font = Font(bold=True)
        sheet.append(header)
        return sheet

    def clean(self, value: Any) -> Any:
        """A value safe for the sheet: XML-illegal characters dropped, formula-like text kept as text."""
        if not isinstance(value, str):
            return value
        text = self._memo.get(value)
        if text is None:
            text = self._illegal.sub("", value)[:EXCEL_CELL]
            if len(self._memo) < _MEMO_LIMIT:
                self._memo[value] = text
        if looks_like_formula(text):
            from openpyxl.cell import WriteOnlyCell

            cell = WriteOnlyCell(self._anchor, value=text)  # a new cell each time: written after append
            cell.data_type = "s"
            return cell
        return text

    def append(self, sheet: Any, values: Iterable[Any]) -> None:
        sheet.append([self.clean(value) for value in values])

    def save(self, path: Path | io.BytesIO) -> None:
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
        self._book.save(path)


def xlsx_bytes(sheets: Sequence[tuple[str, Sequence[str], Sequence[dict[str, Any]]]]) -> bytes:
    """An .xlsx of (title, columns, rows) sheets, as bytes (for downloads)."""
    buffer = io.BytesIO()
    _fill(sheets).save(buffer)
    return buffer.getvalue()


def _fill(sheets: Sequence[tuple[str, Sequence[str], Sequence[dict[str, Any]]]]) -> SheetBook:
    book = SheetBook()
    for title, columns, rows in sheets:
        sheet = book.sheet(title, columns, n_rows=min(len(rows), EXCEL_ROWS))
        for row in rows[:EXCEL_ROWS]:
            book.append(sheet, (row.get(c, "") for c in columns))
    return book


def write_rows(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    path: Path,
    *,
    sheet: str = "indicators",
    more: Sequence[tuple[str, Sequence[str], Sequence[dict[str, Any]]]] = (),
) -> None:
    """Write rows to .csv (UTF-8 with BOM, so Excel shows Chinese), .xlsx (filters, frozen header; extra
    sheets from ``more``) or .jsonl, formula-safe.

    >>> write_rows([], ["name"], Path("x.txt"))
    Traceback (most recent call last):
    nlp.errors.InputError: [E006] x.txt: unsupported file type '.txt'. Check the extension: documents are read from .txt, .csv, .xlsx, .pdf or .docx; indicator tables are written as .csv, .jsonl or .xlsx.
    """
    suffix = path.suffix.lower()
    writers: dict[str, Callable[[], object]] = {
        ".csv": lambda: path.write_bytes(csv_bytes(rows, columns)),
        ".jsonl": lambda: _write_jsonl(rows, columns, path),
        ".xlsx": lambda: _fill([(sheet, columns, rows), *more]).save(path),
    }
    if suffix not in writers:
        raise InputError("E006", path=path, suffix=path.suffix)
    path.parent.mkdir(parents=True, exist_ok=True)
    writers[suffix]()


def _write_jsonl(rows: Sequence[dict[str, Any]], columns: Sequence[str], path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps({c: row.get(c, "") for c in columns}, ensure_ascii=False) + "\n")


def write_indicators(indicators: Iterable[Indicator], path: str | Path) -> None:
    """Write records as .csv, .jsonl or .xlsx; columns are ``INDICATOR_COLUMNS``.

    >>> write_indicators([], "out.txt")
    Traceback (most recent call last):
    nlp.errors.InputError: [E006] out.txt: unsupported file type '.txt'. Check the extension: documents are read from .txt, .csv, .xlsx, .pdf or .docx; indicator tables are written as .csv, .jsonl or .xlsx.
    """
    write_rows([indicator_row(i) for i in indicators], INDICATOR_COLUMNS, Path(path))
