"""Groups of indicators decided together: the boilerplate clusters, and bulk decisions over them.

A bulk decision is previewed first (how many items and departments it touches), then applied as one
:data:`~nlp.schema.bulk_actions` row plus one ordinary append-only decision per indicator, linked in
:data:`~nlp.schema.bulk_decisions`; undoing it appends one undo per decision, in one transaction.
Only items without a decision in force (or merely skipped) are touched: a bulk never overrides a
reviewer's own choice.

>>> preview = bulk_preview(db, anchor=12, scope="identical")  # doctest: +SKIP
>>> apply_bulk(db, reviewer_id=1, anchor=12, scope="identical", action="accept", expected=preview["count"])  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from nlp.review import append_decision, check_decision
from nlp.review_rows import ReviewError, paged, rows_query, suggestion_of
from nlp.schema import (
    bulk_actions,
    bulk_decisions,
    cluster_members,
    clusters,
    current_decisions,
    decisions,
    effective_decisions,
    indicators,
    inserted_id,
)
from nlp.store import Store, utcnow
from nlp.taxonomy import label_name

__all__ = ["SCOPES", "list_clusters", "bulk_preview", "apply_bulk", "undo_bulk"]

#: ``identical``: same name, value and declared placement as the anchor; ``cluster``: the anchor's
#: boilerplate group (or the group given).
SCOPES: tuple[str, ...] = ("identical", "cluster")


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
            paged(query.order_by(clusters.c.size.desc(), clusters.c.id), page=page, size=size)
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


# --------------------------------------------------------------------------------------------- bulk


def _members(conn: Connection, anchor: Any, scope: str, cluster_id: int | None) -> list[Any]:
    """Active indicator rows in the anchor's group, in id order."""
    query = rows_query().where(indicators.c.active.is_(True))
    if scope == "identical":
        query = query.where(
            indicators.c.name == anchor.name,
            indicators.c.annual_value == anchor.annual_value,
            indicators.c.cycle_value == anchor.cycle_value,
            indicators.c.declared_code == anchor.declared_code,
            indicators.c.declared_l1 == anchor.declared_l1,
            indicators.c.declared_l2 == anchor.declared_l2,
        )
    elif scope == "cluster":
        if cluster_id is None:
            cluster_id = conn.execute(
                select(func.min(cluster_members.c.cluster_id)).where(
                    cluster_members.c.indicator_id == anchor.id
                )
            ).scalar_one()
        if cluster_id is None:
            raise ReviewError("E062", status=404, what=f"Cluster of indicator {anchor.id}")
        ids = select(cluster_members.c.indicator_id).where(cluster_members.c.cluster_id == cluster_id)
        query = query.where(indicators.c.id.in_(ids))
    else:
        raise ReviewError("E096", field="scope", value=scope[:20], allowed=", ".join(SCOPES))
    return list(conn.execute(query.order_by(indicators.c.id)).all())


def _split(conn: Connection, anchor: Any, members: list[Any], action: str) -> dict[str, list[Any]]:
    """Members the bulk would decide, and those it leaves alone (decided already, other suggestion)."""
    current = current_decisions().subquery()
    decided = {
        i
        for (i,) in conn.execute(
            select(current.c.indicator_id)
            .join(decisions, decisions.c.id == current.c.id)
            .where(current.c.indicator_id.in_([m.id for m in members]), decisions.c.action != "skip")
        )
    }
    shown = suggestion_of(anchor)
    target = shown["code"] if shown else ""
    parts: dict[str, list[Any]] = {"apply": [], "decided": [], "other_suggestion": []}
    for m in members:
        if m.id in decided:
            parts["decided"].append(m)
        elif action == "accept" and ((suggestion_of(m) or {}).get("code") or "") != target:
            # "Accept" means the suggestion each card shows: only where it is the anchor's own.
            parts["other_suggestion"].append(m)
        else:
            parts["apply"].append(m)
    return parts


def _anchor(conn: Connection, indicator_id: int) -> Any:
    row = conn.execute(rows_query().where(indicators.c.id == indicator_id)).first()
    if row is None:
        raise ReviewError("E062", status=404, what=f"Indicator {indicator_id}")
    return row


def bulk_preview(
    db: Store, *, anchor: int, scope: str, action: str = "accept", cluster_id: int | None = None
) -> dict[str, Any]:
    """What a bulk decision would touch: ``count`` items in ``departments``, and what it leaves alone."""
    with db.read() as conn:
        row = _anchor(conn, anchor)
        parts = _split(conn, row, _members(conn, row, scope, cluster_id), action)
    shown = suggestion_of(row)
    apply = parts["apply"]
    return {
        "anchor": anchor,
        "scope": scope,
        "action": action,
        "code": shown["code"] if shown and action == "accept" else "",
        "code_name": shown["name"] if shown and action == "accept" else "",
        "count": len(apply),
        "departments": sorted({m.department for m in apply}),
        "projects": len({m.project_id for m in apply}),
        "already_decided": len(parts["decided"]),
        "other_suggestion": len(parts["other_suggestion"]),
        "ids": [m.id for m in apply],
    }


def apply_bulk(
    db: Store,
    *,
    reviewer_id: int,
    anchor: int,
    scope: str,
    action: str,
    expected: int,
    code: str = "",
    comment: str = "",
    cluster_id: int | None = None,
) -> dict[str, Any]:
    """Decide every item of the preview at once; ``expected`` is the count the reviewer confirmed
    (E091 if the group changed since). Returns the bulk action with its decision ids."""
    if action in ("undo", "skip"):
        raise ReviewError("E096", field="action", value=action, allowed="accept, keep, choose, process")
    check_decision(action, code, comment)
    with db.write() as conn:
        row = _anchor(conn, anchor)
        apply = _split(conn, row, _members(conn, row, scope, cluster_id), action)["apply"]
        if len(apply) != expected:
            raise ReviewError("E091", status=409, previewed=expected, now=len(apply))
        shown = suggestion_of(row)
        bulk_id = inserted_id(
            conn.execute(
                bulk_actions.insert().values(
                    reviewer_id=reviewer_id, created_at=utcnow(), action=action,
                    code=code or (shown["code"] if shown and action == "accept" else ""), scope=scope,
                    description=f"{row.name}（{row.annual_value or row.cycle_value}）", size=len(apply),
                    undoes_id=None,
                )
            )
        )  # fmt: skip
        saved = [
            append_decision(
                conn, reviewer_id=reviewer_id, indicator_id=m.id, action=action, code=code, comment=comment
            )
            for m in apply
        ]
        if saved:
            conn.execute(
                bulk_decisions.insert(), [{"decision_id": d["id"], "bulk_id": bulk_id} for d in saved]
            )
    return {
        "bulk_id": bulk_id,
        "count": len(saved),
        "decision_ids": [d["id"] for d in saved],
        "code": saved[0]["code_after"] if saved else "",
        "code_name": label_name(saved[0]["code_after"]) if saved else "",
    }


def undo_bulk(db: Store, *, reviewer_id: int, bulk_id: int) -> dict[str, Any]:
    """Withdraw a bulk action as one: an undo per decision of it that is still the reviewer's latest on
    its indicator (one changed since by hand stays as it is and is counted in ``kept``)."""
    with db.write() as conn:
        bulk = conn.execute(select(bulk_actions).where(bulk_actions.c.id == bulk_id)).first()
        already = conn.execute(select(bulk_actions.c.id).where(bulk_actions.c.undoes_id == bulk_id)).first()
        if bulk is None or bulk.reviewer_id != reviewer_id or already is not None or bulk.undoes_id:
            raise ReviewError("E092", status=409, bulk=bulk_id)
        linked = set(
            conn.execute(
                select(bulk_decisions.c.decision_id).where(bulk_decisions.c.bulk_id == bulk_id)
            ).scalars()
        )
        eff = effective_decisions().where(decisions.c.reviewer_id == reviewer_id).subquery()
        latest = dict(
            conn.execute(
                select(eff.c.indicator_id, func.max(eff.c.id))
                .where(
                    eff.c.indicator_id.in_(select(decisions.c.indicator_id).where(decisions.c.id.in_(linked)))
                )
                .group_by(eff.c.indicator_id)
            ).all()
        )
        targets = sorted(i for i, d in latest.items() if d in linked)
        undo_id = inserted_id(
            conn.execute(
                bulk_actions.insert().values(
                    reviewer_id=reviewer_id, created_at=utcnow(), action="undo", code="", scope=bulk.scope,
                    description=bulk.description, size=len(targets), undoes_id=bulk_id,
                )
            )
        )  # fmt: skip
        saved = [
            append_decision(conn, reviewer_id=reviewer_id, indicator_id=i, action="undo") for i in targets
        ]
        if saved:
            conn.execute(
                bulk_decisions.insert(), [{"decision_id": d["id"], "bulk_id": undo_id} for d in saved]
            )
    return {"bulk_id": undo_id, "undone": len(saved), "kept": len(linked) - len(saved)}
