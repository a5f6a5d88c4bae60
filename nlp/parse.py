"""Documents -> records: every layout of a 绩效目标表 becomes Document -> Projects -> Indicators.

The reader is chosen from the file and its text, never by hand:

- ``inline``: coded lists "1、1-产出指标；11-数量指标；名称；实施周期指标值:…；年度指标值:…。" in PDF text
  (headings with amounts, hard wraps, repeated page headers) or in the 绩效指标 cell of a tab grid;
- ``cells``: Word's text export, one cell per line, rows of 一级指标/二级指标/三级指标/… cells;
- ``grid``: tab grids, .csv and .xlsx tables with Chinese or English headers, merged cells carried down;
- ``indicators``: the table ``zhibiao parse`` writes (``INDICATOR_COLUMNS``), read back exactly.

PDF and Word files go to :mod:`nlp.formats`. Nothing is dropped silently: whatever cannot be read
becomes a :class:`~nlp.records.Problem` naming the file and line, and the batch goes on. The layouts
live in :mod:`nlp.parse_inline` and :mod:`nlp.parse_tables`.

>>> doc = parse_text("1、1-产出指标；11-数量指标；资助人数；实施周期指标值:40人；年度指标值:40人。", path="a.txt")
>>> doc.layout, [(i.name, i.declared_code, i.annual_value) for i in doc.indicators]
('inline', [('资助人数', '11', '40人')])
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from nlp.errors import InputError
from nlp.parse_inline import problem, read_inline
from nlp.parse_tables import read_grid, text_rows
from nlp.records import INDICATOR_COLUMNS, Document, Indicator, Problem, indicator_row

__all__ = [
    "LAYOUTS",
    "parse_file",
    "parse_text",
    "parse_rows",
    "iter_files",
    "parse_paths",
    "write_indicators",
    "read_indicator_table",
    "summarise",
]

#: The layouts ``parse_text`` can be told to use (``None`` detects it).
LAYOUTS: tuple[str, ...] = ("inline", "cells", "grid")

_TEXT_SUFFIXES = ("", ".txt", ".text", ".tsv", ".md")
_WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
_DOCUMENT_SUFFIXES = (".pdf", ".docx", ".doc")
_DAMAGED = "Check that the file opens in its own program, or export it again"


def _error(path: str | Path, code: str, **fields: object) -> Document:
    return Document(path=str(path), layout="error", problems=(problem(str(path), 0, code, **fields),))


# ------------------------------------------------------------------------------------------- text


def decode(data: bytes) -> str | None:
    """Text of a file in UTF-8 (with or without BOM), UTF-16 with BOM, GB18030 or GBK; ``None`` if none fits.

    >>> decode("资助人数".encode("gbk")), decode(b"\\xef\\xbb\\xbf100%")
    ('资助人数', '100%')
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    for encoding in ("utf-8-sig", "gb18030"):  # GB18030 is a superset of GBK and GB2312
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def parse_text(text: str, *, path: str, layout: str | None = None) -> Document:
    """Parse the text of a document; the layout is detected unless ``layout`` narrows it down:
    "inline" reads only coded lists, "cells" or "grid" only tab-separated tables (either style).

    Line numbers in the records are 1-based lines of ``text``.

    >>> parse_text("no table here", path="memo.txt").problems[0].code
    'E004'
    """
    if layout is not None and layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS} or None, not {layout!r}")
    text = text.removeprefix("\ufeff")
    if not text.strip():
        return _error(path, "E002")
    # split("\n"), not splitlines(): form feeds and other separators must not shift the line numbers.
    lines = [line.rstrip("\r") for line in text.split("\n")]
    if layout in (None, "cells", "grid"):
        found = text_rows(lines)
        if found:
            rows, numbers, style = found
            grid = read_grid(rows, numbers, path)
            if grid:
                projects, problems, kind = grid
                return Document(path, "cells" if style == "cells" else kind, tuple(projects), tuple(problems))
    if layout in (None, "inline"):
        projects, problems = read_inline(lines, path)
        if projects or problems:
            return Document(path, "inline", tuple(projects), tuple(problems))
    return _error(path, "E004")


def parse_rows(rows: Sequence[Sequence[Any]], *, path: str) -> Document:
    """Parse a grid of cells (a sheet, a CSV, a table found in a PDF); the header row may be anywhere.

    Row ``k`` (0-based) is line ``k + 1`` in the records.

    >>> doc = parse_rows([["一级指标", "二级指标", "三级指标", "指标值"], ["产出指标", "数量指标", "人数", "40人"]],
    ...                  path="t.csv")
    >>> [(i.declared_code, i.name, i.annual_value) for i in doc.indicators]
    [('11', '人数', '40人')]
    """
    grid = read_grid(rows, list(range(1, len(rows) + 1)), path)
    if grid is None:
        return _error(path, "E004")
    projects, problems, kind = grid
    return Document(path, kind, tuple(projects), tuple(problems))


# ------------------------------------------------------------------------------------------- files


def _csv_rows(data: bytes) -> list[list[str]] | None:
    text = decode(data)
    if text is None:
        return None
    sample = text[:4096]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _sheet_text(value: Any, number_format: str | None) -> str:
    """A cell as the sheet shows it: 1 formatted 0% is "100%", 800.0 is "800"."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if number_format and "%" in number_format:
        value = round(value * 100, 6)
        return f"{int(value) if float(value).is_integer() else value}%"
    if isinstance(value, float) and value.is_integer() and "." not in (number_format or ""):
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _workbook_rows(path: Path) -> list[list[list[str]]]:
    """Every sheet of an .xlsx as rows of cell texts (merged cells are empty but their first)."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return [
            [
                [_sheet_text(cell.value, getattr(cell, "number_format", None)) for cell in row]
                for row in sheet.iter_rows()
            ]
            for sheet in book.worksheets
        ]
    finally:
        book.close()


def _delegate(path: Path, function: str) -> Document:
    """Hand a file to nlp.formats (PDF, Word, Excel grids), imported only when such a file comes."""
    try:
        from nlp import formats

        reader = getattr(formats, function)
    except (ImportError, AttributeError):
        return _error(
            path,
            "E008",
            detail=f"{path.suffix} files need nlp.formats.{function}, which is not available yet. "
            "Convert the file to .txt, .csv or .xlsx and try again",
        )
    document: Document = reader(path)
    return document


def _parse_table(path: Path) -> Document:
    if path.suffix.lower() == ".csv":
        rows = _csv_rows(path.read_bytes())
        return _error(path, "E003") if rows is None else parse_rows(rows, path=str(path))
    if path.suffix.lower() == ".jsonl":
        return _read_jsonl(path)
    sheets = [parse_rows(rows, path=str(path)) for rows in _workbook_rows(path)]
    found = [doc for doc in sheets if doc.layout != "error"]
    if not found:
        return _delegate(path, "read_workbook")  # no header: a grid of cells, not a table
    projects = tuple(p for doc in found for p in doc.projects)
    return Document(str(path), found[0].layout, projects, tuple(p for doc in found for p in doc.problems))


def parse_file(path: str | Path) -> Document:
    """Parse one file of any supported type; never raises for bad input.

    A file that cannot be read becomes a Document with layout "error" and a Problem saying why.

    >>> parse_file("missing.txt").problems[0].code
    'E001'
    """
    path = Path(path)
    try:
        if not path.is_file():
            return _error(path, "E001")
        suffix = path.suffix.lower()
        if suffix in _DOCUMENT_SUFFIXES:
            return _delegate(path, "read_document")
        if path.stat().st_size == 0:
            return _error(path, "E002")
        if suffix == ".xls":
            return _delegate(path, "read_workbook")
        if suffix in (".csv", ".jsonl", *_WORKBOOK_SUFFIXES):
            return _parse_table(path)
        if suffix not in _TEXT_SUFFIXES:
            return _error(path, "E006", suffix=path.suffix)
        text = decode(path.read_bytes())
        if text is None:
            return _error(path, "E003")
        return parse_text(text, path=str(path))
    except Exception as exc:  # one bad file (a damaged workbook, a reader bug) must not stop a batch
        return _error(path, "E008", detail=f"{type(exc).__name__}: {exc}. {_DAMAGED}")


def iter_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files given and files under folders given (recursive, sorted), skipping hidden and Office lock files.

    A path that does not exist is kept, so that parsing reports it (E001) instead of dropping it.
    """
    files: list[Path] = []
    for path in map(Path, paths):
        if not path.is_dir():
            files.append(path)
            continue
        for found in sorted(path.rglob("*")):
            parts = found.relative_to(path).parts
            if found.is_file() and not any(part.startswith((".", "~$")) for part in parts):
                files.append(found)
    return list(dict.fromkeys(files))


def parse_paths(paths: Iterable[str | Path], *, n_jobs: int = 1) -> list[Document]:
    """Parse files and folders; ``n_jobs > 1`` parses files in parallel (joblib). Bad files become
    error Documents and the batch goes on.

    >>> [d.layout for d in parse_paths(["missing.txt"])]
    ['error']
    """
    files = iter_files(paths)
    if n_jobs > 1 and len(files) > 1:
        from joblib import Parallel, delayed

        documents: list[Document] = Parallel(n_jobs=n_jobs)(delayed(parse_file)(f) for f in files)
        return documents
    return [parse_file(f) for f in files]


# -------------------------------------------------------------------------------- indicator tables


def write_indicators(indicators: Iterable[Indicator], path: str | Path) -> None:
    """Write records as .csv (UTF-8 with BOM, for Excel), .jsonl or .xlsx; columns are INDICATOR_COLUMNS.

    >>> write_indicators([], "out.txt")
    Traceback (most recent call last):
    nlp.errors.InputError: [E006] out.txt: unsupported file type '.txt'. Check the extension: documents are read from .txt, .csv, .xlsx, .pdf or .docx; indicator tables are written as .csv, .jsonl or .xlsx.
    """
    path = Path(path)
    rows = [indicator_row(i) for i in indicators]
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".xlsx"):
        raise InputError("E006", path=path, suffix=path.suffix)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=INDICATOR_COLUMNS)
            writer.writeheader()
            writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
    elif suffix == ".jsonl":
        with path.open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    else:
        _write_xlsx(rows, path)


def _write_xlsx(rows: list[dict[str, Any]], path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("indicators")
    sheet.append(list(INDICATOR_COLUMNS))
    for row in rows:
        cells = []
        for value in row.values():
            cell = openpyxl.cell.WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # a value such as "=100%" is text, not a formula
            cells.append(cell)
        sheet.append(cells)
    book.save(path)


def _read_jsonl(path: Path) -> Document:
    text = decode(path.read_bytes())
    if text is None:
        return _error(path, "E003")
    rows: list[list[Any]] = [list(INDICATOR_COLUMNS)]
    for line in text.splitlines():
        if line.strip():
            data = json.loads(line)
            rows.append(["" if data.get(c) is None else data.get(c) for c in INDICATOR_COLUMNS])
    return parse_rows(rows, path=str(path))


def read_indicator_table(path: str | Path) -> Document:
    """Read an indicator table (.csv, .xlsx or .jsonl), e.g. one ``zhibiao parse --out`` wrote.

    Zhibiao's own columns come back exactly as written; other tables are read like any grid.
    Never raises for bad input: problems are in ``Document.problems``.
    """
    path = Path(path)
    if not path.is_file():
        return _error(path, "E001")
    if path.suffix.lower() not in (".csv", ".jsonl", *_WORKBOOK_SUFFIXES):
        return _error(path, "E006", suffix=path.suffix)
    try:
        return _parse_table(path)
    except Exception as exc:  # a damaged workbook or JSON line
        return _error(path, "E008", detail=f"{type(exc).__name__}: {exc}. {_DAMAGED}")


# ------------------------------------------------------------------------------------------ summary


def summarise(documents: Sequence[Document]) -> str:
    """Documents, projects and indicators per file, and every skipped item, counted and listed.

    >>> print(summarise([parse_text("", path="empty.txt")]))
    file       layout  projects  indicators  skipped
    empty.txt  error          0           0        1
    1 file: 0 projects, 0 indicators, 1 skipped.
    Skipped:
      [E002] empty.txt: the file is empty. Remove it from the batch or export the table again.
    """
    names = [Path(d.path).name for d in documents]
    width = max([len("file"), *map(len, names)])
    kind = max([len("layout"), *(len(d.layout) for d in documents)])
    lines = [f"{'file':<{width}}  {'layout':<{kind}}  projects  indicators  skipped"]
    for name, doc in zip(names, documents, strict=True):
        counts = f"{len(doc.projects):>8}  {len(doc.indicators):>10}  {len(doc.problems):>7}"
        lines.append(f"{name:<{width}}  {doc.layout:<{kind}}  {counts}")
    problems: list[Problem] = [p for d in documents for p in d.problems]
    n_files = len(documents)
    lines.append(
        f"{n_files} file{'s' if n_files != 1 else ''}: {sum(len(d.projects) for d in documents)} projects, "
        f"{sum(len(d.indicators) for d in documents)} indicators, {len(problems)} skipped."
    )
    if problems:
        lines.append("Skipped:")
        lines.extend(f"  {p}" for p in problems)
    return "\n".join(lines)
