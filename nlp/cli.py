"""The ``zhibiao`` command line: thin wrappers that parse options, call library functions, format.

Each command is a function ``cmd_<name>(args) -> int`` registered in ``_build_parser``; library errors
(:class:`nlp.errors.ZhibiaoError`) print as ``Error: [E0xx] …`` and exit 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from nlp.errors import ZhibiaoError
from nlp.options import _bundle, add_db_option, add_model_option, add_threshold_option

__all__ = ["main"]


def _console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(stderr=False, highlight=False)


# --------------------------------------------------------------------------------------------- parse


def cmd_parse(args: argparse.Namespace) -> int:
    from nlp.parse import parse_paths, summarise
    from nlp.tabular import write_indicators

    documents = parse_paths(args.paths, n_jobs=args.workers)
    problems = [p for d in documents for p in d.problems]
    if args.out:
        indicators = [i for d in documents for i in d.indicators]
        write_indicators(indicators, Path(args.out))
        print(f"Wrote {len(indicators)} indicators to {args.out}")
    print(summarise(documents, explain=args.explain))  # lists every skipped item too
    return 1 if problems else 0


# ----------------------------------------------------------------------------------- model & audit


def cmd_train(args: argparse.Namespace) -> int:
    from nlp.corpus import train_model

    reviewed: list = []
    if args.db:
        from nlp.store import reviewed_labels

        reviewed = reviewed_labels(args.db)
    bundle = train_model(
        corpus=Path(args.corpus),
        path=Path(args.model) if args.model else None,
        reviewed=reviewed,
        family=args.family,
    )
    cv = bundle.meta["cv"]
    print(
        f"Trained {bundle.version} on {bundle.meta['n_train']} examples {bundle.meta['label_sources']}"
        f" in {bundle.meta['train_seconds']} s"
    )
    if cv:
        print(
            f"Grouped 5-fold CV against gold (n={cv['n']}): 二级 acceptable accuracy {cv['accuracy_acceptable']:.3f}, "
            f"exact {cv['accuracy_exact']:.3f}, 一级 {cv['accuracy_l1']:.3f}, macro-F1 {cv['macro_f1']:.3f}"
        )
    from nlp.model import DEFAULT_MODEL_PATH

    print(f"Saved to {args.model or DEFAULT_MODEL_PATH}")
    return 0


def cmd_suggest(args: argparse.Namespace) -> int:
    import json

    from nlp.model import suggest
    from nlp.taxonomy import LEAF_NAMES

    bundle = _bundle(args)
    prediction = suggest(
        bundle, args.text, value=args.value or "", description=args.description or "", top=args.top
    )
    if args.json:
        print(
            json.dumps(
                {
                    "code": prediction.code,
                    "l1": prediction.l1,
                    "l2": prediction.l2,
                    "confidence": prediction.confidence,
                    "top": prediction.top,
                    "process": prediction.process,
                    "reason": prediction.reason,
                },
                ensure_ascii=False,
            )
        )
        return 0
    print(f"{args.text}" + (f"（{args.value}）" if args.value else ""))
    for code, probability in prediction.top:
        print(f"  {code} {LEAF_NAMES[code]:<10} {probability:6.1%}")
    print(f"依据：{prediction.reason}")
    if prediction.process >= 0.5:
        print(
            f"注意：疑似过程指标（预算执行/资金到位/支出合规类，{prediction.process:.0%}），不是绩效产出或效益，建议剔除。"
        )
    return 0


def _indicator_rows(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """Indicators from documents or plain tables, with the input columns to pass through."""
    from nlp.parse import iter_files, parse_file
    from nlp.readers.tables import is_indicator_table, read_rows, rows_to_indicators

    indicators: list = []
    passthrough: list[dict[str, str] | None] = []
    columns: list[str] = []
    problems: list[str] = []
    for path in iter_files(args.paths):
        if path.suffix.lower() in (".csv", ".xlsx", ".jsonl"):
            try:
                cols, rows = read_rows(path)
            except ZhibiaoError as exc:
                problems.append(str(exc))
                continue
            if is_indicator_table(cols) and "declared_code" not in cols:
                found, skipped = rows_to_indicators(path, cols, rows)
                problems += [str(exc) for exc in skipped]
                indicators += [indicator for _, indicator in found]
                passthrough += [row for row, _ in found]
                columns += [c for c in cols if c not in columns]
                continue
        document = parse_file(path)
        problems += [str(p) for p in document.problems]
        indicators += document.indicators
        passthrough += [None] * len(document.indicators)
    return indicators, passthrough, columns, problems


def cmd_classify(args: argparse.Namespace) -> int:
    from nlp.annotate import AUDIT_COLUMNS, PREDICTION_COLUMNS, annotate
    from nlp.records import INDICATOR_COLUMNS, indicator_row
    from nlp.tabular import write_rows

    indicators, passthrough, columns, problems = _indicator_rows(args)
    bundle = _bundle(args)
    annotations = annotate(indicators, bundle=bundle, threshold=args.threshold).rows()
    base = columns or list(INDICATOR_COLUMNS)
    if columns and any(p is None for p in passthrough):
        base = list(dict.fromkeys([*columns, *INDICATOR_COLUMNS]))
    rows = []
    for ind, extra, note in zip(indicators, passthrough, annotations, strict=True):
        row = dict(extra) if extra is not None else indicator_row(ind)
        rows.append({**row, **note})
    out_columns = [*base, *PREDICTION_COLUMNS, *AUDIT_COLUMNS]
    if args.out:
        write_rows(rows, out_columns, Path(args.out))
        print(f"Classified {len(rows)} indicators ({sum(r['flagged'] for r in rows)} flagged) -> {args.out}")
    else:
        for row in rows[:50]:
            flag = "⚑" if row["flagged"] else " "
            print(
                f"{flag} {row['pred_code']} {row['pred_l2']:<10} {row['confidence']:.2f}  {row.get('name', '')}"
            )
        print(f"{len(rows)} indicators, {sum(r['flagged'] for r in rows)} flagged")
    for problem in problems:
        print(f"Skipped: {problem}", file=sys.stderr)
    return 1 if problems else 0


def cmd_audit(args: argparse.Namespace) -> int:
    from nlp.annotate import annotate
    from nlp.audit import DEFAULT_THRESHOLD
    from nlp.report import audit_rows, write_audit

    indicators, _, _, problems = _indicator_rows(args)
    bundle = _bundle(args)
    threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    annotated = annotate(indicators, bundle=bundle, threshold=threshold)
    rows = audit_rows(indicators, annotated.predictions, annotated.verdicts)
    flags = write_audit(rows, Path(args.out), threshold=threshold)
    print(f"Audited {len(indicators)} indicators: {flags} flagged -> {args.out}")
    for problem in problems:
        print(f"Skipped: {problem}", file=sys.stderr)
    return 1 if problems else 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    import json

    from nlp.corpus import load_corpus
    from nlp.evaluate import evaluate
    from nlp.holdout import format_table, leave_document_out

    corpus = Path(args.corpus)
    views = tuple(v for v in args.views.split(",") if v)
    holdout = leave_document_out(load_corpus(corpus), corpus_dir=corpus, n_splits=args.folds, views=views)
    print("Leave-document-out (each document judged by a model that never saw it; seed_only = baseline):")
    print(format_table(holdout))
    for view, models in holdout["views"].items():
        audit = models["full"]["wild"]["audit"] if models["full"]["wild"]["classifier"] else None
        if audit:
            print(f"  {view}: flag-score reliability on the wild documents:")
            for band in audit["reliability"]:
                print(f"    {band['band']}: {band['misplaced']}/{band['n']} misplaced ({band['share']:.0%})")
            for reason, figures in audit["per_reason"].items():
                print(f"    {reason:<24} {figures['flags']:>4} flags, precision {figures['precision']:.2f}")
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "holdout.json").write_text(json.dumps(holdout, ensure_ascii=False, indent=1))
    if args.holdout_only:
        return 0
    report = evaluate(corpus=Path(args.corpus), out=Path(args.out) if args.out else None, db=args.db)
    c, a = report["classifier"], report["audit"]
    print(f"Classifier, grouped 5-fold CV against gold (n={c['n']}):")
    print(
        f"  二级 acceptable accuracy {c['accuracy_acceptable']:.3f}  exact {c['accuracy_exact']:.3f}  "
        f"一级 {c['accuracy_l1']:.3f}  macro-F1 {c['macro_f1']:.3f}"
    )
    for family, scores in report["families"].items():
        print(
            f"  {family:<7} acceptable {scores['accuracy_acceptable']:.3f}  一级 {scores['accuracy_l1']:.3f}  "
            f"macro-F1 {scores['macro_f1']:.3f}"
        )
    d = report["trained_on_declared"]
    print(
        f"  trained on declared labels instead: acceptable {d['accuracy_acceptable']:.3f}, 一级 {d['accuracy_l1']:.3f}"
    )
    print(
        "  per class (precision/recall): "
        + ", ".join(f"{k} {v['precision']:.2f}/{v['recall']:.2f}" for k, v in c["per_class"].items())
    )
    print(f"Audit against gold ({a['misplaced']} misplaced, {a['fine']} fine; ambiguous left out):")
    print(
        f"  {a['flagged']} flagged: precision {a['precision']:.3f}, recall {a['recall']:.3f}, "
        f"process items recall {a['process_recall']:.3f}, suggestion right {a['suggestion_right']:.3f}"
    )
    for reason, scores in a["per_reason"].items():
        print(f"  {reason:<24} {scores['flags']:>4} flags, precision {scores['precision']:.2f}")
    if "reviewers" in report:
        print(f"Reviewers vs model: {report['reviewers']}")
    if args.out:
        print(f"Figures and metrics written to {args.out}")
    return 0


# ------------------------------------------------------------------------------------------ cluster


def cmd_cluster(args: argparse.Namespace) -> int:
    from nlp.cluster import LEVEL_NAMES, find_clusters
    from nlp.parse import parse_paths
    from nlp.report import write_clusters

    documents = parse_paths(args.paths, n_jobs=args.workers)
    clusters = find_clusters(documents, level=args.level, threshold=args.threshold)
    what = LEVEL_NAMES[args.level]
    if args.out:
        path = write_clusters(clusters, Path(args.out))
        print(f"Wrote {len(clusters)} clusters ({sum(c.size for c in clusters)} {what}) to {path}")
    elif not clusters:
        print(f"未发现重复的{what}。")
    else:
        total = sum(c.size for c in clusters)
        print(f"{what}：{len(clusters)} 组重复内容，共 {total} 处（显示前 {args.top} 组）")
        print("编号    次数  部门   相似度  代表文本")
        for c in clusters[: args.top]:
            text = c.representative if len(c.representative) <= 48 else c.representative[:47] + "…"
            print(f"{c.id:<8}{c.size:>4}{len(c.departments):>6}{c.mean_similarity:>9.2f}  {text}")
    for problem in (p for d in documents for p in d.problems):
        print(f"Skipped: {problem}", file=sys.stderr)
    return 1 if any(d.problems for d in documents) else 0


def _register_cluster_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "cluster",
        help="find copied boilerplate: near-duplicate goals, indicators or indicator sets",
        description="Group near-identical goals, indicators (name + value) or projects' indicator sets "
        "across documents (MinHash LSH, verified by Jaccard); numbers and document numbers are ignored.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Examples:\n  zhibiao cluster corpus/raw --level goals --out goals.html\n"
        "  zhibiao cluster corpus/raw --level sets --threshold 0.6",
    )
    p.add_argument("paths", nargs="+", help="documents or folders (.txt .csv .xlsx .pdf .docx)")
    p.add_argument(
        "--level",
        choices=["goals", "indicators", "sets"],
        default="goals",
        help="what to compare (default goals)",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="Jaccard similarity to join a cluster, 0-1 (default per level: goals 0.55, indicators 0.8, sets 0.5)",
    )
    p.add_argument("--out", help="write every member to FILE.csv, .xlsx or .html (side-by-side diffs)")
    p.add_argument("--top", type=int, default=10, help="clusters to print without --out (default 10)")
    p.add_argument("--workers", type=int, default=1, help="parse files in parallel (default 1)")
    p.set_defaults(func=cmd_cluster)


# ---------------------------------------------------------------------------------------------- run


def cmd_run(args: argparse.Namespace) -> int:
    from nlp.run import progress_display, run, stop_on_signals

    with stop_on_signals(), progress_display(sys.stderr) as progress:
        report = run(
            args.paths,
            out=args.out,
            db=args.db,
            model=args.model,
            workers=args.workers,
            scheduler=args.scheduler,
            threshold=args.threshold,
            progress=progress,
        )
    clusters = ", ".join(f"{level} {n}" for level, n in report.clusters.items())
    print(
        f"Ran {len(report.files)} files: {report.projects} projects, {report.indicators} indicators "
        f"({report.distinct} distinct texts), {report.flagged} flagged; clusters: {clusters}"
    )
    if report.unchanged:
        print(f"Nothing changed since the last run into {report.out}: its outputs and store load stand.")
    else:
        print(
            f"Reused from {report.out / '.cache'}: {report.reused['files']} of {len(report.files)} parsed "
            f"files, {report.reused['texts']} of {report.distinct} scored texts"
        )
    print("Time: " + ", ".join(f"{stage} {s:.1f} s" for stage, s in report.seconds.items()))
    if report.load is not None:
        load = report.load
        print(
            f"Store {report.db_url}: {load.added} new, {load.updated} updated, {load.retired} retired, "
            f"{load.decisions_kept} decisions kept"
        )
    for role, path in report.outputs.items():
        if role != "report":
            print(f"Wrote {path}")
    print(f"Report: {report.outputs['report']}")
    if report.failed_files:
        print(
            f"Could not read {len(report.failed_files)} file(s): " + ", ".join(report.failed_files),
            file=sys.stderr,
        )
    for problem in report.problems:
        print(f"Skipped: {problem}", file=sys.stderr)
    return 0 if report.ok else 1


# ------------------------------------------------------------------------------------------- parser


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zhibiao",
        description="指标: parse, classify, audit and de-duplicate budget performance-target indicators.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Examples:\n  zhibiao parse corpus/raw --out indicators.csv\n  zhibiao suggest 资金到位率",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "parse",
        help="parse documents into indicator records",
        description="Parse documents (files or folders, recursive) into indicator records.",
        epilog="Example: zhibiao parse corpus/raw --out indicators.csv",
    )
    p.add_argument("paths", nargs="+", help="files or folders (.txt .csv .xlsx .pdf .docx)")
    p.add_argument("--out", help="write the records to FILE.csv, .jsonl or .xlsx")
    p.add_argument("--workers", type=int, default=1, help="parse files in parallel (default 1)")
    p.add_argument(
        "--explain",
        action="store_true",
        help="per file also list every line that looked like an indicator but was not taken, and why",
    )
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser(
        "train",
        help="train the classifier on the corpus",
        description="Train the classifier "
        "(labels: reviewer decisions > gold > declared), print grouped-CV metrics, save a bundle.",
        epilog="Example: zhibiao train --corpus corpus/",
    )
    p.add_argument("--corpus", default="corpus", help="corpus folder with raw/, wild/ and gold/")
    p.add_argument("--model", help="where to save the bundle (default models/zhibiao.joblib)")
    p.add_argument("--db", help="database URL whose reviewer decisions override gold and declared labels")
    p.add_argument("--family", default="svm", choices=["svm", "logreg", "sgd", "nb"], help="model family")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "suggest",
        help="suggest the standard category of one indicator",
        description="Top categories with probabilities and the features that drove them.",
        epilog="Example: zhibiao suggest 资金到位率 --value 100%",
    )
    p.add_argument("text", help="indicator name (三级指标)")
    p.add_argument("--value", help="target value (指标值)")
    p.add_argument("--description", help="indicator description (绩效指标描述)")
    p.add_argument("--top", type=int, default=3)
    p.add_argument("--json", action="store_true", help="print JSON")
    add_model_option(p)
    p.set_defaults(func=cmd_suggest)

    for name, func, helptext in (
        ("classify", cmd_classify, "add predicted categories and audit columns to every indicator"),
        ("audit", cmd_audit, "write a reviewer report of misplaced indicators"),
    ):
        p = sub.add_parser(
            name,
            help=helptext,
            description=helptext.capitalize() + ".",
            epilog=f"Example: zhibiao {name} corpus/raw --out "
            + ("classified.xlsx" if name == "classify" else "audit.html"),
        )
        p.add_argument(
            "paths", nargs="+", help="documents or tables (.txt .csv .xlsx .pdf .docx), or folders"
        )
        p.add_argument(
            "--out",
            required=name == "audit",
            help="output .csv/.xlsx/.jsonl" + ("" if name == "classify" else " or .html"),
        )
        add_threshold_option(p)
        add_model_option(p)
        p.set_defaults(func=func)

    p = sub.add_parser(
        "evaluate",
        help="grouped-CV figures of the classifier and the audit against gold",
        description="Accuracy, macro-F1, per-class figures, confusion matrix, audit precision/recall.",
        epilog="Example: zhibiao evaluate --out out/eval",
    )
    p.add_argument("--corpus", default="corpus", help="corpus folder with raw/, wild/ and gold/")
    p.add_argument("--out", help="folder for metrics.json, confusion.png, audit_pr.png, errors.csv")
    p.add_argument("--db", help="also report agreement between reviewers' decisions and the model")
    p.add_argument(
        "--folds", type=int, default=5, help="folds of the leave-document-out evaluation (default 5)"
    )
    p.add_argument("--views", default="document,province", help="groups held out: document, province or both")
    p.add_argument("--holdout-only", action="store_true", help="only the leave-document-out figures")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "run",
        help="parse, classify, audit and cluster a corpus; write tables, report, store",
        description="The whole batch: parse (in parallel, cached in OUT/.cache), classify each "
        "distinct text once, audit, find boilerplate; write OUT/indicators.parquet (and .csv for "
        "small runs), departments/NAME.xlsx, flags.xlsx, clusters.xlsx, report.html and load the review "
        "store. Re-running reuses finished work; with nothing changed it returns at once. SIGINT exits "
        "130, SIGTERM 143, leaving no half-written output.",
        epilog="Example: zhibiao run corpus/raw --out out/ --workers 2",
    )
    p.add_argument("paths", nargs="+", help="documents or folders (.txt .csv .xlsx .pdf .docx)")
    p.add_argument("--out", required=True, help="output folder")
    add_db_option(p)
    add_model_option(p)
    p.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes for parsing and scoring on this machine (default: all cores)",
    )
    p.add_argument(
        "--scheduler", help="Dask scheduler address (tcp://HOST:8786): parse and score on a cluster"
    )
    add_threshold_option(p)
    p.set_defaults(func=cmd_run)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return parser


# Commands added by other modules' registration functions (kept in this file, below).
def _register_store_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from nlp.cli_store import register_store_commands

    register_store_commands(sub)


_EXTRA_COMMANDS: list = [_register_store_commands, _register_cluster_command]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ZhibiaoError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        from nlp.run import Stopped

        if isinstance(exc, Stopped):
            print(f"Error: {exc}", file=sys.stderr)
            return exc.exit_code
        print("Interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
