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
from dataclasses import dataclass

from nlp.errors import problem
from nlp.readers import cells as kinds
from nlp.readers import rows as cut
from nlp.readers.cells import (
    category,
    is_number,
    is_value,
    key,
    split_cells,
)
from nlp.readers.header import Header, compact_text, find_header, stream_cells
from nlp.readers.html import html_rows, is_html
from nlp.readers.meta import (
    GOAL_LABELS,
    META_IN,
    TITLE,
    Draft,
    build_project,
    drop_code,
    meta_key,
    meta_pairs,
    parse_budget,
)
from nlp.readers.rows import fit_row, leading_categories
from nlp.readers.walk import NOTE_ROW, TOTAL, Skipped, Walk, add_cell, flush_cells, place, record
from nlp.records import Problem, Project

__all__ = ["Found", "Skipped", "read_found", "build_project", "Draft"]


@dataclass(frozen=True)
class Found:
    projects: tuple[Project, ...]
    problems: tuple[Problem, ...]
    layout: str
    skipped: tuple[Skipped, ...] = ()


def read_found(lines: Sequence[str], path: str) -> Found | None:
    """Projects in a table as found, whatever separates its cells; ``None`` without an indicator header.

    Line numbers are 1-based lines of ``lines``.

    >>> read_found(["资金来源 | 金额", "财政拨款 | 10.00"], "budget.txt") is None
    True
    """
    joined, numbers = html_rows(lines) if is_html(lines) else kinds.join_cell_rows(lines)
    walk = Walk(path)
    seen = False
    i = 0
    while i < len(joined):
        header = find_header(joined, i) if joined[i].strip() else None
        if header:
            seen = True
            header.line = numbers[i]
            # "…自评表项目名称乡村公路养护主管部门…一级指标…": the keys before the header; a title
            # ("…绩效目标表") is no key, the first key that reads as one is.
            keys = (
                meta_pairs([header.before[m.start() :]])
                for m in META_IN.finditer(kinds.simplify(header.before))
            )
            first = next((pairs for pairs in keys if pairs), None)
            if first:
                _apply_meta(walk, first, numbers[i])
            _open(walk, header)
            if header.style == "stream":
                for cell in header.rest:
                    add_cell(walk, cell, numbers[i])
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
        walk = Walk(path)
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


def _finish(walk: Walk) -> None:
    if walk.draft.rows or walk.draft.header_line:
        walk.drafts.append(walk.draft)
    for draft in walk.drafts:
        if draft.header_line and not draft.rows:
            name = draft.name or draft.title or "?"
            walk.problems.append(
                problem(walk.path, draft.header_line, "E009", project=name, detail="header without rows")
            )


def _new_draft(walk: Walk, line: int) -> None:
    if walk.draft.rows or walk.draft.header_line:
        walk.drafts.append(walk.draft)
    walk.draft = Draft(line=line, department=walk.draft.department)
    walk.l1 = walk.l2 = ""


def _open(walk: Walk, header: Header) -> None:
    _close(walk)
    _forget_table(walk)
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


def _close(walk: Walk) -> None:
    """End the open table (a key row, a budget row or a new header follows)."""
    if walk.header is not None and walk.header.style in ("cell", "stream"):
        flush_cells(walk)
    walk.header = None


def _forget_table(walk: Walk) -> None:
    """A closed table stays closed: a key row, a budget row, a title or a new header follows the note."""
    walk.suspended = None
    walk.held.clear()


def _resumes(walk: Walk, cells: list[str]) -> bool:
    """After a note row, a row with a value and a category or a name in its first cells (one cell a
    line: a category label) is the closed table going on ("说明：…" between two indicator rows)."""
    filled = [c for c in cells if c]
    if walk.suspended is None or not filled:
        return False
    if walk.suspended.style in ("cell", "stream") and len(filled) == 1:
        return bool(category(filled[0]))  # one cell a line: the next category label goes on
    if len(filled) < 2:
        return False
    return any(is_value(c) or is_number(c) for c in filled[1:]) and (
        bool(category(filled[0])) or kinds.name_like(filled[0])
    )


def _step(walk: Walk, line: str, n: int) -> None:
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
        if not meta_pairs(cells) and not category(cells[0]):
            _apply_meta(walk, [(kind, kind, text)], n)
            return
    pairs = meta_pairs(cells)
    if pairs and walk.header is not None and _looks_like_row(cells):
        pairs = []
    if pairs and walk.header is not None and not (meta_key(cells[0]) or re.search(r"[:：]", cells[0])):
        pairs = []  # "控制在预算成本内" starts like a key; under a header only a key cell or "键：值" is one
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
        _forget_table(walk)
        walk.goal_open = False
        amounts = [c for c in cells[1:] if re.search(r"\d", c)] or [first]
        if walk.draft.budget is None and re.search(r"总额|资金总额|项目资金|合计", key(first)):
            if re.search(r"\d", amounts[0]):
                walk.draft.budget = parse_budget(amounts[0], walk.unit_hint)
            else:
                walk.pending = "budget"
        return
    if kinds.ends_table(line):
        if walk.header is not None and len([c for c in cells if c]) == 1:
            walk.suspended = walk.header
        if walk.suspended is not None and len([c for c in cells if c]) == 1 and len(walk.held) < 3:
            walk.held.append((n, line.strip()))
        _close(walk)
    if kinds.is_furniture(line):
        return
    if walk.header is None and _resumes(walk, cells):
        walk.header, walk.suspended = walk.suspended, None
        walk.skipped.extend(Skipped(k, text, NOTE_ROW) for k, text in walk.held)
        walk.held.clear()
    if walk.header is not None:
        _row(walk, cells, style, line, n)
        return
    _outside(walk, cells, line, n)


def _looks_like_row(cells: list[str]) -> bool:
    if len(cells) == 1:
        cells = cut.split_run(cells[0])
    return any(category(c) for c in cells[:2]) and any(is_value(c) for c in cells)


def _outside(walk: Walk, cells: list[str], line: str, n: int) -> None:
    text = line.strip()
    if walk.suspended is not None and (len([c for c in cells if c]) > 1 or TITLE.search(key(text))):
        _forget_table(walk)  # not an indicator row: the note ended the table after all
    elif walk.suspended is not None and len(walk.held) < 3:
        walk.held.append((n, text))  # the note goes on over another line
    if walk.goal_open and len(cells) <= 2 and not _looks_like_row(cells):
        goal = " ".join(c for c in cells if c and not GOAL_LABELS.match(key(c)))
        if goal:
            walk.draft.goal.append(goal)
        return
    walk.since_rows = True
    if TITLE.search(key(text)) and len(text) <= 80 and len(cells) == 1:
        if walk.draft.rows:
            _new_draft(walk, n)
        walk.draft.title = re.sub(r"^\s*(?:\d+[.、]|[(（]?[一二三四五六七八九十]+[)）、])\s*", "", text)
        walk.draft.line = walk.draft.line or n
    elif _looks_like_row(cells) or len(cells) == 1 and _looks_like_row(cut.split_run(cells[0])):
        walk.skipped.append(Skipped(n, text, "表外行 row outside an indicator table"))


def _apply_meta(walk: Walk, pairs: list[tuple[str, str, str]], n: int) -> None:
    walk.goal_open = False
    _forget_table(walk)
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
            walk.draft.department = drop_code(value)
            if not walk.draft.name:
                walk.draft.name, walk.draft.line = value, n
        elif kind == "department" and (not draft.department or re.match(r"^主管", key(word))):
            draft.department = drop_code(value)
        elif kind == "budget" and draft.budget is None:
            draft.budget = parse_budget(value, walk.unit_hint or key(word))
        elif kind == "goal":
            walk.goal_open = True
            if not GOAL_LABELS.match(key(value)):
                draft.goal.append(value)


# ------------------------------------------------------------------------------------------ table rows


def _row(walk: Walk, cells: list[str], style: str, line: str, n: int) -> None:
    header = walk.header
    assert header is not None
    if header.style == "cell" and len([c for c in cells if c]) == 1:
        add_cell(walk, next(c for c in cells if c), n)
        return
    if header.style == "stream":
        compact, breaks = compact_text(line)
        for cell in stream_cells(compact, breaks=breaks):
            add_cell(walk, cell, n)
        return
    if len(cells) == 1 and style == "single":
        cells = _single_spaced(cells[0], header)
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
        # A row without a category under a project that has rows already is an indicator row of it.
        at = next((k for k, c in enumerate(cells) if category(c)), 0 if walk.draft.rows else len(cells))
        project_cells, cells = cells[:at], cells[at:]
        _project_columns(walk, project_cells, n)
        if not cells:
            return
    cats, rest = leading_categories(cells)
    if not any(rest):
        place(walk, cats)
        return
    if style == "single" and len([c for c in rest if c]) == 1 and " " in rest[0] and len(walk.body) > 1:
        rest = rest[0].split(" ", 1)  # "返本分红比例 第一年按总投资额返本20%": a name, then a value in words
    if style == "single" and " " not in line.strip():
        rest = _values_apart(rest, walk.body)
    record(walk, cats, fit_row(rest, walk.body), rest, line, n)


def _values_apart(rest: list[str], body: list[str]) -> list[str]:
    """A row run together under a header with several value columns (target, achieved): the values at
    its end cut apart ("项目建设成本≤50万元47.68万元" -> name, "≤50万元", "47.68万元")."""
    most = sum(role in ("cycle_value", "annual_value", "actual_value") for role in body)
    filled = [c for c in rest if c]
    if most < 2 or not filled or len(filled) > 2:
        return rest
    parts = cut.split_values("".join(filled), most)  # the cells came from one run: cut it afresh
    if parts is None or not parts[0]:
        return rest
    head, values = parts
    return [head, *values]


def _single_spaced(text: str, header: Header) -> list[str]:
    """The cells of a row written with single spaces: project cells (one word each, up to the first
    category) and then the words of the indicator, neighbouring words of one name joined again."""
    if " " not in text.strip():
        return cut.split_run(text)
    words = text.split()
    at = next((k for k, w in enumerate(words) if category(w)), 0) if header.project_columns else 0
    return [*words[:at], *cut.tokens(" ".join(words[at:]))]


def _continues(walk: Walk, cells: list[str]) -> bool:
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


def _project_columns(walk: Walk, cells: list[str], n: int) -> None:
    """Project cells on the left of an indicator row (单位名称 | 项目名称 | 预算数 | 年度目标 | 一级指标 …)."""
    assert walk.header is not None
    fitted = fit_row(cells, walk.header.project_columns, right=True)
    if fitted.get("project") and fitted["project"] != walk.draft.name:
        if walk.draft.rows or walk.draft.name:
            _new_draft(walk, n)
        walk.draft.name, walk.draft.line = fitted["project"], n
        walk.draft.header_line = walk.header.line
    if fitted.get("department"):
        walk.draft.department = drop_code(fitted["department"])
    if fitted.get("budget"):
        walk.draft.budget = parse_budget(fitted["budget"], walk.unit_hint)
    if fitted.get("goal"):
        walk.draft.goal = [fitted["goal"]]
