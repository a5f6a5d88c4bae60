from __future__ import annotations

import pytest

from nlp.taxonomy import (
    SCHEME_2021,
    SCHEME_CLASSIC,
    belongs,
    declared_code,
    detect_scheme,
    l1_for_leaf,
    normalise_label,
)


@pytest.mark.parametrize(
    ("label", "level", "code"),
    [
        ("21-经济效益", None, "21"),
        ("经济效益指标", None, "21"),
        ("经济效益", None, "21"),
        ("31-服务对象满意度", None, "31"),
        ("服务对象满意度指标", None, "31"),
        ("效果指标", None, "2"),
        ("產出指標", None, "1"),
        ("產出指標(50分)", None, "1"),
        ("产出指标（50分）", None, "1"),
        ("成本指标（0-20）分", 1, "4"),
        ("成本指标", 2, "14"),
        ("环境效益", None, "23"),
        ("进度指标", None, "13"),
        ("产出数量", None, "11"),
        ("产出质量", None, "12"),
        ("产出时效", None, "13"),
        ("产出成本", None, "14"),
        ("项目完成指标", None, "1"),
        ("社会公众或服务对象满意度", None, "31"),
        ("经济成本", 2, "14"),
        ("1-产出指标", 1, "1"),
        ("11-数量指标", 2, "11"),
        ("可持续影响指标", None, "24"),
        ("效益指标社保业务档案规范管理", None, "2"),
        ("", None, None),
        ("社保业务档案", None, None),
    ],
    ids=lambda v: str(v),
)
def test_normalise_label_reads_labels_as_written(label: str, level: int | None, code: str | None) -> None:
    assert normalise_label(label, level=level) == code


@pytest.mark.parametrize(
    ("l1", "l2", "code"),
    [
        ("产出指标", "数量指标", "11"),
        ("成本指标", "", "14"),
        ("满意度指标", "", "31"),
        ("效益指标", "社会效益指标", "22"),
        ("", "", ""),
    ],
)
def test_declared_code_of_a_placement(l1: str, l2: str, code: str) -> None:
    assert declared_code(l1, l2) == code


def test_detect_scheme_2021_when_cost_is_a_first_level_category() -> None:
    assert detect_scheme(["产出指标", "成本指标", "效益指标"]) == SCHEME_2021
    assert detect_scheme(["产出指标", "效益指标"], ["经济成本指标"]) == SCHEME_2021
    assert detect_scheme(["产出指标", "效益指标"], ["成本指标"]) == SCHEME_CLASSIC


def test_belongs_checks_second_level_against_first_level_in_the_scheme() -> None:
    assert not belongs("效益指标", "数量指标", scheme=SCHEME_CLASSIC)
    assert belongs("产出指标", "数量指标", scheme=SCHEME_CLASSIC)
    assert belongs("成本指标", "", scheme=SCHEME_2021)
    assert belongs("产出指标", "成本指标", scheme=SCHEME_CLASSIC)


def test_cost_leaf_sits_under_cost_in_the_2021_scheme() -> None:
    assert l1_for_leaf("14", scheme=SCHEME_2021) == "成本指标"
    assert l1_for_leaf("14", scheme=SCHEME_CLASSIC) == "产出指标"
    assert l1_for_leaf("31") == "满意度指标"


@pytest.mark.parametrize(
    ("label", "code"),
    [
        ("一、产出指标", "1"),
        ("（一）数量指标", "11"),
        ("(二)质量指标", "12"),
        ("二级指标：时效指标", "13"),
        ("服务对象满意度（%）", "31"),
        ("产出指标（权重30%）", "1"),
        ("可持续发展指标", "24"),
        ("一级指标", None),
    ],
    ids=lambda v: str(v),
)
def test_normalise_label_strips_enumeration_column_names_and_notes(label: str, code: str | None) -> None:
    assert normalise_label(label) == code
