"""Coded indicator lists and the PDF-text layout that carries them (part of :mod:`nlp.parse`).

A coded list writes each indicator as one item::

    1、1-产出指标；11-数量指标；资助人数；实施周期指标值:约40人/年；年度指标值:约40人/年。

It appears in a table cell (seed 000, read by :mod:`nlp.parse_tables`) or in PDF text (seeds 003/004):
department rows and indented project headings ending in amounts, goal text, then the list, all hard
wrapped (inside words, numbers and even the item number) with blank lines between wrapped lines and
the table header repeated on every page. This module also holds what every layout shares: the
:class:`Item` draft, :func:`make_project` and :func:`problem`.

>>> items, problems = parse_items("1、1-产出指标；11-数量指标；资助人数；实施周期指标值:约40人；年度指标值:约40人。")
>>> items[0].name, items[0].declared_code, items[0].annual_value
('资助人数', '11', '约40人')
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from nlp.errors import problem
from nlp.records import Indicator, Problem, Project
from nlp.taxonomy import declared_code, detect_scheme, normalise_label

__all__ = ["Item", "Joined", "make_project", "join_wrapped", "parse_items", "read_inline"]


@dataclass(frozen=True)
class Item:
    """An indicator as read, before its project (and so its scheme) is complete."""

    declared_l1: str
    declared_l2: str
    declared_code: str
    name: str
    description: str = ""
    cycle_value: str = ""
    annual_value: str = ""
    basis: str = ""
    line: int = 0


def make_project(
    *,
    path: str,
    department: str,
    name: str,
    goal: str,
    budget: float | None,
    line: int,
    items: Sequence[Item],
) -> Project:
    """The finished project: the scheme is detected per project, then every indicator is built."""
    scheme = detect_scheme([i.declared_l1 for i in items], [i.declared_l2 for i in items])
    doc = re.split(r"[\\/]", path)[-1]  # the file name, whichever separator the caller used
    indicators = tuple(
        Indicator(
            doc=doc,
            department=department,
            project=name,
            goal=goal,
            budget=budget,
            scheme=scheme,
            declared_l1=i.declared_l1,
            declared_l2=i.declared_l2,
            declared_code=i.declared_code,
            name=i.name,
            description=i.description,
            cycle_value=i.cycle_value,
            annual_value=i.annual_value,
            basis=i.basis,
            line=i.line,
        )
        for i in items
    )
    return Project(doc, department, name, goal, budget, scheme, line, indicators)


# ------------------------------------------------------------------------------------ joining wraps

_LATIN = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class Joined:
    """Hard-wrapped lines joined into one text, remembering where each line starts."""

    text: str
    starts: tuple[int, ...] = ()
    numbers: tuple[int, ...] = ()

    def line_at(self, offset: int) -> int:
        """The 1-based source line holding ``offset`` of the joined text."""
        if not self.starts:
            return 0
        return self.numbers[max(0, bisect.bisect_right(self.starts, offset) - 1)]


def join_wrapped(lines: Sequence[tuple[int, str]]) -> Joined:
    """Join (line number, text) pairs: no space inside Chinese or numbers, one between Latin words.

    >>> join_wrapped([(1, "保障设备设"), (3, "施正常运作；≥"), (5, "95%")]).text
    '保障设备设施正常运作；≥95%'
    """
    text, starts, numbers = "", [], []
    for number, raw in lines:
        piece = raw.strip().replace("\f", "")
        if not piece:
            continue
        # A wrap swallows the space between Latin words only; Chinese and numbers wrap anywhere.
        if text and _LATIN.match(text[-1]) and _LATIN.match(piece[0]):
            text += " "
        starts.append(len(text))
        numbers.append(number)
        text += piece
    return Joined(text, tuple(starts), tuple(numbers))


# ------------------------------------------------------------------------------------- coded items

# "3、1-产出指标；" opens an item; the number is checked against the running count (see _item_starts).
_ITEM = re.compile(r"(\d{1,3})\s*、\s*(\d)\s*[-－—]\s*([^；;。、\d]{1,15}?)\s*[；;]")
_L2 = re.compile(r"\s*(\d{2})\s*[-－—]\s*([^；;。]{1,20}?)\s*[；;]")
_LABELS = {
    "cycle_value": re.compile(r"实施周期指标值\s*[:：]?"),
    "annual_value": re.compile(r"当?年度指标值\s*[:：]?"),
    "basis": re.compile(r"指标值确定依据\s*[:：]?"),
}
_EDGE = " \t；;。，,"


def _item_starts(text: str) -> list[re.Match[str]]:
    """Item openings numbered 1, 2, 3…; a stray "1、2-3季度；" inside a value is not an opening."""
    found: list[re.Match[str]] = []
    for match in _ITEM.finditer(text):
        expected = str(len(found) + 1)
        number = match.group(1)
        strong = _L2.match(text, match.end()) is not None  # "11-数量指标；" follows: clearly an item
        if not (strong or number.endswith(expected)):
            continue
        if normalise_label(f"{match.group(2)}-{match.group(3)}", level=1) is None:
            continue
        if number != expected and number.endswith(expected):
            # The previous value ran into the number ("年度指标值:42、1-产出…" is item 2).
            match = _ITEM.match(text, match.start(1) + len(number) - len(expected)) or match
        found.append(match)
    return found


def _split_body(body: str) -> dict[str, str]:
    """Name and labelled values of one item body (what follows "11-数量指标；")."""
    marks = sorted((m.start(), m.end(), field) for field, rx in _LABELS.items() if (m := rx.search(body)))
    fields: dict[str, str] = {}
    if not marks:
        # A free-text tail ("印制宣传材料；进一步提高知晓度。"): the part after the name is its target.
        name, _, tail = body.partition("；") if "；" in body else body.partition(";")
        fields["name"] = name.strip(_EDGE)
        fields["annual_value"] = tail.strip(_EDGE)
        return fields
    fields["name"] = body[: marks[0][0]].strip(_EDGE)
    for (_, end, field), nxt in zip(marks, [*marks[1:], (len(body), 0, "")], strict=True):
        fields[field] = body[end : nxt[0]].strip(_EDGE)
    return fields


def parse_items(
    text: str, *, joined: Joined | None = None, line: int = 0, path: str = ""
) -> tuple[list[Item], list[Problem]]:
    """The coded items in ``text``; a truncated item becomes a Problem (E005) instead of a record.

    ``joined`` maps offsets to source lines (PDF text); otherwise every item gets ``line``.

    >>> items, problems = parse_items("1、1-产出指标；11-数量指标；资助人数；实施周期指标值:", path="a.txt", line=3)
    >>> items, str(problems[0])
    ([], "[E005] a.txt:3: indicator is truncated (the text ends inside item 1 '资助人数' before its value). \
Complete the item in the source or remove it.")
    """
    items: list[Item] = []
    problems: list[Problem] = []
    starts = _item_starts(text)
    for k, match in enumerate(starts):
        end = starts[k + 1].start() if k + 1 < len(starts) else len(text)
        where = joined.line_at(match.start()) if joined else line
        l1 = match.group(3).strip()
        l2_match = _L2.match(text, match.end())
        if l2_match and l2_match.end() > end:
            l2_match = None
        l2 = l2_match.group(2).strip() if l2_match else ""
        body = text[(l2_match or match).end() : end]
        fields = _split_body(body)
        code = declared_code(f"{match.group(2)}-{l1}", f"{l2_match.group(1)}-{l2}" if l2_match else "")
        value = fields.get("cycle_value") or fields.get("annual_value") or fields.get("basis")
        # Only the last item can be cut off: the others end where the next one starts.
        cut = k + 1 == len(starts) and not body.rstrip().endswith(("。", "；", ";"))
        if not fields["name"]:
            detail = f"item {match.group(1)} has no indicator name after '{l2 or l1}'"
        elif cut and (not value or ("cycle_value" in fields and "annual_value" not in fields)):
            detail = f"the text ends inside item {match.group(1)} '{fields['name']}' before its value"
        else:
            items.append(
                Item(
                    declared_l1=l1,
                    declared_l2=l2,
                    declared_code=code,
                    name=fields["name"],
                    cycle_value=fields.get("cycle_value", ""),
                    annual_value=fields.get("annual_value", ""),
                    basis=fields.get("basis", ""),
                    line=where,
                )
            )
            continue
        problems.append(problem(path, where, "E005", detail=detail))
    return items, problems


# ----------------------------------------------------------------------------------- PDF text layout

_AMOUNT = r"\d{1,3}(?:,\d{3})+\.\d{2}|\d+\.\d{2}"
# A heading row ends in its amounts (总计, 财政拨款, …): "    欠薪应急周转金 300.00 300.00" or "2.88 2.88".
_AMOUNTS = re.compile(rf"^(?P<name>.*?)(?:^|\s+)(?P<amounts>(?:{_AMOUNT})(?:\s+(?:{_AMOUNT}))*)\s*$")
_TOTALS = {"合计", "总计", "小计"}
_HEADER_START = re.compile(r"^项目名称(\(.*?\))?总计")
_HEADER_CHARS = set("项目名称资金使用单位总计财政拨款专户其他绩效目标指标()")
_DEPARTMENT = re.compile(r"^(?:部门|单位)名称\s*[:：]\s*(?P<name>.+?)(?:\s+(?:金额)?单位\s*[:：].*)?$")
_UNIT_YUAN = re.compile(r"单位\s*[:：]\s*元")


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _indented(raw: str) -> bool:
    return len(raw) - len(raw.lstrip(" \u3000")) >= 2


def _content_lines(lines: Sequence[str]) -> list[tuple[int, str]]:
    """Non-blank lines with their numbers, without the table header repeated on each page."""
    kept: list[tuple[int, str]] = []
    header = ""
    for number, raw in enumerate(lines, start=1):
        text = _compact(raw)
        if not text:
            continue
        if _HEADER_START.match(text):
            header = text
            continue
        # The header of a narrow PDF column wraps too: "财政专户" / "拨款" / "其他资" / "金" / "绩效目标 绩效指标".
        if header and not header.endswith("绩效指标") and set(text) <= _HEADER_CHARS:
            header += text
            continue
        header = ""
        kept.append((number, raw))
    return kept


def _is_heading_end(raw: str) -> re.Match[str] | None:
    match = _AMOUNTS.match(raw.strip())
    if not match or "指标值" in raw:
        return None
    several = len(match.group("amounts").split()) >= 2
    # One lone amount is too weak ("增长率 1.50" in goal text) unless it sits on an indented heading.
    return match if several or (_indented(raw) and match.group("name")) else None


def _heading_start(rows: list[tuple[int, str]], end: int, floor: int) -> int:
    """Index of the first line of the heading whose amounts are on ``rows[end]`` (names wrap upwards)."""
    if _indented(rows[end][1]) or rows[end][1].strip().split(" ")[0] in _TOTALS:
        return end
    start = end
    while start - 1 >= max(floor, end - 4):
        raw = rows[start - 1][1]
        text = raw.strip()
        if (
            _is_heading_end(raw)
            or "指标值" in text
            or _ITEM.search(_compact(text))
            or _DEPARTMENT.match(text)
        ):
            break
        if text.endswith(("。", "；", ";")):
            break
        start -= 1
        if _indented(raw):
            break
    return start


@dataclass(frozen=True)
class _Heading:
    """A department or project row: ``rows[start:end + 1]`` hold its name, the last line its amounts."""

    start: int
    end: int
    name: str
    amounts: tuple[str, ...]
    indented: bool


def _headings(rows: list[tuple[int, str]]) -> list[_Heading]:
    headings: list[_Heading] = []
    floor = 0
    for end, (number, raw) in enumerate(rows):
        match = _is_heading_end(raw)
        if not match:
            continue
        start = _heading_start(rows, end, floor)
        name = join_wrapped([*rows[start:end], (number, match.group("name"))]).text
        amounts = tuple(match.group("amounts").split())
        headings.append(_Heading(start, end, name, amounts, _indented(rows[start][1])))
        floor = end + 1
    return headings


def read_inline(lines: Sequence[str], path: str) -> tuple[list[Project], list[Problem]]:
    """Projects of the PDF-text layout (headings with amounts, goal text, coded lists).

    A heading with nothing under it before the next heading is a department row; an indented heading
    is always a project.
    """
    rows = _content_lines(lines)
    scale = 1.0
    department = ""
    for _, raw in rows[:20]:
        named = _DEPARTMENT.match(raw.strip())
        if named and not department:
            department = named.group("name").strip()
        if _UNIT_YUAN.search(raw):
            scale = 1e-4  # budgets are kept in 万元
    headings = _headings(rows)
    first = headings[0].start if headings else len(rows)
    if _item_starts(join_wrapped(rows[:first]).text):
        # A bare coded list with no heading above it: one project without a name.
        headings.insert(0, _Heading(start=0, end=-1, name="", amounts=(), indented=True))
    projects: list[Project] = []
    problems: list[Problem] = []
    for k, heading in enumerate(headings):
        stop = headings[k + 1].start if k + 1 < len(headings) else len(rows)
        body = rows[heading.end + 1 : stop]
        if heading.name in _TOTALS:
            continue
        if not body and not heading.indented:
            department = heading.name
            continue
        joined = join_wrapped(body)
        found = _item_starts(joined.text)
        goal = joined.text[: found[0].start()] if found else joined.text
        items, trouble = parse_items(joined.text, joined=joined, path=path)
        line = rows[heading.start][0]
        budget = round(float(heading.amounts[0].replace(",", "")) * scale, 6) if heading.amounts else None
        project = make_project(
            path=path,
            department=department,
            name=heading.name,
            goal=goal.strip(),
            budget=budget,
            line=line,
            items=items,
        )
        projects.append(project)
        problems.extend(trouble)
        if not items and not trouble:
            detail = "no coded list under its heading"
            problems.append(problem(path, line, "E009", project=heading.name, detail=detail))
    return projects, problems
