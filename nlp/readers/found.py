"""Indicator tables as they are found (part of :mod:`nlp.readers.text`): web pages, HTML tables flattened
to text, Word, Excel and PDF text, whatever separates their cells.

The reader finds the indicator header by its words (一级指标, 三级指标, 指标值, 实际完成值, 评价指标 …),
splits every row into cells (:mod:`nlp.readers.cells`) and aligns the cells to the header's columns by
what each cell *is*, so rows that omit merged 一级/二级 cells, collapse empty cells or ran together still
land in the right fields. Key-value rows (项目名称, 主管部门, 预算, 年度目标) describe the project; budget
and allocation tables, totals and page furniture never become indicators. Every row under a header that
looks like an indicator but is not taken is listed in ``Found.skipped``.

>>> found = read_found(["一级指标 | 二级指标 | 三级指标 | 指标值", "产出指标 | 数量指标 | 新建保鲜库 | 1座",
...                     "时效指标 | 完工时间 | 年底前"], "a.txt")
>>> found.layout, [(i.declared_l1, i.declared_l2, i.name, i.annual_value) for i in found.projects[0].indicators]
('pipe_cells', [('产出指标', '数量指标', '新建保鲜库', '1座'), ('产出指标', '时效指标', '完工时间', '年底前')])
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from nlp.errors import problem
from nlp.readers import cells as kinds
from nlp.readers.cells import (
    TEXT_ROLES,
    VALUE_ROLES,
    Header,
    category,
    compat,
    find_header,
    fit_row,
    header_role,
    is_number,
    is_value,
    key,
    leading_categories,
    name_like,
    split_cells,
)
from nlp.readers.grid import compose_value
from nlp.records import Indicator, Problem, Project
from nlp.taxonomy import declared_code, detect_scheme

__all__ = ["Found", "Skipped", "read_found", "build_project", "Draft"]


@dataclass(frozen=True)
class Skipped:
    """A line that looked like an indicator but was not taken, and why (Chinese and English)."""

    line: int
    text: str
    reason: str


@dataclass(frozen=True)
class Found:
    projects: tuple[Project, ...]
    problems: tuple[Problem, ...]
    layout: str
    skipped: tuple[Skipped, ...] = ()


_SYMBOLS = str.maketrans({"≧": "≥", "≦": "≤", "═": "=", "＝": "="})
NO_NAME = "无指标名称 no indicator name"
NO_VALUE = "无指标值 no value"
TOTAL = "合计行 total row"
_FIELDS = (
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
            **{f: r.get(f, "") for f in _FIELDS},
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
        r"|资金使用单位|用款单位|责任单位|负责单位)(?:名称|及编码|及代码)?",
    ),
    (
        "budget",
        r".{0,8}(?:预算(?:金额|数|资金|总额|安排)?|资金总额|预算资金|项目资金|资金规模|总金额|申报金额|项目金额|预算总额|总投资|预算安排)"
        r"(?:\((?:万元|元)\))?",
    ),
    ("goal", r".{0,6}(?:绩效目标|总体目标|年度目标|整体目标|主要任务|项目目标|中期目标)"),
    (
        "skip",
        r"联系人(?:及电话)?|联系电话|项目经办人(?:电话)?|经办人|项目属性|项目类别|项目分类|项目性质|项目起止时间"
        r"|项目支出实施期|建设周期|项目负责人|业务主管部门|项目审批|项目类型|填报类型",
    ),
)
_META = [(kind, re.compile(rf"^(?:{rule})$")) for kind, rule in _META_RULES]
_META_START = [re.compile(rf"^(?:{rule})") for _, rule in _META_RULES]
# Keys inside run-together text: the open prefix of a rule becomes the few words that start such keys.
_KEY_PREFIX = "(?:本年度|年度|全年|当年|项目|总体)?"
_META_IN = re.compile(
    "|".join(f"(?:{re.sub(r'^[.][{]0,[68][}]', _KEY_PREFIX, rule)})" for _, rule in _META_RULES)
)
_GOAL_LABELS = re.compile(
    r"^(?:预期目标|实际完成情况|目标实际完成情况|实施周期总目标|\d{4}年度?目标|年度目标|中期目标|目标|---|—+)$"
)
_TITLE = re.compile(r"(?:绩效目标表|绩效目标申报表|绩效自评表|自评表|评价指标体系|指标体系|绩效表)$")


def _meta_key(cell: str) -> str | None:
    text = re.sub(r"[\s:：*]|[(（](?:万元|元|单位[:：]?万元)[)）]", "", kinds.simplify(cell))
    if not text or len(text) > 16 or header_role(text) not in (None, "annual_value"):
        return None
    if kinds._PREFIX.match(text):
        return None  # "时效指标预算资金当年下达率": an indicator, not a key
    return next((kind for kind, rule in _META if rule.match(text)), None)


def _meta_pairs(cells: list[str]) -> list[tuple[str, str, str]]:
    """(kind, key as written, value) of the key-value cells of a row; ``[]`` when the row has none."""
    pairs: list[tuple[str, str, str]] = []
    i = 0
    while i < len(cells):
        cell = cells[i]
        kind = _meta_key(cell)
        if kind:
            value = cells[i + 1] if i + 1 < len(cells) and not _meta_key(cells[i + 1]) else ""
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
        starts = [m for rule in _META_START if (m := rule.match(plain)) and _meta_key(m.group())]
        head = max(starts, key=lambda m: m.end(), default=None)
        after = plain[head.end() :] if head else ""
        if head and re.match(r"(?:申报|自评)?表|完成情况|完成|实现|公开|管理", after):
            head = None  # a title or a heading: 绩效目标表, 绩效目标完成情况
        if head and len(head.group()) > 6 and not re.match(r"\s*[:：\s]", after):
            head = None  # "为进一步加强预算…": a long key needs its colon
        at = [head] if head else []
        at += [
            m
            for m in _META_IN.finditer(plain, head.end() if head else 0)
            if m.group() and _meta_key(m.group())
        ]
        if head and len(head.group()) < len(plain):
            for k, match in enumerate(at):
                end = at[k + 1].start() if k + 1 < len(at) else len(cell)
                value = re.sub(r"^[\s:：]+", "", cell[match.end() : end]).strip()
                pairs.append((_meta_key(match.group()) or "skip", match.group(), value))
        elif not pairs and i + 1 >= len(cells):
            return []
        i += 1
    return pairs


def _budget(text: str, unit_hint: str) -> float | None:
    match = re.search(r"-?\d[\d,，]*(?:\.\d+)?", kinds.simplify(text))
    if not match:
        return None
    number = float(re.sub(r"[,，]", "", match.group()))
    unit = kinds.simplify(text) if re.search(r"万|元", kinds.simplify(text)) else unit_hint
    return round(number * 1e-4, 6) if "元" in unit and "万" not in unit else number


# ------------------------------------------------------------------------------------------ the walk


@dataclass
class _Walk:
    path: str
    draft: Draft = field(default_factory=Draft)
    drafts: list[Draft] = field(default_factory=list)
    header: Header | None = None
    body: list[str] = field(default_factory=list)
    l1: str = ""
    l2: str = ""
    since_rows: bool = False  # something other than furniture since the last indicator row
    pending: str = ""  # a key on its own line waiting for its value (one cell per line)
    goal_open: bool = False
    unit_hint: str = ""
    skipped: list[Skipped] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)  # layout kind -> indicators read in it
    kind: str = ""
    cur: list[tuple[str, int]] = field(default_factory=list)  # one cell per line: the row being gathered
    cur_cats: list[str] = field(default_factory=list)
    cur_fit: dict[str, str] = field(default_factory=dict)
    pos: int = -1


def read_found(lines: Sequence[str], path: str) -> Found | None:
    """Projects in a table as found, whatever separates its cells; ``None`` without an indicator header.

    Line numbers are 1-based lines of ``lines``.

    >>> read_found(["资金来源 | 金额", "财政拨款 | 10.00"], "budget.txt") is None
    True
    """
    joined, numbers = kinds.join_cell_rows(lines)
    walk = _Walk(path)
    seen = False
    i = 0
    while i < len(joined):
        header = find_header(joined, i) if joined[i].strip() else None
        if header:
            seen = True
            header.line = numbers[i]
            first = next(iter(_META_IN.finditer(kinds.simplify(header.before))), None)
            if first:  # "…自评表项目名称乡村公路养护主管部门…一级指标…": the keys before the header
                _apply_meta(walk, _meta_pairs([header.before[first.start() :]]), numbers[i])
            _open(walk, header)
            if header.style == "stream":
                for cell in header.rest:
                    _cell(walk, cell, numbers[i])
            elif any(header.rest):
                _row(walk, header.rest, header.style, " | ".join(header.rest), numbers[i])
            i = header.end + 1
            continue
        _step(walk, joined[i], numbers[i])
        i += 1
    if not seen:
        start = _headerless(joined)
        if start is None:
            return None
        # An excerpt that starts inside a table: the rows say what they are even without a header.
        walk = _Walk(path)
        for k in range(start):
            _step(walk, joined[k], numbers[k])
        style = kinds.line_style(joined[start])
        header = Header(["l1", "l2", *_GENERIC], style, start - 1, numbers[start])
        _open(walk, header)
        for k in range(start, len(joined)):
            _step(walk, joined[k], numbers[k])
    _close(walk)
    _finish(walk)
    projects = tuple(build_project(d, path) for d in walk.drafts if d.rows)
    if not projects:
        return None
    if walk.kinds.get("merged_omitted", 0) >= 2:  # a table that omits merged cells does so in some rows only
        walk.kinds["merged_omitted"] += walk.kinds.pop("pipe_cells", 0) + walk.kinds.pop("tab_grid", 0)
    layout = max(walk.kinds, key=lambda k: walk.kinds[k]) if walk.kinds else "tab_grid"
    return Found(projects, tuple(walk.problems), layout, tuple(walk.skipped))


_GENERIC = [
    "name",
    "comparator",
    "annual_value",
    "unit",
    "actual_value",
    "weight",
    "score",
    "deviation_reason",
]


def _headerless(lines: Sequence[str]) -> int | None:
    """The first of at least three rows that start with a category and hold a value, when no header is
    anywhere; ``None`` otherwise."""
    rows = [
        k
        for k, line in enumerate(lines)
        if kinds.line_style(line) in ("tab", "pipe", "space") and _looks_like_row(split_cells(line))
    ]
    if len(rows) < 3:
        return None
    start = rows[0]
    for k in range(rows[0] - 1, -1, -1):  # rows above the first category that carry theirs from the cut
        cells = split_cells(lines[k])
        if len([c for c in cells if c]) >= 3 and any(is_value(c) for c in cells):
            start = k
        elif cells and any(cells):
            break
    return start


def _finish(walk: _Walk) -> None:
    if walk.draft.rows or walk.draft.header_line:
        walk.drafts.append(walk.draft)
    for draft in walk.drafts:
        if draft.header_line and not draft.rows:
            name = draft.name or draft.title or "?"
            walk.problems.append(
                problem(walk.path, draft.header_line, "E009", project=name, detail="header without rows")
            )


def _new_draft(walk: _Walk, line: int) -> None:
    if walk.draft.rows or walk.draft.header_line:
        walk.drafts.append(walk.draft)
    walk.draft = Draft(line=line, department=walk.draft.department)
    walk.l1 = walk.l2 = ""


def _open(walk: _Walk, header: Header) -> None:
    _close(walk)
    if walk.draft.rows and walk.since_rows:
        _new_draft(walk, header.line)
    walk.header, walk.goal_open, walk.pending = header, False, ""
    walk.draft.header_line = walk.draft.header_line or header.line
    walk.l1 = walk.l2 = ""
    walk.body = header.body
    roles = set(header.roles)
    if {"actual_value", "score", "deviation_reason"} & roles:
        walk.kind = "self_eval"
    elif roles & {"description", "basis"} and "name" in roles and "评价" in "".join(map(key, header.words)):
        walk.kind = "eval_index"
    else:
        styles = {"tab": "tab_grid", "pipe": "pipe_cells", "space": "space_runs", "single": "space_runs"}
        walk.kind = styles.get(
            header.style, "run_together" if header.style in ("run", "stream") else "cell_per_line"
        )
    walk.since_rows = False


def _close(walk: _Walk) -> None:
    """End the open table (a key row, a budget row or a new header follows)."""
    if walk.header is not None and walk.header.style in ("cell", "stream"):
        _flush_cell(walk)
    walk.header = None


def _step(walk: _Walk, line: str, n: int) -> None:
    if not line.strip():
        return
    style = kinds.line_style(line)
    cells = split_cells(line, style)
    if not cells:
        return
    if walk.pending:
        kind, walk.pending = walk.pending, ""
        text = " ".join(c for c in cells if c)
        if re.fullmatch(r"及(?:编码|代码)|\(万元\)|（万元）", text):
            walk.pending = kind  # the key wrapped onto this line
            return
        if not _meta_pairs(cells) and not category(cells[0]):
            _apply_meta(walk, [(kind, kind, text)], n)
            return
    pairs = _meta_pairs(cells)
    if pairs and walk.header is not None and _looks_like_row(cells):
        pairs = []
    if pairs and walk.header is not None and pairs[0][0] in ("budget", "goal") and len(cells) > 2:
        pairs = []  # "警示标志设置成本预算 | = | 5 | 万元": an indicator about a budget, not the project's
    if pairs:
        _close(walk)
        _apply_meta(walk, pairs, n)
        return
    first = next((c for c in cells if c), "")
    if re.search(r"单位[:：]\s*(万元|元)", kinds.simplify(line)):
        walk.unit_hint = "万元" if "万元" in line else "元"
    if kinds.is_budget_row(first, exact=walk.header is not None):
        _close(walk)
        walk.goal_open = False
        amounts = [c for c in cells[1:] if re.search(r"\d", c)] or [first]
        if walk.draft.budget is None and re.search(r"总额|资金总额|项目资金|合计", key(first)):
            if re.search(r"\d", amounts[0]):
                walk.draft.budget = _budget(amounts[0], walk.unit_hint)
            else:
                walk.pending = "budget"
        return
    if kinds.ends_table(line):
        _close(walk)
    if kinds.is_furniture(line):
        return
    if walk.header is not None:
        _row(walk, cells, style, line, n)
        return
    _outside(walk, cells, line, n)


def _looks_like_row(cells: list[str]) -> bool:
    if len(cells) == 1:
        cells = kinds.split_run(cells[0])
    return any(category(c) for c in cells[:2]) and any(is_value(c) for c in cells)


def _outside(walk: _Walk, cells: list[str], line: str, n: int) -> None:
    text = line.strip()
    if walk.goal_open and len(cells) <= 2 and not _looks_like_row(cells):
        goal = " ".join(c for c in cells if c and not _GOAL_LABELS.match(key(c)))
        if goal:
            walk.draft.goal.append(goal)
        return
    walk.since_rows = True
    if _TITLE.search(key(text)) and len(text) <= 80 and len(cells) == 1:
        if walk.draft.rows:
            _new_draft(walk, n)
        walk.draft.title = re.sub(r"^\s*(?:\d+[.、]|[(（]?[一二三四五六七八九十]+[)）、])\s*", "", text)
        walk.draft.line = walk.draft.line or n
    elif _looks_like_row(cells) or len(cells) == 1 and _looks_like_row(kinds.split_run(cells[0])):
        walk.skipped.append(Skipped(n, text, "表外行 row outside an indicator table"))


def _apply_meta(walk: _Walk, pairs: list[tuple[str, str, str]], n: int) -> None:
    walk.goal_open = False
    for kind, word, value in pairs:
        if kind == "skip":
            continue
        if kind == "budget" and re.search(r"[(（](万?元)[)）]", word):
            walk.unit_hint = "万元" if "万元" in word else "元"
        if not value:
            walk.pending = kind
            walk.goal_open = kind == "goal"
            continue
        draft = walk.draft
        if kind == "budget" and re.search(r"[(（](万?元)[)）]", word):
            walk.unit_hint = "万元" if "万元" in word else "元"
        if kind == "project":
            if draft.rows or draft.name:
                _new_draft(walk, n)
            walk.draft.name, walk.draft.line = value, n
        elif kind == "unit_name":
            if draft.rows and draft.name and draft.name != value:
                _new_draft(walk, n)
            walk.draft.department = value
            if not walk.draft.name:
                walk.draft.name, walk.draft.line = value, n
        elif kind == "department" and (not draft.department or re.match(r"^主管", key(word))):
            draft.department = value
        elif kind == "budget" and draft.budget is None:
            draft.budget = _budget(value, walk.unit_hint or key(word))
        elif kind == "goal":
            walk.goal_open = True
            if not _GOAL_LABELS.match(key(value)):
                draft.goal.append(value)


# ------------------------------------------------------------------------------------------ table rows


def _row(walk: _Walk, cells: list[str], style: str, line: str, n: int) -> None:
    header = walk.header
    assert header is not None
    if header.style == "cell" and len([c for c in cells if c]) == 1:
        _cell(walk, next(c for c in cells if c), n)
        return
    if header.style == "stream":
        for cell in kinds.stream_cells(re.sub(r"\s+", "", line)):
            _cell(walk, cell, n)
        return
    if len(cells) == 1 and style == "single":
        cells = kinds.tokens(cells[0]) if " " in cells[0].strip() else kinds.split_run(cells[0])
    if all(kinds.is_place(c) for c in cells if c) and len(cells) > 1 and not walk.draft.rows:
        at = walk.body.index("annual_value") if "annual_value" in walk.body else len(walk.body)
        walk.body[at : at + 1] = ["annual_value", *["extra"] * (len(cells) - 1)]
        return  # a second header row naming the counties under 指标值
    if any(kinds.is_total(c) for c in cells[:3] if c):
        walk.skipped.append(Skipped(n, line.strip(), TOTAL))
        return
    if walk.draft.rows and _continues(walk, cells):
        return
    project_cells: list[str] = []
    if header.project_columns:
        at = next((k for k, c in enumerate(cells) if category(c)), len(cells))
        project_cells, cells = cells[:at], cells[at:]
        _project_columns(walk, project_cells, n)
        if not cells:
            return
    cats, rest = leading_categories(cells)
    if not any(rest):
        _place(walk, cats)
        return
    if style == "single" and len([c for c in rest if c]) == 1 and " " in rest[0] and len(walk.body) > 1:
        rest = rest[0].split(" ", 1)  # "返本分红比例 第一年按总投资额返本20%": a name, then a value in words
    _record(walk, cats, fit_row(rest, walk.body), rest, line, n)


def _continues(walk: _Walk, cells: list[str]) -> bool:
    """Values wrapped onto the next line ("| 有效 | 10 | 10 |" under a row that has a name but no values)
    fill the empty fields of the row above."""
    last = walk.draft.rows[-1]
    if any(
        c and not (is_value(c) or is_number(c) or kinds.is_comparator(c) or kinds.is_unit(c)) for c in cells
    ):
        return False
    if not any(cells) or last.get("block") != str(id(walk.header)):
        return False
    filled = [j for j, r in enumerate(walk.body) if last.get(r)]
    free = walk.body[max(filled, default=0) + 1 :]
    fitted = fit_row([c for c in cells if c], free)
    if not fitted:
        return False
    for role, text in fitted.items():
        last[role] = text
    return True


def _project_columns(walk: _Walk, cells: list[str], n: int) -> None:
    """Project cells on the left of an indicator row (单位名称 | 项目名称 | 预算数 | 年度目标 | 一级指标 …)."""
    assert walk.header is not None
    fitted = fit_row(cells, walk.header.project_columns, right=True)
    if fitted.get("project") and fitted["project"] != walk.draft.name:
        if walk.draft.rows or walk.draft.name:
            _new_draft(walk, n)
        walk.draft.name, walk.draft.line = fitted["project"], n
        walk.draft.header_line = walk.header.line
    if fitted.get("department"):
        walk.draft.department = fitted["department"]
    if fitted.get("budget"):
        walk.draft.budget = _budget(fitted["budget"], walk.unit_hint)
    if fitted.get("goal"):
        walk.draft.goal = [fitted["goal"]]


def _place(walk: _Walk, cats: list[str]) -> None:
    labels = [kinds.simplify(kinds.despace(c)).strip() for c in cats]
    if len(labels) >= 2:
        walk.l1, walk.l2 = labels[0], labels[1]
    elif labels:
        level = kinds.category_level(category(labels[0]) or "")
        if level == 1 or level == 0 and category(walk.l1) != "产出指标":
            walk.l1, walk.l2 = labels[0], ""
        else:
            walk.l2 = labels[0]


def _record(walk: _Walk, cats: list[str], fitted: dict[str, str], rest: list[str], line: str, n: int) -> None:
    name = kinds.strip_name(fitted.get("name", ""))
    values = [fitted.get(r, "") for r in (*VALUE_ROLES, "weight", "score")]
    if not name:
        if cats or any(c and (is_value(c) or name_like(c)) for c in rest):
            walk.skipped.append(Skipped(n, line.strip(), NO_NAME))
            walk.problems.append(problem(walk.path, n, "E007", column="三级指标"))
        return
    wordy = [v for v in values if v and not (is_value(v) or is_number(v))]
    if (
        not (cats or walk.l1 or walk.l2)
        and wordy
        and len(wordy[0]) > 12
        and len(wordy) == len([v for v in values if v])
    ):
        walk.skipped.append(Skipped(n, line.strip(), NO_VALUE))  # above the first category: headings
        return
    lone = not any(values) and not cats and not fitted.get("description")
    if lone and not kinds._NAME_END.search(kinds.simplify(name)):
        walk.skipped.append(Skipped(n, line.strip(), NO_VALUE))
        return
    _place(walk, cats)
    annual = fitted.get("annual_value", "") or fitted.get("extra", "")
    if annual and ("comparator" in fitted or "unit" in fitted):
        comparator = fitted.get("comparator", "").translate(_SYMBOLS)
        annual = compose_value(annual, comparator, fitted.get("unit", ""))
    row = {f: fitted.get(f, "") for f in _FIELDS}
    row.update(
        annual_value=annual, name=name, line=str(n), l1=walk.l1, l2=walk.l2, block=str(id(walk.header))
    )
    row.update(c1=category(walk.l1) or walk.l1, c2=category(walk.l2) or walk.l2)
    walk.draft.rows.append(row)
    walk.since_rows = False
    kind, header = walk.kind, walk.header
    if kind in ("pipe_cells", "tab_grid") and header and "l1" in header.roles:
        width = sum(1 for r in header.roles if r in ("l1", "l2", "name") or r in VALUE_ROLES)
        if len([c for c in rest if c]) + len(cats) < width:
            kind = "merged_omitted"
    if (
        kind in ("space_runs", "pipe_cells", "tab_grid")
        and kinds.line_style(line) == "single"
        and " " not in line.strip()
    ):
        kind = "run_together"
    walk.kinds[kind] = walk.kinds.get(kind, 0) + 1


# ------------------------------------------------------------------------------------------ one cell per line


def _cell(walk: _Walk, cell: str, n: int) -> None:
    body = walk.body
    if kinds.is_total(cell):
        _flush_cell(walk)
        walk.cur, walk.pos, walk.cur_cats = (
            [(cell, n)],
            len(body),
            ["total"],
        )  # its numbers follow; none is taken
        return
    if walk.cur_cats == ["total"]:
        if is_number(cell) or is_value(cell):
            walk.cur.append((cell, n))
            return
        _flush_cell(walk)
    if key(cell) in ("指标", "目标") and walk.cur_cats and walk.pos < 0:
        return  # a label wrapped onto its own line: "经济效益" / "指标"
    if walk.pos < 0:
        if category(cell) and len(walk.cur_cats) < 3:
            walk.cur_cats.append(cell)
            walk.cur.append((cell, n))
            return
        if name_like(cell) or kinds.soft_value(cell):
            walk.cur.append((cell, n))
            walk.cur_fit["name"], walk.pos = cell, body.index("name") + 1
            return
        if not walk.cur_cats:
            walk.skipped.append(Skipped(n, cell, NO_NAME))
            return
        walk.cur_fit["name"], walk.pos = walk.cur_cats.pop(), body.index("name") + 1
    if category(cell):
        _flush_cell(walk)
        _cell(walk, cell, n)
        return
    text = not is_value(cell) and not is_number(cell)
    # A name never ends a reason or a value: "库存数量真实率" after a full row starts the next row.
    named = bool(kinds._NAME_END.search(kinds.simplify(cell)))
    for j in range(walk.pos, len(body)):
        role = body[j]
        if role in ("comparator", "unit", "direction") and compat(cell, role) >= 1:
            fits = True  # 定性, ≥, 万元: cells that say what they are
        elif text:
            fits = j == walk.pos and not named and (role in TEXT_ROLES or role in VALUE_ROLES)
        else:
            fits = compat(cell, role) >= 1
        if fits:
            walk.cur_fit[role] = cell
            walk.cur.append((cell, n))
            walk.pos = j + 1
            return
    _flush_cell(walk)
    if text or kinds.soft_value(cell):
        _cell(walk, cell, n)
    else:
        walk.skipped.append(Skipped(n, cell, NO_NAME))


def _flush_cell(walk: _Walk) -> None:
    if walk.cur:
        first_line = walk.cur[0][1]
        text = " ".join(c for c, _ in walk.cur)
        if walk.cur_cats == ["total"]:
            walk.skipped.append(Skipped(first_line, text, TOTAL))
        elif walk.pos < 0:
            _place(walk, walk.cur_cats)
        else:
            fit = dict(walk.cur_fit)
            if not fit.get("annual_value") and fit.get("cycle_value"):
                fit["annual_value"] = fit.pop("cycle_value")
            name_line = next((ln for c, ln in walk.cur if c == fit.get("name")), first_line)
            _record(walk, walk.cur_cats, fit, [c for c, _ in walk.cur], text, name_line)
    walk.cur, walk.cur_cats, walk.cur_fit, walk.pos = [], [], {}, -1
