"""Tokenization of indicator text: jieba with the domain dictionary (value parsing is :mod:`nlp.values`).

``segment`` feeds scikit-learn (``TfidfVectorizer(tokenizer=segment, token_pattern=None, lowercase=False)``).
It and the value parser use one private ``jieba.Tokenizer`` (never jieba's global one, which other code may reconfigure), loaded
lazily and once, with the domain dictionary ``data/userdict.txt`` plus the value words of
``data/value_words.json``. Value parsing runs a blank spaCy Chinese pipeline (no downloaded model) whose
tokenizer is a small scanner: numbers, units and comparators become single tokens with a role tag, Chinese
text in between goes through the private jieba, and a ``Matcher`` over the role tags finds quantities,
ratios, dates and deadline words. Simple values ("≥98%", "1000人次") take a regex fast path that yields
the same record without building a Doc.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jieba

from nlp.errors import InputError

__all__ = ["USER_DICT", "VALUE_WORDS", "segment", "read_user_dict", "tokenizer", "lexicon"]

DATA = Path(__file__).resolve().parent / "data"
USER_DICT = DATA / "userdict.txt"
VALUE_WORDS = DATA / "value_words.json"


_CACHE_SIZE = 1 << 16  # distinct texts; boilerplate repeats, so hits dominate (larger costs ~1 KB an entry)
_lock = threading.RLock()  # re-entrant: building one resource may one day need the other
_jieba: jieba.Tokenizer | None = None


# ---------------------------------------------------------------------------------------------- segmentation


def read_user_dict(path: Path = USER_DICT) -> list[tuple[str, int | None, str | None]]:
    """Read a jieba user dictionary (``word [freq] [tag]`` per line, ``#`` comments) and validate it.

    >>> ("资金到位率", None, None) in read_user_dict()
    True
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, UnicodeDecodeError):
        raise InputError("E030", path=path) from None
    entries: list[tuple[str, int | None, str | None]] = []
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) > 3 or (len(fields) > 1 and not fields[1].isdigit()):
            raise InputError("E031", path=path, line=number, text=line.strip())
        entries.append(
            (fields[0], int(fields[1]) if len(fields) > 1 else None, fields[2] if len(fields) > 2 else None)
        )
    return entries


def _tokenizer() -> jieba.Tokenizer:
    """The private jieba tokenizer, built on first use; double-checked locking keeps threads from racing."""
    global _jieba
    if _jieba is None:
        with _lock:
            if _jieba is None:
                _jieba = _build_tokenizer()
    return _jieba


def _build_tokenizer() -> jieba.Tokenizer:
    # jieba logs "Building prefix dict ..." at DEBUG on stderr; keep CLI output clean.
    logging.getLogger("jieba").setLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for word, freq, tag in read_user_dict():
        tokenizer.add_word(word, freq, tag)  # freq None: jieba suggests one that keeps the word whole
    for word in _lexicon().jieba_words:
        tokenizer.add_word(word)
    return tokenizer


@lru_cache(maxsize=1 << 16)  # tokens repeat across texts far more than texts do
def _is_word(token: str) -> bool:
    """False for tokens made only of punctuation, whitespace or control characters."""
    return any(unicodedata.category(ch)[0] not in "PZC" for ch in token)


@lru_cache(maxsize=_CACHE_SIZE)
def _segment_cached(text: str) -> tuple[str, ...]:
    normal = unicodedata.normalize("NFKC", text)
    return tuple(token for token in _tokenizer().cut(normal) if _is_word(token))


def segment(text: str) -> list[str]:
    """Split indicator text into words, keeping domain terms whole; punctuation and spaces are dropped.

    A module-level function, so a ``TfidfVectorizer(tokenizer=segment, token_pattern=None,
    lowercase=False)`` pickles. Full-width characters are folded to half-width first (NFKC).

    >>> segment("补贴资金预算执行率（%）")
    ['补贴', '资金', '预算执行率']
    """
    return list(_segment_cached(text))


# ------------------------------------------------------------------------------------------------- lexicon


@dataclass(frozen=True)
class _Lexicon:
    comparators: dict[str, str]
    post_comparators: dict[str, str]
    deadline_post: dict[str, str]
    unit_kind: dict[str, str]  # every unit spelling, with and without multiplier -> kind
    date_markers: frozenset[str]
    deadline_words: dict[str, tuple[str, str]]
    qualitative: tuple[str, ...]
    vague: tuple[str, ...]
    money_context: tuple[str, ...]
    metric_suffixes: tuple[str, ...]
    multipliers: frozenset[str]
    placeholders: frozenset[str]
    label_prefix: re.Pattern[str]
    after_number: re.Pattern[str]  # a unit or date marker right after a number
    post: re.Pattern[str]  # 以上 / 以内 / 左右 … after a quantity
    date_post: re.Pattern[str]  # 前 / 之前 / 内 after a date
    cmp_suffix: re.Pattern[str]  # a comparator word closing the text run before a number
    cn_quantity: re.Pattern[str]  # a Chinese numeral followed by a unit ("一次", "两场")
    fast: re.Pattern[str]  # a whole value that is one simple quantity
    jieba_words: tuple[str, ...]


def _alternation(words: Any) -> str:
    # Longest first: Python's alternation takes the first branch that matches, not the longest.
    return "|".join(re.escape(word) for word in sorted(set(words), key=lambda w: (-len(w), w)))


@lru_cache(maxsize=1)
def _lexicon() -> _Lexicon:
    try:
        raw = json.loads(VALUE_WORDS.read_text(encoding="utf-8"))
    except (FileNotFoundError, UnicodeDecodeError, json.JSONDecodeError):
        raise InputError("E032", path=VALUE_WORDS) from None
    unit_kind: dict[str, str] = {}
    for kind, units in raw["units"].items():
        for unit in units:
            unit_kind[unit] = kind
            if kind not in ("percent", "number"):
                for multiplier in raw["multipliers"]:
                    unit_kind[multiplier + unit] = kind
    for multiplier in raw["multipliers"]:
        unit_kind.setdefault(multiplier, "number")
    comparators: dict[str, str] = raw["comparators"]
    post_comparators: dict[str, str] = raw["post_comparators"]
    deadline_post: dict[str, str] = raw["deadline_post"]
    units, per = _alternation(unit_kind), _alternation(raw["per_units"])
    unit_re = f"(?:{units})(?:/(?:{per}))*"
    cmp_words = [w for w in comparators if w.isalpha()]
    # Chinese numerals only before count and duration units: 十分 (very) and 一起 (together) are not quantities.
    cn_units = [u for u, kind in unit_kind.items() if kind in ("count", "duration") and u not in ("起", "分")]
    fast = (
        rf"(?:(?P<cmp>{_alternation(comparators)}) ?)?(?P<num>\d+(?:\.\d+)?) ?"
        rf"(?P<unit>{unit_re})? ?(?P<post>{_alternation(post_comparators)})?"
    )
    jieba_words = [
        w for w in [*cmp_words, *post_comparators, *raw["deadline_words"], "当年度", "上年度"] if len(w) > 1
    ]
    return _Lexicon(
        comparators=comparators,
        post_comparators=post_comparators,
        deadline_post=deadline_post,
        unit_kind=unit_kind,
        date_markers=frozenset(raw["date_markers"]),
        deadline_words={word: (unit, cmp) for word, (unit, cmp) in raw["deadline_words"].items()},
        qualitative=tuple(raw["qualitative"]),
        vague=tuple(raw["vague"]),
        money_context=tuple(raw["money_context"]),
        metric_suffixes=tuple(raw["metric_suffixes"]),
        multipliers=frozenset(raw["multipliers"]),
        placeholders=frozenset(raw["placeholders"]),
        label_prefix=re.compile(rf"^(?:{_alternation(raw['label_prefixes'])}) ?: ?"),
        after_number=re.compile(rf"{unit_re}|{_alternation(raw['date_markers'])}"),
        post=re.compile(_alternation(post_comparators)),
        date_post=re.compile(_alternation(deadline_post)),
        cmp_suffix=re.compile(rf"(?:{_alternation(cmp_words)})$"),
        cn_quantity=re.compile(
            rf"(?<![第统唯之同某])([零〇一二两三四五六七八九十百千]+)({_alternation(cn_units)})(?![性致手])"
        ),
        fast=re.compile(fast),
        jieba_words=tuple(jieba_words),
    )


# ---------------------------------------------------------------------------------------------- value record


# Public names for nlp.values, which shares the tokenizer and the value words.
tokenizer = _tokenizer
lexicon = _lexicon
