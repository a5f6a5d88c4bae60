"""Feedback from reviewers: the audit-trail export and how decisions agree with a model.

``export_rows`` is every decision ever made with its provenance (``GET /api/export``);
``agreement`` feeds ``zhibiao evaluate``; the training labels are
:func:`nlp.store.reviewed_labels`.

>>> from nlp.store import open_store
>>> export_rows(open_store("sqlite://"))
[]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select

from nlp.annotate import Services, default_services
from nlp.review import ACTION_NAMES, decisions_for
from nlp.schema import (
    current_decisions,
    decisions,
    documents,
    indicator_records,
    indicators,
    projects,
    reviewers,
)
from nlp.store import Store
from nlp.taxonomy import label_name

__all__ = ["EXPORT_COLUMNS", "export_rows", "Agreement", "agreement", "decision_agreement"]


# ------------------------------------------------------------------------------------------- export

EXPORT_COLUMNS: tuple[str, ...] = (
    "decision_id", "time_utc", "reviewer", "action", "action_name", "in_force", "undoes",
    "indicator_id", "doc", "department", "project", "indicator", "description", "value",
    "declared_l1", "declared_l2", "declared_code", "code_before", "code_after", "code_after_name",
    "suggested_code", "model_version", "comment",
)  # fmt: skip


def export_rows(db: Store) -> list[dict[str, Any]]:
    """Every decision ever made, oldest first, with the indicator and who decided (the audit trail)."""
    current = current_decisions().subquery()
    query = (
        select(
            decisions,
            reviewers.c.name.label("reviewer"),
            documents.c.doc,
            projects.c.department,
            projects.c.name.label("project"),
            indicators.c.name.label("indicator"),
            indicators.c.description,
            indicators.c.annual_value,
            indicators.c.cycle_value,
            indicators.c.declared_l1,
            indicators.c.declared_l2,
            indicators.c.declared_code,
            current.c.id.label("current_id"),
        )
        .join(reviewers, reviewers.c.id == decisions.c.reviewer_id)
        .join(indicators, indicators.c.id == decisions.c.indicator_id)
        .join(projects, projects.c.id == indicators.c.project_id)
        .join(documents, documents.c.id == indicators.c.document_id)
        .outerjoin(current, current.c.id == decisions.c.id)
        .order_by(decisions.c.id)
    )
    with db.read() as conn:
        rows = conn.execute(query).all()
    return [
        {
            "decision_id": r.id,
            "time_utc": r.created_at.isoformat(timespec="seconds") + "Z",
            "reviewer": r.reviewer,
            "action": r.action,
            "action_name": ACTION_NAMES.get(r.action, r.action),
            "in_force": "yes" if r.current_id is not None else "no",
            "undoes": r.undoes_id or "",
            "indicator_id": r.indicator_id,
            "doc": r.doc,
            "department": r.department,
            "project": r.project,
            "indicator": r.indicator,
            "description": r.description,
            "value": r.annual_value or r.cycle_value,
            "declared_l1": r.declared_l1,
            "declared_l2": r.declared_l2,
            "declared_code": r.declared_code,
            "code_before": r.code_before,
            "code_after": r.code_after,
            "code_after_name": label_name(r.code_after),
            "suggested_code": r.suggested_code,
            "model_version": r.model_version,
            "comment": r.comment,
        }
        for r in rows
    ]


# ---------------------------------------------------------------------------------------- agreement


@dataclass(frozen=True)
class Agreement:
    """How reviewers' decisions in force compare with a model, with what was shown, and with each other."""

    labelled: int
    model_agreed: int
    shown_agreed: int
    by_code: dict[str, tuple[int, int]] = field(default_factory=dict)
    reviewer_pairs: int = 0
    reviewer_agreed: int = 0
    examples: tuple[tuple[str, str, str], ...] = ()

    @property
    def model_rate(self) -> float:
        return self.model_agreed / self.labelled if self.labelled else 0.0

    @property
    def shown_rate(self) -> float:
        return self.shown_agreed / self.labelled if self.labelled else 0.0

    @property
    def reviewer_rate(self) -> float:
        return self.reviewer_agreed / self.reviewer_pairs if self.reviewer_pairs else 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the counts, the three rates (rounded) and the examples as lists."""
        data = asdict(self)
        data["by_code"] = {code: {"n": n, "model_agreed": k} for code, (n, k) in self.by_code.items()}
        data["examples"] = [list(example) for example in self.examples]
        for name in ("model_rate", "shown_rate", "reviewer_rate"):
            data[name] = round(getattr(self, name), 4)
        return data


def agreement(db: Store, bundle: Any, *, services: Services | None = None) -> Agreement:
    """Agreement of reviewers' labels (decisions in force, skips excluded) with ``bundle``'s answers.

    The model's answer is the audit's suggestion where it flags the indicator (so process items can
    agree), else the predicted leaf. ``examples`` lists up to 20 (name, reviewer code, model code)
    disagreements for ``zhibiao evaluate`` to print.
    """
    services = services or default_services()
    current = current_decisions().subquery()
    with db.read() as conn:
        rows = conn.execute(
            select(decisions)
            .join(current, current.c.id == decisions.c.id)
            .where(decisions.c.action != "skip")
        ).all()
        rows = [r for r in rows if r.code_after]
        records = indicator_records(conn, [r.indicator_id for r in rows])
        history = decisions_for(conn, list(records))
    ids = [r.indicator_id for r in rows if r.indicator_id in records]
    items = [records[i] for i in ids]
    annotated = services.annotate(bundle, items) if items else None
    preds = list(annotated.predictions) if annotated else []
    verdicts = list(annotated.verdicts) if annotated else []
    answers = {
        i: (v.suggested_code if v.flagged else p.code) for i, p, v in zip(ids, preds, verdicts, strict=True)
    }
    by_code: dict[str, list[int]] = {}
    model_agreed = shown_agreed = 0
    examples: list[tuple[str, str, str]] = []
    for r in rows:
        answer = answers.get(r.indicator_id, "")
        hit = answer == r.code_after
        model_agreed += hit
        shown_agreed += r.suggested_code == r.code_after
        tally = by_code.setdefault(r.code_after, [0, 0])
        tally[0] += 1
        tally[1] += hit
        if not hit and len(examples) < 20 and r.indicator_id in records:
            examples.append((records[r.indicator_id].name, r.code_after, answer))
    pairs = agreed = 0
    for decided in history.values():
        latest = {h.reviewer_id: h.code_after for h in decided if h.action != "skip"}
        codes = list(latest.values())
        for a in range(len(codes)):
            for b in range(a + 1, len(codes)):
                pairs += 1
                agreed += codes[a] == codes[b]
    return Agreement(
        labelled=len(rows),
        model_agreed=model_agreed,
        shown_agreed=shown_agreed,
        by_code={code: (n, k) for code, (n, k) in sorted(by_code.items())},
        reviewer_pairs=pairs,
        reviewer_agreed=agreed,
        examples=tuple(examples),
    )


def decision_agreement(db: Store | str, bundle: Any, *, services: Services | None = None) -> dict[str, Any]:
    """Agreement between reviewers' decisions in force and ``bundle`` (for ``zhibiao evaluate``), as
    plain data: counts, rates, per-code tallies, reviewer-pair agreement, example disagreements."""
    from nlp.store import open_store

    store = db if isinstance(db, Store) else open_store(db)
    return agreement(store, bundle, services=services).as_dict()
