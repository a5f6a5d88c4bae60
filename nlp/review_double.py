"""Independent double review: items given to two (or more) reviewers who decide blind, and how well
each pair of reviewers agrees (Cohen's κ over the items both decided).

Blindness is enforced where decisions are read (:func:`nlp.review_rows.blind_ids`): an assigned
reviewer sees only their own decision on an item until every assigned reviewer has decided. An
adjudicator (any administrator) sees all of them, and the disagreements, at once.

>>> assign(db, indicator_ids=[1, 2], reviewers=["li", "wang"], assigned_by=admin.id)  # doctest: +SKIP
{'assigned': 4, 'already': 0}
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Any

from sqlalchemy import func, select

from nlp.review import QueueFilter, queue
from nlp.review_rows import ReviewError
from nlp.schema import assignments, decisions, effective_decisions, reviewers
from nlp.store import Store, utcnow

__all__ = ["assign", "assign_queue", "agreement_by_pair", "assignment_counts"]


def _reviewer_ids(db: Store, names: Sequence[str]) -> dict[str, int]:
    with db.read() as conn:
        found = dict(
            conn.execute(
                select(reviewers.c.name, reviewers.c.id).where(reviewers.c.name.in_(list(names)))
            ).all()
        )
    for name in names:
        if name not in found:
            raise ReviewError("E095", status=404, name=name)
    return {name: int(found[name]) for name in names}


def assign(
    db: Store, *, indicator_ids: Sequence[int], reviewers: Sequence[str], assigned_by: int
) -> dict[str, int]:
    """Give each of ``indicator_ids`` to each of ``reviewers`` (names); existing assignments stay."""
    if len(set(reviewers)) < 2:
        raise ReviewError("E061", field="reviewers", detail="name at least two different reviewers")
    ids = _reviewer_ids(db, list(dict.fromkeys(reviewers)))
    now = utcnow()
    with db.write() as conn:
        existing = set(
            conn.execute(
                select(assignments.c.indicator_id, assignments.c.reviewer_id).where(
                    assignments.c.indicator_id.in_(list(indicator_ids))
                )
            ).all()
        )
        rows = [
            {"indicator_id": i, "reviewer_id": r, "assigned_by": assigned_by, "created_at": now}
            for i in dict.fromkeys(indicator_ids)
            for r in ids.values()
            if (i, r) not in existing
        ]
        if rows:
            conn.execute(assignments.insert(), rows)
    return {"assigned": len(rows), "already": len(indicator_ids) * len(ids) - len(rows)}


def assign_queue(
    db: Store,
    *,
    reviewers: Sequence[str],
    assigned_by: int,
    limit: int = 50,
    filters: QueueFilter | None = None,
) -> dict[str, int]:
    """Assign the first ``limit`` items of the queue (as ``filters`` narrow it) to every reviewer."""
    items = queue(db, filters=filters or QueueFilter(), size=min(limit, 100))["items"]
    return assign(db, indicator_ids=[i["id"] for i in items], reviewers=reviewers, assigned_by=assigned_by)


def assignment_counts(db: Store, reviewer_id: int) -> dict[str, int]:
    """How many items are assigned to a reviewer and how many of them they have decided."""
    eff = effective_decisions().where(decisions.c.reviewer_id == reviewer_id, decisions.c.action != "skip")
    decided = select(eff.subquery().c.indicator_id)
    with db.read() as conn:
        mine = assignments.c.reviewer_id == reviewer_id
        total = conn.execute(select(func.count()).select_from(assignments).where(mine)).scalar_one()
        done = conn.execute(
            select(func.count()).select_from(assignments).where(mine, assignments.c.indicator_id.in_(decided))
        ).scalar_one()
    return {"assigned": total, "decided": done, "left": total - done}


def agreement_by_pair(db: Store, *, assigned_only: bool = True) -> list[dict[str, Any]]:
    """Cohen's κ for every pair of reviewers over the items both decided (by default only items
    assigned to both: the blind ones), with the raw agreement and the count."""
    from sklearn.metrics import cohen_kappa_score

    eff = effective_decisions().where(decisions.c.action != "skip").subquery()
    with db.read() as conn:
        names = dict(conn.execute(select(reviewers.c.id, reviewers.c.name)).all())
        latest: dict[tuple[int, int], str] = {}
        for indicator_id, reviewer_id, code in conn.execute(
            select(eff.c.indicator_id, eff.c.reviewer_id, eff.c.code_after).order_by(eff.c.id)
        ):
            latest[(indicator_id, reviewer_id)] = code
        assigned = set(conn.execute(select(assignments.c.indicator_id, assignments.c.reviewer_id)).all())
    by_reviewer: dict[int, dict[int, str]] = {}
    for (indicator_id, reviewer_id), code in latest.items():
        if not assigned_only or (indicator_id, reviewer_id) in assigned:
            by_reviewer.setdefault(reviewer_id, {})[indicator_id] = code
    result = []
    for a, b in combinations(sorted(by_reviewer), 2):
        both = sorted(set(by_reviewer[a]) & set(by_reviewer[b]))
        if not both:
            continue
        left = [by_reviewer[a][i] for i in both]
        right = [by_reviewer[b][i] for i in both]
        agreed = sum(x == y for x, y in zip(left, right, strict=True))
        # κ is undefined when both reviewers used one same code throughout; their agreement is then total.
        kappa = 1.0 if len(set(left) | set(right)) == 1 else float(cohen_kappa_score(left, right))
        result.append(
            {
                "reviewers": [names.get(a, str(a)), names.get(b, str(b))],
                "items": len(both),
                "agreed": agreed,
                "agreement": round(agreed / len(both), 4),
                "kappa": round(kappa, 4),
            }
        )
    return result
