"""How many hand-recorded indicators of the wild corpus ``zhibiao parse`` recovers from the pages' raw text.

    python bench/parse_recovery.py [var/wild_raw] [--worst 10] [--missing] [--json out.json] [--code DIR]

The folder holds one raw page text per document, named ``<doc_id>.txt`` (the excerpts are kept locally,
never committed). Each is parsed with :func:`nlp.parse.parse_file`; the names it recovers are matched to
the names recorded by hand in ``corpus/wild/indicators.csv`` and ``corpus/wild/r4_indicators.csv`` (when
present), after normalising width, whitespace, punctuation and "指标1:" numbering. Only documents that
have both a raw text and records are measured, so any subset works. Prints recovery per layout kind
(``SOURCES.csv``, else the records' own ``layout_kind``) and overall, then the worst documents.
``--code DIR`` imports ``nlp`` from another checkout (a copy of the code before a change: the "before"
figures).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WILD = ROOT / "corpus" / "wild"
RECORDS = ("indicators.csv", "r4_indicators.csv")
KINDS = (
    "merged_omitted",
    "pipe_cells",
    "space_runs",
    "tab_grid",
    "cell_per_line",
    "run_together",
    "mixed",
    "narrative",
)


def normalise(name: str) -> str:
    """A name compared: NFKC, no "指标1:" / "1." numbering, no whitespace, punctuation or symbols but
    the comparison signs that tell indicators apart."""
    text = unicodedata.normalize("NFKC", name).strip()
    # Numbering and "其中:" ("of which") introduce a name, they are no part of it.
    text = re.sub(r"^(?:指标\s*\d{1,2}\s*[:：.、]?|\d{1,2}\s*[.、:：](?!\d)|[(（]\d{1,2}[)）])\s*", "", text)
    text = re.sub(r"^其中\s*[:：]?", "", text)
    return "".join(
        c for c in text if not unicodedata.category(c).startswith(("P", "Z", "C")) and c not in "|｜"
    ).lower()


def load_records(folder: Path = WILD) -> tuple[dict[str, list[str]], dict[str, str]]:
    """doc_id -> recorded names, and doc_id -> layout kind (SOURCES.csv first, then the records')."""
    names: dict[str, list[str]] = defaultdict(list)
    kinds: dict[str, str] = {}
    for file in (*RECORDS, "r4_sources.csv"):
        path = folder / file
        if not path.is_file():
            continue
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if "name" in row:
                    names[row["doc_id"]].append(row["name"])
                    kinds.setdefault(row["doc_id"], row.get("layout_kind") or "")
                elif row.get("layout_kind") in KINDS:
                    kinds[row["doc_id"]] = row["layout_kind"]
    sources = folder / "SOURCES.csv"
    if sources.is_file():
        with sources.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if row.get("layout_kind") in KINDS:
                    kinds[row["doc_id"]] = row["layout_kind"]
    return dict(names), kinds


def measure_document(path: Path, recorded: list[str]) -> dict[str, object]:
    """Recovered / recorded names of one document (each recorded name matched at most once)."""
    from nlp.parse import parse_file

    document = parse_file(path)
    parsed = Counter(normalise(i.name) for i in document.indicators)
    found, missing = 0, []
    for name in recorded:
        key = normalise(name)
        if parsed[key] > 0:
            parsed[key] -= 1
            found += 1
        else:
            missing.append(name)
    return {
        "layout": document.layout,
        "read": bool(document.indicators),
        "parsed": len(document.indicators),
        "recorded": len(recorded),
        "found": found,
        "missing": missing,
        "extra": sorted(k for k, v in parsed.items() if v > 0),
    }


def measure(folder: Path) -> dict[str, dict[str, object]]:
    names, kinds = load_records()
    results: dict[str, dict[str, object]] = {}
    for path in sorted(folder.glob("*.txt")):
        doc_id = path.stem
        if doc_id not in names:
            continue
        result = measure_document(path, names[doc_id])
        result["kind"] = kinds.get(doc_id, "?")
        results[doc_id] = result
    return results


def summary(results: dict[str, dict[str, object]]) -> list[tuple[str, int, int, int, int]]:
    """(kind, documents read, documents, found, recorded) per kind, then "all"."""
    rows = []
    groups: dict[str, list[dict[str, object]]] = defaultdict(list)
    for result in results.values():
        groups[str(result["kind"])].append(result)
    order = [k for k in KINDS if k in groups] + sorted(k for k in groups if k not in KINDS)
    every = list(results.values())
    for kind, members in [*((k, groups[k]) for k in order), ("all", every)]:
        rows.append(
            (
                kind,
                sum(1 for r in members if r["read"]),
                len(members),
                sum(int(str(r["found"])) for r in members),
                sum(int(str(r["recorded"])) for r in members),
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", nargs="?", default=str(ROOT / "var" / "wild_raw"))
    parser.add_argument("--worst", type=int, default=10, help="how many of the worst documents to list")
    parser.add_argument("--missing", action="store_true", help="list the names not recovered")
    parser.add_argument("--json", help="write every document's result to this file")
    parser.add_argument("--code", help="import nlp from this folder instead of the checkout")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(args.code).resolve() if args.code else ROOT))
    folder = Path(args.folder)
    if not folder.is_dir():
        sys.exit(f"{folder}: no such folder. Save raw page texts there as <doc_id>.txt first.")
    results = measure(folder)
    if not results:
        sys.exit(f"{folder}: no <doc_id>.txt with records in corpus/wild/. Check the file names.")
    print("| layout kind | documents read | indicators recovered |\n|---|---|---|")
    for kind, read, docs, found, recorded in summary(results):
        share = found / recorded if recorded else 0.0
        label = f"**{kind}**" if kind == "all" else kind
        print(f"| {label} | {read}/{docs} | {found:,}/{recorded:,} = {share:.2f} |")
    ranked = sorted(
        results.items(),
        key=lambda item: (int(str(item[1]["found"])) - int(str(item[1]["recorded"])), item[0]),
    )
    print("\nworst documents (missed, kind, layout read):")
    for doc_id, result in ranked[: args.worst]:
        missed = int(str(result["recorded"])) - int(str(result["found"]))
        if missed <= 0:
            break
        print(
            f"  {doc_id}  {result['found']}/{result['recorded']}  missed {missed}  "
            f"{result['kind']} -> {result['layout']} (parsed {result['parsed']})"
        )
        if args.missing:
            print("      missing:", "；".join(map(str, result["missing"]))[:400])  # type: ignore[arg-type]
            print("      extra:  ", "；".join(map(str, result["extra"]))[:400])  # type: ignore[arg-type]
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
