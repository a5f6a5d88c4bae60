"""The reviewed seed gold (``corpus/gold/seed_gold.csv``) and how parsed indicators match it.

A parsed indicator matches a gold row by ``name`` plus ``declared_code`` (plus ``description`` where the
gold row has one: in the Nanpu table many indicators share a name).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nlp.records import Indicator
from nlp.taxonomy import LEAVES, PROCESS

__all__ = ["GoldRow", "load_gold", "match_gold", "gold_key", "is_misplaced", "placement_status"]


@dataclass(frozen=True)
class GoldRow:
    docs: tuple[str, ...]
    declared_l1: str
    declared_l2: str
    declared_code: str
    name: str
    description: str
    value: str
    gold_code: str
    alt_code: str
    confidence: str

    @property
    def acceptable(self) -> frozenset[str]:
        """Codes a prediction may equal to count as right (``NA`` means no alternative)."""
        return frozenset(c for c in (self.gold_code, self.alt_code) if c and c != "NA")

    @property
    def is_category(self) -> bool:
        """Whether the row is a category example (gold 11-31), not a process item."""
        return self.gold_code in LEAVES


def _norm(text: str) -> str:
    return "".join((text or "").split())


def gold_key(name: str, declared_code: str, description: str = "") -> tuple[str, str, str]:
    return (_norm(name), declared_code, _norm(description))


def load_gold(path: Path | str) -> list[GoldRow]:
    """Read the gold CSV.

    >>> rows = load_gold("corpus/gold/seed_gold.csv")  # doctest: +SKIP
    >>> rows[0].gold_code  # doctest: +SKIP
    '11'
    """
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return [
            GoldRow(
                docs=tuple(row["docs"].split()),
                declared_l1=row["declared_l1"],
                declared_l2=row["declared_l2"],
                declared_code=row["declared_code"],
                name=row["name"],
                description=row.get("description", "") or "",
                value=row.get("value", "") or "",
                gold_code=row["gold_code"],
                alt_code=(row.get("alt_code") or "").strip(),
                confidence=row.get("confidence", "") or "",
            )
            for row in csv.DictReader(handle)
        ]


def match_gold(indicators: Sequence[Indicator], gold: Iterable[GoldRow]) -> list[GoldRow | None]:
    """The gold row of each indicator, or ``None``.

    Candidates share name + declared code (+ description when the gold row has one); several gold rows
    can share those and differ only in value ("满意度" with "＞95%" and "＞96%"), so the candidate whose
    value is closest to the parsed one wins. Identical gold rows (the same indicator in several
    projects) are handed out one per indicator, in document order, before any is reused.
    """
    used: set[int] = set()
    candidates: dict[tuple[str, str, str], list[GoldRow]] = {}
    for row in gold:
        candidates.setdefault(gold_key(row.name, row.declared_code, row.description), []).append(row)
    matched: list[GoldRow | None] = []
    for ind in indicators:
        key = gold_key(ind.name, ind.declared_code, ind.description)
        rows = candidates.get(key) or candidates.get((key[0], key[1], ""))
        if not rows:
            rows = next((r for k, r in candidates.items() if k[:2] == key[:2]), None)
        # A gold row names the documents it was read from (seed prefixes "000", wild ids "w1001"): it
        # never labels the same text in another document, whose reviewers may have judged it otherwise.
        rows = [r for r in rows or () if not r.docs or any(ind.doc.startswith(d) for d in r.docs)]
        if not rows:
            matched.append(None)
            continue
        values = {_norm(ind.annual_value), _norm(ind.cycle_value)} - {""}
        best = max(rows, key=lambda r: (_value_similarity(_norm(r.value), values), id(r) not in used))
        used.add(id(best))
        matched.append(best)
    return matched


def _value_similarity(gold_value: str, values: set[str]) -> float:
    from difflib import SequenceMatcher

    if not values:
        return 0.0
    if gold_value in values:
        return 2.0
    return max(SequenceMatcher(None, gold_value, v).ratio() for v in values)


def placement_status(declared: str, row: GoldRow) -> str:
    """``misplaced`` / ``fine`` / ``ambiguous`` for a declared code against a gold row.

    Misplaced when the declared code is neither gold nor alt (``PR`` never equals a declared code),
    fine when it equals gold, ambiguous when it equals only alt.
    """
    if declared == row.gold_code and row.gold_code != PROCESS:
        return "fine"
    if row.alt_code and declared == row.alt_code:
        return "ambiguous"
    return "misplaced"


def is_misplaced(declared: str, row: GoldRow) -> bool:
    return placement_status(declared, row) == "misplaced"
