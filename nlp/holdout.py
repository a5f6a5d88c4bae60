"""Leave-document-out evaluation: "will it be right on a document it has never seen?"

Every gold-labelled indicator is judged by a model trained without its document (groups = document; a
second view groups by province, so a whole region is unseen). Texts copied into the training
documents stay there: that is the field as it is, boilerplate travels. The seed-only model is
evaluated on the same folds as the baseline, so the gain of the real-world corpus is visible.

>>> report = leave_document_out(load_corpus(), n_splits=5)  # doctest: +SKIP
>>> report["views"]["document"]["full"]["classifier"]["accuracy_acceptable"]  # doctest: +SKIP
0.93
"""

from __future__ import annotations

import csv
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import GroupKFold

from nlp.corpus import Corpus
from nlp.gold import GoldRow, match_gold, placement_status
from nlp.records import Indicator
from nlp.taxonomy import LEAVES, PROCESS

__all__ = ["leave_document_out", "document_groups", "reliability", "audit_figures"]

_BINS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)


def _is_wild(doc: str) -> bool:
    return not doc[:3].isdigit()


def document_groups(indicators: Sequence[Indicator], *, by: str, provinces: dict[str, str]) -> list[str]:
    """The group of each indicator: its document, or its province (seed documents are Guangdong)."""
    if by == "document":
        return [ind.doc for ind in indicators]
    return [provinces.get(ind.doc, "广东" if not _is_wild(ind.doc) else ind.doc) for ind in indicators]


def _provinces(corpus_dir: Path) -> dict[str, str]:
    path = corpus_dir / "wild" / "SOURCES.csv"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {row["doc_id"]: row["province"] for row in csv.DictReader(handle)}


def reliability(cases: Sequence[tuple[bool, bool, float, str]]) -> list[dict[str, Any]]:
    """Of the indicators whose ``flag_score`` falls in each band, how many were truly misplaced."""
    rows = []
    for low, high in zip(_BINS[:-1], _BINS[1:], strict=True):
        inside = [c for c in cases if low <= c[2] < high]
        if inside:
            rows.append(
                {
                    "band": f"{low:.1f}–{min(high, 1.0):.1f}",
                    "n": len(inside),
                    "misplaced": sum(c[0] for c in inside),
                    "share": round(sum(c[0] for c in inside) / len(inside), 3),
                }
            )
    return rows


def audit_figures(cases: Sequence[tuple[bool, bool, float, str]], tiers: Sequence[str]) -> dict[str, Any]:
    """Precision and recall of the flags; precision per reason; the review tier's yield.

    ``cases`` are (truly misplaced, flagged, flag score, first reason) per judged indicator.
    """
    truth = np.array([c[0] for c in cases], dtype=bool)
    flagged = np.array([c[1] for c in cases], dtype=bool)
    tp = int((truth & flagged).sum())
    per_reason: dict[str, dict[str, Any]] = {}
    for reason, n in Counter(c[3] for c in cases if c[1]).items():
        right = sum(1 for c in cases if c[1] and c[3] == reason and c[0])
        per_reason[reason] = {"flags": n, "precision": round(right / n, 3)}
    review = [c for c, tier in zip(cases, tiers, strict=True) if tier == "review"]
    return {
        "judged": len(cases),
        "misplaced": int(truth.sum()),
        "flagged": int(flagged.sum()),
        "precision": round(tp / max(int(flagged.sum()), 1), 4),
        "recall": round(tp / max(int(truth.sum()), 1), 4),
        "per_reason": per_reason,
        "review": {"n": len(review), "misplaced": sum(c[0] for c in review)},
        "reliability": reliability(cases),
    }


def _fold_predictions(
    corpus: Corpus,
    gold_rows: Sequence[GoldRow | None],
    groups: Sequence[str],
    *,
    n_splits: int,
    train_on: str,
    threshold: float | None,
    family: str,
) -> tuple[list[str], list[Any]]:
    """Predicted leaf and verdict of every indicator, each from a model that never saw its group."""
    from nlp.annotate import annotate
    from nlp.train import train

    indicators = list(corpus.indicators)
    predicted: list[str] = [""] * len(indicators)
    verdicts: list[Any] = [None] * len(indicators)
    labelled = [i for i, row in enumerate(gold_rows) if row is not None]
    splits = min(n_splits, len({groups[i] for i in labelled}))
    folder = Path(tempfile.mkdtemp(prefix="zhibiao-holdout-"))
    for k, (_, test) in enumerate(
        GroupKFold(n_splits=splits).split(labelled, groups=[groups[i] for i in labelled])
    ):
        held_out = {groups[labelled[i]] for i in test}
        train_idx = [
            i
            for i, ind in enumerate(indicators)
            if groups[i] not in held_out and (train_on == "all" or not _is_wild(ind.doc))
        ]
        if len(train_idx) < n_splits:
            continue  # nothing left to learn from (the seed-only model with the seeds' province held out)
        bundle = train(
            [indicators[i] for i in train_idx],
            list(corpus.gold),
            digest=f"fold{k}",
            path=folder / f"fold{k}.joblib",
            with_cv=False,
            family=family,
        )
        test_idx = [i for i, ind in enumerate(indicators) if groups[i] in held_out]
        annotated = annotate([indicators[i] for i in test_idx], bundle=bundle, threshold=threshold)
        for i, prediction, verdict in zip(test_idx, annotated.predictions, annotated.verdicts, strict=True):
            predicted[i] = prediction.code
            verdicts[i] = verdict
    return predicted, verdicts


def assigned_code(declared: str, predicted: str, verdict: Any) -> str:
    """The category a reviewer is handed: the audit's suggestion where it flags the placement, else the
    document's own placement where it is a leaf, else the classifier's. (The classifier's figures stay
    separate: they read the text only.)"""
    if verdict.flagged and verdict.suggested_code in LEAVES:
        return str(verdict.suggested_code)
    return declared if declared in LEAVES else predicted


def _figures(
    indicators: Sequence[Indicator],
    gold_rows: Sequence[GoldRow | None],
    predicted: Sequence[str],
    verdicts: Sequence[Any],
    *,
    only: Sequence[bool],
) -> dict[str, Any]:
    from nlp.train import GoldItem, score

    items, preds, assigned, cases, tiers = [], [], [], [], []
    for ind, row, pred, verdict, keep in zip(indicators, gold_rows, predicted, verdicts, only, strict=True):
        if row is None or not keep or verdict is None:
            continue
        if row.gold_code in LEAVES:
            items.append(GoldItem((ind.name, ind.description, ind.value), row))
            preds.append(pred)
            assigned.append(assigned_code(ind.declared_code, pred, verdict))
        status = placement_status(ind.declared_code, row)
        if status != "ambiguous" and ind.declared_code:
            first = verdict.reasons[0] if verdict.reasons else ""
            cases.append((status == "misplaced", bool(verdict.flagged), float(verdict.score), first))
            tiers.append(getattr(verdict, "tier", ""))
    classifier = score(items, preds) if items else {}
    classifier.pop("predictions", None)
    if items:
        final = score(items, assigned)
        classifier["assigned"] = {k: final[k] for k in ("accuracy_acceptable", "accuracy_l1", "macro_f1")}
    if classifier:
        per_class = classifier.pop("per_class")
        classifier["recall"] = {code: per_class[code]["recall"] for code in LEAVES}
        classifier["support"] = {code: per_class[code]["support"] for code in LEAVES}
    return {"classifier": classifier, "audit": audit_figures(cases, tiers)}


def leave_document_out(
    corpus: Corpus,
    *,
    corpus_dir: Path | None = None,
    n_splits: int = 5,
    views: Sequence[str] = ("document", "province"),
    threshold: float | None = None,
    baseline: bool = True,
    families: Sequence[str] = ("svm",),
) -> dict[str, Any]:
    """Leave-document-out (and leave-province-out) figures of the full model and the seed-only baseline,
    on all gold, on the seed documents and on the wild (real-world) documents separately."""
    from nlp.corpus import DEFAULT_CORPUS

    indicators = list(corpus.indicators)
    gold_rows = match_gold(indicators, corpus.gold)
    provinces = _provinces(corpus_dir or DEFAULT_CORPUS)
    wild = [_is_wild(ind.doc) for ind in indicators]
    subsets = {"all": [True] * len(indicators), "seed": [not w for w in wild], "wild": wild}
    report: dict[str, Any] = {
        "indicators": len(indicators),
        "gold_matched": sum(row is not None for row in gold_rows),
        "documents": len({ind.doc for ind in indicators}),
        "process_items": sum(1 for row in gold_rows if row is not None and row.gold_code == PROCESS),
        "views": {},
    }
    for view in views:
        groups = document_groups(indicators, by=view, provinces=provinces)
        # "full" is the default family on seed + wild; "seed_only" the baseline; other families by name.
        models = {"full": ("all", families[0])}
        if baseline:
            models["seed_only"] = ("seed", families[0])
        models |= {family: ("all", family) for family in families[1:]}
        report["views"][view] = {}
        for model, (train_on, family) in models.items():
            predicted, verdicts = _fold_predictions(
                corpus, gold_rows, groups, n_splits=n_splits, train_on=train_on, threshold=threshold,
                family=family,
            )  # fmt: skip
            report["views"][view][model] = {
                name: _figures(indicators, gold_rows, predicted, verdicts, only=mask)
                for name, mask in subsets.items()
            }
    return report


def format_table(report: dict[str, Any]) -> str:
    """The figures as a plain table: one line per view, model and subset."""
    head = (
        f"{'view':<9} {'model':<10} {'docs':<5} {'n':>5} {'二级ok':>7} {'一级':>6} {'macroF1':>8} "
        f"{'成本R':>6} {'judged':>7} {'flags':>6} {'prec':>6} {'recall':>7} {'review':>7} {'定类ok':>7} {'定类一级':>7}"
    )
    lines = [head]
    for view, models in report["views"].items():
        for model, subsets in models.items():
            for subset, figures in subsets.items():
                c, a = figures["classifier"], figures["audit"]
                if not c:
                    continue
                lines.append(
                    f"{view:<9} {model:<10} {subset:<5} {c['n']:>5} {c['accuracy_acceptable']:>7.3f} "
                    f"{c['accuracy_l1']:>6.3f} {c['macro_f1']:>8.3f} {c['recall']['14']:>6.2f} {a['judged']:>7} "
                    f"{a['flagged']:>6} {a['precision']:>6.3f} {a['recall']:>7.3f} {a['review']['n']:>7} "
                    f"{c['assigned']['accuracy_acceptable']:>7.3f} {c['assigned']['accuracy_l1']:>7.3f}"
                )
    return "\n".join(lines)
