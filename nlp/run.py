"""The batch run (orchestration; the parallel work is :mod:`nlp.parallel`, the caches :mod:`nlp.cache`): documents -> parse -> classify -> audit -> cluster -> tables, report and the store.

``zhibiao run corpus/raw --out out/`` writes into ``out/``:

- ``indicators.parquet/``: every indicator with its prediction and audit columns, a Parquet dataset
  partitioned ``province=…/department=…`` (what programs read, at any size);
- ``indicators.csv``: the same table as CSV, for runs of up to ``CSV_ROWS`` indicators;
- ``departments/NAME.xlsx``: one workbook per department (what a reviewer opens): flags first;
- ``flags.xlsx``: the flags ranked by score, the rate per department (and every indicator, small runs);
- ``clusters.xlsx``: boilerplate clusters, one sheet per level (goals, indicators, sets);
- ``report.html``: totals, categories and misplacement rate per department with links to their
  workbooks, the largest clusters, charts (:mod:`nlp.run_report`);

and loads the documents, predictions and flags into the review store. Every output is written under a
temporary name and renamed when complete: an interrupted run leaves the previous output or none.

What keeps it fast, bounded and safe to re-run:

- files are parsed in parallel (joblib processes, or a Dask cluster with ``scheduler=``); each parsed
  file is cached in ``out/.cache/parse`` under its bytes, its path and the parser's source, so a re-run
  (after an interruption, or with one file added) parses only what changed;
- each distinct (name, description, value) is scored once, whatever the number of copies: boilerplate
  repeats a lot. Scores (class and process probabilities, reason) are cached in
  ``out/.cache/scores.sqlite`` under the text and the model, chunk by chunk as they are computed;
- distinct texts are scored in chunks (``nlp.model.CHUNK_ROWS``) and rows are written out chunk by chunk,
  so per-indicator intermediate data never piles up;
- a re-run where nothing changed (same file contents, model, options and code: ``out/.cache/run.json``)
  returns the recorded report at once; otherwise only changed files are loaded into the store again
  (each document in its own transaction), and the run's clusters replace the store's when the store
  holds exactly this run's documents;
- a file that cannot be read is a :class:`~nlp.records.Problem`: the run goes on, lists it on the
  terminal and in the report, and :attr:`RunReport.ok` is false (the command exits 1).

>>> report = run(["corpus/raw"], out=Path("out"))  # doctest: +SKIP
>>> report.indicators, report.ok  # doctest: +SKIP
(699, True)
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from nlp.errors import Errors, InputError, ZhibiaoError
from nlp.model import Bundle, classify, to_rows
from nlp.parallel import Progress, _quiet, connect, parse_files, score_distinct, shutdown_pools
from nlp.parse import iter_files
from nlp.records import Document, Problem

__all__ = [
    "STAGES", "OUTPUTS", "Progress", "FileOutcome", "RunReport", "Stopped", "run", "progress_display",
    "stop_on_signals",
]  # fmt: skip

#: Stages in the order they run; the progress callback is told ``(stage, done, total)``.
STAGES: tuple[str, ...] = ("parse", "classify", "audit", "cluster", "write", "store")
#: Output files by role (``indicators``, the CSV, only up to ``nlp.run_report.CSV_ROWS`` indicators).
OUTPUTS: dict[str, str] = {
    "indicators": "indicators.csv",
    "parquet": "indicators.parquet",
    "departments": "departments",
    "flags": "flags.xlsx",
    "clusters": "clusters.xlsx",
    "report": "report.html",
}
CACHE_DIR = ".cache"
MANIFEST = "run.json"
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
    #: Nothing had changed since the last run into ``out``: its outputs and store load stand.
    unchanged: bool = False

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


class Stopped(KeyboardInterrupt):
    """The run was stopped by a signal (SIGINT or SIGTERM) during ``stage``; ``exit_code`` is 128 + the
    signal number, as a shell reports it."""

    def __init__(self, signum: int, stage: str = "") -> None:
        super().__init__(signum, stage)
        self.signum = signum
        self.stage = stage

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    def __str__(self) -> str:
        name = signal.Signals(self.signum).name
        return "[E085] " + Errors.E085.format(signal=name, stage=self.stage or "start-up")


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGTERM raises :class:`Stopped` in the main thread (SIGINT already raises KeyboardInterrupt), so
    a stopped run unwinds like an interrupted one: transactions roll back, temporary files go, worker
    pools are shut down."""

    def stop(signum: int, _frame: Any) -> None:
        raise Stopped(signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
    parse, score and write on this machine; ``scheduler`` (``tcp://host:8786``) sends that work to a Dask
    cluster instead (the files must be readable there at the same paths). ``cache=False`` ignores
    ``out/.cache``. A bad file does not stop the run: it is listed in :attr:`RunReport.problems`. A signal
    stops it with :class:`Stopped` (worker pools shut down, nothing half-written left).
    """
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
    stage = {"name": ""}

    def tracked(name: str, done: int, total: int) -> None:
        stage["name"] = name
        progress(name, done, total)

    try:
        return _Run(files, out, db=db, store=store, bundle=bundle, model=model, workers=workers,
                    scheduler=scheduler, threshold=threshold, cache=cache, progress=tracked).go()  # fmt: skip
    except Stopped as exc:
        exc.stage = exc.stage or stage["name"]
        raise
    except KeyboardInterrupt as exc:
        raise Stopped(signal.SIGINT, stage["name"]) from exc
    finally:
        shutdown_pools()


class _Run:
    """One run's state between its stages (a class: the stages share a dozen values)."""

    def __init__(self, files: list[Path], out: Path, *, db: str | None, store: bool, bundle: Bundle | None,
                 model: str | Path | None, workers: int, scheduler: str | None, threshold: float | None,
                 cache: bool, progress: Progress) -> None:  # fmt: skip
        from nlp.audit import DEFAULT_THRESHOLD
        from nlp.cache import _file_key, parser_version
        from nlp.model import DEFAULT_MODEL_PATH

        self.files, self.out, self.db, self.store, self.bundle = files, out, db, store, bundle
        self.workers, self.scheduler, self.cache, self.progress = workers, scheduler, cache, progress
        self.threshold = DEFAULT_THRESHOLD if threshold is None else threshold
        self.model_path = (
            Path(model) if model is not None else (None if bundle is not None else DEFAULT_MODEL_PATH)
        )
        self.seconds: dict[str, float] = {}
        self.clock = time.perf_counter()
        version = parser_version()
        self.keys = [_file_key(path, version) for path in files]
        self.manifest_path = out / CACHE_DIR / MANIFEST

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(now - self.clock, 3)
        self.clock = now

    def run_key(self) -> str:
        """What decides every output: file contents and paths, the model, the threshold, the code."""
        from nlp.cache import _digest, file_digest, output_version

        if self.model_path is not None:  # the file's bytes: known before (and without) loading it
            model = str(file_digest(self.model_path))
        else:
            from nlp.cache import _model_key

            assert self.bundle is not None
            model = _model_key(self.bundle)
        parts = [output_version(), model, repr(self.threshold), *(str(k) for k in self.keys)]
        return _digest(*(part.encode() for part in parts))

    def go(self) -> RunReport:
        from nlp.cache import read_manifest

        key = self.run_key()
        manifest = read_manifest(self.manifest_path) if self.cache else None
        if manifest is not None and manifest.get("key") == key:
            report = self.unchanged(manifest)
            if report is not None:
                return report
        client = connect(self.scheduler)
        try:
            return self.fresh(key, client, manifest or {})
        finally:
            if client is not None:
                client.close()

    # ------------------------------------------------------------------------------------ nothing new

    def unchanged(self, manifest: dict[str, Any]) -> RunReport | None:
        """The recorded report when every output is still there (and the store still holds what this
        run loaded, document by document); ``None`` sends the run through its stages again."""
        started = time.perf_counter()
        outputs = {role: self.out / name for role, name in manifest.get("outputs", {}).items()}
        if not outputs or not all(path.exists() for path in outputs.values()):
            return None
        db_url = None
        if self.store:
            from nlp.store import loaded_documents, open_store

            recorded = manifest.get("store") or {}
            database = open_store(self.db)
            try:
                db_url = database.url
                if recorded.get("url") != database.url or not recorded.get("clusters"):
                    return None
                docs = recorded.get("documents", {})
                found = loaded_documents(database, list(docs))
                if any(found.get(doc, ("", ""))[1] != stamp for doc, (_key, stamp) in docs.items()):
                    return None
            finally:
                database.close()
        data = manifest["report"]
        files = tuple(
            FileOutcome(f["path"], f["indicators"], tuple(Problem(**p) for p in f["problems"]), True)
            for f in data["files"]
        )
        self.progress("parse", len(files), len(files))
        return RunReport(
            out=self.out, files=files, projects=data["projects"], indicators=data["indicators"],
            distinct=data["distinct"], flagged=data["flagged"], departments=data["departments"],
            clusters=data["clusters"], outputs=outputs, db_url=db_url,
            seconds={"check": round(time.perf_counter() - started, 3)},
            reused={"files": len(files), "texts": data["distinct"]}, unchanged=True,
        )  # fmt: skip

    # ------------------------------------------------------------------------------------ the stages

    def fresh(self, key: str, client: Any, manifest: dict[str, Any]) -> RunReport:
        from nlp.audit import audit
        from nlp.cluster import LEVELS, find_clusters
        from nlp.corpus import ensure_model

        if self.bundle is None:
            self.bundle = ensure_model(path=self.model_path)
            self.lap("model")
            key = self.run_key()  # the model may have been trained just now
        parse_cache = self.out / CACHE_DIR / "parse" if self.cache else None
        documents, cached = parse_files(
            self.files, cache=parse_cache, keys=self.keys, workers=self.workers, client=client,
            progress=self.progress,
        )  # fmt: skip
        self.lap("parse")
        indicators = [ind for document in documents for ind in document.indicators]
        scores, distinct, reused = self.score(indicators, client)
        predictions = classify(self.bundle, indicators, scores=scores)
        self.lap("classify")
        self.progress("audit", 0, 1)
        verdicts = audit(indicators, predictions, bundle=self.bundle, threshold=self.threshold, scores=scores)
        del scores
        self.progress("audit", 1, 1)
        self.lap("audit")
        clusters = {}
        for k, level in enumerate(LEVELS):
            self.progress("cluster", k, len(LEVELS))
            clusters[level] = find_clusters(documents, level=level)
        self.progress("cluster", len(LEVELS), len(LEVELS))
        self.lap("cluster")
        outcomes = tuple(
            FileOutcome(d.path, len(d.indicators), d.problems, c)
            for d, c in zip(documents, cached, strict=True)
        )
        report = RunReport(
            out=self.out, files=outcomes, projects=sum(len(d.projects) for d in documents),
            indicators=len(indicators), distinct=distinct, flagged=sum(1 for v in verdicts if v.flagged),
            departments=0, clusters={level: len(found) for level, found in clusters.items()}, outputs={},
            seconds=self.seconds, reused={"files": sum(cached), "texts": reused},
        )  # fmt: skip
        report = self.write(report, indicators, predictions, verdicts, clusters, client)
        self.lap("write")
        stored: dict[str, Any] | None = None
        if self.store:
            report, stored = self.load(report, documents, predictions, verdicts, clusters, manifest)
            self.lap("store")
        if self.cache:
            self.record(key, report, stored)
        return report

    def score(self, indicators: list[Any], client: Any) -> tuple[Any, int, int]:
        """Scores of every indicator from one scoring of each distinct text; (scores, distinct, reused)."""
        assert self.bundle is not None
        rows = to_rows(indicators)
        index: dict[tuple[str, str, str], int] = {}
        positions = np.fromiter(
            (index.setdefault(row, len(index)) for row in rows), dtype=np.intp, count=len(rows)
        )
        distinct_scores, reused = score_distinct(
            self.bundle, list(index), cache=self.out / CACHE_DIR / "scores.sqlite" if self.cache else None,
            workers=self.workers, client=client, model_path=self.model_path, progress=self.progress,
        )  # fmt: skip
        return distinct_scores.take(positions), len(index), reused

    def write(self, report: RunReport, indicators: list[Any], predictions: Sequence[Any],
              verdicts: Sequence[Any], clusters: dict[str, list[Any]], client: Any) -> RunReport:  # fmt: skip
        from nlp import run_report as rr

        out, names = self.out, dict(OUTPUTS)
        tally = rr.Tally()
        table = rr.RunTable.build(indicators, predictions, verdicts, tally)
        small = len(table) <= rr.CSV_ROWS
        if not small:
            del names["indicators"]
        outputs = {role: out / name for role, name in names.items()}
        steps = 4 + small
        try:
            self.progress("write", 0, steps)
            rr.write_parquet_table(table, outputs["parquet"])
            if small:
                rr.write_run_csv(table, outputs["indicators"], chunk=_WRITE_CHUNK)
            self.progress("write", 1, steps)
            rr.write_department_books(table, outputs["departments"], workers=self.workers, client=client)
            self.progress("write", 2, steps)
            rr.write_flags_book(table, tally, outputs["flags"], with_sheet=small)
            rr.write_clusters_book(clusters, outputs["clusters"])
            self.progress("write", 3, steps)
            report = replace(report, outputs=outputs, departments=len(tally.departments))
            assert self.bundle is not None
            data = rr.ReportData.build(report, tally, clusters, model_version=self.bundle.version,
                                       threshold=self.threshold)  # fmt: skip
            rr.write_report(data, outputs["report"])
            self.progress("write", steps, steps)
        except OSError as exc:
            raise InputError("E080", path=out, detail=exc.strerror or exc) from exc
        return report

    def load(self, report: RunReport, documents: list[Document], predictions: Sequence[Any],
             verdicts: Sequence[Any], clusters: dict[str, list[Any]], manifest: dict[str, Any],
             ) -> tuple[RunReport, dict[str, Any]]:  # fmt: skip
        """Load the documents whose content (or model, or options) changed since this folder's last load
        into the store, one transaction each; then the clusters. Returns the store part of the manifest."""
        from nlp.annotate import load_documents
        from nlp.store import document_name, loaded_documents, open_store

        database = open_store(self.db)
        try:
            recorded = manifest.get("store") or {}
            before = recorded.get("documents", {}) if recorded.get("url") == database.url else {}
            names = [document_name(d) for d in documents]
            stamps = loaded_documents(database, names)
            tag = self.run_key_part()
            doc_keys = {name: f"{key}|{tag}" for name, key in zip(names, self.keys, strict=True)}
            todo = [i for i, name in enumerate(names)
                    if before.get(name, ("", ""))[0] != doc_keys[name]
                    or stamps.get(name, ("", ""))[1] != before.get(name, ("", ""))[1]]  # fmt: skip
            starts = np.cumsum([0, *(len(d.indicators) for d in documents)])
            take = [j for i in todo for j in range(starts[i], starts[i + 1])]
            load = load_documents(
                database, [documents[i] for i in todo], bundle=self.bundle,
                predictions=[predictions[j] for j in take], verdicts=[verdicts[j] for j in take],
                clusters=clusters, clustered=[n for n, d in zip(names, documents, strict=True) if d.projects],
                progress=lambda done, total: self.progress("store", done, total),
            )  # fmt: skip
            stamps = loaded_documents(database, names)
            stored = {
                "url": database.url, "clusters": True,
                "documents": {n: [doc_keys[n], stamps[n][1]] for n in names if n in stamps},
            }  # fmt: skip
        finally:
            database.close()
        self.progress("store", len(todo), len(todo))
        return replace(report, db_url=database.url, load=load), stored

    def run_key_part(self) -> str:
        """What, beside a file's content, decides its store rows: the model and the threshold."""
        from nlp.cache import _digest, _model_key

        assert self.bundle is not None
        return _digest(_model_key(self.bundle).encode(), repr(self.threshold).encode())[:16]

    def record(self, key: str, report: RunReport, stored: dict[str, Any] | None) -> None:
        from nlp.cache import write_manifest

        data = {
            "files": [{"path": f.path, "indicators": f.indicators, "problems": [asdict(p) for p in f.problems]}
                      for f in report.files],
            "projects": report.projects, "indicators": report.indicators, "distinct": report.distinct,
            "flagged": report.flagged, "departments": report.departments, "clusters": report.clusters,
        }  # fmt: skip
        outputs = {role: path.name for role, path in report.outputs.items()}
        write_manifest(self.manifest_path, {"key": key, "report": data, "outputs": outputs, "store": stored})


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
