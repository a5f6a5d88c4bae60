"""Honest figures against the reviewed gold: the classifier (grouped CV) and the audit (out-of-fold).

``zhibiao evaluate --out DIR`` writes ``metrics.json``, ``confusion.png``, ``audit_pr.png`` and
``errors.csv`` (the worst classifier errors) into DIR.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nlp.audit import audit
from nlp.corpus import DEFAULT_CORPUS
from nlp.gold import GoldRow, match_gold, placement_status
from nlp.model import Bundle
from nlp.records import Indicator
from nlp.taxonomy import LEAF_NAMES, LEAVES, PROCESS

__all__ = ["evaluate", "evaluate_classifier", "evaluate_audit", "audit_curve"]


def evaluate_classifier(indicators: Sequence[Indicator], gold: Sequence[GoldRow]) -> dict[str, Any]:
    """Grouped 5-fold CV on gold labels, and the same trained on declared labels for comparison."""
    from nlp.train import DEFAULT_FAMILY, FAMILIES, Example, cross_validate, gold_items, training_examples

    examples = training_examples(indicators, gold)
    items = gold_items(indicators, gold)
    result: dict[str, Any] = {"families": {}}
    for family in FAMILIES:
        scores = cross_validate(examples, items, family=family)
        if family == DEFAULT_FAMILY:
            result["chosen"] = scores
        result["families"][family] = {
            k: v for k, v in scores.items() if k not in ("per_class", "predictions")
        }
    declared = [Example(e.row, e.code, 1.0, "declared") for e in training_examples(indicators, [])]
    on_declared = cross_validate(declared, items, family=DEFAULT_FAMILY)
    result["trained_on_declared"] = {
        k: v for k, v in on_declared.items() if k not in ("per_class", "predictions")
    }
    result["items"] = items
    return result


def evaluate_audit(
    indicators: Sequence[Indicator],
    gold: Sequence[GoldRow],
    *,
    bundle: Bundle,
    threshold: float | None = None,
) -> dict[str, Any]:
    """Precision and recall of the flags against gold, per gold row (ambiguous rows left out)."""
    verdicts = audit(indicators, bundle=bundle, threshold=threshold)
    per_row: dict[int, tuple[GoldRow, Indicator, Any]] = {}
    for ind, row, verdict in zip(indicators, match_gold(indicators, gold), verdicts, strict=True):
        if row is not None and id(row) not in per_row:
            per_row[id(row)] = (row, ind, verdict)
    cases = []
    for row, ind, verdict in per_row.values():
        status = placement_status(row.declared_code, row)
        if status == "ambiguous":
            continue
        score = verdict.score if verdict.suggested_code != ind.declared_code else 0.0
        cases.append((status == "misplaced", verdict.flagged, score, row, verdict))
    truth = np.array([c[0] for c in cases])
    flagged = np.array([c[1] for c in cases])
    tp = int((truth & flagged).sum())
    precision = tp / max(int(flagged.sum()), 1)
    recall = tp / max(int(truth.sum()), 1)
    process = [c for c in cases if c[3].gold_code == PROCESS]
    process_recall = sum(c[1] for c in process) / max(len(process), 1)
    per_reason: dict[str, dict[str, float]] = {}
    for reason in sorted({r for c in cases for r in c[4].reasons if c[1]}):
        hits = [c for c in cases if c[1] and c[4].reasons and c[4].reasons[0] == reason]
        if hits:
            per_reason[reason] = {
                "flags": len(hits),
                "precision": round(sum(c[0] for c in hits) / len(hits), 3),
            }
    right_suggestion = [
        c[4].suggested_code in c[3].acceptable or c[4].suggested_code == c[3].gold_code
        for c in cases
        if c[0] and c[1]
    ]
    return {
        "misplaced": int(truth.sum()),
        "fine": int((~truth).sum()),
        "flagged": int(flagged.sum()),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "process_recall": round(process_recall, 4),
        "suggestion_right": round(float(np.mean(right_suggestion)) if right_suggestion else 0.0, 4),
        "per_reason": per_reason,
        "curve": audit_curve(truth, np.array([c[2] for c in cases])),
        "false_flags": [
            (c[3].name, c[3].declared_code, c[3].gold_code, c[4].suggested_code, c[4].score)
            for c in cases
            if c[1] and not c[0]
        ],
        "missed": [
            (c[3].name, c[3].declared_code, c[3].gold_code, c[4].suggested_code, c[4].score)
            for c in cases
            if c[0] and not c[1]
        ],
    }


def audit_curve(truth: np.ndarray, scores: np.ndarray) -> list[tuple[float, float, float]]:
    """(threshold, precision, recall) points of the flag scores."""
    from sklearn.metrics import precision_recall_curve

    if truth.sum() == 0:
        return []
    precision, recall, thresholds = precision_recall_curve(truth, scores)
    return [
        (round(float(t), 4), round(float(p), 4), round(float(r), 4))
        for p, r, t in zip(precision[:-1], recall[:-1], thresholds, strict=True)
    ]


def evaluate(
    *,
    corpus: Path = DEFAULT_CORPUS,
    out: Path | None = None,
    bundle: Bundle | None = None,
    db: str | None = None,
) -> dict[str, Any]:
    """Everything ``zhibiao evaluate`` reports; writes figures to ``out`` when given."""
    from nlp.corpus import ensure_model, load_corpus

    loaded = load_corpus(corpus)
    indicators, gold = list(loaded.indicators), list(loaded.gold)
    bundle = bundle or ensure_model(corpus=corpus)
    classifier = evaluate_classifier(indicators, gold)
    audit_scores = evaluate_audit(indicators, gold, bundle=bundle)
    report: dict[str, Any] = {
        "classifier": {k: v for k, v in classifier["chosen"].items() if k != "predictions"},
        "families": classifier["families"],
        "trained_on_declared": classifier["trained_on_declared"],
        "audit": audit_scores,
        "declared_vs_gold": dict(Counter(placement_status(r.declared_code, r) for r in gold)),
    }
    if db:
        from nlp.export import decision_agreement

        report["reviewers"] = decision_agreement(db, bundle)
    if out is not None:
        _write_figures(Path(out), report, classifier)
    return report


def _write_figures(out: Path, report: dict[str, Any], classifier: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    out.mkdir(parents=True, exist_ok=True)
    items = classifier["items"]
    predictions = classifier["chosen"]["predictions"]
    gold_codes = [item.gold.gold_code for item in items]
    fig, ax = plt.subplots(figsize=(7, 6))
    ConfusionMatrixDisplay.from_predictions(
        gold_codes, predictions, labels=list(LEAVES), ax=ax, colorbar=False
    )
    ax.set_title("Grouped 5-fold CV: gold (rows) vs predicted (columns)")
    fig.tight_layout()
    fig.savefig(out / "confusion.png", dpi=110)
    plt.close(fig)

    curve = report["audit"]["curve"]
    if curve:
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.plot([r for _, _, r in curve], [p for _, p, _ in curve])
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_title("Audit flags against gold")
        ax.set_ylim(0, 1.02)
        fig.tight_layout()
        fig.savefig(out / "audit_pr.png", dpi=110)
        plt.close(fig)

    with open(out / "errors.csv", "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["name", "description", "value", "gold", "alt", "predicted", "gold_name", "predicted_name"]
        )
        for item, pred in zip(items, predictions, strict=True):
            if pred not in item.gold.acceptable:
                writer.writerow(
                    [
                        *item.row,
                        item.gold.gold_code,
                        item.gold.alt_code,
                        pred,
                        LEAF_NAMES.get(item.gold.gold_code, ""),
                        LEAF_NAMES.get(pred, ""),
                    ]
                )
    (out / "metrics.json").write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str), "utf-8")
