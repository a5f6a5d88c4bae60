"""Caches of a batch run under ``OUT/.cache``: parsed files and scored texts.

Keys come from content: a parsed file is keyed by its bytes, its path and the parser's source (every
module under ``nlp/readers`` and the rest that decides a parse, with the package version); a score by the
text, the model bundle and the feature code. Entries are written atomically, so an interrupted run never
leaves half an entry behind.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nlp.model import Bundle, RowScores
from nlp.records import Document

__all__ = ["parser_version"]

# Sources whose content decides what a file parses to, and what a text scores to (globs under nlp/).
_PARSER_SOURCES = ("parse.py", "readers/*.py", "records.py", "taxonomy.py", "errors.py")
_SCORER_SOURCES = ("model.py", "features.py", "segment.py", "values.py", "taxonomy.py", "data/*")


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def _source_digest(patterns: Sequence[str]) -> str:
    """A digest of the package version and the content of every file matching ``patterns`` (globs under
    ``nlp/``): moving or renaming a module changes the key, so no cache outlives the code that wrote it."""
    from importlib.metadata import PackageNotFoundError, version

    here = Path(__file__).resolve().parent
    try:
        package = version("zhibiao")
    except PackageNotFoundError:
        package = "unknown"
    files = sorted({path for pattern in patterns for path in here.glob(pattern) if path.is_file()})
    parts = [package.encode()]
    for path in files:
        parts += [path.relative_to(here).as_posix().encode(), path.read_bytes()]
    return _digest(*parts)[:16]


def parser_version() -> str:
    """A digest of the parser's source: cached parses are reused only by the same parser.

    >>> len(parser_version())
    16
    """
    return _source_digest(_PARSER_SOURCES)


def _model_key(bundle: Bundle) -> str:
    """Which scores a cache entry holds: the model (version, creation time) and the feature code."""
    meta = bundle.meta or {}
    stamp = f"{bundle.version}|{meta.get('created', '')}|{meta.get('train_seconds', '')}".encode()
    return _digest(stamp, _source_digest(_SCORER_SOURCES).encode())[:16]


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
