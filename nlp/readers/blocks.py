"""Documents as blocks: lines of text and :class:`Table` grids in reading order, and the one way every
format's blocks are read (:func:`best_reading`). PDF and Word files (:mod:`nlp.readers.office`) and
workbooks (:mod:`nlp.readers.sheets`) become blocks first, then the text or grid readers read them, so a
table means the same whether it came as .txt, .pdf, .docx or .xlsx.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from nlp.errors import InputError
from nlp.readers.text import parse_rows, parse_text, read_as_found
from nlp.records import Document, Problem, Project
from nlp.taxonomy import normalise_label

__all__ = ["Table", "Block", "Span", "filled_rows", "blocks_text", "unwrap", "best_reading", "as_problem"]

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


def as_problem(path: Path, exc: InputError) -> Problem:
    """The error as a Problem; the "{path}: " the catalogue message starts with is dropped, since a
    Problem prints its location itself."""
    line = exc.fields.get("line", 0)
    line = line if isinstance(line, int) else 0
    message = (
        str(exc).removeprefix(f"[{exc.code}] ").removeprefix(f"{path}:{line}: ").removeprefix(f"{path}: ")
    )
    return Problem(path=str(path), line=line, code=exc.code, message=message)


def _detail(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:120]


def read_table(rows: Sequence[Sequence[object]], path: str | Path) -> Document:
    """A sheet or CSV read the way its copied text would be: a plain header grid goes to the reader of
    tables as found too (merged cells left empty, page furniture, totals, 指标1: prefixes, self-evaluation
    columns), which wins when it reads the table differently into as many projects; coded lists and
    zhibiao's own columns stay with the grid reader that knows them. Row ``k`` is line ``k + 1`` either way."""
    grid = parse_rows(rows, path=str(path))
    if grid.layout not in ("grid", "error"):
        return grid
    lines = [" | ".join(_flat(cell) for cell in row) if any(row) else "" for row in rows]
    found = read_as_found(lines, str(path))
    if grid.layout == "error":
        return found if found is not None and found.indicators else grid
    if found is None or not found.indicators or len(found.projects) < len(grid.projects):
        return grid  # per-row project columns: the grid reader keeps the projects apart
    if _unexplained(grid, found) or _same(found, grid):
        return grid
    if len(found.projects) == len(grid.projects):
        # Key cells the grid reader took from columns of its own (部门 on every row) complete the projects.
        projects = tuple(_completed(f, g) for f, g in zip(found.projects, grid.projects, strict=True))
        found = replace(found, projects=projects)
    return found


def _same(found: Document, grid: Document) -> bool:
    """Both readers read the same indicators: the grid's reading (and its layout name) stands."""
    fields = ("declared_code", "name", "description", "cycle_value", "annual_value", "line")
    return [tuple(getattr(i, f) for f in fields) for i in found.indicators] == [
        tuple(getattr(i, f) for f in fields) for i in grid.indicators
    ]


def _unexplained(grid: Document, found: Document) -> bool:
    """Whether the grid reader took a row that the reader of tables as found neither took nor passed
    over for a reason of its own (a total, page furniture): then the grid's reading is the safer one."""
    taken = {i.line for i in found.indicators}
    last = max(taken)
    reasons = {p.line: p.message for p in found.passed_over}

    def unexplained(line: int) -> bool:
        if line in taken:
            return False
        if line in reasons:
            return "表外行" in reasons[line]  # "outside a table": a table it lost track of
        return line < last  # silently skipped inside the table; lines after its end are furniture

    return any(unexplained(i.line) for i in grid.indicators)


def _completed(found: Project, grid: Project) -> Project:
    if found.name != grid.name and found.name:
        return found
    fields = ("name", "department", "goal", "budget")
    missing = {
        name: getattr(grid, name) for name in fields if not getattr(found, name) and getattr(grid, name)
    }
    if not missing:
        return found
    project = replace(found, **missing)
    indicators = tuple(
        replace(
            i, project=project.name, department=project.department, goal=project.goal, budget=project.budget
        )
        for i in found.indicators
    )
    return replace(project, indicators=indicators)


def _flat(cell: object) -> str:
    return "" if cell is None else str(cell).replace("\n", "")


def _placed(document: Document) -> int:
    """Indicators whose declared 一级 reads as a 一级 label."""
    return sum(len(normalise_label(i.declared_l1, level=1) or "") == 1 for i in document.indicators)


def best_reading(blocks: Sequence[Block], *, path: Path, styles: Sequence[str]) -> Document:
    """Read the blocks every faithful way and keep the reading that finds the most indicators.

    A table does not say which layout it is: a per-project form (seed 001) reads right as Word's
    one-cell-per-line export, a coded-list table (seed 000) as its tab-separated rows, a merged grid
    (seed 002) as either or as rows of cells. Fewer problems break a tie, then the order of ``styles``.
    The layout is the parser's ("inline", "cells", "grid"); the file's suffix says where it came from.
    """
    readers: dict[str, Callable[[], Document]] = {
        "tabs": lambda: parse_text(blocks_text(blocks, style="tabs"), path=str(path)),
        "cells": lambda: parse_text(blocks_text(blocks, style="cells"), path=str(path)),
        "rows": lambda: read_table(_grid(blocks), path),
    }
    has_table = any(block.table is not None for block in blocks)
    readings = [readers[style]() for style in styles if style != "rows" or has_table]
    # On a tie, the reading whose 一级 cells hold 一级 labels (not a 二级 shifted into the 一级 column by
    # a merged cell) wins, then the one with fewer problems, then the order of ``styles``.
    best = max(readings, key=lambda d: (len(d.indicators), _placed(d), -len(d.problems), -readings.index(d)))
    best = replace(best, path=str(path))
    if not best.indicators:
        problems = best.problems or (as_problem(path, InputError("E004", path=path)),)
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
