"""API latency benchmark against a real uvicorn server on 127.0.0.1 (loopback only).

    .venv/bin/python benchmarks/api.py [--stored 50000] [--requests 300] [--max-seconds 60] [--db FILE]

1. builds a synthetic corpus (``training.scale_corpus``) and loads ``--stored`` records into a
   temporary SQLite store with ``service.bulk.bulk_load`` (tags + duplicate groups);
2. starts ``python -m service`` on a free port with the real artifacts (``make models``) and
   waits for /healthz (the start-up indexes the whole table); ``--db FILE`` keeps the store and
   reuses it on the next run (each run adds its intakes to it);
3. for each endpoint, at concurrency 1 and 8 (threads, one httpx client each): p50/p95/p99
   latency and requests/s over a bounded number of requests and seconds. Every request sends a
   text not sent before (no cache helps); intakes are new records with new external ids.
Prints one JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import closing, contextmanager
from itertools import count
from pathlib import Path
from typing import Callable, Iterator

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
KEY = "bench-intake-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def preload(db_url: str, rows: list[dict]) -> dict:
    """Fill the store directly (tags and duplicate groups computed in bulk)."""
    from service.bulk import bulk_load
    from service.engine import Submission
    from service.models import load_models
    from service.settings import Settings
    from service.store import Store

    t0 = time.perf_counter()
    settings = Settings(database_url=db_url)
    models = load_models(settings)
    store = Store(db_url)
    subs = [Submission(r["title"], r["description"], r["unit"], r["author"], r["submitted_at"], f"pre-{r['id']}")
            for r in rows]
    report = bulk_load(store, models, subs, log=lambda m: print(f"  preload: {m}", file=sys.stderr))
    store.close()
    return {"records": report.records, "duplicate_groups": report.duplicate_groups,
            "seconds": round(time.perf_counter() - t0, 1)}


def start_server(db_url: str, port: int, log_path: Path,
                 extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen, float]:
    env = {**os.environ, "SANGKIEN_DATABASE_URL": db_url, "SANGKIEN_INTAKE_KEYS": KEY, **(extra_env or {})}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "service", "--host", "127.0.0.1", "--port", str(port),
                             "--log-level", "warning"], cwd=ROOT, env=env, stdout=log_path.open("wb"),
                            stderr=subprocess.STDOUT)
    while time.perf_counter() - t0 < 900:
        if proc.poll() is not None:
            raise SystemExit(f"server exited:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return proc, time.perf_counter() - t0
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("server not ready after 900 s")


def run_phase(base: str, make_request: Callable[[httpx.Client, int], httpx.Response], n: int,
              concurrency: int, max_seconds: float, ok: tuple[int, ...] | None = None,
              client: Callable[[str], httpx.Client] | None = None) -> dict:
    """``n`` requests (or ``max_seconds``) spread over ``concurrency`` threads.

    ``ok``: the statuses that count as success (default: any 2xx); ``client``: makes each
    thread's client (e.g. one signed in); a request may put its own timing in
    ``response.extensions["timed_seconds"]`` (the workbench times one page of several calls).
    """
    latencies: list[float] = []
    failures: list[int] = []
    ticket = count()
    deadline = time.perf_counter() + max_seconds
    lock = threading.Lock()

    def worker() -> None:
        with closing((client or (lambda b: httpx.Client(base_url=b, timeout=120)))(base)) as http:
            while time.perf_counter() < deadline:
                i = next(ticket)
                if i >= n:
                    return
                t = time.perf_counter()
                r = make_request(http, i)
                dt = r.extensions.get("timed_seconds", time.perf_counter() - t)
                with lock:
                    latencies.append(dt)
                    if (r.status_code not in ok) if ok else r.status_code >= 300:
                        failures.append(r.status_code)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    ms = np.array(latencies) * 1000
    return {"concurrency": concurrency, "requests": len(latencies), "errors": len(failures),
            "p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1),
            "p99_ms": round(float(np.percentile(ms, 99)), 1), "requests_per_s": round(len(latencies) / wall, 1)}


def phases(texts: list[str], fresh: list[dict]) -> dict[str, tuple[Callable, float]]:
    """Request makers per endpoint, each drawing texts no other request used, and its divisor
    of the request budget (a batch of 100 costs ~100 single texts)."""
    cursor = count()

    def next_text() -> str:
        return texts[next(cursor) % len(texts)]

    intake_ids = count()

    def intake(http: httpx.Client, i: int) -> httpx.Response:
        r = fresh[next(intake_ids) % len(fresh)]
        body = {"title": r["title"], "description": r["description"], "unit": r["unit"], "author": r["author"],
                "submitted_at": r["submitted_at"], "external_id": f"bench-{time.time_ns()}-{i}"}
        return http.post("/v1/initiatives", json=body, headers={"X-API-Key": KEY})

    return {
        "classify_single": (lambda http, i: http.post("/v1/classify", json={"text": next_text()}), 1),
        "classify_batch_100": (lambda http, i: http.post("/v1/classify",
                                                          json={"texts": [next_text() for _ in range(100)]}), 20),
        "duplicates": (lambda http, i: http.post("/v1/duplicates", json={"text": next_text()}), 1),
        "intake_single": (intake, 1),
    }


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def bench_arguments(doc: str, requests: int, requests_help: str) -> argparse.Namespace:
    """The options every server benchmark takes (this one and ``benchmarks/workbench.py``)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--stored", type=int, default=50_000, help="records in the store")
    parser.add_argument("--requests", type=int, default=requests, help=requests_help)
    parser.add_argument("--max-seconds", type=float, default=60, help="time cap per phase")
    parser.add_argument("--db", type=Path, help="keep the preloaded SQLite file here and reuse it next time")
    return parser.parse_args()


@contextmanager
def served(db_url: str, tmp: str, summary: dict,
           extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """A real server on a free loopback port for the block; its base URL. Records its start-up
    time, then its peak RSS once the block ran, and always stops it."""
    proc, ready_s = start_server(db_url, free_port(), Path(tmp) / "server.log", extra_env)
    summary["server_ready_seconds"] = round(ready_s, 1)
    try:
        yield f"http://127.0.0.1:{proc.args[proc.args.index('--port') + 1]}"
        summary["server_peak_rss_mb"] = peak_rss_mb(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def run_phases(summary: dict, base: str, plan: dict[str, tuple[Callable, int, tuple[int, ...] | None]],
               concurrencies: tuple[int, ...], max_seconds: float, **options) -> None:
    """Every phase of ``plan`` (name -> request maker, request count, ok statuses) at every
    concurrency, into ``summary["phases"]``."""
    for name, (make, n, ok) in plan.items():
        for conc in concurrencies:
            result = run_phase(base, make, n, conc, max_seconds, ok, **options)
            summary["phases"][f"{name}_c{conc}"] = result
            print(f"  {name} c={conc}: {result}", file=sys.stderr)


def main() -> None:
    args = bench_arguments(__doc__, 300, "requests per single-text phase")
    from training.scale_corpus import build_corpus

    rows = build_corpus(args.stored + 6000, max(1, args.stored // 20))
    stored, fresh = rows[: args.stored], rows[args.stored :]
    texts = [f"{r['title']}\n{r['description']}" for r in fresh]
    with tempfile.TemporaryDirectory(prefix="sangkien-bench-") as tmp:
        db = args.db or Path(tmp) / "bench.db"
        db_url = f"sqlite:///{db}"
        loaded = {"reused": str(db)} if db.exists() else preload(db_url, stored)
        summary = {"stored_records": args.stored, "preload": loaded, "phases": {},
                   "load_average_before_phases": [round(x, 2) for x in os.getloadavg()]}
        with served(db_url, tmp, summary) as base:
            run_phases(summary, base, {name: (make, max(10, args.requests // divisor), None)
                                       for name, (make, divisor) in phases(texts, fresh).items()},
                       (1, 8), args.max_seconds)
            summary["stored_after"] = httpx.get(f"{base}/healthz").json()["initiatives"]
            summary["load_average_after_phases"] = [round(x, 2) for x in os.getloadavg()]
    summary["cpu_count"] = os.cpu_count()
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
