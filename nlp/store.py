"""The review store: documents, indicators, the model's predictions and flags, clusters and decisions.

SQLAlchemy 2 Core over SQLite (the embedded default, ``var/zhibiao.sqlite``) or PostgreSQL
(``postgresql+psycopg://…``); the schema is created and upgraded by the Alembic migrations in
``nlp/migrations`` whenever a store is opened. Every statement is built with SQLAlchemy, so values are
always bound parameters.

Indicators have a natural key (document, project, name, declared code, occurrence) so re-loading a
document updates its rows in place; decisions are append-only (database triggers refuse UPDATE and
DELETE) and survive any number of re-loads.

>>> db = open_store("sqlite://")
>>> reviewed_labels(db)
[]
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Connection,
    Engine,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool

from nlp.errors import ZhibiaoError
from nlp.records import Document, Indicator, Problem
from nlp.schema import (
    cluster_members,
    clusters,
    current_decisions,
    decisions,
    documents,
    documents_in_store,
    flags,
    indicators,
    inserted_id,
    metadata,
    predictions,
    projects,
    reviewers,
    settings,
)

__all__ = [
    "Store",
    "StoreError",
    "LoadReport",
    "store_documents",
    "active_documents",
    "active_document_names",
    "loaded_documents",
    "document_name",
    "replace_clusters",
    "ACTIONS",
    "default_url",
    "open_store",
    "migrate",
    "reviewed_labels",
    "natural_key",
    "get_setting",
    "utcnow",
    "metadata",
]

ROOT = Path(__file__).resolve().parents[1]
_T = TypeVar("_T")
MIGRATIONS = Path(__file__).resolve().parent / "migrations"

#: Indicators stored per transaction (whole documents only; see :func:`store_documents`).
TRANSACTION_ROWS = 5_000
#: Decision actions (``undo`` withdraws the reviewer's own decision still in force).
ACTIONS: tuple[str, ...] = ("accept", "keep", "choose", "process", "skip", "undo")


class StoreError(ZhibiaoError):
    """The store could not be opened, or a request to it was invalid."""


def utcnow() -> datetime:
    """Naive UTC time: SQLite keeps no time zone, so every timestamp in the store is UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


# ----------------------------------------------------------------------------------------- opening


def default_url() -> str:
    """``$ZHIBIAO_DB`` if set, else the SQLite file ``var/zhibiao.sqlite`` under the working directory."""
    return os.environ.get("ZHIBIAO_DB") or f"sqlite:///{Path('var') / 'zhibiao.sqlite'}"


class Store:
    """An open store: the engine plus short-lived transactions for reading and writing.

    ``write()`` starts SQLite transactions with BEGIN IMMEDIATE: a transaction that read first and then
    tries to write fails at once with "database is locked" instead of waiting, so writers take the
    write lock up front and queue on the busy timeout.
    """

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url

    @property
    def safe_url(self) -> str:
        """The URL with any password hidden, for messages."""
        return _safe(self.url)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(zhibiao_write=True)
            with conn.begin():
                yield conn

    def close(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Store({self.safe_url!r})"


def _sqlite_engine(url: str) -> Engine:
    memory = url in ("sqlite://", "sqlite:///:memory:")
    # An in-memory database lives in one connection: share it (tests and doctests only).
    extra: dict[str, Any] = {"poolclass": StaticPool} if memory else {}
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **extra)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Autocommit at the driver level: SQLAlchemy's "begin" event below issues BEGIN itself.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON", "synchronous=NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("zhibiao_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def open_store(url: str | None = None, *, upgrade: bool = True) -> Store:
    """Open (and by default create or migrate) the store at ``url``.

    >>> open_store("sqlite://").is_sqlite
    True
    """
    url = url or default_url()
    try:
        if url.startswith("sqlite"):
            database = url.split("///", 1)[1] if "///" in url else ""
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            engine = _sqlite_engine(url)
        else:
            engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
        db = Store(engine, url)
        if upgrade:
            migrate(db)
        else:
            with db.read() as conn:
                conn.execute(select(func.count()).select_from(reviewers))
    except (SQLAlchemyError, ImportError, ValueError, OSError) as exc:
        detail = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        raise StoreError("E060", url=_safe(url), detail=detail) from exc
    return db


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparseable URL has no password we could hide
        return url


def migrate(db: Store, *, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` with the Alembic scripts shipped in ``nlp/migrations``."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db.write() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


# ---------------------------------------------------------------------------------------- feedback


def _as_store(db: Store | str) -> Store:
    return db if isinstance(db, Store) else open_store(db)


def reviewed_labels(db: Store | str) -> list[tuple[str, str, str, str]]:
    """Training labels from reviewers: (name, description, value, code) of the decision in force per
    indicator; ``code`` is the chosen leaf or ``"PR"``; skipped indicators give no label.

    >>> reviewed_labels(open_store("sqlite://"))
    []
    """
    current = current_decisions().subquery()
    query = (
        select(decisions.c.code_after, indicators)
        .join(current, current.c.id == decisions.c.id)
        .join(indicators, indicators.c.id == decisions.c.indicator_id)
        .where(decisions.c.action != "skip", decisions.c.code_after != "")
        .order_by(indicators.c.id)
    )
    with _as_store(db).read() as conn:
        rows = conn.execute(query).all()
    return [(row.name, row.description, row.annual_value or row.cycle_value, row.code_after) for row in rows]


def natural_key(*parts: object) -> str:
    """A fixed-width digest of a natural key, for unique indexes of bounded size."""
    joined = "\x1f".join(str(part) for part in parts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:40]


def get_setting(db: Store, key: str, default: Callable[[], str]) -> str:
    """A value from the settings table, created from ``default()`` on first use (e.g. the cookie key)."""
    with db.read() as conn:
        value = conn.execute(select(settings.c.value).where(settings.c.key == key)).scalar()
    if value is not None:
        return str(value)
    with db.write() as conn:
        value = conn.execute(select(settings.c.value).where(settings.c.key == key)).scalar()
        if value is None:
            value = default()
            conn.execute(settings.insert().values(key=key, value=value))
    return str(value)


# -------------------------------------------------------------------------------------------- load


@dataclass(frozen=True)
class LoadReport:
    """What one load did: indicators added, updated and retired, flags, clusters, decisions kept."""

    documents: int
    indicators: int
    added: int
    updated: int
    retired: int
    flagged: int
    clusters: int
    decisions_kept: int
    model_version: str
    problems: tuple[Problem, ...] = ()


def store_documents(
    db: Store,
    documents: Sequence[Document],
    *,
    predictions: Sequence[Any],
    verdicts: Sequence[Any],
    model_version: str,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    """Store parsed documents with the model's predictions and verdicts (parallel to their indicators).

    Each document (its projects, indicators, predictions and flags) is stored whole in one transaction,
    with as many whole documents as make about ``TRANSACTION_ROWS`` indicators (a commit costs ~10 ms):
    an interrupted load leaves every document either as it was or wholly replaced. Rows go in bulk —
    the driver's executemany on SQLite, ``COPY`` on PostgreSQL — never one statement per indicator.

    Re-loading a document updates its indicators in place (natural key: document, project, name, declared
    code, occurrence); indicators it no longer has are retired, never deleted, so every decision
    survives. Clusters are stored separately (:func:`replace_clusters`); the store never runs a model:
    :func:`nlp.annotate.load_documents` computes and hands everything over.
    """
    docs = list(documents)
    items = [indicator for document in docs for indicator in document.indicators]
    preds, found = list(predictions), list(verdicts)
    if not len(preds) == len(found) == len(items):
        raise StoreError(
            "E078", detail=f"{len(items)} indicators but {len(preds)} predictions and {len(found)} verdicts"
        )
    now = utcnow()
    counts = {"added": 0, "updated": 0, "retired": 0}
    kept, start, done = 0, 0, 0
    for group in _transactions(docs):
        with db.write() as conn:
            ids: list[int] = []
            for document in group:
                n = sum(len(project.indicators) for project in document.projects)
                doc_ids, new = _upsert_document(conn, document, now, counts)
                _replace_model_output(
                    conn, doc_ids, preds[start : start + n], found[start : start + n], model_version, now,
                    new=new,
                )  # fmt: skip
                ids += doc_ids
                start += n
            kept += sum(
                conn.execute(select(func.count()).where(decisions.c.indicator_id.in_(chunk))).scalar_one()
                for chunk in _chunks(sorted(set(ids)))
            )
        done += len(group)
        if progress is not None:
            progress(done, len(docs))
    return LoadReport(
        documents=len(docs),
        indicators=len(items),
        flagged=sum(1 for verdict in found if verdict.flagged),
        clusters=0,
        decisions_kept=kept,
        model_version=model_version,
        problems=tuple(problem for document in docs for problem in document.problems),
        **counts,
    )


def _transactions(docs: Sequence[Document]) -> Iterator[list[Document]]:
    """Whole documents, grouped to about ``TRANSACTION_ROWS`` indicators a transaction."""
    group: list[Document] = []
    size = 0
    for document in docs:
        group.append(document)
        size += sum(len(project.indicators) for project in document.projects)
        if size >= TRANSACTION_ROWS:
            yield group
            group, size = [], 0
    if group:
        yield group


def loaded_documents(db: Store, names: Sequence[str]) -> dict[str, tuple[str, str]]:
    """(path, loaded_at as ISO text) of the documents ``names`` the store holds (a run's re-check)."""
    found: dict[str, tuple[str, str]] = {}
    with db.read() as conn:
        for chunk in _chunks(list(names)):
            query = select(documents.c.doc, documents.c.path, documents.c.loaded_at).where(
                documents.c.doc.in_(chunk)
            )
            for doc, path, loaded_at in conn.execute(query):
                found[doc] = (path, loaded_at.isoformat())
    return found


def active_document_names(db: Store) -> set[str]:
    """Names of the documents that have active projects (what clustering across loads spans)."""
    query = (
        select(documents.c.doc)
        .join(projects, projects.c.document_id == documents.c.id)
        .where(projects.c.active.is_(True))
        .distinct()
    )
    with db.read() as conn:
        return set(conn.execute(query).scalars())


def document_name(document: Document) -> str:
    """The name a document is stored under (its ``doc``, else its file name)."""
    return _doc_name(document)


def active_documents(db: Store) -> list[Document]:
    """Every active document in the store, rebuilt as records (what clustering across loads reads)."""
    with db.read() as conn:
        return documents_in_store(conn)


def _doc_name(document: Document) -> str:
    for project in document.projects:
        if project.doc:
            return project.doc
    return Path(document.path).name


def _chunks(ids: Sequence[_T], size: int = 500) -> Iterator[list[_T]]:
    # Bound the number of bound parameters per statement (SQLite and PostgreSQL both cap it).
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def _upsert_projects(
    conn: Connection,
    document: Document,
    doc: str,
    doc_id: int,
    old_projects: dict[str, int],
    occurrence: dict[tuple[str, ...], int],
) -> list[int]:
    """Store a document's projects (new ones in one executemany); their ids in document order."""
    project_keys: list[str] = []
    new_projects: list[dict[str, Any]] = []
    for project in document.projects:
        ident = ("project", project.name)
        key = natural_key(doc, *ident, occurrence.setdefault(ident, 0))
        occurrence[ident] += 1
        project_values = {
            "document_id": doc_id,
            "name": project.name,
            "department": project.department,
            "goal": project.goal,
            "budget": project.budget,
            "scheme": project.scheme,
            "line": project.line,
            "active": True,
        }
        if key in old_projects:
            conn.execute(update(projects).where(projects.c.id == old_projects[key]).values(**project_values))
        else:
            new_projects.append({"key": key, **project_values})
        project_keys.append(key)
    if new_projects:
        conn.execute(projects.insert(), new_projects)
        old_projects = dict(
            conn.execute(select(projects.c.key, projects.c.id).where(projects.c.document_id == doc_id)).all()
        )
    return [old_projects[key] for key in project_keys]


def _upsert_document(
    conn: Connection, document: Document, now: datetime, counts: dict[str, int]
) -> tuple[list[int], bool]:
    """Store one document's projects and indicators; (indicator ids in order, whether it was new)."""
    doc = _doc_name(document)
    values = {"path": document.path, "layout": document.layout, "problems": len(document.problems)}
    doc_id = conn.execute(select(documents.c.id).where(documents.c.doc == doc)).scalar()
    # A document new to the store has nothing to update, retire or replace: no statement looks for it.
    new = doc_id is None
    old_projects: dict[str, int] = {}
    old_indicators: dict[str, int] = {}
    if doc_id is None:
        doc_id = inserted_id(conn.execute(documents.insert().values(doc=doc, loaded_at=now, **values)))
    else:
        conn.execute(update(documents).where(documents.c.id == doc_id).values(loaded_at=now, **values))
        old_projects = dict(
            conn.execute(select(projects.c.key, projects.c.id).where(projects.c.document_id == doc_id)).all()
        )
        old_indicators = dict(
            conn.execute(
                select(indicators.c.key, indicators.c.id).where(indicators.c.document_id == doc_id)
            ).all()
        )
    occurrence: dict[tuple[str, ...], int] = {}
    ident: tuple[str, ...]
    seen_projects = _upsert_projects(conn, document, doc, doc_id, old_projects, occurrence)
    keys: list[str] = []
    added: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for project, project_id in zip(document.projects, seen_projects, strict=True):
        for indicator in project.indicators:
            ident = ("indicator", project.name, indicator.name, indicator.declared_code)
            key = natural_key(doc, *ident, occurrence.setdefault(ident, 0))
            occurrence[ident] += 1
            values = _indicator_values(indicator, doc_id, project_id, now)
            if key in old_indicators:
                counts["updated"] += 1
                changed.append({"row_id": old_indicators[key], **{f"v_{c}": v for c, v in values.items()}})
            else:
                counts["added"] += 1
                added.append({"key": key, **values})
            keys.append(key)
    # One executemany per kind instead of a statement per indicator: loads of 100k rows stay fast.
    if added:
        _bulk_insert(conn, indicators, added)
    if changed:
        columns = [c for c in changed[0] if c != "row_id"]
        conn.execute(
            update(indicators)
            .where(indicators.c.id == bindparam("row_id"))
            .values({c.removeprefix("v_"): bindparam(c) for c in columns}),
            changed,
        )
    by_key = dict(
        conn.execute(
            select(indicators.c.key, indicators.c.id).where(indicators.c.document_id == doc_id)
        ).all()
    )
    ids = [by_key[key] for key in keys]
    if new:
        return ids, True
    retired = conn.execute(
        update(indicators)
        .where(indicators.c.document_id == doc_id, indicators.c.active.is_(True), indicators.c.id.not_in(ids))
        .values(active=False, updated_at=now)
    )
    counts["retired"] += retired.rowcount or 0
    conn.execute(
        update(projects)
        .where(projects.c.document_id == doc_id, projects.c.id.not_in(seen_projects))
        .values(active=False)
    )
    return ids, False


def _indicator_values(indicator: Indicator, doc_id: int, project_id: int, now: datetime) -> dict[str, Any]:
    return {
        "document_id": doc_id,
        "project_id": project_id,
        "name": indicator.name,
        "description": indicator.description,
        "cycle_value": indicator.cycle_value,
        "annual_value": indicator.annual_value,
        "basis": indicator.basis,
        "declared_l1": indicator.declared_l1,
        "declared_l2": indicator.declared_l2,
        "declared_code": indicator.declared_code,
        "line": indicator.line,
        "active": True,
        "updated_at": now,
        "actual_value": indicator.actual_value,
        "weight": indicator.weight,
        "score": indicator.score,
        "deviation_reason": indicator.deviation_reason,
    }


def _bulk_insert(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) with the driver itself: PostgreSQL ``COPY`` (psycopg 3),
    else one DBAPI executemany — values converted by each column type's own bind processor, so they
    are stored exactly as SQLAlchemy would store them, without its per-row overhead."""
    names = list(rows[0])
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        import json

        as_json = {name for name in names if isinstance(table.c[name].type, JSON)}
        raw = conn.connection.driver_connection
        assert raw is not None
        columns = ", ".join(f'"{name}"' for name in names)
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(
                    [json.dumps(row[n], ensure_ascii=False) if n in as_json else row[n] for n in names]
                )
        return
    if conn.dialect.name != "sqlite":
        conn.execute(table.insert(), list(rows))
        return
    from operator import itemgetter

    convert = [
        (i, process)
        for i, name in enumerate(names)
        if (process := table.c[name].type.bind_processor(conn.dialect)) is not None
    ]
    columns = ", ".join(f'"{name}"' for name in names)
    sql = f'INSERT INTO "{table.name}" ({columns}) VALUES ({", ".join("?" * len(names))})'
    get = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    values: list[Any] = []
    for row in rows:
        value = get(row)
        if convert:
            cells = list(value)
            for i, process in convert:
                cells[i] = process(cells[i])
            value = tuple(cells)
        values.append(value)
    conn.exec_driver_sql(sql, values)


def _replace_model_output(
    conn: Connection,
    ids: Sequence[int],
    preds: Sequence[Any],
    found: Sequence[Any],
    version: str,
    now: datetime,
    *,
    new: bool = False,
) -> None:
    for chunk in [] if new else _chunks(sorted(set(ids))):
        conn.execute(delete(predictions).where(predictions.c.indicator_id.in_(chunk)))
        conn.execute(delete(flags).where(flags.c.indicator_id.in_(chunk)))
    pred_rows = [
        {
            "indicator_id": iid,
            "model_version": version,
            "code": pred.code,
            "l1": pred.l1,
            "l2": pred.l2,
            "confidence": float(pred.confidence),
            "top": [[str(code), float(p)] for code, p in pred.top],
            "reason": pred.reason,
            "created_at": now,
        }
        for iid, pred in zip(ids, preds, strict=True)
    ]
    flag_rows = [
        {
            "indicator_id": iid,
            "model_version": version,
            "reasons": list(verdict.reasons),
            "suggested_code": verdict.suggested_code,
            "score": float(verdict.score),
            "explanation": verdict.explanation,
            "probability": verdict.probability,
            "top": [[str(code), float(p)] for code, p in verdict.top],
            "tier": verdict.tier or "flagged",
            "created_at": now,
        }
        for iid, verdict in zip(ids, found, strict=True)
        # flags and the review tier (worth a look, kept apart from flags by ``tier``)
        if verdict.flagged or verdict.tier == "review"
    ]
    # A document listing the same indicator twice maps both to one row: keep the last output for it.
    for table, rows in ((predictions, pred_rows), (flags, flag_rows)):
        unique = list({row["indicator_id"]: row for row in rows}.values())
        if unique:
            _bulk_insert(conn, table, unique)


def replace_clusters(db: Store, found: Sequence[tuple[str, Any]]) -> int:
    """Replace the stored clusters with ``found`` ((level, cluster) pairs) in one transaction; returns
    their count. Clusters and members go in bulk (ids assigned here, so no round trip per cluster).

    Several indicators can share a line (file 000 puts a whole project on one), so members are matched
    by their shown text first and by position only for goal- and set-level members.
    """
    query = (
        select(indicators.c.id, documents.c.doc, projects.c.name.label("project"), indicators.c.line,
               indicators.c.name, indicators.c.annual_value, indicators.c.cycle_value)
        .join(documents, documents.c.id == indicators.c.document_id)
        .join(projects, projects.c.id == indicators.c.project_id)
        .where(indicators.c.active.is_(True))
        .order_by(indicators.c.id)
    )  # fmt: skip
    by_text: dict[tuple[str, str, int, str], int] = {}
    by_line: dict[tuple[str, str, int], int] = {}
    with db.read() as conn:
        for iid, doc, project, line, name, annual, cycle in conn.execute(query):
            value = annual or cycle
            by_text.setdefault((doc, project, line, f"{name}：{value}" if value else name), iid)
            by_line.setdefault((doc, project, line), iid)
    now = utcnow()
    cluster_rows: list[dict[str, Any]] = []
    member_rows: list[dict[str, Any]] = []
    for cluster_id, (level, cluster) in enumerate(found, start=1):
        cluster_rows.append(
            {
                "id": cluster_id,
                "label": str(getattr(cluster, "id", "")),
                "level": str(getattr(cluster, "level", level)),
                "size": int(getattr(cluster, "size", len(cluster.members))),
                "representative": str(getattr(cluster, "representative", "")),
                "mean_similarity": float(getattr(cluster, "mean_similarity", 0.0)),
                "departments": list(getattr(cluster, "departments", ())),
                "created_at": now,
            }
        )
        member_rows += [
            {
                "cluster_id": cluster_id,
                "indicator_id": by_text.get((m.doc, m.project, m.line, m.text))
                or by_line.get((m.doc, m.project, m.line)),
                "doc": m.doc,
                "department": m.department,
                "project": m.project,
                "line": int(m.line),
                "text": m.text,
                "similarity": float(m.similarity),
                "diff": str(getattr(m, "diff", "") or ""),
            }
            for m in cluster.members
        ]
    with db.write() as conn:
        conn.execute(delete(cluster_members))
        conn.execute(delete(clusters))
        if cluster_rows:
            _bulk_insert(conn, clusters, cluster_rows)
        if member_rows:
            _bulk_insert(conn, cluster_members, member_rows)
        if conn.dialect.name == "postgresql" and cluster_rows:
            # Ids were given explicitly: move the sequence past them for inserts that let it choose.
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence('clusters', 'id'), :n)"), {"n": len(cluster_rows)}
            )
    return len(found)
