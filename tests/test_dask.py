from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nlp import parallel
from nlp.errors import ZhibiaoError
from nlp.run import run


@pytest.fixture(scope="module")
def cluster():  # type: ignore[no-untyped-def]
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    ) as local:
        yield local


def _sheets(path: Path) -> dict[str, list[tuple]]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    return {sheet.title: list(sheet.values) for sheet in book.worksheets}


def _dataset(out: Path) -> list[dict]:  # type: ignore[type-arg]
    import pyarrow.dataset as ds

    rows = ds.dataset(out / "indicators.parquet", partitioning="hive").to_table().to_pylist()
    return sorted(rows, key=lambda r: (r["doc"], r["project"], r["line"], r["name"]))


@pytest.mark.slow
def test_run_on_a_dask_cluster_writes_what_the_single_machine_run_writes(
    cluster, bundle, seed_paths: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    docs.mkdir()
    for path in seed_paths.values():
        shutil.copy(path, docs)
    (docs / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    monkeypatch.setattr(parallel, "CHUNK_ROWS", 100)  # several scoring tasks, spread over both workers
    # A relative path: the workers started elsewhere, so the run must not rely on its working directory.
    monkeypatch.chdir(tmp_path)
    here = run(["docs"], out=tmp_path / "here", bundle=bundle, workers=1, store=False)
    there = run(
        ["docs"], out=tmp_path / "there", bundle=bundle, scheduler=cluster.scheduler_address, store=False
    )
    assert there.reused == here.reused == {"files": 0, "texts": 0}
    assert (there.indicators, there.flagged, there.clusters) == (here.indicators, here.flagged, here.clusters)
    assert there.failed_files == here.failed_files == (str(Path("docs") / "broken.xlsx"),)
    for name in ("indicators.csv",):
        assert (tmp_path / "there" / name).read_bytes() == (tmp_path / "here" / name).read_bytes()
    for name in ("flags.xlsx", "clusters.xlsx"):
        assert _sheets(tmp_path / "there" / name) == _sheets(tmp_path / "here" / name)
    books = sorted(p.name for p in (tmp_path / "here" / "departments").glob("*.xlsx"))
    assert books and books == sorted(p.name for p in (tmp_path / "there" / "departments").glob("*.xlsx"))
    for name in books:
        assert _sheets(tmp_path / "there" / "departments" / name) == _sheets(
            tmp_path / "here" / "departments" / name
        )
    assert _dataset(tmp_path / "there") == _dataset(tmp_path / "here")
    assert here.indicators > 600


def test_an_unreachable_scheduler_is_a_coded_error(
    bundle, seed_paths: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(parallel, "_CONNECT_TIMEOUT", "1s")
    with pytest.raises(ZhibiaoError) as caught:
        run([seed_paths["000"]], out=tmp_path, bundle=bundle, scheduler="tcp://127.0.0.1:9", store=False)
    assert caught.value.code == "E081"
    assert "Cannot reach the Dask scheduler at tcp://127.0.0.1:9" in str(caught.value)
