"""The ``zhibiao`` command line: thin wrappers that parse options, call library functions, format.

Each command is a function ``cmd_<name>(args) -> int`` registered in ``_build_parser``; library errors
(:class:`nlp.errors.ZhibiaoError`) print as ``Error: [E0xx] …`` and exit 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from nlp.errors import ZhibiaoError

__all__ = ["main"]


def _console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(stderr=False, highlight=False)


# --------------------------------------------------------------------------------------------- parse


def cmd_parse(args: argparse.Namespace) -> int:
    from nlp.parse import parse_paths, summarise, write_indicators

    documents = parse_paths(args.paths, n_jobs=args.workers)
    problems = [p for d in documents for p in d.problems]
    if args.out:
        indicators = [i for d in documents for i in d.indicators]
        write_indicators(indicators, Path(args.out))
        print(f"Wrote {len(indicators)} indicators to {args.out}")
    print(summarise(documents))
    for problem in problems:
        print(f"Skipped: {problem}", file=sys.stderr)
    return 1 if problems else 0


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
    p.set_defaults(func=cmd_parse)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return parser


# Commands added by other modules' registration functions (kept in this file, below).
_EXTRA_COMMANDS: list = []


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ZhibiaoError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
