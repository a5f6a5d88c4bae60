"""The state of reading one text (part of :mod:`nlp.readers.found`), and how a row of fitted cells becomes an
indicator row of the project being read — for tables with a line per row and for those with one cell a line.
Rows that are not taken are listed as :class:`Skipped`, with the reason."""

from __future__ import annotations

from dataclasses import dataclass, field

from nlp.errors import problem
from nlp.readers import cells as kinds
from nlp.readers.cells import TEXT_ROLES, VALUE_ROLES, category, is_number, is_value, key, name_like
from nlp.readers.grid import compose_value
from nlp.readers.header import Header
from nlp.readers.meta import FIELDS, Draft
from nlp.readers.rows import compat
from nlp.records import Problem

__all__ = [
    "Skipped",
    "Walk",
    "place",
    "record",
    "add_cell",
    "flush_cells",
    "NO_NAME",
    "NO_VALUE",
    "NOTE_ROW",
    "TOTAL",
]


@dataclass(frozen=True)
class Skipped:
    """A line that looked like an indicator but was not taken, and why (Chinese and English)."""

    line: int
    text: str
    reason: str


_SYMBOLS = str.maketrans({"≧": "≥", "≦": "≤", "═": "=", "＝": "="})
NO_NAME = "无指标名称 no indicator name"
NO_VALUE = "无指标值 no value"
TOTAL = "合计行 total row"
REPEATED = "重复行 repeated row"
NOTE_ROW = "表内单格行 a one-cell row inside the table: a note or heading"
_NOT_COMPARING = ("正向", "反向", "中性", "定性", "定量")

# ------------------------------------------------------------------------------------------ the walk


@dataclass
class Walk:
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
    # A one-cell note ("说明：…") closes the table, unless indicator rows follow: then the table goes on
    # and the note lines held here are reported (E019), never silently lost.
    suspended: Header | None = None
    held: list[tuple[int, str]] = field(default_factory=list)


def place(walk: Walk, cats: list[str]) -> None:
    labels = [kinds.simplify(kinds.despace(c)).strip() for c in cats]
    if len(labels) >= 2:
        walk.l1, walk.l2 = labels[0], labels[1]
    elif labels:
        level = kinds.category_level(category(labels[0]) or "")
        if level == 1 or level == 0 and category(walk.l1) != "产出指标":
            walk.l1, walk.l2 = labels[0], ""
        else:
            walk.l2 = labels[0]


def record(walk: Walk, cats: list[str], fitted: dict[str, str], rest: list[str], line: str, n: int) -> None:
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
    place(walk, cats)
    annual = fitted.get("annual_value", "") or fitted.get("extra", "")
    if annual and ("comparator" in fitted or "unit" in fitted or "direction" in fitted):
        # 指标性质 and 指标方向 hold 正向/反向 and 大于等于 in either order: the comparator is the one that compares.
        cells = [fitted.get(r, "").translate(_SYMBOLS) for r in ("comparator", "direction")]
        comparator = next((c for c in cells if c and c not in _NOT_COMPARING), cells[0])
        annual = compose_value(annual, comparator, fitted.get("unit", ""))
    row = {f: fitted.get(f, "") for f in FIELDS}
    row.update(
        annual_value=annual, name=name, line=str(n), l1=walk.l1, l2=walk.l2, block=str(id(walk.header))
    )
    row.update(c1=category(walk.l1) or walk.l1, c2=category(walk.l2) or walk.l2)
    last = walk.draft.rows[-1] if walk.draft.rows else {}
    if all(last.get(f) == row[f] for f in ("name", "annual_value", "l1", "l2", "block")):
        # A name merged over several rows (one per reason slot) repeats in each of them: one indicator.
        walk.skipped.append(Skipped(n, line.strip(), REPEATED))
        return
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


def add_cell(walk: Walk, cell: str, n: int) -> None:
    body = walk.body
    if kinds.is_total(cell):
        flush_cells(walk)
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
        flush_cells(walk)
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
        flush_cells(walk)
        add_cell(walk, cell, n)
        return
    if kinds.is_basis(cell) and "basis" in body[walk.pos :]:
        walk.cur_fit["basis"] = cell  # "计划标准": the basis column, though it ends like a name
        walk.cur.append((cell, n))
        walk.pos = body.index("basis", walk.pos) + 1
        return
    if kinds.is_explanation(cell):
        walk.cur_fit.setdefault("description", cell)  # "反映…情况" explains the name before it
        walk.cur.append((cell, n))
        if "description" in body[walk.pos :]:
            walk.pos = body.index("description", walk.pos) + 1
        return
    text = not is_value(cell) and not is_number(cell)
    # A name never ends a reason or a value: "库存数量真实率" after a full row starts the next row.
    named = kinds.ends_like_name(cell)
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
    if not text and is_value(cell) and not any(walk.cur_fit.get(r) for r in VALUE_ROLES):
        walk.cur_fit["annual_value"] = cell  # a header without a value column the cut could read
        walk.cur.append((cell, n))
        walk.pos = len(body)
        return
    flush_cells(walk)
    if text or kinds.soft_value(cell):
        add_cell(walk, cell, n)
    else:
        walk.skipped.append(Skipped(n, cell, NO_NAME))


def flush_cells(walk: Walk) -> None:
    if walk.cur:
        first_line = walk.cur[0][1]
        text = " ".join(c for c, _ in walk.cur)
        if walk.cur_cats == ["total"]:
            walk.skipped.append(Skipped(first_line, text, TOTAL))
        elif walk.pos < 0:
            place(walk, walk.cur_cats)
        else:
            fit = dict(walk.cur_fit)
            if not fit.get("annual_value") and fit.get("cycle_value"):
                fit["annual_value"] = fit.pop("cycle_value")
            name_line = next((ln for c, ln in walk.cur if c == fit.get("name")), first_line)
            record(walk, walk.cur_cats, fit, [c for c, _ in walk.cur], text, name_line)
    walk.cur, walk.cur_cats, walk.cur_fit, walk.pos = [], [], {}, -1
