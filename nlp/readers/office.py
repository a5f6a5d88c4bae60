"""Published PDF and Word files -> blocks (lines and tables in reading order) -> records.

A table that runs across PDF pages is stitched back into one and its repeated header dropped; Word's
merged cells are resolved. Nothing is silently empty: a PDF without a text layer, a password-protected or
damaged file each come back as a Document holding a :class:`Problem` that names the file (E050-E059).

>>> doc = read_document("plan.pdf")  # doctest: +SKIP
>>> doc.layout, len(doc.indicators)  # doctest: +SKIP
('inline', 34)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from nlp.errors import InputError
from nlp.limits import LIMITS_ENV, Limits, check_archive
from nlp.readers.blocks import Block, Span, Table, _detail, as_problem, best_reading
from nlp.records import Document

__all__ = ["DOCUMENT_SUFFIXES", "read_document", "pdf_blocks", "docx_blocks"]

DOCUMENT_SUFFIXES: tuple[str, ...] = (".pdf", ".docx", ".doc")

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
        _check_pages(path, pdf)
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


# ------------------------------------------------------------------------------------------ reading


def _check_pages(path: Path, pdf: Any) -> None:
    """Refuse a PDF whose page tree declares more pages than any table runs to (E057), before reading."""
    from pdfminer.pdftypes import resolve1

    limits = Limits.from_env()
    try:
        count = int(resolve1(resolve1(pdf.doc.catalog.get("Pages")).get("Count", 0)))
    except Exception:  # a damaged page tree: reading the pages reports it (E052)
        return
    if count > limits.max_pdf_pages:
        raise InputError(
            "E057", path=path, what="the number of pages", value=f"{count:,}", limit=f"{limits.max_pdf_pages:,}",
            advice=f"Give the pages that hold the table, or raise the limit with {LIMITS_ENV['max_pdf_pages']}.",
        )  # fmt: skip


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
            check_archive(path, Limits.from_env())
            blocks, scanned = docx_blocks(path), []
    except InputError as exc:
        return Document(path=str(path), layout="error", problems=(as_problem(path, exc),))
    # A PDF table exports as tab-separated rows (seeds 000, 002); a Word table also as Word's
    # one-cell-per-line text (seed 001).
    styles = ("tabs", "rows") if suffix == ".pdf" else ("cells", "tabs", "rows")
    document = best_reading(blocks, path=path, styles=styles)
    if scanned:
        listed = ", ".join(map(str, scanned))
        document = replace(
            document,
            problems=(as_problem(path, InputError("E054", path=path, pages=listed)),) + document.problems,
        )
    return document
