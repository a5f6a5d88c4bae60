"""Run outputs that scale: the Parquet dataset, department workbooks, Excel's row limit, atomic writes,
and re-runs that redo only what changed."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from urllib.parse import unquote

import pytest

from nlp import run_report
from nlp.run import run
from nlp.tabular import atomic_dir, atomic_path


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def small_run(bundle, seed_paths: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("scale") / "out"
    report = run(
        [seed_paths["000"], seed_paths["001"], seed_paths["003"]], out=out, bundle=bundle, store=False
    )
    return report, out


# ------------------------------------------------------------------------------------------- outputs


def test_parquet_dataset_is_partitioned_by_province_and_department_and_equals_the_csv(small_run) -> None:
    import pyarrow.dataset as ds

    report, out = small_run
    folder = out / "indicators.parquet"
    rows = _csv(out / "indicators.csv")
    table = ds.dataset(folder, partitioning="hive").to_table()
    assert table.num_rows == len(rows) == report.indicators
    departments = {row["department"] or run_report.NO_DEPARTMENT for row in rows}
    partitions = {unquote(p.name.removeprefix("department=")) for p in folder.glob("province=*/department=*")}
    assert partitions == departments
    by_key = {(r["doc"], int(r["line"]), r["name"]): r for r in rows}
    for row in table.to_pylist():
        expected = by_key[(row["doc"], row["line"], row["name"])]
        assert (row["pred_code"], str(row["flagged"]), row["tier"]) == (
            expected["pred_code"],
            expected["flagged"],
            expected["tier"],
        )


def test_each_department_gets_a_workbook_with_its_flags_first(small_run) -> None:
    from openpyxl import load_workbook

    _, out = small_run
    rows = _csv(out / "indicators.csv")
    departments = {row["department"] or run_report.NO_DEPARTMENT for row in rows}
    books = {p.name for p in (out / "departments").glob("*.xlsx")}
    assert books == {run_report.book_name(d) for d in departments}
    for department in departments:
        book = load_workbook(out / "departments" / run_report.book_name(department), read_only=True)
        values = list(book["indicators"].values)
        header, body = values[0], values[1:]
        tiers = [row[header.index("tier")] or "" for row in body]
        assert len(body) == sum(
            1 for r in rows if (r["department"] or run_report.NO_DEPARTMENT) == department
        )
        order = {"flagged": 0, "review": 1, "": 2}
        assert [order[t] for t in tiers] == sorted(order[t] for t in tiers)
        assert tuple(header) == run_report.BOOK_COLUMNS


def test_report_links_each_department_workbook(small_run) -> None:
    from jinja2.filters import do_urlencode

    _, out = small_run
    html = (out / "report.html").read_text(encoding="utf-8")
    books = list((out / "departments").glob("*.xlsx"))
    assert books
    for book in books:
        assert f'href="departments/{do_urlencode(book.name)}"' in html


def test_a_sheet_past_excels_row_limit_goes_on_in_another(
    bundle, seed_paths: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    monkeypatch.setattr(run_report, "_EXCEL_ROWS", 25)
    report = run([seed_paths["001"]], out=tmp_path, bundle=bundle, store=False)
    book = load_workbook(tmp_path / "flags.xlsx", read_only=True)
    sheets = [name for name in book.sheetnames if name.startswith("indicators")]
    assert len(sheets) == -(-report.indicators // 25) > 1
    assert sum(sum(1 for _ in book[name].iter_rows()) - 1 for name in sheets) == report.indicators
    assert all(sum(1 for _ in book[name].iter_rows()) - 1 <= 25 for name in sheets)


def test_large_runs_write_parquet_and_no_csv(
    bundle, seed_paths: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    monkeypatch.setattr(run_report, "CSV_ROWS", 10)
    report = run([seed_paths["000"]], out=tmp_path, bundle=bundle, store=False)
    assert "indicators" not in report.outputs and not (tmp_path / "indicators.csv").exists()
    assert (tmp_path / "indicators.parquet").is_dir()
    assert load_workbook(tmp_path / "flags.xlsx", read_only=True).sheetnames == ["flags", "departments"]


# -------------------------------------------------------------------------------------------- atomic


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "flags.xlsx"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("stopped")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["flags.xlsx"]


def test_a_failed_folder_write_leaves_the_old_folder(tmp_path: Path) -> None:
    target = tmp_path / "departments"
    target.mkdir()
    (target / "a.xlsx").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(target) as temporary:
        (temporary / "b.xlsx").write_text("new")
        raise RuntimeError("stopped")
    assert [p.name for p in target.iterdir()] == ["a.xlsx"]
    assert [p.name for p in tmp_path.iterdir()] == ["departments"]
    with atomic_dir(target) as temporary:
        (temporary / "b.xlsx").write_text("new")
    assert [p.name for p in target.iterdir()] == ["b.xlsx"]


def test_what_a_killed_run_left_beside_a_folder_is_cleared_by_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "departments"
    (tmp_path / ".departments.999.old").mkdir()  # killed between the two renames: the old copy aside
    (tmp_path / ".departments.999.old" / "a.xlsx").write_text("old")
    (tmp_path / ".departments.998.tmp").mkdir()  # killed while writing
    with atomic_dir(target) as temporary:
        assert [p.name for p in target.iterdir()] == ["a.xlsx"]  # the old copy is back meanwhile
        (temporary / "b.xlsx").write_text("new")
    assert [p.name for p in tmp_path.iterdir()] == ["departments"]
    assert [p.name for p in target.iterdir()] == ["b.xlsx"]


# ------------------------------------------------------------------------------------------ re-runs


def test_a_rerun_with_nothing_changed_rewrites_and_reloads_nothing(
    bundle, seed_paths: dict[str, Path], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    paths = [seed_paths["000"], seed_paths["002"]]
    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    first = run(paths, out=tmp_path / "out", bundle=bundle, db=db)
    stamps = {
        p: p.stat().st_mtime_ns
        for p in (tmp_path / "out").rglob("*")
        if p.is_file() and ".cache" not in p.parts
    }
    again = run(paths, out=tmp_path / "out", bundle=bundle, db=db)
    assert not first.unchanged and again.unchanged and again.load is None
    assert (again.indicators, again.flagged, again.clusters) == (
        first.indicators,
        first.flagged,
        first.clusters,
    )
    assert again.reused == {"files": 2, "texts": first.distinct}
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def test_a_rerun_loads_only_the_changed_file_and_keeps_the_clusters_whole(
    bundle, seed_paths: dict[str, Path], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from nlp.schema import cluster_members
    from nlp.store import open_store

    folder = tmp_path / "docs"
    folder.mkdir()
    for prefix in ("000", "002", "003"):
        shutil.copy(seed_paths[prefix], folder)
    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    first = run([folder], out=tmp_path / "out", bundle=bundle, db=db)
    changed = folder / seed_paths["003"].name
    changed.write_text(changed.read_text(encoding="utf-8").replace("100%", "99%"), encoding="utf-8")
    again = run([folder], out=tmp_path / "out", bundle=bundle, db=db)
    n_changed = next(f.indicators for f in again.files if f.path.endswith(changed.name))
    assert not again.unchanged and again.load.documents == 1
    assert again.load.added + again.load.updated == n_changed < again.indicators
    assert again.clusters == run([folder], out=tmp_path / "fresh", bundle=bundle, store=False).clusters
    store = open_store(db)
    with store.read() as conn:
        members = conn.execute(select(func.count()).select_from(cluster_members)).scalar_one()
    store.close()
    assert members == sum(
        len(c.members) for level in ("goals", "indicators", "sets") for c in _clusters(folder, level)
    )
    assert first.load.documents == 3


def _clusters(folder: Path, level: str) -> list:  # type: ignore[type-arg]
    from nlp.cluster import find_clusters
    from nlp.parse import parse_paths

    return find_clusters(parse_paths([folder]), level=level)


def test_a_document_reloaded_by_someone_else_is_loaded_again(
    bundle, seed_paths: dict[str, Path], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from nlp.annotate import load_documents
    from nlp.parse import parse_file
    from nlp.store import open_store

    paths = [seed_paths["000"], seed_paths["002"]]
    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    run(paths, out=tmp_path / "out", bundle=bundle, db=db)
    store = open_store(db)
    load_documents(store, [parse_file(seed_paths["002"])], bundle=bundle)  # e.g. `zhibiao load`
    store.close()
    again = run(paths, out=tmp_path / "out", bundle=bundle, db=db)
    assert not again.unchanged and again.load.documents == 1


def test_the_cli_rerun_with_nothing_changed_says_so_without_loading_the_model(
    model_path: Path, seed_paths: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from nlp import corpus
    from nlp.cli import main

    command = ["run", str(seed_paths["000"]), "--out", str(tmp_path / "out"), "--model", str(model_path), "--trust-model",
               "--db", f"sqlite:///{tmp_path / 'store.sqlite'}"]  # fmt: skip
    assert main(command) == 0
    capsys.readouterr()

    def no_model(**_: object) -> None:
        raise AssertionError("the model was loaded for a run where nothing changed")

    monkeypatch.setattr(corpus, "ensure_model", no_model)
    assert main(command) == 0
    assert "Nothing changed since the last run into" in capsys.readouterr().out
