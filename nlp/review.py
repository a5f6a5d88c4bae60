"""What reviewers read and write: search, the queue of flags, decisions, clusters.

Every function takes the store (``db``) and returns plain data (dicts ready for JSON, or frozen
records); ``nlp.web`` only adds HTTP. Queries are SQLAlchemy Core, so user text is always a bound
parameter (``LIKE`` patterns are escaped too).

>>> from nlp.store import open_store
>>> queue(open_store("sqlite://"))["counts"]["left"]
0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, String, and_, case, cast, func, or_, select
from sqlalchemy.sql import Select

from nlp.review_rows import (
    ACTION_NAMES,
    CHOICES,
    LIMITS,
    ReviewError,
    blind_ids,
    decision_dict,
    decisions_for,
    items_of,
    paged,
    rows_query,
    suggestion_of,
)
from nlp.schema import (
    assignments,
    bulk_decisions,
    cluster_members,
    current_decisions,
    decisions,
    documents,
    effective_decisions,
    flags,
    indicators,
    inserted_id,
    projects,
    reviewers,
)
from nlp.store import ACTIONS, Store, utcnow
from nlp.taxonomy import PROCESS, label_name

__all__ = [
    "ReviewError",
    "ACTION_NAMES",
    "suggestion_of",
    "CHOICES",
    "LIMITS",
    "search_indicators",
    "queue",
    "counts",
    "indicator_detail",
    "record_decision",
    "append_decision",
    "check_decision",
    "QueueFilter",
    "narrow",
    "project_detail",
    "my_decisions",
    "departments",
    "decisions_for",
    "disputed_ids",
]

#: Codes a reviewer can choose (keys 1-9 on the page pick them in this order) and the process code.


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
    viewer: int | None = None,
) -> dict[str, Any]:
    """Active indicators whose name, description or project contains ``q``, with filters; paged."""
    query = rows_query().where(indicators.c.active.is_(True))
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
        # "Flagged" is the flagged tier; a "review" (worth a look) row is not a flag.
        is_flag = and_(flags.c.id.is_not(None), flags.c.tier == "flagged")
        query = query.where(is_flag if flagged else ~is_flag)
    if cluster is not None:
        members = select(cluster_members.c.indicator_id).where(cluster_members.c.cluster_id == cluster)
        query = query.where(indicators.c.id.in_(members))
    if disputed is not None:
        query = query.where(
            indicators.c.id.in_(disputed_ids()) if disputed else indicators.c.id.not_in(disputed_ids())
        )
        if viewer is not None:
            # A disagreement on an item the viewer still reviews blind would give the other decision away.
            query = query.where(indicators.c.id.not_in(still_blind(viewer)))
    with db.read() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(paged(query.order_by(indicators.c.id), page=page, size=size)).all()
        items = items_of(conn, rows, reasons or {}, viewer=viewer)
    return {"items": items, "total": total, "page": page, "size": size}


@dataclass(frozen=True)
class QueueFilter:
    """What the queue (and its counts) is narrowed to; empty fields do not filter.

    ``tier`` is ``flagged`` (the default queue), ``review`` (worth a look) or ``all``; ``sort`` is
    ``score`` (most likely right first), ``department``, ``project`` or ``name``.
    """

    department: str = ""
    project_id: int | None = None
    reason: str = ""
    min_score: float | None = None
    max_score: float | None = None
    declared: str = ""
    tier: str = "flagged"
    sort: str = "score"
    assigned_to: int | None = None


TIERS: tuple[str, ...] = ("flagged", "review", "all")
SORTS: dict[str, Any] = {
    "score": (flags.c.score.desc(),),
    "department": (projects.c.department, flags.c.score.desc()),
    "project": (projects.c.name, indicators.c.line),
    "name": (indicators.c.name, flags.c.score.desc()),
}


def narrow(query: Select[Any], f: QueueFilter) -> Select[Any]:
    """``query`` (over indicators, projects and flags) narrowed by ``f``."""
    if f.department:
        query = query.where(projects.c.department == f.department)
    if f.project_id is not None:
        query = query.where(projects.c.id == f.project_id)
    if f.reason:
        # reasons is a JSON list of reason codes; its text holds each code quoted.
        query = query.where(cast(flags.c.reasons, String).contains(f'"{f.reason}"', autoescape=True))
    if f.min_score is not None:
        query = query.where(flags.c.score >= f.min_score)
    if f.max_score is not None:
        query = query.where(flags.c.score < f.max_score)
    if f.declared:
        query = query.where(indicators.c.declared_code == f.declared)
    if f.tier != "all":
        query = query.where(flags.c.tier == (f.tier or "flagged"))
    if f.assigned_to is not None:
        mine = select(assignments.c.indicator_id).where(assignments.c.reviewer_id == f.assigned_to)
        query = query.where(indicators.c.id.in_(mine))
    return query


def queue(
    db: Store,
    *,
    department: str = "",
    page: int = 1,
    size: int = 20,
    reasons: dict[str, str] | None = None,
    filters: QueueFilter | None = None,
    viewer: int | None = None,
) -> dict[str, Any]:
    """Flags without a decision in force, highest score first; skipped ones come back last.

    With ``filters.assigned_to`` (double review) it is that reviewer's assigned items they have not
    decided themselves, whoever else decided them; others' decisions stay hidden until all have.
    """
    f = filters or QueueFilter(department=department)
    if department and not f.department:
        f = replace(f, department=department)
    query = narrow(rows_query().where(flags.c.id.is_not(None), indicators.c.active.is_(True)), f)
    if f.assigned_to is not None:
        own = effective_decisions().where(decisions.c.reviewer_id == f.assigned_to).subquery()
        mine = select(own.c.id).where(own.c.indicator_id == indicators.c.id, own.c.action != "skip")
        query = query.where(~mine.exists())
        skipped_last: Any = indicators.c.id.is_(None)  # nothing to push back: a constant
    else:
        current = current_decisions().subquery()
        cur = decisions.alias("cur")
        query = (
            query.outerjoin(current, current.c.indicator_id == indicators.c.id)
            .outerjoin(cur, cur.c.id == current.c.id)
            .where(or_(current.c.id.is_(None), cur.c.action == "skip"))
        )
        skipped_last = case((cur.c.action == "skip", 1), else_=0)
    order = (skipped_last, *SORTS.get(f.sort, SORTS["score"]), indicators.c.id)
    with db.read() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(paged(query.order_by(*order), page=page, size=size)).all()
        items = items_of(conn, rows, reasons or {}, viewer=viewer if viewer is not None else f.assigned_to)
    return {
        "items": items,
        "total": total,
        "counts": counts(db, department=f.department, filters=f),
        "page": page,
        "size": size,
    }


def still_blind(viewer: int) -> Select[Any]:
    """Indicators assigned to ``viewer`` that some assigned reviewer has not decided yet (skips aside)."""
    eff = effective_decisions().where(decisions.c.action != "skip").subquery()
    others = assignments.alias("others")
    decided = select(eff.c.id).where(
        eff.c.indicator_id == others.c.indicator_id, eff.c.reviewer_id == others.c.reviewer_id
    )
    mine = select(assignments.c.indicator_id).where(assignments.c.reviewer_id == viewer)
    return select(others.c.indicator_id).where(others.c.indicator_id.in_(mine), ~decided.exists())


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


def counts(db: Store, *, department: str = "", filters: QueueFilter | None = None) -> dict[str, int]:
    """How many flags there are, are left, decided, skipped; how many indicators reviewers disagree on.

    Under ``filters.assigned_to`` the decisions counted are that reviewer's own (double review).
    """
    f = filters or QueueFilter(department=department)
    if f.assigned_to is not None:
        current = (
            select(decisions.c.indicator_id, func.max(decisions.c.id).label("id"))
            .where(decisions.c.id.in_(select(effective_decisions().subquery().c.id)))
            .where(decisions.c.reviewer_id == f.assigned_to)
            .group_by(decisions.c.indicator_id)
            .subquery()
        )
    else:
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
    base = narrow(base, f)
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
    db: Store, indicator_id: int, *, reasons: dict[str, str] | None = None, viewer: int | None = None
) -> dict[str, Any]:
    """One indicator with its full decision history (undone ones included, marked); under double
    review only ``viewer``'s own decisions until every assigned reviewer has decided."""
    with db.read() as conn:
        row = conn.execute(rows_query().where(indicators.c.id == indicator_id)).first()
        if row is None:
            raise ReviewError("E062", status=404, what=f"Indicator {indicator_id}")
        item = items_of(conn, [row], reasons or {}, viewer=viewer)[0]
        blind = bool(blind_ids(conn, viewer, [indicator_id]))
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
    if blind:
        history = [h for h in history if h.reviewer_id == viewer]
    item["history"] = [{**decision_dict(h), "undone": h.id in undone} for h in history]
    item["blind"] = blind
    return item


def project_detail(
    db: Store, project_id: int, *, reasons: dict[str, str] | None = None, viewer: int | None = None
) -> dict[str, Any]:
    """A project as its document lays it out: goal, budget and every indicator under its declared
    一级 and 二级 (in document order), each with its suggestion, flag and decision."""
    with db.read() as conn:
        project = conn.execute(
            select(projects, documents.c.doc)
            .join(documents, documents.c.id == projects.c.document_id)
            .where(projects.c.id == project_id)
        ).first()
        if project is None:
            raise ReviewError("E062", status=404, what=f"Project {project_id}")
        rows = conn.execute(
            rows_query()
            .where(indicators.c.project_id == project_id, indicators.c.active.is_(True))
            .order_by(indicators.c.line, indicators.c.id)
        ).all()
        items = items_of(conn, rows, reasons or {}, viewer=viewer)
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for item in items:
        l1 = item["declared"]["l1"] or "（未填一级）"
        groups.setdefault(l1, {}).setdefault(item["declared"]["l2"] or "（未填二级）", []).append(item)
    return {
        "id": project.id,
        "name": project.name,
        "department": project.department,
        "doc": project.doc,
        "goal": project.goal,
        "budget": project.budget,
        "scheme": project.scheme,
        "active": bool(project.active),
        "layout": [
            {"l1": l1, "groups": [{"l2": l2, "rows": group} for l2, group in by_l2.items()]}
            for l1, by_l2 in groups.items()
        ],
        "indicators": len(items),
        "flagged": sum(1 for item in items if item["flag"] and item["flag"]["tier"] == "flagged"),
        "self_evaluation": any(item["self_evaluation"] for item in items),
    }


def my_decisions(db: Store, reviewer_id: int, *, page: int = 1, size: int = 50) -> dict[str, Any]:
    """Every decision ``reviewer_id`` made, newest first, with its indicator and whether it stands."""
    undone = select(decisions.c.undoes_id).where(decisions.c.undoes_id.is_not(None))
    query = (
        select(
            decisions,
            reviewers.c.name.label("reviewer"),
            indicators.c.name.label("indicator"),
            projects.c.name.label("project"),
            projects.c.department,
            decisions.c.id.in_(undone).label("undone"),
            bulk_decisions.c.bulk_id,
        )
        .join(reviewers, reviewers.c.id == decisions.c.reviewer_id)
        .join(indicators, indicators.c.id == decisions.c.indicator_id)
        .join(projects, projects.c.id == indicators.c.project_id)
        .outerjoin(bulk_decisions, bulk_decisions.c.decision_id == decisions.c.id)
        .where(decisions.c.reviewer_id == reviewer_id)
    )
    with db.read() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(paged(query.order_by(decisions.c.id.desc()), page=page, size=size)).all()
    items = [
        {
            **decision_dict(r),
            "indicator_id": r.indicator_id,
            "indicator": r.indicator,
            "project": r.project,
            "department": r.department,
            "undone": bool(r.undone),
            "bulk_id": r.bulk_id,
        }
        for r in rows
    ]
    return {"items": items, "total": total, "page": page, "size": size}


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


def check_decision(action: str, code: str = "", comment: str = "") -> None:
    """Refuse an unknown action, a bad code for ``choose`` or an over-long comment (ReviewError)."""
    if action not in ACTIONS:
        raise ReviewError(
            "E061", field="action", detail=f"'{action[:40]}' is not one of {', '.join(ACTIONS)}"
        )
    if action == "choose" and code not in CHOICES:
        raise ReviewError("E066", value=code[:20], codes=", ".join(CHOICES))
    if len(comment) > LIMITS["comment"]:
        raise ReviewError("E067", field="comment", length=len(comment), limit=LIMITS["comment"])


def append_decision(
    conn: Connection, *, reviewer_id: int, indicator_id: int, action: str, code: str = "", comment: str = ""
) -> dict[str, Any]:
    """:func:`record_decision` inside the caller's transaction (a bulk action holds one for all)."""
    row = conn.execute(rows_query().where(indicators.c.id == indicator_id)).first()
    if row is None:
        raise ReviewError("E062", status=404, what=f"Indicator {indicator_id}")
    history = decisions_for(conn, [indicator_id]).get(indicator_id, [])
    shown = suggestion_of(row)
    suggested = shown["code"] if shown else ""
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
    kept = ("action", "code_before", "code_after", "suggested_code", "model_version", "comment")
    return {
        "id": new_id,
        "indicator_id": indicator_id,
        **{k: values[k] for k in kept},
        "code_name": label_name(after),
        "time": values["created_at"].isoformat(timespec="seconds") + "Z",
        "undoes": undoes,
    }


def record_decision(
    db: Store, *, reviewer_id: int, indicator_id: int, action: str, code: str = "", comment: str = ""
) -> dict[str, Any]:
    """Append a decision; returns it. The latest decision in force is the indicator's current one.

    ``accept`` takes the suggestion shown (:func:`~nlp.review_rows.suggestion_of`), ``keep`` the
    declared code, ``choose`` needs ``code`` (a leaf or PR), ``process`` is PR, ``skip`` defers,
    ``undo`` withdraws the reviewer's own latest decision on the indicator still in force.
    """
    check_decision(action, code, comment)
    with db.write() as conn:
        return append_decision(
            conn,
            reviewer_id=reviewer_id,
            indicator_id=indicator_id,
            action=action,
            code=code,
            comment=comment,
        )
