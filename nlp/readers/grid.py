"""Grids of cells -> projects (part of :mod:`nlp.parse`).

One reader serves every grid: the tab-separated text of seeds 000 and 002, Word's one-cell-per-line
export (seed 001, regrouped into rows by :func:`text_rows`), .csv and .xlsx tables and the tables the
PDF/Word helper finds. The header row is looked for wherever it is; key-value rows above it
(项目名称, 主管部门, 预算数, 绩效目标 …) describe the project the table belongs to. Merged cells are
empty in all rows but the first, so 一级/二级 carry down; a row whose indicator name sits in a category
column (a cell shifted left, or 成本指标 as a 一级 with no 二级) is recognised by the category test.

>>> rows = [["一级指标", "二级指标", "三级指标", "指标值"], ["产出指标", "数量指标", "补贴人数", "≥40人"],
...         ["", "", "发放次数", "12次"]]
>>> projects, problems, layout = read_grid(rows, [1, 2, 3], "t.csv")
>>> [(i.declared_l2, i.name, i.annual_value) for i in projects[0].indicators]
[('数量指标', '补贴人数', '≥40人'), ('数量指标', '发放次数', '12次')]
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from nlp.errors import problem
from nlp.readers.inline import Item, join_wrapped, make_project, parse_items
from nlp.records import INDICATOR_COLUMNS, Indicator, Problem, Project
from nlp.taxonomy import declared_code, normalise_label

__all__ = ["text_rows", "read_grid", "header_roles", "compose_value"]

# Header cell (compacted: no spaces or bracketed notes, lower case) -> the field it holds.
_ROLES: dict[str, tuple[str, ...]] = {
    "l1": ("一级指标", "一级", "l1", "level1", "declared_l1"),
    "l2": ("二级指标", "二级", "l2", "level2", "declared_l2"),
    "name": ("三级指标", "三级指标名称", "指标名称", "绩效指标名称", "三级", "name", "indicator"),
    "description": ("绩效指标描述", "指标描述", "指标说明", "指标内容", "description"),
    "cycle_value": ("实施周期指标值", "实施期指标值", "cycle_value", "cycle"),
    "annual_value": (
        "年度指标值",
        "当年度指标值",
        "年度目标值",
        "指标值",
        "目标值",
        "annual_value",
        "value",
        "target",
    ),
    "basis": ("指标值确定依据", "确定依据", "basis"),
    # The 2021 template splits the value: 指标性质/指标方向 (≥, ≤, 定性), 指标值, 度量单位/计量单位.
    "comparator": ("指标性质", "指标方向", "指标方向性", "运算符号", "比较符", "符号"),
    "unit": ("度量单位", "计量单位", "unit"),  # not a bare 单位: that column can be the spending unit
    "project": ("项目名称", "项目", "project"),
    "department": ("部门名称", "部门", "单位名称", "预算单位", "主管部门", "department"),
    "goal": ("绩效目标", "年度绩效目标", "项目绩效目标", "goal"),
    "budget": ("总计", "预算数", "预算金额", "预算", "budget"),
    "declared_code": ("declared_code", "code"),
    "scheme": ("scheme",),
    "doc": ("doc",),
    "line": ("line",),
    "list": ("绩效指标",),  # a cell holding a whole coded list (seed 000)
}
_ROLE_OF = {alias: role for role, aliases in _ROLES.items() for alias in aliases}
_VALUES = ("description", "cycle_value", "annual_value", "basis")
_VALUE_PARTS = ("comparator", "unit")
_COMPARATORS = {
    "≥": "≥",
    ">=": "≥",
    "大于等于": "≥",
    "不低于": "≥",
    "不少于": "≥",
    "≤": "≤",
    "<=": "≤",
    "小于等于": "≤",
    "不高于": "≤",
    "不超过": "≤",
    ">": ">",
    "大于": ">",
    "<": "<",
    "小于": "<",
}


def compose_value(value: str, comparator: str, unit: str) -> str:
    """One value from the 2021 template's split cells: ("≥", "90", "%") -> "≥90%"; 定性/正向 add nothing.

    >>> compose_value("12", "大于等于", "公里"), compose_value("明显改善", "定性", "")
    ('≥12公里', '明显改善')
    """
    if not value:
        return value
    text = value
    if unit and unit not in text and re.search(r"\d", text):
        text += unit
    symbol = _COMPARATORS.get(unicodedata.normalize("NFKC", comparator).strip(), "")
    if symbol and not re.match(r"^\s*[≥≤><=约]", unicodedata.normalize("NFKC", text)):
        text = symbol + text
    return text


# Key cells of the key-value rows above a table.
_META = {
    "project": re.compile(r"^项目名称$"),
    "department": re.compile(r"^(主管部门|部门名称|单位名称|预算单位|部门|用款单位|资金使用单位)$"),
    "budget": re.compile(r"^(\d{4}年度?)?(项目)?(预算(金额|数|总额|资金)?|资金总额|年度资金总额)$"),
    "goal": re.compile(r"^(总体|年度|项目|整体)?绩效目标$"),
}
_GOAL_LABEL = re.compile(r"^(实施周期|(\d{4}年)?年?度?)(总体)?(绩效)?总?目标[:：]?$")
_UNIT = re.compile(r"^(金额)?单位\s*[:：]\s*(万元|元)$")
_PLACEHOLDER = re.compile(r"^[-—–/／\\]+$")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_NAME_PREFIX = re.compile(r"^\s*指标\s*\d+\s*[:：、.]\s*")  # "指标1：养护绿地面积"
_TOTALS = {"合计", "总计", "小计", "总分", "得分合计", "分值合计"}


@functools.lru_cache(maxsize=1 << 16)
def _key(text: str) -> str:
    """A cell compacted for matching header words (cached: every cell of every row is tested)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"\s+|\(.*?\)|[:：*]", "", text)


def _cell(text: object) -> str:
    """A cell's text with its own line breaks joined the way wraps are joined."""
    raw = "" if text is None else str(text)
    if "\n" not in raw:
        return raw.strip()
    return join_wrapped([(0, line) for line in raw.split("\n")]).text


def _value(text: str) -> str:
    return "" if _PLACEHOLDER.match(text) else text


def _budget(text: str, *, scale: float = 1.0) -> float | None:
    """An amount in 万元 ("3,650.68万元" -> 3650.68; "8000元" -> 0.8); ``None`` without a number."""
    match = _NUMBER.search(text)
    if not match:
        return None
    number = float(match.group().replace(",", ""))
    if "万" not in text and "元" in text:
        scale = 1e-4
    return number if scale == 1.0 else round(number * scale, 6)


def header_roles(cells: Sequence[str]) -> dict[str, int] | None:
    """Column of each field if ``cells`` is an indicator header row, else ``None``.

    >>> header_roles(["绩效指标", "一级指标", "二级指标", "三级指标", "实施周期指标值", "当年度指标值"])
    {'list': 0, 'l1': 1, 'l2': 2, 'name': 3, 'cycle_value': 4, 'annual_value': 5}
    """
    roles: dict[str, int] = {}
    for column, text in enumerate(cells):
        role = _ROLE_OF.get(_key(text))
        if role and role not in roles:
            roles[role] = column
    if "name" in roles and ({"l1", "l2"} & roles.keys() or set(_VALUES) & roles.keys()):
        return roles
    if "list" in roles and "project" in roles:
        return roles
    return None


# -------------------------------------------------------------------------------------- text -> rows


def text_rows(lines: Sequence[str]) -> tuple[list[list[str]], list[int], str] | None:
    """Tab-separated text as rows of cells with their line numbers and the style ("grid" or "cells").

    Word's text export writes one cell per line (a leading tab) and a blank line after each row; a
    line without the tab continues the cell above it.
    """
    tabbed = [line for line in lines if "\t" in line]
    if len(tabbed) < 2:
        return None
    rows: list[list[str]] = []
    numbers: list[int] = []
    one_cell = sum(1 for line in tabbed if line.startswith("\t") and line.count("\t") == 1)
    if one_cell < 0.8 * len(tabbed):
        for number, line in enumerate(lines, start=1):
            if line.strip():
                rows.append([cell.strip() for cell in line.split("\t")])
                numbers.append(number)
        return rows, numbers, "grid"
    current: list[str] = []
    previous = ""
    for number, line in enumerate(lines, start=1):
        if line.startswith("\t"):
            if not current:  # the first cell of a row: the row is filled in place
                numbers.append(number)
                rows.append(current)
            current.append(line[1:].strip())
        elif line.strip() and current and previous.strip():
            current[-1] = join_wrapped([(0, current[-1]), (0, line)]).text
        elif line.strip():
            rows.append([line.strip()])
            numbers.append(number)
            current = []
        else:
            current = []
        previous = line
    return rows, numbers, "cells"


# -------------------------------------------------------------------------------------- rows -> grid


@dataclass
class _State:
    """The walk over one grid: the project being read, the open table's columns, what was found."""

    path: str
    department: str = ""
    department_here: bool = False  # set by a key or unit row above the current table
    project: str = ""
    line: int = 0
    goal: list[str] = field(default_factory=list)
    goal_open: bool = False
    budget: float | None = None
    scale: float = 1.0
    items: list[Item] = field(default_factory=list)
    l1: str = ""
    l2: str = ""
    header: list[str] = field(default_factory=list)
    roles: dict[str, int] | None = None
    columns: dict[str, int] | None = None  # zhibiao's own INDICATOR_COLUMNS, read back as written
    listed: bool = False
    exact: list[Indicator] = field(default_factory=list)
    projects: list[Project] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    held: list[tuple[int, str]] = field(default_factory=list)  # one-cell rows inside the open table


def read_grid(
    rows: Sequence[Sequence[object]], numbers: Sequence[int], path: str
) -> tuple[list[Project], list[Problem], str] | None:
    """Projects, problems and layout ("grid", "inline" for coded-list cells, "indicators" for zhibiao's
    own columns) of a grid; ``None`` when no indicator header row is found."""
    state = _State(path=path)
    found = False
    for raw, line in zip(rows, numbers, strict=True):
        cells = [_cell(c) for c in raw]
        if not any(cells):
            continue
        roles = header_roles(cells)
        if roles:
            found = True
            if state.roles is None:  # a header repeated on a new page continues the same table
                state.l1 = state.l2 = ""
            state.roles, state.header, state.goal_open = roles, cells, False
            state.held.clear()
            state.columns = None
            if set(INDICATOR_COLUMNS) <= set(cells):
                state.columns = {column: cells.index(column) for column in INDICATOR_COLUMNS}
            continue
        if state.roles is not None and not state.columns and _odd_row(state, cells, line):
            continue
        if state.roles is not None and (state.columns or not _ends_table(cells)):
            _report_held(state)
            _read_row(state, cells, [str(c if c is not None else "") for c in raw], line)
            continue
        if state.roles is not None:
            _flush(state)
            state.roles = None
            state.held.clear()  # notes after the table's last row belong to no table
        _read_meta(state, cells, line)
    if not found:
        return None
    _flush(state)
    if state.exact:
        return _exact_projects(state.exact), state.problems, "indicators"
    return state.projects, state.problems, "inline" if state.listed else "grid"


def _meta_kind(text: str) -> tuple[str | None, str]:
    """("project" | "department" | "budget" | "goal" | None, inline value) of a key cell.

    >>> _meta_kind("部门名称：某局"), _meta_kind("预算数"), _meta_kind("目标1：做好信访工作")
    (('department', '某局'), ('budget', ''), (None, '做好信访工作'))
    """
    key, inline = text, ""
    if match := re.match(r"^([^:：]{1,12})[:：]\s*(.*)$", text, flags=re.S):
        key, inline = match.group(1), match.group(2).strip()
    return next((name for name, rx in _META.items() if rx.match(_key(key))), None), inline


def _odd_row(state: _State, cells: list[str], line: int) -> bool:
    """A row inside a table with a single filled cell: a category heading is read as one (产出指标 on a
    row of its own sets the 一级 for the rows below); anything else (小计, a note, a page heading) is held
    and reported if indicator rows follow, so that the table never ends at it. Key rows (项目名称 …) and
    unit rows still close the table."""
    filled = [c for c in cells if c]
    if len(filled) != 1 or _meta_kind(filled[0])[0] or _UNIT.match(filled[0]):
        return False
    text = filled[0]
    if (code := normalise_label(text, level=1)) is not None and len(code) == 1:
        state.l1, state.l2 = text, ""
        return True
    if normalise_label(text, level=2) is not None:
        state.l2 = text
        return True
    state.held.append((line, text))
    return True


def _report_held(state: _State) -> None:
    """One-cell rows met inside a table that goes on: each is reported (E019), never silently lost."""
    for line, text in state.held:
        reason = "a one-cell row inside the table: a subtotal, note or heading"
        state.problems.append(problem(state.path, line, "E019", reason=reason, text=text[:80]))
    state.held.clear()


def _ends_table(cells: list[str]) -> bool:
    """A title, note, unit or key row after the indicator rows closes the table."""
    filled = [c for c in cells if c]  # (a row with one filled cell went to _odd_row first)
    if filled[0].startswith(("注", "备注", "说明", "填报说明")):
        return True
    return any(_meta_kind(c)[0] or _UNIT.match(c) for c in filled[:2])


def _flush(state: _State) -> None:
    """Finish the project being read; the department carries on to the next table."""
    if state.items or state.project:
        goal = "".join(state.goal).strip()
        state.projects.append(
            make_project(
                path=state.path,
                department=state.department,
                name=state.project,
                goal=goal,
                budget=state.budget,
                line=state.line,
                items=state.items,
            )
        )
        if not state.items:
            detail = "no indicator rows under its table header"
            state.problems.append(
                problem(state.path, state.line, "E009", project=state.project, detail=detail)
            )
    state.project, state.line, state.goal, state.budget, state.items = "", 0, [], None, []
    state.department_here = state.goal_open = False


def _read_meta(state: _State, cells: list[str], line: int) -> None:
    """Key-value rows above a table: 项目名称, 主管部门, 预算数, 绩效目标 (whose text may run on below)."""
    keyed = False
    for k, text in enumerate(cells):
        if _UNIT.match(text):
            keyed = True
            state.scale = 1e-4 if text.endswith(("：元", ":元")) else 1.0
            others = [c for c in cells if c and not _UNIT.match(c)]
            if len(others) == 1 and not state.department_here:
                # Word exports put the unit beside the department: "316004南堡开发区社会事业保险局 | 单位：万元".
                state.department, state.department_here = re.sub(r"^\d+", "", others[0]).strip(), True
            continue
        kind, inline = _meta_kind(text)
        if kind is None:
            continue
        keyed = True
        state.goal_open = kind == "goal"
        rest = [inline] if inline else cells[k + 1 :]
        if kind == "goal":
            _add_goal(state, rest)
            return
        value = next((c for c in rest if c and _meta_kind(c)[0] is None), "")
        if kind == "project" and value:
            if state.items:
                _flush(state)
            state.project, state.line = value, line
        elif kind == "department" and value and not state.department_here:
            state.department = re.sub(r"\s*(金额)?单位\s*[:：].*$", "", value)
            state.department_here = True
        elif kind == "budget" and value and state.budget is None:
            state.budget = _budget(value, scale=state.scale)
    if not keyed and state.goal_open:
        _add_goal(state, cells)


def _add_goal(state: _State, cells: Sequence[str]) -> None:
    for text in cells:
        if not text or _PLACEHOLDER.match(text):
            continue
        if _GOAL_LABEL.match(_key(text)):
            if "年" in text:
                state.goal = []  # the annual goal replaces the goal for the whole cycle
            continue
        state.goal.append(text)


def _read_row(state: _State, cells: list[str], raw: list[str], line: int) -> None:
    roles = state.roles
    assert roles is not None
    if "name" not in roles:
        _read_listed_row(state, cells, line)
        return
    if state.columns:
        state.exact.append(_exact_indicator(raw, state.columns))
        return

    def get(role: str) -> str:
        column = roles.get(role)
        return cells[column] if column is not None and column < len(cells) else ""

    for role, target in (("department", "department"), ("project", "project")):
        text = get(role)
        if text and text != getattr(state, target):
            if state.items:
                _flush(state)
            setattr(state, target, text)
            state.line = state.line or line
    if get("budget") and state.budget is None:
        state.budget = _budget(get("budget"), scale=state.scale)
    if get("goal") and not state.goal:
        state.goal = [get("goal")]
    l1, l2, name_at = get("l1"), get("l2"), roles["name"]
    name_cell = get("name")
    loose = not name_cell or _PLACEHOLDER.match(name_cell) or not cells[-1]
    for level, role in ((1, "l1"), (2, "l2")):
        column = roles.get(role)
        text = get(role)
        if column is None or column >= name_at or not text or not loose or not any(cells[column + 1 :]):
            continue
        if normalise_label(text, level=level) is None:
            # The name sits in a category column (merged cells shifted the row left).
            name_at = column
            l2 = ""
            l1 = l1 if level == 2 else ""
            break
    if l1:
        state.l1, state.l2 = l1, l2  # a new 一级 starts without a 二级 unless the row gives one
    elif l2:
        state.l2 = l2
    values = _fit_values(cells, roles, name_at, width=len(state.header))
    name = _NAME_PREFIX.sub("", cells[name_at]) if name_at < len(cells) else ""
    if re.sub(r"\s+", "", name) in _TOTALS:
        reason = "a total row, not an indicator"
        state.problems.append(
            problem(state.path, line, "E019", reason=reason, text=" | ".join(c for c in cells if c)[:80])
        )
        return
    if not name:
        if any(values.values()):
            header = state.header[roles["name"]]
            state.problems.append(problem(state.path, line, "E007", column=header))
        return
    state.line = state.line or line
    code = declared_code(state.l1, state.l2)
    state.items.append(Item(state.l1, state.l2, code, name, line=line, **values))


def _fit_values(cells: list[str], roles: dict[str, int], name_at: int, *, width: int) -> dict[str, str]:
    """Value cells by role; a shifted row's values are its last cells, fitted to the value columns."""
    by_column = dict(enumerate(cells))
    if name_at != roles["name"]:
        after = cells[name_at + 1 :]
        while after and not after[-1]:
            after.pop()
        while len(after) > width - roles["name"] - 1 and after and not after[0]:
            after.pop(0)
        by_column = {roles["name"] + 1 + k: text for k, text in enumerate(after)}
    values = {role: _value(by_column.get(roles[role], "")) for role in _VALUES if role in roles}
    parts = {role: _value(by_column.get(roles[role], "")) for role in _VALUE_PARTS if role in roles}
    if parts:
        for role in ("cycle_value", "annual_value"):
            if role in values:
                values[role] = compose_value(values[role], parts.get("comparator", ""), parts.get("unit", ""))
    return values


def _read_listed_row(state: _State, cells: list[str], line: int) -> None:
    """A row of a table whose 绩效指标 cell holds a coded list (seed 000); amounts-only rows are departments."""
    roles = state.roles or {}

    def get(role: str) -> str:
        column = roles.get(role)
        return cells[column] if column is not None and column < len(cells) else ""

    name, listing, goal = get("project"), get("list"), get("goal")
    if name in _TOTALS:
        return
    if not listing and not goal:
        state.department = name or state.department
        return
    _flush(state)
    state.listed = True
    items, trouble = parse_items(listing, line=line, path=state.path)
    budget = _budget(get("budget"), scale=state.scale) if get("budget") else None
    state.projects.append(
        make_project(
            path=state.path,
            department=state.department,
            name=name,
            goal=goal,
            budget=budget,
            line=line,
            items=items,
        )
    )
    state.problems.extend(trouble)
    if not items and not trouble:
        state.problems.append(
            problem(state.path, line, "E009", project=name, detail="its 绩效指标 cell is empty")
        )


# ------------------------------------------------------------------------------ zhibiao's own columns


def _exact_indicator(raw: list[str], columns: dict[str, int]) -> Indicator:
    data = {column: (raw[at] if at < len(raw) else "") for column, at in columns.items()}
    budget, line = _budget(data.pop("budget")), _budget(data.pop("line"))
    # No rounding and no cleaning: a table zhibiao wrote reads back as the very same records.
    return Indicator(budget=budget, line=int(line) if line is not None else 0, **data)


def _exact_projects(indicators: list[Indicator]) -> list[Project]:
    """Consecutive indicators of one (doc, department, project) form a project, as they were written."""
    projects: list[Project] = []
    group: list[Indicator] = []
    for indicator in [*indicators, None]:
        if group and (indicator is None or _group_key(indicator) != _group_key(group[0])):
            first = group[0]
            projects.append(
                Project(
                    first.doc,
                    first.department,
                    first.project,
                    first.goal,
                    first.budget,
                    first.scheme,
                    min(i.line for i in group),
                    tuple(group),
                )
            )
            group = []
        if indicator is not None:
            group.append(indicator)
    return projects


def _group_key(indicator: Indicator) -> tuple[str, str, str]:
    return (indicator.doc, indicator.department, indicator.project)
