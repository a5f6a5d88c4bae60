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
import math
import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
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
    "StreamBook",
    "atomic_path",
    "atomic_dir",
    "write_parquet",
]

#: First characters a spreadsheet reads as the start of a formula (OWASP's CSV-injection list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EXCEL_ROWS = 1_048_575  # rows per sheet after the header
EXCEL_CELL = 32_767  # characters per cell
_MEMO_LIMIT = 100_000  # cleaned texts remembered while writing a workbook
_ROWS_PER_WRITE = 1_000  # rows a StreamBook hands the zip stream at once
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
        self._pending: list[str] = []

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


# ------------------------------------------------------------------------------------ at scale


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary name beside ``path`` to write to; renamed to ``path`` only when the block completes.

    An interrupted or failed write leaves the old file (or none), never half a file.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(target) as temporary:
    ...     _ = temporary.write_text("done")
    >>> target.read_text(), temporary.exists()
    ('done', False)
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        if temporary.is_file():
            temporary.unlink()


@contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """A temporary folder beside ``path`` to fill; it replaces ``path`` only when the block completes.

    Two renames (the old folder aside, the new one in): at no moment does ``path`` hold a mix of old and
    new files or a half-written one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    old = path.with_name(f".{path.name}.{os.getpid()}.old")
    # What a run killed outright (SIGKILL, power) left behind; with no folder, an old copy comes back.
    for leftover in sorted(path.parent.glob(f".{path.name}.*.old")):
        if not path.exists():
            os.replace(leftover, path)
        else:
            shutil.rmtree(leftover, ignore_errors=True)
    for leftover in path.parent.glob(f".{path.name}.*.tmp"):
        shutil.rmtree(leftover, ignore_errors=True)
    temporary.mkdir()
    try:
        yield temporary
        if path.exists():
            os.replace(path, old)
        os.replace(temporary, path)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


class StreamBook:
    """A streaming .xlsx writer: rows go straight into the zip as they come (constant memory), about
    10x faster than openpyxl's write-only mode and XlsxWriter's constant_memory mode (both spend
    5-10 µs a cell in Python; see BENCHMARKS.md). Sheets have the conventions of :class:`SheetBook`:
    bold, frozen, filterable header, widths. Every string is an inline string — text, never a formula
    or a link — with the characters XML cannot hold dropped and cut to Excel's cell limit.

    Sheets are written one after another: starting a sheet finishes the one before.

    >>> import tempfile
    >>> from openpyxl import load_workbook
    >>> path = Path(tempfile.mkdtemp()) / "b.xlsx"
    >>> book = StreamBook(path)
    >>> sheet = book.sheet("flags", ["name", "value"], n_rows=1)
    >>> book.append(sheet, ["=1+1", 3])
    >>> book.close()
    >>> list(load_workbook(path)["flags"].values)
    [('name', 'value'), ('=1+1', 3)]
    """

    def __init__(self, path: Path) -> None:
        import zipfile

        self._zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        self._titles: list[str] = []
        self._handle: Any = None
        self._row = 0
        self._width = 0
        self._memo: dict[str, str] = {}
        self._pending: list[str] = []

    def sheet(self, title: str, columns: Sequence[str], *, n_rows: int = 0) -> str:
        """Start sheet ``title`` (cut to Excel's 31 characters) with its header; returns its name."""
        self._finish()
        name = _ILLEGAL.sub("", title)[:31] or f"Sheet{len(self._titles) + 1}"
        self._titles.append(name)
        self._handle = self._zip.open(f"xl/worksheets/sheet{len(self._titles)}.xml", "w", force_zip64=True)
        widths = "".join(
            f'<col min="{i}" max="{i}" width="{40 if c in _WIDE else 14}" customWidth="1"/>'
            for i, c in enumerate(columns, start=1)
        )
        self._write(
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.openxml'
            'formats.org/spreadsheetml/2006/main"><sheetViews><sheetView workbookViewId="0"><pane ySplit="1" '
            'topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
            + (f"<cols>{widths}</cols>" if widths else "")
            + "<sheetData>"
        )
        self._row, self._width = 0, len(columns)
        if columns:
            self._row = 1
            cells = "".join(f'<c s="1" t="inlineStr"><is><t>{self._text(c)}</t></is></c>' for c in columns)
            self._write(f'<row r="1">{cells}</row>')
        return name

    def append(self, sheet: str, values: Iterable[Any]) -> None:
        """One row of ``sheet``, which must be the sheet started last."""
        self._row += 1
        memo = self._memo
        cells = [memo.get(value) or self._cell(value) if isinstance(value, str) else self._cell(value)
                 for value in values]  # fmt: skip
        self._pending.append(f'<row r="{self._row}">{"".join(cells)}</row>')
        if len(self._pending) >= _ROWS_PER_WRITE:
            self._flush()

    def _cell(self, value: Any) -> str:
        if isinstance(value, str):
            return self._string(value)
        if value is None:
            return "<c/>"
        if isinstance(value, bool):
            return f'<c t="b"><v>{int(value)}</v></c>'
        if isinstance(value, int):
            return f"<c><v>{int(value)}</v></c>"
        if isinstance(value, float) and math.isfinite(value):
            return f"<c><v>{float(value)!r}</v></c>"
        return self._cell(str(value))

    def _string(self, value: str) -> str:
        """The whole cell of a text, made once per distinct text (boilerplate repeats)."""
        cell = self._memo.get(value)
        if cell is None:
            cell = f'<c t="inlineStr"><is><t xml:space="preserve">{self._text(value)}</t></is></c>'
            if len(self._memo) < _MEMO_LIMIT:
                self._memo[value] = cell
        return cell

    @staticmethod
    def _text(value: str) -> str:
        text = _ILLEGAL.sub("", value)[:EXCEL_CELL]
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def _flush(self) -> None:
        if self._pending:
            self._write("".join(self._pending))
            self._pending.clear()

    def _write(self, text: str) -> None:
        self._handle.write(text.encode("utf-8"))

    def _finish(self) -> None:
        if self._handle is None:
            return
        self._flush()
        self._write("</sheetData>")
        if self._width:
            from openpyxl.utils import get_column_letter

            self._write(f'<autoFilter ref="A1:{get_column_letter(self._width)}{max(self._row, 1)}"/>')
        self._write("</worksheet>")
        self._handle.close()
        self._handle = None

    def close(self) -> None:
        """Finish the last sheet and write the workbook's parts."""
        if not self._titles:
            self.sheet("Sheet1", [])
        self._finish()
        n = len(self._titles)
        main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
        rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
        package = "http://schemas.openxmlformats.org/package/2006"
        sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{sheet_type}"/>'
            for i in range(1, n + 1)
        )
        self._zip.writestr("[Content_Types].xml", (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="{package}/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.'
            f'openxmlformats-officedocument.spreadsheetml.styles+xml"/>{overrides}</Types>'
        ))  # fmt: skip
        self._zip.writestr("_rels/.rels", (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{package}/'
            f'relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ))  # fmt: skip
        sheets = "".join(
            f'<sheet name="{_attr(title)}" sheetId="{i}" r:id="rId{i}"/>'
            for i, title in enumerate(self._titles, 1)
        )
        self._zip.writestr("xl/workbook.xml", (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{main}" '
            f'xmlns:r="{rel}"><sheets>{sheets}</sheets></workbook>'
        ))  # fmt: skip
        links = "".join(
            f'<Relationship Id="rId{i}" Type="{rel}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, n + 1)
        )
        self._zip.writestr("xl/_rels/workbook.xml.rels", (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{package}/'
            f'relationships">{links}<Relationship Id="rId{n + 1}" Type="{rel}/styles" Target="styles.xml"/>'
            "</Relationships>"
        ))  # fmt: skip
        self._zip.writestr("xl/styles.xml", (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{main}">'
            '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/>'
            '<name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/>'
            '</fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border>'
            '<left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf '
            'numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="2"><xf '
            'numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="1" '
            'fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs><cellStyles count="1"><cellStyle '
            'name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
        ))  # fmt: skip
        self._zip.close()


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


# Characters XML 1.0 cannot hold (openpyxl's ILLEGAL_CHARACTERS_RE): dropped, as SheetBook does.
_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


def write_parquet(columns: dict[str, Any], folder: Path, *, partition_by: Sequence[str] = ()) -> Path:
    """Write ``columns`` (name -> list or pyarrow array) as a Parquet dataset in ``folder``, one
    sub-folder per value of ``partition_by`` (hive style: ``province=…/department=…``), atomically.

    >>> import tempfile, pyarrow.dataset as ds
    >>> folder = write_parquet({"department": ["甲", "乙"], "n": [1, 2]}, Path(tempfile.mkdtemp()) / "t",
    ...                        partition_by=["department"])
    >>> ds.dataset(folder, partitioning="hive").count_rows()
    2
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    table = pa.table(columns)
    with atomic_dir(folder) as temporary:
        if table.num_rows:
            partitioning = (
                ds.partitioning(pa.schema([table.schema.field(c) for c in partition_by]), flavor="hive")
                if partition_by
                else None
            )
            groups = table.group_by(list(partition_by)).aggregate([]).num_rows if partition_by else 1
            ds.write_dataset(
                table, temporary, format="parquet", partitioning=partitioning,
                basename_template="part-{i}.parquet", max_partitions=max(groups, 1) + 1,
                existing_data_behavior="overwrite_or_ignore",
            )  # fmt: skip
        else:
            import pyarrow.parquet as pq

            pq.write_table(table, temporary / "part-0.parquet")
    return folder
