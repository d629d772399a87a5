"""Reviewer workbench latency against a real uvicorn server on 127.0.0.1 (loopback only).

    .venv/bin/python benchmarks/workbench.py [--stored 50000] [--requests 200] [--max-seconds 60] [--db FILE]

1. fills a temporary SQLite store with ``--stored`` synthetic records through
   ``service.bulk.bulk_load`` (as ``benchmarks/api.py`` does; ``--db FILE`` keeps and reuses it);
2. starts ``python -m service`` with the real artifacts and a reviewer key, waits for /healthz,
   and signs in through the sign-in form (session cookie + CSRF token, like a browser);
3. times each page at concurrency 1 and 4: the queue (first page, filtered by field and unit,
   a deep page), one submission (random queued records: fields, explanations, live similar
   records with passages), and a decision (the POST alone, timed after loading the record's
   page for its tokens; through ``Engine.review``; each record once).
Prints one JSON summary. Client and server share the machine's cores, so figures include
the client's own overhead; at concurrency 1 they are the server time plus loopback.
"""

from __future__ import annotations

import json
import os
import random
import re
import sqlite3
import sys
import tempfile
import time
from contextlib import closing
from itertools import count
from pathlib import Path
from typing import Callable

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import bench_arguments, preload, run_phases, served  # noqa: E402  (the API benchmark's helpers)

REVIEW_KEY = "bench-review-key"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
SEEN = re.compile(r'name="seen" value="([0-9]+)"')
CHECKED = re.compile(r'name="f" value="([^"]+)"[^>]*checked')


def signed_in_client(base: str) -> httpx.Client:
    """A client holding a reviewer session, signed in through the form."""
    http = httpx.Client(base_url=base, timeout=120)
    page = http.get("/review/sign-in")
    r = http.post("/review/sign-in", data={"csrf": CSRF.search(page.text).group(1), "name": "Benchmark",
                                           "key": REVIEW_KEY, "next": "/review"}, follow_redirects=True)
    assert r.status_code == 200 and 'id="counts"' in r.text, r.text[:500]
    return http


def queue_sample(db: Path, n: int, seed: int = 7) -> tuple[list[int], list[str], list[str]]:
    """Ids of queued records (random order), field codes and unit names, read from the file."""
    with sqlite3.connect(db) as con:
        ids = [i for (i,) in con.execute(
            "SELECT id FROM initiatives WHERE reviewed = 0 AND (needs_review = 1 OR id IN "
            "(SELECT initiative_id FROM duplicate_candidates WHERE is_duplicate = 1))")]
        fields = [f for (f,) in con.execute("SELECT DISTINCT field FROM initiative_fields")]
        units = [u for (u,) in con.execute("SELECT DISTINCT unit FROM initiatives WHERE unit != '' LIMIT 200")]
    random.Random(seed).shuffle(ids)
    return ids[:n], fields, units


def phases(ids: list[int], fields: list[str], units: list[str], waiting: int) -> dict[str, tuple[Callable, tuple]]:
    rng = random.Random(11)
    decided = count()

    def filtered(http: httpx.Client, i: int) -> httpx.Response:
        unit = rng.choice(units)
        words = unit.split()
        return http.get("/review", params={"field": rng.choice(fields), "unit": " ".join(words[-2:])})

    def deep(http: httpx.Client, i: int) -> httpx.Response:
        return http.get("/review", params={"page": rng.randint(2, max(2, waiting // 50))})

    def decide(http: httpx.Client, i: int) -> httpx.Response:
        item_id = ids[-1 - next(decided)]  # from the end: the item phase used the start
        page = http.get(f"/review/items/{item_id}")
        form = {"csrf": CSRF.search(page.text).group(1), "seen": SEEN.search(page.text).group(1),
                "f": CHECKED.findall(page.text), "dup": "", "note": "benchmark"}
        t = time.perf_counter()
        r = http.post(f"/review/items/{item_id}/decision", data=form)
        r.extensions["timed_seconds"] = time.perf_counter() - t
        return r

    return {
        "queue_first_page": (lambda http, i: http.get("/review"), (200,)),
        "queue_filtered_field_unit": (filtered, (200,)),
        "queue_deep_page": (deep, (200,)),
        "item_page": (lambda http, i: http.get(f"/review/items/{ids[i % len(ids)]}"), (200,)),
        "decision_post": (decide, (303,)),
    }


def main() -> None:
    args = bench_arguments(__doc__, 200, "requests per phase")
    from training.scale_corpus import build_corpus

    with tempfile.TemporaryDirectory(prefix="sangkien-wb-bench-") as tmp:
        db = args.db or Path(tmp) / "bench.db"
        db_url = f"sqlite:///{db}"
        if db.exists():
            loaded: dict = {"reused": str(db)}
        else:
            loaded = preload(db_url, build_corpus(args.stored, max(1, args.stored // 20)))
        ids, fields, units = queue_sample(db, 4 * args.requests)
        summary: dict = {"stored_records": args.stored, "preload": loaded, "sampled_queue_ids": len(ids),
                         "phases": {}, "load_average_before": [round(x, 2) for x in os.getloadavg()]}
        env = {"SANGKIEN_REVIEWER_KEYS": REVIEW_KEY, "SANGKIEN_SQLITE_SYNCHRONOUS": "FULL"}
        with served(db_url, tmp, summary, env) as base:
            with closing(signed_in_client(base)) as http:
                waiting = int(re.search(r'data-waiting="(\d+)"', http.get("/review").text).group(1))
            summary["waiting_in_queue"] = waiting
            run_phases(summary, base, {
                name: (make, args.requests if name != "decision_post" else max(10, args.requests // 4), ok)
                for name, (make, ok) in phases(ids, fields, units, waiting).items()},
                (1, 4), args.max_seconds, client=signed_in_client)
            summary["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    summary["cpu_count"] = os.cpu_count()
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
