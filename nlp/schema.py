"""The store's tables (SQLAlchemy Core): what the Alembic migrations in ``nlp/migrations`` build.

documents -> projects -> indicators, each indicator with at most one current prediction and flag
(replaced on re-load), clusters with their members, reviewers, and the append-only decisions.
``tests/test_store.py`` checks that the migrated database and these tables agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.sql import Select

from nlp.records import Document, Indicator, Project

__all__ = [
    "metadata",
    "documents",
    "projects",
    "indicators",
    "predictions",
    "flags",
    "clusters",
    "cluster_members",
    "reviewers",
    "decisions",
    "settings",
    "sessions",
    "login_attempts",
    "bulk_actions",
    "bulk_decisions",
    "assignments",
    "current_decisions",
    "effective_decisions",
    "indicator_select",
    "indicator_record",
    "indicator_records",
    "documents_in_store",
    "inserted_id",
]


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

documents = Table(
    "documents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("doc", String(255), nullable=False, unique=True),
    Column("path", Text, nullable=False),
    Column("layout", String(40), nullable=False),
    Column("problems", Integer, nullable=False),
    Column("loaded_at", DateTime, nullable=False),
)

projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("document_id", Integer, ForeignKey("documents.id"), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("department", String(255), nullable=False, index=True),
    Column("goal", Text, nullable=False),
    Column("budget", Float, nullable=True),
    Column("scheme", String(16), nullable=False),
    Column("line", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
)

indicators = Table(
    "indicators",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("document_id", Integer, ForeignKey("documents.id"), nullable=False, index=True),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("cycle_value", Text, nullable=False),
    Column("annual_value", Text, nullable=False),
    Column("basis", Text, nullable=False),
    Column("declared_l1", String(64), nullable=False),
    Column("declared_l2", String(64), nullable=False),
    Column("declared_code", String(4), nullable=False),
    Column("line", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    # Self-evaluation tables only (migration 0002); empty for target tables.
    Column("actual_value", Text, nullable=False, server_default=""),
    Column("weight", Text, nullable=False, server_default=""),
    Column("score", Text, nullable=False, server_default=""),
    Column("deviation_reason", Text, nullable=False, server_default=""),
)

predictions = Table(
    "predictions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("indicator_id", Integer, ForeignKey("indicators.id"), nullable=False, unique=True),
    Column("model_version", String(64), nullable=False),
    Column("code", String(4), nullable=False),
    Column("l1", String(64), nullable=False),
    Column("l2", String(64), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("top", JSON, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

flags = Table(
    "flags",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("indicator_id", Integer, ForeignKey("indicators.id"), nullable=False, unique=True),
    Column("model_version", String(64), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("suggested_code", String(4), nullable=False),
    Column("score", Float, nullable=False, index=True),
    Column("explanation", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    # Migration 0003: the audit's own probabilities, so the card, the top-3 and the explanation quote one
    # distribution (NULL where the loader did not supply them); the tier ("flagged" or "review").
    Column("probability", Float, nullable=True),
    Column("top", JSON, nullable=True),
    Column("tier", String(8), nullable=False, server_default="flagged"),
)

clusters = Table(
    "clusters",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("label", String(64), nullable=False),
    Column("level", String(32), nullable=False, index=True),
    Column("size", Integer, nullable=False),
    Column("representative", Text, nullable=False),
    Column("mean_similarity", Float, nullable=False),
    Column("departments", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

cluster_members = Table(
    "cluster_members",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("cluster_id", Integer, ForeignKey("clusters.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("indicator_id", Integer, ForeignKey("indicators.id"), nullable=True, index=True),
    Column("doc", String(255), nullable=False),
    Column("department", String(255), nullable=False),
    Column("project", Text, nullable=False),
    Column("line", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("similarity", Float, nullable=False),
    Column("diff", Text, nullable=False),
)

reviewers = Table(
    "reviewers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("is_admin", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("indicator_id", Integer, ForeignKey("indicators.id"), nullable=False, index=True),
    Column("reviewer_id", Integer, ForeignKey("reviewers.id"), nullable=False, index=True),
    Column("created_at", DateTime, nullable=False),
    Column("action", String(16), nullable=False),
    Column("code_before", String(4), nullable=False),
    Column("code_after", String(4), nullable=False),
    Column("suggested_code", String(4), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("comment", Text, nullable=False),
    Column("undoes_id", Integer, ForeignKey("decisions.id"), nullable=True, index=True),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# ----------------------------------------------------------------- the workbench (migration 0003)

#: Signed-in browser sessions, by the SHA-256 of the random id kept in the session cookie: logging out
#: (or an administrator) revokes the row, and a copied cookie is worthless from then on.
sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("reviewer_id", Integer, ForeignKey("reviewers.id"), nullable=False, index=True),
    Column("address", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("revoked_at", DateTime, nullable=True),
)

#: Every sign-in attempt ("fail", "ok") and every lifted lockout ("unlock"); lockouts are read from it.
login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, index=True),
    Column("address", String(64), nullable=False, index=True),
    Column("outcome", String(8), nullable=False),
    Column("created_at", DateTime, nullable=False, index=True),
)

#: One reviewer action applied to many indicators; each indicator still gets its own decision row,
#: linked here, so the trail stays one decision per indicator and the bulk can be undone as one.
bulk_actions = Table(
    "bulk_actions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reviewer_id", Integer, ForeignKey("reviewers.id"), nullable=False, index=True),
    Column("created_at", DateTime, nullable=False),
    Column("action", String(16), nullable=False),
    Column("code", String(4), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("description", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("undoes_id", Integer, ForeignKey("bulk_actions.id"), nullable=True, index=True),
)

bulk_decisions = Table(
    "bulk_decisions",
    metadata,
    Column("decision_id", Integer, ForeignKey("decisions.id"), primary_key=True),
    Column("bulk_id", Integer, ForeignKey("bulk_actions.id"), nullable=False, index=True),
)

#: Double review: an indicator given to a reviewer; assigned reviewers decide blind (they do not see
#: each other's decision on it until every assigned reviewer has decided).
assignments = Table(
    "assignments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("indicator_id", Integer, ForeignKey("indicators.id"), nullable=False, index=True),
    Column("reviewer_id", Integer, ForeignKey("reviewers.id"), nullable=False, index=True),
    Column("assigned_by", Integer, ForeignKey("reviewers.id"), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("indicator_id", "reviewer_id", name="uq_assignments_indicator_reviewer"),
)


# ------------------------------------------------------------------------------------ shared queries


def current_decisions() -> Select[Any]:
    """The decision in force per indicator: the latest one that is neither an undo nor undone.

    A subquery with columns (indicator_id, id); join ``decisions`` on ``id`` to read it.
    """
    undone = select(decisions.c.undoes_id).where(decisions.c.undoes_id.is_not(None))
    return (
        select(decisions.c.indicator_id, func.max(decisions.c.id).label("id"))
        .where(decisions.c.action != "undo", decisions.c.id.not_in(undone))
        .group_by(decisions.c.indicator_id)
    )


def effective_decisions() -> Select[Any]:
    """Every decision still in force (not an undo, not undone), oldest first."""
    undone = select(decisions.c.undoes_id).where(decisions.c.undoes_id.is_not(None))
    return (
        select(decisions)
        .where(decisions.c.action != "undo", decisions.c.id.not_in(undone))
        .order_by(decisions.c.id)
    )


def inserted_id(result: Any) -> int:
    """The primary key an INSERT created."""
    key = result.inserted_primary_key
    if key is None:  # pragma: no cover - only for executemany, which no caller uses with this
        raise ValueError("the statement inserted no row")
    return int(key[0])


def indicator_select() -> Select[Any]:
    return (
        select(
            indicators.c.id,
            indicators.c.project_id,
            documents.c.doc,
            projects.c.department,
            projects.c.name.label("project"),
            projects.c.goal,
            projects.c.budget,
            projects.c.scheme,
            indicators.c.declared_l1,
            indicators.c.declared_l2,
            indicators.c.declared_code,
            indicators.c.name,
            indicators.c.description,
            indicators.c.cycle_value,
            indicators.c.annual_value,
            indicators.c.basis,
            indicators.c.line,
            indicators.c.actual_value,
            indicators.c.weight,
            indicators.c.score,
            indicators.c.deviation_reason,
        )
        .join(projects, projects.c.id == indicators.c.project_id)
        .join(documents, documents.c.id == indicators.c.document_id)
    )


def indicator_record(row: Any) -> Indicator:
    return Indicator(
        doc=row.doc,
        department=row.department,
        project=row.project,
        goal=row.goal,
        budget=row.budget,
        scheme=row.scheme,
        declared_l1=row.declared_l1,
        declared_l2=row.declared_l2,
        declared_code=row.declared_code,
        name=row.name,
        description=row.description,
        cycle_value=row.cycle_value,
        annual_value=row.annual_value,
        basis=row.basis,
        line=row.line,
        actual_value=row.actual_value,
        weight=row.weight,
        score=row.score,
        deviation_reason=row.deviation_reason,
    )


def indicator_records(
    conn: Connection, ids: Sequence[int] | None = None, *, active: bool = True
) -> dict[int, Indicator]:
    """Indicators as :class:`~nlp.records.Indicator` records by id (all active ones, or ``ids``)."""
    query = indicator_select().order_by(indicators.c.id)
    if ids is not None:
        query = query.where(indicators.c.id.in_(list(ids)))
    elif active:
        query = query.where(indicators.c.active.is_(True))
    return {row.id: indicator_record(row) for row in conn.execute(query)}


def documents_in_store(conn: Connection) -> list[Document]:
    """The active documents rebuilt as records (what clustering and evaluation read)."""
    by_project: dict[int, list[Indicator]] = {}
    for row in conn.execute(
        indicator_select().where(indicators.c.active.is_(True)).order_by(indicators.c.id)
    ):
        by_project.setdefault(row.project_id, []).append(indicator_record(row))
    rows = conn.execute(
        select(projects, documents.c.doc, documents.c.path, documents.c.layout)
        .join(documents, documents.c.id == projects.c.document_id)
        .where(projects.c.active.is_(True))
        .order_by(documents.c.id, projects.c.id)
    ).all()
    grouped: dict[str, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row.doc, []).append(row)
    return [
        Document(
            path=group[0].path,
            layout=group[0].layout,
            projects=tuple(
                Project(
                    doc=doc,
                    department=row.department,
                    name=row.name,
                    goal=row.goal,
                    budget=row.budget,
                    scheme=row.scheme,
                    line=row.line,
                    indicators=tuple(by_project.get(row.id, ())),
                )
                for row in group
            ),
        )
        for doc, group in grouped.items()
    ]
