"""Text -> records: decoding, and the layout detection that hands a text or a grid to its reader.

- ``inline`` (:mod:`nlp.readers.inline`): coded lists "1、1-产出指标；11-数量指标；名称；…" in PDF text or in
  a grid cell;
- ``cells`` / ``grid`` (:mod:`nlp.readers.grid`): Word's one-cell-per-line export, tab grids, sheets;
- tables as they are found on the web and in real files (:mod:`nlp.readers.found`), and narrative
  self-evaluation reports (:mod:`nlp.readers.narrative`), when neither of the above reads the text.

>>> doc = parse_text("1、1-产出指标；11-数量指标；资助人数；实施周期指标值:40人；年度指标值:40人。", path="a.txt")
>>> doc.layout, [(i.name, i.declared_code, i.annual_value) for i in doc.indicators]
('inline', [('资助人数', '11', '40人')])
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nlp.errors import problem
from nlp.readers.grid import read_grid, text_rows
from nlp.readers.inline import read_inline
from nlp.records import Document

__all__ = ["LAYOUTS", "decode", "parse_text", "parse_rows", "error_document"]

#: The layouts ``parse_text`` can be told to use (``None`` detects it).
LAYOUTS: tuple[str, ...] = ("inline", "cells", "grid")


def error_document(path: str | Path, code: str, **fields: object) -> Document:
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
        return error_document(path, "E002")
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
        inline = Document(path, "inline", tuple(projects), tuple(problems))
        if inline.indicators or (layout == "inline" and problems):
            return inline
        if layout is None and (projects or problems):
            # Coded-list headings without a list under them: a table as found may still be there.
            as_found = read_as_found(lines, path)
            return as_found if as_found is not None and as_found.indicators else inline
    if layout is None:
        document = read_as_found(lines, path)
        if document is not None:
            return document
    return error_document(path, "E004")


def read_as_found(lines: Sequence[str], path: str) -> Document | None:
    """Tables as they are found (web pages, flattened HTML, real files: :mod:`nlp.readers.found`), then
    failing those, lists under category labels (:mod:`nlp.readers.labelled`) or narrative self-evaluation
    reports (:mod:`nlp.readers.narrative`), whichever reads more; ``None`` when none reads any."""
    from nlp.readers.found import read_found
    from nlp.readers.labelled import read_labelled
    from nlp.readers.narrative import read_narrative

    found = read_found(lines, path)
    if found is None or not found.projects:
        # Labelled lists and sentences overlap ("（一）数量指标" heads both): the reading that finds more wins.
        found = max(
            (f for f in (read_narrative(lines, path), read_labelled(lines, path)) if f and f.projects),
            key=lambda f: sum(len(p.indicators) for p in f.projects),
            default=None,
        )
    if found is None:
        return None
    passed = tuple(problem(path, s.line, "E019", reason=s.reason, text=s.text[:80]) for s in found.skipped)
    return Document(path, found.layout, found.projects, found.problems, passed)


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
        return error_document(path, "E004")
    projects, problems, kind = grid
    return Document(path, kind, tuple(projects), tuple(problems))
