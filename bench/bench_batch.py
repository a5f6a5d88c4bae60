"""Benchmark of the batch run: indicators/s and peak memory of `classify` and `run`, against a naive
baseline and against bare jieba, on a synthetic corpus (bench/synth.py) of 10k, 100k and 1M indicators.

Two variants per size: ``realistic`` (boilerplate repeats as in real tables) and ``distinct`` (every
indicator text new: nothing can be reused). For each it measures, each in a fresh process so that the
peak memory (ru_maxrss, interpreter and libraries included) is that measurement's own:

- ``classify``: ``nlp.model.classify(bundle, indicators)`` (reasons included) in one process;
- ``classify ×2``: the run's classify stage with 2 worker processes (score each distinct text, build
  every prediction), as ``zhibiao run --workers 2`` does;
- ``naive``: per-row jieba and per-row predict, no caching: every indicator goes through the
  scikit-learn FeatureUnion alone, with the segmenter's caches cleared — timed on a sample and
  extrapolated (labelled so);
- ``jieba floor``: bare ``jieba.lcut`` over the same distinct names — the floor for anything that
  segments with jieba;
- ``run``: ``nlp.run.run`` end to end (parse CSV tables, classify, audit, cluster, write the four
  files, load a fresh SQLite store) with 2 workers, then again on the same folder (everything cached);
  and a naive run (the same stages with the naive classify and a per-row audit) on a sample.

At 1M only classify, classify ×2 and the floor are measured (the run at 1M would take most of the
15 minutes on 2 cores); pass ``--full`` to run everything at every size.

    .venv/bin/python bench/bench_batch.py                      # 10k, 100k, 1M (about 15 min on 2 cores)
    .venv/bin/python bench/bench_batch.py --sizes 10k,100k     # quicker
    .venv/bin/python bench/bench_batch.py --runs --sizes 100k --variants realistic --baseline HEAD
    .venv/bin/python bench/bench_batch.py --writers 100k       # the .xlsx writers, Parquet and CSV

``--runs`` measures only ``run`` and its re-run, on a copy of this tree taken when the script starts (the
checkout may be edited while it runs), and with ``--baseline REF`` on ``git archive REF`` too, one after
the other in the same invocation, so the comparison shares the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# ``--code DIR`` (in a child) measures the package in DIR: a snapshot of this tree, or a baseline tree.
_CODE = Path(sys.argv[sys.argv.index("--code") + 1]) if "--code" in sys.argv else ROOT
sys.path.insert(0, str(_CODE))
sys.path.insert(0, str(ROOT / "bench"))

TARGET_RATE = 20_000  # indicators/s, classify, realistic duplication
TARGET_FLOOR_RATIO = 1.5  # classify time / bare jieba time, all-distinct
TARGET_MEMORY_MIB = 2048  # at 1M indicators
TARGET_SPEEDUP = 5.0  # over the naive baseline
NAIVE_SAMPLE = 1000  # indicators the naive baseline is timed on before extrapolating
RUN_LIMIT = 100_000  # largest size the run is measured at unless --full


def _size(text: str) -> int:
    text = text.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * factor)


def _label(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# ------------------------------------------------------------------------------- naive baseline


def naive_classify(bundle: Any, indicators: list[Any]) -> list[Any]:
    """Per row: clear every cache, transform through the FeatureUnion, predict, explain."""
    import numpy as np

    from nlp import model, segment

    features = bundle.pipe.named_steps["features"]
    clf = bundle.pipe.named_steps["clf"]
    out = []
    for ind in indicators:
        segment._segment_cached.cache_clear()
        segment.parse_value.cache_clear()
        segment._parse.cache_clear()
        row = (ind.name, ind.description, ind.value)
        x = features.union_.transform([row])
        proba = clf.predict_proba(x)[0]
        order = np.argsort(-proba)[:3]
        reason = model._reasons(bundle, x, order[:1])[0]
        out.append(model._make_prediction(bundle.classes, proba, order, ind.scheme, reason))
    return out


def naive_audit(bundle: Any, indicators: list[Any]) -> list[Any]:
    """Per row: the audit of that one indicator, scored through the FeatureUnion with caches cleared."""
    from nlp import segment
    from nlp.audit import audit
    from nlp.model import RowScores

    verdicts = []
    for ind in indicators:
        segment._segment_cached.cache_clear()
        segment.parse_value.cache_clear()
        row = [(ind.name, ind.description, ind.value)]
        proba = bundle.pipe.named_steps["clf"].predict_proba(
            bundle.pipe.named_steps["features"].union_.transform(row)
        )
        detector = bundle.process_pipe
        pr = detector.named_steps["clf"].predict_proba(detector.named_steps["features"].union_.transform(row))
        column = [str(c) for c in detector.classes_].index("PR")
        scores = RowScores(proba, pr[:, column], ("",))
        verdicts += audit([ind], bundle=bundle, scores=scores)
    return verdicts


# ------------------------------------------------------------------------------ one measurement


def measure(kind: str, n: int, variant: str, model_path: Path, workdir: Path) -> dict[str, Any]:
    """One measurement, in this (fresh) process."""
    from nlp.persist import load_model

    bundle = load_model(model_path)
    result: dict[str, Any] = {"kind": kind, "n": n, "variant": variant}
    if kind in ("classify", "classify2", "naive"):
        from synth import synthetic_indicators

        indicators = synthetic_indicators(n, variant=variant)
        result["distinct"] = len({(i.name, i.description, i.value) for i in indicators})
        if kind == "naive":
            indicators = indicators[:NAIVE_SAMPLE]
        start = time.perf_counter()
        if kind == "classify":
            from nlp.model import classify

            predictions = classify(bundle, indicators)
        elif kind == "classify2":
            import numpy as np

            from nlp.model import classify, to_rows
            from nlp.parallel import score_distinct

            index: dict[tuple[str, str, str], int] = {}
            positions = np.fromiter(
                (index.setdefault(r, len(index)) for r in to_rows(indicators)), dtype=np.intp
            )
            scores, _ = score_distinct(bundle, list(index), workers=2, model_path=model_path)
            predictions = classify(bundle, indicators, scores=scores.take(positions))
        else:
            predictions = naive_classify(bundle, indicators)
        result["seconds"] = time.perf_counter() - start
        result["measured"] = len(predictions)
        if kind == "classify":
            import jieba

            jieba.setLogLevel(60)
            jieba.initialize()
            rows = dict.fromkeys((i.name, i.description, i.value) for i in indicators)
            names = list(dict.fromkeys(name for name, _, _ in rows))
            start = time.perf_counter()
            for name in names:
                jieba.lcut(name)
            result["floor_seconds"] = time.perf_counter() - start
            result["floor_texts"] = len(names)
            # A looser floor: every field of every distinct row through jieba, as if all were segmented.
            start = time.perf_counter()
            for name, description, value in rows:
                jieba.lcut(name), jieba.lcut(description), jieba.lcut(value)
            result["floor_all_seconds"] = time.perf_counter() - start
    elif kind in ("run", "naive-run"):
        from nlp.parse import iter_files

        corpus = workdir / f"corpus-{n}-{variant}"
        files = iter_files([corpus])
        if kind == "run":
            from nlp.run import run

            tag = _CODE.name
            out = workdir / f"out-{n}-{variant}-{tag}"
            shutil.rmtree(out, ignore_errors=True)
            db = f"sqlite:///{workdir / f'store-{n}-{variant}-{tag}.sqlite'}"
            Path(db.removeprefix("sqlite:///")).unlink(missing_ok=True)
            start = time.perf_counter()
            report = run(files, out=out, db=db, bundle=bundle, model=model_path, workers=2)
            result["seconds"] = time.perf_counter() - start
            result["stages"] = report.seconds
            result["measured"] = report.indicators
            result["distinct"] = report.distinct
            start = time.perf_counter()
            again = run(files, out=out, db=db, bundle=bundle, model=model_path, workers=2)
            result["rerun_seconds"] = time.perf_counter() - start
            result["rerun_reused"] = again.reused
            result["rerun_unchanged"] = bool(getattr(again, "unchanged", False))
        else:
            result.update(_naive_run(bundle, files, workdir))
    result["peak_mib"] = _peak_mib()
    return result


def _naive_run(bundle: Any, files: list[Path], workdir: Path) -> dict[str, Any]:
    """The run's stages with the naive classify and audit, over the first files up to NAIVE_SAMPLE indicators."""
    from nlp.annotate import load_documents
    from nlp.cluster import LEVELS, find_clusters
    from nlp.parse import parse_file
    from nlp.run_report import write_clusters_book, write_tables
    from nlp.store import open_store

    out = workdir / "out-naive"
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    documents, count = [], 0
    for path in files:
        document = parse_file(path)
        documents.append(document)
        count += len(document.indicators)
        if count >= NAIVE_SAMPLE:
            break
    indicators = [i for d in documents for i in d.indicators]
    predictions = naive_classify(bundle, indicators)
    verdicts = naive_audit(bundle, indicators)
    clusters = {level: find_clusters(documents, level=level) for level in LEVELS}
    write_tables(
        indicators,
        predictions,
        verdicts,
        indicators_csv=out / "indicators.csv",
        flags_xlsx=out / "flags.xlsx",
    )
    write_clusters_book(clusters, out / "clusters.xlsx")
    db = open_store(f"sqlite:///{out / 'store.sqlite'}")
    load_documents(db, documents, bundle=bundle, predictions=predictions, verdicts=verdicts)
    db.close()
    return {"seconds": time.perf_counter() - start, "measured": len(indicators)}


# ------------------------------------------------------------------------------- runs, writers


def _snapshot(workdir: Path, baseline: str | None) -> dict[str, Path]:
    """Copies of the package to measure: this tree as it is now (others may edit the checkout while the
    benchmark runs) and, with ``baseline``, that commit's tree."""
    trees: dict[str, Path] = {}
    if baseline:
        target = workdir / "code-baseline"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", baseline], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
        trees["baseline"] = target
    target = workdir / "code-current"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(ROOT / "nlp", target / "nlp", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", target)
    trees["current"] = target
    return trees


def measure_runs(
    sizes: list[int], variants: list[str], model_path: Path, workdir: Path, *, baseline: str | None
) -> int:
    """`run` end to end and its re-run, for the baseline commit and this tree, one after the other."""
    from synth import write_corpus

    trees = _snapshot(workdir, baseline)
    rows = []
    for n in sizes:
        for variant in variants:
            corpus = workdir / f"corpus-{n}-{variant}"
            if not corpus.exists():
                write_corpus(n, corpus, variant=variant)
            for name, tree in trees.items():
                result = _child("run", n, variant, model_path, workdir, code=tree)
                rows.append((name, result))
                print(f"run {_label(n)} {variant} {name}: {_rate(result):,.0f}/s in {result['seconds']:.1f} s, "
                      f"re-run {result['rerun_seconds']:.1f} s, {result['peak_mib']:,.0f} MiB", flush=True)  # fmt: skip
    print()
    print(_row(["size", "variant", "code", "indicators/s", "seconds", "peak MiB", "re-run s", "first / re-run",
                "stages (s)"]))  # fmt: skip
    print(_row(["---"] * 9))
    for name, r in rows:
        stages = ", ".join(f"{k} {v:.1f}" for k, v in r["stages"].items())
        print(_row([_label(r["n"]), r["variant"], name, f"{_rate(r):,.0f}", f"{r['seconds']:.1f}",
                    f"{r['peak_mib']:,.0f}", f"{r['rerun_seconds']:.1f}",
                    f"{r['seconds'] / r['rerun_seconds']:.1f}×", stages]))  # fmt: skip
    return 0


def compare_writers(n: int) -> int:
    """Seconds to write N indicator rows (RUN_COLUMNS' indicator part) with each writer, one process."""
    from synth import synthetic_indicators

    from nlp.records import INDICATOR_COLUMNS
    from nlp.tabular import StreamBook, write_parquet

    columns = list(INDICATOR_COLUMNS)
    rows = [[getattr(i, c) for c in columns] for i in synthetic_indicators(n)]
    folder = Path(tempfile.mkdtemp(prefix="zhibiao-writers-"))

    def openpyxl_write_only() -> None:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("indicators")
        sheet.append(columns)
        for row in rows:
            sheet.append(row)
        book.save(folder / "openpyxl.xlsx")

    def xlsxwriter_constant_memory() -> None:
        import xlsxwriter

        book = xlsxwriter.Workbook(str(folder / "xlsxwriter.xlsx"), {"constant_memory": True,
                                   "strings_to_formulas": False, "strings_to_urls": False})  # fmt: skip
        sheet = book.add_worksheet("indicators")
        sheet.write_row(0, 0, columns)
        for k, row in enumerate(rows, start=1):
            sheet.write_row(k, 0, row)
        book.close()

    def stream_book() -> None:
        book = StreamBook(folder / "stream.xlsx")
        sheet = book.sheet("indicators", columns)
        for row in rows:
            book.append(sheet, row)
        book.close()

    def parquet() -> None:
        write_parquet({c: [row[k] for row in rows] for k, c in enumerate(columns)}, folder / "t.parquet")

    def csv_file() -> None:
        import csv

        with open(folder / "t.csv", "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows(rows)

    print(f"## writers, {n:,} rows × {len(columns)} columns ({n * len(columns):,} cells)")
    print()
    print(_row(["writer", "seconds", "rows/s", "µs per cell", "bytes"]))
    print(_row(["---"] * 5))
    writers = [("openpyxl write-only", openpyxl_write_only, "openpyxl.xlsx"),
               ("XlsxWriter constant_memory", xlsxwriter_constant_memory, "xlsxwriter.xlsx"),
               ("nlp.tabular.StreamBook", stream_book, "stream.xlsx"), ("Parquet (pyarrow)", parquet, "t.parquet"),
               ("CSV (csv module)", csv_file, "t.csv")]  # fmt: skip
    for name, write, output in writers:
        try:
            start = time.perf_counter()
            write()
            seconds = time.perf_counter() - start
        except ImportError as exc:
            print(_row([name, f"not installed ({exc.name})", "", "", ""]))
            continue
        target = folder / output
        size = sum(p.stat().st_size for p in target.rglob("*")) if target.is_dir() else target.stat().st_size
        print(_row([name, f"{seconds:.2f}", f"{n / seconds:,.0f}", f"{seconds / (n * len(columns)) * 1e6:.2f}",
                    f"{size:,}"]), flush=True)  # fmt: skip
    shutil.rmtree(folder, ignore_errors=True)
    return 0


def _child(
    kind: str, n: int, variant: str, model_path: Path, workdir: Path, code: Path | None = None
) -> dict[str, Any]:
    command = [sys.executable, __file__, "--one", f"{kind}:{n}:{variant}", "--model", str(model_path),
               "--workdir", str(workdir)]  # fmt: skip
    if code is not None:
        command += ["--code", str(code)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} {n} {variant} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------- report


def _rate(result: dict[str, Any]) -> float:
    return result["measured"] / result["seconds"]


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10k,100k,1M", help="comma-separated sizes (default 10k,100k,1M)")
    parser.add_argument("--variants", default="realistic,distinct")
    parser.add_argument(
        "--model", type=Path, help="model bundle (default: models/zhibiao.joblib, trained if missing)"
    )
    parser.add_argument(
        "--workdir", type=Path, help="where corpora and outputs go (default: a temporary folder)"
    )
    parser.add_argument("--full", action="store_true", help="also measure the run above 100k")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # KIND:N:VARIANT, in a child process
    parser.add_argument("--code", help=argparse.SUPPRESS)  # the package tree a child measures
    parser.add_argument(
        "--runs", action="store_true",
        help="measure only `run` (first run and re-run) of a snapshot of this tree, at every size",
    )  # fmt: skip
    parser.add_argument(
        "--baseline", metavar="GIT_REF", help="with --runs: also measure the run of this commit (git archive)"
    )
    parser.add_argument(
        "--writers", type=_size, metavar="N",
        help="time the .xlsx writers (openpyxl write-only, XlsxWriter constant_memory, nlp.tabular.StreamBook) "
        "and Parquet on N synthetic indicator rows",
    )  # fmt: skip
    args = parser.parse_args(argv)

    if args.one:
        kind, n, variant = args.one.split(":")
        print(json.dumps(measure(kind, int(n), variant, args.model, args.workdir)))
        return 0
    if args.writers:
        return compare_writers(args.writers)

    from nlp.corpus import ensure_model
    from nlp.model import DEFAULT_MODEL_PATH

    model_path = args.model or DEFAULT_MODEL_PATH
    ensure_model(path=model_path)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="zhibiao-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    sizes = [_size(s) for s in args.sizes.split(",")]
    variants = args.variants.split(",")
    print(
        f"# bench_batch: sizes {', '.join(map(_label, sizes))}; {os.cpu_count()} cores; workdir {workdir}",
        flush=True,
    )
    if args.runs:
        return measure_runs(sizes, variants, model_path, workdir, baseline=args.baseline)
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    naive: dict[str, dict[str, Any]] = {}
    for variant in variants:
        # The naive baseline is timed once per variant on a sample (per-row work does not depend on size).
        naive[variant] = _child("naive", max(sizes[0], NAIVE_SAMPLE), variant, model_path, workdir)
        print(
            f"naive classify {variant}: {_rate(naive[variant]):,.0f} indicators/s on {NAIVE_SAMPLE}",
            flush=True,
        )
    naive_run: dict[str, dict[str, Any]] = {}
    for n in sizes:
        for variant in variants:
            for kind in ("classify", "classify2"):
                result = _child(kind, n, variant, model_path, workdir)
                results.append(result)
                print(
                    f"{kind} {_label(n)} {variant}: {_rate(result):,.0f}/s, {result['peak_mib']:,.0f} MiB",
                    flush=True,
                )
            if n <= RUN_LIMIT or args.full:
                from synth import write_corpus

                corpus = workdir / f"corpus-{n}-{variant}"
                if not corpus.exists():
                    write_corpus(n, corpus, variant=variant)
                if variant not in naive_run:
                    naive_run[variant] = _child("naive-run", n, variant, model_path, workdir)
                    print(f"naive run {variant}: {_rate(naive_run[variant]):,.0f}/s", flush=True)
                result = _child("run", n, variant, model_path, workdir)
                results.append(result)
                print(f"run {_label(n)} {variant}: {_rate(result):,.0f}/s, {result['peak_mib']:,.0f} MiB "
                      f"(re-run {result['rerun_seconds']:.1f} s)", flush=True)  # fmt: skip
    elapsed = time.perf_counter() - started

    print()
    print("## classify (indicators/s; peak memory of the process)")
    print()
    print(_row(["size", "variant", "distinct texts", "classify", "peak MiB", "classify ×2", "peak MiB",
                "naive (extrapolated)", "speed-up", "jieba floor", "classify / floor", "×2 / floor",
                "floor, all fields", "classify / it"]))  # fmt: skip
    print(_row(["---"] * 14))
    by = {(r["kind"], r["n"], r["variant"]): r for r in results}
    for n in sizes:
        for variant in variants:
            one, two = by[("classify", n, variant)], by[("classify2", n, variant)]
            base = _rate(naive[variant])
            floor = one["floor_seconds"]
            print(_row([
                _label(n), variant, f"{one['distinct']:,}", f"{_rate(one):,.0f}", f"{one['peak_mib']:,.0f}",
                f"{_rate(two):,.0f}", f"{two['peak_mib']:,.0f}", f"{base:,.0f}", f"{_rate(one) / base:,.0f}×",
                f"{floor:.1f} s ({one['floor_texts']:,} names)", f"{one['seconds'] / floor:.2f}",
                f"{two['seconds'] / floor:.2f}", f"{one['floor_all_seconds']:.1f} s",
                f"{one['seconds'] / one['floor_all_seconds']:.2f}",
            ]))  # fmt: skip
    if any(k == "run" for k, _, _ in by):
        print()
        print(
            "## run end to end (2 workers; parse CSV tables, classify, audit, cluster, write 4 files, load SQLite)"
        )
        print()
        print(_row(["size", "variant", "indicators/s", "seconds", "peak MiB", "naive run (extrapolated)",
                    "speed-up", "re-run (cached) s", "stages (s)"]))  # fmt: skip
        print(_row(["---"] * 9))
        for n in sizes:
            for variant in variants:
                r = by.get(("run", n, variant))
                if r is None:
                    continue
                base = _rate(naive_run[variant])
                stages = ", ".join(f"{k} {v:.1f}" for k, v in r["stages"].items())
                print(_row([
                    _label(n), variant, f"{_rate(r):,.0f}", f"{r['seconds']:.1f}", f"{r['peak_mib']:,.0f}",
                    f"{base:,.0f}", f"{_rate(r) / base:,.0f}×", f"{r['rerun_seconds']:.1f}", stages,
                ]))  # fmt: skip
    print()
    print(f"whole benchmark: {elapsed / 60:.1f} min")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
