"""Published PDF, Word and Excel files -> the same records as the text readers.

Each reader works in two steps. First the file becomes *blocks* in reading order: lines of text and
:class:`Table` grids (merged spans resolved, a table that runs across PDF pages stitched back into
one, its repeated header dropped). Then the blocks become the text or the grid the seeds were exported
as, and :mod:`nlp.parse` reads that (``parse_text`` / ``parse_rows``): one parser for every format, so a
table means the same whether it came as .txt, .pdf, .docx or .xlsx.

Nothing is silently empty: a PDF without a text layer, a password-protected or damaged file and a
workbook with no indicator table each come back as a Document holding a :class:`Problem` that names
the file (codes E050-E059).

>>> doc = read_document("plan.pdf")  # doctest: +SKIP
>>> doc.layout, len(doc.indicators)  # doctest: +SKIP
('inline', 34)
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nlp.errors import InputError
from nlp.records import Document, Problem

__all__ = [
    "Table",
    "Block",
    "read_document",
    "read_workbook",
    "pdf_blocks",
    "docx_blocks",
    "workbook_tables",
    "filled_rows",
    "blocks_text",
    "unwrap",
]

DOCUMENT_SUFFIXES: tuple[str, ...] = (".pdf", ".docx", ".doc")
WORKBOOK_SUFFIXES: tuple[str, ...] = (".xlsx", ".xlsm", ".xls")

#: A merged range: (first_row, first_col, last_row, last_col), 0-based and inclusive.
Span = tuple[int, int, int, int]


@dataclass(frozen=True)
class Table:
    """A table as a rectangle of cell texts.

    A merged range keeps its text in its top-left cell; the other cells of the range are ``""`` and
    the range is listed in ``spans`` (see :func:`filled_rows`). ``where`` says where it was found
    ("page 2", "table 3", "sheet 'Sheet1'") for messages.
    """

    rows: tuple[tuple[str, ...], ...]
    spans: tuple[Span, ...] = ()
    where: str = ""

    @property
    def width(self) -> int:
        return max((len(row) for row in self.rows), default=0)


@dataclass(frozen=True)
class Block:
    """One item of a document in reading order: a line of text, or a table."""

    text: str = ""
    table: Table | None = None
    page: int = 0


# ------------------------------------------------------------------------------------------- helpers

_LATIN = re.compile(r"[A-Za-z]")


def unwrap(text: str) -> str:
    """Join the lines of a wrapped cell: no space inside Chinese, one space between Latin words.

    >>> unwrap("社会申办退休人员缴纳职工社会医疗\\n保险费")
    '社会申办退休人员缴纳职工社会医疗保险费'
    >>> unwrap("Social\\nsecurity")
    'Social security'
    """
    lines = [line.strip() for line in text.splitlines()]
    out = ""
    for line in lines:
        if not line:
            continue
        # PDF and Word wrap Chinese anywhere but Latin only at a space, which the wrap swallowed.
        if out and _LATIN.match(out[-1]) and _LATIN.match(line[0]):
            out += " "
        out += line
    return out


def filled_rows(table: Table) -> list[list[str]]:
    """The table's rows with every merged range filled with its top-left text, as a spreadsheet shows it.

    >>> t = Table(rows=(("产出指标", "数量指标"), ("", "质量指标")), spans=((0, 0, 1, 0),))
    >>> filled_rows(t)
    [['产出指标', '数量指标'], ['产出指标', '质量指标']]
    """
    width = table.width
    rows = [list(row) + [""] * (width - len(row)) for row in table.rows]
    for r0, c0, r1, c1 in table.spans:
        value = rows[r0][c0]
        for r in range(r0, min(r1, len(rows) - 1) + 1):
            for c in range(c0, min(c1, width - 1) + 1):
                rows[r][c] = value
    return rows


def blocks_text(blocks: Iterable[Block], *, style: str = "tabs") -> str:
    """The text a document's blocks export to: table rows as tab-separated lines (``style="tabs"``,
    the grid export of seeds 000 and 002) or one tab-indented line per cell with a blank line after
    each row (``style="cells"``, Word's text export of seed 001). Merged cells appear once.

    >>> t = Table(rows=(("项目名称", "社保"), ("预算数", "800.00")))
    >>> blocks_text([Block(text="部门名称：某局"), Block(table=t)]).splitlines()
    ['部门名称：某局', '项目名称\\t社保', '预算数\\t800.00']
    """
    lines: list[str] = []
    for block in blocks:
        if block.table is None:
            lines.append(block.text)
            continue
        if style == "tabs":
            # A row is one line, so a cell's own line breaks are joined.
            lines.extend("\t".join(unwrap(cell) for cell in row) for row in block.table.rows)
            continue
        covered = _covered_cells(block.table)
        for r, row in enumerate(block.table.rows):
            lines.extend("\t" + cell for c, cell in enumerate(row) if (r, c) not in covered)
            lines.append("")
    return "\n".join(lines) + "\n"


def _covered_cells(table: Table) -> set[tuple[int, int]]:
    """Cells right of the top-left in a horizontal span: Word's text export writes a merged cell once."""
    return {
        (r, c) for r0, c0, r1, c1 in table.spans for r in range(r0, r1 + 1) for c in range(c0 + 1, c1 + 1)
    }


def _problem(path: Path, exc: InputError) -> Problem:
    """The error as a Problem; the "{path}: " the catalogue message starts with is dropped, since a
    Problem prints its location itself."""
    message = str(exc).removeprefix(f"[{exc.code}] ").removeprefix(f"{path}: ")
    return Problem(path=str(path), line=0, code=exc.code, message=message)


# ----------------------------------------------------------------------------------------------- PDF

# Page furniture between two halves of a table: page numbers such as "- 3 -", "第3页 共12页", "3/12".
_FURNITURE = re.compile(r"^[\s\-—–第页共/\d]*$")


def pdf_blocks(path: str | Path) -> tuple[list[Block], list[int]]:
    """A PDF's text lines and ruled tables in reading order, plus the pages that have no text layer.

    A table that runs on across pages comes back as one :class:`Table`: the header row the PDF repeats
    on every page is dropped, and a row cut by a page break is joined again.

    Raises :class:`InputError` E050 (no text layer at all), E051 (password) or E052 (damaged file).

    >>> blocks, scanned = pdf_blocks("plan.pdf")  # doctest: +SKIP
    >>> [b.table.where for b in blocks if b.table]  # doctest: +SKIP
    ['pages 1-4']
    """
    import pdfplumber
    from pdfplumber.utils.exceptions import PdfminerException

    path = Path(path)
    try:
        pdf = pdfplumber.open(path)
    except PdfminerException as exc:
        cause = exc.args[0] if exc.args else exc
        if type(cause).__name__ in ("PDFPasswordIncorrect", "PDFEncryptionError"):
            raise InputError("E051", path=path) from exc
        raise InputError("E052", path=path, kind="a PDF file", detail=_detail(cause)) from exc
    except Exception as exc:  # pdfminer raises many unrelated types on a damaged file
        raise InputError("E052", path=path, kind="a PDF file", detail=_detail(exc)) from exc
    blocks: list[Block] = []
    scanned: list[int] = []
    with pdf:
        try:
            for page in pdf.pages:
                if not page.chars:
                    if page.images:  # a blank page is no loss; an image-only page is a scan
                        scanned.append(page.page_number)
                    continue
                blocks.extend(_page_blocks(page))
        except Exception as exc:
            raise InputError("E052", path=path, kind="a PDF file", detail=_detail(exc)) from exc
    if not blocks and scanned:
        raise InputError("E050", path=path, pages=len(scanned))
    return _stitch(blocks), scanned


def _detail(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:120]


def _page_blocks(page: Any) -> list[Block]:
    """One page: tables found from their ruling lines, and the text lines outside them, top to bottom."""
    found = page.find_tables()
    outside = page
    for table in found:
        outside = outside.outside_bbox(table.bbox)
    placed: list[tuple[float, Block]] = []
    for line in outside.extract_text_lines(return_chars=False):
        text = line["text"].strip()
        if text and not _FURNITURE.match(text):
            placed.append((line["top"], Block(text=text, page=page.page_number)))
    for table in found:
        placed.append(
            (table.bbox[1], Block(table=_pdf_table(table, page.page_number), page=page.page_number))
        )
    placed.sort(key=lambda item: item[0])
    return [block for _, block in placed]


def _pdf_table(table: Any, page_number: int) -> Table:
    """pdfplumber's cells as a :class:`Table`; a merged cell's extent is read from its bounding box."""
    raw = table.extract()
    rows = tuple(tuple(cell or "" for cell in row) for row in raw)
    tops = [row.bbox[1] for row in table.rows]
    lefts = sorted({cell[0] for row in table.rows for cell in row.cells if cell is not None})
    spans: list[Span] = []
    for r, row in enumerate(table.rows):
        for cell in row.cells:
            if cell is None:
                continue
            x0, top, x1, bottom = cell
            c0 = lefts.index(x0)
            c1 = max(c for c, left in enumerate(lefts) if left < x1 - 1)
            r1 = max(i for i, t in enumerate(tops) if t < bottom - 1)
            if r1 > r or c1 > c0:
                spans.append((r, c0, r1, c1))
    return Table(rows=rows, spans=tuple(spans), where=f"page {page_number}")


def _stitch(blocks: list[Block]) -> list[Block]:
    """Join a table that continues on the next page to the part before the page break."""
    out: list[Block] = []
    for block in blocks:
        previous = out[-1] if out else None
        if (
            block.table is not None
            and previous is not None
            and previous.table is not None
            and block.page == previous.page + 1
            and _is_first_on_page(block, blocks)
            and block.table.width == previous.table.width
        ):
            first_page = previous.table.where.split()[-1].split("-")[0]
            table = replace(_continue(previous.table, block.table), where=f"pages {first_page}-{block.page}")
            out[-1] = Block(table=table, page=block.page)
        else:
            out.append(block)
    return out


def _is_first_on_page(block: Block, blocks: list[Block]) -> bool:
    return next(b for b in blocks if b.page == block.page) is block


def _continue(first: Table, more: Table) -> Table:
    """``first`` followed by ``more``, without the repeated header and with a cut row joined."""
    skip = 0
    while skip < len(more.rows) and skip < len(first.rows) and more.rows[skip] == first.rows[skip]:
        skip += 1
    rows = list(first.rows)
    spans = list(first.spans)
    offset = len(rows) - skip
    rest = list(more.rows[skip:])
    # A row cut by the page break continues with an empty key cell; in a table where every row has
    # its key (the project name), that can only be the rest of the row above.
    if rest and not rest[0][0].strip() and all(row[0].strip() for row in first.rows[skip or 1 :]):
        rows[-1] = tuple(_join_cut(a, b) for a, b in zip(rows[-1], rest.pop(0), strict=True))
        offset -= 1
        skip += 1
    rows.extend(rest)
    spans.extend((r0 + offset, c0, r1 + offset, c1) for r0, c0, r1, c1 in more.spans if r0 >= skip)
    return Table(rows=tuple(rows), spans=tuple(spans), where=first.where)


def _join_cut(top: str, bottom: str) -> str:
    return f"{top}\n{bottom}" if top and bottom else top or bottom


# ---------------------------------------------------------------------------------------------- DOCX


def docx_blocks(path: str | Path) -> list[Block]:
    """A Word document's paragraphs and tables in reading order, merged cells resolved.

    Word stores a horizontal merge as one cell spanning grid columns and a vertical merge as
    "continue" cells; both come back as ``""`` with the range in :attr:`Table.spans`.

    Raises :class:`InputError` E052 when the file is not a readable .docx.

    >>> [b.text or b.table.where for b in docx_blocks("plan.docx")][:3]  # doctest: +SKIP
    ['1、城乡居民养老保险区财政补贴绩效目标表', '单位：万元', 'table 1']
    """
    import docx
    from docx.oxml.ns import qn
    from docx.text.paragraph import Paragraph

    path = Path(path)
    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises PackageNotFoundError, BadZipFile, KeyError, lxml errors
        raise InputError("E052", path=path, kind="a Word (.docx) file", detail=_detail(exc)) from exc
    blocks: list[Block] = []
    tables = 0
    for element in _body_items(document.element.body, qn):
        if element.tag == qn("w:p"):
            text = Paragraph(element, document).text.strip()
            if text:
                blocks.append(Block(text=text))
        elif element.tag == qn("w:tbl"):
            tables += 1
            blocks.append(Block(table=_docx_table(element, document, where=f"table {tables}")))
    return blocks


def _body_items(body: Any, qn: Callable[[str], str]) -> Iterable[Any]:
    """Paragraphs and tables of the body, including those inside content controls (w:sdt), which
    form templates use to wrap their fields."""
    for element in body.iterchildren():
        if element.tag == qn("w:sdt"):
            for content in element.iterchildren(qn("w:sdtContent")):
                yield from _body_items(content, qn)
        else:
            yield element


def _docx_table(tbl: Any, document: Any, *, where: str) -> Table:
    from docx.oxml.ns import qn
    from docx.text.paragraph import Paragraph

    rows: list[list[str]] = []
    rects: dict[tuple[int, int], list[int]] = {}  # top-left cell -> [r0, c0, r1, c1]
    owner: dict[tuple[int, int], tuple[int, int]] = {}
    for r, tr in enumerate(tbl.tr_lst):
        row = [""] * tr.grid_before
        c = tr.grid_before
        for tc in tr.tc_lst:
            span = max(tc.grid_span, 1)
            above = owner.get((r - 1, c))
            if tc.vMerge == "continue" and above is not None:
                key = above
                rects[key][2] = r
                row.extend([""] * span)
            else:
                key = (r, c)
                rects[key] = [r, c, r, c + span - 1]
                # iter, not iterchildren: also the paragraphs of content controls and nested tables.
                paragraphs = tc.iter(qn("w:p"))
                text = "\n".join(Paragraph(p, document).text for p in paragraphs).strip()
                row.extend([text] + [""] * (span - 1))
            for k in range(c, c + span):
                owner[(r, k)] = key
            c += span
        rows.append(row)
    width = max((len(row) for row in rows), default=0)
    spans = tuple(tuple(rect) for rect in rects.values() if rect[2] > rect[0] or rect[3] > rect[1])
    return Table(
        rows=tuple(tuple(row + [""] * (width - len(row))) for row in rows),
        spans=spans,  # type: ignore[arg-type]
        where=where,
    )


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

    try:
        # Not read_only: merged ranges are only available on a fully loaded sheet.
        book = openpyxl.load_workbook(path, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException, lxml errors
        raise InputError("E052", path=path, kind="an Excel (.xlsx) workbook", detail=_detail(exc)) from exc
    tables = []
    for sheet in book.worksheets:
        rows = [
            [_cell_text(cell.value, cell.number_format) for cell in row]
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
                row.append(_cell_text(value, fmt.format_str if fmt else "General"))
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


def _cell_text(value: Any, number_format: str | None) -> str:
    """A cell's value as the sheet displays it (percent and fixed-decimal formats applied).

    >>> _cell_text(1, "0%"), _cell_text(0.955, "0.0%"), _cell_text(800, "0.00"), _cell_text(3650.68, "General")
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


# ------------------------------------------------------------------------------------------ readings


def read_document(path: str | Path) -> Document:
    """Read a published .pdf or .docx file into the records the text readers produce.

    Problems (no text layer, password, damaged file, no indicator table) come back inside the Document
    with the file named, so a batch goes on.

    >>> doc = read_document("番禺区社保.pdf")  # doctest: +SKIP
    >>> doc.layout, len(doc.projects), len(doc.indicators)  # doctest: +SKIP
    ('inline', 6, 34)
    """
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".doc":
            raise InputError("E053", path=path)
        if suffix not in DOCUMENT_SUFFIXES:
            raise InputError("E006", path=path, suffix=suffix, detail="here. Use .pdf, .docx, .xlsx or .xls")
        if not path.exists():
            raise InputError("E001", path=path)
        if suffix == ".pdf":
            blocks, scanned = pdf_blocks(path)
        else:
            blocks, scanned = docx_blocks(path), []
    except InputError as exc:
        return Document(path=str(path), layout="error", problems=(_problem(path, exc),))
    # A PDF table exports as tab-separated rows (seeds 000, 002); a Word table also as Word's
    # one-cell-per-line text (seed 001).
    styles = ("tabs", "rows") if suffix == ".pdf" else ("cells", "tabs", "rows")
    document = _best_reading(blocks, path=path, styles=styles)
    if scanned:
        listed = ", ".join(map(str, scanned))
        document = replace(
            document,
            problems=(_problem(path, InputError("E054", path=path, pages=listed)),) + document.problems,
        )
    return document


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
        return Document(path=str(path), layout="error", problems=(_problem(path, exc),))
    projects: list[Any] = []
    problems: list[Problem] = []
    layouts: list[str] = []
    for table in tables:
        reading = _best_reading([Block(table=table)], path=path, styles=("rows", "tabs"))
        projects.extend(reading.projects)
        problems.extend(p for p in reading.problems if p.code != "E004")  # E004: no table on this sheet
        if reading.indicators:
            layouts.append(reading.layout)
    if not projects:
        sheets = ", ".join(t.where.removeprefix("sheet ") for t in tables) or "none with data"
        problems.append(_problem(path, InputError("E056", path=path, sheets=sheets)))
    return Document(
        path=str(path),
        layout=layouts[0] if layouts else "error",
        projects=tuple(projects),
        problems=tuple(problems),
    )


def _best_reading(blocks: Sequence[Block], *, path: Path, styles: Sequence[str]) -> Document:
    """Read the blocks every faithful way and keep the reading that finds the most indicators.

    A table does not say which layout it is: a per-project form (seed 001) reads right as Word's
    one-cell-per-line export, a coded-list table (seed 000) as its tab-separated rows, a merged grid
    (seed 002) as either or as rows of cells. Fewer problems break a tie, then the order of ``styles``.
    The layout is the parser's ("inline", "cells", "grid"); the file's suffix says where it came from.
    """
    from nlp import parse

    readers: dict[str, Callable[[], Document]] = {
        "tabs": lambda: parse.parse_text(blocks_text(blocks, style="tabs"), path=str(path)),
        "cells": lambda: parse.parse_text(blocks_text(blocks, style="cells"), path=str(path)),
        "rows": lambda: parse.parse_rows(_grid(blocks), path=str(path)),
    }
    has_table = any(block.table is not None for block in blocks)
    readings = [readers[style]() for style in styles if style != "rows" or has_table]
    best = max(readings, key=lambda d: (len(d.indicators), -len(d.problems), -readings.index(d)))
    best = replace(best, path=str(path))
    if not best.indicators:
        problems = best.problems or (_problem(path, InputError("E004", path=path)),)
        best = replace(best, layout="error", problems=problems)
    return best


def _grid(blocks: Iterable[Block]) -> list[list[str]]:
    """All tables as one grid, the lines between them as one-cell rows.

    Merged ranges stay empty but for their top-left cell, as in the seeds' exports: ``parse_rows``
    carries 一级/二级 and project cells down itself, and filling a range across would repeat a goal or
    a project name once per merged column.
    """
    rows: list[list[str]] = []
    for block in blocks:
        if block.table is None:
            rows.append([block.text])
        else:
            rows.extend([unwrap(cell) for cell in row] for row in block.table.rows)
    return rows
