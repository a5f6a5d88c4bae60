"""nlp.tabular: every table zhibiao writes keeps formula-like text as text."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from openpyxl import load_workbook
from storekit import fake_audit, fake_classify

from nlp.cluster import Cluster, Member
from nlp.records import Indicator
from nlp.report import audit_rows, write_audit, write_clusters
from nlp.run_report import write_clusters_book, write_tables
from nlp.tabular import SheetBook, csv_bytes, safe_csv, write_indicators, write_rows, xlsx_bytes

FORMULAS = ("=1+1", "+SUM(A1)", "@x", "-2+3")

BASE = Indicator(
    doc="d.txt", department="某局", project="某项目", goal="", budget=None, scheme="classic",
    declared_l1="产出指标", declared_l2="数量指标", declared_code="11", name="x", annual_value="100%",
)  # fmt: skip


def indicators() -> list[Indicator]:
    return [replace(BASE, name=text, annual_value=text, line=i + 1) for i, text in enumerate(FORMULAS)]


def cluster() -> Cluster:
    members = tuple(Member("d.txt", "某局", text, i, text, 1.0, "") for i, text in enumerate(FORMULAS))
    return Cluster("indicators-1", "indicators", len(members), members, ("某局",), FORMULAS[0], 1.0)


def xlsx_texts(path: Path | bytes) -> set[str]:
    import io

    book = load_workbook(io.BytesIO(path) if isinstance(path, bytes) else path)
    found = set()
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value in FORMULAS:
                    assert cell.data_type == "s", f"{sheet.title}!{cell.coordinate} is a formula"
                    found.add(cell.value)
    return found


def csv_texts(data: bytes) -> set[str]:
    cells = {cell for row in csv.reader(data.decode("utf-8-sig").splitlines()) for cell in row}
    assert not cells & set(FORMULAS), "a formula-like cell was written bare"
    return {cell[1:] for cell in cells if cell[:1] == "'" and cell[1:] in FORMULAS}


def _annotated() -> tuple[list[Indicator], list, list]:
    items = indicators()
    predictions = fake_classify(None, items)
    return items, predictions, fake_audit(items, predictions, bundle=None)


WRITERS: list[tuple[str, Callable[[Path], Path]]] = [
    ("write_indicators csv", lambda d: (write_indicators(indicators(), d / "a.csv"), d / "a.csv")[1]),
    ("write_indicators xlsx", lambda d: (write_indicators(indicators(), d / "a.xlsx"), d / "a.xlsx")[1]),
    (
        "write_rows csv",
        lambda d: (write_rows([{"v": t} for t in FORMULAS], ["v"], d / "r.csv"), d / "r.csv")[1],
    ),
    (
        "write_rows xlsx",
        lambda d: (write_rows([{"v": t} for t in FORMULAS], ["v"], d / "r.xlsx"), d / "r.xlsx")[1],
    ),
    ("clusters csv", lambda d: write_clusters([cluster()], d / "c.csv")),
    ("clusters xlsx", lambda d: write_clusters([cluster()], d / "c.xlsx")),
    ("run clusters book", lambda d: write_clusters_book({"indicators": [cluster()]}, d / "clusters.xlsx")),
    (
        "audit csv",
        lambda d: (write_audit(audit_rows(*_annotated()), d / "f.csv", threshold=0.5), d / "f.csv")[1],
    ),
    (
        "audit xlsx",
        lambda d: (write_audit(audit_rows(*_annotated()), d / "f.xlsx", threshold=0.5), d / "f.xlsx")[1],
    ),
]


@pytest.mark.parametrize("writer", [w for _, w in WRITERS], ids=[n for n, _ in WRITERS])
def test_every_writer_keeps_formula_like_text_as_text(writer: Callable[[Path], Path], tmp_path: Path) -> None:
    path = writer(tmp_path)
    found = xlsx_texts(path) if path.suffix == ".xlsx" else csv_texts(path.read_bytes())
    assert found == set(FORMULAS)


def test_the_run_tables_keep_formula_like_text_as_text(tmp_path: Path) -> None:
    items, predictions, verdicts = _annotated()
    write_tables(
        items, predictions, verdicts, indicators_csv=tmp_path / "i.csv", flags_xlsx=tmp_path / "f.xlsx"
    )
    assert csv_texts((tmp_path / "i.csv").read_bytes()) == set(FORMULAS)
    assert xlsx_texts(tmp_path / "f.xlsx") == set(FORMULAS)


def test_download_bytes_keep_formula_like_text_as_text() -> None:
    rows = [{"v": text} for text in FORMULAS]
    assert csv_texts(csv_bytes(rows, ["v"])) == set(FORMULAS)
    assert xlsx_texts(xlsx_bytes([("decisions", ["v"], rows)])) == set(FORMULAS)


def test_csv_written_by_us_reads_back_exactly(tmp_path: Path) -> None:
    from nlp.parse import read_indicator_table

    write_indicators(indicators(), tmp_path / "a.csv")
    assert [i.name for i in read_indicator_table(tmp_path / "a.csv").indicators] == list(FORMULAS)


@pytest.mark.parametrize("text", ["-5", "-5%", "≥95%", "100%", "—"])
def test_numbers_and_ordinary_values_are_not_escaped(text: str) -> None:
    assert safe_csv(text) == text


def test_sheet_cells_lose_characters_xml_cannot_hold(tmp_path: Path) -> None:
    book = SheetBook()
    sheet = book.sheet("t", ["a", "b"], n_rows=1)
    book.append(sheet, ["资金\x0c到位率", 3])
    book.save(tmp_path / "t.xlsx")
    assert list(load_workbook(tmp_path / "t.xlsx")["t"].values)[1] == ("资金到位率", 3)
