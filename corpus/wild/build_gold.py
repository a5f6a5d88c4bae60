"""Build corpus/gold/wild_gold.csv from two independent labelling passes and the third reading.

    python corpus/wild/build_gold.py            # agreement, kappa, and the disagreements to adjudicate
    python corpus/wild/build_gold.py --write    # also write the gold (needs the adjudication file)

Inputs under corpus/gold/passes/: to_label_rN.csv (the rows), rN_pass_a.csv and rN_pass_b.csv (two
reviewers who did not see each other), rN_adjudicated.csv (the third reading of every disagreement,
following TAXONOMY.md). Output columns are those of seed_gold.csv. No label comes from the model.
"""

from __future__ import annotations

import argparse
import csv
from collections import Counter
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

PASSES = Path(__file__).resolve().parents[1] / "gold" / "passes"
OUT = Path(__file__).resolve().parents[1] / "gold" / "wild_gold.csv"
COLUMNS = ["docs", "declared_l1", "declared_l2", "declared_code", "name", "description", "value",
           "gold_code", "gold_l2", "alt_code", "confidence"]  # fmt: skip
NAMES = {"11": "数量", "12": "质量", "13": "时效", "14": "成本", "21": "经济效益", "22": "社会效益",
         "23": "生态效益", "24": "可持续影响", "31": "服务对象满意度", "PR": "过程指标"}  # fmt: skip


def _read(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {row["item_id"]: row for row in csv.DictReader(handle)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    from nlp.taxonomy import declared_code

    rounds = sorted(p.name.split("_")[2].split(".")[0] for p in PASSES.glob("to_label_r*.csv"))
    items: dict[str, dict[str, str]] = {}
    a: dict[str, dict[str, str]] = {}
    b: dict[str, dict[str, str]] = {}
    third: dict[str, dict[str, str]] = {}
    for r in rounds:
        if not (PASSES / f"{r}_pass_a.csv").exists() or not (PASSES / f"{r}_pass_b.csv").exists():
            print(f"round {r}: not labelled twice yet, left out")
            continue
        items |= _read(PASSES / f"to_label_{r}.csv")
        a |= _read(PASSES / f"{r}_pass_a.csv")
        b |= _read(PASSES / f"{r}_pass_b.csv")
        if (PASSES / f"{r}_adjudicated.csv").exists():
            third |= _read(PASSES / f"{r}_adjudicated.csv")
    both = [i for i in items if i in a and i in b]
    ca, cb = [a[i]["gold_code"] for i in both], [b[i]["gold_code"] for i in both]
    exact = sum(x == y for x, y in zip(ca, cb, strict=True))
    acceptable = sum(
        a[i]["gold_code"] in {b[i]["gold_code"], b[i]["alt_code"]}
        or b[i]["gold_code"] in {a[i]["gold_code"], a[i]["alt_code"]}
        for i in both
    )
    print(f"{len(both)} items labelled twice; exact agreement {exact / len(both):.3f}, "
          f"acceptable agreement {acceptable / len(both):.3f}, Cohen's kappa {cohen_kappa_score(ca, cb):.3f}")  # fmt: skip
    disagreements = [i for i in both if a[i]["gold_code"] != b[i]["gold_code"]]
    print(f"{len(disagreements)} disagreements; {sum(i in third for i in disagreements)} adjudicated")
    if not args.write:
        return
    rows = []
    for i in both:
        source = third[i] if i in third else a[i]
        if i in disagreements and i not in third:
            raise SystemExit(f"{i} is a disagreement without a third reading")
        item = items[i]
        code = declared_code(item["declared_l1"], item["declared_l2"])
        alt = source.get("alt_code", "") if source.get("alt_code", "") != source["gold_code"] else ""
        rows.append({
            "docs": item["doc_id"], "declared_l1": item["declared_l1"], "declared_l2": item["declared_l2"],
            "declared_code": code, "name": item["name"], "description": item["description"],
            "value": item["target_value"], "gold_code": source["gold_code"],
            "gold_l2": NAMES[source["gold_code"]], "alt_code": alt, "confidence": source.get("confidence", ""),
        })  # fmt: skip
    with OUT.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {OUT}: {dict(Counter(r['gold_code'] for r in rows))}")


if __name__ == "__main__":
    main()
