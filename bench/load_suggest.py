"""Load test of ``GET /api/suggest`` on loopback: N concurrent clients for T seconds; prints latency figures.

By default it starts its own server (``zhibiao serve`` in a subprocess, on a temporary SQLite store with
one reviewer) on a free 127.0.0.1 port, so the load generator and the server do not share a GIL. Each
client types like a reviewer: a name (or a prefix of one) from the seed gold, then a pause (the page
debounces keystrokes by 180 ms and the reviewer reads the answer, so 0.5-1.5 s, about 50 requests/s
for 50 clients).

    python bench/load_suggest.py                      # 50 clients, 30 s, pause 0.5-1.5 s
    python bench/load_suggest.py --pause 0            # closed loop: as fast as the server answers
    python bench/load_suggest.py --unique             # defeat the server's suggestion cache
    python bench/load_suggest.py --url http://127.0.0.1:8000 --token zb_…   # an already running server

Exit status 1 when p99 >= --p99-limit ms or any request failed. Only loopback addresses are accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "corpus" / "gold" / "seed_gold.csv"


def names() -> list[str]:
    with GOLD.open(encoding="utf-8") as handle:
        return sorted({row["name"] for row in csv.DictReader(handle) if row["name"]})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(workdir: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    """A fresh store with one reviewer, served by ``zhibiao serve``; returns (process, url, token)."""
    from nlp.auth import add_reviewer
    from nlp.store import open_store

    url = f"sqlite:///{workdir / 'bench.sqlite'}"
    db = open_store(url)
    _reviewer, token = add_reviewer(db, "bench", "bench password 1")
    db.close()
    port = free_port()
    command = [sys.executable, "-m", "nlp", "serve", "--db", url, "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # the first start may train the model
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {process.stderr.read().decode(errors='replace')[-2000:]}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                return process, base, token
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    process.kill()
    raise SystemExit("server did not start within 180 s")


async def client(base: str, token: str, pool: list[str], *, until: float, pause: tuple[float, float], unique: bool,
                 latencies: list[float], errors: list[str], rng: random.Random) -> None:  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as http:
        # Reviewers do not all press a key in the same millisecond: start each client at a random phase.
        await asyncio.sleep(rng.uniform(0, pause[1]))
        while time.monotonic() < until:
            name = rng.choice(pool)
            text = name[: rng.randint(min(2, len(name)), len(name))]  # a reviewer still typing
            if unique:
                text += f"{rng.randrange(10**9)}"
            start = time.perf_counter()
            try:
                response = await http.get("/api/suggest", params={"name": text})
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {response.text[:200]}")
            except httpx.HTTPError as exc:
                errors.append(type(exc).__name__)
            latencies.append(time.perf_counter() - start)
            if pause[1] > 0:
                await asyncio.sleep(rng.uniform(*pause))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(args: argparse.Namespace, base: str, token: str) -> tuple[list[float], list[str], float]:
    pool = names()
    latencies: list[float] = []
    errors: list[str] = []
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http:
        # Warm up (not measured): one request, then a concurrent burst, so batches of every size have run.
        await http.get("/api/suggest", params={"name": pool[0] + "预热"})
        await asyncio.gather(
            *(http.get("/api/suggest", params={"name": name + "预热"}) for name in pool[1:51])
        )
    started = time.monotonic()
    until = started + args.seconds
    rng = random.Random(args.seed)
    await asyncio.gather(*(
        client(base, token, pool, until=until, pause=(args.pause_min, args.pause), unique=args.unique,
               latencies=latencies, errors=errors, rng=random.Random(rng.random()))
        for _ in range(args.clients)
    ))  # fmt: skip
    return latencies, errors, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--pause", type=float, default=1.5, help="longest pause between a client's requests (s)"
    )
    parser.add_argument("--pause-min", type=float, default=0.5, help="shortest pause (s)")
    parser.add_argument("--unique", action="store_true", help="make every query distinct (no cache hits)")
    parser.add_argument("--url", help="an already running server (loopback only)")
    parser.add_argument(
        "--token", default=os.environ.get("ZHIBIAO_TOKEN", ""), help="reviewer API token for --url"
    )
    parser.add_argument(
        "--p99-limit", type=float, default=100.0, help="fail when p99 is at or above this (ms)"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.pause == 0:
        args.pause_min = 0.0
    args.clients = min(max(args.clients, 1), 500)
    args.seconds = min(max(args.seconds, 1.0), 300.0)  # bounded: this is a test, not a flood

    process = None
    with tempfile.TemporaryDirectory(prefix="zhibiao-bench-") as workdir:
        if args.url:
            host = urlparse(args.url).hostname or ""
            if not (host == "localhost" or host.startswith("127.") or host == "::1"):
                raise SystemExit("Only loopback servers may be load-tested (127.0.0.0/8, localhost, ::1).")
            base, token = args.url.rstrip("/"), args.token
        else:
            process, base, token = start_server(Path(workdir))
        try:
            latencies, errors, elapsed = asyncio.run(run(args, base, token))
        finally:
            if process is not None:
                process.terminate()
                process.wait(timeout=20)

    ms = [1000 * x for x in latencies]
    p99 = percentile(ms, 0.99)
    print(f"GET /api/suggest, {args.clients} clients, {elapsed:.1f} s, pause {args.pause_min}-{args.pause} s"
          f"{', unique queries' if args.unique else ''}")  # fmt: skip
    print(f"requests {len(ms)}  throughput {len(ms) / elapsed:.0f}/s  errors {len(errors)}")
    print(
        f"latency ms: p50 {statistics.median(ms):.1f}  p90 {percentile(ms, 0.9):.1f}  p99 {p99:.1f}  max {max(ms):.1f}"
    )
    for error in errors[:5]:
        print(f"  error: {error}")
    ok = p99 < args.p99_limit and not errors
    print("PASS" if ok else f"FAIL (p99 must be under {args.p99_limit:.0f} ms with no errors)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
