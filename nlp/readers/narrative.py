"""Narrative self-evaluation reports (绩效自评报告): indicators written as sentences, not as a table.

A report says what each indicator aimed at and what was achieved::

    建设占地面积：指标值为约12000平方米，全年实际完成值约20000平方米；
    （1）数量指标：完成培训500人次，目标值≥450人次。

Each such clause becomes an indicator (name, target, actual value); its 二级 comes from the label in front
of it or from the nearest heading ("（一）产出指标完成情况", "1.质量指标"), else it stays empty and the
classifier decides.

>>> found = read_narrative(["项目名称：职业技能培训", "（一）产出指标", "建设占地面积：指标值为约12000平方米，全年实际完成值约20000平方米；",
...                         "（1）数量指标：完成培训500人次，目标值≥450人次。"], "r.txt")
>>> [(i.declared_l2, i.name, i.annual_value, i.actual_value) for i in found.projects[0].indicators]
[('', '建设占地面积', '约12000平方米', '约20000平方米'), ('数量指标', '完成培训', '≥450人次', '500人次')]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from nlp.readers import cells as kinds
from nlp.readers.found import Found
from nlp.readers.meta import Draft, build_project, meta_pairs, parse_budget
from nlp.readers.rows import split_value

__all__ = ["read_narrative"]

_VALUE = "(?:" + (
    r"\d{4}年(?:\d{1,2}月)?(?:\d{1,2}日)?(?:底|末)?(?:前|之前|以前)?(?=$|[，,。；;、）)\s])|"
    r"(?:约|≥|≤|>|<|=|≈|不低于|不少于|不超过|不高于|大于等于|小于等于|达到|超过|累计)?\s*"
    r"\d[\d,，.]*\s*(?:%|‰|[^\d\s，,。；;：:、（）()]{0,6}?)(?=$|[，,。；;、）)\s]|以上|以下|左右|实际|全年)(?:以上|以下|左右)?)"
)
_QUAL = r"(?:明显|显著|有效|稳步|逐步|持续|全面|基本|按时|按期|及时|较好|良好)?[\u4e00-\u9fff]{0,4}?(?:提升|提高|改善|完成|达标|合格|良好|显著|到位|增强)"
_TARGET = re.compile(
    rf"(?:年度|全年|预期|计划)?(?:(?:(?:指标值|目标值|计划值|预期值)(?:为|是|设定为|[:：])?|指标为)\s*(?P<v>{_VALUE}|{_QUAL})"
    rf"|(?:目标|计划)(?:为|是|设定为|[:：])?\s*(?P<w>{_VALUE}))"
)
_ACTUAL = re.compile(
    rf"(?:全年|年度|实际|全年实际)?(?:实际完成值|完成值|实际值|完成|达到|实现)(?:了|为|值为|[:：])?\s*(?P<v>{_VALUE})"
)
_ANY_VALUE = re.compile(_VALUE)
_ENUM = re.compile(
    r"^\s*(?:[(（][一二三四五六七八九十\d]{1,3}[)）]|[一二三四五六七八九十]{1,3}[、.．]|\d{1,2}[、.．](?!\d)|\d{1,2}[)）])\s*"
)
_HEADING = re.compile(r"^(?P<label>[^，,。；;：:]{2,16}?)(?:完成情况|情况|方面|分析)?[:：]?$")
_CLAUSES = re.compile(
    r"[。；;\n]|(?<=%)(?=[\u4e00-\u9fff])(?!实际|完成|全年|年度|当年|以上|以内|左右|及以上)"
)
_LEAD = re.compile(r"^(?:其中|一是|二是|三是|四是|五是|六是|另外|同时|此外)[,，:：]?")


@dataclass
class _State:
    """Where a report is being read: the project, the category headings in force and the section."""

    draft: Draft = field(default_factory=Draft)
    l1: str = ""
    l2: str = ""
    # "target" under a heading that introduces the targets ("四、绩效目标"), "done" under one on what became
    # of them ("绩效目标完成情况"): there, "name value" parts are indicators; "" elsewhere.
    section: str = ""


def read_narrative(lines: Sequence[str], path: str) -> Found | None:
    """Indicators written as sentences in a self-evaluation report; ``None`` when no clause gives a name
    with a target or an achieved value."""
    state = _State()
    # A report on what was done gives achieved values; a target letter gives targets.
    achieved = any(re.search(r"自评|完成情况|实际完成|评价报告", kinds.plain(line)) for line in lines)
    for n, text in _texts(lines):
        heading = _ENUM.sub("", text).strip().rstrip("：:。")
        if _section(heading):
            state.section = _section(heading)
            continue
        if heading != text and len(heading) <= 16 and not re.search(r"\d", heading):
            state.section = ""  # another numbered heading ("五、存在的问题") ends the targets
        if _meta_line(state.draft, text, n):
            continue
        for sentence in _sentences(text):
            _sentence(state, sentence, n, achieved=achieved if not state.section else state.section == "done")
    draft = state.draft
    if not draft.rows:
        return None
    if len(draft.rows) < 2 and not any(re.search(r"自评|绩效", line) for line in lines):
        return None
    return Found((build_project(draft, path),), (), "narrative", ())


def _texts(lines: Sequence[str]) -> list[tuple[int, str]]:
    """(line number, text) of the report; a line of pipe or tab cells gives each cell on its own
    ("年度绩效总目标 | 产出指标 | 开展巡查8次;编制资料3个"), so a label cell heads the cells after it."""
    out: list[tuple[int, str]] = []
    for n, line in _unwrapped(lines):
        style = kinds.line_style(line)
        cells = kinds.split_cells(line, style) if style in ("pipe", "tab") else [line.strip()]
        pairs = meta_pairs(cells) if len(cells) > 1 else []
        if pairs and all(value for _, _, value in pairs):  # 项目名称 | 文化馆免费开放
            cells = [" ".join(f"{word}：{value}" for _, word, value in pairs)]
        out.extend((n, cell) for cell in cells if cell and not kinds.is_furniture(cell))
    return out


def _section(heading: str) -> str:
    match = _SECTION.match(kinds.simplify(heading))
    return ("done" if match.group("done") else "target") if match else ""


def _meta_line(draft: Draft, text: str, n: int) -> bool:
    """Key-value lines (项目名称：…, 主管部门：…) and the report's title fill in the project."""
    pairs = meta_pairs(kinds.split_cells(text))
    if pairs and not _TARGET.search(kinds.plain(text)) and len(re.findall(r"[≥≤≧≦]", text)) < 2:
        for kind, word, value in pairs:
            if kind == "project" and value:
                draft.name, draft.line = value, n
            elif kind in ("department", "unit_name") and value and not draft.department:
                draft.department = value
            elif kind == "budget" and value and draft.budget is None:
                draft.budget = parse_budget(value, word)
            elif kind == "goal" and value:
                draft.goal.append(value)
        return True
    if not draft.name and re.search(r"(?:绩效)?自评报告$|绩效评价报告$", text) and len(text) <= 60:
        draft.name = re.sub(r"(?:\d{4}年度?)?(?:项目)?(?:支出)?(?:绩效)?(?:自评|评价)报告$", "", text) or text
        draft.line = n
        return True
    return False


def _sentence(state: _State, sentence: str, n: int, *, achieved: bool) -> None:
    heading = re.sub(r"(?:完成情况|情况|方面)?(?:分析)?[:：]?$", "", _ENUM.sub("", sentence.strip()))
    label = kinds.category(heading) if heading else None
    if heading and _section(heading):
        state.section = _section(heading)
        return
    if label:
        if kinds.category_level(label) == 1:
            state.l1, state.l2 = kinds.simplify(heading), ""
        else:
            state.l2 = kinds.simplify(heading)
        return
    # Bare "name value" parts count only inside an indicator section (after a category heading or a
    # targets heading), when they share one value, or anywhere when a comparator says the value is a
    # target ("道路硬化≥0.565km").
    paired = _pairs(sentence, achieved=achieved)
    shared = any(row.get("shared") for row in paired)
    inside = bool(state.l1 or state.l2 or state.section)
    found = (not shared and _clause(sentence)) or [
        row
        for row in paired
        if row.pop("shared", "") or inside or row["l2"] or _COMPARED.match(row["annual_value"])
    ]
    for row in found:
        own = row.pop("l2")
        rl1, rl2 = state.l1, own or state.l2
        if own and kinds.category_level(kinds.category(own) or "") == 1:
            rl1, rl2 = own, ""
        c1, c2 = kinds.category(rl1) or rl1, kinds.category(rl2) or rl2
        state.draft.rows.append({**row, "line": str(n), "l1": rl1, "l2": rl2, "c1": c1, "c2": c2})


_COMPARED = re.compile(r"^\s*(?:[≥≤><=≧≦＞＜＝﹦═]|不低于|不少于|不超过|不高于|大于等于|小于等于)")
_TERMINAL = re.compile(r"[。；;！!？?]\s*$")


def _unwrapped(lines: Sequence[str]) -> list[tuple[int, str]]:
    """(line number, text) with lines a PDF wrapped joined again: a long line that ends mid-sentence goes
    on in the next, unless that one starts a numbered item."""
    out: list[tuple[int, str]] = []
    wrapped = False
    for n, line in enumerate(lines, start=1):
        text = line.strip()
        cells = kinds.line_style(line) in ("pipe", "tab")
        if wrapped and text and not cells and not _ENUM.match(text) and not kinds.is_furniture(text):
            out[-1] = (out[-1][0], out[-1][1] + text)
        else:
            out.append((n, line))
        wrapped = bool(text) and not cells and len(out[-1][1].strip()) >= 24 and not _TERMINAL.search(text)
    return out


def _sentences(text: str) -> list[str]:
    """Clauses of a line; a comma run holding several "X目标值…，实际完成值…" is cut before each new name."""
    out: list[str] = []
    for sentence in _CLAUSES.split(text):
        parts = re.split(r"[，,]+", sentence)
        if len(parts) < 3 or len(_TARGET.findall(kinds.plain(sentence))) < 2:
            out.append(sentence)
            continue
        group: list[str] = []
        for part in parts:
            target = _TARGET.search(kinds.plain(part))
            if group and target and target.start() > 0 and any(_TARGET.search(kinds.plain(g)) for g in group):
                out.append("，".join(group))
                group = []
            group.append(part)
        out.append("，".join(group))
    return out


_FILLER = re.compile(
    r"^(?:该项目|本项目|项目(?!区)|全年|今年以来|共|累计|实际|基本|已|完成了?|其中|全[省市区县州镇乡]|我[省市区县镇乡局院])+"
)
# Headings that introduce the targets or what became of them; the "name value" parts under them are indicators.
_SECTION = re.compile(
    r"^(?:年度|项目|主要)?(?:绩效目标|绩效指标|年度目标|指标)(?P<done>完成|实现|完成情况|实现情况)?$"
)
# "当年开工率、完成率、验收合格率均达100%": one value shared by a list of names.
_SHARED = re.compile(
    r"^(?P<names>.{2,}(?:、|及|和).+?)(?:均已?|都|全部|分别)(?:达到?|为|达)(?P<v>[^，,、]{1,20})$"
)


def _pairs(sentence: str, *, achieved: bool) -> list[dict[str, str]]:
    """Indicators written as "name value" parts of a sentence without target words:
    "办理法律援助案件94件;调解各类纠纷数量1087件" or "完成时限,2025年10月底前"."""
    rows: list[dict[str, str]] = []
    l2, text = _head(_ENUM.sub("", sentence.strip()), goal=True)
    while l2 and (inner := _head(text))[0]:
        l2, text = inner  # "效益指标:经济效益指标:…": the inner label is the row's
    parts = _parts(text)
    done = _DONE_HEAD.match(kinds.plain(parts[0])) if parts else None
    if done and kinds.category(done.group("l")):  # "1.产出指标全部完成,慰问对象120人,…"
        l2, parts = l2 or kinds.simplify(done.group("l")), parts[1:]
    slot = "actual_value" if achieved else "annual_value"
    k = 0
    while k < len(parts):
        part = parts[k]
        shared = _shared(part)
        if shared:
            names, value = shared
            for name in names:  # a list sharing a value is evidence enough, even outside a section
                row = {"name": name, "annual_value": "", "actual_value": "", "l2": l2, "shared": "1"}
                rows.append({**row, slot: value})
            k += 1
            continue
        nxt = parts[k + 1] if k + 1 < len(parts) else ""
        if nxt and kinds.name_like(part) and kinds.is_value(nxt) and len(part) <= 30:
            name, value = part, nxt
            k += 2
        else:
            name, value = split_value(part)
            k += 1
        name = _unfill(name)
        if (
            value
            and name
            and kinds.name_like(name)
            and len(name) <= 30
            and not _SCORING.search(name)
            and not kinds.is_budget_row(name)  # "预算数为362万元": the budget, not an indicator
        ):
            # A comparator marks a target even in a report on what was achieved ("道路硬化≥0.565km").
            here = "annual_value" if _COMPARED.match(value) else slot
            rows.append({"name": name, "annual_value": "", "actual_value": "", "l2": l2, here: value})
    return rows


def _names(text: str) -> list[str]:
    """A list of names joined by 、; a piece that does not end like a name ("人畜分离") goes on in the next."""
    names: list[str] = []
    for piece in re.split(r"、|及(?=[\u4e00-\u9fff]{2})|和(?=[\u4e00-\u9fff]{2})", text):
        if names and not kinds._NAME_END.search(kinds.simplify(names[-1])):
            names[-1] = f"{names[-1]}、{piece}"
        else:
            names.append(piece)
    return [_unfill(n) for n in names if n.strip()]


def _unfill(name: str) -> str:
    """A name without the words a sentence puts before it ("全年共完成…"), unless they are the name
    ("完成率"); a trailing "为" ("发生率为") goes too."""
    name = re.sub(r"(?:均|都)?(?:为|是|达到|达)$|(?<=[\u4e00-\u9fff]{3})均$", "", name.strip())
    bare = _FILLER.sub("", name).strip()
    core = re.sub(r"[(（][^()（）]*[)）]$", "", bare)
    if re.fullmatch(r"[\u4e00-\u9fff]{1,2}率", core):
        return name  # "完成及时率": the words are the name
    return bare if len(bare) >= 3 or not kinds._NAME_END.fullmatch(bare) and len(bare) >= 2 else name


def _shared(part: str) -> tuple[list[str], str] | None:
    """("当年开工率、完成率均达100%") -> (["当年开工率", "完成率"], "100%"); ``None`` otherwise."""
    match = _SHARED.match(part.strip())
    if not match or not kinds.is_value(match.group("v")):
        return None
    names = _names(match.group("names"))
    if len(names) < 2 or not all(kinds.name_like(n) and len(n) <= 40 for n in names):
        return None
    if not all(kinds._NAME_END.search(kinds.simplify(n)) for n in names):
        return None
    return names, match.group("v").strip()


def _parts(text: str) -> list[str]:
    """The comma parts of a clause; a part is cut at 、 too when each piece holds its own value
    ("完成培训50人次、发放资料300份"), not when 、 joins the words of one name ("往返机场、火车站接送客人200人次")."""
    parts: list[str] = []
    for part in re.split(r"[,，]", text):
        part = part.strip()
        pieces = [p.strip() for p in part.split("、") if p.strip()]
        if len(pieces) > 1 and all(split_value(p)[1] for p in pieces):
            parts.extend(pieces)
        elif part:
            parts.append(part)
    return parts


_HEAD = re.compile(r"^(?:[^，,：:]{0,6}?设\s*)?(?:\d+\s*条)?([^，,：:]{2,40}?)\s*[：:]")
_DONE_HEAD = re.compile(
    r"^(?P<l>[^，,：:]{2,12}?(?:指标|目标))(?:全部|均已|已全部|基本|均)?(?:完成|达成|实现|达标)"
)
_SCORING = re.compile(r"满分|得分|扣分|原因")
_GOAL_HEAD = re.compile(r"^(?:年度|总体|项目)?(?:绩效)?(?:目标|指标)(?:值)?$")
_INNER_ENUM = re.compile(r"[(（][一二三四五六七八九十\d]{1,3}[)）]")


def _head(text: str, *, goal: bool = False) -> tuple[str, str]:
    """The category a clause starts with and the rest: "（3）數量目標:名称…" -> ("数量指标"-like label, "名称…");
    "设1条质量指标:…" and headings run into it ("1.产出目标完成情况(1)时效目标:…") too. With ``goal``, a
    leading "绩效目标:" is dropped as well."""
    text = text.strip()
    head = _HEAD.match(text)
    if not head:
        return "", text
    word = _INNER_ENUM.split(head.group(1))[-1].strip()
    if word and kinds.category(word):
        return kinds.simplify(word), text[head.end() :].strip()
    if goal and _GOAL_HEAD.match(kinds.simplify(word)):
        return "", text[head.end() :].strip()
    return "", text


def _clause(clause: str) -> list[dict[str, str]]:
    """One indicator from a clause with a name and a target or an achieved value, else ``[]``."""
    text = _LEAD.sub("", _ENUM.sub("", clause.strip()))
    if len(text) < 4 or len(text) > 160:
        return []
    l2, text = _head(text)
    plain = kinds.plain(text)
    target = _TARGET.search(plain)
    actual = next(
        (
            m
            for m in _ACTUAL.finditer(plain)
            if not target or m.start() >= target.end() or m.end() <= target.start()
        ),
        None,
    )
    if not target and not actual:
        return []
    name = ""
    named = re.match(r"^([^，,：:。；;]{2,30})[：:]", text)
    if named:
        name = named.group(1)
    else:
        first = min(m.start() for m in (target, actual) if m)
        before = text[:first].strip("，, ")
        if before:
            name = before
        elif actual and not target or actual and target and actual.start() < target.start():
            # "完成培训500人次，目标值≥450人次": the name sits between the verb and the value.
            assert actual is not None
            value = _ANY_VALUE.search(text, actual.start())
            name = text[actual.start() : value.start()].strip() if value else ""
    if actual and not actual.group("v").strip():
        actual = None
    if not actual:
        match = re.match(
            r"^(?:完成|实际完成|全年完成)?(?P<n>[\u4e00-\u9fffA-Za-z]{2,20}?)(?P<v>" + _VALUE + ")", text
        )
        if match and target and match.end() <= target.start():
            name = name if named else match.group(0)[: match.start("v")]
            actual_value = match.group("v").strip()
        else:
            actual_value = ""
    else:
        actual_value = actual.group("v").strip()
    name = re.sub(r"(?:[，,]|绩效|績效)$", "", name).strip()
    target_value = (target.group("v") or target.group("w") or "").strip() if target else ""
    if not named and not target and re.search(r"[，,]", name):
        head, stated = split_value(re.split(r"[，,]", name)[0])
        if stated and _COMPARED.match(stated):
            name, target_value = head, stated  # "慰问人数=9人,当年实际完成9人": the target precedes
    prefix = kinds._PREFIX.match(name)
    if prefix and not l2 and len(name) > prefix.end() + 1:
        l2, name = kinds.simplify(name[: prefix.end()].strip()), name[prefix.end() :]  # "成本指标国家规定…"
    if not name or not kinds.name_like(name) or len(name) > 30 or _SCORING.search(name):
        return []
    return [
        {
            "name": name,
            "annual_value": target_value,
            "actual_value": actual_value,
            "l2": l2,
        }
    ]
