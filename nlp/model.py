"""The classifier: standard 二级 (classic leaf) for any indicator, from its name, description and value.

Prediction, explanations and persistence; the features live in ``nlp.features``. The pipeline never
reads the declared category. Labels come from reviewer decisions, then the reviewed gold, then the
declared code; a few example names per category from TAXONOMY.md keep rare categories learnable.

>>> bundle = load_model()  # doctest: +SKIP
>>> suggest(bundle, "资金到位率", value="100%").code  # doctest: +SKIP
'11'
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.pipeline import Pipeline

from nlp.features import (
    Analyses,
    TextFeatures,
    build_pipeline,
    build_process_pipeline,
    to_rows,
    transform_rows,
)
from nlp.records import Indicator
from nlp.taxonomy import LEAF_NAMES, SCHEME_CLASSIC, l1_for_leaf

__all__ = [
    "Prediction",
    "Bundle",
    "LabelledText",
    "DEFAULT_MODEL_PATH",
    "build_pipeline",
    "to_rows",
    "suggest",
    "suggest_many",
    "classify",
    "predict_proba",
    "process_proba",
    "score_rows",
    "RowScores",
    "transform_rows",
    "CHUNK_ROWS",
    "build_process_pipeline",
    "warm",
]

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL_PATH = ROOT / "models" / "zhibiao.joblib"

#: (name, description, value, code): one training example.
LabelledText = tuple[str, str, str, str]

# ------------------------------------------------------------------------------------------ records


@dataclass(frozen=True, slots=True)  # slots: a batch holds one per distinct text, maybe millions
class Prediction:
    """The model's judgement of one indicator (never influenced by the declared category)."""

    code: str
    l1: str
    l2: str
    confidence: float
    top: tuple[tuple[str, float], ...]
    reason: str
    #: Probability that this is a process item (budget execution, fund arrival…), not an indicator.
    process: float = 0.0

    @property
    def top3(self) -> str:
        return "; ".join(f"{code} {LEAF_NAMES[code]} {p:.2f}" for code, p in self.top)


@dataclass(frozen=True)
class Bundle:
    """A trained pipeline and where it came from."""

    pipe: Pipeline
    version: str
    meta: dict[str, Any] = field(default_factory=dict)
    #: Process-item detector (classes ``OK``/``PR``), used by the audit.
    process_pipe: Pipeline | None = None

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.pipe.classes_]


def process_proba(bundle: Bundle, rows: Sequence[tuple[str, str, str]]) -> np.ndarray:
    """Probability that each row is a process item, not a performance indicator."""
    if bundle.process_pipe is None or not rows:
        return np.zeros(len(rows))
    return score_rows(bundle, rows, classes=False, explain=False).process


# --------------------------------------------------------------------------------------- prediction


#: Distinct rows analysed at a time: their tokens stay in memory only while the chunk is scored.
CHUNK_ROWS = 4096


@dataclass(frozen=True)
class RowScores:
    """What the models say about rows: class probabilities (``bundle.classes`` order), the probability
    of a process item, and the reason for the top class ("" where not asked for)."""

    proba: np.ndarray
    process: np.ndarray
    reasons: tuple[str, ...]

    def take(self, positions: Sequence[int] | np.ndarray) -> RowScores:
        """The scores of the rows at ``positions``, in that order."""
        positions = np.asarray(positions, dtype=np.intp)
        reasons = tuple(self.reasons[i] for i in positions) if self.reasons else ()
        return RowScores(self.proba[positions], self.process[positions], reasons)


def predict_proba(bundle: Bundle, rows: Sequence[tuple[str, str, str]]) -> np.ndarray:
    """Class probabilities (columns in ``bundle.classes`` order) for each distinct row, computed once."""
    return score_rows(bundle, rows, process=False, explain=False).proba


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a chunk is tokenised: the millions of short-lived token
    strings hold no cycles, yet every 700 allocations would start a collection pass (~15% of the time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _pipe_proba(pipe: Pipeline, x: Any) -> np.ndarray:
    """The pipeline's probabilities for rows whose TextFeatures matrix is ``x``."""
    for _, step in pipe.steps[1:-1]:
        x = step.transform(x)
    return np.asarray(pipe.steps[-1][1].predict_proba(x))


def _features(pipe: Pipeline, rows: list[tuple[str, str, str]], analyses: Analyses) -> Any:
    features = pipe.steps[0][1]
    if isinstance(features, TextFeatures):
        return transform_rows(features, rows, analyses)
    return features.transform(rows)


def score_rows(
    bundle: Bundle,
    rows: Sequence[tuple[str, str, str]],
    *,
    classes: bool = True,
    process: bool = True,
    explain: bool = True,
) -> RowScores:
    """Class probabilities, process-item probability and reasons for each row.

    Each distinct row is scored once, in chunks of ``CHUNK_ROWS`` (memory stays bounded), and the
    classifier, its explanation and the process detector share one tokenisation of it. A part not
    asked for comes back as zeros (or no reasons).

    >>> scores = score_rows(bundle, [("资金到位率", "", "100%")] * 2)  # doctest: +SKIP
    >>> scores.proba.shape, float(scores.process[0]) > 0.5  # doctest: +SKIP
    ((2, 9), True)
    """
    unique = list(dict.fromkeys(rows))
    proba = np.zeros((len(unique), len(bundle.classes)))
    pr = np.zeros(len(unique))
    reasons: list[str] = []
    detector = bundle.process_pipe if process else None
    column = [str(c) for c in detector.classes_].index("PR") if detector is not None else 0
    explain = explain and classes
    for start in range(0, len(unique), CHUNK_ROWS):
        chunk = unique[start : start + CHUNK_ROWS]
        analyses: Analyses = {}
        with _collector_paused():
            if classes:
                x = _features(bundle.pipe, chunk, analyses)
                chunk_proba = _pipe_proba(bundle.pipe, x)
                proba[start : start + len(chunk)] = chunk_proba
                if explain:
                    reasons += _reasons(bundle, x, np.argsort(-chunk_proba, axis=1)[:, 0])
            if detector is not None:
                x = _features(detector, chunk, analyses)
                pr[start : start + len(chunk)] = _pipe_proba(detector, x)[:, column]
    scores = RowScores(proba, pr, tuple(reasons))
    if len(unique) == len(rows):  # all distinct: already in order
        return scores
    index = {row: i for i, row in enumerate(unique)}
    return scores.take([index[row] for row in rows])


def _reasons(bundle: Bundle, x: Any, tops: np.ndarray, *, n: int = 3) -> list[str]:
    """For each row of the feature matrix ``x``, the ``n`` features that pushed class ``tops[i]`` up the
    most (weight times value, against the mean over classes), as readable words."""
    coef = _coefficients(bundle.pipe.named_steps["clf"])
    if coef is None:
        return [""] * x.shape[0]
    x = sparse.csr_matrix(x)
    lift = coef - coef.mean(axis=0)
    # One multiplication for the whole chunk: each stored value times its feature's lift for the row's class.
    contributions = x.data * lift[np.repeat(tops, np.diff(x.indptr)), x.indices]
    names = _feature_names(bundle)
    labels = _LABELS_CACHE.setdefault(id(bundle.pipe), {})  # column -> readable words, made once
    out = []
    for i in range(x.shape[0]):
        lo, hi = x.indptr[i], x.indptr[i + 1]
        values = contributions[lo:hi]
        columns = x.indices[lo:hi].tolist()
        parts: list[str] = []
        seen: set[str] = set()
        for j in np.argsort(-values).tolist():
            if values[j] <= 0 or len(parts) >= n:
                break
            label = labels.get(columns[j])
            if label is None:
                label = labels[columns[j]] = _readable(names[columns[j]])
            if label and label not in seen:
                seen.add(label)
                parts.append(label)
        out.append("；".join(parts))
    return out


def _coefficients(clf: Any) -> np.ndarray | None:
    """Linear weights per class; for a calibrated SVM, the mean over its calibration folds."""
    if hasattr(clf, "coef_"):
        return np.asarray(clf.coef_)
    folds = getattr(clf, "calibrated_classifiers_", None)
    if folds:
        return np.mean([np.asarray(fold.estimator.coef_) for fold in folds], axis=0)
    return None


_NAMES_CACHE: dict[int, np.ndarray] = {}
_LABELS_CACHE: dict[int, dict[int, str]] = {}


def _feature_names(bundle: Bundle) -> np.ndarray:
    key = id(bundle.pipe)
    if key not in _NAMES_CACHE:
        _NAMES_CACHE[key] = bundle.pipe.named_steps["features"].get_feature_names_out()
    return _NAMES_CACHE[key]


_CUE_WORDS = {"N": "名称", "D": "描述", "V": "指标值"}
_KIND_WORDS = {
    "percent": "百分比",
    "count": "数量（带计数单位）",
    "money": "金额",
    "duration": "时长",
    "deadline": "完成时限",
    "ratio": "比例",
    "number": "数字",
    "qualitative": "定性描述",
    "repeat": "照抄指标名称",
    "text": "文字",
    "empty": "空",
}
_FLAG_WORDS = {
    "HAS_NUMBER": "指标值含数字",
    "DEADLINE": "指标值含时间要求",
    "VAGUE": "指标值模糊",
    "PCT_HIGH": "指标值为高百分比（≥90%）",
    "PCT_LOW": "指标值为低百分比（≤10%）",
    "ZERO": "指标值为0",
}


def _value_words(token: str) -> str:
    key, _, value = token.partition("=")
    if key == "KIND":
        return f"指标值为{_KIND_WORDS.get(value, value)}"
    if key == "UNIT":
        return f"指标值单位「{value}」"
    if key == "CMP":
        return f"指标值比较符「{value}」"
    return _FLAG_WORDS.get(token, f"指标值特征 {token}")


def _readable(feature: str) -> str:
    group, _, token = feature.partition("__")
    if group == "words":
        return f"名称含「{token.replace(' ', '')}」"
    if group == "chars":
        token = token.strip()
        return f"名称含「{token}」" if len(token) >= 2 else ""
    if group == "desc":
        return f"描述含「{token.strip()}」" if len(token.strip()) >= 2 else ""
    if group == "value":
        return _value_words(token)
    if group == "cues":
        if token.startswith("END"):
            return f"名称以「{token.split(':', 1)[1]}」结尾"
        if token.startswith("BEG"):
            return f"名称以「{token.split(':', 1)[1]}」开头"
        where, _, code = token.partition(":")
        name = "过程类" if code == "PR" else LEAF_NAMES.get(code, code)
        return f"{_CUE_WORDS.get(where, where)}含{name}关键词"
    return token


def suggest_many(
    bundle: Bundle, keys: Sequence[tuple[str, str, str, str]], *, top: int = 3
) -> list[Prediction]:
    """Top categories, reason and process-item probability for (name, value, description, scheme) keys,
    scored together: the one suggestion behind ``zhibiao suggest`` and ``/api/suggest``.

    The process probability is floored at 0.9 for the TAXONOMY.md §4 patterns (预算执行率, 资金到位率 …),
    as the audit does.
    """
    from nlp.taxonomy import PROCESS_PATTERN

    rows = [(name, description, value) for name, value, description, _scheme in keys]
    scores = score_rows(bundle, rows, explain=True)
    out = []
    for i, (name, _value, _description, scheme) in enumerate(keys):
        process = float(scores.process[i])
        if PROCESS_PATTERN.search(name):
            process = max(process, 0.9)
        order = np.argsort(-scores.proba[i])[: max(1, top)]
        prediction = _make_prediction(bundle.classes, scores.proba[i], order, scheme, scores.reasons[i])
        out.append(replace(prediction, process=round(process, 4)))
    return out


def suggest(
    bundle: Bundle,
    name: str,
    *,
    value: str = "",
    description: str = "",
    scheme: str = SCHEME_CLASSIC,
    top: int = 3,
) -> Prediction:
    """Top categories for one indicator, with the reason.

    >>> suggest(bundle, "补助发放及时率", value="100%").l2  # doctest: +SKIP
    '时效指标'
    """
    return suggest_many(bundle, [(name, value, description, scheme)], top=top)[0]


def _make_prediction(
    classes: list[str], proba: np.ndarray, order: np.ndarray, scheme: str, reason: str
) -> Prediction:
    code = classes[order[0]]
    return Prediction(
        code=code,
        l1=l1_for_leaf(code, scheme=scheme),
        l2=LEAF_NAMES[code],
        confidence=float(proba[order[0]]),
        top=tuple((classes[i], round(float(proba[i]), 4)) for i in order),
        reason=reason,
    )


def classify(
    bundle: Bundle, indicators: Sequence[Indicator], *, explain: bool = True, scores: RowScores | None = None
) -> list[Prediction]:
    """Predict every indicator; each distinct (name, description, value) is computed once.

    ``scores`` (from :func:`score_rows`, one row per indicator) skips the computation: a batch that
    cached its scores passes them in.
    """
    rows = to_rows(indicators)
    index: dict[tuple[str, str, str], int] = {}
    first: list[int] = []  # position of each distinct row's first occurrence
    for position, row in enumerate(rows):
        if row not in index:
            index[row] = len(first)
            first.append(position)
    if scores is None:
        scores = score_rows(bundle, list(index), process=False, explain=explain)
    else:
        scores = scores.take(first)
    classes = bundle.classes
    orders = np.argsort(-scores.proba, axis=1)[:, :3] if first else np.zeros((0, 3), dtype=np.intp)
    reasons = scores.reasons if explain and scores.reasons else ("",) * len(first)
    # One prediction per distinct row and scheme (the scheme decides the 一级); nearly every row comes
    # in one scheme only, so a list by row holds them and a dict takes the rare second scheme.
    made: list[Prediction | None] = [None] * len(first)
    other: dict[tuple[int, str], Prediction] = {}
    out: list[Prediction] = []
    for ind, row in zip(indicators, rows, strict=True):
        i = index[row]
        prediction = made[i]
        if prediction is None:
            prediction = made[i] = _make_prediction(
                classes, scores.proba[i], orders[i], ind.scheme, reasons[i]
            )
        elif prediction.l1 != l1_for_leaf(prediction.code, scheme=ind.scheme):
            key = (i, ind.scheme)
            if key not in other:
                other[key] = _make_prediction(classes, scores.proba[i], orders[i], ind.scheme, reasons[i])
            prediction = other[key]
        out.append(prediction)
    return out


def warm(bundle: Bundle) -> None:
    """Load jieba's dictionaries and the value parser now, not on the first request."""
    from nlp.values import warm as warm_segmenter

    warm_segmenter()
    bundle.pipe.predict_proba([("资金到位率", "", "100%")])
    _feature_names(bundle)
