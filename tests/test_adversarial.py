"""A standing adversarial suite for the readers (issue 16, item 4): XML bombs, deep nesting, truncated
files of every format, mixed encodings, and fuzzing of every text reader. Whatever comes in, the answer
is records or a coded problem naming the file — never an exception, never a hang, never invented rows.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_limits import TABLE, good_xlsx, minimal_pdf

from nlp.parse import parse_file, parse_text
from nlp.readers.found import read_found
from nlp.readers.narrative import read_narrative

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "raw"
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10))
    + "]>"
)


def rewrite_part(source: Path, target: Path, part: str, change) -> Path:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            dst.writestr(
                item, change(data.decode("utf-8")).encode("utf-8") if item.filename == part else data
            )
    return target


def good_docx(path: Path) -> Path:
    document = docx.Document()
    table = document.add_table(rows=len(TABLE), cols=len(TABLE[0]))
    for r, row in enumerate(TABLE):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    document.save(path)
    return path


def only_code(path: Path) -> str:
    document = parse_file(path)
    assert document.layout == "error" and not document.indicators, path.name
    assert len(document.problems) == 1 and path.name in str(document.problems[0])
    return document.problems[0].code


def test_billion_laughs_in_a_workbook_or_document_is_refused_before_parsing(tmp_path: Path) -> None:
    def bomb(xml: str) -> str:
        body = xml.split("?>", 1)[1] if xml.startswith("<?xml") else xml
        body = re.sub(r"(<c r=\"C2\" t=\"inlineStr\"><is><t>)[^<]*(</t>)", r"\1&lol9;\2", body)
        return LAUGHS + body.replace("<w:t>培训人数</w:t>", "<w:t>&lol9;</w:t>")

    sheet = rewrite_part(
        good_xlsx(tmp_path / "g.xlsx"), tmp_path / "laughs.xlsx", "xl/worksheets/sheet1.xml", bomb
    )
    word = rewrite_part(good_docx(tmp_path / "g.docx"), tmp_path / "laughs.docx", "word/document.xml", bomb)
    for path in (sheet, word):
        document = parse_file(path)
        assert [p.code for p in document.problems] == ["E057"] and "entity declarations" in str(
            document.problems[0]
        )
    assert len(parse_file(tmp_path / "g.docx").indicators) == 4  # the honest files read


def test_deeply_nested_xml_is_a_coded_problem(tmp_path: Path) -> None:
    deep = '<?xml version="1.0"?>' + "<a>" * 100_000 + "</a>" * 100_000
    path = rewrite_part(
        good_xlsx(tmp_path / "g.xlsx"), tmp_path / "deep.xlsx", "xl/worksheets/sheet1.xml", lambda _: deep
    )
    assert only_code(path) in ("E052", "E056")


@pytest.mark.parametrize("suffix", [".xlsx", ".docx", ".pdf", ".csv", ".txt", ".xls"])
def test_a_truncated_file_of_every_format_is_a_coded_problem_or_what_survives(
    tmp_path: Path, suffix: str
) -> None:
    whole = tmp_path / f"whole{suffix}"
    if suffix == ".xlsx":
        good_xlsx(whole)
    elif suffix == ".docx":
        good_docx(whole)
    elif suffix == ".pdf":
        whole.write_bytes(minimal_pdf(1))
    elif suffix == ".xls":
        xlwt = pytest.importorskip("xlwt")
        book = xlwt.Workbook()
        sheet = book.add_sheet("t")
        for r, row in enumerate(TABLE):
            for c, text in enumerate(row):
                sheet.write(r, c, text)
        book.save(str(whole))
    else:
        separator = "," if suffix == ".csv" else "\t"
        whole.write_text("\n".join(separator.join(row) for row in TABLE) + "\n", encoding="utf-8")
    data = whole.read_bytes()
    for cut in (len(data) // 2, len(data) // 3, 7):
        part = tmp_path / f"cut{cut}{suffix}"
        part.write_bytes(data[:cut])
        document = parse_file(part)
        # Either it is refused with a code naming the file, or what it reads came from the file itself.
        names = {row[2] for row in TABLE}
        assert document.problems or document.indicators
        assert all(
            i.name in names or any(i.name in n or n in i.name for n in names) for i in document.indicators
        )
        assert all(p.code.startswith("E") and part.name in str(p) for p in document.problems)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-16", "utf-8-sig", "utf-16-le"])
def test_seed_text_in_every_chinese_encoding_reads_the_same(tmp_path: Path, encoding: str) -> None:
    seed = sorted(CORPUS.glob("002_*.txt"))[0]
    text = seed.read_text(encoding="utf-8")
    path = tmp_path / seed.name
    raw = text.encode(encoding)
    if encoding == "utf-16-le":
        raw = b"\xff\xfe" + raw  # little-endian with its BOM, as Windows Notepad writes it
    path.write_bytes(raw)
    assert len(parse_file(path).indicators) == len(parse_file(seed).indicators) == 50


def test_bytes_no_encoding_fits_say_so_and_name_utf16(tmp_path: Path) -> None:
    path = tmp_path / "binary.txt"
    path.write_bytes(bytes(range(128, 256)) * 20)
    document = parse_file(path)
    assert [p.code for p in document.problems] == ["E003"] and "UTF-16" in str(document.problems[0])


def test_a_file_renamed_to_another_format_is_a_coded_problem(tmp_path: Path) -> None:
    seed = sorted(CORPUS.glob("002_*.txt"))[0]
    for suffix in (".xlsx", ".docx", ".pdf", ".xls"):
        path = tmp_path / f"renamed{suffix}"
        shutil.copy(seed, path)
        assert only_code(path) in ("E052", "E055", "E008")


# ------------------------------------------------------------------------------------------ fuzzing

_CELLS = st.sampled_from(
    ["产出指标", "数量指标", "效益指标", "满意度指标", "一级指标", "二级指标", "三级指标", "指标值", "实际完成值",
     "培训人数", "≥100人", "100%", "2024年底前", "｜", "|", "\t", "  ", "：", "反映", "合计", "说明：", "项目名称",
     "<script>", "&lol;", "\x00", "𠀀", "产 出 指 标", "（50分）", "≥**%"]
)  # fmt: skip
_LINES = st.lists(st.lists(_CELLS | st.text(max_size=12), max_size=8).map("".join), max_size=30)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(_LINES)
def test_no_text_reader_raises_on_anything(lines: list[str]) -> None:
    text = "\n".join(lines)
    document = parse_text(text, path="fuzz.txt")
    assert document.layout == "error" or document.indicators
    for indicator in document.indicators:
        # Nothing invented: every character of a name read comes from the text.
        assert indicator.name.strip() and set(indicator.name) - {" "} <= set(text)
    read_found(lines, "fuzz.txt")
    read_narrative(lines, "fuzz.txt")
