"""Leave-document-out evaluation on the whole corpus (seed + wild gold), with the seed-only baseline.

    python bench/eval_holdout.py [--folds 5] [--views document,province] [--out out/eval]

Prints the table that goes into corpus/README.md and the closing notes; writes holdout.json with --out.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from nlp.corpus import DEFAULT_CORPUS, load_corpus
from nlp.holdout import format_table, leave_document_out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--views", default="document,province")
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--families", default="svm", help="model families to compare, the first is 'full'")
    parser.add_argument("--out")
    args = parser.parse_args()
    started = time.perf_counter()
    corpus = load_corpus(DEFAULT_CORPUS)
    report = leave_document_out(
        corpus, n_splits=args.folds, views=tuple(args.views.split(",")), threshold=args.threshold,
        families=tuple(args.families.split(",")),
    )  # fmt: skip
    print(
        f"{report['documents']} documents, {report['indicators']} indicators, "
        f"{report['gold_matched']} with gold ({report['process_items']} process items)"
    )
    print(format_table(report))
    for view, models in report["views"].items():
        wild = models["full"]["wild"]["audit"]
        print(f"{view} / full / wild: per reason {wild['per_reason']}")
        print(f"{view} / full / wild: reliability {wild['reliability']}")
    print(f"{time.perf_counter() - started:.0f} s")
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "holdout.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
