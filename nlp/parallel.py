"""Parallel work of a batch run: parsing files and scoring distinct texts, in joblib processes on this
machine or on a Dask cluster (``--scheduler``), with the caches of :mod:`nlp.cache`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from nlp.cache import _file_key, _model_key, _read_parse_cache, _ScoreCache, parser_version, write_parse_cache
from nlp.errors import ZhibiaoError, problem
from nlp.model import CHUNK_ROWS, Bundle, RowScores, score_rows
from nlp.parse import parse_file
from nlp.records import Document

__all__ = ["Progress", "parse_files", "score_distinct", "connect", "shutdown_pools"]

# Below this many texts to score, starting worker processes costs more than it saves.
_PARALLEL_MIN_ROWS = 4 * CHUNK_ROWS
_CONNECT_TIMEOUT = "10s"
# Text parses at several MB/s; PDF, Word and Excel readers are far slower.
_PARALLEL_MIN_BYTES = 1 << 20
_SLOW_SUFFIXES = (".pdf", ".docx", ".doc", ".xlsx", ".xlsm", ".xls")

Progress = Callable[[str, int, int], None]


def _quiet(stage: str, done: int, total: int) -> None:
    """The default progress callback: says nothing."""


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
    keys: Sequence[str | None] | None = None,
    workers: int = 1,
    client: Any = None,
    progress: Progress = _quiet,
) -> tuple[list[Document], list[bool]]:
    """Parse ``files`` (in order), reusing and filling the parse cache; returns documents and which
    came from the cache. ``workers > 1`` parses in joblib processes, ``client`` on a Dask cluster."""
    version = parser_version()
    documents: list[Document | None] = [None] * len(files)
    cached = [False] * len(files)
    if keys is None:
        keys = [_file_key(path, version) if cache is not None else None for path in files]
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        for i, key in enumerate(keys):
            if key is not None and (document := _read_parse_cache(cache / f"{key}.json")) is not None:
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
            write_parse_cache(cache / f"{key}.json", document, version=version)
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
            from nlp.persist import load_model

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


# ---------------------------------------------------------------------------------------- dask


def connect(scheduler: str | None) -> Any:
    if not scheduler:
        return None
    try:
        from distributed import Client

        return Client(scheduler, timeout=_CONNECT_TIMEOUT)
    except Exception as exc:  # OSError, TimeoutError, ValueError for a bad address
        raise ZhibiaoError("E081", address=scheduler, detail=f"{type(exc).__name__}: {exc}"[:300]) from exc


def shutdown_pools() -> None:
    """Stop joblib's worker processes now (they otherwise idle for minutes, waiting for more work): every
    exit path of a run calls this, so no worker outlives it, whether it finished, failed or was stopped."""
    from joblib.externals.loky import reusable_executor

    executor = getattr(reusable_executor, "_executor", None)
    if executor is not None:
        executor.shutdown(wait=True, kill_workers=True)
        reusable_executor._executor = None
