"""Rows of tables as they are found (part of :mod:`nlp.readers.found`): cells that ran together cut apart,
and the cells of a row fitted to the header's columns by what each cell is.

>>> split_run("产出指标数量指标新建保鲜库数量1座")
['产出指标', '数量指标', '新建保鲜库数量', '1座']
"""

from __future__ import annotations

import re

from nlp.readers.cells import (
    _CMP,
    _NAME_END,
    _PINYIN,
    _PREFIX,
    _QUAL_WORDS,
    TEXT_ROLES,
    VALUE_ROLES,
    category,
    despace,
    header_role,
    is_basis,
    is_comparator,
    is_explanation,
    is_number,
    is_unit,
    is_value,
    name_like,
    simplify,
    soft_value,
    strip_name,
)

__all__ = ["split_run", "split_value", "split_values", "compat", "fit_row", "leading_categories", "tokens"]

_ADVERBS = r"明显|显著|有效|逐步|持续|稳步|进一步|全面|大幅|不断|稳定|切实|较大"


_ADVERBS = r"明显|显著|有效|逐步|持续|稳步|进一步|全面|大幅|不断|稳定|切实|较大"


def split_run(text: str) -> list[str]:
    """A row whose cells ran together, split at category labels and at the value at its end.

    >>> split_run("效益指标社会效益指标带动就业人数≥50人")
    ['效益指标', '社会效益指标', '带动就业人数', '≥50人']
    >>> split_run("满意度指标服务对象满意度指标受益群众满意度90%")
    ['满意度指标', '服务对象满意度指标', '受益群众满意度', '90%']
    """
    cells: list[str] = []
    rest = _PINYIN.sub("", despace(text)).strip()  # positions below are positions in simplify(rest)
    while len(cells) < 2:
        match = _PREFIX.match(simplify(rest))
        if not match or match.end() >= len(rest):
            break
        cells.append(rest[: match.end()].strip())
        rest = rest[match.end() :].strip()
    if len(cells) == 2 and simplify(cells[0]) == simplify(cells[1]):
        cells.pop()  # the same label twice is one label
    again = _PREFIX.match(simplify(rest)) if cells else None
    if again and again.end() < len(rest) and simplify(rest[: again.end()]) == simplify(cells[-1]):
        rest = rest[again.end() :].strip()  # the 二级 printed twice (a merged cell read twice by OCR)
    rest = strip_name(rest)
    tokens = rest.split()
    tail: list[str] = []
    while len(tokens) > 1 and (is_value(tokens[-1]) or is_number(tokens[-1])):
        tail.insert(0, tokens.pop())
    if tail:
        return [*cells, " ".join(tokens), *tail]
    name, value = split_value(rest)
    return [*cells, name, value] if value else [*cells, rest]


def split_value(text: str) -> tuple[str, str]:
    """("新建保鲜库数量1座") -> ("新建保鲜库数量", "1座"); ("", "") parts when nothing splits."""
    text = _PINYIN.sub("", text)
    plain = simplify(text)
    starts: list[int] = [m.start() for m in re.finditer(rf"{_CMP}|\d", plain) if m.start() >= 2]
    for start in starts:
        head, tail = text[:start].strip(), text[start:].strip()
        if len(re.findall(r"[(（]", head)) > len(re.findall(r"[)）]", head)):
            continue  # "成活率(≥**%)>=85": a name never ends inside its bracketed hint
        if is_value(tail) and re.search(r"\d", tail) and name_like(head) and not re.search(r"\d$", head):
            return head, tail
    for match in re.finditer(r"(?:\d{4}年)?(?:年底|年末|月底|年内|当年|上半年|下半年)", plain):
        head, tail = text[: match.start()].strip(), text[match.start() :].strip()
        if len(head) >= 2 and is_value(tail) and name_like(head):
            return head, tail
    for match in re.finditer(r"同比|较上年|比上年|较去年|较同期|与上年相比", plain):
        # A target stated against last year ("同比2022年销量显著提高") starts the value.
        head, tail = text[: match.start()].strip(), text[match.start() :].strip()
        if len(head) >= 3 and name_like(head) and re.search(rf"\d|{_QUAL_WORDS}", simplify(tail)):
            return head, tail
    for match in re.finditer(rf"(?:{_ADVERBS})?(?:{_QUAL_WORDS})", plain):
        head, tail = text[: match.start()].strip(), text[match.start() :].strip()
        adverb = re.match(_ADVERBS, simplify(tail))
        if (
            len(head) >= 3
            and is_value(tail)
            and (adverb or _NAME_END.search(simplify(head)))
            and name_like(head)
        ):
            return head, tail
    return text, ""


_MEASURES = (
    "万元|亿元|元|万人次|人次|万人|人|次|件|场|户|吨|公里|千米|米|平方米|立方米|万亩|亩|天|个月|年|月|日|小时|座|处|所"
    "|台|套|批次|批|项|家|册|份|条|辆|分|期|篇|个|名|本|株|头|只|起|元/人|元/平方米|万册|课时|学时|km|m|t|kg"
)
# A value that can stand before another one in a run: a number with its comparator and unit, or a date.
_STRICT_VALUE = re.compile(
    rf"(?:{_CMP})?\s*\d+(?:\.\d+)?\s*(?:%|‰|{_MEASURES})?(?:以上|以内|以下)?"
    r"|(?:\d{4}年)?\d{1,2}月(?:\d{1,2}日)?(?:底|末)?(?:前|内)?|\d{4}年(?:底|末)?(?:前|内)?"
)


def split_values(text: str, most: int) -> tuple[str, list[str]] | None:
    """A name followed by two or more values that ran together (a self-evaluation row: target, then what
    was achieved), or a run of values alone: ``(name, values)``; ``None`` when it does not cut so.
    Every value but the last holds a number, and no cut falls inside a number.

    >>> split_values("项目建设成本≤50万元47.68万元", 2)
    ('项目建设成本', ['≤50万元', '47.68万元'])
    >>> split_values("完成时间12月已完成", 2), split_values("100%98%", 3)
    (('完成时间', ['12月', '已完成']), ('', ['100%', '98%']))
    """
    if most < 2:
        return None
    plain = simplify(_PINYIN.sub("", text))
    if len(plain) != len(text):
        return None
    pieces = _pieces(plain, most)
    if pieces and len(pieces) >= 2:
        return "", _cut_like(text, pieces)
    for n in range(2, 7):
        # "…同比销量显著提高显著提高": the achieved value repeats the end of the target in words.
        word = plain[-n:]
        if (
            len(plain) > 2 * n
            and plain[-2 * n : -n] == word
            and is_value(word)
            and not re.search(r"\d", word)
        ):
            name, target = split_value(text[:-n])
            if name and target:
                return name, [target, text[-n:]]
    for match in re.finditer(rf"{_CMP}|\d", plain):
        start = match.start()
        head = text[:start].strip()
        if start < 2 or re.search(r"\d$", head) or not name_like(head):
            continue
        pieces = _pieces(plain[start:], most)
        if pieces and len(pieces) >= 2:
            return head, _cut_like(text[start:], pieces)
    return None


def _cut_like(text: str, pieces: list[str]) -> list[str]:
    out, at = [], 0
    for piece in pieces:
        out.append(text[at : at + len(piece)].strip())
        at += len(piece)
    return out


def _pieces(text: str, most: int) -> list[str] | None:
    """``text`` cut into at most ``most`` values, shortest first piece first."""
    if is_value(text) and (most == 1 or not re.search(r"\d", text[1:])):
        return [text] if most >= 1 else None
    if most < 2:
        return [text] if is_value(text) else None
    for end in range(1, len(text)):
        head, tail = text[:end], text[end:]
        if re.match(r"[\d.]", tail) and re.search(r"[\d.]$", head):
            continue  # never inside a number
        if not _STRICT_VALUE.fullmatch(head):
            continue
        if re.search(r"\d$", head) and not re.match(_CMP, tail) and is_value(head + tail[0]):
            continue  # "12" + "月…": the unit belongs to the number
        rest = _pieces(tail, most - 1)
        if rest:
            return [head, *rest]
    return [text] if is_value(text) else None


# ---------------------------------------------------------------------------------------- fitting rows


def compat(cell: str, role: str) -> float:
    """How well a cell fits a column; negative means it does not."""
    if not cell:
        return 0.0
    value, number = is_value(cell), is_number(cell)
    text = not value and not number
    if is_basis(cell):
        return 4.0 if role == "basis" else -5.0 if role == "name" else 0.0
    if is_explanation(cell):
        return 4.0 if role == "description" else -3.0 if role == "name" else 0.0
    if role == "name":
        return 3.0 if name_like(cell) else 1.0 if soft_value(cell) else -5.0
    if role in TEXT_ROLES:
        return 2.0 if text else (1.0 if role == "deviation_reason" or value else -1.0)
    if role in VALUE_ROLES:
        bonus = 0.1 if role == "annual_value" else 0.0
        # An achieved value is often a bare number ("93"); a target rarely is.
        as_number = 3.0 if role == "actual_value" else 2.0
        return (as_number if number else 3.0 if value else 0.3 if len(cell) <= 30 else -1.0) + bonus
    if role in ("comparator", "direction"):
        return 4.0 if is_comparator(cell) else -5.0
    if role == "unit":
        return 3.0 if is_unit(cell) else -5.0
    if role in ("weight", "score"):
        return 3.0 if number else (0.0 if value and re.search(r"\d", cell) else -5.0)
    if role in ("department", "project"):
        return 2.0 if text and len(cell) <= 40 else -3.0
    if role == "budget":
        return 3.0 if re.search(r"\d", cell) and not re.search(r"[\u4e00-\u9fff]{3}", cell) else -5.0
    if role == "goal":
        return 3.0 if text and len(cell) > 15 else 0.5 if text else -3.0
    return 0.0


def fit_row(cells: list[str], roles: list[str], *, right: bool = False) -> dict[str, str]:
    """Cells to columns in order, maximising fit; empty and unfitting cells may be left out. Cells line up
    with columns from the left (or from the right, ``right=True``) when fit is equal.

    >>> fit_row(["发放人数", "≥40人", "10"], ["name", "cycle_value", "annual_value", "weight", "score"])
    {'name': '发放人数', 'annual_value': '≥40人', 'weight': '10'}
    """
    while cells and not cells[-1]:
        cells = cells[:-1]
    k, m = len(cells), len(roles)
    best = [[float("-inf")] * (m + 1) for _ in range(k + 1)]
    back: list[list[tuple[int, int, bool]]] = [[(0, 0, False)] * (m + 1) for _ in range(k + 1)]
    best[0] = [0.0] * (m + 1)
    for j in range(1, m + 1):
        back[0][j] = (0, j - 1, False)
    for i in range(1, k + 1):
        for j in range(m + 1):
            best[i][j], back[i][j] = best[i - 1][j] + (0.0 if not cells[i - 1] else -4.0), (i - 1, j, False)
            if j and best[i][j - 1] > best[i][j]:
                best[i][j], back[i][j] = best[i][j - 1], (i, j - 1, False)
            if j:
                lined = (k - i == m - j) if right else (i == j)
                score = (
                    best[i - 1][j - 1]
                    + compat(cells[i - 1], roles[j - 1])
                    + (0.05 if lined else 0.0)
                    - 0.001 * j
                )
                if score >= best[i][j]:
                    best[i][j], back[i][j] = score, (i - 1, j - 1, True)
    out: dict[str, str] = {}
    i, j = k, m
    while i > 0 or j > 0:
        pi, pj, took = back[i][j]
        if took and cells[i - 1]:
            role = roles[j - 1]
            out[role] = f"{cells[i - 1]}；{out[role]}" if role in out and role in TEXT_ROLES else cells[i - 1]
        i, j = pi, pj
    if not any(out.get(r) for r in VALUE_ROLES) and "annual_value" in roles:
        # A lone number is the target, not a weight: "重点建设工程安排数量 2".
        moved = next((r for r in ("weight", "score") if r in out), None)
        if moved:
            out["annual_value"] = out.pop(moved)
    return dict(sorted(out.items(), key=lambda item: roles.index(item[0])))


def leading_categories(cells: list[str]) -> tuple[list[str], list[str]]:
    """Leading category cells (at most two, always leaving a name) and the rest of the row; a category
    glued to the name ("效益指标社保业务档案完整率") is split off.

    >>> leading_categories(["", "满意度指标", "服务对象满意度指标", "服务对象满意度", "≥90%"])
    (['满意度指标', '服务对象满意度指标'], ['服务对象满意度', '≥90%'])
    """
    cats: list[str] = []
    i = 0
    while i < len(cells):
        cell = cells[i]
        if not cell or header_role(cell) == "frame":
            i += 1
            continue
        after = [c for c in cells[i + 1 :] if c]
        named = any(name_like(c) or category(c) or soft_value(c) for c in after)
        if category(cell) and len(cats) < 2 and (not after or named):
            cats.append(cell)
            i += 1
            continue
        glued = split_run(cell) if not category(cell) and len(cats) < 2 else [cell]
        if len(glued) > 1 and category(glued[0]):
            cells = [*cells[:i], *glued, *cells[i + 1 :]]
            continue
        break
    return cats, cells[i:]


def tokens(text: str) -> list[str]:
    """A row written with single spaces: the words, with neighbouring words of one name joined again.

    >>> tokens("产出指标 成本指标 检查差旅费 470 人/天 2")
    ['产出指标', '成本指标', '检查差旅费', '470', '人/天', '2']
    """
    out: list[str] = []
    for word in despace(text).split():
        joinable = name_like(word) and not category(word) and not is_comparator(word) and not is_unit(word)
        # "巩固拓展脱贫攻坚成果 巩固拓展脱贫攻坚成果": a word that restates the one before (whole or its
        # end) is the next cell, a qualitative target written like the name.
        joinable = joinable and not (out and len(word) >= 4 and out[-1].endswith(word))
        if out and joinable and name_like(out[-1]) and not category(out[-1]) and not is_comparator(out[-1]):
            out[-1] = f"{out[-1]} {word}"
        else:
            out.append(word)
    return out
