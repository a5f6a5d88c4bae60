"""Benchmark: cluster 100,000 synthetic project goals and report time and peak memory.

The goals are the seed documents' goals recombined and perturbed the way copied boilerplate drifts:
sentences from one to three seed goals, shuffled, with a few characters inserted, deleted or replaced,
and the numbers (years, amounts, document numbers) changed. Targets on the 2-core reference machine:
under 60 s and under 2 GiB.

    .venv/bin/python bench/bench_cluster.py            # 100,000 goals
    .venv/bin/python bench/bench_cluster.py --n 20000  # a quicker run
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlp.cluster import DEFAULT_THRESHOLD, cluster_goals  # noqa: E402
from nlp.records import Project  # noqa: E402

TIME_TARGET_S = 60.0
MEMORY_TARGET_MIB = 2048.0
_SENTENCE = re.compile(r"(?<=[。；;！!？?])")
_CLAUSE = re.compile(r"[，,；;。]")
_DIGITS = re.compile(r"\d+")


def seed_goals(raw_dir: Path) -> list[str]:
    """The distinct non-empty goals of the seed documents."""
    from nlp.parse import parse_paths

    documents = parse_paths([str(raw_dir)])
    return sorted({p.goal.strip() for d in documents for p in d.projects if len(p.goal.strip()) > 1})


def _perturb(text: str, rng: random.Random, alphabet: str) -> str:
    chars = list(_DIGITS.sub(lambda m: str(rng.randint(1, 2025)), text))
    for _ in range(rng.choice((0, 0, 1, 2, 3))):
        position = rng.randrange(len(chars) + 1)
        operation = rng.random()
        if operation < 0.4 or not chars:
            chars.insert(position, rng.choice(alphabet))
        elif operation < 0.7:
            del chars[min(position, len(chars) - 1)]
        else:
            chars[min(position, len(chars) - 1)] = rng.choice(alphabet)
    return "".join(chars)


def synthesise(goals: Sequence[str], n: int, *, seed: int = 20240501) -> list[str]:
    """``n`` goals from the seed goals, copied the way boilerplate drifts.

    Four in five are copies of one seed goal: its sentences shuffled (half the time), a clause dropped
    or one borrowed from another goal (a third of the time), a few characters edited and the numbers
    changed. One in five is new text stitched from clauses of four to six different goals, the kind of
    goal that should join no cluster.
    """
    rng = random.Random(seed)
    sentences = [[s for s in _SENTENCE.split(goal) if s] for goal in goals]
    clauses = [c for goal in goals for c in _CLAUSE.split(goal) if len(c) > 3]
    alphabet = "".join(sorted({ch for goal in goals for ch in goal if "\u4e00" <= ch <= "\u9fff"}))
    out = []
    for _ in range(n):
        if rng.random() < 0.2:
            text = "，".join(rng.sample(clauses, k=rng.randint(4, 6))) + "。"
        else:
            parts = list(rng.choice(sentences))
            if rng.random() < 0.5:
                rng.shuffle(parts)
            text = "".join(parts)
            if rng.random() < 0.33:
                pieces = _CLAUSE.split(text)
                if len(pieces) > 2 and rng.random() < 0.5:
                    del pieces[rng.randrange(len(pieces))]
                else:
                    pieces.insert(rng.randrange(len(pieces) + 1), rng.choice(clauses))
                text = "，".join(pieces)
        out.append(_perturb(text, rng, alphabet))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000, help="number of synthetic goals (default 100000)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--raw", type=Path, default=ROOT / "corpus" / "raw", help="seed documents")
    args = parser.parse_args(argv)

    goals = seed_goals(args.raw)
    texts = synthesise(goals, args.n)
    projects = [
        Project(f"synthetic-{i // 50:04d}", f"部门{i % 300:03d}", f"项目{i}", text, None, "classic", i + 1)
        for i, text in enumerate(texts)
    ]
    start, cpu_start = time.perf_counter(), time.process_time()
    clusters = cluster_goals(projects, threshold=args.threshold)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    # ru_maxrss is in KiB on Linux: the peak of the whole process, interpreter and libraries included.
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    clustered = sum(c.size for c in clusters)
    print(f"seed goals: {len(goals)}, synthetic goals: {len(texts):,}, threshold {args.threshold}")
    print(
        f"clusters: {len(clusters):,} (largest {clusters[0].size if clusters else 0:,}), goals in a cluster: {clustered:,}"
    )
    # CPU time as well: on a shared machine the wall clock also counts other processes' turns.
    print(f"time: {seconds:.1f} s wall, {cpu_seconds:.1f} s CPU (target < {TIME_TARGET_S:.0f} s)")
    print(f"peak memory (ru_maxrss): {peak_mib:,.0f} MiB (target < {MEMORY_TARGET_MIB:,.0f} MiB)")
    ok = seconds < TIME_TARGET_S and peak_mib < MEMORY_TARGET_MIB
    print("OK" if ok else "OVER TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
