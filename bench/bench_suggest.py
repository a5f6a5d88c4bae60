"""Latency of `zhibiao suggest`: cold start of the command, and warm per-query time in one process.

Run: .venv/bin/python bench/bench_suggest.py   (trains the model first if there is none)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUERIES = [
    "资金到位率",
    "补贴发放人数",
    "服务对象满意度",
    "补助发放及时率",
    "维护社会稳定",
    "设备故障率",
    "城镇新增就业人数",
    "人均培训成本",
    "长效机制健全",
    "举办招聘会数量",
]


def main() -> None:
    from nlp.corpus import ensure_model
    from nlp.model import suggest

    ensure_model()  # build once so the cold runs below only load
    zhibiao = str(Path(sys.executable).parent / "zhibiao")
    cold = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([zhibiao, "suggest", "资金到位率"], check=True, capture_output=True)
        cold.append(time.perf_counter() - started)
    print(
        f"cold start `zhibiao suggest 资金到位率`: median {statistics.median(cold):.2f} s "
        f"(runs {', '.join(f'{c:.2f}' for c in cold)}); target < 3 s"
    )

    started = time.perf_counter()
    bundle = ensure_model()
    print(f"model load in-process: {time.perf_counter() - started:.2f} s")
    timings = []
    for i in range(500):
        query = QUERIES[i % len(QUERIES)] + ("" if i < len(QUERIES) else str(i))  # mostly unseen texts
        started = time.perf_counter()
        suggest(bundle, query, value="100%")
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    print(
        f"warm suggest (with reason): median {statistics.median(timings):.2f} ms, "
        f"p95 {timings[int(0.95 * len(timings))]:.2f} ms, max {timings[-1]:.2f} ms; target < 20 ms"
    )


if __name__ == "__main__":
    main()
