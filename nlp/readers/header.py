"""Indicator headers (part of :mod:`nlp.readers.found`): the row of column words (一级指标, 三级指标, 指标值,
实际完成值 …) in whichever way its cells are kept apart — a line of cells, one word a line, a run of words
with nothing between them, or a header inside a page that lost all its line breaks.

>>> header = find_header(["一级指标 | 二级指标 | 三级指标 | 指标值"], 0)
>>> header.roles, header.style
(['l1', 'l2', 'name', 'annual_value'], 'pipe')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from nlp.readers.cells import (
    _ENUM,
    _HEADER_OF,
    _NAME_END,
    _PINYIN,
    _SCORE_NOTE,
    _STEMS,
    VALUE_ROLES,
    despace,
    header_role,
    is_place,
    is_value,
    key,
    line_style,
    simplify,
    split_cells,
)

__all__ = ["Header", "header_roles", "find_header", "stream_cells", "compact_text"]


_CATS = ("l1", "l2", "frame")
_PROJECT_COLUMNS = ("department", "project", "budget", "goal")
_TABLE_COLUMNS = {
    "项目名称": "project",
    "项目": "project",
    "单位名称": "department",
    "部门名称": "department",
    "主管部门": "department",
    "实施单位": "department",
    "项目单位": "department",
    "预算单位": "department",
    "预算数": "budget",
    "预算金额": "budget",
    "金额": "budget",
    "资金": "budget",
    "年度目标": "goal",
    "绩效目标": "goal",
    "年度绩效目标": "goal",
    "项目绩效目标": "goal",
    "绩效金额": "budget",
}


@dataclass
class Header:
    """An indicator header: the field of each column, how its cells are kept apart, where it is."""

    roles: list[str]
    style: str  # "tab", "pipe", "space", "single" (single spaces), "run" (nothing), "cell" (one a line)
    end: int  # index of the header's last line
    line: int  # 1-based line of its first
    words: list[str] = field(default_factory=list)  # the header cells as written
    rest: list[str] = field(default_factory=list)  # cells after the header on its line: the first row
    before: str = ""  # text before a header inside a line: the project's key cells, run together

    @property
    def body(self) -> list[str]:
        """The columns a row is fitted to: not the category, frame or project columns."""
        body = [r for r in self.roles if r not in _CATS and r not in _PROJECT_COLUMNS]
        if "name" not in body and "description" in body:
            body[body.index("description")] = "name"  # 指标内容 holds the name when no other column does
        return body if "name" in body else ["name", *body]

    @property
    def project_columns(self) -> list[str]:
        """The project columns left of the indicator columns; unnamed columns among them (项目单位, 项目类别)
        stay as "unknown", so the cells of a row line up with them."""
        first = next((k for k, r in enumerate(self.roles) if r in _CATS or r in _NAMEISH), len(self.roles))
        if not any(r in _PROJECT_COLUMNS for r in self.roles[:first]):
            return [r for r in self.roles if r in _PROJECT_COLUMNS]
        return [r for r in self.roles[:first] if r in _PROJECT_COLUMNS or r == "unknown"]


_HEADER_WORDS = sorted(_HEADER_OF, key=len, reverse=True)
_HEADER_RUN = re.compile("(?:" + "|".join(map(re.escape, _HEADER_WORDS)) + ")")
_NAMEISH = {"l1", "l2", "name"}


def _run_words(compact: str) -> list[str]:
    """The header words of a line whose header cells ran together ("…年度指标值全年完成值未完成原因…"),
    or ``[]`` when the line is not made of them. A few characters no header word covers ("全年") are
    read as the start of the word after them, as long as that word keeps its field."""
    words: list[str] = []
    at = 0
    for match in _HEADER_RUN.finditer(compact):
        gap = compact[at : match.start()]
        if len(gap) > 4 or (gap and _STREAM_LABEL.match(gap)):
            return []
        word = gap + match.group()
        if gap and header_role(word) != header_role(match.group()) and header_role(word) is None:
            word = match.group() if len(gap) <= 2 else ""
        if not word:
            return []
        words.append(word)
        at = match.end()
    return words if at == len(compact) else []


def header_roles(cells: Sequence[str]) -> list[str] | None:
    """The field of every column if ``cells`` is an indicator header, else ``None``.

    >>> header_roles(["一级指标", "二级指标", "三级指标", "指标性质", "指标值", "度量单位", "权重(%)"])
    ['l1', 'l2', 'name', 'comparator', 'annual_value', 'unit', 'weight']
    """
    roles = []
    for cell in cells:
        role = header_role(cell) if cell else "empty"
        roles.append(role or _TABLE_COLUMNS.get(key(cell)) or ("extra" if is_place(cell) else "unknown"))
    if "project" in roles and "annual_value" in roles and not _NAMEISH & set(roles):
        roles[roles.index("project")] = "name"  # 项目 | 指标值: the first column holds the whole tree
    known = [r for r in roles if r not in ("unknown", "empty", "extra", *_PROJECT_COLUMNS)]
    if len(known) < 2 or not _NAMEISH & set(known) or roles.count("unknown") * 2 > len(known):
        return None
    if "annual_value" not in known and not (
        {"l1", "l2"} & set(known) or {"actual_value", "weight", "score"} & set(known)
    ):
        return None
    if roles.count("annual_value") > 1 and "goal" not in roles:
        roles[roles.index("annual_value")] = (
            "goal" if key(cells[roles.index("annual_value")]) == "年度目标" else "annual_value"
        )
    return [r if r != "empty" else "unknown" for r in roles]


def find_header(lines: Sequence[str], i: int) -> Header | None:
    """The indicator header that starts at ``lines[i]``, in whichever style its cells are kept apart."""
    line = lines[i]
    style = line_style(line)
    if style != "single":
        cells = split_cells(line, style)
        roles = header_roles(cells)
        if roles:
            return Header(roles, style, i, i + 1, cells)
        return _header_in(cells, style, i)
    text = despace(line).strip().strip("|｜│┃ ")
    compact = key(text)
    if not compact:
        return None
    if len(compact) > 120:
        return _header_in_text(text, i)
    words = text.split()
    if len(words) >= 3 and (spaced := _spaced_header(words, lines, i)):
        return spaced
    tokens = _run_words(compact)
    if len(tokens) >= 3 and (roles := header_roles(tokens)):
        return Header(roles, "run", i, i + 1, tokens)
    if len(compact) > 40:
        return _header_in_text(text, i)
    if header_role(text) is None and key(text) not in _TABLE_COLUMNS:
        return None
    # One cell per line: the header words follow each other, one a line.
    cells, j = [text], i + 1
    while j < len(lines) and len(cells) < 16:
        nxt = lines[j].strip().strip("|｜│┃ ")
        if nxt and (
            line_style(nxt) != "single" or header_role(nxt) is None and key(nxt) not in _TABLE_COLUMNS
        ):
            break
        if nxt:
            cells.append(nxt)
        j += 1
    roles = header_roles(cells) if len(cells) >= 2 else None
    while j > i + 1 and not lines[j - 1].strip():
        j -= 1
    return Header(roles, "cell", j - 1, i + 1, cells) if roles else None


def _spaced_header(words: list[str], lines: Sequence[str], i: int) -> Header | None:
    """A header written with single spaces. Words before the first header word are a caption
    ("年度绩效目标1(80分) 一级指标 …"); words that name no column may be completed by the next line, where a
    two-row header puts the rest of each word ("年度 实际" over "指标值 完成值")."""
    start = next((k for k, w in enumerate(words) if header_role(w)), len(words))
    words = words[start:] if start <= 2 else words
    roles = header_roles(words) if len(words) >= 3 else None
    if not roles:
        return None
    if "unknown" not in roles:
        return Header(roles, "single", i, i + 1, words)
    below = lines[i + 1].split() if i + 1 < len(lines) else []
    joined, j = list(words), 0
    for k, word in enumerate(words):
        whole = word + below[j] if j < len(below) else ""
        if whole and (roles[k] == "unknown" or key(whole) in _HEADER_OF) and header_role(whole):
            joined[k], j = whole, j + 1
    if below and j == len(below) and (two := header_roles(joined)) and "unknown" not in two:
        return Header(two, "single", i + 1, i + 1, joined)
    # No second header row: columns the reader has no word for (项目单位, 项目类别) are kept as "unknown".
    known = [r for r in roles if r != "unknown"]
    return Header(roles, "single", i, i + 1, words) if len(known) >= 2 * roles.count("unknown") else None


def _header_in(cells: list[str], style: str, i: int) -> Header | None:
    """A header that shares its line with other cells (HTML tables flattened into one row): the run of
    header words, the cells after it being the first row. A second header level written after the first
    (年度指标值 | 实际完成值 | … | 一级指标 | 二级指标 | 三级指标 | 指标值) takes the place of the first value column."""
    flags = [bool(c) and header_role(c) is not None for c in cells]
    best: tuple[int, int] = (0, 0)
    k = 0
    while k < len(cells):
        if not flags[k]:
            k += 1
            continue
        end = k
        while end < len(cells) and (flags[end] or not cells[end]):
            end += 1
        if sum(flags[k:end]) > sum(flags[best[0] : best[1]]):
            best = (k, end)
        k = end
    start, end = best
    roles = header_roles(cells[start:end]) if end - start >= 3 else None
    if not roles:
        return None
    first_name = next((j for j, r in enumerate(roles) if r in _NAMEISH), 0)
    first_value = next((j for j, r in enumerate(roles) if r in VALUE_ROLES), len(roles))
    if first_value < first_name:
        roles = [*roles[:first_value], *roles[first_name:], *roles[first_value + 1 : first_name]]
    return Header(roles, style, i, i + 1, cells[start:end], cells[end:])


def _header_in_text(text: str, i: int) -> Header | None:
    """A header inside a page that lost all its line breaks: the longest chain of header words, the text
    after it cut into cells by :func:`stream_cells`."""
    compact, breaks = compact_text(text)
    plain = simplify(compact)
    if len(plain) != len(compact):  # NFKC changed a length: match on the text as it is
        plain = compact
    best: list[re.Match[str]] = []
    chain: list[re.Match[str]] = []
    for match in _HEADER_RUN.finditer(plain):
        # "年度指标值全年完成值": 全年 is no header word; but "…改进措施产出指标" starts the rows.
        near = chain and match.start() - chain[-1].end() <= 3
        if near and _STREAM_LABEL.match(plain[chain[-1].end() : chain[-1].end() + 24]):
            near = False
        chain = [*chain, match] if near else [match]
        if len(chain) > len(best):
            best = chain
    words = [m.group() for m in best]
    roles = header_roles(words) if len(words) >= 3 else None
    # Prose mentions 指标 often; a header inside text names its columns, each once.
    named = [w for w in words if w != "指标"]
    if not roles or len(set(roles)) < 3 or len(named) < 2 or len(set(named)) < len(named):
        return None
    end = best[-1].end()
    cells = stream_cells(compact[end:], breaks={b - end for b in breaks if b > end})
    header = Header(roles, "stream", i, i + 1, words, cells)
    header.before = compact[: best[0].start()]
    return header


_STREAM_UNITS = (
    "万元|元|万人次|人次|万人|人|次|件|场|户|吨|公里|千米|米|平方米|立方米|万亩|亩|天|个月|年|月|日|小时|座|处|所|台|套"
    "|批次|批|项|家|册|份|条|辆|分|期|篇|个|名|本|株|头|只|起|元/人|kg|km|m|t"
)
_STREAM_VALUE = re.compile(
    rf"(?:≥|≤|>|<|=|≧|≦|＞|＜|约)?\d+(?:\.\d+)?(?:%|‰|(?:{_STREAM_UNITS})(?![\u4e00-\u9fff]{{2}}率))?"
    r"|\d{4}年(?:\d{1,2}月)?(?:\d{1,2}日)?(?:底|末)?前?"
)
# "…满意度指标值" is a name and the header word 指标值, not the label 满意度指标.
_STREAM_LABEL = re.compile(rf"{_ENUM}({_STEMS})(?:类)?(?:指标|目标)(?!值){_SCORE_NOTE}")


def compact_text(text: str) -> tuple[str, set[int]]:
    """``text`` without whitespace (and pinyin glosses), and the positions in it where whitespace was: a
    PDF flattened to one line keeps a space between cells, but also inside the words it wrapped."""
    compact: list[str] = []
    breaks: set[int] = set()
    for char in _PINYIN.sub("", text):
        if char.isspace():
            if compact:
                breaks.add(len(compact))
        else:
            compact.append(char)
    return "".join(compact), breaks


def stream_cells(compact: str, *, breaks: set[int] | frozenset[int] = frozenset()) -> list[str]:
    """Text whose cells ran together with no line breaks at all, cut at category labels and at values that
    follow a name; a name carrying its description ("…次数反映…情况") is cut at 反映. At ``breaks`` (where
    whitespace was) a name that is complete ("…人数") ends, so a column of names without values comes
    apart; a break inside a name ("…项目补助 基地个数") joins it again.

    >>> stream_cells("数量指标培训人数反映培训规模500人次520人次质量指标合格率100%98%")
    ['数量指标', '培训人数', '反映培训规模', '500人次', '520人次', '质量指标', '合格率', '100%', '98%']
    >>> stream_cells("补助人数补贴学校数", breaks={4})
    ['补助人数', '补贴学校数']
    """
    cells: list[str] = []
    name = ""
    i = 0

    def flush() -> None:
        nonlocal name
        if name:
            cut = name.find("反映", 2)
            cells.extend([name[:cut], name[cut:]] if cut > 0 else [name])
            name = ""

    while i < len(compact):
        label = _STREAM_LABEL.match(simplify(compact[i : i + 24]))
        # A number after "、" is still the name: "5000吨稻谷、500吨成品粮储备到位率".
        if len(name) >= 2:
            after = not name.endswith(("、", "，", ","))
        else:
            after = bool(cells) and is_value(cells[-1])
        # Not in the middle of a number.
        inside = i > 0 and (compact[i - 1].isdigit() or compact[i - 1] == ".")
        value = _STREAM_VALUE.match(compact, i) if after and not inside else None
        if label:
            flush()
            cells.append(compact[i : i + label.end()])
            i += label.end()
        elif value and value.group():
            flush()
            cells.append(value.group())
            i = value.end()
        else:
            if i in breaks and len(name) >= 3 and "、" not in name and _NAME_END.search(simplify(name)):
                flush()
            name += compact[i]
            i += 1
    flush()
    return cells
