"""Training and honest evaluation of the classifier, from examples it is given (it reads no files).

Labels, in order of trust: the latest reviewer decision, the reviewed seed gold, the declared code.
Process items (gold ``PR``) are not category examples. Evaluation is grouped cross-validation against
the gold with groups = indicator name, so one text never sits in both train and test.
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score, precision_recall_fscore_support
from sklearn.model_selection import GroupKFold

from nlp.gold import GoldRow, match_gold
from nlp.model import (
    DEFAULT_MODEL_PATH,
    Bundle,
    LabelledText,
    build_pipeline,
    build_process_pipeline,
)
from nlp.persist import _now, library_versions, save_model
from nlp.records import Indicator
from nlp.taxonomy import LEAVES, PROCESS, TAXONOMY_VERSION, parent_code

__all__ = ["Example", "training_examples", "gold_items", "cross_validate", "train", "FAMILIES"]

FAMILIES = ("logreg", "svm", "sgd", "nb")
DEFAULT_FAMILY = "svm"
# Textbook examples written from TAXONOMY.md across sectors (never from the corpus it is evaluated on).
_TAXONOMY_EXAMPLES = sorted((Path(__file__).resolve().parent / "data").glob("taxonomy_examples*.csv"))
_CONFIDENCE_WEIGHT = {"high": 1.0, "medium": 0.85, "low": 0.7}
_DECLARED_WEIGHT = 0.3

Row = tuple[str, str, str]


@dataclass(frozen=True)
class Example:
    row: Row
    code: str
    weight: float
    source: str  # "reviewed" | "gold" | "declared" | "taxonomy"

    @property
    def group(self) -> str:
        return "".join(self.row[0].split())


def _taxonomy_examples() -> list[Example]:
    examples = []
    for path in _TAXONOMY_EXAMPLES:
        with open(path, encoding="utf-8", newline="") as handle:
            examples += [
                Example((r["name"], r["description"], r["value"]), r["code"], 1.0, "taxonomy")
                for r in csv.DictReader(handle)
            ]
    return examples


def training_examples(
    indicators: Sequence[Indicator], gold: Sequence[GoldRow], *, reviewed: Iterable[LabelledText] = ()
) -> list[Example]:
    """One example per distinct (name, description, value), labelled by the most trusted source."""
    decided = {(n, d, v): code for n, d, v, code in reviewed}
    examples: dict[Row, Example] = {}
    for ind, row in zip(indicators, match_gold(indicators, gold), strict=True):
        key = (ind.name, ind.description, ind.value)
        if key in decided:
            example = Example(key, decided[key], 1.0, "reviewed")
        elif row is not None:
            if row.gold_code not in LEAVES:
                continue  # a process item is not a category example
            example = Example(key, row.gold_code, _CONFIDENCE_WEIGHT.get(row.confidence, 0.85), "gold")
        elif ind.declared_code in LEAVES:
            example = Example(key, ind.declared_code, _DECLARED_WEIGHT, "declared")
        else:
            continue
        previous = examples.get(key)
        if previous is None or previous.weight < example.weight:
            examples[key] = example
    # Decisions on texts not in the corpus (the store holds more documents) still teach the model.
    for key, code in decided.items():
        if key not in examples and code in LEAVES:
            examples[key] = Example(key, code, 1.0, "reviewed")
    return list(examples.values()) + [e for e in _taxonomy_examples() if e.code in LEAVES]


def process_examples(
    indicators: Sequence[Indicator], gold: Sequence[GoldRow], *, reviewed: Iterable[LabelledText] = ()
) -> list[Example]:
    """Examples for the process-item detector: code ``PR`` or ``OK`` (any category), from decisions and
    gold only — declared codes say nothing about whether a row is a process item."""
    decided = {(n, d, v): code for n, d, v, code in reviewed}
    examples: dict[Row, Example] = {}
    for ind, row in zip(indicators, match_gold(indicators, gold), strict=True):
        key = (ind.name, ind.description, ind.value)
        if key in decided:
            examples[key] = Example(key, PROCESS if decided[key] == PROCESS else "OK", 1.0, "reviewed")
        elif row is not None and key not in examples:
            code = PROCESS if row.gold_code == PROCESS else "OK"
            examples[key] = Example(key, code, _CONFIDENCE_WEIGHT.get(row.confidence, 0.85), "gold")
    taxonomy = [
        Example(e.row, PROCESS if e.code == PROCESS else "OK", 1.0, "taxonomy") for e in _taxonomy_examples()
    ]
    return list(examples.values()) + taxonomy


@dataclass(frozen=True)
class GoldItem:
    row: Row
    gold: GoldRow


def gold_items(indicators: Sequence[Indicator], gold: Sequence[GoldRow]) -> list[GoldItem]:
    """Each category gold row (11-31) once, with the value as parsed (the gold's own value is rough)."""
    parsed: dict[int, Indicator] = {}
    for ind, row in zip(indicators, match_gold(indicators, gold), strict=True):
        if row is not None:
            parsed.setdefault(id(row), ind)
    items = []
    for row in gold:
        if row.gold_code not in LEAVES:
            continue
        found = parsed.get(id(row))
        value = found.value if found is not None else row.value
        items.append(GoldItem((row.name, row.description, value), row))
    return items


def _fit(family: str, examples: Sequence[Example]) -> Any:
    pipe = build_process_pipeline() if family == "process" else build_pipeline(family=family)
    weights = np.array([e.weight for e in examples])
    params = {"clf__sample_weight": weights}
    return pipe.fit([e.row for e in examples], [e.code for e in examples], **params)


def cross_validate(
    examples: Sequence[Example], items: Sequence[GoldItem], *, family: str = DEFAULT_FAMILY, n_splits: int = 5
) -> dict[str, Any]:
    """Grouped K-fold against gold: train on every example whose name is not in the test fold."""
    groups = ["".join(item.row[0].split()) for item in items]
    predictions: list[str] = [""] * len(items)
    for _train_idx, test_idx in GroupKFold(n_splits=n_splits).split(items, groups=groups):
        held_out = {groups[i] for i in test_idx}
        fold_examples = [e for e in examples if e.group not in held_out]
        pipe = _fit(family, fold_examples)
        fold_pred = pipe.predict([items[i].row for i in test_idx])
        for i, code in zip(test_idx, fold_pred, strict=True):
            predictions[i] = str(code)
    return score(items, predictions)


def score(items: Sequence[GoldItem], predictions: Sequence[str]) -> dict[str, Any]:
    gold_codes = [item.gold.gold_code for item in items]
    acceptable = [pred in item.gold.acceptable for item, pred in zip(items, predictions, strict=True)]
    l1_ok = [
        parent_code(pred) in {parent_code(c) for c in item.gold.acceptable if c != PROCESS}
        for item, pred in zip(items, predictions, strict=True)
    ]
    labels = list(LEAVES)
    precision, recall, f1, support = precision_recall_fscore_support(
        gold_codes, predictions, labels=labels, zero_division=0
    )
    return {
        "n": len(items),
        "accuracy_acceptable": round(float(np.mean(acceptable)), 4),
        "accuracy_exact": round(
            float(np.mean([p == g for p, g in zip(predictions, gold_codes, strict=True)])), 4
        ),
        "accuracy_l1": round(float(np.mean(l1_ok)), 4),
        "macro_f1": round(
            float(f1_score(gold_codes, predictions, labels=labels, average="macro", zero_division=0)), 4
        ),
        "per_class": {
            code: {
                "precision": round(float(p), 3),
                "recall": round(float(r), 3),
                "f1": round(float(f), 3),
                "support": int(s),
            }
            for code, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        },
        "predictions": list(predictions),
    }


def oof_probabilities(
    examples: Sequence[Example], *, family: str, classes: Sequence[str] = LEAVES, n_splits: int = 5
) -> dict[Row, list[float]]:
    """Out-of-fold probabilities for every corpus text (grouped by name), so the audit never judges a
    row with a model that saw its label."""
    corpus_examples = [e for e in examples if e.source != "taxonomy"]
    groups = [e.group for e in corpus_examples]
    out: dict[Row, list[float]] = {}
    classes = list(classes)
    for _train_idx, test_idx in GroupKFold(n_splits=n_splits).split(corpus_examples, groups=groups):
        held_out = {groups[i] for i in test_idx}
        pipe = _fit(family, [e for e in examples if e.group not in held_out])
        proba = pipe.predict_proba([corpus_examples[i].row for i in test_idx])
        fold_classes = [str(c) for c in pipe.classes_]
        for i, p in zip(test_idx, proba, strict=True):
            full = np.zeros(len(classes))
            for c, value in zip(fold_classes, p, strict=True):
                if c in classes:
                    full[classes.index(c)] = value
            out[corpus_examples[i].row] = [round(float(v), 5) for v in full]
    return out


def train(
    indicators: Sequence[Indicator],
    gold: Sequence[GoldRow],
    *,
    digest: str,
    path: Path | None = None,
    reviewed: Iterable[LabelledText] = (),
    family: str = DEFAULT_FAMILY,
    with_cv: bool = True,
) -> Bundle:
    """Train on indicators with their gold (and reviewer decisions), cross-validate, save, and return
    the bundle. ``digest`` names the corpus the examples came from (:func:`nlp.corpus.load_corpus`).

    Reads no files: :func:`nlp.corpus.train_model` loads the corpus and calls this.
    """
    started = time.perf_counter()
    reviewed = list(reviewed)
    examples = training_examples(indicators, gold, reviewed=reviewed)
    cv: dict[str, Any] = {}
    if with_cv and gold:
        cv = cross_validate(examples, gold_items(indicators, gold), family=family)
        cv.pop("predictions", None)
    pipe = _fit(family, examples)
    oof = oof_probabilities(examples, family=family)
    pr_examples = process_examples(indicators, gold, reviewed=reviewed)
    process_pipe = _fit("process", pr_examples)
    oof_process = {
        row: p[0] for row, p in oof_probabilities(pr_examples, family="process", classes=(PROCESS,)).items()
    }
    meta: dict[str, Any] = {
        "created": _now(),
        "family": family,
        "n_train": len(examples),
        "label_sources": dict(Counter(e.source for e in examples)),
        "n_reviewed": len(reviewed),
        "corpus_digest": digest,
        "taxonomy_version": TAXONOMY_VERSION,
        "versions": library_versions(),
        "cv": cv,
        "oof": oof,
        "oof_labels": {e.row: e.code for e in examples if e.source != "taxonomy"},
        "oof_process": oof_process,
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    bundle = Bundle(
        pipe=pipe,
        process_pipe=process_pipe,
        version=f"{meta['created'][:10]}-{digest[:8]}-{len(examples)}",
        meta=meta,
    )
    save_model(bundle, path or DEFAULT_MODEL_PATH)
    return bundle
