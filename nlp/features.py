"""Features of an indicator for the classifiers: what its name, description and value say.

Rows are ``(name, description, value)`` tuples. Features: jieba word 1-2-grams and character 1-3-grams of
the name, character 2-3-grams of the description, structured value features (``nlp.segment``), and the
cue-word groups of TAXONOMY.md with the name's first and last characters. Selectors and analyzers are
module-level functions so fitted pipelines pickle.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.validation import check_is_fitted

from nlp.records import Indicator
from nlp.segment import segment
from nlp.taxonomy import CUES, PROCESS_CUES
from nlp.values import parse_value, value_tokens

# ----------------------------------------------------------------------------------------- features
# Rows are (name, description, value) tuples; the selectors are module-level so the pipeline pickles.


def to_rows(indicators: Iterable[Indicator]) -> list[tuple[str, str, str]]:
    return [(ind.name, ind.description, ind.value) for ind in indicators]


# What real tables carry in a name besides the name (the model reads the name without it):
# pinyin after characters on mirror sites
_GLOSS = re.compile(r"[(（][a-zA-Zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,8}[)）]")
_NUMBERED = re.compile(r"^\s*(?:指标\s*\d+\s*[:：.、．]|[*★☆]+)\s*")  # "指标1:", "*", "★"
# Template placeholders "(≥**株)", "（≥**%）": the comparator and unit of a value written as a bare number.
_PLACEHOLDER = re.compile(r"[(（]\s*([≥≤<>=＞＜≧≦]*)\s*\*+\s*([^()（）]*?)\s*[)）]")
_CJK_GAP = re.compile(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")  # a wrap inside a word: "成 本"
_BARE_NUMBER = re.compile(r"^\s*\d+(?:\.\d+)?\s*$")


@lru_cache(maxsize=1)
def _simplified() -> Any:
    """OpenCC's traditional -> simplified converter (mirror sites republish tables in traditional)."""
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1 << 16)
def tidy_row(row: tuple[str, str, str]) -> tuple[str, str, str]:
    """The row as the features read it: the name without pinyin glosses, numbering, star marks, template
    placeholders and wrap gaps; a placeholder's comparator and unit move to a bare-number value.

    >>> tidy_row(("苗木成活率(≥**%)", "", "85"))
    ('苗木成活率', '', '≥85%')
    >>> tidy_row(("指标1:食品安全監(jiān)管人員培訓(xùn)", "", "已完成"))
    ('食品安全监管人员培训', '', '已完成')
    """
    name, description, value = row
    text = _GLOSS.sub("", name)
    if any(ord(ch) > 0x3400 for ch in text):
        text = _simplified().convert(text)
    text = _NUMBERED.sub("", text)
    found = _PLACEHOLDER.search(text)
    if found:
        text = _PLACEHOLDER.sub("", text)
        if _BARE_NUMBER.match(value):
            value = f"{found.group(1)}{value.strip()}{found.group(2)}"
    text = _CJK_GAP.sub("", text).strip() or name
    return (text, _GLOSS.sub("", description), value)


def select_names(rows: Sequence[tuple[str, str, str]]) -> list[str]:
    return [tidy_row(row)[0] for row in rows]


def select_descriptions(rows: Sequence[tuple[str, str, str]]) -> list[str]:
    return [tidy_row(row)[1] for row in rows]


def select_values(rows: Sequence[tuple[str, str, str]]) -> list[tuple[str, str]]:
    return [(tidy[2], tidy[0]) for tidy in map(tidy_row, rows)]


def value_analyzer(pair: tuple[str, str]) -> list[str]:
    """Symbolic tokens of a target value (kind, comparator, unit…), given (value, name)."""
    value, name = pair
    return value_tokens(parse_value(value, name=name))


_TRAILING_NOTE = re.compile(r"[（(][^（()）]*[)）]$")


def _cue_index() -> dict[str, tuple[tuple[str, str], ...]]:
    """Cue words by their first character (process cues under code ``PR``), built once."""
    global _CUE_INDEX
    if _CUE_INDEX is None:
        index: dict[str, list[tuple[str, str]]] = {}
        for code, words in [*CUES.items(), ("PR", PROCESS_CUES)]:
            for word in words:
                index.setdefault(word[:1], []).append((code, word))
        _CUE_INDEX = {first: tuple(pairs) for first, pairs in index.items()}
    return _CUE_INDEX


_CUE_INDEX: dict[str, tuple[tuple[str, str], ...]] | None = None


@lru_cache(maxsize=1 << 16)  # descriptions and values repeat even where names do not
def _cue_hits(text: str) -> tuple[str, ...]:
    """One code per cue word found in ``text`` (a code repeats when several of its words are there);
    ``PR`` once if any process cue is there."""
    # Only words whose first character occurs in the text can occur in it: ~200 substring tests per
    # text become a handful (this runs for every distinct row).
    index = _cue_index()
    hits: list[str] = []
    process = False
    for first in set(text):
        for code, word in index.get(first, ()):
            if word in text:
                if code != "PR":
                    hits.append(code)
                else:
                    process = True
    if process:
        hits.append("PR")
    return tuple(hits)


def cue_analyzer(row: tuple[str, str, str]) -> list[str]:
    """Cue-word groups (TAXONOMY.md §3) hit by the name, the description and the value, and the name's
    ending — the head of a Chinese noun phrase (…人数, …及时率, …满意度) sits at its end."""
    name, description, value = tidy_row(row)
    tokens = [f"N:{code}" for code in _cue_hits(name)]
    tokens += [f"D:{code}" for code in _cue_hits(description)]
    tokens += [f"V:{code}" for code in _cue_hits(value)]
    # A trailing parenthetical ("（律师服务费）", "（%）") is a note, not the head of the phrase.
    compact = _TRAILING_NOTE.sub("", "".join(name.split())).rstrip("%") or "".join(name.split())
    for width in (1, 2, 3):
        if len(compact) >= width:
            tokens.append(f"END{width}:{compact[-width:]}")
    # The leading verb says what kind of statement it is: 提供/完成/开展 (an output) vs 提升/促进 (an effect).
    tokens += [f"BEG{width}:{compact[:width]}" for width in (1, 2) if len(compact) > width]
    return tokens


def rows_identity(rows: Sequence[tuple[str, str, str]]) -> Sequence[tuple[str, str, str]]:
    return rows


class TextFeatures(TransformerMixin, BaseEstimator):
    """All features of an indicator row, as one sparse matrix (a FeatureUnion with fixed weights)."""

    def __init__(
        self,
        *,
        word_weight: float = 1.0,
        char_weight: float = 1.0,
        desc_weight: float = 0.35,
        value_weight: float = 0.6,
        cue_weight: float = 0.8,
    ) -> None:
        self.word_weight = word_weight
        self.char_weight = char_weight
        self.desc_weight = desc_weight
        self.value_weight = value_weight
        self.cue_weight = cue_weight

    def _union(self) -> FeatureUnion:
        return FeatureUnion(
            [
                (
                    "words",
                    Pipeline(
                        [
                            ("select", FunctionTransformer(select_names)),
                            (
                                "tfidf",
                                TfidfVectorizer(
                                    tokenizer=segment,
                                    token_pattern=None,
                                    lowercase=False,
                                    ngram_range=(1, 2),
                                    sublinear_tf=True,
                                ),
                            ),
                        ]
                    ),
                ),
                (
                    "chars",
                    Pipeline(
                        [
                            ("select", FunctionTransformer(select_names)),
                            (
                                "tfidf",
                                TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True),
                            ),
                        ]
                    ),
                ),
                (
                    "desc",
                    Pipeline(
                        [
                            ("select", FunctionTransformer(select_descriptions)),
                            (
                                "tfidf",
                                TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True),
                            ),
                        ]
                    ),
                ),
                (
                    "value",
                    Pipeline(
                        [
                            ("select", FunctionTransformer(select_values)),
                            ("count", TfidfVectorizer(analyzer=value_analyzer, use_idf=False)),
                        ]
                    ),
                ),
                (
                    "cues",
                    Pipeline(
                        [
                            ("select", FunctionTransformer(rows_identity)),
                            ("count", TfidfVectorizer(analyzer=cue_analyzer, use_idf=False)),
                        ]
                    ),
                ),
            ],
            transformer_weights={
                "words": self.word_weight,
                "chars": self.char_weight,
                "desc": self.desc_weight,
                "value": self.value_weight,
                "cues": self.cue_weight,
            },
        )

    def fit(self, rows: Sequence[tuple[str, str, str]], y: Any = None) -> TextFeatures:
        rows = list(rows)
        if not any(row[1] for row in rows):
            # No description at all (a training slice without them): one placeholder keeps the description
            # vocabulary from being empty; it shares no n-gram with real text.
            rows.append(("", "无描述", ""))
        self.union_ = self._union().fit(rows)
        return self

    def transform(self, rows: Sequence[tuple[str, str, str]]) -> sparse.csr_matrix:
        check_is_fitted(self, "union_")
        return transform_rows(self, rows)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "union_")
        names = [
            f"{group}__{token}"
            for group, pipe in self.union_.transformer_list
            for token in pipe[-1].get_feature_names_out()
        ]
        return np.asarray(names, dtype=object)


# The union's transform, reproduced step for step but with each analyzer run once per row and shared:
# the classifier and the process detector both tokenise the same rows with the same analyzers (jieba
# words, character n-grams, value and cue tokens), and only their vocabularies and weights differ.
# ``tests/test_batch.py`` pins the result to ``union_.transform`` bit for bit.

Analyses = dict[tuple[Any, ...], list[Any]]


def _analysis_key(select: Any, vectorizer: TfidfVectorizer) -> tuple[Any, ...]:
    """What decides the tokens a vectorizer sees: equal keys, equal tokens for the same rows."""
    params = vectorizer.get_params()
    names = ("analyzer", "tokenizer", "preprocessor", "ngram_range", "lowercase", "strip_accents",
             "token_pattern", "input", "encoding", "decode_error")  # fmt: skip
    stop = params["stop_words"]
    return (select, *(params[name] for name in names), tuple(stop) if isinstance(stop, list) else stop)


def _shareable(pipe: Any) -> bool:
    return (
        isinstance(pipe, Pipeline)
        and len(pipe) == 2
        and isinstance(pipe[0], FunctionTransformer)
        and pipe[0].func is not None
        and not pipe[0].kw_args
        and type(pipe[-1]) is TfidfVectorizer
    )


def _counts(tokens: Sequence[Sequence[str]], vectorizer: TfidfVectorizer) -> Any:
    """The count matrix ``CountVectorizer._count_vocab`` builds for these tokens (vocabulary fixed)."""
    lookup = vectorizer.vocabulary_.get
    indices: list[int] = []
    values: list[int] = []
    indptr = [0]
    for doc in tokens:
        counter = Counter(map(lookup, doc))  # counted in C; unknown tokens count under None
        counter.pop(None, None)
        indices.extend(counter)  # type: ignore[arg-type]
        values.extend(counter.values())
        indptr.append(len(indices))
    matrix = sparse.csr_array(
        (
            np.asarray(values, dtype=np.intc),
            np.asarray(indices, dtype=np.int32),
            np.asarray(indptr, np.int32),
        ),
        shape=(len(indptr) - 1, len(vectorizer.vocabulary_)),
        dtype=vectorizer.dtype,
    )
    matrix.sort_indices()
    if vectorizer.binary:
        matrix.data.fill(1)
    return matrix


def transform_rows(
    features: TextFeatures, rows: Sequence[tuple[str, str, str]], analyses: Analyses | None = None
) -> sparse.csr_matrix:
    """``features.transform(rows)``; pass the same ``analyses`` dict to several fitted TextFeatures to
    tokenise each row once for all of them."""
    analyses = {} if analyses is None else analyses
    rows = list(rows)
    union = features.union_
    weights = union.transformer_weights or {}
    blocks = []
    for name, pipe in union.transformer_list:
        if not _shareable(pipe):
            block = pipe.transform(rows)  # not the select -> vectorizer shape: no shortcut
            weight = weights.get(name)
            blocks.append(block if weight is None else block * weight)
            continue
        select, vectorizer = pipe[0].func, pipe[-1]
        key = _analysis_key(select, vectorizer)
        if key not in analyses:
            analyze = vectorizer.build_analyzer()
            analyses[key] = [analyze(doc) for doc in select(rows)]
        block = vectorizer._tfidf.transform(_counts(analyses[key], vectorizer), copy=False)
        weight = weights.get(name)
        blocks.append(block if weight is None else block * weight)
    return sparse.csr_matrix(sparse.hstack(blocks).tocsr())


def build_pipeline(*, family: str = "logreg", C: float = 4.0) -> Pipeline:
    """The classifier pipeline. ``family`` is one of ``logreg``, ``svm``, ``nb``, ``sgd``."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import SGDClassifier
    from sklearn.naive_bayes import ComplementNB
    from sklearn.svm import LinearSVC

    classifiers: dict[str, Any] = {
        "logreg": LogisticRegression(C=C, max_iter=3000, class_weight="balanced"),
        "svm": CalibratedClassifierCV(
            LinearSVC(C=C / 8, class_weight="balanced", random_state=0), cv=2, method="sigmoid"
        ),
        "nb": ComplementNB(alpha=0.3),
        "sgd": SGDClassifier(loss="modified_huber", alpha=1e-4, class_weight="balanced", random_state=0),
    }
    return Pipeline([("features", TextFeatures()), ("clf", classifiers[family])])


def build_process_pipeline() -> Pipeline:
    """Detector of process items (budget execution, fund arrival, spending compliance): ``PR`` vs ``OK``.

    Character n-grams and the process cue words carry most of it; descriptions matter more here
    ("及时支付" vs "及时发放").
    """
    features = TextFeatures(
        word_weight=0.8, char_weight=1.0, desc_weight=0.5, value_weight=0.3, cue_weight=1.0
    )
    clf = LogisticRegression(C=4.0, max_iter=3000, class_weight="balanced")
    return Pipeline([("features", features), ("clf", clf)])
