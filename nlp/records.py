"""Frozen records that flow between the stages: document -> projects -> indicators.

Every stage reads and writes these; ``INDICATOR_COLUMNS`` is the column order of ``zhibiao parse``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Indicator", "Project", "Document", "Problem", "INDICATOR_COLUMNS", "indicator_row"]

INDICATOR_COLUMNS: tuple[str, ...] = (
    "doc",
    "department",
    "project",
    "goal",
    "budget",
    "scheme",
    "declared_l1",
    "declared_l2",
    "declared_code",
    "name",
    "description",
    "cycle_value",
    "annual_value",
    "basis",
    "line",
    "actual_value",
    "weight",
    "score",
    "deviation_reason",
)


@dataclass(frozen=True)
class Indicator:
    """One 三级 indicator as the document publishes it."""

    doc: str
    department: str
    project: str
    goal: str
    budget: float | None
    scheme: str
    declared_l1: str
    declared_l2: str
    declared_code: str
    name: str
    description: str = ""
    cycle_value: str = ""
    annual_value: str = ""
    basis: str = ""
    line: int = 0
    # Self-evaluation tables (绩效自评表) also give what was achieved, the weight and the score.
    actual_value: str = ""
    weight: str = ""
    score: str = ""
    deviation_reason: str = ""

    @property
    def value(self) -> str:
        """The target value the indicator is judged by: the annual value, else the cycle value."""
        return self.annual_value or self.cycle_value

    @property
    def key(self) -> tuple[str, str, int]:
        """Stable identity inside a corpus: (doc, project, line)."""
        return (self.doc, self.project, self.line)


@dataclass(frozen=True)
class Project:
    doc: str
    department: str
    name: str
    goal: str
    budget: float | None
    scheme: str
    line: int
    indicators: tuple[Indicator, ...] = ()


@dataclass(frozen=True)
class Problem:
    """Something that was skipped or could not be read; always reported, never silently dropped."""

    path: str
    line: int
    code: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"[{self.code}] {where}: {self.message}"


@dataclass(frozen=True)
class Document:
    path: str
    layout: str
    projects: tuple[Project, ...] = ()
    problems: tuple[Problem, ...] = field(default_factory=tuple)
    #: Lines that looked like indicators but were read as something else (a total, a budget line, a
    #: heading), each with its line and the reason (code E019): shown by ``zhibiao parse --explain``.
    passed_over: tuple[Problem, ...] = ()

    @property
    def indicators(self) -> tuple[Indicator, ...]:
        return tuple(ind for project in self.projects for ind in project.indicators)


def indicator_row(indicator: Indicator) -> dict[str, Any]:
    """The indicator as a flat row in ``INDICATOR_COLUMNS`` order."""
    data = asdict(indicator)
    return {column: data[column] for column in INDICATOR_COLUMNS}
