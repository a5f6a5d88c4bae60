"""The one classify -> audit -> cluster step, used by the CLI, the web, the batch and the feedback loop.

Each distinct (name, description, value) is scored once (:func:`nlp.model.score_rows`); the
prediction and the verdict are both read from those scores. :class:`Services` bundles the functions so
the store-facing callers (web, load, agreement) can be given fakes in tests; the store itself never
sees the model, it stores what it is handed.

>>> annotated = annotate(indicators, bundle=bundle)  # doctest: +SKIP
>>> annotated.rows()[0]["pred_code"], annotated.verdicts[0].flagged  # doctest: +SKIP
('11', False)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nlp.records import Document, Indicator

__all__ = [
    "PREDICTION_COLUMNS",
    "AUDIT_COLUMNS",
    "Annotated",
    "Services",
    "annotate",
    "annotation",
    "default_services",
    "cluster_documents",
    "load_documents",
]

PREDICTION_COLUMNS = ("pred_l1", "pred_l2", "pred_code", "confidence", "top3")
AUDIT_COLUMNS = ("flagged", "tier", "flag_reasons", "suggested_code", "flag_score", "explanation")


@dataclass(frozen=True)
class Annotated:
    """Predictions and verdicts parallel to ``indicators``."""

    indicators: Sequence[Indicator]
    predictions: Sequence[Any]
    verdicts: Sequence[Any]

    def rows(self) -> list[dict[str, Any]]:
        """The ``PREDICTION_COLUMNS`` and ``AUDIT_COLUMNS`` of each indicator, in order."""
        return [annotation(p, v) for p, v in zip(self.predictions, self.verdicts, strict=True)]


def annotation(prediction: Any, verdict: Any) -> dict[str, Any]:
    """The ``PREDICTION_COLUMNS`` and ``AUDIT_COLUMNS`` of one indicator."""
    return {
        "pred_l1": prediction.l1,
        "pred_l2": prediction.l2,
        "pred_code": prediction.code,
        "confidence": round(prediction.confidence, 4),
        "top3": prediction.top3,
        "flagged": verdict.flagged,
        "tier": getattr(verdict, "tier", "flagged" if verdict.flagged else ""),
        "flag_reasons": ";".join(verdict.reasons),
        "suggested_code": verdict.suggested_code,
        "flag_score": verdict.score,
        "explanation": verdict.explanation,
    }


def annotate(
    indicators: Sequence[Indicator],
    *,
    bundle: Any,
    threshold: float | None = None,
    scores: Any = None,
    explain: bool = False,
) -> Annotated:
    """Classify and audit ``indicators`` from one scoring of their distinct texts.

    ``scores`` (one :class:`~nlp.model.RowScores` row per indicator) skips the scoring: the batch passes
    the scores it cached.
    """
    from nlp.audit import audit
    from nlp.features import to_rows
    from nlp.model import classify, score_rows

    if scores is None:
        scores = score_rows(bundle, to_rows(indicators), explain=explain)
    predictions = classify(bundle, indicators, explain=explain, scores=scores)
    verdicts = audit(indicators, bundle=bundle, threshold=threshold, scores=scores)
    return Annotated(indicators, predictions, verdicts)


def cluster_documents(
    documents: Sequence[Document], *, levels: Sequence[str] | None = None
) -> dict[str, list]:
    """Boilerplate clusters of ``documents`` per level (goals, indicators, sets)."""
    from nlp.cluster import LEVELS, find_clusters

    return {level: find_clusters(documents, level=level) for level in (levels or LEVELS)}


# ---------------------------------------------------------------------------------------- services


@dataclass(frozen=True)
class Services:
    """The model, audit and clustering functions the web and the store loader call (fakes in tests).

    ``annotate(bundle, indicators) -> Annotated``; ``suggest_many(bundle, keys) -> [(prediction,
    process probability)]`` for (name, value, description, scheme) keys, the same answer as
    ``zhibiao suggest``; ``find_clusters(documents, level=…)`` for each of ``cluster_levels``.
    """

    annotate: Callable[..., Annotated]
    suggest_many: Callable[..., list[tuple[Any, float | None]]]
    find_clusters: Callable[..., list[Any]] | None = None
    cluster_levels: tuple[str, ...] = ("indicators",)
    reasons: Mapping[str, str] = field(default_factory=dict)


def _annotate_service(bundle: Any, indicators: Sequence[Indicator]) -> Annotated:
    return annotate(indicators, bundle=bundle)


def _suggest_service(
    bundle: Any, keys: Sequence[tuple[str, str, str, str]]
) -> list[tuple[Any, float | None]]:
    from nlp.model import suggest_many

    return [(p, p.process) for p in suggest_many(bundle, keys)]


def default_services() -> Services:
    """The real ``nlp.model``, ``nlp.audit`` and ``nlp.cluster`` functions."""
    from nlp.audit import REASONS
    from nlp.cluster import LEVELS, find_clusters

    return Services(
        annotate=_annotate_service,
        suggest_many=_suggest_service,
        find_clusters=find_clusters,
        cluster_levels=tuple(LEVELS),
        reasons=dict(REASONS),
    )


# -------------------------------------------------------------------------------------------- load


def load_documents(
    db: Any,
    documents: Sequence[Document],
    *,
    bundle: Any,
    services: Services | None = None,
    predictions: Sequence[Any] | None = None,
    verdicts: Sequence[Any] | None = None,
    clusters: Mapping[str, Sequence[Any]] | None = None,
    clustered: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Any:
    """Annotate (unless ``predictions`` and ``verdicts`` are given) and store parsed documents (one
    transaction each), then store the boilerplate clusters of everything in the store (clusters span
    every load).

    ``clusters`` (per level) are of the documents named ``clustered`` (default: ``documents``); they are
    reused when the store's active documents are exactly those, so a run that clustered already — or a
    re-run that loads only its changed files — does not cluster the whole store again.
    """
    from nlp.store import (
        active_document_names,
        active_documents,
        document_name,
        replace_clusters,
        store_documents,
    )

    services = services or default_services()
    docs = list(documents)
    if predictions is None or verdicts is None:
        items = [indicator for document in docs for indicator in document.indicators]
        annotated = services.annotate(bundle, items)
        predictions, verdicts = annotated.predictions, annotated.verdicts
    version = str(getattr(bundle, "version", "") or "unknown")
    report = store_documents(
        db, docs, predictions=predictions, verdicts=verdicts, model_version=version, progress=progress
    )
    found: list[tuple[str, Any]] = []
    if services.find_clusters is not None:
        names = set(clustered) if clustered is not None else {document_name(d) for d in docs if d.projects}
        same = clusters is not None and active_document_names(db) == names
        stored = None if same else active_documents(db)
        for level in services.cluster_levels:
            level_clusters = clusters[level] if same and clusters and level in clusters else None
            if level_clusters is None:
                stored = active_documents(db) if stored is None else stored
                level_clusters = services.find_clusters(stored, level=level)
            found += [(level, cluster) for cluster in level_clusters]
    n_clusters = replace_clusters(db, found)
    from dataclasses import replace

    return replace(report, clusters=n_clusters)
