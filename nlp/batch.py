"""The batch run: documents -> parse -> classify -> audit -> cluster -> tables, report and the store.

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

import hashlib
import os
import pickle
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from nlp.errors import InputError, ZhibiaoError, problem
from nlp.model import CHUNK_ROWS, Bundle, RowScores, classify, score_rows, to_rows
from nlp.parse import iter_files, parse_file
from nlp.records import Document, Problem

__all__ = [
    "STAGES",
    "OUTPUTS",
    "Progress",
    "FileOutcome",
    "RunReport",
    "run",
    "parse_files",
    "score_distinct",
    "parser_version",
    "progress_display",
]

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
# Modules whose source decides what a file parses to: a change to any of them invalidates cached parses.
_PARSER_MODULES = (
    "parse.py",
    "parse_inline.py",
    "parse_tables.py",
    "formats.py",
    "records.py",
    "taxonomy.py",
)
# ... and what a text scores to, beside the model bundle itself.
_SCORER_FILES = ("model.py", "segment.py", "taxonomy.py", "data/userdict.txt", "data/value_words.json")
# Below this many texts to score, starting worker processes costs more than it saves.
_PARALLEL_MIN_ROWS = 4 * CHUNK_ROWS
_WRITE_CHUNK = 20_000
_CONNECT_TIMEOUT = "10s"
# Text parses at several MB/s; PDF, Word and Excel readers are far slower.
_PARALLEL_MIN_BYTES = 1 << 20
_SLOW_SUFFIXES = (".pdf", ".docx", ".doc", ".xlsx", ".xlsm", ".xls")

Progress = Callable[[str, int, int], None]


def _quiet(stage: str, done: int, total: int) -> None:
    """The default progress callback: says nothing."""


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


# ------------------------------------------------------------------------------------------ caching


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def _source_digest(names: Sequence[str]) -> str:
    here = Path(__file__).resolve().parent
    return _digest(*((here / name).read_bytes() if (here / name).exists() else b"" for name in names))[:16]


def parser_version() -> str:
    """A digest of the parser's source: cached parses are reused only by the same parser.

    >>> len(parser_version())
    16
    """
    return _source_digest(_PARSER_MODULES)


def _model_key(bundle: Bundle) -> str:
    """Which scores a cache entry holds: the model (version, creation time) and the feature code."""
    meta = bundle.meta or {}
    stamp = f"{bundle.version}|{meta.get('created', '')}|{meta.get('train_seconds', '')}".encode()
    return _digest(stamp, _source_digest(_SCORER_FILES).encode())[:16]


def _file_key(path: Path, version: str) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None  # parse_file reports why
    return _digest(version.encode(), str(path).encode(), data)[:32]


def _read_parse_cache(path: Path) -> Document | None:
    try:
        with path.open("rb") as handle:
            payload = pickle.load(handle)  # only files this module wrote, under the run's own folder
    except Exception:  # missing, truncated by an interruption, or from another version: parse again
        return None
    if (
        isinstance(payload, dict)
        and payload.get("kind") == "zhibiao-parse"
        and isinstance(payload.get("document"), Document)
    ):
        return payload["document"]
    return None


def _write_atomic(path: Path, data: bytes) -> None:
    # Write then rename: an interrupted run never leaves a half-written cache entry behind.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


class _ScoreCache:
    """Scores by (model, text) in SQLite; committed chunk by chunk so an interrupted run keeps them."""

    def __init__(self, path: Path | None, model: str, n_classes: int) -> None:
        self.model = model
        self.n_classes = n_classes
        self.conn = sqlite3.connect(path) if path is not None else None
        if self.conn is not None:
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS scores (model TEXT NOT NULL, key BLOB NOT NULL, proba BLOB NOT NULL,"
                " process REAL NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (model, key)) WITHOUT ROWID"
            )
            # Scores of other models (or of older feature code) can never be used again.
            self.conn.execute("DELETE FROM scores WHERE model != ?", (model,))
            self.conn.commit()

    @staticmethod
    def key(row: tuple[str, str, str]) -> bytes:
        return hashlib.blake2b("\x1f".join(row).encode(), digest_size=16).digest()

    def get(self, rows: Sequence[tuple[str, str, str]]) -> dict[int, tuple[np.ndarray, float, str]]:
        """Cached scores of ``rows`` by position."""
        found: dict[int, tuple[np.ndarray, float, str]] = {}
        if self.conn is None:
            return found
        keys = [self.key(row) for row in rows]
        position = {key: i for i, key in enumerate(keys)}
        for start in range(0, len(keys), 500):  # SQLite caps bound parameters per statement
            chunk = keys[start : start + 500]
            query = f"SELECT key, proba, process, reason FROM scores WHERE model = ? AND key IN ({','.join('?' * len(chunk))})"
            for key, proba, process, reason in self.conn.execute(query, [self.model, *chunk]):
                values = np.frombuffer(proba, dtype=np.float64)
                if len(values) == self.n_classes:
                    found[position[key]] = (values, float(process), reason)
        return found

    def put(self, rows: Sequence[tuple[str, str, str]], scores: RowScores) -> None:
        if self.conn is None:
            return
        reasons = scores.reasons or ("",) * len(rows)
        self.conn.executemany(
            "INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?)",
            [
                (
                    self.model,
                    self.key(row),
                    scores.proba[i].astype(np.float64).tobytes(),
                    float(scores.process[i]),
                    reasons[i],
                )
                for i, row in enumerate(rows)
            ],
        )
        self.conn.commit()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


# -------------------------------------------------------------------------------------------- parse


def _parse_safely(path: str) -> Document:
    """parse_file, which never raises for bad input; anything else (a reader bug) becomes a Problem."""
    try:
        return parse_file(path)
    except Exception as exc:  # one bad file must not stop a batch
        return _failed(path, exc)


def _failed(path: str, exc: BaseException) -> Document:
    detail = f"{type(exc).__name__}: {exc}".strip()[:300]
    return Document(path=path, layout="error", problems=(problem(path, 0, "E084", detail=detail),))


def parse_files(
    files: Sequence[Path],
    *,
    cache: Path | None = None,
    workers: int = 1,
    client: Any = None,
    progress: Progress = _quiet,
) -> tuple[list[Document], list[bool]]:
    """Parse ``files`` (in order), reusing and filling the parse cache; returns documents and which
    came from the cache. ``workers > 1`` parses in joblib processes, ``client`` on a Dask cluster."""
    version = parser_version()
    documents: list[Document | None] = [None] * len(files)
    cached = [False] * len(files)
    keys = [_file_key(path, version) if cache is not None else None for path in files]
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        for i, key in enumerate(keys):
            if key is not None and (document := _read_parse_cache(cache / f"{key}.pkl")) is not None:
                documents[i], cached[i] = document, True
    todo = [i for i, document in enumerate(documents) if document is None]
    done = len(files) - len(todo)
    progress("parse", done, len(files))

    def keep(i: int, document: Document) -> None:
        nonlocal done
        documents[i] = document
        key = keys[i]
        # Unreadable files are not cached: the cause (a permission, a file being written) may pass.
        if cache is not None and key is not None and document.layout != "error":
            payload = {"kind": "zhibiao-parse", "version": version, "document": document}
            _write_atomic(cache / f"{key}.pkl", pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
        done += 1
        progress("parse", done, len(files))

    for i, document in _parse_stream([str(files[i]) for i in todo], todo, workers=workers, client=client):
        keep(i, document)
    return [d for d in documents if d is not None], cached


def _parse_stream(
    paths: list[str], ids: list[int], *, workers: int, client: Any
) -> Iterator[tuple[int, Document]]:
    """(id, document) as files finish parsing, on a Dask cluster, in processes or here."""
    if client is not None and paths:
        from distributed import as_completed

        # Workers need not share our working directory: send absolute paths, give the documents back
        # the paths as given, so the output is the same as a run on this machine.
        futures = {
            client.submit(_parse_safely, os.path.abspath(path), pure=False): (i, path)
            for i, path in zip(ids, paths, strict=True)
        }
        for future in as_completed(futures):
            i, path = futures[future]
            try:
                yield i, _relocate(future.result(), path)
            except Exception as exc:  # the worker died or could not run the task
                yield i, _failed(path, exc)
        return
    if workers > 1 and len(paths) > 1 and _worth_processes(paths):
        from joblib import Parallel, delayed

        finished: set[int] = set()
        try:
            results = Parallel(n_jobs=min(workers, len(paths)), return_as="generator_unordered")(
                delayed(_tagged_parse)(i, path) for i, path in zip(ids, paths, strict=True)
            )
            for i, document in results:
                finished.add(i)
                yield i, document
            return
        except Exception:  # a worker process died (out of memory, a crash in a reader): go on here
            ids_paths = [(i, p) for i, p in zip(ids, paths, strict=True) if i not in finished]
            ids, paths = [i for i, _ in ids_paths], [p for _, p in ids_paths]
    for i, path in zip(ids, paths, strict=True):
        yield i, _parse_safely(path)


def _relocate(document: Document, path: str) -> Document:
    """The document as if parsed from ``path`` (its problems name that path too)."""
    if document.path == path:
        return document
    problems = tuple(replace(p, path=path) if p.path == document.path else p for p in document.problems)
    return replace(document, path=path, problems=problems)


def _worth_processes(paths: Sequence[str]) -> bool:
    """Whether parsing these files takes long enough to pay for starting worker processes (~1 s)."""
    if any(Path(path).suffix.lower() in _SLOW_SUFFIXES for path in paths):
        return True
    return sum(os.path.getsize(path) for path in paths if os.path.isfile(path)) >= _PARALLEL_MIN_BYTES


def _tagged_parse(i: int, path: str) -> tuple[int, Document]:
    return i, _parse_safely(path)


# -------------------------------------------------------------------------------------------- score

_WORKER_BUNDLES: dict[str, Bundle] = {}


def _score_chunk(bundle: Bundle | str, rows: list[tuple[str, str, str]]) -> RowScores:
    """Score one chunk of distinct rows (in a worker: a model path is loaded once per process)."""
    if isinstance(bundle, str):
        if bundle not in _WORKER_BUNDLES:
            from nlp.model import load_model

            _WORKER_BUNDLES[bundle] = load_model(Path(bundle))
        bundle = _WORKER_BUNDLES[bundle]
    return score_rows(bundle, rows)


def score_distinct(
    bundle: Bundle,
    rows: Sequence[tuple[str, str, str]],
    *,
    cache: Path | None = None,
    workers: int = 1,
    client: Any = None,
    model_path: Path | None = None,
    progress: Progress = _quiet,
) -> tuple[RowScores, int]:
    """Scores (probabilities, process probability, reason) of distinct ``rows``, and how many came from
    the cache. New scores are computed in chunks (in joblib processes with ``workers > 1``, on a Dask
    cluster with ``client``) and cached as each chunk finishes."""
    n_classes = len(bundle.classes)
    proba = np.zeros((len(rows), n_classes))
    process = np.zeros(len(rows))
    reasons: list[str] = [""] * len(rows)
    store = _ScoreCache(cache, _model_key(bundle), n_classes)
    with closing(store):
        found = store.get(rows)
        for i, (values, pr, reason) in found.items():
            proba[i], process[i], reasons[i] = values, pr, reason
        missing = [i for i in range(len(rows)) if i not in found]
        reused = len(found)
        done = reused
        progress("classify", done, len(rows))
        chunks = [missing[start : start + CHUNK_ROWS] for start in range(0, len(missing), CHUNK_ROWS)]
        for ids, scores in _score_stream(
            bundle, rows, chunks, workers=workers, client=client, model_path=model_path
        ):
            proba[ids], process[ids] = scores.proba, scores.process
            for i, reason in zip(ids, scores.reasons, strict=True):
                reasons[i] = reason
            store.put([rows[i] for i in ids], scores)
            done += len(ids)
            progress("classify", done, len(rows))
    return RowScores(proba, process, tuple(reasons)), reused


def _score_stream(
    bundle: Bundle,
    rows: Sequence[tuple[str, str, str]],
    chunks: list[list[int]],
    *,
    workers: int,
    client: Any,
    model_path: Path | None,
) -> Iterator[tuple[list[int], RowScores]]:
    texts = [[rows[i] for i in ids] for ids in chunks]
    if client is not None and chunks:
        from distributed import as_completed

        shared = client.scatter(bundle, broadcast=True)  # the model travels to each worker once
        futures = {
            client.submit(_score_chunk, shared, chunk, pure=False): ids
            for ids, chunk in zip(chunks, texts, strict=True)
        }
        for future in as_completed(futures):
            yield futures[future], future.result()
        return
    total = sum(len(ids) for ids in chunks)
    if workers > 1 and total >= _PARALLEL_MIN_ROWS and len(chunks) > 1:
        from joblib import Parallel, delayed

        # Workers load the model file once each; a bundle without a file is sent with every chunk.
        payload: Bundle | str = str(model_path) if model_path is not None else bundle
        results = Parallel(n_jobs=min(workers, len(chunks)), return_as="generator")(
            delayed(_score_chunk)(payload, chunk) for chunk in texts
        )
        yield from zip(chunks, results, strict=True)
        return
    for ids, chunk in zip(chunks, texts, strict=True):
        yield ids, score_rows(bundle, chunk)


# ---------------------------------------------------------------------------------------------- run


def _connect(scheduler: str | None) -> Any:
    if not scheduler:
        return None
    try:
        from distributed import Client

        return Client(scheduler, timeout=_CONNECT_TIMEOUT)
    except Exception as exc:  # OSError, TimeoutError, ValueError for a bad address
        raise ZhibiaoError("E081", address=scheduler, detail=f"{type(exc).__name__}: {exc}"[:300]) from exc


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

    client = _connect(scheduler)
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
