"""Limits a file must pass before any reader works on it: the one place they are set.

A hostile or broken file (a .docx that expands to gigabytes, a workbook claiming a million rows, a PDF
of ten thousand pages, a "text" file that is one line of megabytes) is refused at once with its own
code, naming the file, what was over which limit, and what to do; the batch goes on. Checks read only
what a file says about itself — a zip's directory, a sheet's declared dimension, a PDF's page count —
never its content, so refusing costs milliseconds and no memory.

Every limit can be raised for one run through the environment (worker processes inherit it), e.g.
``ZHIBIAO_MAX_EXPAND_MB=2000 zhibiao run …``; ``zhibiao run --file-timeout`` sets the time budget.

>>> Limits().max_expand_bytes // 2**20
200
>>> Limits.from_env({"ZHIBIAO_MAX_EXPAND_MB": "500"}).max_expand_bytes // 2**20
500
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from nlp.errors import InputError

__all__ = ["Limits", "TimeBudgetExceeded", "check_archive", "check_text", "time_budget", "LIMITS_ENV"]

_MB = 2**20


@dataclass(frozen=True)
class Limits:
    """What a single input file may be; the defaults hold every real table seen, with room to spare."""

    max_file_bytes: int = 200 * _MB  # any file, as stored
    max_expand_bytes: int = 200 * _MB  # an Office file's members, uncompressed, all together
    max_ratio: int = 100  # uncompressed / compressed, once the archive expands past 10 MB
    max_members: int = 10_000  # members of an Office archive
    max_sheet_cells: int = 5_000_000  # rows × columns a worksheet declares
    max_part_bytes: int = 20 * _MB  # one XML part (a worksheet, a document body), uncompressed
    max_pdf_pages: int = 2_000
    max_text_chars: int = 50_000_000  # decoded text of one file
    max_line_chars: int = 1_000_000  # one line of text, or one CSV field
    file_seconds: float = 120.0  # time budget for reading one file; 0 = none

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """Defaults, with any ``ZHIBIAO_<NAME>`` set in ``environ`` (sizes in MB for *_bytes)."""
        environ = os.environ if environ is None else environ
        values: dict[str, float | int] = {}
        for item in fields(cls):
            name = LIMITS_ENV[item.name]
            if name not in environ:
                continue
            try:
                number = float(environ[name])
            except ValueError as exc:
                raise InputError("E061", field=name, detail=f"{environ[name]!r} is not a number") from exc
            if item.name.endswith("_bytes"):
                values[item.name] = int(number * _MB)
            elif item.name == "file_seconds":
                values[item.name] = number
            else:
                values[item.name] = int(number)
        return cls(**values)  # type: ignore[arg-type]


def _env_name(field_name: str) -> str:
    return "ZHIBIAO_" + field_name.upper().replace("_BYTES", "_MB")


LIMITS_ENV = {item.name: _env_name(item.name) for item in fields(Limits)}


def _size(n: int) -> str:
    if n >= 2**30:
        return f"{n / 2**30:.1f} GB"
    if n >= _MB:
        return f"{n / _MB:.0f} MB"
    return f"{n:,} bytes"


def _refuse(path: Path, what: str, value: str, limit: str, advice: str) -> InputError:
    return InputError("E057", path=path, what=what, value=value, limit=limit, advice=advice)


def check_file(path: Path, limits: Limits) -> None:
    """Refuse a file bigger than any table needs (E057)."""
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise _refuse(
            path,
            "the file size",
            _size(size),
            _size(limits.max_file_bytes),
            f"Split the file, or raise the limit with {LIMITS_ENV['max_file_bytes']}.",
        )


# The dimension a worksheet declares at its top: <dimension ref="A1:XFD1048576"/>.
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]+)?(\d+)?(?::([A-Z]+)(\d+))?"')


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def check_archive(path: Path, limits: Limits) -> None:
    """Refuse an Office file (.docx/.xlsx) whose zip directory promises too much, before opening it.

    Reads the central directory and the first bytes of each worksheet only (E057).
    """
    advice = "Split the workbook or document, or raise the limit with {env}."
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return  # not a zip at all: the reader says so in its own words (E052)
    with archive:
        members = archive.infolist()
        if len(members) > limits.max_members:
            env = LIMITS_ENV["max_members"]
            raise _refuse(
                path,
                "the number of parts",
                f"{len(members):,}",
                f"{limits.max_members:,}",
                advice.format(env=env),
            )
        expanded = sum(m.file_size for m in members)
        packed = max(1, sum(m.compress_size for m in members))
        env = LIMITS_ENV["max_expand_bytes"]
        if expanded > limits.max_expand_bytes:
            raise _refuse(
                path,
                "the size it expands to",
                _size(expanded),
                _size(limits.max_expand_bytes),
                advice.format(env=env),
            )
        if expanded > 10 * _MB and expanded / packed > limits.max_ratio:
            raise _refuse(
                path,
                "the compression ratio",
                f"{expanded / packed:,.0f}:1 ({_size(packed)} expanding to {_size(expanded)})",
                f"{limits.max_ratio}:1",
                "This looks like a decompression bomb, not a table: ask for the original file.",
            )
        for member in members:
            if member.filename.endswith(".xml") and member.file_size > limits.max_part_bytes:
                # A part is parsed whole in memory (lxml): a few times its size. A sheet need not declare it.
                raise _refuse(
                    path,
                    f"its part {member.filename}",
                    _size(member.file_size),
                    _size(limits.max_part_bytes),
                    advice.format(env=LIMITS_ENV["max_part_bytes"]),
                )
            if member.filename.endswith((".xml", ".rels")):
                _check_part(path, archive, member, limits)


def _check_part(path: Path, archive: zipfile.ZipFile, member: zipfile.ZipInfo, limits: Limits) -> None:
    """The head of one XML part: OOXML parts never declare a DTD, so entity declarations there are an
    XML bomb ("billion laughs"); a worksheet's declared dimension must fit the limit."""
    with archive.open(member) as handle:
        head = handle.read(4096)
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise _refuse(
            path,
            member.filename,
            "an XML part with entity declarations",
            "none allowed (Office files never declare entities)",
            "This looks like an XML bomb, not a table: ask for the original file.",
        )
    if member.filename.startswith("xl/worksheets/"):
        _check_dimension(path, head, member, limits)


def _check_dimension(path: Path, head: bytes, member: zipfile.ZipInfo, limits: Limits) -> None:
    match = _DIMENSION.search(head)
    if not match or not match.group(3):
        return
    first_column, first_row, last_column, last_row = (g.decode("ascii") if g else "" for g in match.groups())
    rows = int(last_row or 1) - int(first_row or 1) + 1
    columns = _column_number(last_column) - _column_number(first_column or "A") + 1
    if rows * columns > limits.max_sheet_cells:
        sheet = Path(member.filename).stem
        raise _refuse(
            path,
            f"worksheet {sheet}'s declared size",
            f"{rows:,} rows × {columns:,} columns",
            f"{limits.max_sheet_cells:,} cells",
            "Delete the empty rows and columns (or copy the table to a new sheet) and save again, or raise "
            f"the limit with {LIMITS_ENV['max_sheet_cells']}.",
        )


def check_text(path: Path, text: str, limits: Limits) -> None:
    """Refuse decoded text too large to be a table, or with a line of megabytes (E057/E059)."""
    if len(text) > limits.max_text_chars:
        raise _refuse(
            path,
            "its text",
            f"{len(text):,} characters",
            f"{limits.max_text_chars:,}",
            f"Split the file, or raise the limit with {LIMITS_ENV['max_text_chars']}.",
        )
    check_lines(path, text, limits)


def check_lines(path: Path, text: str, limits: Limits, *, what: str = "a line") -> None:
    """E059 for the first line longer than the limit (cheap: only runs when the text could hold one)."""
    if len(text) <= limits.max_line_chars:
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line) > limits.max_line_chars:
            advice = (
                "Check that this is a table (a line that long is not one), or raise the limit with "
                f"{LIMITS_ENV['max_line_chars']}."
            )
            raise InputError(
                "E059", path=path, line=number, what=what, value=f"{len(line):,} characters",
                limit=f"{limits.max_line_chars:,}", advice=advice,
            )  # fmt: skip


class TimeBudgetExceeded(Exception):
    """Reading one file took longer than its budget (raised inside the reader by an alarm)."""


@contextlib.contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Raise :class:`TimeBudgetExceeded` in the block once ``seconds`` have passed.

    Uses a real-time alarm, so it works where the reader runs in the main thread of its process (the
    CLI and joblib's worker processes); elsewhere (threads of a Dask worker) the block runs unbounded.
    """
    usable = (
        seconds > 0 and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def _expired(_signum: int, _frame: object) -> None:
        raise TimeBudgetExceeded

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
