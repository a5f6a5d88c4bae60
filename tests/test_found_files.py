"""A user's real file and its copied text give the same records (issue 12, item 5).

Each fixture of tests/fixtures/layouts is a table as it is found on a page; here the same table is
saved the way departments publish it — an Excel sheet, a CSV, a Word table, a PDF table — with one
cell per cell (merged 一级/二级 cells left empty, furniture rows, totals and all), and read back.
"""

from __future__ import annotations

import csv
from pathlib import Path

import docx
import openpyxl
import pytest

from nlp.parse import parse_file
from nlp.readers.cells import split_cells

LAYOUTS = Path(__file__).parent / "fixtures" / "layouts"
# Fixtures whose text is a table of cells (pipes, space runs, tabs); narrative and run-together pages
# have no cells to put in a sheet.
TABLES = [
    "pipe_cells",
    "merged_omitted",
    "furniture",
    "self_eval",
    "template_2021",
    "label_variants",
    "two_projects",
    "county_targets",
    "eval_index",
    "space_runs",
    "traditional",
]


def cell_rows(name: str) -> list[list[str]]:
    text = (LAYOUTS / f"{name}.txt").read_text(encoding="utf-8")
    return [split_cells(line) if line.strip() else [] for line in text.splitlines()]


def records(path: Path) -> list[tuple[str, str, str, str, str]]:
    document = parse_file(path)
    return [(i.project, i.declared_l1, i.declared_l2, i.name, i.value) for i in document.indicators]


def save_xlsx(rows: list[list[str]], path: Path) -> Path:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def save_csv(rows: list[list[str]], path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def save_docx(rows: list[list[str]], path: Path) -> Path:
    """Lines before the first row of many cells are paragraphs (titles, key rows), the rest one table."""
    document = docx.Document()
    first = next(k for k, row in enumerate(rows) if len(row) >= 3)
    for row in rows[:first]:
        document.add_paragraph(" ".join(row))
    body = [row for row in rows[first:] if row]
    width = max(len(row) for row in body)
    table = document.add_table(rows=len(body), cols=width)
    for r, row in enumerate(body):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    document.save(path)
    return path


@pytest.mark.parametrize("name", TABLES)
def test_the_same_table_as_xlsx_and_csv_reads_as_its_text(name: str, tmp_path: Path) -> None:
    expected = records(LAYOUTS / f"{name}.txt")
    assert expected, name
    rows = cell_rows(name)
    assert records(save_xlsx(rows, tmp_path / f"{name}.xlsx")) == expected
    assert records(save_csv(rows, tmp_path / f"{name}.csv")) == expected


@pytest.mark.parametrize(
    "name", ["pipe_cells", "merged_omitted", "self_eval", "template_2021", "label_variants"]
)
def test_the_same_table_as_a_word_table_reads_as_its_text(name: str, tmp_path: Path) -> None:
    expected = [record[1:] for record in records(LAYOUTS / f"{name}.txt")]
    found = [record[1:] for record in records(save_docx(cell_rows(name), tmp_path / f"{name}.docx"))]
    assert found == expected


def test_furniture_rows_of_a_sheet_never_become_indicators(tmp_path: Path) -> None:
    names = [record[3] for record in records(save_xlsx(cell_rows("furniture"), tmp_path / "f.xlsx"))]
    assert names and not any(word in "".join(names) for word in ("打印", "版权", "关闭", "合计"))


def test_a_sheet_with_a_department_column_keeps_it(tmp_path: Path) -> None:
    rows = [
        ["部门", "项目名称", "一级指标", "二级指标", "三级指标", "年度指标值"],
        ["某局", "项目甲", "产出指标", "数量指标", "培训人次", "≥100人次"],
        ["某局", "项目甲", "", "质量指标", "培训合格率", "≥95%"],
        ["某局", "项目乙", "效益指标", "社会效益指标", "就业率", "≥90%"],
    ]
    document = parse_file(save_xlsx(rows, tmp_path / "columns.xlsx"))
    assert [(p.department, p.name, len(p.indicators)) for p in document.projects] == [
        ("某局", "项目甲", 2),
        ("某局", "项目乙", 1),
    ]
