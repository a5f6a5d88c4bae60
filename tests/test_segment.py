"""Specification of nlp.segment: domain-aware tokenization and target-value parsing."""

from __future__ import annotations

import csv
import pickle
import threading
from pathlib import Path

import jieba
import joblib
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

import nlp.segment as seg
import nlp.values as val
from nlp.errors import InputError
from nlp.segment import read_user_dict, segment
from nlp.values import KINDS, Value, parse_value, value_tokens, warm

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "values.csv"


def _load_cases() -> list[dict[str, str]]:
    with FIXTURE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


CASES = _load_cases()


# ------------------------------------------------------------------------------------------------ segment


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("资金到位率", "资金到位率"),
        ("项目资金到位率", "资金到位率"),
        ("服务对象满意度（%）", "服务对象满意度"),
        ("调查服务对象满意度", "服务对象满意度"),
        ("本区城镇新增就业人数", "城镇新增就业人数"),
        ("补贴资金预算执行率", "预算执行率"),
        ("信访案件办结率", "办结率"),
        ("政策知晓率", "知晓率"),
        ("补贴发放人数", "补贴发放人数"),
    ],
    ids=lambda value: value,
)
def test_segment_keeps_domain_terms_whole(text: str, term: str) -> None:
    assert term in segment(text)


def test_segment_drops_punctuation_and_folds_full_width() -> None:
    tokens = segment("服务对象满意度（％）， ＡＢＣ")
    assert tokens == ["服务对象满意度", "ABC"]


def test_segment_returns_a_fresh_list_each_call() -> None:
    first = segment("资金到位率")
    first.append("mutated")
    assert segment("资金到位率") == ["资金到位率"]


def test_segment_pickles_by_reference() -> None:
    assert pickle.loads(pickle.dumps(segment)) is segment


def test_fitted_vectorizer_with_segment_round_trips_through_joblib(tmp_path: Path) -> None:
    names = ["资金到位率", "预算执行率", "服务对象满意度", "城镇新增就业人数", "补贴发放及时率"]
    vectorizer = TfidfVectorizer(tokenizer=segment, token_pattern=None, lowercase=False).fit(names)
    path = tmp_path / "vectorizer.joblib"
    joblib.dump(vectorizer, path)
    loaded = joblib.load(path)
    assert "资金到位率" in loaded.vocabulary_
    assert (loaded.transform(names) != vectorizer.transform(names)).nnz == 0


def test_segment_uses_a_private_jieba_tokenizer() -> None:
    warm()
    assert seg._tokenizer() is not jieba.dt
    # The domain dictionary must not leak into jieba's global tokenizer other code may use.
    assert "城镇新增就业人数" not in jieba.dt.FREQ


def test_first_use_from_many_threads_builds_one_tokenizer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seg, "_jieba", None)
    seg._segment_cached.cache_clear()
    results: list[list[str]] = []
    threads = [threading.Thread(target=lambda: results.append(segment("项目资金到位率"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seg._segment_cached.cache_clear()
    assert results == [["项目", "资金到位率"]] * 4


def test_user_dictionary_lists_each_word_once() -> None:
    words = [word for word, _, _ in read_user_dict()]
    assert len(words) == len(set(words))


def test_read_user_dict_rejects_a_malformed_line(tmp_path: Path) -> None:
    path = tmp_path / "userdict.txt"
    path.write_text("# comment\n资金到位率\n预算执行率 many n\n", encoding="utf-8")
    with pytest.raises(
        InputError, match=r"\[E031\] .*line 3: '预算执行率 many n' is not 'word \[frequency\] \[tag\]'"
    ):
        read_user_dict(path)


def test_read_user_dict_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"\[E030\] The jieba user dictionary .* is missing"):
        read_user_dict(tmp_path / "absent.txt")


# ------------------------------------------------------------------------------------------- parse_value


def _numbers(field: str) -> tuple[float, ...]:
    return tuple(float(n) for n in field.split("|")) if field else ()


@pytest.mark.parametrize("case", CASES, ids=[case["value"] for case in CASES])
def test_parse_value_matches_the_reviewed_table(case: dict[str, str]) -> None:
    value = parse_value(case["value"], name=case["name"])
    expected = Value(
        text=case["value"],
        kind=case["kind"],
        comparator=case["comparator"],
        numbers=_numbers(case["numbers"]),
        unit=case["unit"],
        deadline=case["deadline"] == "yes",
        vague=case["vague"] == "yes",
    )
    assert value == expected


def test_value_table_covers_every_kind_and_comparator() -> None:
    assert {case["kind"] for case in CASES} == set(KINDS)
    assert {case["comparator"] for case in CASES} >= {"≥", ">", "≤", "<", "=", "≈", ""}
    assert len(CASES) >= 60


@pytest.mark.parametrize(
    ("text", "name", "without_name"),
    [
        ("提高群众政策知晓度", "提高群众政策知晓度", "text"),
        (
            "通过邮寄送达、公告送达，让群众少跑腿",
            "通过邮寄送达、公告送达，提高办案效率，让群众少跑腿",
            "text",
        ),
    ],
    ids=lambda value: value,
)
def test_repeat_is_decided_only_with_the_name(text: str, name: str, without_name: str) -> None:
    assert parse_value(text).kind == without_name
    assert parse_value(text, name=name).kind == "repeat"


def test_short_value_inside_a_longer_name_is_not_a_repeat() -> None:
    assert parse_value("及时", name="资金发放及时性").kind == "qualitative"


def _simple_values() -> list[str]:
    prefixes = ["", "≥", "＞", "<", "约", "不低于", "不超过", "达到", "低于"]
    bodies = ["98%", "0.36万人", "1000人次", "54宗", "40人/年", "800万元", "3个工作日", "8小时", "2倍", "95"]
    suffixes = ["", "以上", "以内", "左右"]
    return [p + b + s for p in prefixes for b in bodies for s in suffixes]


def _body(text: str) -> str:
    return seg._lexicon().label_prefix.sub("", val._normalise(text))


FAST_CASES = [t for t in [case["value"] for case in CASES] + _simple_values() if val._fast_quantity(_body(t))]


def test_fast_path_takes_most_simple_values() -> None:
    assert len(FAST_CASES) > 300
    assert val._fast_quantity(_body("2-7秒内")) is None  # a range goes through spaCy


@pytest.mark.parametrize("text", FAST_CASES)
def test_regex_fast_path_agrees_with_the_spacy_path(text: str) -> None:
    nlp, _ = val._value_pipeline()
    quantities, _ = val._quantities(nlp(_body(text)))
    assert quantities == [val._fast_quantity(_body(text))]


def test_value_pipeline_is_a_blank_spacy_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    import spacy

    def no_models(*args: object, **kwargs: object) -> None:
        raise AssertionError("spacy.load was called: value parsing must not need a downloaded model")

    monkeypatch.setattr(spacy, "load", no_models)
    monkeypatch.setattr(val, "_pipeline", None)
    nlp, _ = val._value_pipeline()
    assert nlp.lang == "zh"
    assert nlp.pipe_names == []
    assert isinstance(nlp.tokenizer, val._ValueTokenizer)
    assert val._parse.__wrapped__("不超过缴费额度的2/3").kind == "ratio"


def test_value_tokenizer_tags_roles() -> None:
    nlp, _ = val._value_pipeline()
    doc = nlp("约92万页，12月底前")
    assert [(t.text, t.tag_) for t in doc] == [
        ("约", "CMP"), ("92", "NUM"), ("万页", "UNIT"), (",", "P"), ("12", "NUM"), ("月底", "DATE"), ("前", "POST"),
    ]  # fmt: skip


def test_parse_value_is_cached() -> None:
    assert parse_value("≥98%") is parse_value("≥98%")


def test_value_record_pickles() -> None:
    value = parse_value("约92万页")
    assert pickle.loads(pickle.dumps(value)) == value


@pytest.mark.slow
def test_every_gold_value_parses_to_a_known_kind(corpus_dir: Path) -> None:
    with (corpus_dir / "gold" / "seed_gold.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    kinds = {parse_value(row["value"], name=row["name"]).kind for row in rows}
    assert kinds <= set(KINDS)
    assert {"percent", "count", "qualitative", "repeat"} <= kinds


# ------------------------------------------------------------------------------------------ value_tokens


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("≥98%", ["KIND=percent", "CMP=≥", "UNIT=%", "HAS_NUMBER", "PCT_HIGH"]),
        ("低于5%", ["KIND=percent", "CMP=<", "UNIT=%", "HAS_NUMBER", "PCT_LOW"]),
        ("0次", ["KIND=count", "UNIT=次", "HAS_NUMBER", "ZERO"]),
        ("年底前完成", ["KIND=deadline", "CMP=≤", "UNIT=年底", "DEADLINE"]),
        ("良好", ["KIND=qualitative", "VAGUE"]),
        ("", ["KIND=empty"]),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_value_tokens_describe_the_value(text: str, tokens: list[str]) -> None:
    assert value_tokens(parse_value(text)) == tokens


def test_value_tokens_pickles_by_reference() -> None:
    assert pickle.loads(pickle.dumps(value_tokens)) is value_tokens
