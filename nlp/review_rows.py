"""The rows reviewers read: one indicator with its suggestion, flag and decisions, as plain data.

:func:`suggestion_of` is the one place that decides what an indicator suggests (code, probability,
top-3, explanation); the queue card, the indicator page, the exports and the key ``a`` all read it.
Double review hides other reviewers' decisions (:func:`blind_ids`) until every assigned reviewer has
decided. ``nlp.review`` builds the queries on top of these.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.sql import Select

from nlp.errors import ZhibiaoError
from nlp.messages_zh import local_time
from nlp.schema import (
    assignments,
    decisions,
    documents,
    effective_decisions,
    flags,
    indicators,
    predictions,
    projects,
    reviewers,
)
from nlp.taxonomy import LEAVES, PROCESS, SCHEME_CLASSIC, l1_for_leaf, label_name

__all__ = [
    "ReviewError",
    "ACTION_NAMES",
    "CHOICES",
    "LIMITS",
    "suggestion_of",
    "percent",
    "decisions_for",
    "blind_ids",
    "rows_query",
    "items_of",
    "decision_dict",
    "paged",
]

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


def rows_query() -> Select[Any]:
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
            flags.c.probability.label("f_probability"),
            flags.c.top.label("f_top"),
            flags.c.tier.label("f_tier"),
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


def decision_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "action": row.action,
        "action_name": ACTION_NAMES.get(row.action, row.action),
        "code": row.code_after,
        "code_name": label_name(row.code_after),
        "code_before": row.code_before,
        "reviewer": row.reviewer,
        "time": row.created_at.isoformat(timespec="seconds") + "Z",
        "time_local": local_time(row.created_at),
        "comment": row.comment,
        "model_version": row.model_version,
    }


def percent(p: float) -> str:
    """A probability as the explanations write it: ``0.555`` -> ``"56%"``."""
    return f"{p:.0%}"


_QUOTES_PERCENT = re.compile(r"\d+(?:\.\d+)?%")


def _distribution(pairs: Any) -> list[tuple[str, float]]:
    return [(str(code), float(p)) for code, p in (pairs or [])]


def suggestion_of(row: Any) -> dict[str, Any] | None:
    """The one suggestion an indicator shows, everywhere: card, indicator page, exports and key ``a``.

    The code is the audit's (the flag's) when there is a flag, else the model's prediction. Its
    probability, the top-3 and the explanation all come from one distribution: the audit's own (stored
    with the flag) for a flag, the prediction's otherwise. Where the audit's distribution was not stored
    (an older load) and its explanation quotes percentages, no other distribution is shown beside it, so
    no number on the page can contradict another; ``probability`` is then ``None``.

    >>> suggestion_of(row)["code"] == record_decision(db, ..., action="accept")["code_after"]  # doctest: +SKIP
    True
    """
    flagged = row.f_id is not None
    code = row.f_code if flagged else row.p_code
    if not code:
        return None
    explanation = row.f_explanation if flagged else ""
    if flagged and row.f_top is not None:
        top, source = _distribution(row.f_top), "audit"
    elif flagged and _QUOTES_PERCENT.search(explanation or ""):
        top, source = [], "audit"
    else:
        top, source = _distribution(row.p_top), "model"
    probability = dict(top).get(code)
    if flagged and row.f_probability is not None:
        probability = float(row.f_probability)
    leaf = code in LEAVES
    return {
        "code": code,
        "name": label_name(code),
        "l1": l1_for_leaf(code, scheme=row.scheme or SCHEME_CLASSIC) if leaf else "",
        "l2": label_name(code) if leaf else "",
        "probability": None if probability is None else round(probability, 4),
        # Formatted once, here, the way the audit's explanation formats them, so no page rounds anew.
        "probability_text": "" if probability is None else percent(probability),
        "top": [
            {"code": c, "name": label_name(c), "p": round(p, 4), "p_text": percent(p)} for c, p in top[:3]
        ],
        "source": source,
        # The model's words explain its own pick only; a different code carries the audit's explanation.
        "reason": row.p_reason if code == row.p_code and source == "model" else "",
        "explanation": explanation or "",
        "score": round(row.f_score, 4) if flagged else None,
        "model_version": row.p_version or "",
    }


def _item(row: Any, history: list[Any], reasons: dict[str, str]) -> dict[str, Any]:
    flag = None
    if row.f_id is not None:
        flag = {
            "reasons": [{"code": r, "label": reasons.get(r, r)} for r in row.f_reasons],
            "suggested_code": row.f_code,
            "score": round(row.f_score, 4),
            "tier": row.f_tier or "flagged",
        }
    model = None
    if row.p_code is not None:
        model = {"code": row.p_code, "confidence": round(row.p_confidence, 4), "version": row.p_version}
    return {
        "id": row.id,
        "doc": row.doc,
        "department": row.department,
        "project": row.project,
        "project_id": row.project_id,
        "goal": row.goal,
        "name": row.name,
        "description": row.description,
        "value": row.annual_value or row.cycle_value,
        "cycle_value": row.cycle_value,
        "annual_value": row.annual_value,
        "self_evaluation": {
            key: getattr(row, key)
            for key in ("actual_value", "weight", "score", "deviation_reason")
            if getattr(row, key, "")
        },
        "declared": {
            "l1": row.declared_l1,
            "l2": row.declared_l2,
            "code": row.declared_code,
            "name": label_name(row.declared_code),
        },
        "suggestion": suggestion_of(row),
        "model": model,
        "flag": flag,
        "decision": decision_dict(history[-1]) if history else None,
        "disagreement": _disagreement(history),
        "active": bool(row.active),
    }


def blind_ids(conn: Connection, viewer: int | None, ids: Sequence[int]) -> set[int]:
    """Indicators among ``ids`` that ``viewer`` reviews blind: assigned to them and to others, and not
    yet decided (skips aside) by every assigned reviewer. Others' decisions on them stay hidden."""
    if viewer is None or not ids:
        return set()
    assigned = conn.execute(
        select(assignments.c.indicator_id, assignments.c.reviewer_id).where(
            assignments.c.indicator_id.in_(
                select(assignments.c.indicator_id).where(
                    assignments.c.reviewer_id == viewer, assignments.c.indicator_id.in_(list(ids))
                )
            )
        )
    ).all()
    if not assigned:
        return set()
    who: dict[int, set[int]] = {}
    for indicator_id, reviewer_id in assigned:
        who.setdefault(indicator_id, set()).add(reviewer_id)
    eff = effective_decisions().where(decisions.c.action != "skip").subquery()
    decided: dict[int, set[int]] = {}
    for indicator_id, reviewer_id in conn.execute(
        select(eff.c.indicator_id, eff.c.reviewer_id).where(eff.c.indicator_id.in_(list(who)))
    ):
        decided.setdefault(indicator_id, set()).add(reviewer_id)
    return {i for i, names in who.items() if len(names) > 1 and not names <= decided.get(i, set())}


def items_of(
    conn: Connection, rows: Sequence[Any], reasons: dict[str, str], *, viewer: int | None = None
) -> list[dict[str, Any]]:
    ids = [row.id for row in rows]
    history = decisions_for(conn, ids)
    for indicator_id in blind_ids(conn, viewer, ids):
        history[indicator_id] = [h for h in history.get(indicator_id, []) if h.reviewer_id == viewer]
    return [_item(row, history.get(row.id, []), reasons) for row in rows]


def paged(query: Select[Any], *, page: int, size: int) -> Select[Any]:
    size = max(1, min(size, LIMITS["size"]))
    return query.limit(size).offset((max(page, 1) - 1) * size)
