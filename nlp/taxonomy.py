"""The standard indicator framework (TAXONOMY.md): codes, names, aliases and schemes.

Every label as it is written in a published table ("21-经济效益", "效果指标", "產出指標(50分)") is
normalised to a code; the classifier's label set is the nine classic leaves.

>>> normalise_label("21-经济效益")
'21'
>>> normalise_label("产出指标(50分)")
'1'
>>> l1_for_leaf("14", scheme=SCHEME_2021)
'成本指标'
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "LEAVES",
    "L1_CODES",
    "PROCESS",
    "SCHEME_CLASSIC",
    "SCHEME_2021",
    "SCHEME_2013",
    "TAXONOMY_VERSION",
    "LEAF_NAMES",
    "L1_NAMES",
    "normalise_label",
    "declared_code",
    "parent_code",
    "l1_for_leaf",
    "l2_name",
    "detect_scheme",
    "belongs",
    "label_name",
    "CUES",
    "PROCESS_CUES",
    "PROCESS_PATTERN",
]

TAXONOMY_VERSION = "2024.1"

SCHEME_CLASSIC = "classic"
SCHEME_2021 = "2021"
# The 2013 common evaluation framework: 满意度 is a 二级 under 效益/效果 and there is no 满意度 一级.
SCHEME_2013 = "2013"

#: Process items: budget execution, not a performance indicator (gold code ``PR``).
PROCESS = "PR"

#: The classifier's label set: the nine classic leaves.
LEAVES: tuple[str, ...] = ("11", "12", "13", "14", "21", "22", "23", "24", "31")
L1_CODES: tuple[str, ...] = ("1", "2", "3")

L1_NAMES: dict[str, str] = {"1": "产出指标", "2": "效益指标", "3": "满意度指标", "4": "成本指标"}
LEAF_NAMES: dict[str, str] = {
    "11": "数量指标",
    "12": "质量指标",
    "13": "时效指标",
    "14": "成本指标",
    "21": "经济效益指标",
    "22": "社会效益指标",
    "23": "生态效益指标",
    "24": "可持续影响指标",
    "31": "服务对象满意度指标",
    PROCESS: "过程指标（非绩效）",
}

# 2021 scheme: 成本 is its own 一级 (code "4" here) with 经济/社会/生态环境成本 under it.
_COST_L2_2021 = ("经济成本", "社会成本", "生态环境成本")

# Canonical stems (after stripping "指标" and codes) -> code. Longest match wins.
_ALIASES: dict[str, str] = {
    # 一级
    "产出": "1",
    "项目完成": "1",
    "效益": "2",
    "效果": "2",
    "满意度": "3",
    "成本": "14",  # as a 二级 (classic) or as a 一级 (2021); resolved by context
    # 二级
    "数量": "11",
    "产出数量": "11",
    "质量": "12",
    "产出质量": "12",
    "时效": "13",
    "进度": "13",
    "产出时效": "13",
    "产出成本": "14",
    "经济成本": "14",
    "社会成本": "14",
    "生态环境成本": "14",
    "经济效益": "21",
    "社会效益": "22",
    "生态效益": "23",
    "环境效益": "23",
    "生态环境效益": "23",
    "可持续影响": "24",
    "可持续": "24",
    "服务对象满意度": "31",
    "社会公众或服务对象满意度": "31",
    "社会公众满意度": "31",
    "可持续发展": "24",
    "满意度指标": "3",
}

# Traditional -> simplified for the characters that occur in category labels.
_TRAD = str.maketrans(
    {
        "產": "产",
        "指": "指",
        "標": "标",
        "數": "数",
        "質": "质",
        "時": "时",
        "效": "效",
        "經": "经",
        "濟": "济",
        "會": "会",
        "態": "态",
        "續": "续",
        "響": "响",
        "務": "务",
        "對": "对",
        "象": "象",
        "滿": "满",
        "意": "意",
        "門": "门",
        "環": "环",
        "進": "进",
        "項": "项",
        "目": "目",
        "級": "级",
        "衆": "众",
        "眾": "众",
        "體": "体",
    }
)

_SCORE = re.compile(r"[（(]\s*[\d０-９.\-－~～]+\s*分?\s*[)）]\s*分?|\d+\s*分$")
_LEADING_CODE = re.compile(r"^\s*(\d{1,2})\s*[-－—.、．]\s*")
_STRIP = re.compile(r"[\s　:：、，,。;；\-－—_]+")


# "一、产出指标", "（一）数量指标": enumeration in Chinese numerals; "二级指标：时效指标": the column name.
_ENUMERATION = re.compile(
    r"^\s*(?:[(（]\s*[一二三四五六七八九十]+\s*[)）]|[一二三四五六七八九十]+\s*[、.．])\s*"
)
_COLUMN_PREFIX = re.compile(r"^\s*[一二三]级指标\s*[:：]\s*")
# Any note in brackets at the end: "（%）", "（权重30%）", "(定量)".
_TRAILING_NOTE = re.compile(r"\s*[(（][^()（）]*[)）]\s*$")


def _clean(label: str) -> str:
    text = unicodedata.normalize("NFKC", label or "").translate(_TRAD)
    text = _SCORE.sub("", text)
    text = _COLUMN_PREFIX.sub("", _ENUMERATION.sub("", text))
    while _TRAILING_NOTE.search(text) and _TRAILING_NOTE.sub("", text):
        text = _TRAILING_NOTE.sub("", text)
    return text.strip()


def normalise_label(label: str | None, *, level: int | None = None) -> str | None:
    """Return the code of a category label as written, or ``None`` if it is not a category.

    ``level`` (1 or 2) says which column the label came from; "成本指标" is then "4" (the 2021 一级)
    when ``level == 1`` and "14" otherwise.

    >>> normalise_label("經濟效益指標")
    '21'
    >>> normalise_label("成本指标（0-20）分", level=1)
    '4'
    """
    if not label:
        return None
    text = _clean(label)
    if not text:
        return None
    code_match = _LEADING_CODE.match(text)
    explicit = code_match.group(1) if code_match else None
    if code_match:
        text = text[code_match.end() :]
    stem = _STRIP.sub("", text)
    stem = stem.replace("指标", "").replace("类", "")
    code = _ALIASES.get(stem)
    if code is None:
        # Category text glued to more text ("效益指标社保业务档案…"): longest alias prefix.
        for alias in sorted(_ALIASES, key=len, reverse=True):
            if stem.startswith(alias) and (text.startswith(alias + "指标") or stem == alias):
                code = _ALIASES[alias]
                break
    if code is None and explicit in LEAVES + L1_CODES:
        code = explicit
    if code is None:
        return None
    if code == "14" and level == 1 and stem in ("成本", "成本指标"):
        return "4"
    if code == "3" and level == 2:
        return "31"
    return code


def parent_code(code: str) -> str:
    """The classic 一级 code of a leaf: ``"22"`` -> ``"2"``."""
    return code[0] if code and code[0].isdigit() else code


def l1_for_leaf(code: str, *, scheme: str = SCHEME_CLASSIC) -> str:
    """The 一级 name a leaf sits under in ``scheme`` (14 -> 成本指标 in the 2021 scheme)."""
    if code == PROCESS:
        return LEAF_NAMES[PROCESS]
    if code == "14" and scheme == SCHEME_2021:
        return L1_NAMES["4"]
    if code == "31" and scheme == SCHEME_2013:
        return L1_NAMES["2"]
    return L1_NAMES[parent_code(code)]


def l2_name(code: str) -> str:
    return LEAF_NAMES.get(code, code)


def label_name(code: str | None) -> str:
    """A reviewer-facing Chinese name for any code ("22" -> "社会效益指标", "2" -> "效益指标")."""
    if not code:
        return ""
    return LEAF_NAMES.get(code) or L1_NAMES.get(code) or code


def declared_code(l1: str | None, l2: str | None) -> str:
    """The classic code of a declared placement; ``""`` when it cannot be read.

    A 一级 with no 二级 (成本指标 holding 预算执行率 directly) gives the 一级's leaf ("14").

    >>> declared_code("产出指标", "数量指标")
    '11'
    >>> declared_code("成本指标", "")
    '14'
    """
    c2 = normalise_label(l2, level=2)
    if c2 in LEAVES:
        return c2
    c1 = normalise_label(l1, level=1)
    if c1 == "4":
        return "14"
    if c2 in L1_CODES and c1 is None:
        c1 = c2
    if c1 == "3":
        return "31"
    return ""


def detect_scheme(l1_labels: Iterable[str], l2_labels: Iterable[str] = ()) -> str:
    """Which scheme a project's table follows (TAXONOMY.md §1): 2021 when 成本 is a 一级 or 2021 cost 二级
    appear; 2013 when a satisfaction 二级 sits under 效益/效果 and no 满意度 一级 is used (the labels are
    parallel: the i-th 二级 is under the i-th 一级); classic otherwise.

    >>> detect_scheme(["产出指标", "成本指标", "效益指标"])
    '2021'
    >>> detect_scheme(["产出指标", "效益指标"], ["成本指标"])
    'classic'
    >>> detect_scheme(["产出指标", "效益指标"], ["数量指标", "社会公众或服务对象满意度指标"])
    '2013'
    """
    l1s, l2s = list(l1_labels), list(l2_labels)
    for label in l1s:
        if normalise_label(label, level=1) == "4":
            return SCHEME_2021
    for label in l2s:
        if any(name in _clean(label or "") for name in _COST_L2_2021):
            return SCHEME_2021
    codes1 = [normalise_label(label, level=1) for label in l1s]
    if "3" not in codes1 and len(l1s) == len(l2s):
        for c1, l2 in zip(codes1, l2s, strict=True):
            if c1 == "2" and normalise_label(l2, level=2) == "31":
                return SCHEME_2013
    return SCHEME_CLASSIC


def belongs(l1: str | None, l2: str | None, *, scheme: str) -> bool:
    """Whether the declared 二级 belongs to the declared 一级 in ``scheme``.

    >>> belongs("效益指标", "数量指标", scheme="classic")
    False
    >>> belongs("成本指标", "", scheme="2021")
    True
    """
    c1 = normalise_label(l1, level=1)
    c2 = normalise_label(l2, level=2)
    if c1 is None or c2 is None or c2 not in LEAVES:
        return True  # nothing to compare
    if c1 == "4":
        return c2 == "14" and scheme == SCHEME_2021
    if c2 == "31" and c1 == "2" and scheme == SCHEME_2013:
        return True  # the 2013 framework's own layout: satisfaction under 效益/效果
    if c2 == "14" and scheme == SCHEME_2021 and c1 == "1":
        # The 2021 scheme moved cost out of 产出, but real tables keep it there; not an error.
        return True
    return parent_code(c2) == c1


# --------------------------------------------------------------------------------------------- cues
# What each 二级 measures (TAXONOMY.md §3 and §6), as cue words. They become classifier features and
# rule evidence for the audit; they never decide a label on their own.
_CUE_DATA = json.loads((Path(__file__).resolve().parent / "data" / "cues.json").read_text(encoding="utf-8"))
CUES: dict[str, tuple[str, ...]] = {code: tuple(words) for code, words in _CUE_DATA["cues"].items()}

# Process items (TAXONOMY.md §4, §6): budget execution, fund arrival, spending compliance, money moving.
PROCESS_CUES: tuple[str, ...] = tuple(_CUE_DATA["process"])

# The same, written out as a pattern: strong enough to flag on its own (TAXONOMY.md §4: "flag them as
# process items whatever their slot").
PROCESS_PATTERN = re.compile(
    r"预算.{0,4}(执行|完成)|资金.{0,3}(执行|到位|实际支出|支出|支付|下达|拨付|到账)|支出的?(合规|相关)"
    r"|政府采购率|经费.{0,2}支付|支付合规"
    # §6 "compliance of the unit's own spending": how the money is used, where it goes, breaches, earmarking
    r"|资金.{0,4}(使用率|使用进度|使用合规|投向合规|违规|违纪|结余)|专款专用|经费.{0,2}(支出|使用).{0,2}(合规|时效|及时)"
    # §6 "money moving on time", and budget execution by its other names
    r"|(经费|资金|款项?|结算款).{0,3}(支出|支付).{0,2}(及时|时效|进度)|资金发放率|(经费|资金).{0,4}应发尽发|结余率|结转率|科目调整"
)
