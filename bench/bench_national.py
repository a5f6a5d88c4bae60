"""A national year on Dask, simulated: `zhibiao run --scheduler` on a LocalCluster of 1, 2 and 4 workers
over a generated corpus shaped like the real one, per-worker throughput and scaling measured, and the time
for 30M indicators on 32 workers projected from the measured scaling (Amdahl's law fitted to it).

The corpus (bench/synth.py, ``realistic``) copies the seed projects' indicator sets the way county tables
copy each other: its departments hold 5-30 projects of ~7 indicators; the share of distinct indicator
texts is printed with the figures (what the classify cache can reuse). A national year is ~3,000 county
governments × 50 departments × 20 projects × 10 indicators ≈ 30M indicators.

    .venv/bin/python bench/bench_national.py                     # 50k indicators, 1/2/4 workers
    .venv/bin/python bench/bench_national.py --size 200k --workers 1,2,4

Each configuration runs in a fresh process with its own LocalCluster (processes, one thread each) and a
fresh output folder (no cache from an earlier configuration); the store is not loaded (``store=False``):
at national scale it is a PostgreSQL server fed by the workers, which a laptop cannot stand in for.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

NATIONAL = 30_000_000  # indicators in a national year
NATIONAL_WORKERS = 32
GOAL_HOURS = 1.0


def _size(text: str) -> int:
    text = text.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * factor)


def one(n_workers: int, corpus: Path, out: Path, model: Path) -> dict[str, Any]:
    """One run on a fresh LocalCluster of ``n_workers`` processes (in this process)."""
    from distributed import LocalCluster

    from nlp.persist import load_model
    from nlp.run import run

    bundle = load_model(model)
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1") as cluster:  # fmt: skip
        shutil.rmtree(out, ignore_errors=True)
        start = time.perf_counter()
        report = run([corpus], out=out, bundle=bundle, model=model, scheduler=cluster.scheduler_address,
                     store=False)  # fmt: skip
        seconds = time.perf_counter() - start
    return {"workers": n_workers, "seconds": seconds, "indicators": report.indicators,
            "distinct": report.distinct, "stages": report.seconds}  # fmt: skip


def _fit_serial_fraction(results: list[dict[str, Any]]) -> float:
    """Amdahl's serial fraction s from T(n) = T(1) * (s + (1 - s) / n), least squares over the runs."""
    base = next(r for r in results if r["workers"] == 1)["seconds"]
    xs = [1 - 1 / r["workers"] for r in results if r["workers"] > 1]
    ys = [1 - r["seconds"] / base for r in results if r["workers"] > 1]
    if not xs:
        return 0.0
    parallel = sum(x * y for x, y in zip(xs, ys, strict=True)) / sum(x * x for x in xs)
    return min(max(1 - parallel, 0.0), 1.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=_size, default=50_000, help="indicators in the simulated corpus")
    parser.add_argument("--workers", default="1,2,4", help="LocalCluster sizes to measure")
    parser.add_argument("--model", type=Path, help="model bundle (default models/zhibiao.joblib)")
    parser.add_argument("--workdir", type=Path, help="where the corpus and outputs go")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # WORKERS, in a child process
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.one:
        result = one(int(args.one), args.corpus, args.workdir / f"out-{args.one}", args.model)
        print(json.dumps(result))
        return 0

    from synth import write_corpus

    from nlp.corpus import ensure_model
    from nlp.model import DEFAULT_MODEL_PATH

    model = args.model or DEFAULT_MODEL_PATH
    ensure_model(path=model)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="zhibiao-national-"))
    corpus = workdir / f"corpus-{args.size}"
    if not corpus.exists():
        write_corpus(args.size, corpus, variant="realistic")
    counts = [int(w) for w in args.workers.split(",")]
    print(f"# bench_national: {args.size:,} indicators, workers {counts}, {os.cpu_count()} cores", flush=True)
    results = []
    for n in counts:
        command = [sys.executable, __file__, "--one", str(n), "--corpus", str(corpus), "--model", str(model),
                   "--workdir", str(workdir)]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            raise RuntimeError(f"{n} workers failed:\n{done.stderr[-3000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(result)
        rate = result["indicators"] / result["seconds"]
        print(f"{n} workers: {result['seconds']:.1f} s, {rate:,.0f} indicators/s, {rate / n:,.0f} per worker",
              flush=True)  # fmt: skip

    base = next((r for r in results if r["workers"] == 1), results[0])
    print()
    print("| workers | seconds | indicators/s | per worker | speed-up | efficiency | stages (s) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        rate = r["indicators"] / r["seconds"]
        speedup = base["seconds"] / r["seconds"]
        stages = ", ".join(f"{k} {v:.1f}" for k, v in r["stages"].items())
        print(f"| {r['workers']} | {r['seconds']:.1f} | {rate:,.0f} | {rate / r['workers']:,.0f} | "
              f"{speedup:.2f}× | {speedup / r['workers'] * base['workers']:.0%} | {stages} |")  # fmt: skip
    serial = _fit_serial_fraction(results) if any(r["workers"] == 1 for r in results) else 0.0
    per_indicator = base["seconds"] / base["indicators"]  # one worker
    hours = NATIONAL * per_indicator * (serial + (1 - serial) / NATIONAL_WORKERS) / 3600
    print()
    print(
        f"distinct texts: {base['distinct']:,} of {base['indicators']:,} ({base['distinct'] / base['indicators']:.1%})"
    )
    print(f"Amdahl serial fraction fitted to the measured scaling: {serial:.2f}")
    print(f"projected: {NATIONAL:,} indicators on {NATIONAL_WORKERS} workers ≈ {hours:.1f} h "
          f"(goal < {GOAL_HOURS:.0f} h; {'met' if hours < GOAL_HOURS else 'not met'}); assumes the per-indicator "
          "cost measured here holds at 30M and the serial part stays as measured")  # fmt: skip
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
