from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from nlp.cli import main


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_classify_keeps_table_columns_and_adds_predictions(model_path: Path, tmp_path: Path) -> None:
    table = tmp_path / "plan.csv"
    columns = ["doc", "project", "declared_l1", "declared_l2", "name", "value", "备注"]
    rows = [
        ["a", "招聘", "产出指标", "数量指标", "举办招聘会数量", "≥3场", "x"],
        ["a", "招聘", "效益指标", "生态效益指标", "服务对象满意度", "≥95%", "y"],
        ["b", "经费", "产出指标", "数量指标", "资金到位率", "100%", "z"],
    ]
    with open(table, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)
    out = tmp_path / "out.csv"
    assert main(["classify", str(table), "--out", str(out), "--model", str(model_path), "--trust-model"]) == 0
    result = _read(out)
    assert [r["name"] for r in result] == [r[4] for r in rows]
    assert list(result[0])[: len(columns)] == columns
    assert [r["备注"] for r in result] == ["x", "y", "z"]
    assert {"pred_l1", "pred_l2", "pred_code", "confidence", "top3", "flagged", "suggested_code"} <= set(
        result[0]
    )
    assert result[0]["pred_code"] == "11"
    assert result[1]["flagged"] == "True" and result[1]["suggested_code"] == "31"
    assert result[2]["suggested_code"] == "PR"


def test_classify_on_the_corpus_folder_classifies_all_699(
    model_path: Path, raw_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "all.jsonl"
    assert (
        main(["classify", str(raw_dir), "--out", str(out), "--model", str(model_path), "--trust-model"]) == 0
    )
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 699
    assert all(line["pred_code"] in {"11", "12", "13", "14", "21", "22", "23", "24", "31"} for line in lines)


def test_suggest_prints_categories_with_reason(model_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert (
        main(["suggest", "补助发放及时率", "--value", "100%", "--model", str(model_path), "--trust-model"])
        == 0
    )
    out = capsys.readouterr().out
    assert "13 时效指标" in out
    assert "依据：" in out


def test_suggest_warns_about_process_items(model_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["suggest", "资金到位率", "--json", "--model", str(model_path), "--trust-model"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["process"] >= 0.5
    assert len(answer["top"]) == 3


def test_bad_model_file_prints_coded_error_and_exits_1(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    junk = tmp_path / "junk.joblib"
    junk.write_bytes(b"not a model")
    assert main(["suggest", "资金到位率", "--model", str(junk), "--trust-model"]) == 1
    assert "Error: [E013]" in capsys.readouterr().err  # unsigned: refused before it is unpickled


def test_python_dash_m_nlp_works() -> None:
    done = subprocess.run([sys.executable, "-m", "nlp", "--help"], capture_output=True, text=True, check=True)
    assert "zhibiao" in done.stdout and "classify" in done.stdout


def test_classify_reports_a_row_without_name_and_keeps_the_others(
    model_path: Path, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["项目名称", "一级指标", "二级指标", "三级指标", "指标值"])
    sheet.append(["农村公路", "产出指标", "数量指标", "改造农村公路里程", "≥50公里"])
    sheet.append(["农村公路", "效益指标", "社会效益指标", "", "良好"])
    sheet.append(["农村公路", "效益指标", "生态效益指标", "群众满意度", "≥90%"])
    table = tmp_path / "plan.xlsx"
    book.save(table)
    out = tmp_path / "out.csv"
    assert main(["classify", str(table), "--out", str(out), "--model", str(model_path), "--trust-model"]) == 1
    result = _read(out)
    assert [r["三级指标"] for r in result] == ["改造农村公路里程", "群众满意度"]
    assert result[1]["flag_reasons"].split(";")[0] == "satisfaction_misplaced"
    err = capsys.readouterr().err
    assert "[E007]" in err and "plan.xlsx:3:" in err


@pytest.mark.parametrize("value", ["5", "-0.1", "abc"])
def test_threshold_outside_zero_to_one_is_refused_before_any_work(value: str, capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as stopped:
        main(["classify", "corpus/raw", "--threshold", value])
    assert stopped.value.code == 2
    assert "--threshold" in capsys.readouterr().err


def test_a_model_outside_models_needs_trust_model(
    model_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A bundle anywhere else is only read when asked for explicitly (and still only when signed).
    assert main(["suggest", "资金到位率", "--model", str(model_path)]) == 1
    err = capsys.readouterr().err
    assert "E014" in err and "--trust-model" in err and str(model_path) in err
    assert main(["suggest", "资金到位率", "--model", str(model_path), "--trust-model"]) == 0
