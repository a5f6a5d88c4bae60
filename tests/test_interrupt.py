"""Interrupted runs: `zhibiao run` stopped by SIGINT or SIGTERM at each stage, driven in a subprocess.

Each case starts a run over 100 copies of the seed documents (2 worker processes), sends the signal as
soon as the stage's first progress line appears, and checks what an operator relies on: the exit code
(130 for SIGINT, 143 for SIGTERM), no child process alive 2 s later, no half-written output (no temporary
file left, every output there opens), a store whose every document is whole (one transaction each) and
passes SQLite's integrity check, and a re-run that completes with every indicator and its clusters.
"""

from __future__ import annotations

import csv
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nlp.parse import parse_paths
from nlp.run import STAGES

ROOT = Path(__file__).resolve().parents[1]
COPIES = 20  # of each of the five seed documents

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus(
    seed_paths: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, int]]:
    """100 documents (the seeds under 20 names each) and the indicators each should hold."""
    folder = tmp_path_factory.mktemp("corpus")
    counts: dict[str, int] = {}
    per_seed = {
        p.name: len(d.indicators)
        for p, d in zip(seed_paths.values(), parse_paths(list(seed_paths.values())), strict=True)
    }
    for k in range(COPIES):
        for path in seed_paths.values():
            target = folder / f"{k:02d}_{path.name}"
            shutil.copy(path, target)
            counts[target.name] = per_seed[path.name]
    return folder, counts


def _command(corpus: Path, out: Path, db: Path, model_path: Path) -> list[str]:
    return [sys.executable, "-m", "nlp", "run", str(corpus), "--out", str(out), "--db", f"sqlite:///{db}",
            "--model", str(model_path), "--trust-model", "--workers", "2"]  # fmt: skip


def _descendants(pid: int) -> set[int]:
    import psutil

    try:
        return {child.pid for child in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def _alive(pids: set[int]) -> set[int]:
    import psutil

    living = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                living.add(pid)
        except psutil.NoSuchProcess:
            pass
    return living


def _interrupt(command: list[str], stage: str, signum: int, *, after: int = 1) -> tuple[int, str, set[int]]:
    """Run ``command``, send ``signum`` at the ``after``-th progress line of ``stage``; (exit code, stderr,
    children seen)."""
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    children: set[int] = set()
    lines: list[str] = []
    sent = threading.Event()

    def watch_children() -> None:
        while process.poll() is None and not sent.is_set():
            children.update(_descendants(process.pid))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch_children, daemon=True)
    watcher.start()
    assert process.stderr is not None
    for line in process.stderr:
        lines.append(line)
        after -= line.startswith(f"{stage}:")
        if after == 0 and not sent.is_set():
            children.update(_descendants(process.pid))
            process.send_signal(signum)
            sent.set()
    stdout, _ = process.communicate(timeout=120)
    watcher.join(timeout=5)
    return process.returncode, "".join(lines), children


def _temporary_files(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.name.endswith((".tmp", ".old"))]


def _outputs_open(out: Path) -> None:
    """Every output present opens whole: the CSV parses, workbooks load, the dataset reads, the report ends."""
    from openpyxl import load_workbook

    if (out / "indicators.csv").exists():
        with open(out / "indicators.csv", encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert rows and all(row["pred_code"] for row in rows)
    for book in [*out.glob("*.xlsx"), *(out / "departments").glob("*.xlsx")]:
        load_workbook(book, read_only=True).close()
    if (out / "indicators.parquet").exists():
        import pyarrow.dataset as ds

        assert ds.dataset(out / "indicators.parquet", partitioning="hive").count_rows() > 0
    if (out / "report.html").exists():
        assert (out / "report.html").read_text(encoding="utf-8").rstrip().endswith("</html>")


def _store_whole(db: Path, counts: dict[str, int]) -> int:
    """Integrity ok, and every stored document holds all its indicators (none half-loaded)."""
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "documents" not in tables:
            return 0
        stored = conn.execute(
            "SELECT d.path, count(i.id) FROM documents d LEFT JOIN indicators i ON i.document_id = d.id "
            "AND i.active GROUP BY d.id"
        ).fetchall()
        predicted = conn.execute(
            "SELECT count(*) FROM indicators i JOIN predictions p ON p.indicator_id = i.id WHERE i.active"
        ).fetchone()[0]
    assert {Path(path).name: n for path, n in stored} == {
        Path(path).name: counts[Path(path).name] for path, _ in stored
    }
    assert predicted == sum(n for _, n in stored)
    return len(stored)


CASES = [
    ("parse", signal.SIGTERM),
    ("classify", signal.SIGINT),
    ("write", signal.SIGTERM),
    ("store", signal.SIGTERM),
    ("store", signal.SIGINT),
]


@pytest.mark.parametrize(("stage", "signum"), CASES, ids=[f"{s}-{signal.Signals(n).name}" for s, n in CASES])
def test_a_run_stopped_by_a_signal_exits_cleanly_and_a_rerun_completes(
    stage: str, signum: int, corpus: tuple[Path, dict[str, int]], model_path: Path, tmp_path: Path
) -> None:
    folder, counts = corpus
    out, db = tmp_path / "out", tmp_path / "store.sqlite"
    command = _command(folder, out, db, model_path)

    # Parse workers start after the stage's first line: stop it once files are coming back from them.
    code, stderr, children = _interrupt(command, stage, signum, after=2 if stage == "parse" else 1)
    time.sleep(2)

    assert code == 128 + signum, stderr[-2000:]
    assert "[E085] Stopped by " + signal.Signals(signum).name in stderr
    stopped_in = stderr.rsplit(" during ", 1)[1].split(";")[0]
    assert STAGES.index(stopped_in) >= STAGES.index(stage), stderr[-2000:]
    if stage == "parse":
        assert children, "the parse stage should have started worker processes"
    assert not _alive(children), f"children still alive 2 s after exit: {_alive(children)}"
    assert not _temporary_files(out)
    _outputs_open(out)
    _store_whole(db, counts)

    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert _store_whole(db, counts) == len(counts)
    with open(out / "indicators.csv", encoding="utf-8-sig", newline="") as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == sum(counts.values())
    with sqlite3.connect(db) as conn:
        assert (
            conn.execute("SELECT count(*) FROM cluster_members WHERE indicator_id IS NOT NULL").fetchone()[0]
            > 0
        )
    assert not _temporary_files(out)
