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
    is_number,
    is_unit,
    is_value,
    name_like,
    simplify,
    soft_value,
    strip_name,
)

__all__ = ["split_run", "split_value", "compat", "fit_row", "leading_categories", "tokens"]

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
        if is_value(tail) and re.search(r"\d", tail) and name_like(head) and not re.search(r"\d$", head):
            return head, tail
    for match in re.finditer(r"(?:\d{4}年)?(?:年底|年末|月底|年内|当年|上半年|下半年)", plain):
        head, tail = text[: match.start()].strip(), text[match.start() :].strip()
        if len(head) >= 2 and is_value(tail) and name_like(head):
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


# ---------------------------------------------------------------------------------------- fitting rows


def compat(cell: str, role: str) -> float:
    """How well a cell fits a column; negative means it does not."""
    if not cell:
        return 0.0
    value, number = is_value(cell), is_number(cell)
    text = not value and not number
    if is_basis(cell):
        return 4.0 if role == "basis" else -5.0 if role == "name" else 0.0
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
        if out and joinable and name_like(out[-1]) and not category(out[-1]) and not is_comparator(out[-1]):
            out[-1] = f"{out[-1]} {word}"
        else:
            out.append(word)
    return out
