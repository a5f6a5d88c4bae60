"""nlp.readers.office and nlp.readers.sheets: published PDF, Word and Excel files read into the same records as the text seeds.

The files are built here, under tmp_path, by tests/fixtures/formats/render.py: from synthetic records
for the extraction layer, and from the parsed records of the seeds for the round trips
(records -> published-style file -> read back -> same records).
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

from nlp.errors import InputError
from nlp.readers import office, sheets
from nlp.readers.blocks import Block, Table, blocks_text, filled_rows, unwrap
from nlp.records import Document, Indicator, Project

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "formats"


def _load_render():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("formats_render", FIXTURES / "render.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


render = _load_render()

DEPARTMENT = "广州市番禺区社会保险基金管理办公室"
SLOTS = [
    ("产出指标", "数量指标"),
    ("产出指标", "质量指标"),
    ("效益指标", "社会效益指标"),
    ("满意度指标", "服务对象满意度指标"),
]


def _synthetic(projects: int = 10) -> Document:
    """Projects of 4-22 indicators: enough for a table of several pages with rows cut by page breaks."""
    built = []
    for p in range(projects):
        name = f"退休人员过渡性医疗金项目{p}"
        goal = "根据《广州市社会医疗保险办法》规定，社会申办退休人员缴纳职工社会医疗保险费享受政府资助。" * (
            1 + p % 3
        )
        indicators = tuple(
            Indicator(
                doc="synthetic",
                department=DEPARTMENT,
                project=name,
                goal=goal,
                budget=56.12 * (p + 1),
                scheme="classic",
                declared_l1=SLOTS[min(k // 5, 3)][0],
                declared_l2=SLOTS[min(k // 5, 3)][1],
                declared_code="",
                name=f"符合政府资助条件的社申人员参保率{p}-{k}",
                cycle_value="≥95%",
                annual_value="100%" if k % 2 else "约40人/年",
            )
            for k in range(4 + 6 * (p % 4))
        )
        built.append(
            Project(
                doc="synthetic",
                department=DEPARTMENT,
                name=name,
                goal=goal,
                budget=56.12 * (p + 1),
                scheme="classic",
                line=p + 1,
                indicators=indicators,
            )
        )
    return Document(path="synthetic", layout="synthetic", projects=tuple(built))


@pytest.fixture(scope="module")
def synthetic() -> Document:
    return _synthetic()


@pytest.fixture(scope="module")
def coded_blocks(made: dict[str, Path]) -> list[Block]:
    blocks, scanned = office.pdf_blocks(made["coded.pdf"])
    assert scanned == []
    return blocks


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, synthetic: Document) -> dict[str, Path]:
    """The synthetic records rendered once as every kind of file the extraction tests read."""
    folder = tmp_path_factory.mktemp("made")
    paths = {
        name: folder / name for name in ("coded.pdf", "text.pdf", "forms.docx", "grid.docx", "grid.xlsx")
    }
    render.pdf_coded_table(synthetic, paths["coded.pdf"])
    render.pdf_text_lines("部门名称：某局\n项目名称 总计\n社保经费 56.12", paths["text.pdf"])
    render.docx_project_forms(synthetic, paths["forms.docx"])
    render.docx_grid(synthetic, paths["grid.docx"])
    render.xlsx_grid(synthetic, paths["grid.xlsx"], projects_per_sheet=4)
    return paths


# ---------------------------------------------------------------------------------------- cell text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("社会申办退休人员缴纳职工社会医疗\n保险费", "社会申办退休人员缴纳职工社会医疗保险费"),
        ("≥\n95%", "≥95%"),
        ("3,98\n5.50", "3,985.50"),
        ("Social\nsecurity", "Social security"),
        ("财政专户\n\n拨款\n", "财政专户拨款"),
        ("", ""),
    ],
    ids=["chinese", "symbol-number", "digits", "latin-words", "blank-lines", "empty"],
)
def test_unwrap_joins_chinese_without_space_and_latin_words_with_one(text: str, expected: str) -> None:
    assert unwrap(text) == expected


@pytest.mark.parametrize(
    ("value", "number_format", "expected"),
    [
        (1, "0%", "100%"),
        (0.955, "0.0%", "95.5%"),
        (800, "0.00", "800.00"),
        (3650.68, "General", "3650.68"),
        (64539.0, "General", "64539"),
        (None, "General", ""),
        ("  ≥90% ", "General", "≥90%"),
    ],
    ids=[
        "percent",
        "percent-decimal",
        "fixed-decimals",
        "general-float",
        "general-integral",
        "empty",
        "text",
    ],
)
def test_workbook_cells_read_as_excel_displays_them(value: object, number_format: str, expected: str) -> None:
    assert sheets.cell_text(value, number_format) == expected


def test_filled_rows_fill_each_merged_range_with_its_top_left_text() -> None:
    table = Table(
        rows=(("项目名称", "社保", ""), ("产出指标", "数量指标", "人数"), ("", "质量指标", "合格率")),
        spans=((0, 1, 0, 2), (1, 0, 2, 0)),
    )
    assert filled_rows(table) == [
        ["项目名称", "社保", "社保"],
        ["产出指标", "数量指标", "人数"],
        ["产出指标", "质量指标", "合格率"],
    ]


def test_blocks_text_writes_a_merged_cell_once_in_word_style_and_in_place_as_tabs() -> None:
    table = Table(
        rows=(("绩效目标", "保障待遇", ""), ("产出指标", "数量指标", "人数")), spans=((0, 1, 0, 2),)
    )
    blocks = [Block(text="单位：万元"), Block(table=table)]
    assert blocks_text(blocks, style="cells") == (
        "单位：万元\n\t绩效目标\n\t保障待遇\n\n\t产出指标\n\t数量指标\n\t人数\n\n"
    )
    assert blocks_text(blocks, style="tabs") == "单位：万元\n绩效目标\t保障待遇\t\n产出指标\t数量指标\t人数\n"


# ----------------------------------------------------------------------------------------------- PDF


def test_pdf_table_across_pages_reads_as_one_table_with_its_header_once(
    coded_blocks: list[Block], synthetic: Document, tmp_path: Path
) -> None:
    stats = render.pdf_coded_table(synthetic, tmp_path / "again.pdf")
    assert stats.pages > 1 and stats.cut_rows >= 1  # the fixture really has the quirks under test

    tables = [b.table for b in coded_blocks if b.table is not None]
    assert len(tables) == 1
    assert tables[0].where == f"pages 1-{stats.pages}"
    rows = tables[0].rows
    assert [unwrap(cell) for cell in rows[0]] == list(render.HEADER)
    assert sum(unwrap(row[0]) == render.HEADER[0] for row in rows) == 1
    assert [unwrap(row[0]) for row in rows[3:]] == [p.name for p in synthetic.projects]


def test_pdf_row_cut_by_a_page_break_is_joined_again(coded_blocks: list[Block], synthetic: Document) -> None:
    table = next(b.table for b in coded_blocks if b.table is not None)

    for row, project in zip(table.rows[3:], synthetic.projects, strict=True):
        assert unwrap(row[5]) == project.goal
        assert unwrap(row[6]) == render.coded_list(project.indicators)


def test_pdf_text_around_the_table_is_kept_and_page_numbers_are_not(coded_blocks: list[Block]) -> None:
    lines = [b.text for b in coded_blocks if b.table is None]
    assert lines[0] == "项目支出绩效目标表（含转移支付项目）"
    assert lines[1].startswith(f"部门名称：{DEPARTMENT}") and lines[1].endswith("单位：万元")
    assert not any(line.startswith("- ") for line in lines)


def test_pdf_without_ruled_table_reads_as_lines_of_text(made: dict[str, Path]) -> None:
    blocks, _ = office.pdf_blocks(made["text.pdf"])
    assert [b.text for b in blocks] == ["部门名称：某局", "项目名称 总计", "社保经费 56.12"]


@pytest.mark.parametrize(
    ("build", "code", "message"),
    [
        (lambda p, src: render.pdf_image_only(p, pages=2), "E050", "no text layer (2 page(s) of images only"),
        (lambda p, src: render.pdf_encrypted(src, p), "E051", "the PDF is password-protected"),
        (lambda p, src: render.corrupt(p), "E052", "could not be read as a PDF file"),
    ],
    ids=["scanned", "encrypted", "corrupt"],
)
def test_unreadable_pdf_raises_a_coded_error_naming_the_file(
    build, code: str, message: str, made: dict[str, Path], tmp_path: Path
) -> None:
    path = tmp_path / "报表.pdf"
    build(path, made["coded.pdf"])
    with pytest.raises(InputError) as caught:
        office.pdf_blocks(path)
    assert caught.value.code == code
    assert str(caught.value).startswith(f"[{code}] {path}: {message}")


def test_pdf_encrypted_without_a_user_password_still_reads(made: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "owner-only.pdf"
    render.pdf_encrypted(made["coded.pdf"], path, password="")
    blocks, _ = office.pdf_blocks(path)
    assert any(b.table is not None for b in blocks)


def test_pdf_scanned_page_among_text_pages_is_listed(made: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "annex.pdf"
    render.pdf_with_scanned_page(made["text.pdf"], path)
    blocks, scanned = office.pdf_blocks(path)
    assert scanned == [2] and blocks[0].text == "部门名称：某局"


# ---------------------------------------------------------------------------------------------- DOCX


def test_docx_merged_cells_come_back_once_with_their_ranges(
    made: dict[str, Path], synthetic: Document
) -> None:
    blocks = office.docx_blocks(made["grid.docx"])

    table = blocks[1].table
    assert blocks[0].text == "项目绩效目标表" and table is not None
    project = synthetic.projects[0]
    assert table.rows[0] == ("项目名称", project.name, "", "", "", "")
    assert (0, 1, 0, 5) in table.spans  # name merged across
    assert table.rows[7] == ("绩效指标", *render.GRID_HEADER)
    first = 8  # 一级 merged down its run: text in the first row, then blank
    runs = render.runs([i.declared_l1 for i in project.indicators])
    for a, b in runs:
        assert table.rows[first + a][1] == project.indicators[a].declared_l1
        assert all(table.rows[first + r][1] == "" for r in range(a + 1, b + 1))
        assert b == a or (first + a, 1, first + b, 1) in table.spans
    assert [row[3] for row in table.rows[first:]] == [i.name for i in project.indicators]


def test_docx_paragraphs_between_tables_keep_their_order(made: dict[str, Path], synthetic: Document) -> None:
    blocks = office.docx_blocks(made["forms.docx"])
    titles = [b.text for b in blocks if b.table is None]
    assert titles == [f"{n}、{p.name}绩效目标表" for n, p in enumerate(synthetic.projects, 1)]
    kinds = ["table" if b.table is not None else "text" for b in blocks]
    assert kinds == ["text", "table"] * len(synthetic.projects)


def test_docx_form_exports_like_word_one_cell_per_line(made: dict[str, Path], synthetic: Document) -> None:
    blocks = office.docx_blocks(made["forms.docx"])
    text = blocks_text(blocks[:2], style="cells")
    project = synthetic.projects[0]
    assert text.startswith(f"1、{project.name}绩效目标表\n\t{DEPARTMENT}\n\t单位：万元\n\n")
    assert f"\t项目名称\n\t{project.name}\n\n" in text  # merged across: written once
    first = project.indicators[0]
    assert f"\t{first.declared_l1}\n\t{first.declared_l2}\n\t{first.name}\n" in text
    assert f"\t\n\t\n\t{project.indicators[1].name}\n" in text  # merged down: blank below


def test_docx_table_inside_a_content_control_is_read(made: dict[str, Path], tmp_path: Path) -> None:
    import docx
    from docx.oxml import OxmlElement

    word = docx.Document(str(made["grid.docx"]))
    table = word.tables[0]._tbl
    sdt, content = OxmlElement("w:sdt"), OxmlElement("w:sdtContent")
    table.addprevious(sdt)
    sdt.append(content)
    content.append(table)  # moves the table into the content control
    word.save(str(tmp_path / "controls.docx"))

    before = office.docx_blocks(made["grid.docx"])
    after = office.docx_blocks(tmp_path / "controls.docx")

    assert [b.table.rows if b.table else b.text for b in after] == [
        b.table.rows if b.table else b.text for b in before
    ]


def test_corrupt_docx_raises_a_coded_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "坏文件.docx"
    render.corrupt(path)
    with pytest.raises(
        InputError, match=r"\[E052\] .*坏文件\.docx: could not be read as a Word \(\.docx\) file"
    ):
        office.docx_blocks(path)


# ----------------------------------------------------------------------------------------- workbooks


def test_workbook_sheets_read_with_merges_and_percent_cells(
    made: dict[str, Path], synthetic: Document
) -> None:
    tables = sheets.workbook_tables(made["grid.xlsx"])

    assert [t.where for t in tables] == ["sheet '项目1'", "sheet '项目2'", "sheet '项目3'"]
    rows = filled_rows(tables[0])
    assert rows[0] == ["项目绩效目标表"] * 6  # the title merged across
    names = [row[1] for row in rows if row[0] == "项目名称"]
    assert names == [p.name for p in synthetic.projects[:4]]
    indicator_rows = [row for row in rows if row[0] == "绩效指标" and row[1] != "一级指标"]
    first = synthetic.projects[0].indicators
    assert [row[1:] for row in indicator_rows[: len(first)]] == [
        [i.declared_l1, i.declared_l2, i.name, i.cycle_value, i.annual_value] for i in first
    ]


def test_old_xls_workbook_reads_with_its_merges(tmp_path: Path) -> None:
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    sheet = book.add_sheet("指标")
    sheet.write_merge(0, 1, 0, 0, "产出指标")
    sheet.write(0, 1, "资助人数")
    sheet.write(0, 2, 1, xlwt.easyxf(num_format_str="0%"))
    sheet.write(1, 1, "资助到账率")
    sheet.write(1, 2, 800, xlwt.easyxf(num_format_str="0.00"))
    book.save(str(tmp_path / "old.xls"))

    (table,) = sheets.workbook_tables(tmp_path / "old.xls")

    assert filled_rows(table) == [["产出指标", "资助人数", "100%"], ["产出指标", "资助到账率", "800.00"]]


def test_corrupt_workbook_raises_a_coded_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "坏表.xlsx"
    render.corrupt(path)
    with pytest.raises(
        InputError, match=r"\[E052\] .*坏表\.xlsx: could not be read as an Excel \(\.xlsx\) workbook"
    ):
        sheets.workbook_tables(path)


# ------------------------------------------------------------------------ round trips of the seeds

SEED_COUNTS = {"000": (34, 6), "001": (162, 18), "002": (50, 3), "003": (54, 9), "004": (399, 69)}


def _indicator_key(ind: Indicator) -> tuple[str, ...]:
    return (ind.name, ind.declared_code, ind.cycle_value, ind.annual_value, ind.description, ind.basis)


def _project_key(project: Project) -> tuple[object, ...]:
    return (project.name, project.budget, project.goal, project.department, len(project.indicators))


@pytest.fixture(scope="module")
def seeds(seed_paths: dict[str, Path]) -> dict[str, Document]:
    from nlp.parse import parse_file

    return {key: parse_file(path) for key, path in seed_paths.items()}


def _pdf_table(font_size: float):  # type: ignore[no-untyped-def]
    def build(document: Document, path: Path) -> int:
        return int(render.pdf_coded_table(document, path, font_size=font_size).pages)

    return build


def _pdf_text(document: Document, path: Path) -> int:
    return int(render.pdf_text_lines(Path(document.path).read_text(encoding="utf-8"), path))


def _one_page(build):  # type: ignore[no-untyped-def]
    def wrapped(document: Document, path: Path) -> int:
        build(document, path)
        return 1

    return wrapped


ROUND_TRIPS = [
    # seed, suffix, renderer returning its page count, least pages
    pytest.param("000", ".pdf", _pdf_table(10), 2, id="000-pdf-table-across-pages"),
    pytest.param("003", ".pdf", _pdf_table(10), 2, id="003-pdf-table-across-pages"),
    pytest.param("004", ".pdf", _pdf_table(7), 2, id="004-pdf-table-across-pages"),
    pytest.param("003", ".pdf", _pdf_text, 2, id="003-pdf-text-only"),
    pytest.param("001", ".docx", _one_page(render.docx_project_forms), 1, id="001-docx-forms"),
    pytest.param("002", ".xlsx", _one_page(render.xlsx_grid), 1, id="002-xlsx-merged-grid"),
    pytest.param("002", ".xls", _one_page(render.xls_grid), 1, id="002-xls-merged-grid"),
    pytest.param("002", ".docx", _one_page(render.docx_grid), 1, id="002-docx-merged-grid"),
    pytest.param("000", ".docx", _one_page(render.docx_coded_table), 1, id="000-docx-coded-table"),
]


@pytest.mark.parametrize(("seed", "counts"), sorted(SEED_COUNTS.items()), ids=sorted(SEED_COUNTS))
def test_seed_text_parses_to_its_published_counts(
    seeds: dict[str, Document], seed: str, counts: tuple
) -> None:
    assert (len(seeds[seed].indicators), len(seeds[seed].projects)) == counts


@pytest.mark.parametrize(("seed", "suffix", "build", "pages"), ROUND_TRIPS)
def test_published_file_reads_back_to_the_records_of_its_seed_text(
    seeds: dict[str, Document], tmp_path: Path, seed: str, suffix: str, build, pages: int
) -> None:
    from nlp.parse import parse_file

    path = tmp_path / f"{seed}{suffix}"
    assert build(seeds[seed], path) >= pages

    document = parse_file(path)

    assert document.problems == ()
    assert [_indicator_key(i) for i in document.indicators] == [
        _indicator_key(i) for i in seeds[seed].indicators
    ]
    assert [_project_key(p) for p in document.projects] == [_project_key(p) for p in seeds[seed].projects]
    assert (len(document.indicators), len(document.projects)) == SEED_COUNTS[seed]


def test_read_workbook_reads_a_merged_grid_workbook_itself(
    seeds: dict[str, Document], tmp_path: Path
) -> None:
    path = tmp_path / "002.xlsx"
    render.xlsx_grid(seeds["002"], path)

    document = sheets.read_workbook(path)

    assert document.problems == () and document.layout == "grid"
    assert [_indicator_key(i) for i in document.indicators] == [
        _indicator_key(i) for i in seeds["002"].indicators
    ]
    assert [_project_key(p) for p in document.projects] == [_project_key(p) for p in seeds["002"].projects]


def test_read_workbook_passes_over_a_sheet_without_indicators(
    seeds: dict[str, Document], tmp_path: Path
) -> None:
    import openpyxl

    path = tmp_path / "with-cover.xlsx"
    render.xlsx_grid(seeds["002"], path)
    book = openpyxl.load_workbook(path)
    book.create_sheet("封面", 0).append(["东莞市长安社会保险基金管理中心2024年项目绩效目标"])
    book.save(path)

    document = sheets.read_workbook(path)

    assert document.problems == ()
    assert len(document.indicators) == SEED_COUNTS["002"][0]


# ------------------------------------------------------------------------- problems and batches


def _bad_files(folder: Path, source_pdf: Path) -> dict[str, tuple[str, str]]:
    """Unreadable files of every kind; file name -> (code, part of the message)."""
    render.pdf_image_only(folder / "扫描件.pdf")
    render.pdf_encrypted(source_pdf, folder / "加密.pdf")
    render.corrupt(folder / "损坏.docx")
    (folder / "旧格式.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    render.xlsx_without_indicators(folder / "收支总表.xlsx")
    return {
        "扫描件.pdf": ("E050", "no text layer (1 page(s) of images only: a scan?). OCR is not supported"),
        "加密.pdf": ("E051", "the PDF is password-protected"),
        "损坏.docx": ("E052", "could not be read as a Word (.docx) file"),
        "旧格式.doc": ("E053", "old binary Word files (.doc) cannot be read"),
        "收支总表.xlsx": ("E056", "no indicator table in any sheet ('收支总表')"),
    }


@pytest.fixture(scope="module")
def coded_pdf(tmp_path_factory: pytest.TempPathFactory, seeds: dict[str, Document]) -> Path:
    path = tmp_path_factory.mktemp("coded") / "000.pdf"
    render.pdf_coded_table(seeds["000"], path, font_size=10)
    return path


def test_each_unreadable_file_becomes_one_clear_problem_naming_it(coded_pdf: Path, tmp_path: Path) -> None:
    from nlp.parse import parse_file

    expected = _bad_files(tmp_path, coded_pdf)
    for name, (code, message) in expected.items():
        document = parse_file(tmp_path / name)
        assert document.indicators == ()
        assert [p.code for p in document.problems] == [code], name
        assert str(document.problems[0]).startswith(f"[{code}] {tmp_path / name}: {message}")


def test_pdf_with_a_scanned_page_reads_the_rest_and_reports_the_page(
    coded_pdf: Path, seeds: dict[str, Document], tmp_path: Path
) -> None:
    path = tmp_path / "with-annex.pdf"
    render.pdf_with_scanned_page(coded_pdf, path)
    pages = render.pdf_coded_table(seeds["000"], tmp_path / "count.pdf", font_size=10).pages

    document = office.read_document(path)

    assert len(document.indicators) == SEED_COUNTS["000"][0]
    assert [str(p) for p in document.problems] == [
        f"[E054] {path}: page(s) {pages + 1} have no text layer (scanned images?) and were skipped; the "
        "other pages were read. Check those pages against the original."
    ]


def test_batch_with_unreadable_files_goes_on_with_the_good_ones(
    coded_pdf: Path, seeds: dict[str, Document], tmp_path: Path
) -> None:
    from nlp.parse import parse_paths

    expected = _bad_files(tmp_path, coded_pdf)
    shutil.copy(coded_pdf, tmp_path / "000.pdf")
    render.xlsx_grid(seeds["002"], tmp_path / "002.xlsx")

    documents = {Path(d.path).name: d for d in parse_paths([tmp_path])}

    assert set(documents) == {*expected, "000.pdf", "002.xlsx"}
    assert {name: [p.code for p in documents[name].problems] for name in expected} == {
        name: [code] for name, (code, _) in expected.items()
    }
    assert len(documents["000.pdf"].indicators) == SEED_COUNTS["000"][0]
    assert len(documents["002.xlsx"].indicators) == SEED_COUNTS["002"][0]


def test_zhibiao_parse_reads_a_mixed_folder_in_one_command(
    coded_pdf: Path, seeds: dict[str, Document], seed_paths: dict[str, Path], tmp_path: Path, capsys
) -> None:
    import csv

    from nlp.cli import main

    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(seed_paths["003"], folder / "003.txt")
    shutil.copy(coded_pdf, folder / "000.pdf")
    render.docx_project_forms(seeds["001"], folder / "001.docx")
    render.xlsx_grid(seeds["002"], folder / "002.xlsx")
    with (folder / "002.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(row for p in seeds["002"].projects for row in render.grid_rows(p))
    out = tmp_path / "indicators.csv"

    code = main(["parse", str(folder), "--out", str(out)])

    printed = capsys.readouterr()
    expected = {"003.txt": 54, "000.pdf": 34, "001.docx": 162, "002.xlsx": 50, "002.csv": 50}
    assert code == 0 and printed.err == ""
    for name, count in expected.items():
        assert any(
            line.startswith(name) and line.split()[-2] == str(count) for line in printed.out.splitlines()
        )
    with out.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == sum(expected.values())
    assert {Path(row["doc"]).suffix for row in rows} >= {".txt", ".pdf", ".docx", ".xlsx", ".csv"}
