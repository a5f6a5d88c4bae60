from __future__ import annotations

import csv
import io
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from nlp import parallel as par
from nlp.audit import audit
from nlp.cli import main
from nlp.errors import InputError, ZhibiaoError
from nlp.model import classify, score_rows, to_rows, transform_rows
from nlp.parallel import parse_files, score_distinct
from nlp.parse import parse_paths
from nlp.run import OUTPUTS, progress_display, run
from nlp.taxonomy import LEAVES


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def seed_run(bundle, raw_dir: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("run")
    db = f"sqlite:///{out / 'store.sqlite'}"
    report = run([raw_dir], out=out / "out", db=db, bundle=bundle)
    return report, out / "out", db


@pytest.fixture()
def broken_corpus(seed_paths: dict[str, Path], tmp_path: Path) -> Path:
    """Two good seed files and a workbook that is really random bytes."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for prefix in ("000", "002"):
        shutil.copy(seed_paths[prefix], folder)
    (folder / "broken.xlsx").write_bytes(bytes(range(256)) * 8)
    return folder


# ------------------------------------------------------------------------------------------- outputs


def test_run_writes_the_four_outputs_and_loads_every_indicator_into_the_store(
    seed_run, raw_dir: Path
) -> None:
    report, out, db = seed_run
    expected = sum(len(d.indicators) for d in parse_paths([raw_dir]))
    assert {path.name for path in report.outputs.values()} == set(OUTPUTS.values())
    assert all((out / name).stat().st_size > 0 for name in OUTPUTS.values())
    assert report.ok and report.indicators == expected == len(_read(out / "indicators.csv"))
    assert report.load is not None and report.load.indicators == expected
    from sqlalchemy import func, select

    from nlp.schema import indicators
    from nlp.store import open_store

    store = open_store(db)
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(indicators)).scalar_one() == expected
    store.close()


def test_run_csv_agrees_with_classify_and_audit_called_directly(seed_run, bundle, raw_dir: Path) -> None:
    _, out, _ = seed_run
    indicators = [i for d in parse_paths([raw_dir]) for i in d.indicators]
    predictions = classify(bundle, indicators)
    verdicts = audit(indicators, predictions, bundle=bundle)
    rows = _read(out / "indicators.csv")
    assert [r["name"] for r in rows] == [i.name for i in indicators]
    assert [r["pred_code"] for r in rows] == [p.code for p in predictions]
    assert [r["top3"] for r in rows] == [p.top3 for p in predictions]
    assert [r["flagged"] == "True" for r in rows] == [v.flagged for v in verdicts]
    assert [r["suggested_code"] for r in rows] == [v.suggested_code for v in verdicts]
    assert any(r["flagged"] == "True" for r in rows) and any(r["explanation"] for r in rows)


def test_flags_workbook_ranks_flags_by_score_and_holds_every_indicator(seed_run) -> None:
    from openpyxl import load_workbook

    _, out, _ = seed_run
    rows = _read(out / "indicators.csv")
    book = load_workbook(out / "flags.xlsx", read_only=True)
    assert book.sheetnames == ["flags", "indicators", "departments"]
    flags = list(book["flags"].values)
    header, body = flags[0], flags[1:]
    scores = [row[header.index("flag_score")] for row in body]
    assert len(body) == sum(r["flagged"] == "True" for r in rows) > 0
    assert scores == sorted(scores, reverse=True)
    assert sum(1 for _ in book["indicators"].iter_rows()) - 1 == len(rows)


def test_clusters_workbook_has_one_sheet_per_level(seed_run) -> None:
    from openpyxl import load_workbook

    from nlp.cluster import LEVELS

    report, out, _ = seed_run
    book = load_workbook(out / "clusters.xlsx", read_only=True)
    assert book.sheetnames == list(LEVELS)
    for level in LEVELS:
        ids = {row[0] for row in list(book[level].values)[1:]}
        assert len(ids) == report.clusters[level]


@pytest.mark.browser
def test_report_totals_in_chromium_equal_the_csv(seed_run) -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("Debian chromium is not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    _, out, _ = seed_run
    rows = _read(out / "indicators.csv")
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])  # fmt: skip
        page = browser.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto((out / "report.html").as_uri())
        shown = {
            key: int(page.inner_text(f"#total-{key}")) for key in ("indicators", "flagged", "departments")
        }
        categories = {code: int(page.inner_text(f"#cat-{code}")) for code in LEAVES}
        departments = page.locator("tr.department-row").count()
        # Charts are inline SVG whose labels are text the browser draws: no image, no font cache.
        charts = page.eval_on_selector_all(
            "figure.chart svg", "els => els.map(e => e.getBoundingClientRect().width)"
        )
        labels = page.eval_on_selector_all("figure.chart svg text", "els => els.map(e => e.textContent)")
        shots = Path(__file__).resolve().parents[1] / "test-output"
        shots.mkdir(exist_ok=True)
        page.screenshot(path=str(shots / "run-report.png"), full_page=True)
        browser.close()
    assert not errors
    assert shown["indicators"] == len(rows)
    assert shown["flagged"] == sum(r["flagged"] == "True" for r in rows)
    assert shown["departments"] == departments == len({r["department"] for r in rows})
    predicted = Counter(r["pred_code"] for r in rows)
    assert categories == {code: predicted.get(code, 0) for code in LEAVES}
    assert len(charts) >= 2 and all(width > 0 for width in charts)
    assert any(r["department"][:6] in "".join(labels) for r in rows)


# ------------------------------------------------------------------------------------- bad files


def test_run_with_an_unreadable_file_completes_lists_it_and_exits_nonzero(
    broken_corpus: Path, model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(["run", str(broken_corpus), "--out", str(out), "--model", str(model_path), "--trust-model", "--workers", "1",
                 "--db", f"sqlite:///{tmp_path / 'store.sqlite'}"])  # fmt: skip
    captured = capsys.readouterr()
    good = sum(len(d.indicators) for d in parse_paths([broken_corpus / "000_51fa72059e530bfe.txt",
                                                        next(broken_corpus.glob("002_*"))]))  # fmt: skip
    assert code == 1
    assert "broken.xlsx" in captured.err and "Could not read 1 file" in captured.err
    assert len(_read(out / "indicators.csv")) == good > 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="total-failed-files">1<' in html and "broken.xlsx" in html


def test_a_reader_crash_becomes_a_problem_and_the_batch_goes_on(
    seed_paths: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def explode(path):  # type: ignore[no-untyped-def]
        raise RuntimeError("reader bug")

    monkeypatch.setattr(par, "parse_file", explode)
    documents, cached = parse_files([seed_paths["000"], seed_paths["002"]], cache=tmp_path / "cache")
    assert [d.problems[0].code for d in documents] == ["E084", "E084"]
    assert "RuntimeError: reader bug" in documents[0].problems[0].message
    assert cached == [False, False] and not list((tmp_path / "cache").glob("*.json"))


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [({"workers": 0}, "E083"), ({"paths": []}, "E082")],
    ids=["no-workers", "no-files"],
)
def test_run_refuses_bad_options_with_a_coded_error(kwargs, code: str, bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    options = {"paths": [tmp_path], "workers": 1, **kwargs}
    with pytest.raises(ZhibiaoError) as caught:
        run(options["paths"], workers=options["workers"], out=tmp_path / "out", bundle=bundle, store=False)
    assert caught.value.code == code


def test_unwritable_output_folder_is_reported_as_E080(
    seed_paths: dict[str, Path], bundle, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(InputError) as caught:
        run([seed_paths["000"]], out=blocker / "out", bundle=bundle, store=False)
    assert caught.value.code == "E080"
    assert str(caught.value).startswith(f"[E080] {blocker / 'out'}: cannot write the run's output")


# ------------------------------------------------------------------------------------------ re-runs


def test_rerun_reuses_parses_and_scores_and_writes_the_same_table(seed_paths, bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    paths = [seed_paths["000"], seed_paths["003"]]
    first = run(paths, out=tmp_path, bundle=bundle, store=False)
    table = (tmp_path / "indicators.csv").read_bytes()
    second = run(paths, out=tmp_path, bundle=bundle, store=False)
    assert first.reused == {"files": 0, "texts": 0}
    assert second.reused == {"files": 2, "texts": second.distinct} and second.distinct > 0
    assert (tmp_path / "indicators.csv").read_bytes() == table


def test_a_changed_file_is_parsed_again(seed_paths: dict[str, Path], bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "docs"
    folder.mkdir()
    for prefix in ("000", "003"):
        shutil.copy(seed_paths[prefix], folder)
    run([folder], out=tmp_path / "out", bundle=bundle, store=False)
    changed = folder / seed_paths["003"].name
    changed.write_text(changed.read_text(encoding="utf-8").replace("100%", "99%"), encoding="utf-8")
    again = run([folder], out=tmp_path / "out", bundle=bundle, store=False)
    assert again.reused["files"] == 1
    assert 0 < again.reused["texts"] < again.distinct


def test_an_interrupted_run_resumes_from_the_scores_it_had_cached(
    seed_paths: dict[str, Path], bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    paths = [seed_paths["001"], seed_paths["004"]]
    monkeypatch.setattr(par, "CHUNK_ROWS", 50)
    calls: list[int] = []

    def interrupt(stage: str, done: int, total: int) -> None:
        if stage == "classify":
            calls.append(done)
            if len(calls) == 3:  # after two chunks were scored and cached
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(paths, out=tmp_path / "a", bundle=bundle, store=False, progress=interrupt)
    resumed = run(paths, out=tmp_path / "a", bundle=bundle, store=False)
    run(paths, out=tmp_path / "b", bundle=bundle, store=False)
    assert resumed.reused == {"files": 2, "texts": calls[-1]} and calls[-1] == 100
    assert (tmp_path / "a" / "indicators.csv").read_bytes() == (
        tmp_path / "b" / "indicators.csv"
    ).read_bytes()


# ------------------------------------------------------------------------------------------ scoring


def test_shared_tokenisation_gives_the_feature_union_matrix_bit_for_bit(bundle, raw_dir: Path) -> None:
    rows = list(dict.fromkeys(to_rows(i for d in parse_paths([raw_dir]) for i in d.indicators)))
    analyses: dict = {}
    for pipe in (bundle.pipe, bundle.process_pipe):
        features = pipe.named_steps["features"]
        expected = features.union_.transform(rows)
        found = transform_rows(features, rows, analyses)
        assert (found != expected).nnz == 0
        assert np.array_equal(found.indices, expected.tocsr().indices)
    assert len(analyses) == 5  # the process detector reused every tokenisation


@pytest.mark.slow
def test_scores_are_the_same_row_by_row_in_chunks_and_in_worker_processes(
    bundle, model_path: Path, raw_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    rows = list(dict.fromkeys(to_rows(i for d in parse_paths([raw_dir]) for i in d.indicators)))
    whole = score_rows(bundle, rows)
    one = score_rows(bundle, rows[:7])
    monkeypatch.setattr(par, "CHUNK_ROWS", 100)
    monkeypatch.setattr(par, "_PARALLEL_MIN_ROWS", 1)
    parallel, reused = score_distinct(bundle, rows, workers=2, model_path=model_path)
    assert reused == 0
    assert np.array_equal(parallel.proba, whole.proba) and np.array_equal(parallel.process, whole.process)
    assert parallel.reasons == whole.reasons
    assert np.array_equal(one.proba, whole.proba[:7]) and one.reasons == whole.reasons[:7]


def test_one_text_in_two_schemes_gets_each_schemes_first_level(bundle) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from nlp.records import Indicator

    base = Indicator(doc="d", department="", project="p", goal="", budget=None, scheme="classic",
                     declared_l1="产出指标", declared_l2="成本指标", declared_code="14", name="人均培训成本",
                     annual_value="≤800元/人", line=1)  # fmt: skip
    modern = replace(base, scheme="2021", line=2)
    first, second, third = classify(bundle, [base, modern, replace(base, line=3)])
    assert first.code == second.code == "14"
    assert (first.l1, second.l1) == ("产出指标", "成本指标")
    assert third is first


def test_duplicated_indicators_share_one_verdict_equal_to_judging_them_alone(bundle, seed_paths) -> None:  # type: ignore[no-untyped-def]
    indicators = list(parse_paths([seed_paths["001"]])[0].indicators[:40])
    doubled = indicators + indicators[::-1]
    verdicts = audit(doubled, bundle=bundle)
    alone = [audit([indicator], bundle=bundle)[0] for indicator in indicators[:12]]
    assert verdicts[:12] == alone
    assert verdicts[: len(indicators)] == verdicts[len(indicators) :][::-1]


# ----------------------------------------------------------------------------------------- progress


def test_progress_is_plain_log_lines_when_not_a_terminal() -> None:
    buffer = io.StringIO()
    with progress_display(buffer) as progress:
        for done in range(101):
            progress("classify", done, 100)
    lines = buffer.getvalue().splitlines()
    assert lines[0] == "classify: 0/100" and lines[-1].startswith("classify: 100/100 (")
    assert len(lines) <= 12


def test_progress_logs_each_stage_once_when_it_finishes() -> None:
    buffer = io.StringIO()
    with progress_display(buffer) as progress:
        progress("write", 5, 5)
        progress("write", 5, 5)
    assert len(buffer.getvalue().splitlines()) == 1


def test_progress_draws_rich_bars_on_a_terminal() -> None:
    buffer = io.StringIO()
    with progress_display(buffer, force_terminal=True) as progress:
        progress("parse", 3, 3)
        progress("classify", 2, 4)
    text = buffer.getvalue()
    assert "parse" in text and "3/3" in text and "2/4" in text
