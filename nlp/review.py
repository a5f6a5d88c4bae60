"""What reviewers read and write: search, the queue of flags, decisions, clusters.

Every function takes the store (``db``) and returns plain data (dicts ready for JSON, or frozen
records); ``nlp.web`` only adds HTTP. Queries are SQLAlchemy Core, so user text is always a bound
parameter (``LIKE`` patterns are escaped too).

>>> from nlp.store import open_store
>>> queue(open_store("sqlite://"))["counts"]["left"]
0
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, case, func, or_, select
from sqlalchemy.sql import Select

from nlp.errors import ZhibiaoError
from nlp.schema import (
    cluster_members,
    clusters,
    current_decisions,
    decisions,
    documents,
    effective_decisions,
    flags,
    indicators,
    inserted_id,
    predictions,
    projects,
    reviewers,
)
from nlp.store import ACTIONS, Store, utcnow
from nlp.taxonomy import LEAVES, PROCESS, label_name

__all__ = [
    "ReviewError",
    "ACTION_NAMES",
    "CHOICES",
    "LIMITS",
    "search_indicators",
    "queue",
    "counts",
    "indicator_detail",
    "record_decision",
    "list_clusters",
    "departments",
    "decisions_for",
    "disputed_ids",
]

#: Codes a reviewer can choose (keys 1-9 on the page pick them in this order) and the process code.
CHOICES: tuple[str, ...] = LEAVES + (PROCESS,)
ACTION_NAMES: dict[str, str] = {
    "accept": "接受建议",
    "keep": "保留申报类别",
    "choose": "改为其他类别",
    "process": "标为过程指标",
    "skip": "跳过",
    "undo": "撤销",
}
#: Upper bounds on what a request may send; the web layer enforces them with the same numbers.
LIMITS: dict[str, int] = {
    "q": 100,
    "name": 200,
    "value": 200,
    "description": 1000,
    "comment": 1000,
    "size": 100,
}


class ReviewError(ZhibiaoError):
    """A review request was refused (unknown indicator, bad code, nothing to undo…)."""

    def __init__(self, code: str, *, status: int = 400, **fields: object) -> None:
        super().__init__(code, **fields)
        self.status = status


# -------------------------------------------------------------------------------------------- reads


def _rows_query() -> Select[Any]:
    """Indicator rows with project, current prediction and flag (one row per indicator)."""
    return (
        select(
            indicators,
            documents.c.doc,
            projects.c.name.label("project"),
            projects.c.department,
            projects.c.goal,
            projects.c.scheme,
            predictions.c.code.label("p_code"),
            predictions.c.l1.label("p_l1"),
            predictions.c.l2.label("p_l2"),
            predictions.c.confidence.label("p_confidence"),
            predictions.c.top.label("p_top"),
            predictions.c.reason.label("p_reason"),
            predictions.c.model_version.label("p_version"),
            flags.c.id.label("f_id"),
            flags.c.reasons.label("f_reasons"),
            flags.c.suggested_code.label("f_code"),
            flags.c.score.label("f_score"),
            flags.c.explanation.label("f_explanation"),
        )
        .join(projects, projects.c.id == indicators.c.project_id)
        .join(documents, documents.c.id == indicators.c.document_id)
        .outerjoin(predictions, predictions.c.indicator_id == indicators.c.id)
        .outerjoin(flags, flags.c.indicator_id == indicators.c.id)
    )


def decisions_for(conn: Connection, ids: Sequence[int]) -> dict[int, list[Any]]:
    """Decisions still in force for ``ids``, oldest first, with reviewer names."""
    if not ids:
        return {}
    eff = effective_decisions().where(decisions.c.indicator_id.in_(list(ids))).subquery()
    rows = conn.execute(
        select(eff, reviewers.c.name.label("reviewer"))
        .join(reviewers, reviewers.c.id == eff.c.reviewer_id)
        .order_by(eff.c.id)
    ).all()
    grouped: dict[int, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row.indicator_id, []).append(row)
    return grouped


def _disagreement(history: Iterable[Any]) -> bool:
    """Whether reviewers' latest non-skip decisions on one indicator name different codes."""
    latest: dict[int, str] = {}
    for row in history:
        if row.action != "skip":
            latest[row.reviewer_id] = row.code_after
    return len(set(latest.values())) > 1


def _decision_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "action": row.action,
        "action_name": ACTION_NAMES.get(row.action, row.action),
        "code": row.code_after,
        "code_name": label_name(row.code_after),
        "code_before": row.code_before,
        "reviewer": row.reviewer,
        "time": row.created_at.isoformat(timespec="seconds") + "Z",
        "comment": row.comment,
        "model_version": row.model_version,
    }


def _item(row: Any, history: list[Any], reasons: dict[str, str]) -> dict[str, Any]:
    suggestion = None
    if row.p_code is not None:
        suggestion = {
            "code": row.p_code,
            "l1": row.p_l1,
            "l2": row.p_l2,
            "confidence": round(row.p_confidence, 4),
            "top": [{"code": c, "name": label_name(c), "p": round(p, 4)} for c, p in row.p_top],
            "reason": row.p_reason,
            "model_version": row.p_version,
        }
    flag = None
    if row.f_id is not None:
        flag = {
            "reasons": [{"code": r, "label": reasons.get(r, r)} for r in row.f_reasons],
            "suggested_code": row.f_code,
            "suggested_name": label_name(row.f_code),
            "score": round(row.f_score, 4),
            "explanation": row.f_explanation,
        }
    return {
        "id": row.id,
        "doc": row.doc,
        "department": row.department,
        "project": row.project,
        "goal": row.goal,
        "name": row.name,
        "description": row.description,
        "value": row.annual_value or row.cycle_value,
        "declared": {
            "l1": row.declared_l1,
            "l2": row.declared_l2,
            "code": row.declared_code,
            "name": label_name(row.declared_code),
        },
        "suggestion": suggestion,
        "flag": flag,
        "decision": _decision_dict(history[-1]) if history else None,
        "disagreement": _disagreement(history),
        "active": bool(row.active),
    }


def _items(conn: Connection, rows: Sequence[Any], reasons: dict[str, str]) -> list[dict[str, Any]]:
    history = decisions_for(conn, [row.id for row in rows])
    return [_item(row, history.get(row.id, []), reasons) for row in rows]


def _page(query: Select[Any], *, page: int, size: int) -> Select[Any]:
    size = max(1, min(size, LIMITS["size"]))
    return query.limit(size).offset((max(page, 1) - 1) * size)


def search_indicators(
    db: Store,
    *,
    q: str = "",
    department: str = "",
    flagged: bool | None = None,
    cluster: int | None = None,
    disputed: bool | None = None,
    page: int = 1,
    size: int = 20,
    reasons: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Active indicators whose name, description or project contains ``q``, with filters; paged."""
    query = _rows_query().where(indicators.c.active.is_(True))
    if q:
        query = query.where(
            or_(
                indicators.c.name.contains(q, autoescape=True),
                indicators.c.description.contains(q, autoescape=True),
                projects.c.name.contains(q, autoescape=True),
            )
        )
    if department:
        query = query.where(projects.c.department == department)
    if flagged is not None:
        query = query.where(flags.c.id.is_not(None) if flagged else flags.c.id.is_(None))
    if cluster is not None:
        members = select(cluster_members.c.indicator_id).where(cluster_members.c.cluster_id == cluster)
        query = query.where(indicators.c.id.in_(members))
    if disputed is not None:
        query = query.where(
            indicators.c.id.in_(disputed_ids()) if disputed else indicators.c.id.not_in(disputed_ids())
        )
    with db.read() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(_page(query.order_by(indicators.c.id), page=page, size=size)).all()
        items = _items(conn, rows, reasons or {})
    return {"items": items, "total": total, "page": page, "size": size}


def queue(
    db: Store, *, department: str = "", page: int = 1, size: int = 20, reasons: dict[str, str] | None = None
) -> dict[str, Any]:
    """Flags without a decision in force, highest score first; skipped ones come back last."""
    current = current_decisions().subquery()
    cur = decisions.alias("cur")
    query = (
        _rows_query()
        .where(flags.c.id.is_not(None), indicators.c.active.is_(True))
        .outerjoin(current, current.c.indicator_id == indicators.c.id)
        .outerjoin(cur, cur.c.id == current.c.id)
        .where(or_(current.c.id.is_(None), cur.c.action == "skip"))
    )
    if department:
        query = query.where(projects.c.department == department)
    skipped_last = case((cur.c.action == "skip", 1), else_=0)
    with db.read() as conn:
        rows = conn.execute(
            _page(query.order_by(skipped_last, flags.c.score.desc(), indicators.c.id), page=page, size=size)
        ).all()
        items = _items(conn, rows, reasons or {})
    return {"items": items, "counts": counts(db, department=department), "page": page, "size": size}


def disputed_ids() -> Select[Any]:
    """Indicators whose reviewers' latest non-skip decisions in force name different codes."""
    eff = effective_decisions().where(decisions.c.action != "skip").subquery()
    latest = select(func.max(eff.c.id).label("id")).group_by(eff.c.indicator_id, eff.c.reviewer_id).subquery()
    return (
        select(decisions.c.indicator_id)
        .join(latest, latest.c.id == decisions.c.id)
        .group_by(decisions.c.indicator_id)
        .having(func.count(func.distinct(decisions.c.code_after)) > 1)
    )


def counts(db: Store, *, department: str = "") -> dict[str, int]:
    """How many flags there are, are left, decided, skipped; how many indicators reviewers disagree on."""
    current = current_decisions().subquery()
    cur = decisions.alias("cur")
    base = (
        select(func.count())
        .select_from(indicators)
        .join(flags, flags.c.indicator_id == indicators.c.id)
        .join(projects, projects.c.id == indicators.c.project_id)
        .outerjoin(current, current.c.indicator_id == indicators.c.id)
        .outerjoin(cur, cur.c.id == current.c.id)
        .where(indicators.c.active.is_(True))
    )
    if department:
        base = base.where(projects.c.department == department)
    disputed = disputed_ids()
    with db.read() as conn:
        result = {
            "flagged": conn.execute(base).scalar_one(),
            "left": conn.execute(base.where(current.c.id.is_(None))).scalar_one(),
            "skipped": conn.execute(base.where(cur.c.action == "skip")).scalar_one(),
            "decided": conn.execute(
                base.where(cur.c.action.is_not(None), cur.c.action != "skip")
            ).scalar_one(),
            "disputed": conn.execute(select(func.count()).select_from(disputed.subquery())).scalar_one(),
        }
    return result


def indicator_detail(
    db: Store, indicator_id: int, *, reasons: dict[str, str] | None = None
) -> dict[str, Any]:
    """One indicator with its full decision history (undone ones included, marked)."""
    with db.read() as conn:
        row = conn.execute(_rows_query().where(indicators.c.id == indicator_id)).first()
        if row is None:
            raise ReviewError("E062", status=404, what=f"Indicator {indicator_id}")
        item = _items(conn, [row], reasons or {})[0]
        undone = set(
            conn.execute(
                select(decisions.c.undoes_id).where(
                    decisions.c.indicator_id == indicator_id, decisions.c.undoes_id.is_not(None)
                )
            ).scalars()
        )
        history = conn.execute(
            select(decisions, reviewers.c.name.label("reviewer"))
            .join(reviewers, reviewers.c.id == decisions.c.reviewer_id)
            .where(decisions.c.indicator_id == indicator_id)
            .order_by(decisions.c.id)
        ).all()
    item["history"] = [{**_decision_dict(h), "undone": h.id in undone} for h in history]
    return item


def departments(db: Store) -> list[str]:
    with db.read() as conn:
        rows = conn.execute(
            select(projects.c.department)
            .where(projects.c.active.is_(True))
            .distinct()
            .order_by(projects.c.department)
        )
        return [name for (name,) in rows if name]


# -------------------------------------------------------------------------------------------- write


def _in_force(history: Sequence[Any], declared: str) -> str:
    """The code an indicator has given its decisions in force: the latest non-skip one, else declared."""
    return next((h.code_after for h in reversed(history) if h.action != "skip"), declared)


def record_decision(
    db: Store, *, reviewer_id: int, indicator_id: int, action: str, code: str = "", comment: str = ""
) -> dict[str, Any]:
    """Append a decision; returns it. The latest decision in force is the indicator's current one.

    ``accept`` takes the suggestion shown (the flag's, else the model's), ``keep`` the declared code,
    ``choose`` needs ``code`` (a leaf or PR), ``process`` is PR, ``skip`` defers, ``undo`` withdraws the
    reviewer's own latest decision on the indicator still in force.
    """
    if action not in ACTIONS:
        raise ReviewError(
            "E061", field="action", detail=f"'{action[:40]}' is not one of {', '.join(ACTIONS)}"
        )
    if action == "choose" and code not in CHOICES:
        raise ReviewError("E066", value=code[:20], codes=", ".join(CHOICES))
    if len(comment) > LIMITS["comment"]:
        raise ReviewError("E067", field="comment", length=len(comment), limit=LIMITS["comment"])
    with db.write() as conn:
        row = conn.execute(_rows_query().where(indicators.c.id == indicator_id)).first()
        if row is None:
            raise ReviewError("E062", status=404, what=f"Indicator {indicator_id}")
        history = decisions_for(conn, [indicator_id]).get(indicator_id, [])
        suggested = row.f_code if row.f_id is not None else (row.p_code or "")
        before = _in_force(history, row.declared_code)
        undoes = None
        if action == "undo":
            own = [h for h in history if h.reviewer_id == reviewer_id]
            if not own:
                raise ReviewError("E075", status=409, indicator=indicator_id)
            undoes = own[-1].id
        if action == "accept" and not suggested:
            raise ReviewError("E061", field="action", detail="this indicator has no suggestion to accept")
        after = {
            "accept": suggested,
            "keep": row.declared_code,
            "choose": code,
            "process": PROCESS,
            "skip": "",
            "undo": _in_force([h for h in history if h.id != undoes], row.declared_code),
        }[action]
        values = {
            "indicator_id": indicator_id,
            "reviewer_id": reviewer_id,
            "created_at": utcnow(),
            "action": action,
            "code_before": before,
            "code_after": after,
            "suggested_code": suggested,
            "model_version": row.p_version or "",
            "comment": comment,
            "undoes_id": undoes,
        }
        new_id = inserted_id(conn.execute(decisions.insert().values(**values)))
    return {
        "id": new_id,
        "indicator_id": indicator_id,
        **{
            k: values[k]
            for k in ("action", "code_before", "code_after", "suggested_code", "model_version", "comment")
        },
        "code_name": label_name(after),
        "time": values["created_at"].isoformat(timespec="seconds") + "Z",
        "undoes": undoes,
    }


# ----------------------------------------------------------------------------------------- clusters


def list_clusters(
    db: Store, *, level: str = "", department: str = "", page: int = 1, size: int = 20
) -> dict[str, Any]:
    """Clusters, largest first, each with its members side by side."""
    query = select(clusters)
    if level:
        query = query.where(clusters.c.level == level)
    if department:
        spans = select(cluster_members.c.cluster_id).where(cluster_members.c.department == department)
        query = query.where(clusters.c.id.in_(spans))
    with db.read() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(
            _page(query.order_by(clusters.c.size.desc(), clusters.c.id), page=page, size=size)
        ).all()
        members = conn.execute(
            select(cluster_members)
            .where(cluster_members.c.cluster_id.in_([r.id for r in rows]))
            .order_by(cluster_members.c.cluster_id, cluster_members.c.similarity.desc(), cluster_members.c.id)
        ).all()
    by_cluster: dict[int, list[dict[str, Any]]] = {}
    for m in members:
        by_cluster.setdefault(m.cluster_id, []).append(
            {
                k: getattr(m, k)
                for k in (
                    "indicator_id",
                    "doc",
                    "department",
                    "project",
                    "line",
                    "text",
                    "similarity",
                    "diff",
                )
            }
        )
    items = [
        {
            "id": r.id,
            "label": r.label,
            "level": r.level,
            "size": r.size,
            "representative": r.representative,
            "mean_similarity": round(r.mean_similarity, 4),
            "departments": r.departments,
            "members": by_cluster.get(r.id, []),
        }
        for r in rows
    ]
    return {"items": items, "total": total, "page": page, "size": size}
