"""Tables as they are found (nlp.readers.found) and narrative self-evaluation reports (nlp.readers.narrative)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlp.readers.cells import category, is_value, split_cells
from nlp.readers.found import Found, read_found
from nlp.readers.narrative import read_narrative
from nlp.readers.rows import split_run
from nlp.records import Indicator
from nlp.taxonomy import detect_scheme

LAYOUTS = Path(__file__).resolve().parent / "fixtures" / "layouts"


def _read(name: str) -> Found:
    lines = (LAYOUTS / name).read_text(encoding="utf-8").split("\n")
    found = read_found(lines, name)
    assert found is not None, f"{name}: no indicator table found"
    return found


def _indicators(found: Found) -> list[Indicator]:
    return [i for p in found.projects for i in p.indicators]


# fixture, layout, projects, indicators
CASES = [
    ("pipe_cells.txt", "pipe_cells", 1, 7),
    ("space_runs.txt", "space_runs", 1, 6),
    ("cell_per_line.txt", "cell_per_line", 1, 5),
    ("merged_omitted.txt", "merged_omitted", 1, 8),
    ("run_together.txt", "run_together", 1, 7),
    ("furniture.txt", "pipe_cells", 1, 5),
    ("template_2021.txt", "tab_grid", 1, 6),
    ("county_targets.txt", "pipe_cells", 1, 3),
    ("self_eval.txt", "self_eval", 1, 6),
    ("eval_index.txt", "eval_index", 1, 6),
    ("traditional.txt", "pipe_cells", 1, 5),
    ("label_variants.txt", "pipe_cells", 1, 6),
    ("two_projects.txt", "pipe_cells", 2, 7),
    ("html_flattened.txt", "pipe_cells", 1, 3),
    ("one_line_page.txt", "self_eval", 1, 4),
    ("excerpt_no_header.txt", "self_eval", 1, 5),
    ("html_markup.txt", "pipe_cells", 1, 5),
    ("two_row_header.txt", "self_eval", 1, 5),
    ("single_spaced_projects.txt", "space_runs", 2, 9),
    ("cell_per_line_basis.txt", "cell_per_line", 1, 6),
    ("names_only_flattened.txt", "run_together", 1, 8),
    ("run_together_lists.txt", "self_eval", 1, 6),
    ("run_together_self_eval.txt", "self_eval", 1, 9),
    ("note_inside_pipe.txt", "merged_omitted", 1, 5),
    ("self_eval_short_names.txt", "self_eval", 1, 8),
    ("cell_per_line_noted_names.txt", "self_eval", 1, 4),
    ("run_together_explained.txt", "run_together", 1, 4),
]


@pytest.mark.parametrize(("name", "layout", "projects", "indicators"), CASES, ids=[c[0] for c in CASES])
def test_read_found_recognises_layout_and_counts(
    name: str, layout: str, projects: int, indicators: int
) -> None:
    found = _read(name)
    assert (found.layout, len(found.projects), len(_indicators(found))) == (layout, projects, indicators)


def test_read_found_pipe_cells_reads_metadata_and_fields() -> None:
    found = _read("pipe_cells.txt")
    project = found.projects[0]
    assert (project.name, project.department, project.budget) == (
        "农产品产地冷藏保鲜设施建设",
        "某县农业农村局",
        120.0,
    )
    assert project.goal == "新建产地冷藏保鲜库2座，提升农产品错峰销售能力。"
    first, cost = project.indicators[0], project.indicators[3]
    assert (first.declared_l1, first.declared_l2, first.declared_code, first.name, first.annual_value) == (
        "产出指标",
        "数量指标",
        "11",
        "新建保鲜库数量",
        "2座",
    )
    assert (cost.name, cost.annual_value, cost.line) == ("单位库容建设成本", "≤800元/立方米", 10)


def test_read_found_space_runs_split_on_full_width_spaces() -> None:
    indicators = _indicators(_read("space_runs.txt"))
    assert [(i.name, i.annual_value) for i in indicators[:2]] == [
        ("资助参保人数", "≥12000人"),
        ("住院救助人次", "≥3000人次"),
    ]
    assert indicators[4].annual_value == "明显减轻"


def test_read_found_cell_per_line_groups_cells_into_rows() -> None:
    indicators = _indicators(_read("cell_per_line.txt"))
    assert [(i.declared_l2, i.name, i.annual_value, i.line) for i in indicators[:2]] == [
        ("数量指标", "补助社区养老服务站数量", "12个", 11),
        ("数量指标", "服务老年人人次", "≥20000人次", 14),
    ]
    assert indicators[-1].declared_code == "31"


def test_read_found_merged_omitted_carries_categories_down() -> None:
    indicators = _indicators(_read("merged_omitted.txt"))
    assert [(i.declared_l1, i.declared_l2, i.name) for i in indicators[1:3]] == [
        ("产出指标", "数量指标", "新增灌溉面积"),
        ("产出指标", "质量指标", "工程验收合格率"),
    ]
    benefit = indicators[4]
    assert (benefit.declared_l1, benefit.declared_l2, benefit.name, benefit.annual_value) == (
        "效益指标",
        "经济效益指标",
        "亩均粮食产能提升",
        "≥50公斤",
    )
    assert [i.declared_code for i in indicators[5:]] == ["22", "23", "31"]


def test_read_found_run_together_splits_at_labels_and_values() -> None:
    indicators = _indicators(_read("run_together.txt"))
    assert [(i.declared_code, i.name, i.annual_value) for i in indicators] == [
        ("11", "新建村道里程", "15公里"),
        ("11", "新建文化广场数量", "3个"),
        ("12", "工程验收合格率", "100%"),
        ("13", "项目完成时间", "年底前"),
        ("22", "群众出行条件", "明显改善"),
        ("24", "设施使用年限", "≥10年"),
        ("31", "受益群众满意度", "≥90%"),
    ]


def test_read_found_ignores_furniture_and_allocation_tables() -> None:
    found = _read("furniture.txt")
    project = found.projects[0]
    assert (project.name, project.budget) == ("农村饮水安全巩固提升工程", 500.0)
    assert project.goal == "巩固提升农村供水保障水平，农村自来水普及率达到90%以上。"
    names = [i.name for i in project.indicators]
    assert not {"城关镇", "河口镇", "其他资金", "合计"} & set(names)
    assert [(s.line, s.reason) for s in found.skipped] == [(21, "合计行 total row")]


def test_read_found_2021_template_composes_value_and_detects_scheme() -> None:
    project = _read("template_2021.txt").projects[0]
    assert project.scheme == "2021"
    assert [(i.name, i.annual_value, i.weight) for i in project.indicators[:3]] == [
        ("食品抽检批次", "≥1200批次", "20"),
        ("抽检任务完成率", "≥100%", "20"),
        ("抽检结果公布时限", "≤20个工作日", "10"),
    ]
    cost = project.indicators[3]
    assert (cost.declared_l1, cost.declared_l2, cost.declared_code) == ("成本指标", "经济成本指标", "14")
    assert project.indicators[4].annual_value == "稳中向好"


def test_read_found_county_columns_take_the_first_target() -> None:
    indicators = _indicators(_read("county_targets.txt"))
    assert [(i.name, i.annual_value) for i in indicators] == [
        ("完成危房改造户数", "1500户"),
        ("改造房屋竣工验收合格率", "100%"),
        ("改造农户满意度", "≥90%"),
    ]


def test_read_found_self_evaluation_fields_and_total_skipped() -> None:
    found = _read("self_eval.txt")
    project = found.projects[0]
    assert (project.name, project.budget) == ("基层农技推广体系改革与建设", 80.0)
    timely = project.indicators[3]
    assert (timely.name, timely.annual_value, timely.actual_value, timely.weight, timely.score) == (
        "培训任务完成时间",
        "2023年10月底前",
        "2023年11月",
        "10",
        "8",
    )
    assert timely.deviation_reason == "受汛期影响推迟一个月，下年度提前安排"
    assert project.indicators[0].deviation_reason == ""
    assert [(s.line, s.reason) for s in found.skipped] == [(18, "合计行 total row")]


def test_read_found_eval_index_table() -> None:
    found = _read("eval_index.txt")
    first, last = _indicators(found)[0], _indicators(found)[-1]
    assert (first.declared_l2, first.declared_code, first.name, first.annual_value, first.weight) == (
        "产出数量",
        "11",
        "开展文化惠民演出场次",
        "≥60场",
        "15",
    )
    assert first.description == "全年组织送戏下乡、广场演出的场次"
    assert (last.declared_code, last.name) == ("31", "群众满意度")
    assert [s.reason for s in found.skipped] == ["合计行 total row"]


def test_read_found_traditional_characters_keep_names_as_written() -> None:
    project = _read("traditional.txt").projects[0]
    assert (project.name, project.department, project.budget) == (
        "長者社區照顧服務資助計劃",
        "社會福利署",
        860.0,
    )
    assert [i.declared_code for i in project.indicators] == ["11", "12", "13", "22", "31"]
    assert project.indicators[0].name == "資助長者日間護理中心數目"


def test_read_found_label_variants() -> None:
    indicators = _indicators(_read("label_variants.txt"))
    assert [i.declared_code for i in indicators] == ["11", "11", "12", "13", "23", "31"]
    assert [i.name for i in indicators[:2]] == ["养护绿地面积", "补植乔灌木数量"]  # "指标1：" dropped
    assert indicators[0].declared_l1 == "产出指标"  # "产 出 指 标" closed up
    # 2013 layout: satisfaction as a 二级 under 效果指标; the scheme is the taxonomy's own reading of it.
    labels = ([i.declared_l1 for i in indicators], [i.declared_l2 for i in indicators])
    assert indicators[-1].scheme == detect_scheme(*labels) != "2021"


def test_read_found_keeps_two_projects_apart() -> None:
    first, second = _read("two_projects.txt").projects
    assert (first.name, len(first.indicators), first.goal) == (
        "就业见习补贴",
        3,
        "组织高校毕业生参加就业见习，按规定发放见习补贴。",
    )
    assert (second.name, len(second.indicators), second.line) == ("职业技能提升培训", 4, 9)
    assert {i.project for i in second.indicators} == {"职业技能提升培训"}


def test_read_found_html_flattened_one_cell_a_line_with_pipes() -> None:
    found = _read("html_flattened.txt")
    project = found.projects[0]
    assert (project.name, project.department) == ("社区卫生服务能力提升", "某区卫生健康局")
    assert [(i.declared_code, i.name, i.annual_value, i.line) for i in project.indicators] == [
        ("11", "配置家庭医生团队数量", "≥40个", 16),
        ("11", "签约服务重点人群人数", "≥12000人", 22),
        ("31", "签约居民满意度", "≥90%", 32),
    ]


def test_read_found_page_without_line_breaks() -> None:
    project = _read("one_line_page.txt").projects[0]
    assert (project.name, project.department, project.budget) == ("乡村公路养护", "某县交通运输局", 120.0)
    assert [(i.declared_code, i.name, i.annual_value, i.actual_value) for i in project.indicators] == [
        ("11", "养护农村公路里程", "≥300公里", "320公里"),
        ("12", "路面技术状况优良率", "≥80%", "85%"),
        ("13", "病害处治及时率", "100%", "100%"),
        ("22", "群众出行满意度", "≥90%", "95%"),
    ]


def test_read_found_excerpt_that_starts_inside_a_table() -> None:
    found = _read("excerpt_no_header.txt")
    first, timely = _indicators(found)[0], _indicators(found)[2]
    assert (first.name, first.annual_value, first.actual_value, first.weight) == (
        "新增停车泊位数量",
        "≥500个",
        "520",
        "10",
    )
    assert (timely.declared_l1, timely.declared_l2, timely.annual_value, timely.actual_value) == (
        "产出指标",
        "时效指标",
        "2023年10月",
        "2023年9月",
    )
    assert [s.reason for s in found.skipped] == ["合计行 total row"]


def test_read_found_html_markup_repeats_merged_cells_and_reads_a_merged_name_once() -> None:
    found = _read("html_markup.txt")
    project = found.projects[0]
    assert project.name == "城区公共自行车运营项目支出绩效评价表"
    assert [(i.declared_code, i.name, i.annual_value, i.weight, i.line) for i in project.indicators] == [
        ("11", "投放公共自行车数量", "≥2000辆", "10", 17),
        ("11", "新建租赁站点数量", "≥60个", "10", 27),
        ("12", "车辆完好率", "≥95%", "10", 35),
        ("22", "是否缓解市民短途出行难", "是", "20", 44),
        ("31", "骑行市民满意度", "≥90%", "10", 58),
    ]
    assert [(s.line, s.reason) for s in found.skipped] == [(54, "重复行 repeated row")]


def test_read_found_spaced_header_with_caption_and_a_second_row() -> None:
    found = _read("two_row_header.txt")
    project = found.projects[0]
    assert (project.name, project.department) == ("社区老年食堂运营补助", "某区民政局")
    timely = project.indicators[2]
    assert (timely.declared_l2, timely.name, timely.annual_value, timely.actual_value, timely.score) == (
        "时效指标",
        "补助资金拨付时间",
        "2023年12月底前",
        "2023年12月",
        "10",
    )
    assert [i.declared_code for i in project.indicators] == ["11", "12", "13", "22", "31"]
    assert [(s.line, s.reason) for s in found.skipped] == [(15, "合计行 total row")]


def test_read_found_single_spaced_rows_with_project_columns_and_wrapped_values() -> None:
    found = _read("single_spaced_projects.txt")
    first, second = found.projects
    assert (first.name, first.department, first.budget, first.line) == (
        "草原防火物资购置",
        "某旗林业和草原局",
        86.0,  # 860,000.00 under "单位:元"
        7,
    )
    assert first.goal == "购置扑火机具和防护装备，提升森林草原火灾扑救能力。"
    # 指标性质 | 指标方向 hold 正向 | 大于等于: the comparator is composed into the value.
    assert [(i.declared_code, i.name, i.annual_value, i.weight) for i in first.indicators[:4]] == [
        ("11", "购置风力灭火机数量", "≥40台", "10"),
        ("12", "物资验收合格率", "100%", "10"),
        ("13", "物资采购完成时间", "10月底之前", "10"),  # value and weight on the lines below
        ("14", "单台灭火机购置成本", "≤0.6万元", "10"),
    ]
    assert (first.indicators[4].annual_value, first.indicators[4].declared_code) == ("明显缩短", "22")
    # A row without a category under a project is an indicator of it, not a new project.
    assert [(i.name, i.declared_l2, i.annual_value) for i in second.indicators] == [
        ("聘用护林员人数", "数量指标", "≥120人"),
        ("巡护覆盖率", "数量指标", "≥95%"),
        ("护林员满意度", "服务对象满意度", "≥90%"),
    ]
    assert found.skipped == ()


def test_read_found_cell_per_line_basis_column_and_values_that_start_like_keys() -> None:
    found = _read("cell_per_line_basis.txt")
    project = found.projects[0]
    assert (project.name, project.department, project.budget) == ("城区公厕保洁服务", "某市城市管理局", 120.0)
    got = [(i.declared_code, i.name, i.annual_value, i.basis) for i in project.indicators]
    assert got[:2] == [
        ("11", "保洁公厕座数", "86", "计划标准"),
        ("11", "保洁人员配备人数", "172", "计划标准"),
    ]
    # "控制在合同预算内" starts like the key 预算 but is a name under the header; its value is no name.
    assert got[3] == ("14", "控制在合同预算内", "控制在预算内", "计划标准")
    assert got[5] == ("31", "满意度", "90%", "计划标准")  # a bare label with a value is the name
    assert found.skipped == ()  # "其他需说明的问题" closes the table


def test_read_found_names_only_table_flattened_to_one_line() -> None:
    found = _read("names_only_flattened.txt")
    project = found.projects[0]
    assert (project.name, project.department, project.budget) == ("残疾人托养服务补助资金", "省残联", 2100.0)
    assert [i.name for i in project.indicators] == [
        "居家托养补助人数",
        "机构托养补助人数",
        "补贴托养机构个数",
        "托养服务人员培训人次",  # the line broke inside the name
        "托养补助标准执行达标率",
        "托养机构年检合格率",
        "托养残疾人家庭负担减轻程度",
        "托养残疾人满意度",  # not the label 满意度指标 of "…满意度 指标值"
    ]
    assert [(i.declared_code, i.annual_value) for i in project.indicators[-2:]] == [("22", ""), ("31", "")]
    assert [s.text for s in found.skipped] == ["绩效指标", "指标值"]


def test_read_found_run_together_names_with_numbers_and_glued_amounts() -> None:
    project = _read("run_together_lists.txt").projects[0]
    assert (project.name, project.department, project.budget) == ("县级应急物资储备", "某县应急管理局", None)
    got = [(i.declared_code, i.name, i.annual_value, i.actual_value) for i in project.indicators]
    assert got[0] == ("11", "3000顶帐篷、2000床棉被储备到位率", "100%", "100%")
    assert got[3] == ("13", "应急物资调拨响应时间", "≤2小时", "1.5小时")
    assert got[4] == ("22", "因物资短缺引起的救助延误事件数", "0起", "0起")
    assert project.indicators[2].deviation_reason == "部分棉被受潮"


def test_read_narrative_targets_section_shared_values_and_numbered_items() -> None:
    indicators = _read_as_found("narrative_targets.txt")
    got = {i.name: (i.annual_value, i.actual_value) for i in indicators}
    assert len(indicators) == 11
    # Under "三、绩效目标" the "name value" parts are targets; "全县" is no part of the name.
    assert got["农村公路日常养护里程"] == ("860公里", "")
    assert got["往返县城、乡镇的养护巡查车辆"] == ("4辆", "")  # 、 inside a name does not cut it
    assert got["路面病害处治及时率"] == ("95%", "97%")  # "1)" numbering dropped
    assert got["养护资金拨付及时率(%)"] == ("100", "100")
    assert [got[n] for n in ("路况检测合格率", "桥涵完好率", "安全设施完好率")] == [("", "100%")] * 3
    assert not any("预算" in name or "执行数" in name for name in got)  # the budget is no indicator


def test_read_narrative_lists_in_cells_under_a_label_cell() -> None:
    indicators = _read_as_found("narrative_in_cells.txt")
    assert {(i.project, i.department) for i in indicators} == {("文化馆免费开放", "某区文化和旅游局")}
    assert [(i.line, i.declared_l1, i.name, i.annual_value) for i in indicators] == [
        (4, "产出指标", "举办公益培训班", "12期"),
        (4, "产出指标", "开展文艺演出场次", "20场"),
        (4, "产出指标", "免费开放天数", "≥300天"),
        # A pipe line is never joined to the next as a wrapped one.
        (5, "效益指标", "受益群众人次", "≥5万人次"),
        (5, "效益指标", "基层文艺团队数量", "15支"),
        (6, "满意度指标", "参与群众满意度", "≥90%"),
    ]


def test_read_found_budget_page_without_indicators_is_none() -> None:
    lines = (LAYOUTS / "negative_budget.txt").read_text(encoding="utf-8").split("\n")
    assert read_found(lines, "negative_budget.txt") is None
    assert read_narrative(lines, "negative_budget.txt") is None


def test_read_found_lists_rows_it_does_not_take() -> None:
    lines = [
        "一级指标 | 二级指标 | 三级指标 | 指标值",
        "产出指标 | 数量指标 | 培训人数 | 50人",
        "  |  |  | 30人",
    ]
    found = read_found(lines, "t.txt")
    assert found is not None
    assert [(s.line, s.reason) for s in found.skipped] == [(3, "无指标名称 no indicator name")]
    assert [p.code for p in found.problems] == ["E007"]


def test_read_narrative_report() -> None:
    lines = (LAYOUTS / "narrative.txt").read_text(encoding="utf-8").split("\n")
    assert read_found(lines, "narrative.txt") is None
    found = read_narrative(lines, "narrative.txt")
    assert found is not None and found.layout == "narrative"
    project = found.projects[0]
    assert (project.name, project.department) == ("农村饮水安全维修养护", "某县水利局")
    assert [(i.declared_l2, i.name, i.annual_value, i.actual_value) for i in project.indicators] == [
        ("数量指标", "维修养护供水工程处数", "≥40处", "45处"),
        ("数量指标", "更换老旧管网长度", "约12公里", "约13.5公里"),
        ("质量指标", "维修工程验收合格率", "100%", "100%"),
        ("时效指标", "维修任务完成时间", "2023年11月底前", "2023年11月"),
        ("社会效益指标", "保障农村人口饮水安全", "≥10000人", "12000人"),
        ("", "受益群众满意度", "≥90%", "93%"),
    ]
    assert project.indicators[-1].declared_code == "31"  # under the 满意度指标 heading


@pytest.mark.parametrize(
    ("text", "cells"),
    [
        ("a | b | c", ["a", "b", "c"]),
        ("| a | b |", ["a", "b"]),
        ("a｜b│c", ["a", "b", "c"]),
        ("产出指标  数量指标\u3000\u3000人数", ["产出指标", "数量指标", "人数"]),
        ("|---|---|", []),
    ],
    ids=["pipes", "bordered", "wide-pipes", "space-runs", "rule"],
)
def test_split_cells(text: str, cells: list[str]) -> None:
    assert split_cells(text) == cells


def test_cell_kinds() -> None:
    assert [category(t) for t in ("产出目标", "產出指標", "11-数量指标", "补助人数")] == [
        "产出指标",
        "产出指标",
        "数量指标",
        None,
    ]
    assert [is_value(t) for t in ("≥95%", "2024年底前", "良好", "补助发放及时率")] == [
        True,
        True,
        True,
        False,
    ]
    assert split_run("产出指标数量指标新建保鲜库数量1座") == ["产出指标", "数量指标", "新建保鲜库数量", "1座"]


# ---------------------------------------------------------------------------------------- property test

TABLE = [
    ("产出指标", "数量指标", "补贴发放人数", "≥120人"),
    ("产出指标", "数量指标", "举办招聘会场次", "6场"),
    ("产出指标", "质量指标", "补贴发放准确率", "100%"),
    ("产出指标", "时效指标", "补贴发放及时率", "≥95%"),
    ("效益指标", "社会效益指标", "城镇新增就业人数", "≥500人"),
    ("效益指标", "可持续影响指标", "就业服务长效机制", "逐步健全"),
    ("满意度指标", "服务对象满意度指标", "服务对象满意度", "≥90%"),
]
FURNITURE = [
    "当前位置：首页 > 政务公开",
    "发布时间：2024-03-01 10:00",
    "【打印】【关闭】",
    "版权所有：某市人民政府",
]


@st.composite
def rendered(draw: st.DrawFn) -> list[str]:
    separator = draw(st.sampled_from(["\t", " | ", "    ", "cell"]))
    rows: list[list[str]] = []
    previous: tuple[str, ...] = ()
    for row in TABLE:
        cells = list(row)
        if separator != "\t":  # tab grids keep empty cells; the others drop carried-down ones
            if previous and row[0] == previous[0] and draw(st.booleans()):
                cells[0] = ""
                if row[1] == previous[1] and draw(st.booleans()):
                    cells[1] = ""
        elif previous and row[0] == previous[0]:
            cells[0] = ""
        rows.append(cells)
        previous = row
    header = ["一级指标", "二级指标", "三级指标", "指标值"]
    if separator == "cell":
        body = [*header, *[c for row in rows for c in row if c]]
    elif separator == "\t":
        body = ["\t".join(header), *["\t".join(row) for row in rows]]
    else:
        body = [separator.join(header), *[separator.join(c for c in row if c) for row in rows]]
    before = draw(st.lists(st.sampled_from(FURNITURE), max_size=3))
    after = draw(st.lists(st.sampled_from(FURNITURE), max_size=3))
    return ["项目名称：就业补助资金", *before, *body, *after]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rendered())
def test_read_found_same_records_whatever_the_rendering(lines: list[str]) -> None:
    found = read_found(lines, "prop.txt")
    assert found is not None
    assert [p.name for p in found.projects] == ["就业补助资金"]
    got = [(i.declared_l1, i.declared_l2, i.name, i.annual_value) for i in _indicators(found)]
    assert got == TABLE
    assert found.skipped == ()


# ------------------------------------------------------------------------------------------ labelled lists


def _read_as_found(name: str) -> list[Indicator]:
    from nlp.readers.text import read_as_found

    lines = (LAYOUTS / name).read_text(encoding="utf-8").split("\n")
    document = read_as_found(lines, name)
    assert document is not None, f"{name}: nothing read"
    return list(document.indicators)


def test_read_labelled_bracketed_and_wrapped_labels_with_odd_comparators() -> None:
    indicators = _read_as_found("labelled_list.txt")
    assert [(i.project, i.declared_l1, i.declared_l2, i.name, i.annual_value) for i in indicators] == [
        ("青溪县城区供水管网改造项目", "产出指标", "数量指标", "改造供水管网长度", "≥12公里"),
        ("青溪县城区供水管网改造项目", "产出指标", "质量指标", "管网验收合格率", "≥98%"),
        ("青溪县城区供水管网改造项目", "产出指标", "时效指标", "完工时间", "2024年11月底前"),
        ("青溪县城区供水管网改造项目", "效益指标", "社会效益指标", "受益居民户数", "≥4200户"),
        ("青溪县城区供水管网改造项目", "满意度指标", "服务对象满意度指标", "居民满意度", ">90%"),
        ("青溪县农村饮水安全巩固项目", "产出指标", "数量指标", "维修集中供水工程", "≥6处"),
        ("青溪县农村饮水安全巩固项目", "效益指标", "可持续影响指标", "工程持续运行", "长期稳定运行"),
    ]


@pytest.mark.parametrize(
    ("text", "levels"),
    [
        ("【产出指标-数量指标】", ("产出指标", "数量指标")),
        ("【效益指标/生态效益指标】", ("效益指标", "生态效益指标")),
        ("产 出 指 标", ("产出指标", "")),
        ("社会效益指标", ("", "社会效益指标")),
        ("指标1:机房数量(≥2间)", None),
        ("【项目概况】", None),
    ],
    ids=["bracketed", "slash", "spaced", "bare-l2", "item", "not-a-label"],
)
def test_label_levels(text: str, levels: tuple[str, str] | None) -> None:
    from nlp.readers.labelled import label_levels

    assert label_levels(text) == levels


def test_read_narrative_sentences_targets_traditional_and_wrapped() -> None:
    got = {i.name: (i.annual_value, i.actual_value) for i in _read_as_found("narrative_sentences.txt")}
    # "绩效目标：X≥v；…" lists targets even in a report on what was achieved.
    assert got["工程验收合格率"] == ("≥100%", "")
    assert got["受益农户数"] == ("≥86户", "")
    # Traditional "績效目標值是…，實際完成值為…", several in one comma run.
    assert got["道路完工时间"] == ("2023年10月前", "2023年10月前")
    assert got["新建排水边沟"] == ("800米", "820米")
    # "2.效益指标全部完成，带动务工人数32人": the heading is no indicator.
    assert got["带动务工人数"] == ("", "32人")
    # "设 1条质量指标:" wrapped onto the next line.
    assert got["修复路面坑槽"] == ("≥150平方米", "")
    assert got["路面平整度达标率"] == ("≥90%", "")
    assert not any("指标" in name or "目标" in name for name in got)


def test_read_found_run_together_self_evaluation_rows_keep_target_and_achieved_apart() -> None:
    found = _read("run_together_self_eval.txt")
    rows = [(i.name, i.annual_value, i.actual_value) for i in _indicators(found)]
    assert rows == [
        ("新建集中供水工程", "3处", "3处"),
        ("改造供水管网", "≥20公里", "21.6公里"),
        ("水质检测合格率", "≥95%", "97%"),
        ("工程完工时间", "11月", "已完成"),
        ("单处工程建设成本", "≤40万元", "39.5万元"),
        ("受益人口", "≥8000人", "8350人"),
        ("受益群众满意度", "≥90%", "93%"),
        # a target stated against last year, the achieved value repeating its end in words
        ("带动农户增收", "同比上年明显增加", "明显增加"),
        # the 二级 printed twice (a merged cell read twice)
        ("供水工程设计使用年限", "≥20年", "20年"),
    ]
    codes = [i.declared_code for i in _indicators(found)]
    assert codes == ["11", "11", "12", "13", "14", "22", "31", "21", "24"]


def test_read_found_note_row_inside_a_pipe_table_is_reported_and_the_table_goes_on() -> None:
    found = _read("note_inside_pipe.txt")
    names = [i.name for i in _indicators(found)]
    assert names == [
        "整治危险路段",
        "工程验收合格率",
        "整治完成时间",
        "农村公路交通事故起数",
        "沿线群众满意度",
    ]
    assert [(i.declared_l2, i.annual_value) for i in _indicators(found)][2] == ("时效指标", "2024年10月底前")
    assert [(s.line, s.reason) for s in found.skipped] == [
        (6, "表内单格行 a one-cell row inside the table: a note or heading")
    ]
    assert found.skipped[0].text.startswith("说明：危险路段")


def test_read_found_note_after_the_last_row_still_ends_the_table() -> None:
    lines = [
        "一级指标 | 二级指标 | 三级指标 | 指标值",
        "产出指标 | 数量指标 | 新建保鲜库 | 1座",
        "说明：本表由单位填写",
    ]
    lines += ["项目名称 | 另一个项目", "资金来源 | 金额", "财政拨款 | 10.00"]
    found = read_found(lines, "a.txt")
    assert found is not None
    assert [i.name for i in _indicators(found)] == ["新建保鲜库"]
    assert found.skipped == ()


def test_read_found_short_names_under_a_self_evaluation_header_are_names_not_units() -> None:
    rows = [(i.name, i.annual_value, i.actual_value) for i in _indicators(_read("self_eval_short_names.txt"))]
    assert rows[1:4] == [
        ("梨种植面积", "3亩", "3亩"),
        ("桃种植面积", "2亩", "2亩"),
        ("李种植面积", "1.5亩", "1.5亩"),
    ]
    assert rows[5:7] == [("鸭养殖数量", "300只", "300只"), ("猪养殖数量", "45头", "45头")]


def test_read_found_one_cell_a_line_a_name_with_bracketed_notes_starts_the_next_row() -> None:
    rows = _indicators(_read("cell_per_line_noted_names.txt"))
    assert [i.name for i in rows] == [
        "★★★城市低保对象人数(按月平均)(≥**人)",
        "★★★其中:低保对象中残疾人数量(按月平均)(≥**人)",
        "特困人员救助供养人数(按月平均)(≥**人)",
        "城市低保标准(≥**元/人·月)",
    ]
    assert (rows[0].annual_value, rows[0].actual_value, rows[0].score) == (">=1200人", "1185人", "9")
    assert rows[0].deviation_reason == "低保对象实行动态管理"
    assert rows[1].deviation_reason == ""


def test_read_found_explanation_cells_describe_the_name_before_them() -> None:
    rows = _indicators(_read("run_together_explained.txt"))
    assert [(i.name, i.description, i.annual_value) for i in rows] == [
        ("电梯维保次数", "反映全年电梯维护保养情况", "24次"),
        ("消防设施巡检次数", "反映消防设施巡查检查情况", "12次"),
        ("维修验收合格率", "反映维修工程验收情况", "≥95%"),
        ("报修响应时间", "反映报修后到场处理的及时情况", "≤2小时"),
    ]


def test_read_narrative_run_on_sentences_split_at_values_and_labels() -> None:
    lines = (LAYOUTS / "narrative_run_on.txt").read_text(encoding="utf-8").split("\n")
    found = read_narrative(lines, "narrative_run_on.txt")
    assert found is not None
    rows = _indicators(found)
    assert [(i.declared_l2, i.name) for i in rows] == [
        ("数量指标", "补贴发放人数"),
        ("质量指标", "补贴发放准确率"),
        ("质量指标", "补贴覆盖率"),
        ("质量指标", "资金到位率"),
        ("时效指标", "补贴资金每月底前发放"),
        ("成本指标", "护理补贴标准执行"),
        ("社会效益指标", "残疾人生活水平(≥**%)"),
        ("服务对象满意度指标", "受补贴残疾人满意度"),
    ]
    assert (rows[0].annual_value, rows[0].actual_value) == ("=2600人", "2650人")
    assert (rows[4].annual_value, rows[4].actual_value) == ("100%", "100%")
    assert rows[6].annual_value == "≥95%"


@pytest.mark.parametrize(
    ("text", "cells"),
    [
        (
            "社会效益指标 巩固脱贫成果 巩固脱贫成果 达成预期指标 10 10",
            ["社会效益指标", "巩固脱贫成果", "巩固脱贫成果", "达成预期指标", "10", "10"],
        ),
        (
            "满意度指标 群众参与热情高涨 参与热情高涨 10",
            ["满意度指标", "群众参与热情高涨", "参与热情高涨", "10"],
        ),
        (
            "产出指标 成本指标 检查差旅费 470 人/天 2",
            ["产出指标", "成本指标", "检查差旅费", "470", "人/天", "2"],
        ),
    ],
    ids=["repeated", "restated-end", "plain"],
)
def test_single_spaced_words_that_restate_the_name_are_cells_of_their_own(
    text: str, cells: list[str]
) -> None:
    from nlp.readers.rows import tokens

    assert tokens(text) == cells


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("种植作物成活率(≥**%)>=85", ("种植作物成活率(≥**%)", ">=85")),
        ("新建保鲜库数量1座", ("新建保鲜库数量", "1座")),
    ],
    ids=["bracketed-hint", "plain"],
)
def test_split_value_never_ends_a_name_inside_its_brackets(text: str, parts: tuple[str, str]) -> None:
    from nlp.readers.rows import split_value

    assert split_value(text) == parts
