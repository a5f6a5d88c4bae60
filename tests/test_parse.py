"""Specification of nlp.parse: every layout of a 绩效目标表 becomes Document -> Projects -> Indicators.

Unit tests read the small fixtures in tests/fixtures/parse/; the acceptance tests at the end pin what
the five seed documents must give (counts, spot checks, round trip, agreement with the reviewed gold).
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlp.cli import main
from nlp.errors import InputError
from nlp.parse import (
    decode,
    iter_files,
    parse_file,
    parse_paths,
    parse_rows,
    parse_text,
    read_indicator_table,
    summarise,
)
from nlp.readers.inline import parse_items
from nlp.records import INDICATOR_COLUMNS, Document, Indicator
from nlp.tabular import write_indicators

HERE = Path(__file__).resolve().parent
PARSE = HERE / "fixtures" / "parse"


@pytest.fixture(scope="module")
def parse_dir() -> Path:
    return PARSE


def by_name(document: Document) -> dict[str, Indicator]:
    return {i.name: i for i in document.indicators}


def line_of(path: Path, needle: str) -> int:
    """1-based line of the first line of ``path`` that contains ``needle``."""
    lines = path.read_text(encoding="utf-8").split("\n")
    return next(n for n, line in enumerate(lines, start=1) if needle in line)


# ---------------------------------------------------------------------------------- inline layout


def test_parse_inline_layout_joins_hard_wraps(parse_dir: Path) -> None:
    doc = parse_file(parse_dir / "inline_wrapped.txt")
    found = by_name(doc)
    assert doc.layout == "inline" and not doc.problems
    # "≥\n\n180人" and "≥\n\n95%": numbers wrapped after the sign join without a space.
    assert (found["补贴人数"].cycle_value, found["补贴人数"].annual_value) == ("≥180人", "≥180人")
    assert (found["补贴发放及时率"].cycle_value, found["补贴发放及时率"].annual_value) == ("≥95%", "≥95%")
    # "31-服务对象\n满意度": a category label wrapped in the middle.
    assert found["企业满意度"].declared_l2 == "服务对象满意度" and found["企业满意度"].declared_code == "31"
    assert doc.projects[0].goal == "通过发放就业见习补贴，帮助高校毕业生实现就业。"


def test_parse_inline_layout_reads_project_names_wrapped_over_lines(parse_dir: Path) -> None:
    doc = parse_file(parse_dir / "inline_wrapped.txt")
    names = [(p.name, p.budget) for p in doc.projects]
    assert names == [
        ("就业见习补贴", 1200.0),
        ("就业服务平台运维经费", 50.5),  # indented name, amounts on their own line
        ("追加就业补助资金#某财社〔2024〕3号", 8.0),  # not indented, but goal and list follow it
    ]


def test_parse_inline_layout_tells_department_rows_from_project_headings(parse_dir: Path) -> None:
    doc = parse_file(parse_dir / "inline_wrapped.txt")
    departments = [p.department for p in doc.projects]
    assert departments == ["某区人力资源局本级", "某区人力资源局本级", "某区就业服务中心"]
    assert all(p.name != "合计" for p in doc.projects)


def test_parse_inline_layout_drops_repeated_page_headers(parse_dir: Path) -> None:
    doc = parse_file(parse_dir / "inline_wrapped.txt")
    texts = [p.goal for p in doc.projects] + [
        v for i in doc.indicators for v in (i.cycle_value, i.annual_value)
    ]
    assert texts and not any("财政拨款" in t or "绩效指标" in t for t in texts)


def test_parse_inline_layout_numbers_each_indicator_by_its_first_line(parse_dir: Path) -> None:
    path = parse_dir / "inline_wrapped.txt"
    found = by_name(parse_file(path))
    assert found["补贴人数"].line == line_of(path, "11-数量指标；补贴人数")
    # The item number "2" was wrapped away from "、1-产出指标": the item starts on the number's line.
    assert found["补贴发放及时率"].line == line_of(path, "≥180人。2")


ITEM_CASES = [
    (
        "full-width colon",
        "1、1-产出指标；11-数量指标；人数；实施周期指标值：40人；年度指标值：40人。",
        ("人数", "11", "40人", "40人"),
    ),
    (
        "no cycle part",
        "1、2-效益指标；22-社会效益；办案；年度指标值：不发生群体事件。",
        ("办案", "22", "", "不发生群体事件"),
    ),
    (
        "free-text tail",
        "1、2-效益指标；21-经济效益；印制宣传材料；进一步提高知晓度。",
        ("印制宣传材料", "21", "", "进一步提高知晓度"),
    ),
    (
        "value holding a semicolon",
        "1、1-产出指标；11-数量指标；核查数量；实施周期指标值:1000宗；500家；年度指标值:1000宗；500家。",
        ("核查数量", "11", "1000宗；500家", "1000宗；500家"),
    ),
    (
        "label without colon",
        "1、3-满意度指标；31-服务对象满意度；满意度；实施周期指标值:≥90%；年度指标值≥90%。",
        ("满意度", "31", "≥90%", "≥90%"),
    ),
    ("no 二级", "1、3-满意度指标；满意度；年度指标值:≥90%。", ("满意度", "31", "", "≥90%")),
    (
        "a 2021 cost 一级",
        "1、4-成本指标；14-经济成本；单位成本；年度指标值:≤50元。",
        ("单位成本", "14", "", "≤50元"),
    ),
]


@pytest.mark.parametrize("text, expected", [c[1:] for c in ITEM_CASES], ids=[c[0] for c in ITEM_CASES])
def test_parse_items_reads_each_variant_of_a_coded_item(text: str, expected: tuple[str, ...]) -> None:
    items, problems = parse_items(text, path="t.txt", line=1)
    assert not problems
    assert [(i.name, i.declared_code, i.cycle_value, i.annual_value) for i in items] == [expected]


def test_parse_items_does_not_split_on_item_like_text_inside_a_value() -> None:
    text = "1、1-产出指标；13-时效指标；完成时间；年度指标值:第1、2-3季度；完成。2、1-产出指标；11-数量指标；人数；年度指标值:4人。"
    items, _ = parse_items(text)
    assert [i.name for i in items] == ["完成时间", "人数"]
    assert items[0].annual_value == "第1、2-3季度；完成"


def test_parse_items_separates_a_value_that_ran_into_the_next_item_number() -> None:
    items, _ = parse_items(
        "1、1-产出指标；11-数量指标；次数；年度指标值:42、1-产出指标；12-质量指标；合格率；年度指标值:100%。"
    )
    assert [(i.name, i.annual_value) for i in items] == [("次数", "4"), ("合格率", "100%")]


# ------------------------------------------------------------------------------- grids and tables


def test_parse_inline_cells_of_a_tab_grid_one_project_per_line(parse_dir: Path) -> None:
    path = parse_dir / "inline_grid.txt"
    doc = parse_file(path)
    assert doc.layout == "inline" and not doc.problems
    assert [(p.department, p.name, p.budget, len(p.indicators)) for p in doc.projects] == [
        ("某区社保办", "社保工作经费", 72.4, 2),
        ("某区社保办", "业务用房经费", 7.6, 1),
    ]
    first = doc.projects[0].indicators[1]
    assert (first.declared_l2, first.declared_code, first.line) == (
        "可持续影响",
        "24",
        line_of(path, "社保工作经费"),
    )


def test_parse_word_cells_layout_carries_the_first_level_down(parse_dir: Path) -> None:
    doc = parse_file(parse_dir / "cells_word.txt")
    project = doc.projects[0]
    assert doc.layout == "cells" and not doc.problems
    assert (project.department, project.name, project.budget) == ("某区社保局", "档案整理经费", 12.5)
    assert project.goal == "1、完成档案整理2、提高查档效率"
    rows = [
        (i.declared_l1, i.declared_l2, i.name, i.description, i.annual_value, i.basis)
        for i in project.indicators
    ]
    assert rows[1] == ("产出指标", "质量指标", "整理合格率", "按标准整理", "100%", "档案管理规定")
    assert rows[2][-1] == ""  # an empty 指标值确定依据 cell stays empty


def test_parse_grid_carries_merged_cells_and_reads_shifted_rows(parse_dir: Path) -> None:
    doc = parse_file(parse_dir / "grid_merged.txt")
    found = by_name(doc)
    assert doc.layout == "grid" and not doc.problems
    assert (found["活动场次"].declared_l1, found["活动场次"].declared_l2) == ("产出指标", "数量指标")
    # "体系健全性" sits one column left (in the 一级 column): it keeps the 一级/二级 above it.
    shifted = found["体系健全性"]
    assert (shifted.declared_l2, shifted.declared_code, shifted.cycle_value, shifted.annual_value) == (
        "可持续影响指标",
        "24",
        "",
        "良好",
    )


def test_parse_grid_reads_cost_as_a_first_level_and_detects_the_scheme_per_project(parse_dir: Path) -> None:
    doc = parse_file(parse_dir / "grid_merged.txt")
    first, second = doc.projects
    cost = next(i for i in first.indicators if i.name == "预算执行率")
    assert (cost.declared_l1, cost.declared_l2, cost.declared_code, cost.annual_value) == (
        "成本指标",
        "",
        "14",
        "≥95%",
    )
    assert (first.scheme, second.scheme) == ("2021", "classic")
    assert second.indicators[0].declared_l1 == "产出指标"


def test_parse_grid_reads_the_project_block_above_each_table(parse_dir: Path) -> None:
    doc = parse_file(parse_dir / "grid_merged.txt")
    assert [(p.department, p.name, p.budget, p.goal) for p in doc.projects] == [
        ("某区社保中心", "工会活动经费", 15.0, "组织职工活动，丰富业余生活。"),  # 主管部门 wins over 用款单位
        ("某区社保中心", "综合业务经费", 35.31, "做好信访案件处理工作。"),
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_parse_csv_table_in_any_chinese_encoding(parse_dir: Path, tmp_path: Path, encoding: str) -> None:
    text = (parse_dir / "table_zh.csv").read_text(encoding="utf-8")
    path = tmp_path / "table_zh.csv"
    path.write_text(text, encoding=encoding)
    doc = parse_file(path)
    assert [(p.department, p.name, len(p.indicators)) for p in doc.projects] == [
        ("某局", "项目甲", 2),
        ("某局", "项目乙", 1),
    ]
    person = by_name(doc)["培训人次"]
    assert (person.cycle_value, person.annual_value) == ("≥300人次", "≥100人次")
    assert by_name(doc)["培训合格率"].declared_l1 == "产出指标"


def test_parse_csv_table_with_english_headers(parse_dir: Path) -> None:
    doc = parse_file(parse_dir / "table_en.csv")
    assert [(i.project, i.name, i.declared_code, i.annual_value) for i in doc.indicators] == [
        ("Project A", "培训人次", "11", "≥100人次"),
        ("Project A", "学员满意度", "31", "≥90%"),
    ]


def test_parse_xlsx_table_with_merged_cells_and_percent_format(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["某项目绩效目标表"])
    sheet.append(["一级指标", "二级指标", "三级指标", "指标值"])
    sheet.append(["产出指标", "质量指标", "验收合格率", 1])
    sheet.append([None, None, "设备完好率", 0.95])
    sheet.merge_cells("A3:A4")
    sheet.merge_cells("B3:B4")
    sheet["D3"].number_format = "0%"
    sheet["D4"].number_format = "0%"
    book.save(tmp_path / "plan.xlsx")
    doc = parse_file(tmp_path / "plan.xlsx")
    assert [(i.declared_code, i.name, i.annual_value, i.line) for i in doc.indicators] == [
        ("12", "验收合格率", "100%", 3),
        ("12", "设备完好率", "95%", 4),
    ]


def test_parse_rows_finds_the_header_wherever_it_is() -> None:
    rows = [
        ["项目绩效目标表"],
        [],
        ["项目名称", "示例项目"],
        ["", "一级指标", "二级指标", "三级指标", "指标值"],
        ["", "产出指标", "时效指标", "办结及时率", "100%"],
    ]
    doc = parse_rows(rows, path="grid.xlsx")
    assert [(i.project, i.declared_code, i.name, i.line) for i in doc.indicators] == [
        ("示例项目", "13", "办结及时率", 5)
    ]


# -------------------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".jsonl"])
def test_write_then_read_gives_the_same_records(parse_dir: Path, tmp_path: Path, suffix: str) -> None:
    records = [i for d in parse_paths([parse_dir]) for i in d.indicators]
    out = tmp_path / f"indicators{suffix}"
    write_indicators(records, out)
    back = read_indicator_table(out)
    assert back.layout == "indicators" and not back.problems
    assert list(back.indicators) == records


def test_write_indicators_writes_exactly_the_indicator_columns(parse_dir: Path, tmp_path: Path) -> None:
    records = parse_file(parse_dir / "cells_word.txt").indicators
    write_indicators(records, tmp_path / "x.csv")
    raw = (tmp_path / "x.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # utf-8-sig, so Excel shows the Chinese
    header = next(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert tuple(header) == INDICATOR_COLUMNS
    write_indicators(records, tmp_path / "x.jsonl")
    first = json.loads((tmp_path / "x.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert tuple(first) == INDICATOR_COLUMNS


def test_write_indicators_keeps_formula_like_text_as_text(tmp_path: Path) -> None:
    record = Indicator(
        "d.txt", "", "p", "", None, "classic", "产出指标", "数量指标", "11", "=SUM(A1)", annual_value="=100%"
    )
    write_indicators([record], tmp_path / "x.xlsx")
    assert list(read_indicator_table(tmp_path / "x.xlsx").indicators) == [record]


def test_write_indicators_rejects_an_unknown_output_type(tmp_path: Path) -> None:
    with pytest.raises(InputError) as raised:
        write_indicators([], tmp_path / "x.txt")
    assert raised.value.code == "E006"
    assert str(raised.value).startswith(f"[E006] {tmp_path / 'x.txt'}: unsupported file type '.txt'.")
    assert "indicator tables are written as .csv, .jsonl or .xlsx" in str(raised.value)


# ------------------------------------------------------------------------------------ files, batch


def test_iter_files_walks_folders_sorted_and_skips_hidden_files(tmp_path: Path) -> None:
    for name in ["b.txt", "a/c.csv", ".hidden.txt", ".git/x.txt", "~$lock.xlsx"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    files = iter_files([tmp_path, tmp_path / "missing.txt"])
    assert [f.relative_to(tmp_path).as_posix() for f in files] == ["a/c.csv", "b.txt", "missing.txt"]


def test_parse_paths_goes_on_after_a_bad_file(parse_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    docs = parse_paths([parse_dir / "cells_word.txt", tmp_path / "missing.txt", tmp_path / "empty.txt"])
    assert [d.layout for d in docs] == ["cells", "error", "error"]
    assert [p.code for d in docs for p in d.problems] == ["E001", "E002"]


def test_parse_paths_in_parallel_gives_the_same_documents(parse_dir: Path) -> None:
    assert parse_paths([parse_dir], n_jobs=2) == parse_paths([parse_dir])


@pytest.mark.parametrize(
    "encoding, newline",
    [("utf-8-sig", "\n"), ("gbk", "\n"), ("gb18030", "\n"), ("utf-8", "\r\n")],
    ids=["utf-8 with BOM", "gbk", "gb18030", "windows line ends"],
)
@pytest.mark.parametrize("fixture", ["inline_wrapped.txt", "cells_word.txt"])
def test_text_files_read_the_same_in_any_encoding(
    parse_dir: Path, tmp_path: Path, fixture: str, encoding: str, newline: str
) -> None:
    text = (parse_dir / fixture).read_text(encoding="utf-8")
    copy = tmp_path / fixture
    copy.write_bytes(text.replace("\n", newline).encode(encoding))
    expected = parse_file(parse_dir / fixture)
    assert parse_file(copy).indicators == tuple(replace(i, doc=fixture) for i in expected.indicators)


def test_decode_reads_utf8_with_and_without_bom_gbk_and_utf16() -> None:
    text = "一级指标：产出指标"
    for data in (text.encode("utf-8"), text.encode("utf-8-sig"), text.encode("gbk"), text.encode("utf-16")):
        assert decode(data) == text


def test_pdf_and_word_files_go_to_the_office_reader_and_grid_sheets_to_the_sheet_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("nlp.readers.office.read_document", lambda path: Document(str(path), "pdf:inline"))
    monkeypatch.setattr("nlp.readers.sheets.read_workbook", lambda path: Document(str(path), "xlsx:grid"))
    (tmp_path / "plan.pdf").write_bytes(b"%PDF-1.4")
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.append(["no header here"])
    book.save(tmp_path / "grid.xlsx")
    assert parse_file(tmp_path / "plan.pdf").layout == "pdf:inline"
    assert parse_file(tmp_path / "grid.xlsx").layout == "xlsx:grid"  # no indicator header: a grid sheet


# ----------------------------------------------------------------------------------------- bad input

TRUNCATED = "1、1-产出指标；11-数量指标；资助人数；实施周期指标值:约40人；年度指标值:约40人。2、1-产出指标；12-质量指标；到账率；实施周期指标值:"

BAD_INPUT = [
    ("empty file", b"", "E002", 0, "the file is empty. Remove it from the batch or export the table again."),
    (
        "blank text",
        b"  \n\n ",
        "E002",
        0,
        "the file is empty. Remove it from the batch or export the table again.",
    ),
    (
        "undecodable bytes",
        b"\x80\xffabc\xff",
        "E003",
        0,
        "could not be decoded as UTF-8, UTF-16 (with BOM), GB18030 or GBK. Save it as UTF-8 text (or export the table as .xlsx) and try again.",
    ),
    (
        "unknown layout",
        "会议纪要\n今天讨论了预算。\n".encode(),
        "E004",
        0,
        "no indicator table found (expected coded lists like '1、1-产出指标；11-数量指标；…', a 一级指标/二级指标/三级指标 "
        "grid or a table with a name column). Looked for the header words 一级指标, 二级指标, 三级指标, 指标名称, "
        "指标值, 年度指标值, 目标值, 实际完成值, 评价指标 and for category labels such as 产出指标 / 数量指标. "
        "Check that this is a 绩效目标表.",
    ),
    (
        "text cut mid-item",
        TRUNCATED.encode(),
        "E005",
        1,
        "indicator is truncated (the text ends inside item 2 '到账率' before its value). Complete the item in the source or remove it.",
    ),
    (
        "item with no name",
        "1、1-产出指标；11-数量指标；；年度指标值:100%。".encode(),
        "E005",
        1,
        "indicator is truncated (item 1 has no indicator name after '数量指标'). Complete the item in the source or remove it.",
    ),
    (
        "grid row with no name",
        "一级指标\t二级指标\t三级指标\t指标值\n产出指标\t数量指标\t\t40人\n".encode(),
        "E007",
        2,
        "no indicator name (column 三级指标). Fill it in or remove the row.",
    ),
    (
        "heading with no list",
        "    某项目经费 1.00 1.00\n\n保障工作开展。\n".encode(),
        "E009",
        1,
        "project '某项目经费' has no indicators (no coded list under its heading). Add its indicator list or rows, or check that the layout was recognised.",
    ),
]


@pytest.mark.parametrize(
    "data, code, line, message", [c[1:] for c in BAD_INPUT], ids=[c[0] for c in BAD_INPUT]
)
def test_bad_input_becomes_a_problem_naming_file_and_line(
    tmp_path: Path, data: bytes, code: str, line: int, message: str
) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    doc = parse_file(path)
    assert [(p.code, p.line, p.message) for p in doc.problems] == [(code, line, message)]
    assert all(p.path == str(path) for p in doc.problems)


def test_truncated_item_is_skipped_but_the_items_before_it_are_kept(tmp_path: Path) -> None:
    doc = parse_text(TRUNCATED, path="cut.txt")
    assert [i.name for i in doc.indicators] == ["资助人数"]
    assert str(doc.problems[0]).startswith("[E005] cut.txt:1: indicator is truncated")


@pytest.mark.parametrize(
    "name, message",
    [
        ("missing.txt", "file not found. Check the path and try again."),
        (
            "picture.png",
            "unsupported file type '.png'. Check the extension: documents are read from .txt, .csv, .xlsx, "
            ".pdf or .docx; indicator tables are written as .csv, .jsonl or .xlsx.",
        ),
    ],
    ids=["missing file", "unsupported type"],
)
def test_unreadable_files_become_error_documents(tmp_path: Path, name: str, message: str) -> None:
    if name.endswith(".png"):
        (tmp_path / name).write_bytes(b"\x89PNG")
    doc = parse_file(tmp_path / name)
    assert doc.layout == "error" and [p.message for p in doc.problems] == [message]


def test_damaged_workbook_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    doc = parse_file(tmp_path / "broken.xlsx")
    # The one workbook reader (nlp.readers.sheets) names what kind of file it expected.
    assert doc.layout == "error" and doc.problems[0].code == "E052"
    assert "an Excel (.xlsx) workbook" in doc.problems[0].message


def test_parse_text_rejects_an_unknown_layout_name() -> None:
    with pytest.raises(ValueError, match="layout must be one of"):
        parse_text("x", path="x.txt", layout="pdf")


def test_summary_counts_and_lists_what_was_skipped(parse_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "cut.txt").write_text(TRUNCATED, encoding="utf-8")
    docs = parse_paths([parse_dir / "cells_word.txt", tmp_path / "cut.txt"])
    text = summarise(docs)
    assert "2 files: 2 projects, 5 indicators, 1 skipped." in text
    assert f"[E005] {tmp_path / 'cut.txt'}:1: indicator is truncated" in text


def test_cli_parse_exits_non_zero_when_anything_was_skipped(
    parse_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.csv"
    assert main(["parse", str(parse_dir / "cells_word.txt"), "--out", str(out)]) == 0
    assert len(read_indicator_table(out).indicators) == 4
    (tmp_path / "cut.txt").write_text(TRUNCATED, encoding="utf-8")
    assert main(["parse", str(parse_dir / "cells_word.txt"), str(tmp_path / "cut.txt")]) == 1
    assert "1 skipped" in capsys.readouterr().out


# ------------------------------------------------------------------------------- never crashes

_SEED_LIKE = (PARSE / "inline_wrapped.txt").read_text(encoding="utf-8")
_PIECES = st.sampled_from(
    [
        "1、",
        "1-产出指标；",
        "11-数量指标；",
        "名称；",
        "实施周期指标值:",
        "年度指标值：",
        "≥95%",
        "。",
        "\n",
        "\n\n",
        "    ",
        "\t",
        " 1.00 2.00\n",
        "项目名称（资金使用单位） 总计",
        "一级指标",
        "三级指标",
        "合计",
        "---",
        "\ufeff",
        "\f",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.one_of(st.text(max_size=300), st.lists(_PIECES | st.text(max_size=5), max_size=40).map("".join))
)
def test_random_text_never_crashes_the_parser(text: str) -> None:
    doc = parse_text(text, path="random.txt")
    assert isinstance(doc, Document)
    assert doc.indicators or doc.problems or doc.projects


_CELLS = st.sampled_from(
    [
        "",
        "一级指标",
        "二级指标",
        "三级指标",
        "指标值",
        "产出指标",
        "成本指标",
        "---",
        "项目名称",
        "单位：万元",
        "绩效目标",
        "绩效指标",
        "1、1-产出指标；名称；年度指标值:1。",
        None,
        3.5,
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(_CELLS | st.text(max_size=4), max_size=7), max_size=12))
def test_random_grids_never_crash_the_parser(rows: list[list[object]]) -> None:
    doc = parse_rows(rows, path="random.csv")
    assert doc.layout == "error" or all(i.name for i in doc.indicators)


@settings(max_examples=100, deadline=None)
@given(cut=st.integers(min_value=0, max_value=len(_SEED_LIKE)))
def test_truncated_text_gives_records_or_problems_never_an_exception(cut: int) -> None:
    doc = parse_text(_SEED_LIKE[:cut], path="cut.txt")
    assert doc.indicators or doc.problems
    assert all(i.name for i in doc.indicators)


# ------------------------------------------------------------------- acceptance on the seed corpus

SEED_COUNTS = {"000": (6, 34), "001": (18, 162), "002": (3, 50), "003": (9, 54), "004": (69, 399)}


@pytest.fixture(scope="module")
def seed_docs(raw_dir: Path) -> dict[str, Document]:
    return {Path(d.path).name[:3]: d for d in parse_paths([raw_dir])}


def test_seed_documents_give_the_published_counts(seed_docs: dict[str, Document]) -> None:
    counts = {prefix: (len(d.projects), len(d.indicators)) for prefix, d in seed_docs.items()}
    assert counts == SEED_COUNTS
    assert not [p for d in seed_docs.values() for p in d.problems]


def test_seed_records_have_names_codes_and_no_text_of_the_next_item(seed_docs: dict[str, Document]) -> None:
    leaks = (
        "、1-",
        "、2-",
        "、3-",
        "-产出指标",
        "-效益指标",
        "-满意度指标",
        "实施周期指标值",
        "年度指标值",
        "项目名称（资金使用单位）",
        "财政专户拨款",
    )
    for doc in seed_docs.values():
        for i in doc.indicators:
            assert i.name and i.declared_code, i
            fields = (i.name, i.description, i.cycle_value, i.annual_value, i.basis)
            assert not any(leak in text for text in fields for leak in leaks), i


def test_seed_spot_checks(seed_docs: dict[str, Document]) -> None:
    overdue = by_name(seed_docs["004"])["劳监案件超期率"]
    assert (overdue.declared_code, overdue.annual_value) == ("13", "超期率<1%")
    first, second = seed_docs["002"].projects[:2]
    budget_first = next(i for i in first.indicators if i.name == "预算执行率")
    budget_second = next(i for i in second.indicators if i.name == "预算执行率")
    assert (budget_first.declared_l1, budget_first.scheme) == ("成本指标", "2021")
    assert (budget_second.declared_l1, budget_second.scheme) == ("产出指标", "classic")
    chronic = next(p for p in seed_docs["001"].projects if p.name == "慢性病专家鉴定费")
    assert len(chronic.indicators) == 9
    eco = next(i for i in chronic.indicators if i.declared_l2 == "生态效益指标")
    assert (eco.name, eco.description) == ("资源消耗", "降低资源消耗")


def test_seed_output_round_trips_through_csv_and_xlsx(raw_dir: Path, tmp_path: Path) -> None:
    assert main(["parse", str(raw_dir), "--out", str(tmp_path / "x.csv")]) == 0
    records = [i for d in parse_paths([raw_dir]) for i in d.indicators]
    write_indicators(records, tmp_path / "x.xlsx")
    assert list(read_indicator_table(tmp_path / "x.csv").indicators) == records
    assert list(read_indicator_table(tmp_path / "x.xlsx").indicators) == records


def test_every_gold_row_matches_a_parsed_indicator(seed_docs: dict[str, Document], corpus_dir: Path) -> None:
    """Gold rows are matched by (name, declared_code), plus description in the Nanpu file (001)."""
    parsed = {
        (Path(d.path).name[:3], i.name, i.declared_code, i.description if prefix == "001" else "")
        for prefix, d in seed_docs.items()
        for i in d.indicators
    }
    with (corpus_dir / "gold" / "seed_gold.csv").open(encoding="utf-8-sig") as handle:
        gold = list(csv.DictReader(handle))
    unmatched = [
        (prefix, row["name"])
        for row in gold
        for prefix in row["docs"].split()
        if (prefix, row["name"], row["declared_code"], row["description"] if prefix == "001" else "")
        not in parsed
    ]
    assert len(gold) == 490 and unmatched == []


def test_table_with_split_comparator_value_and_unit_columns_joins_them(tmp_path: Path) -> None:
    table = tmp_path / "template2021.csv"
    table.write_text(
        "项目名称,一级指标,二级指标,三级指标,指标性质,指标值,度量单位,权重\n"
        "道路改造,产出指标,数量指标,改造道路长度,≥,12,公里,20\n"
        "道路改造,产出指标,质量指标,工程验收合格率,=,100,%,20\n"
        "道路改造,效益指标,社会效益指标,群众出行便利程度,定性,明显改善,,10\n"
        "道路改造,满意度指标,服务对象满意度指标,沿线群众满意度,大于等于,90,%,10\n",
        encoding="utf-8",
    )
    values = [i.annual_value for i in parse_file(table).indicators]
    assert values == ["≥12公里", "100%", "明显改善", "≥90%"]
