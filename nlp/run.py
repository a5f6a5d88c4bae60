"""The batch run (orchestration; the parallel work is :mod:`nlp.parallel`, the caches :mod:`nlp.cache`): documents -> parse -> classify -> audit -> cluster -> tables, report and the store.

``zhibiao run corpus/raw --out out/`` writes into ``out/``:

- ``indicators.csv``: every indicator with its prediction and audit columns;
- ``flags.xlsx``: the flags ranked by score, every indicator, the rate per department;
- ``clusters.xlsx``: boilerplate clusters, one sheet per level (goals, indicators, sets);
- ``report.html``: totals, categories and misplacement rate per department, the largest clusters,
  charts (:mod:`nlp.run_report`);

and loads the documents, predictions and flags into the review store.

What keeps it fast, bounded and safe to re-run:

- files are parsed in parallel (joblib processes, or a Dask cluster with ``scheduler=``); each parsed
  file is cached in ``out/.cache/parse`` under its bytes, its path and the parser's source, so a re-run
  (after an interruption, or with one file added) parses only what changed;
- each distinct (name, description, value) is scored once, whatever the number of copies: boilerplate
  repeats a lot. Scores (class and process probabilities, reason) are cached in
  ``out/.cache/scores.sqlite`` under the text and the model, chunk by chunk as they are computed;
- distinct texts are scored in chunks (``nlp.model.CHUNK_ROWS``) and rows are written out chunk by chunk,
  so per-indicator intermediate data never piles up;
- a file that cannot be read is a :class:`~nlp.records.Problem`: the run goes on, lists it on the
  terminal and in the report, and :attr:`RunReport.ok` is false (the command exits 1).

>>> report = run(["corpus/raw"], out=Path("out"))  # doctest: +SKIP
>>> report.indicators, report.ok  # doctest: +SKIP
(699, True)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from nlp.errors import InputError, ZhibiaoError
from nlp.model import Bundle, classify, to_rows
from nlp.parallel import Progress, _quiet, connect, parse_files, score_distinct
from nlp.parse import iter_files
from nlp.records import Problem

__all__ = ["STAGES", "OUTPUTS", "Progress", "FileOutcome", "RunReport", "run", "progress_display"]

#: Stages in the order they run; the progress callback is told ``(stage, done, total)``.
STAGES: tuple[str, ...] = ("parse", "classify", "audit", "cluster", "write", "store")
#: Output files by role.
OUTPUTS: dict[str, str] = {
    "indicators": "indicators.csv",
    "flags": "flags.xlsx",
    "clusters": "clusters.xlsx",
    "report": "report.html",
}
CACHE_DIR = ".cache"
_WRITE_CHUNK = 20_000


# ------------------------------------------------------------------------------------------ records


@dataclass(frozen=True)
class FileOutcome:
    """What became of one input file."""

    path: str
    indicators: int
    problems: tuple[Problem, ...]
    cached: bool

    @property
    def failed(self) -> bool:
        """Nothing could be read from it (unreadable, damaged, no indicator table)."""
        return self.indicators == 0 and bool(self.problems)


@dataclass(frozen=True)
class RunReport:
    """What a run did: counts, outputs, the store load, time per stage, what was reused."""

    out: Path
    files: tuple[FileOutcome, ...]
    projects: int
    indicators: int
    distinct: int
    flagged: int
    departments: int
    clusters: dict[str, int]
    outputs: dict[str, Path]
    db_url: str | None = None
    load: Any = None  # nlp.store.LoadReport when the run loaded the store
    seconds: dict[str, float] = field(default_factory=dict)
    reused: dict[str, int] = field(default_factory=dict)

    @property
    def problems(self) -> tuple[Problem, ...]:
        return tuple(p for f in self.files for p in f.problems)

    @property
    def failed_files(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files if f.failed)

    @property
    def ok(self) -> bool:
        """True when every file was read whole (nothing skipped)."""
        return not self.problems


# ---------------------------------------------------------------------------------------------- run


def run(
    paths: Sequence[str | Path],
    *,
    out: str | Path,
    db: str | None = None,
    store: bool = True,
    bundle: Bundle | None = None,
    model: str | Path | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    threshold: float | None = None,
    cache: bool = True,
    progress: Progress = _quiet,
) -> RunReport:
    """Parse, classify, audit and cluster ``paths``; write the tables and the report into ``out``; load the
    store (``db`` URL, default ``$ZHIBIAO_DB`` or ``var/zhibiao.sqlite``) unless ``store=False``.

    ``bundle`` (or the model file ``model``, trained first if missing) classifies. ``workers`` processes
    parse and score on this machine; ``scheduler`` (``tcp://host:8786``) sends that work to a Dask cluster
    instead (the files must be readable there at the same paths). ``cache=False`` ignores
    ``out/.cache``. A bad file does not stop the run: it is listed in :attr:`RunReport.problems`.
    """
    from nlp.audit import DEFAULT_THRESHOLD, audit
    from nlp.corpus import ensure_model
    from nlp.model import DEFAULT_MODEL_PATH

    if workers < 1:
        raise ZhibiaoError("E083", workers=workers)
    files = iter_files(paths)
    if not files:
        raise InputError("E082", paths=", ".join(map(str, paths)) or "(nothing)")
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / CACHE_DIR).mkdir(exist_ok=True)
    except OSError as exc:
        raise InputError("E080", path=out, detail=exc.strerror or exc) from exc
    threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] = round(now - clock, 3)
        clock = now

    client = connect(scheduler)
    try:
        model_path = (
            Path(model) if model is not None else (None if bundle is not None else DEFAULT_MODEL_PATH)
        )
        if bundle is None:
            bundle = ensure_model(path=model_path)
            lap("model")
        parse_cache = out / CACHE_DIR / "parse" if cache else None
        documents, cached = parse_files(
            files, cache=parse_cache, workers=workers, client=client, progress=progress
        )
        lap("parse")

        indicators = [ind for document in documents for ind in document.indicators]
        rows = to_rows(indicators)
        index: dict[tuple[str, str, str], int] = {}
        positions = np.fromiter(
            (index.setdefault(row, len(index)) for row in rows), dtype=np.intp, count=len(rows)
        )
        score_cache = out / CACHE_DIR / "scores.sqlite" if cache else None
        distinct_scores, reused = score_distinct(
            bundle,
            list(index),
            cache=score_cache,
            workers=workers,
            client=client,
            model_path=model_path,
            progress=progress,
        )
        scores = distinct_scores.take(positions)
        predictions = classify(bundle, indicators, scores=scores)
        lap("classify")
    finally:
        if client is not None:
            client.close()

    progress("audit", 0, 1)
    verdicts = audit(indicators, predictions, bundle=bundle, threshold=threshold, scores=scores)
    del scores
    progress("audit", 1, 1)
    lap("audit")

    from nlp.cluster import LEVELS, find_clusters

    clusters = {}
    for k, level in enumerate(LEVELS):
        progress("cluster", k, len(LEVELS))
        clusters[level] = find_clusters(documents, level=level)
    progress("cluster", len(LEVELS), len(LEVELS))
    lap("cluster")

    from nlp.run_report import ReportData, write_clusters_book, write_report, write_tables

    outputs = {role: out / name for role, name in OUTPUTS.items()}
    outcomes = tuple(
        FileOutcome(d.path, len(d.indicators), d.problems, c) for d, c in zip(documents, cached, strict=True)
    )
    try:
        tally = write_tables(
            indicators, predictions, verdicts, indicators_csv=outputs["indicators"], flags_xlsx=outputs["flags"],
            chunk=_WRITE_CHUNK, progress=lambda done, total: progress("write", done, total),
        )  # fmt: skip
        write_clusters_book(clusters, outputs["clusters"])
        report = RunReport(
            out=out,
            files=outcomes,
            projects=sum(len(d.projects) for d in documents),
            indicators=len(indicators),
            distinct=len(index),
            flagged=tally.flagged,
            departments=len(tally.departments),
            clusters={level: len(found) for level, found in clusters.items()},
            outputs=outputs,
            db_url=None,
            seconds=seconds,
            reused={"files": sum(cached), "texts": reused},
        )
        data = ReportData.build(report, tally, clusters, model_version=bundle.version, threshold=threshold)
        write_report(data, outputs["report"])
    except OSError as exc:
        raise InputError("E080", path=out, detail=exc.strerror or exc) from exc
    lap("write")

    if store:
        from nlp.annotate import load_documents
        from nlp.store import open_store

        progress("store", 0, 1)
        database = open_store(db)
        try:
            load = load_documents(
                database, documents, bundle=bundle, predictions=predictions, verdicts=verdicts,
                clusters=clusters,
            )  # fmt: skip
        finally:
            database.close()
        progress("store", 1, 1)
        lap("store")
        report = replace(report, db_url=database.url, load=load)
    return report


# ----------------------------------------------------------------------------------------- progress


@contextmanager
def progress_display(
    stream: TextIO | None = None, *, force_terminal: bool | None = None
) -> Iterator[Progress]:
    """A progress callback for :func:`run`: rich progress bars on a terminal, plain log lines otherwise.

    >>> import io
    >>> buffer = io.StringIO()
    >>> with progress_display(buffer) as progress:
    ...     progress("parse", 5, 5)
    >>> buffer.getvalue().split(":")[0]
    'parse'
    """
    stream = stream or sys.stderr
    terminal = stream.isatty() if force_terminal is None else force_terminal
    if terminal:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        bars = Progress(
            TextColumn("{task.description:<9}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=Console(file=stream), transient=False,
        )  # fmt: skip
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            bars.update(tasks[stage], completed=done, total=total)

        with bars:
            yield update
        return

    started: dict[str, float] = {}
    last: dict[str, int] = {}
    finished: set[str] = set()

    def log(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        started.setdefault(stage, now)
        step = max(total // 10, 1)  # about ten lines per stage at most
        if done // step == last.get(stage, -1) and (done < total or stage in finished):
            return
        if done >= total:
            finished.add(stage)
        last[stage] = done // step
        suffix = f" ({now - started[stage]:.1f} s)" if done >= total else ""
        print(f"{stage}: {done}/{total}{suffix}", file=stream, flush=True)

    yield log
