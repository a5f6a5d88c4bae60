"""Specification of the boilerplate finder (nlp/cluster.py).

Small synthetic records pin the behaviour; the seed corpus is measured against a gold list of boilerplate
groups written by reading the documents (tests/fixtures/boilerplate_gold.json).
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import re
import time
import unicodedata
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from nlp import cluster as cl
from nlp.cli import main
from nlp.cluster import (
    CLUSTER_COLUMNS,
    DEFAULT_THRESHOLDS,
    LEVELS,
    Cluster,
    cluster_goals,
    cluster_indicators,
    cluster_sets,
    find_clusters,
    indicator_text,
    inline_diff,
    normalise,
)
from nlp.errors import ZhibiaoError
from nlp.records import Document, Indicator, Project
from nlp.report import write_clusters

GOLD = Path(__file__).resolve().parent / "fixtures" / "boilerplate_gold.json"
GRID = [round(0.3 + 0.05 * i, 2) for i in range(13)]  # 0.30 … 0.90

RENT = "通过项目的实施,包括人员工资、公积金、社会保险缴费、绩效奖励、公用经费等支出,激励租赁人员的工作积极性,有力促进社保队伍的建设。保障番禺区社会保险工作的顺利开展。"


def project(
    goal: str,
    *,
    doc: str = "a.txt",
    department: str = "甲单位",
    name: str = "项目",
    line: int = 1,
    indicators: tuple[tuple[str, str], ...] = (),
) -> Project:
    inds = tuple(
        Indicator(
            doc,
            department,
            name,
            goal,
            None,
            "classic",
            "产出指标",
            "数量指标",
            "11",
            n,
            annual_value=v,
            line=line + k,
        )
        for k, (n, v) in enumerate(indicators)
    )
    return Project(doc, department, name, goal, None, "classic", line, inds)


def goals(*texts: str) -> list[Project]:
    return [project(t, name=f"项目{i}", line=i + 1, department=f"单位{i % 3}") for i, t in enumerate(texts)]


def clustered_lines(clusters: list[Cluster]) -> list[set[int]]:
    return [{m.line for m in c.members} for c in clusters]


# ------------------------------------------------------------------------------------- normalising


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("穗财社〔2023〕33号", "穗财社[2015]69号"),
        ("实施2024年产业人才新政", "实施2023年产业人才新政"),
        ("年度指标值：≥95%", "年度指标值:＞90%"),
        ("达到95%以上", "100%"),
        ("保障番禺区社会保险工作，顺利开展。", "保障番禺区社会保险工作, 顺利开展"),
        ("ＡＢＣ资金", "abc资金"),
    ],
    ids=[
        "document-number",
        "year",
        "comparator-and-width",
        "qualifier-words",
        "punctuation-space",
        "nfkc-case",
    ],
)
def test_normalise_makes_copies_with_other_numbers_and_punctuation_equal(a: str, b: str) -> None:
    assert normalise(a) == normalise(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [("100%", "100人"), ("支付及时率", "支付准确率"), ("社会保险", "公费医疗")],
    ids=["percent-vs-unit", "different-words", "different-programme"],
)
def test_normalise_keeps_what_tells_texts_apart(a: str, b: str) -> None:
    assert normalise(a) != normalise(b)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "保障番禺区社会保险工作的顺利开展",
            "保障番禺区公费医疗审核等工作的顺利开展",
            "保障番禺区[-社会保险-]{+公费医疗审核等+}工作的顺利开展",
        ),
        ("保障事业单位参保人员", "保障其他行政事业单位参保人员", "保障{+其他行政+}事业单位参保人员"),
        ("支出，激励租赁人员", "支出,激励租赁人员", ""),
        ("资金到位率；满意度", "资金到位率；满意度", ""),
        (
            "一二三四五六七八九十一二三四五六七八九十改",
            "一二三四五六七八九十一二三四五六七八九十换",
            "…三四五六七八九十[-改-]{+换+}",
        ),
    ],
    ids=["replace", "insert", "punctuation-only-is-no-edit", "identical", "long-context-elided"],
)
def test_inline_diff_marks_insertions_and_deletions(old: str, new: str, expected: str) -> None:
    assert inline_diff(old, new) == expected


def test_inline_diff_of_name_lists_marks_whole_names() -> None:
    old = ["享受社会保险补贴人数", "补贴准确率", "项目成本"]
    new = ["享受医疗救助补贴人数", "补贴准确率", "项目成本"]
    assert inline_diff(old, new) == "[-享受社会保险补贴人数-]{+享受医疗救助补贴人数+}；补贴准确率；项目成本"


# ------------------------------------------------------------------------------------------ goals


def test_goal_copies_with_another_year_and_document_number_cluster_together() -> None:
    texts = (
        "根据穗财社〔2023〕33号文，2024年对小微企业劳动关系事务提供一揽子服务，规范小微企业劳动用工行为。",
        "根据穗财社[2022]34号文，2023年对小微企业劳动关系事务提供一揽子服务，规范小微企业劳动用工行为。",
        "组织职工参加各类文体、培训、慰问等活动，丰富职工的业余生活，增加工会的凝聚力和向心力。",
    )
    clusters = cluster_goals(goals(*texts))
    assert clustered_lines(clusters) == [{1, 2}]
    assert clusters[0].members[1].similarity == 1.0


def test_goal_template_with_one_word_changed_forms_one_cluster_across_departments() -> None:
    texts = [
        RENT,
        RENT.replace("社会保险工作", "公费医疗审核等工作"),
        RENT.replace("社会保险工作", "社会化管理退休人员管理服务工作"),
    ]
    clusters = cluster_goals(goals(*texts))
    assert len(clusters) == 1
    (cluster,) = clusters
    assert (cluster.size, len(cluster.departments)) == (3, 3)
    assert all("[-" in m.diff or "{+" in m.diff for m in cluster.members[1:])
    assert cluster.members[0].diff == "" and cluster.members[0].text == cluster.representative


def test_goals_that_only_share_stock_phrases_are_not_merged() -> None:
    # 就业补助 and 退休人员补贴 goals both end in the same slogan; the programmes differ.
    texts = (
        "资金按规定用于社会保险补贴、一次性创业资助、求职创业补贴，确保完成年度新增就业目标任务，促进社会和谐稳定。",
        "体现国家和社会对建国初期参加革命工作退休干部的关怀和重视，及时足额发放补贴，促进社会和谐稳定。",
        "对符合发放就业创业补贴、社会保险补贴、职业培训补贴、岗位补贴的人员和企业进行补贴，促进社会和谐稳定。",
    )
    assert cluster_goals(goals(*texts)) == []


@pytest.mark.parametrize(
    "texts",
    [
        ("1、及时支付", "1、及时支付率", "及时支付"),
        ("1、完成率", "2、完成率2", "完成率"),
        ("无", "有", "无无"),
    ],
    ids=["short-variants", "short-numbered", "single-characters"],
)
def test_short_goals_join_only_exact_copies(texts: tuple[str, ...]) -> None:
    clusters = cluster_goals(goals(*texts, texts[0]))
    assert [{normalise(m.text) for m in c.members} for c in clusters] == [{normalise(texts[0])}]


def test_exact_copies_are_counted_and_items_in_no_cluster_are_left_out() -> None:
    texts = [RENT] * 4 + ["根据工作安排，更新购置电脑等设备，以提升办公效率和安全性。"]
    (cluster,) = cluster_goals(goals(*texts))
    assert cluster.size == 4 and cluster.mean_similarity == 1.0
    assert 5 not in {m.line for m in cluster.members}


def test_cluster_is_a_frozen_record_with_the_medoid_as_representative() -> None:
    base = "保障事业单位参保人员的基本医疗，合理、合规、及时支付相关医疗经费。"
    texts = (base, base.replace("事业单位", "行政单位"), base.replace("事业单位", "其他行政事业单位"), base)
    (cluster,) = cluster_goals(goals(*texts))
    assert cluster.representative == base  # the text closest to all others, and the most repeated
    assert cluster.id == "G001" and cluster.level == "goals" and cluster.size == 4
    assert (
        sorted(m.similarity for m in cluster.members)[0] < 1.0 <= max(m.similarity for m in cluster.members)
    )
    assert cluster.mean_similarity == pytest.approx(
        sum(m.similarity for m in cluster.members[1:]) / 3, abs=1e-3
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        cluster.size = 1  # type: ignore[misc]


def test_clusters_come_largest_first_with_ids_in_that_order() -> None:
    other = "组织职工参加各类文体、培训、慰问等活动，丰富职工的业余生活，增加工会的凝聚力和向心力。"
    clusters = cluster_goals(goals(other, RENT, other, RENT, RENT))
    assert [(c.id, c.size) for c in clusters] == [("G001", 3), ("G002", 2)]


def test_linking_verifies_far_fewer_pairs_than_all_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    calls = 0
    real = cl.jaccard

    def counting(a: frozenset[str], b: frozenset[str]) -> float:
        nonlocal calls
        calls += 1
        return real(a, b)

    monkeypatch.setattr(cl, "jaccard", counting)
    rng = random.Random(3)
    alphabet = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    texts = ["".join(rng.choices(alphabet, k=60)) for _ in range(800)] + [RENT] * 200
    clusters = cluster_goals(goals(*texts))
    assert [c.size for c in clusters] == [200]
    assert calls < len(texts)  # all pairs would be ~500,000


# ------------------------------------------------------------------------------------ indicators


def test_indicator_that_is_its_own_target_value_clusters_across_projects() -> None:
    slogan = "提升参保群众的幸福感，营造稳定、和谐、安全的社会环境"
    projects = [
        project(
            "", name=f"项目{i}", line=10 * i, indicators=((slogan, slogan), ("资助人数", f"约{40 + i}人"))
        )
        for i in range(3)
    ]
    clusters = cluster_indicators(i for p in projects for i in p.indicators)
    texts = sorted({m.text for c in clusters for m in c.members})
    assert texts == sorted({indicator_text(i) for p in projects for i in p.indicators})
    assert sorted(c.size for c in clusters) == [3, 3]


def test_short_indicators_that_differ_in_one_word_stay_apart() -> None:
    pairs = (
        ("资金支付及时率", "100%"),
        ("经费支付及时率", "100%"),
        ("经费支付到位率", "100%"),
        ("验收合格率", "100%"),
        ("项目活动验收合格率", "100%"),
    )
    p = project("", indicators=pairs)
    assert cluster_indicators(p.indicators) == []


# ------------------------------------------------------------------------------------------- sets


def test_projects_sharing_an_indicator_set_word_for_word_cluster() -> None:
    names = (
        ("参加竞赛人数", "50人以上"),
        ("授予“工人先锋号”称号", "1个"),
        ("授予“番禺工匠”称号", "3名"),
        ("通过竞赛发扬工匠精神，提升技能水平", "持续提升"),
    )
    projects = [
        project("", name="南粤家政项目资金", indicators=names, line=1),
        project("", name="粤菜师傅工程项目资金", indicators=names, line=20),
        project(
            "",
            name="工会经费",
            indicators=(("职工人数", "51人"), ("调查对象满意度", "≥90%"), ("投诉处理满意率", "≥90%")),
            line=40,
        ),
    ]
    (cluster,) = cluster_sets(projects)
    assert {m.project for m in cluster.members} == {"南粤家政项目资金", "粤菜师傅工程项目资金"}
    assert cluster.mean_similarity == 1.0 and "；" in cluster.representative


def test_indicator_set_with_one_name_changed_still_clusters_and_the_diff_names_it() -> None:
    base = [
        "享受社会保险补贴人数",
        "补贴准确率",
        "资金在规定时间下达率",
        "项目成本",
        "资金支付及时率",
        "努力构建和谐社会关系",
        "服务对象满意度",
        "居民幸福指数系",
    ]
    changed = ["享受医疗救助补贴人数", *base[1:]]
    projects = [
        project("", name=n, line=k * 20, indicators=tuple((x, "≥98%") for x in names))
        for k, (n, names) in enumerate((("甲", base), ("乙", base), ("丙", changed)))
    ]
    (cluster,) = cluster_sets(projects)
    assert cluster.size == 3
    assert "{+享受医疗救助补贴人数+}" in next(m.diff for m in cluster.members if m.project == "丙")


def test_sets_ignore_a_definition_glued_to_a_name() -> None:
    a = (("支出的相关性", "相关"), ("支付合规率", "100%"), ("保障工作正常开展", "正常开展"))
    b = (
        ("支出的相关性", "相关"),
        ("支付合规率-项目的实际支出符合国家财经法规和财务管理制度规定", "合规"),
        ("保障工作正常开展", "正常开展"),
    )
    (cluster,) = cluster_sets(
        [project("", name="a", indicators=a), project("", name="b", line=9, indicators=b)]
    )
    assert cluster.size == 2


# ---------------------------------------------------------------------------------- errors & output


def test_unknown_level_is_refused_with_the_levels_to_use() -> None:
    with pytest.raises(
        ZhibiaoError, match=r"\[E040\] Unknown level 'words'. Use one of goals, indicators, sets."
    ):
        find_clusters([], level="words")


@pytest.mark.parametrize("threshold", [0.0, -0.2, 1.5], ids=["zero", "negative", "above-one"])
def test_threshold_outside_zero_to_one_is_refused(threshold: float) -> None:
    with pytest.raises(ZhibiaoError, match=r"\[E041\] Threshold .* is out of range"):
        cluster_goals(goals(RENT, RENT), threshold=threshold)


def test_unsupported_output_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ZhibiaoError, match=r"\[E042\] .*clusters.pdf: cannot write clusters as '.pdf'"):
        write_clusters([], tmp_path / "clusters.pdf")


def _sample_clusters() -> list[Cluster]:
    texts = [
        RENT,
        RENT.replace("社会保险", "公费医疗审核等"),
        "<script>alert('x')</script>" + RENT[:50],
        "<script>alert('x')</script>" + RENT[:50],
    ]
    return cluster_goals(goals(*texts))


def test_csv_has_one_row_per_member_with_the_required_columns(tmp_path: Path) -> None:
    clusters = _sample_clusters()
    path = write_clusters(clusters, tmp_path / "out" / "clusters.csv")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == CLUSTER_COLUMNS
    assert {
        "cluster_id",
        "size",
        "doc",
        "department",
        "project",
        "line",
        "text",
        "representative",
        "similarity",
    } <= set(CLUSTER_COLUMNS)
    assert len(rows) == sum(c.size for c in clusters)
    assert {r["text"] for r in rows} == {m.text for c in clusters for m in c.members}


def test_xlsx_holds_the_same_rows(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    clusters = _sample_clusters()
    sheet = load_workbook(write_clusters(clusters, tmp_path / "clusters.xlsx")).active
    values = list(sheet.values)
    assert values[0] == CLUSTER_COLUMNS and len(values) == 1 + sum(c.size for c in clusters)


def test_html_is_self_contained_escaped_and_highlights_differences(tmp_path: Path) -> None:
    html = write_clusters(_sample_clusters(), tmp_path / "clusters.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "套话与重复内容" in html and "代表文本" in html
    assert "<del>社会保险</del>" in html and "<ins>公费医疗审核等</ins>" in html
    assert not re.search(r"<(link|script)\b[^>]*(href|src)=", html)


def test_cli_prints_the_largest_clusters_without_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "plan.txt"
    doc.write_text(
        _inline_document(
            [
                ("租赁岗位合同工经费", RENT),
                ("租赁岗位合同工经费", RENT.replace("社会保险", "公费医疗")),
                ("工会经费", "组织职工参加各类文体、培训、慰问等活动，丰富职工的业余生活。"),
            ]
        ),
        encoding="utf-8",
    )
    assert main(["cluster", str(doc), "--level", "goals"]) == 0
    out = capsys.readouterr().out
    assert "G001" in out and "2 处" in out and "组织职工" not in out


def test_cli_writes_the_file_named_by_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "plan.txt"
    doc.write_text(_inline_document([("甲", RENT), ("乙", RENT)]), encoding="utf-8")
    out = tmp_path / "goals.csv"
    assert main(["cluster", str(doc), "--out", str(out), "--threshold", "0.9"]) == 0
    assert out.exists() and "Wrote 1 clusters" in capsys.readouterr().out


def test_cli_help_states_the_default_thresholds(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["cluster", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for level, threshold in DEFAULT_THRESHOLDS.items():
        assert f"{level} {threshold}" in help_text


def _inline_document(projects: list[tuple[str, str]]) -> str:
    """A minimal inline-layout table (the layout of seed files 000/003/004)."""
    lines = [
        "## 项目支出绩效目标表（含转移支付项目）",
        "",
        "部门名称：测试单位",
        "",
        "单位：万元",
        "",
        "项目名称（资金使用单位）\t总计\t财政拨款\t财政专户拨款\t其他资金\t绩效目标\t绩效指标",
    ]
    for name, goal in projects:
        lines.append(
            f"{name}\t10.00\t10.00\t\t\t{goal}\t1、1-产出指标；11-数量指标；资助人数；实施周期指标值:40人；"
            "年度指标值:40人。2、2-效益指标；22-社会效益；支出的合规性；实施周期指标值:合规；年度指标值:合规。"
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------- the seed corpus


def squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text))


@pytest.fixture(scope="module")
def seed_documents(raw_dir: Path) -> list[Document]:
    from nlp.parse import parse_paths

    return parse_paths([str(raw_dir)])


@pytest.fixture(scope="module")
def gold() -> dict[str, Any]:
    return json.loads(GOLD.read_text(encoding="utf-8"))


def _records(level: str, documents: list[Document]) -> list[Any]:
    projects = [p for d in documents for p in d.projects]
    return [i for p in projects for i in p.indicators] if level == "indicators" else projects


def _matches(level: str, member: dict[str, str], record: Any) -> bool:
    name = record.project if level == "indicators" else record.name
    if not (Path(record.doc).name.startswith(member["doc"]) and squash(name) == squash(member["project"])):
        return False
    if "goal" in member and squash(member["goal"]) not in squash(record.goal):
        return False
    if level != "indicators":
        return True
    return squash(record.name) == squash(member["name"]) and (
        "value" not in member or squash(member["value"]) == squash(record.value)
    )


def _gold_labels(
    level: str, records: list[Any], gold: dict[str, Any]
) -> tuple[dict[int, int], set[tuple[int, int]]]:
    """Record index -> gold group, and the unscored pairs inside 'related' entries."""
    group: dict[int, int] = {}
    for number, entry in enumerate(gold[level]["groups"]):
        for member in entry["members"]:
            for k, record in enumerate(records):
                if _matches(level, member, record):
                    assert group.setdefault(k, number) == number, f"{member} is in two gold groups"
    related: set[tuple[int, int]] = set()
    for entry in gold[level]["related"]:
        ks = sorted({k for m in entry["members"] for k, r in enumerate(records) if _matches(level, m, r)})
        related.update(itertools.combinations(ks, 2))
    return group, related


def _cluster_of(level: str, records: list[Any], clusters: list[Cluster]) -> list[str | None]:
    index: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for k, r in enumerate(records):
        if level == "indicators":
            index[(r.doc, r.project, r.line, indicator_text(r))].append(k)
        else:
            index[(r.doc, r.name, r.line, None)].append(k)
    label: list[str | None] = [None] * len(records)
    for c in clusters:
        for m in c.members:
            for k in index[(m.doc, m.project, m.line, m.text if level == "indicators" else None)]:
                label[k] = c.id
    return label


@pytest.fixture(scope="module")
def labelled(
    seed_documents: list[Document], gold: dict[str, Any]
) -> dict[str, tuple[list[Any], dict[int, int], set[tuple[int, int]]]]:
    """Per level: the parsed records, their gold groups and the unscored (related) pairs."""
    out = {}
    for level in LEVELS:
        records = _records(level, seed_documents)
        out[level] = (records, *_gold_labels(level, records, gold))
    return out


def pairwise_scores(
    level: str, documents: list[Document], labelled: dict[str, Any], threshold: float
) -> tuple[float, float]:
    """Pairwise precision and recall of the clusters against the gold groups (related pairs not scored)."""
    records, group, related = labelled[level]
    label = _cluster_of(level, records, find_clusters(documents, level=level, threshold=threshold))
    members: dict[str, list[int]] = defaultdict(list)
    for k, c in enumerate(label):
        if c is not None:
            members[c].append(k)
    predicted = {p for ks in members.values() for p in itertools.combinations(sorted(ks), 2)}
    by_group: dict[int, list[int]] = defaultdict(list)
    for k, g in group.items():
        by_group[g].append(k)
    true = {p for ks in by_group.values() for p in itertools.combinations(sorted(ks), 2)}
    scored = predicted - (related - true)
    precision = len(scored & true) / len(scored) if scored else 1.0
    return precision, len(predicted & true) / len(true)


@pytest.mark.parametrize("level", LEVELS)
def test_every_gold_member_is_found_in_the_parsed_seeds(
    level: str, seed_documents: list[Document], gold: dict[str, Any]
) -> None:
    records = _records(level, seed_documents)
    missing = [
        m
        for entry in gold[level]["groups"] + gold[level]["related"]
        for m in entry["members"]
        if not any(_matches(level, m, r) for r in records)
    ]
    assert missing == []


@pytest.mark.parametrize("level", LEVELS)
def test_seed_boilerplate_is_found_with_high_precision_and_recall(
    level: str, seed_documents: list[Document], labelled: dict[str, Any]
) -> None:
    precision, recall = pairwise_scores(level, seed_documents, labelled, DEFAULT_THRESHOLDS[level])
    assert precision >= 0.95
    assert recall >= 0.90


@pytest.mark.slow
def test_default_thresholds_are_the_measured_choice(
    seed_documents: list[Document], labelled: dict[str, Any]
) -> None:
    # The rule behind DEFAULT_THRESHOLDS: the highest grid threshold whose recall stays >= 0.95.
    for level in LEVELS:
        recalls = {t: pairwise_scores(level, seed_documents, labelled, t)[1] for t in GRID}
        assert DEFAULT_THRESHOLDS[level] == max(t for t, r in recalls.items() if r >= 0.95), (level, recalls)


def _cluster_with(clusters: list[Cluster], doc: str, project: str) -> Cluster:
    return next(c for c in clusters if any(m.doc.startswith(doc) and m.project == project for m in c.members))


def test_rented_staff_goal_is_found_in_every_copy_across_three_departments(
    seed_documents: list[Document], gold: dict[str, Any]
) -> None:
    clusters = find_clusters(seed_documents, level="goals")
    cluster = _cluster_with(clusters, "000", "租赁岗位合同工经费")
    wanted = gold["goals"]["groups"][0]["members"]
    assert gold["goals"]["groups"][0]["label"].startswith("租赁岗位合同工经费")
    found = [m for m in cluster.members if "激励租赁人员的工作积极性" in m.text]
    assert len(found) == len(wanted) == cluster.size
    assert {m.doc[:3] for m in found} >= {"000", "004"} and len(cluster.departments) >= 3


def test_file_001_indicator_templates_are_found(seed_documents: list[Document], gold: dict[str, Any]) -> None:
    clusters = find_clusters(seed_documents, level="sets")
    in_001 = [c for c in clusters if any(m.doc.startswith("001") for m in c.members)]
    assert all(m.doc.startswith("001") for c in in_001 for m in c.members)
    gold_001 = [
        {m["project"] for m in g["members"]}
        for g in gold["sets"]["groups"]
        if g["members"][0]["doc"] == "001"
    ]
    assert sorted(sorted(m.project for m in c.members) for c in in_001) == sorted(sorted(g) for g in gold_001)
    assert sum(c.size for c in in_001) >= 17  # of the file's 18 projects


def test_nanyue_housekeeping_and_cantonese_chef_share_their_indicator_set(
    seed_documents: list[Document],
) -> None:
    cluster = _cluster_with(find_clusters(seed_documents, level="sets"), "004", "南粤家政项目资金")
    assert {m.project for m in cluster.members} == {"南粤家政项目资金", "粤菜师傅工程项目资金"}
    assert cluster.mean_similarity == 1.0


def test_slogan_used_as_its_own_target_value_is_one_indicator_cluster(seed_documents: list[Document]) -> None:
    slogan = "提升参保群众的幸福感，营造稳定、和谐、安全的社会环境"
    occurrences = [i for d in seed_documents for i in d.indicators if i.name == slogan]
    assert len(occurrences) >= 3 and all(i.value == slogan for i in occurrences)
    clusters = [
        c
        for c in find_clusters(seed_documents, level="indicators")
        if any(m.text.startswith(slogan) for m in c.members)
    ]
    assert len(clusters) == 1 and clusters[0].size == len(occurrences)
    assert len({(m.doc, m.project, m.line) for m in clusters[0].members}) == len(occurrences)


def test_employment_subsidy_and_retiree_goals_are_never_merged(seed_documents: list[Document]) -> None:
    clusters = find_clusters(seed_documents, level="goals")
    for c in clusters:
        names = " ".join(m.project for m in c.members)
        assert not ("就业" in names and "退休" in names), c.representative


@pytest.mark.slow
def test_clustering_twenty_thousand_goals_stays_fast(seed_documents: list[Document]) -> None:
    import random

    rng = random.Random(7)
    seeds = sorted({p.goal for d in seed_documents for p in d.projects if len(p.goal) > 20})
    texts = []
    for _ in range(20_000):
        chars = list(rng.choice(seeds))
        for _ in range(rng.randint(0, 3)):
            chars[rng.randrange(len(chars))] = rng.choice("的工作项目资金保障服务")
        texts.append("".join(chars))
    start = time.process_time()
    clusters = cluster_goals([project(t, name=f"p{i}", line=i) for i, t in enumerate(texts)])
    assert time.process_time() - start < 30
    assert len(clusters) <= len(seeds) and sum(c.size for c in clusters) > 19_000


def test_copies_differing_only_in_numbers_each_show_their_own_diff() -> None:
    texts = [
        RENT.replace("番禺区", "番禺区2023年"),
        RENT.replace("番禺区", "番禺区2024年"),
        RENT.replace("番禺区", "番禺区2024年"),
    ]
    (cluster,) = cluster_goals(goals(*texts))
    diffs = {m.text: m.diff for m in cluster.members}
    assert diffs[cluster.representative] == ""
    assert cluster.representative == texts[0]  # one normalised key: the first occurrence represents it
    assert diffs[texts[1]] == "…保障番禺区202[-3-]{+4+}年社会保险工作的…"


def test_public_surface_is_deliberate() -> None:
    assert set(cl.__all__) == {name for name in dir(cl) if not name.startswith("_")} & set(cl.__all__)
    assert all(hasattr(cl, name) for name in cl.__all__)
