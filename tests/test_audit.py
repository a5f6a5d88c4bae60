from __future__ import annotations

import csv
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from nlp.audit import REASONS, audit
from nlp.corpus import load_corpus
from nlp.evaluate import evaluate_audit
from nlp.model import classify
from nlp.parse import parse_file
from nlp.records import Indicator
from nlp.report import audit_rows, write_audit

BASE = Indicator(
    doc="t.txt",
    department="某局",
    project="某项目",
    goal="",
    budget=800.0,
    scheme="classic",
    declared_l1="产出指标",
    declared_l2="数量指标",
    declared_code="11",
    name="",
    line=1,
)


def _verdict(bundle, **fields):  # type: ignore[no-untyped-def]
    indicator = replace(BASE, **fields)
    return audit([indicator], bundle=bundle)[0]


@pytest.fixture(scope="module")
def seed_verdicts(bundle, seed_paths):  # type: ignore[no-untyped-def]
    out = {}
    for prefix in ("001", "002"):
        indicators = parse_file(seed_paths[prefix]).indicators
        out[prefix] = list(zip(indicators, audit(indicators, bundle=bundle), strict=True))
    return out


@pytest.mark.slow
def test_audit_meets_precision_and_recall_against_gold_out_of_fold_at_the_seed_operating_point(
    full_bundle, corpus_dir: Path
) -> None:
    bundle = full_bundle
    # The seeds' own base rate (19% misplaced) and threshold 0.5: the figures of the issue that set them.
    loaded = load_corpus(corpus_dir, wild=False)
    indicators, gold = list(loaded.indicators), list(loaded.gold)
    scores = evaluate_audit(indicators, gold, bundle=bundle, threshold=0.5)
    assert (scores["misplaced"], scores["fine"]) == (91, 337)
    assert scores["precision"] >= 0.85, scores
    assert scores["recall"] >= 0.80, scores
    assert scores["process_recall"] >= 0.90, scores


@pytest.mark.slow
def test_flags_at_the_default_threshold_are_precise_and_the_rest_goes_to_review(
    full_bundle, corpus_dir: Path
) -> None:
    bundle = full_bundle
    loaded = load_corpus(corpus_dir, wild=False)
    indicators, gold = list(loaded.indicators), list(loaded.gold)
    scores = evaluate_audit(indicators, gold, bundle=bundle)
    assert scores["precision"] >= 0.90, scores
    assert scores["process_recall"] >= 0.90, scores
    verdicts = audit(indicators, bundle=bundle)
    assert {v.tier for v in verdicts} == {"flagged", "review", ""}
    assert all(v.flagged == (v.tier == "flagged") for v in verdicts)


def test_budget_execution_under_cost_in_a_2021_table_is_a_process_item_not_a_scheme_error(
    seed_verdicts,
) -> None:
    first_project = seed_verdicts["002"][0][0].project
    hits = [(i, v) for i, v in seed_verdicts["002"] if i.project == first_project and i.name == "预算执行率"]
    assert len(hits) == 1
    indicator, verdict = hits[0]
    assert indicator.scheme == "2021" and indicator.declared_l1 == "成本指标"
    assert verdict.flagged
    assert verdict.suggested_code == "PR"
    assert verdict.reasons[0] == "process_item"
    assert "l2_not_in_l1" not in verdict.reasons


def test_satisfaction_under_ecology_is_flagged_with_suggestion_31(seed_verdicts) -> None:
    hits = [(i, v) for i, v in seed_verdicts["001"] if i.declared_code == "23" and "满意度" in i.name]
    assert len(hits) >= 3
    for _, verdict in hits:
        assert verdict.flagged
        assert verdict.suggested_code == "31"
        assert "satisfaction_misplaced" in verdict.reasons


def test_payment_timeliness_under_economic_benefit_is_flagged(seed_verdicts) -> None:
    hits = [v for i, v in seed_verdicts["001"] if i.name == "资金支付及时率" and i.declared_code == "21"]
    assert hits
    assert all(v.flagged and v.suggested_code in ("13", "PR") for v in hits)


def test_every_flag_comes_with_a_reason_and_an_explanation(seed_verdicts) -> None:
    for pairs in seed_verdicts.values():
        for _, verdict in pairs:
            if verdict.flagged:
                assert verdict.reasons and all(r in REASONS for r in verdict.reasons)
                assert verdict.explanation
                assert 0 < verdict.score <= 1


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (
            {
                "name": "提升参保群众的幸福感",
                "annual_value": "提升参保群众的幸福感",
                "declared_code": "22",
                "declared_l1": "效益指标",
                "declared_l2": "社会效益指标",
            },
            "value_repeats_name",
        ),
        (
            {
                "name": "服务质量达标率",
                "annual_value": "良好",
                "declared_code": "12",
                "declared_l2": "质量指标",
            },
            "vague_value",
        ),
        ({"name": "享受社会保险补贴人数", "annual_value": "≥98%"}, "unit_mismatch"),
        (
            {
                "name": "项目总成本",
                "annual_value": "800万元",
                "declared_code": "14",
                "declared_l2": "成本指标",
            },
            "cost_restates_budget",
        ),
    ],
    ids=["repeat", "vague", "unit", "budget"],
)
def test_value_quality_notes_are_listed(bundle, fields: dict, reason: str) -> None:
    verdict = _verdict(bundle, **fields)
    assert reason in verdict.reasons


def test_second_level_outside_its_first_level_is_flagged(bundle) -> None:
    verdict = _verdict(
        bundle, name="补贴发放人数", annual_value="300人", declared_l1="效益指标", declared_l2="数量指标"
    )
    assert verdict.flagged
    assert "l2_not_in_l1" in verdict.reasons


def test_cost_as_first_level_is_valid_in_the_2021_scheme(bundle) -> None:
    verdict = _verdict(
        bundle,
        name="人均培训成本",
        annual_value="≤800元/人",
        scheme="2021",
        declared_l1="成本指标",
        declared_l2="",
        declared_code="14",
    )
    assert "l2_not_in_l1" not in verdict.reasons
    assert not verdict.flagged


def test_threshold_option_trades_flags_for_precision(bundle, seed_paths) -> None:
    indicators = parse_file(seed_paths["004"]).indicators
    loose = sum(v.flagged for v in audit(indicators, bundle=bundle, threshold=0.2))
    strict = sum(v.flagged for v in audit(indicators, bundle=bundle, threshold=0.9))
    assert loose > strict


@pytest.fixture(scope="module")
def seed_report(bundle, seed_paths, tmp_path_factory):  # type: ignore[no-untyped-def]
    indicators = [i for p in seed_paths.values() for i in parse_file(p).indicators]
    predictions = classify(bundle, indicators, explain=False)
    rows = audit_rows(indicators, predictions, audit(indicators, predictions, bundle=bundle))
    out = tmp_path_factory.mktemp("audit")
    counts = {
        suffix: write_audit(rows, out / f"report{suffix}", threshold=0.5)
        for suffix in (".csv", ".xlsx", ".html")
    }
    return out, counts


def test_audit_xlsx_has_flags_and_all_indicators_sheets(seed_report) -> None:
    from openpyxl import load_workbook

    out, counts = seed_report
    book = load_workbook(out / "report.xlsx")
    assert {"flags", "indicators"} <= set(book.sheetnames)
    assert book["flags"].max_row - 1 == counts[".xlsx"]
    assert book["indicators"].max_row - 1 == 699
    assert book["flags"].auto_filter.ref


@pytest.mark.browser
def test_audit_html_opens_in_chromium_with_the_csv_flag_count(seed_report) -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("Debian chromium is not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    out, _ = seed_report
    with open(out / "report.csv", encoding="utf-8-sig") as handle:
        csv_flags = sum(1 for _ in csv.DictReader(handle))
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto((out / "report.html").as_uri())
        shown = int(page.inner_text("#flag-count"))
        rows = page.locator("tr.flag-row").count()
        shots = Path(__file__).resolve().parents[1] / "test-output"
        shots.mkdir(exist_ok=True)
        page.screenshot(path=str(shots / "audit-report.png"), full_page=True)
        browser.close()
    assert not errors
    assert shown == rows == csv_flags > 0
