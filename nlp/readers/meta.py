"""Projects of tables as they are found (part of :mod:`nlp.readers.found`): the key-value cells that describe a
project (项目名称, 主管部门, 预算, 年度目标) and the finished :class:`~nlp.records.Project`.

>>> meta_pairs(["项目名称", "乡村公路养护", "主管部门", "某县交通运输局"])
[('project', '项目名称', '乡村公路养护'), ('department', '主管部门', '某县交通运输局')]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nlp.readers import cells as kinds
from nlp.readers.cells import header_role
from nlp.records import Indicator, Project
from nlp.taxonomy import declared_code, detect_scheme

__all__ = [
    "Draft",
    "build_project",
    "meta_key",
    "meta_pairs",
    "parse_budget",
    "drop_code",
    "META_IN",
    "GOAL_LABELS",
    "TITLE",
]

FIELDS = (
    "description",
    "cycle_value",
    "annual_value",
    "actual_value",
    "weight",
    "score",
    "deviation_reason",
    "basis",
)


# ------------------------------------------------------------------------------------------ projects


@dataclass
class Draft:
    """A project being read: its metadata and the indicator rows found so far."""

    line: int = 0
    name: str = ""
    title: str = ""
    department: str = ""
    budget: float | None = None
    goal: list[str] = field(default_factory=list)
    rows: list[dict[str, str]] = field(default_factory=list)
    header_line: int = 0


def build_project(draft: Draft, path: str) -> Project:
    """The finished project; the scheme is detected from the project's own labels."""
    scheme = detect_scheme([r["c1"] for r in draft.rows], [r["c2"] for r in draft.rows])
    doc = re.split(r"[\\/]", path)[-1]
    name = draft.name or draft.title
    goal = "；".join(g for g in draft.goal if g)
    indicators = tuple(
        Indicator(
            doc=doc,
            department=draft.department,
            project=name,
            goal=goal,
            budget=draft.budget,
            scheme=scheme,
            declared_l1=r["l1"],
            declared_l2=r["l2"],
            declared_code=declared_code(r["c1"], r["c2"]),
            name=r["name"],
            line=int(r["line"]),
            **{f: r.get(f, "") for f in FIELDS},
        )
        for r in draft.rows
    )
    return Project(
        doc, draft.department, name, goal, draft.budget, scheme, draft.line or draft.header_line, indicators
    )


# ------------------------------------------------------------------------------------------ metadata

_META_RULES: tuple[tuple[str, str], ...] = (
    ("project", r"项目(?:支出)?名称|专项(?:资金)?名称|项目全称|资金名称|政策名称"),
    ("unit_name", r"部门(?:\(单位\))?名称|单位名称|单位信息"),
    (
        "department",
        r"(?:项目|中央|省级|市级|县级)?(?:主管部门|主管单位|实施单位|执行单位|预算部门|预算单位|项目单位|申报单位"
        r"|资金使用单位|用款单位|责任单位|负责单位)(?:名称|及其?编码|及其?代码)?",
    ),
    (
        "budget",
        r".{0,8}(?:预算(?:金额|数|资金|总额|安排)?|资金总额|预算资金|项目资金|资金规模|资金额度|总金额|申报金额|项目金额|预算总额|总投资|预算安排)"
        r"(?:\((?:万元|元)\))?",
    ),
    ("goal", r".{0,6}(?:绩效目标|总体目标|年度目标|整体目标|主要任务|项目目标|中期目标)"),
    (
        "skip",
        r"联系人(?:及电话)?|(?:项目)?负责人及电话|联系电话|项目经办人(?:电话)?|经办人|项目属性|项目类别|项目分类|项目性质|项目起止时间"
        r"|项目支出实施期|建设周期|项目负责人|业务主管部门|项目审批|项目类型|填报类型",
    ),
)
_META = [(kind, re.compile(rf"^(?:{rule})$")) for kind, rule in _META_RULES]
_META_START = [re.compile(rf"^(?:{rule})") for _, rule in _META_RULES]
# Keys inside run-together text: the open prefix of a rule becomes the few words that start such keys.
_KEY_PREFIX = "(?:本年度|年度|全年|当年|项目|总体)?"
META_IN = re.compile(
    "|".join(f"(?:{re.sub(r'^[.][{]0,[68][}]', _KEY_PREFIX, rule)})" for _, rule in _META_RULES)
)
GOAL_LABELS = re.compile(
    r"^(?:预期目标|实际完成情况|目标实际完成情况|实施周期总目标|\d{4}年度?目标|年度目标|中期目标|目标|---|—+)$"
)
TITLE = re.compile(
    r"(?:绩效目标表|绩效目标申报表|绩效自评表|自评表|绩效评价表|评价指标体系|指标体系|绩效表)$"
)


def meta_key(cell: str) -> str | None:
    text = re.sub(r"[\s:：*]|[(（](?:万元|元|单位[:：]?万元)[)）]", "", kinds.simplify(cell))
    if not text or len(text) > 16 or header_role(text) not in (None, "annual_value"):
        return None
    if kinds._PREFIX.match(text):
        return None  # "时效指标预算资金当年下达率": an indicator, not a key
    return next((kind for kind, rule in _META if rule.match(text)), None)


def meta_pairs(cells: list[str]) -> list[tuple[str, str, str]]:
    """(kind, key as written, value) of the key-value cells of a row; ``[]`` when the row has none."""
    pairs: list[tuple[str, str, str]] = []
    i = 0
    while i < len(cells):
        cell = cells[i]
        kind = meta_key(cell)
        if kind:
            value = cells[i + 1] if i + 1 < len(cells) and not meta_key(cells[i + 1]) else ""
            if value and (kinds.is_budget_row(value) or header_role(value) or kinds.is_total(value)):
                value = ""  # a budget table's own header: 年初预算数 | 全年预算数 | 全年执行数
            pairs.append((kind, cell, value))
            i += 2 if value else 1
            continue
        plain = kinds.simplify(cell)
        if i > 0 or not cell:
            i += (
                1  # a key in a later cell ("公开14表 | 项目名称 | …") is looked for; a key inside text is not
            )
            continue
        starts = [m for rule in _META_START if (m := rule.match(plain)) and meta_key(m.group())]
        head = max(starts, key=lambda m: m.end(), default=None)
        after = plain[head.end() :] if head else ""
        if head and re.match(r"(?:申报|自评)?表|完成情况|完成|实现|公开|管理", after):
            head = None  # a title or a heading: 绩效目标表, 绩效目标完成情况
        if head and len(head.group()) > 6 and not re.match(r"\s*[:：\s]", after):
            head = None  # "为进一步加强预算…": a long key needs its colon
        at = [head] if head else []
        at += [
            m for m in META_IN.finditer(plain, head.end() if head else 0) if m.group() and meta_key(m.group())
        ]
        if head and len(head.group()) < len(plain):
            for k, match in enumerate(at):
                end = at[k + 1].start() if k + 1 < len(at) else len(cell)
                value = re.sub(r"^[\s:：]+", "", cell[match.end() : end]).strip()
                pairs.append((meta_key(match.group()) or "skip", match.group(), value))
        elif not pairs and i + 1 >= len(cells):
            return []
        i += 1
    return pairs


def drop_code(name: str) -> str:
    """A department without its budget code: "301002-某旗林业局" or "某市城市管理局 301001" -> the name."""
    return re.sub(r"^\d{3,}\s*[-－]\s*|\s+\d{5,}$", "", name.strip())


def parse_budget(text: str, unit_hint: str) -> float | None:
    match = re.search(r"-?\d[\d,，]*(?:\.\d+)?", kinds.simplify(text))
    if not match or re.match(r"\.\d", kinds.simplify(text)[match.end() :]):
        return None  # "86.586.5100%": amounts run together, none can be told apart
        return None
    number = float(re.sub(r"[,，]", "", match.group()))
    unit = kinds.simplify(text) if re.search(r"万|元", kinds.simplify(text)) else unit_hint
    return round(number * 1e-4, 6) if "元" in unit and "万" not in unit else number
