"""Indicator lists under category labels (part of :mod:`nlp.readers.text`): no table header, each label on
its own line and the indicators under it, one a line::

    【产出指标-数量指标】
    指标1:新建污水管网长度(≥12公里)
    经济效益
    指标
    指标1:带动农户增收(≥300元/户)

A label may be bracketed and carry both levels ("【效益指标-社会效益指标】"), or be a bare category that
wrapped over two lines ("经济效益" / "指标"). An item is "指标N:名称(值)", "指标N:名称：值" or "名称≥值". A line
"【项目概况】" or "项目名称：…" after indicators starts the next project.

>>> found = read_labelled(["【产出指标-数量指标】", "指标1:新建污水管网长度(≥12公里)", "【效益指标-社会效益指标】",
...                        "指标1:受益人口(≥3000人)"], "l.txt")
>>> [(i.declared_l1, i.declared_l2, i.name, i.annual_value) for i in found.projects[0].indicators]
[('产出指标', '数量指标', '新建污水管网长度', '≥12公里'), ('效益指标', '社会效益指标', '受益人口', '≥3000人')]
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from nlp.readers import cells as kinds
from nlp.readers.found import Found
from nlp.readers.meta import Draft, build_project, meta_pairs, parse_budget
from nlp.readers.rows import split_value

__all__ = ["read_labelled", "label_levels"]

_BRACKETS = re.compile(r"^[【\[〔［]\s*(?P<t>[^】\]〕］]{2,40})\s*[】\]〕］][:：]?\s*(?P<rest>.*)$")
_ITEM = re.compile(r"^(?:指标\s*\d{1,2}|\d{1,2}[.、．]|[(（]\d{1,2}[)）])\s*[:：.、]?\s*(?P<body>.+)$")
_TAIL = re.compile(r"^(?P<n>.{2,60}?)\s*[(（](?P<v>[^()（）]{1,30})[)）]\s*[。；;]?$")
_SYMBOLS = str.maketrans({"≧": "≥", "≦": "≤", "═": "=", "﹦": "=", "＝": "=", "＞": ">", "＜": "<"})
_NEW_PROJECT = re.compile(r"^[【\[]\s*(?:项目概况|项目概述|项目简介|项目名称)\s*[】\]]")


def label_levels(text: str) -> tuple[str, str] | None:
    """The 一级 and 二级 a label line names ("【产出指标-数量指标】" -> ("产出指标", "数量指标"); "经济效益指标" ->
    ("", "经济效益指标")); ``None`` when the line is no label.

    >>> label_levels("【效益指标-可持续影响指标】"), label_levels("经 济 效 益 指 标"), label_levels("指标1:人数")
    (('效益指标', '可持续影响指标'), ('', '经济效益指标'), None)
    """
    bracket = _BRACKETS.match(text.strip())
    body = bracket.group("t") if bracket and not bracket.group("rest") else text.strip()
    parts = [kinds.simplify(kinds.despace(p)).strip() for p in re.split(r"\s*[-－—/／、·>＞]\s*", body) if p]
    if not parts or not all(kinds.category(p) for p in parts) or len(parts) > 2:
        compact = re.sub(r"\s+", "", kinds.simplify(body))
        if not kinds.category(compact):
            return None
        parts = [compact]
    if len(parts) == 2:
        return parts[0], parts[1]
    level = kinds.category_level(kinds.category(parts[0]) or "")
    return (parts[0], "") if level == 1 else ("", parts[0])


def _item(text: str) -> tuple[str, str] | None:
    """(name, value) of an indicator line, else ``None``."""
    numbered = _ITEM.match(text)
    body = (numbered.group("body") if numbered else text).strip().rstrip("；;。")
    tail = _TAIL.match(body)
    if tail and (numbered or kinds.is_value(tail.group("v").translate(_SYMBOLS))):
        name, value = tail.group("n"), tail.group("v")
    elif re.search(r"[:：]", body):
        name, value = re.split(r"\s*[:：]\s*", body, maxsplit=1)
    else:
        name, value = split_value(body.translate(_SYMBOLS))
        if not numbered and not value:
            return None
    name = name.strip()
    if not name or len(name) > 60 or not kinds.name_like(name) or kinds.category(name):
        return None
    return name, value.strip().translate(_SYMBOLS)


def read_labelled(lines: Sequence[str], path: str) -> Found | None:
    """Indicators listed one a line under category labels; ``None`` unless at least two labelled items are
    found under at least two label lines."""
    texts = [(n, line.strip()) for n, line in enumerate(lines, start=1) if line.strip()]
    drafts: list[Draft] = []
    draft = Draft()
    l1 = l2 = ""
    labels = 0
    open_ = False  # an item belongs to a label only until a line that is neither
    last_text = ""
    k = 0
    while k < len(texts):
        n, text = texts[k]
        k += 1
        levels = None
        if k < len(texts) and len(text) <= 8 and len(texts[k][1]) <= 4:
            levels = label_levels(text + texts[k][1])  # "经济效益" / "指标": a label wrapped over two lines
            if levels is not None:
                k += 1
        levels = levels or label_levels(text)
        if levels is not None:
            new1, new2 = levels
            l1, l2 = (new1 or l1), new2
            if new1 and not new2:
                l2 = ""
            labels += 1
            open_ = True
            continue
        if _NEW_PROJECT.match(text):
            # The project's name is the last plain line above its overview.
            name = last_text if len(last_text) <= 60 else ""
            if draft.rows:
                drafts.append(draft)
                draft = Draft(name=name, line=n)
            elif not draft.name:
                draft.name, draft.line = name, n
            l1 = l2 = ""
        pairs = meta_pairs(kinds.split_cells(text))
        if pairs and not _ITEM.match(text):
            for kind, word, value in pairs:
                if kind == "project" and value:
                    if draft.rows:
                        drafts.append(draft)
                        draft = Draft()
                    draft.name, draft.line = value, n
                elif kind in ("department", "unit_name") and value and not draft.department:
                    draft.department = value
                elif kind == "budget" and value and draft.budget is None:
                    draft.budget = parse_budget(value, word)
            open_ = False
            continue
        item = _item(text) if open_ else None
        if item is None:
            open_ = open_ and bool(_ITEM.match(text))
            if re.search(r"[\u4e00-\u9fff]{4}", text) and not re.search(r"[【】：:]", text):
                last_text = text
            continue
        name, value = item
        c1, c2 = kinds.category(l1) or l1, kinds.category(l2) or l2
        draft.rows.append(
            {"name": name, "annual_value": value, "line": str(n), "l1": l1, "l2": l2, "c1": c1, "c2": c2}
        )
    drafts.append(draft)
    rows = sum(len(d.rows) for d in drafts)
    if labels < 2 or rows < 2:
        return None
    projects = tuple(build_project(d, path) for d in drafts if d.rows)
    return Found(projects, (), "labelled", ())
