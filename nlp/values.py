"""Parsing of target values with spaCy: "≥98%", "约92万页" or "年底前完成" -> a :class:`Value` record.

``parse_value`` runs a blank spaCy Chinese pipeline (no downloaded model) whose tokenizer is a small
scanner: numbers, units and comparators become single tokens with a role tag, Chinese text in between goes
through the private jieba of :mod:`nlp.segment`, and a ``Matcher`` over the role tags finds quantities,
ratios, dates and deadline words. Simple values ("≥98%", "1000人次") take a regex fast path that yields the
same record without building a Doc. ``value_tokens`` turns a record into symbolic classifier features.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from nlp.segment import lexicon as _lexicon
from nlp.segment import tokenizer as _tokenizer

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.matcher import Matcher
    from spacy.tokens import Doc

__all__ = ["KINDS", "Value", "parse_value", "value_tokens", "warm"]

KINDS: tuple[str, ...] = (
    "percent", "count", "money", "duration", "deadline", "ratio", "number",
    "qualitative", "repeat", "text", "empty",
)  # fmt: skip

_CACHE_SIZE = 1 << 16  # distinct values; boilerplate repeats, so hits dominate
_lock = threading.RLock()
_pipeline: tuple[Language, Matcher] | None = None


def warm() -> None:
    """Load the jieba dictionary and build the value pipeline now (at model load), not on the first request.

    >>> warm()
    """
    _tokenizer()
    _value_pipeline()


@dataclass(frozen=True)
class Value:
    """A parsed target value. ``numbers`` are as printed; a multiplier stays in the unit ("约92万页" -> 92, 万页)."""

    text: str
    kind: str  # one of KINDS
    comparator: str = ""  # "≥", ">", "≤", "<", "=", "≈" or ""
    numbers: tuple[float, ...] = ()
    unit: str = ""
    deadline: bool = False
    vague: bool = False


@dataclass(frozen=True)
class _Quantity:
    kind: str
    comparator: str
    numbers: tuple[float, ...]
    unit: str


_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# 》 and 《 are what > and < become when typed with a Chinese input method; only before a number.
_ANGLE_QUOTES = re.compile(r"[》《](?= ?\d)")
_SPACES = re.compile(r"\s+")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_RUN = re.compile(r"[^\W\d_]+")  # letters: Chinese or Latin
_NON_WORD = re.compile(r"[\W_]+")
_CN_DIGITS = dict(zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
_CN_POWERS = {"十": 10, "百": 100, "千": 1000}


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _THOUSANDS.sub("", text).replace(">=", "≥").replace("<=", "≤")
    text = _ANGLE_QUOTES.sub(lambda m: ">" if m.group() == "》" else "<", text)
    return _SPACES.sub(" ", text).strip()


def _number(text: str) -> float:
    """Digits as printed, or a simple Chinese numeral (一, 两, 十二, 三百五十)."""
    if text[0].isascii():
        return float(text)
    total, digit = 0, 0
    for ch in text:
        if ch in _CN_POWERS:
            total += (digit or 1) * _CN_POWERS[ch]
            digit = 0
        else:
            digit = _CN_DIGITS[ch]
    return float(total + digit)


def _unit_kind(unit: str) -> str:
    return _lexicon().unit_kind.get(unit.split("/")[0], "number") if unit else "number"


# ----------------------------------------------------------------------------------- spaCy value pipeline


class _ValueTokenizer:
    """spaCy tokenizer for target values: one token per number, unit and comparator, each tagged with its role.

    Tags: NUM, UNIT, DATE (年/月/日/月底 after a number), CMP, POST (以上/以内/前 after a quantity or date),
    RANGE (2-7, 2至7), RSEP (2/3, 1:1), DL (deadline words such as 年底前, 按时), W (other words), P.
    spaCy's own jieba segmenter calls the global ``jieba`` module; this one uses the private tokenizer.
    """

    def __init__(self, vocab: Any) -> None:
        self.vocab = vocab

    def __call__(self, text: str) -> Doc:
        from spacy.tokens import Doc

        words, tags, spaces = _scan(_normalise(text))
        return Doc(self.vocab, words=words, spaces=spaces, tags=tags)


def _scan(text: str) -> tuple[list[str], list[str], list[bool]]:
    lex = _lexicon()
    words: list[str] = []
    tags: list[str] = []
    spaces: list[bool] = []

    def emit(word: str, tag: str) -> None:
        words.append(word)
        tags.append(tag)
        spaces.append(False)

    def next_is_digit(pos: int) -> bool:
        pos += text.startswith(" ", pos)
        return pos < len(text) and text[pos].isdigit()

    pos = 0
    while pos < len(text):
        ch = text[pos]
        if ch == " ":
            if spaces:
                spaces[-1] = True
            pos += 1
        elif number := _NUMBER.match(text, pos):
            emit(number.group(), "NUM")
            pos = _scan_after_number(text, number.end(), emit, tags, words)
        elif run := _RUN.match(text, pos):
            _scan_run(run.group(), tags[-1] if tags else "", next_is_digit(run.end()), emit)
            pos = run.end()
        else:
            previous = tags[-1] if tags else ""
            if ch in "-~–—" and previous in ("NUM", "UNIT") and next_is_digit(pos + 1):
                tag = "RANGE"
            elif ch in "/:" and previous == "NUM" and next_is_digit(pos + 1):
                tag = "RSEP"
            elif ch in lex.comparators and next_is_digit(pos + 1):
                tag = "CMP"
            else:
                tag = "P"
            emit(ch, tag)
            pos += 1
    return words, tags, spaces


def _scan_after_number(text: str, pos: int, emit: Any, tags: list[str], words: list[str]) -> int:
    """Take the unit or date marker right after a number, then a trailing 以上 / 以内 / 前."""
    lex = _lexicon()
    start = pos + text.startswith(" ", pos)
    if marker := lex.after_number.match(text, start):
        unit = marker.group()
        number = words[-1]
        if unit in ("年", "日"):
            # 2024年 is a date, 5年 a duration; 12月31日 a date, 3日 a duration.
            is_date = (
                len(number) == 4 and 1900 <= float(number) <= 2100
                if unit == "年"
                else len(words) >= 3 and tags[-2] == "DATE" and words[-2] == "月"
            )
        else:
            is_date = unit in lex.date_markers
        emit(unit, "DATE" if is_date else "UNIT")
        pos = marker.end()
    start = pos + text.startswith(" ", pos)
    post = (lex.date_post if tags[-1] == "DATE" else lex.post).match(text, start)
    if post:
        emit(post.group(), "POST")
        pos = post.end()
    return pos


def _scan_run(run: str, previous: str, before_number: bool, emit: Any) -> None:
    """Tag a run of letters: a comparator closing it, Chinese-numeral quantities, then jieba words."""
    lex = _lexicon()
    if run in ("至", "到") and previous in ("NUM", "UNIT") and before_number:
        emit(run, "RANGE")
        return
    suffix = ""
    found = lex.cmp_suffix.search(run) if before_number else None
    # A one-character comparator (达, 为, 约) only when it does not end a word: 比例达10% but not 下达10项.
    if found and (len(found.group()) > 1 or len(run) == 1 or run[-2:] not in _tokenizer().FREQ):
        suffix, run = found.group(), run[: found.start()]
    pos = 0
    for quantity in lex.cn_quantity.finditer(run):
        _emit_words(run[pos : quantity.start()], emit)
        emit(quantity.group(1), "NUM")
        emit(quantity.group(2), "UNIT")
        pos = quantity.end()
    _emit_words(run[pos:], emit)
    if suffix:
        emit(suffix, "CMP")


def _emit_words(text: str, emit: Any) -> None:
    lex = _lexicon()
    previous = ""
    for word in _tokenizer().cut(text, HMM=False) if text else ():
        if word in lex.deadline_words:
            tag = "DL"
        elif word in lex.deadline_post and previous == "DL":
            tag = "POST"
        elif word in lex.comparators and len(word) > 1:
            tag = "CMP"
        else:
            tag = "W"
        emit(word, tag)
        previous = tag


def _value_pipeline() -> tuple[Language, Matcher]:
    global _pipeline
    if _pipeline is None:
        with _lock:
            if _pipeline is None:
                _pipeline = _build_pipeline()
    return _pipeline


def _build_pipeline() -> tuple[Language, Matcher]:
    import spacy
    from spacy.matcher import Matcher

    nlp = spacy.blank("zh")  # a blank pipeline: nothing downloaded, no trained component
    nlp.tokenizer = _ValueTokenizer(nlp.vocab)
    matcher = Matcher(nlp.vocab)
    cmp: list[list[dict[str, Any]]] = [[], [{"TAG": "CMP"}], [{"TAG": "CMP"}, {"TAG": "W", "OP": "{1,4}"}]]
    tail = [{"TAG": "UNIT", "OP": "?"}, {"TAG": "POST", "OP": "?"}]
    num, unit, rng = {"TAG": "NUM"}, {"TAG": "UNIT"}, {"TAG": "RANGE"}
    cores = ([num], [num, rng, num], [num, unit, rng, num])
    matcher.add("QTY", [pre + core + tail for pre in cmp for core in cores], greedy="LONGEST")
    matcher.add("RATIO", [pre + [num, {"TAG": "RSEP"}, num, *tail] for pre in cmp], greedy="LONGEST")
    dates = [[num, {"TAG": "DATE"}] * n for n in (1, 2, 3)]
    post = [{"TAG": "POST", "OP": "?"}]
    matcher.add("DATE", [pre + date + post for pre in cmp[:2] for date in dates], greedy="LONGEST")
    matcher.add("DEADLINE", [[{"TAG": "DL"}, *post]], greedy="LONGEST")
    return nlp, matcher


# -------------------------------------------------------------------------------------------------- parsing


def _fast_quantity(text: str) -> _Quantity | None:
    """A whole value that is one plain quantity ("≥98%", "1000人次", "约40人/年"), without spaCy."""
    lex = _lexicon()
    match = lex.fast.fullmatch(text)
    if match is None:
        return None
    number, unit = match["num"], match["unit"] or ""
    if unit in ("年", "日") or unit in lex.date_markers and unit not in lex.unit_kind:
        return None  # maybe a date: the spaCy path decides
    cmp = match["cmp"] or ""
    comparator = lex.comparators[cmp] if cmp else lex.post_comparators.get(match["post"] or "", "")
    return _Quantity(_unit_kind(unit), comparator, (float(number),), unit)


def _quantities(doc: Doc) -> tuple[list[_Quantity], list[_Quantity]]:
    """Quantities and deadlines (as quantities of kind "deadline") found by the Matcher, in text order."""
    from spacy.util import filter_spans

    lex = _lexicon()
    _, matcher = _value_pipeline()
    quantities: list[_Quantity] = []
    deadlines: list[_Quantity] = []
    for span in sorted(filter_spans(matcher(doc, as_spans=True)), key=lambda s: s.start):
        by_tag: dict[str, list[str]] = {}
        for token in span:
            by_tag.setdefault(token.tag_, []).append(token.text)
        numbers = tuple(_number(n) for n in by_tag.get("NUM", ()))
        cmp = lex.comparators[by_tag["CMP"][0]] if "CMP" in by_tag else ""
        post = by_tag.get("POST", [""])[0]
        if span.label_ in ("QTY", "RATIO"):
            unit = by_tag.get("UNIT", [""])[0]
            kind = "ratio" if span.label_ == "RATIO" else _unit_kind(unit)
            quantities.append(_Quantity(kind, cmp or lex.post_comparators.get(post, ""), numbers, unit))
        elif span.label_ == "DATE":
            markers = by_tag["DATE"]
            # A bare year ("参照2023年任务") is a reference, not a deadline, unless nothing else is measured.
            year_only = markers == ["年"] and not post
            deadline = _Quantity("deadline", cmp or lex.deadline_post.get(post, ""), numbers, markers[-1])
            deadlines.append(replace(deadline, kind="year") if year_only else deadline)
        else:
            unit, cmp = lex.deadline_words[by_tag["DL"][0]]
            deadlines.append(_Quantity("deadline", "≤" if post else cmp, (), unit))
    return quantities, deadlines


def _core(text: str) -> str:
    """Letters and digits of a value, without a "标准：" label; what qualitative and repeat checks compare."""
    return _NON_WORD.sub("", _lexicon().label_prefix.sub("", text))


@lru_cache(maxsize=_CACHE_SIZE)
def _parse(text: str) -> Value:
    lex = _lexicon()
    normal = _normalise(text)
    core = _core(normal)
    if not core or core in lex.placeholders:
        return Value(text, "empty")
    body = lex.label_prefix.sub("", normal)
    fast = _fast_quantity(body)
    deadlines: list[_Quantity] = []
    if fast is not None:
        quantities = [fast]
    else:
        nlp, _ = _value_pipeline()
        quantities, deadlines = _quantities(nlp(body))
    deadline = any(d.kind == "deadline" for d in deadlines)
    if quantities:
        first = quantities[0]
        numbers = tuple(n for q in quantities for n in q.numbers)
        kind = first.kind
        if first.unit in lex.multipliers and any(word in core for word in lex.money_context):
            kind = "money"  # 总成本350万: an amount of money whose 元 was left out
        return Value(text, kind, first.comparator, numbers, first.unit, deadline)
    if deadlines:
        first = next((d for d in deadlines if d.kind == "deadline"), deadlines[0])
        return Value(text, "deadline", first.comparator, first.numbers, first.unit, True)
    vague = any(word in core for word in lex.vague)
    # A bare metric name ("补贴标准合规率") states no target, so it is text even though it says 合规.
    qualitative = (
        len(core) <= 10
        and not core.endswith(lex.metric_suffixes)
        and (vague or any(word in core for word in lex.qualitative))
    )
    return Value(text, "qualitative" if qualitative else "text", vague=vague)


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def _repeats(value: Value, name: str) -> bool:
    """The value restates the indicator name: identical, or (with no number) mostly the same characters."""
    text, name = _core(_normalise(value.text)), _core(_normalise(name))
    if not text or not name:
        return False
    if text == name:
        return True
    if value.numbers or len(text) < 6:
        return False
    a, b = _bigrams(text), _bigrams(name)
    return 2 * len(a & b) / (len(a) + len(b)) >= 0.6


@lru_cache(maxsize=_CACHE_SIZE)
def parse_value(text: str, *, name: str = "") -> Value:
    """Parse one target value; pass the indicator ``name`` to detect values that merely repeat it.

    >>> parse_value("约92万页")
    Value(text='约92万页', kind='count', comparator='≈', numbers=(92.0,), unit='万页', deadline=False, vague=False)
    >>> parse_value("年底前完成").kind, parse_value("良好").vague
    ('deadline', True)
    """
    value = _parse(text)
    if name and value.kind != "empty" and _repeats(value, name):
        return replace(value, kind="repeat")
    return value


def value_tokens(value: Value) -> list[str]:
    """Symbolic features of a parsed value for a classifier (module-level, so a pipeline using it pickles).

    >>> value_tokens(parse_value("≥98%"))
    ['KIND=percent', 'CMP=≥', 'UNIT=%', 'HAS_NUMBER', 'PCT_HIGH']
    """
    tokens = [f"KIND={value.kind}"]
    if value.comparator:
        tokens.append(f"CMP={value.comparator}")
    if value.unit:
        tokens.append(f"UNIT={value.unit}")
    if value.numbers:
        tokens.append("HAS_NUMBER")
        if not any(value.numbers):
            tokens.append("ZERO")
    if value.deadline:
        tokens.append("DEADLINE")
    if value.vague:
        tokens.append("VAGUE")
    if value.unit == "%" and value.numbers:
        if value.numbers[0] >= 90:
            tokens.append("PCT_HIGH")
        if value.numbers[0] <= 10:
            tokens.append("PCT_LOW")
    return tokens
