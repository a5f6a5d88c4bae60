"""Limits before work: hostile files are refused from what they say about themselves, before any reader
loads them, each with its own code naming the file and what to do; the batch around them goes on.

The files are built for real here (a .docx expanding to 300 MB, a workbook declaring 17 billion cells, a
PDF declaring 100,000 pages …). Time and memory per refusal are measured by bench/bench_hostile.py.
"""

from __future__ import annotations

import shutil
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from nlp import parse as parse_module
from nlp.errors import InputError
from nlp.limits import Limits, check_archive
from nlp.parse import parse_file, parse_paths

TABLE = [
    ["一级指标", "二级指标", "三级指标", "指标值"],
    ["产出指标", "数量指标", "培训人数", "≥100人"],
    ["产出指标", "质量指标", "培训合格率", "≥95%"],
    ["效益指标", "社会效益指标", "群众知晓率", "≥90%"],
    ["满意度指标", "服务对象满意度指标", "学员满意度", "≥90%"],
]


def only_problem(path: Path) -> tuple[str, str]:
    document = parse_file(path)
    assert document.layout == "error" and not document.indicators
    assert len(document.problems) == 1
    return document.problems[0].code, str(document.problems[0])


def zip_with(path: Path, members: dict[str, bytes | int]) -> Path:
    """A zip whose members are given bytes, or (an int) that many zero bytes written in 1 MB chunks."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            if isinstance(content, bytes):
                archive.writestr(name, content)
                continue
            with archive.open(name, "w") as handle:
                chunk = b"\0" * 2**20
                for _ in range(content // 2**20):
                    handle.write(chunk)
    return path


def good_xlsx(path: Path, rows: list[list[str]] = TABLE) -> Path:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


# ------------------------------------------------------------------------------------------ archives


def test_a_docx_that_expands_to_300_mb_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    bomb = zip_with(
        tmp_path / "bomb.docx", {"[Content_Types].xml": b"<Types/>", "word/document.xml": 300 * 2**20}
    )
    assert bomb.stat().st_size < 2 * 2**20
    code, message = only_problem(bomb)
    assert code == "E057"
    assert "bomb.docx" in message and "expands to is 300 MB" in message and "limit is 200 MB" in message
    assert "ZHIBIAO_MAX_EXPAND_MB" in message  # says how to go past it on purpose


def test_a_high_compression_ratio_is_refused_even_under_the_size_limit(tmp_path: Path) -> None:
    bomb = zip_with(
        tmp_path / "ratio.xlsx", {"xl/workbook.xml": b"<workbook/>", "xl/media/pad.bin": 15 * 2**20}
    )
    code, message = only_problem(bomb)
    assert code == "E057" and "compression ratio" in message and "decompression bomb" in message


def test_an_archive_of_too_many_parts_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHIBIAO_MAX_MEMBERS", "50")
    many = zip_with(tmp_path / "many.docx", {f"word/part{i}.xml": b"<p/>" for i in range(51)})
    code, message = only_problem(many)
    assert code == "E057" and "number of parts is 51" in message and "limit is 50" in message


def test_a_worksheet_declaring_a_billion_cells_is_refused(tmp_path: Path) -> None:
    plain = good_xlsx(tmp_path / "plain.xlsx")
    crafted = tmp_path / "declared.xlsx"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(crafted, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<dimension ref="A1:D5"/>', b'<dimension ref="A1:XFD1048576"/>')
                assert b"XFD1048576" in data
            target.writestr(item, data)
    code, message = only_problem(crafted)
    assert code == "E057" and "1,048,576 rows × 16,384 columns" in message
    assert len(parse_file(plain).indicators) == 4  # the same workbook, honest, reads


def test_an_oversized_worksheet_is_refused_and_the_limit_can_be_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = TABLE + [["产出指标", "数量指标", f"补贴对象{i}", f"{i}人"] for i in range(30_000)]
    big = good_xlsx(tmp_path / "big.xlsx", rows)
    monkeypatch.setenv("ZHIBIAO_MAX_PART_MB", "1")
    code, message = only_problem(big)
    assert code == "E057" and "xl/worksheets/sheet1.xml" in message and "ZHIBIAO_MAX_PART_MB" in message
    monkeypatch.setenv("ZHIBIAO_MAX_PART_MB", "50")
    assert len(parse_file(big).indicators) == 30_004


def test_check_archive_leaves_a_file_that_is_no_zip_to_its_reader(tmp_path: Path) -> None:
    fake = tmp_path / "renamed.xlsx"
    fake.write_text("一级指标,二级指标\n", encoding="utf-8")
    check_archive(fake, Limits())  # no error of its own: the reader says E052 in its words
    assert only_problem(fake)[0] == "E052"


# ------------------------------------------------------------------------------------ PDF, text, CSV


def minimal_pdf(declared_pages: int) -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count %d >>" % declared_pages,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def test_a_pdf_declaring_100000_pages_is_refused_before_a_page_is_read(tmp_path: Path) -> None:
    path = tmp_path / "pages.pdf"
    path.write_bytes(minimal_pdf(100_000))
    code, message = only_problem(path)
    assert code == "E057" and "number of pages is 100,000" in message and "limit is 2,000" in message
    path.write_bytes(minimal_pdf(1))
    assert only_problem(path)[0] != "E057"


def test_a_text_file_with_a_line_of_megabytes_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("一级指标\t二级指标\t三级指标\n" + "x" * 3_000_000 + "\n", encoding="utf-8")
    document = parse_file(path)
    assert [(p.code, p.line) for p in document.problems] == [("E059", 2)]
    assert "3,000,000 characters" in str(document.problems[0]) and "long.txt:2" in str(document.problems[0])


def test_a_csv_field_of_megabytes_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "field.csv"
    huge = '"' + "y" * 1_500_000 + '"'
    path.write_text(
        "一级指标,二级指标,三级指标,指标值\n产出指标,数量指标,人数,1\n产出指标,数量指标," + huge + ",1\n"
    )
    document = parse_file(path)
    assert [(p.code, p.line) for p in document.problems] == [("E059", 3)]


def test_a_file_too_large_for_any_table_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHIBIAO_MAX_FILE_MB", "0.5")
    path = tmp_path / "big.txt"
    path.write_text(
        "一级指标\t二级指标\t三级指标\n" + "产出指标\t数量指标\t人数\n" * 40_000, encoding="utf-8"
    )
    code, message = only_problem(path)
    assert code == "E057" and "file size" in message


def test_a_limit_set_to_something_that_is_no_number_says_which(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHIBIAO_MAX_PDF_PAGES", "many")
    with pytest.raises(InputError, match="ZHIBIAO_MAX_PDF_PAGES"):
        Limits.from_env()


# ------------------------------------------------------------------------------------- time budget


def test_a_reader_that_runs_past_the_budget_is_stopped_with_E058(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "slow.txt"
    path.write_text("一级指标\t二级指标\t三级指标\n产出指标\t数量指标\t人数\n", encoding="utf-8")

    def stuck(text: str, *, path: str) -> None:
        while True:  # a reader caught in a loop (pure Python, as our readers are)
            time.sleep(0.01)

    monkeypatch.setattr(parse_module, "parse_text", stuck)
    monkeypatch.setenv("ZHIBIAO_FILE_SECONDS", "0.3")
    code, message = only_problem(path)
    assert code == "E058" and "0.3 s" in message and "--file-timeout" in message


# ---------------------------------------------------------------------------------------- the batch


def test_one_bomb_among_50_good_files_costs_only_itself(tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    first = good_xlsx(folder / "good-00.xlsx")
    for i in range(1, 50):
        shutil.copy(first, folder / f"good-{i:02}.xlsx")
    zip_with(folder / "m-bomb.docx", {"word/document.xml": 300 * 2**20})
    documents = parse_paths([folder], n_jobs=2)
    assert len(documents) == 51
    bad = [d for d in documents if d.layout == "error"]
    assert [Path(d.path).name for d in bad] == ["m-bomb.docx"] and bad[0].problems[0].code == "E057"
    assert sum(len(d.indicators) for d in documents) == 50 * 4


# ------------------------------------------------------------------------------- tables never end


def test_a_one_cell_row_in_a_csv_keeps_every_later_row_and_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    lines = [
        ",".join(TABLE[0]),
        ",".join(TABLE[1]),
        "小计",
        ",".join(TABLE[2]),
        "产出指标",
        "说明：本表由单位填写",
    ]
    lines += [",".join(row) for row in TABLE[3:]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    document = parse_file(path)
    assert [i.name for i in document.indicators] == ["培训人数", "培训合格率", "群众知晓率", "学员满意度"]
    assert [(p.code, p.line) for p in document.problems] == [("E019", 3), ("E019", 6)]
    assert "小计" in str(document.problems[0])


def test_a_category_heading_on_a_row_of_its_own_is_read_as_the_category(tmp_path: Path) -> None:
    path = tmp_path / "headed.csv"
    rows = [
        "一级指标,二级指标,三级指标,指标值",
        "产出指标",
        "数量指标",
        ",,培训人数,100人",
        "效益指标",
        "社会效益指标",
        ",,知晓率,≥90%",
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    document = parse_file(path)
    assert [(i.declared_code, i.name) for i in document.indicators] == [("11", "培训人数"), ("22", "知晓率")]
    assert not document.problems


def test_notes_after_the_last_row_are_not_reported(tmp_path: Path) -> None:
    path = good_xlsx(tmp_path / "noted.xlsx", TABLE + [["注：本表金额单位为万元"], ["填报人：张三"]])
    document = parse_file(path)
    assert len(document.indicators) == 4 and not document.problems
