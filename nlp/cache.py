"""Caches of a batch run under ``OUT/.cache``: parsed files and scored texts.

Keys come from content: a parsed file is keyed by its bytes, its path and the parser's source (every
module under ``nlp/readers`` and the rest that decides a parse, with the package version); a score by the
text, the model bundle and the feature code. Entries are written atomically, so an interrupted run never
leaves half an entry behind.

Parsed files are stored as JSON (the records as :func:`dataclasses.asdict` gives them), never pickled:
the output folder may be shared or copied, and unpickling a file planted there would run its code. A
cache entry can only ever be read back as records.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np

from nlp.model import Bundle, RowScores
from nlp.records import Document, Indicator, Problem, Project

__all__ = [
    "parser_version",
    "output_version",
    "file_digest",
    "document_to_json",
    "document_from_json",
    "write_parse_cache",
    "read_manifest",
    "write_manifest",
]

# Sources whose content decides what a file parses to, and what a text scores to (globs under nlp/).
_PARSER_SOURCES = ("parse.py", "readers/*.py", "records.py", "taxonomy.py", "errors.py")
_SCORER_SOURCES = ("model.py", "features.py", "segment.py", "values.py", "taxonomy.py", "data/*")
# What decides a run's outputs once documents are parsed and texts scored.
_OUTPUT_SOURCES = ("run.py", "run_report.py", "tabular.py", "audit.py", "cluster.py", "diffs.py", "report.py",
                   "annotate.py", "store.py", "schema.py")  # fmt: skip


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


def output_version() -> str:
    """A digest of the code that turns parses and scores into the run's outputs and store rows."""
    return _source_digest(_OUTPUT_SOURCES)


def file_digest(path: Path) -> str | None:
    """A digest of a file's bytes (``None`` when it cannot be read)."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while block := handle.read(1 << 20):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()[:32]


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


# ------------------------------------------------------------------------------------- parse cache

_PARSE_KIND = "zhibiao-parse"
_PARSE_FORMAT = 1
#: The fields of each record that are themselves records (tuples of them).
_NESTED: dict[type, dict[str, type]] = {
    Document: {"projects": Project, "problems": Problem, "passed_over": Problem},
    Project: {"indicators": Indicator},
    Indicator: {},
    Problem: {},
}
# Declared field types, as ``from __future__ import annotations`` leaves them, and what JSON gives back.
_SCALARS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float | None": (float, int, type(None)),
}


def _entry_path(path: Path) -> Path:
    """Where the entry named ``path`` lives: always a .json file, whatever suffix the caller gave."""
    return path.with_suffix(".json")


def document_to_json(document: Document, *, version: str = "") -> bytes:
    """A parse-cache entry: the document as JSON.

    >>> from nlp.records import Document
    >>> document_from_json(document_to_json(Document(path="a.txt", layout="coded")))
    Document(path='a.txt', layout='coded', projects=(), problems=(), passed_over=())
    """
    entry = {"kind": _PARSE_KIND, "format": _PARSE_FORMAT, "version": version, "document": asdict(document)}
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def document_from_json(data: bytes) -> Document:
    """The document in a parse-cache entry; ``ValueError`` when it is not exactly one."""
    entry = json.loads(data.decode("utf-8"))
    if (
        not isinstance(entry, dict)
        or entry.get("kind") != _PARSE_KIND
        or entry.get("format") != _PARSE_FORMAT
    ):
        raise ValueError("not a zhibiao parse-cache entry")
    document = _record(Document, entry.get("document"))
    assert isinstance(document, Document)
    return document


def _record(kind: type, data: Any) -> Any:
    """Rebuild one record from its dict, checking every field's name and type (nothing else is built)."""
    names = [f.name for f in fields(kind)]
    if not isinstance(data, dict) or set(data) != set(names):
        raise ValueError(f"{kind.__name__}: fields {sorted(data) if isinstance(data, dict) else data!r}")
    nested = _NESTED[kind]
    values: dict[str, Any] = {}
    for f in fields(kind):
        value = data[f.name]
        if f.name in nested:
            if not isinstance(value, list):
                raise ValueError(f"{kind.__name__}.{f.name}: expected a list")
            values[f.name] = tuple(_record(nested[f.name], item) for item in value)
            continue
        allowed = _SCALARS.get(str(f.type))
        if allowed is None or not isinstance(value, allowed) or isinstance(value, bool):
            raise ValueError(f"{kind.__name__}.{f.name}: unexpected {type(value).__name__}")
        values[f.name] = value
    return kind(**values)


def _read_parse_cache(path: Path) -> Document | None:
    """The cached document of entry ``path``, or ``None`` (then the file is parsed again).

    Only the JSON entry is read: a pickle beside it, or under its name, is never loaded.
    """
    try:
        return document_from_json(_entry_path(path).read_bytes())
    except (OSError, ValueError, TypeError):  # missing, truncated, foreign or from another version
        return None


def write_parse_cache(path: Path, document: Document, *, version: str = "") -> None:
    """Store ``document`` as the JSON entry ``path`` (atomically)."""
    _write_atomic(_entry_path(path), document_to_json(document, version=version))


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


# ---------------------------------------------------------------------------------------- manifest

_MANIFEST_KIND = "zhibiao-run"


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest a finished run left in ``path`` (JSON), or ``None`` when there is none usable."""
    try:
        entry = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError):
        return None
    return entry if isinstance(entry, dict) and entry.get("kind") == _MANIFEST_KIND else None


def write_manifest(path: Path, entry: dict[str, Any]) -> None:
    """Store a run's manifest (atomically)."""
    data = {"kind": _MANIFEST_KIND, **entry}
    _write_atomic(path, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
