"""HTML tables left as markup (part of :mod:`nlp.readers.found`): page sources and templates (JSP, ASP)
saved as text, one ``<td>`` a line. Each ``<tr>`` becomes one pipe row at the line where it starts, with
``rowspan``/``colspan`` cells repeated into every row and column they cover, so a merged 一级/二级 cell
reaches every indicator under it. Text outside tables (titles, key-value lines) is kept as lines.

>>> rows, numbers = html_rows(["<table><tr><td rowspan='2'>产出指标</td><td>人数</td><td>40人</td></tr>",
...                            "<tr><td>合格率</td><td>100%</td></tr></table>"])
>>> rows, numbers
(['| 产出指标 | 人数 | 40人 |', '| 产出指标 | 合格率 | 100% |'], [1, 2])
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import unescape
from html.parser import HTMLParser

__all__ = ["is_html", "html_rows"]

_CELL = re.compile(r"<t[dh][\s>]", re.IGNORECASE)


def is_html(lines: Sequence[str]) -> bool:
    """Markup with table cells in it: enough ``<td>`` tags to be a table, not a stray tag in text."""
    return sum(len(_CELL.findall(line)) for line in lines) >= 8


class _Tables(HTMLParser):
    """Rows of cells, each cell (text, rowspan, colspan), with the line of its row; text between tables."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[tuple[int, list[tuple[str, int, int]]]] = []
        self.texts: list[tuple[int, str]] = []
        self.row: list[tuple[str, int, int]] | None = None
        self.cell: list[str] | None = None
        self.spans = (1, 1)
        self.depth = 0
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        elif tag == "table":
            self.depth += 1
        elif tag == "tr":
            self._end_row()
            self.row = []
            self.rows.append((self.getpos()[0], self.row))
        elif tag in ("td", "th"):
            self._end_cell()
            if self.row is None:
                self.row = []
                self.rows.append((self.getpos()[0], self.row))
            found = dict(attrs)
            self.spans = (_span(found.get("rowspan")), _span(found.get("colspan")))
            self.cell = []
        elif tag == "br" and self.cell is not None:
            self.cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in ("td", "th"):
            self._end_cell()
        elif tag == "tr":
            self._end_row()
        elif tag == "table":
            self._end_row()
            self.depth = max(0, self.depth - 1)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.cell is not None:
            self.cell.append(data)
        elif data.strip() and not self.depth:
            self.texts.append((self.getpos()[0], data.strip()))

    def _end_cell(self) -> None:
        if self.cell is not None and self.row is not None:
            text = " ".join("".join(self.cell).split())
            self.row.append((text, *self.spans))
        self.cell = None

    def _end_row(self) -> None:
        self._end_cell()
        self.row = None


def _span(value: str | None) -> int:
    match = re.match(r"\s*(\d{1,2})", value or "")
    return max(1, int(match.group(1))) if match else 1


def html_rows(lines: Sequence[str]) -> tuple[list[str], list[int]]:
    """The tables of markup as pipe rows and the text around them as lines, with their 1-based lines."""
    parser = _Tables()
    # Template expressions (${data.x}, <%@ … %>, <jsp:…/>) are no text of the table.
    source = "\n".join(re.sub(r"<%.*?%>|\$\{[^}]*\}", "", line) for line in lines)
    parser.feed(unescape(source) if "&lt;td" in source else source)
    parser.close()
    out: list[tuple[int, str]] = list(parser.texts)
    carried: dict[int, tuple[str, int]] = {}  # column -> (text, rows still covered) from a rowspan above
    for number, cells in parser.rows:
        row: list[str] = []
        queue = list(cells)
        col = 0
        while queue or col in carried:
            if col in carried:
                text, left = carried[col]
                row.append(text)
                carried = {**carried, col: (text, left - 1)} if left > 1 else _without(carried, col)
                col += 1
                continue
            text, rows, cols = queue.pop(0)
            for k in range(cols):
                row.append(text)
                if rows > 1:
                    carried[col + k] = (text, rows - 1)
            col += cols
        if any(row):
            out.append((number, "| " + " | ".join(row) + " |"))
    out.sort(key=lambda item: item[0])
    return [text for _, text in out], [n for n, _ in out]


def _without(carried: dict[int, tuple[str, int]], col: int) -> dict[int, tuple[str, int]]:
    return {k: v for k, v in carried.items() if k != col}
