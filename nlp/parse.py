"""Documents -> records: the one entry point for every file type and layout.

``parse_file`` picks the reader from the file and its text, never by hand: text files go to
:func:`nlp.readers.text.parse_text` (layout detection), .csv/.xlsx/.xls/.jsonl to
:mod:`nlp.readers.sheets`, PDF and Word to :mod:`nlp.readers.office`. Nothing is dropped silently:
whatever cannot be read becomes a :class:`~nlp.records.Problem` naming the file and line, and the batch
goes on.

>>> [d.layout for d in parse_paths(["missing.txt"])]
['error']
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from nlp.errors import InputError
from nlp.limits import Limits, TimeBudgetExceeded, check_file, check_text, time_budget
from nlp.readers.blocks import as_problem, read_table
from nlp.readers.text import LAYOUTS, decode, error_document, parse_rows, parse_text
from nlp.records import INDICATOR_COLUMNS, Document, Problem

__all__ = [
    "LAYOUTS",
    "parse_file",
    "parse_text",
    "parse_rows",
    "iter_files",
    "parse_paths",
    "read_indicator_table",
    "summarise",
]

_TEXT_SUFFIXES = ("", ".txt", ".text", ".tsv", ".md")
_WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
_DOCUMENT_SUFFIXES = (".pdf", ".docx", ".doc")
_DAMAGED = "Check that the file opens in its own program, or export it again"
_error = error_document


def _parse_table(path: Path) -> Document:
    from nlp.readers import sheets

    if path.suffix.lower() == ".csv":
        rows = sheets.csv_rows(path.read_bytes(), path=path)
        return _error(path, "E003") if rows is None else read_table(rows, path)
    if path.suffix.lower() == ".jsonl":
        return _read_jsonl(path)
    tables = sheets.workbook_tables(path)
    docs = [read_table([list(row) for row in table.rows], path) for table in tables]
    found = [doc for doc in docs if doc.layout != "error"]
    if not found:
        return sheets.read_workbook(path)  # no header: a grid of cells, not a table
    projects = tuple(p for doc in found for p in doc.projects)
    return Document(str(path), found[0].layout, projects, tuple(p for doc in found for p in doc.problems))


def parse_file(path: str | Path) -> Document:
    """Parse one file of any supported type; never raises for bad input.

    A file that cannot be read becomes a Document with layout "error" and a Problem saying why. Before
    any reader opens it, the file must pass :class:`nlp.limits.Limits` (size, what an archive expands
    to, a sheet's size, page count, line length: E057/E059), and reading it runs under the per-file
    time budget (E058), so no single file can exhaust memory or hold a batch.

    >>> parse_file("missing.txt").problems[0].code
    'E001'
    """
    path = Path(path)
    try:
        if not path.is_file():
            return _error(path, "E001")
        limits = Limits.from_env()
        check_file(path, limits)
        with time_budget(limits.file_seconds):
            return _read(path, limits)
    except TimeBudgetExceeded:
        return _error(path, "E058", limit=f"{limits.file_seconds:g}")
    except InputError as exc:
        return Document(str(path), "error", problems=(as_problem(path, exc),))
    except Exception as exc:  # one bad file (a damaged workbook, a reader bug) must not stop a batch
        return _error(path, "E008", detail=f"{type(exc).__name__}: {exc}. {_DAMAGED}")


def _read(path: Path, limits: Limits) -> Document:
    suffix = path.suffix.lower()
    if suffix in _DOCUMENT_SUFFIXES:
        from nlp.readers.office import read_document  # pdfplumber and python-docx load only when needed

        return read_document(path)
    if path.stat().st_size == 0:
        return _error(path, "E002")
    if suffix == ".xls":
        from nlp.readers.sheets import read_workbook

        return read_workbook(path)
    if suffix in (".csv", ".jsonl", *_WORKBOOK_SUFFIXES):
        return _parse_table(path)
    if suffix not in _TEXT_SUFFIXES:
        return _error(path, "E006", suffix=path.suffix)
    text = decode(path.read_bytes())
    if text is None:
        return _error(path, "E003")
    check_text(path, text, limits)
    return parse_text(text, path=str(path))


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


def summarise(documents: Sequence[Document], *, explain: bool = False) -> str:
    """Documents, projects and indicators per file, and every skipped item, counted and listed;
    ``explain`` also lists the lines each reader passed over (totals, budget lines, headings) and why.

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
    if explain:
        for name, doc in zip(names, documents, strict=True):
            lines.append(f"{name}: layout {doc.layout}, {len(doc.passed_over)} lines passed over")
            lines.extend(f"  {p}" for p in doc.passed_over)
    return "\n".join(lines)
