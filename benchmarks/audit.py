"""Audit benchmark: a large export with planted duplicate groups, audited end to end, one run.

    .venv/bin/python benchmarks/audit.py [--rows 200000] [--groups 10000] [--workers 2] [--keep DIR]
    .venv/bin/python benchmarks/audit.py --compare-workers 2000   # classifier texts/s, 1 vs 2 workers

Builds the clause-recombined corpus of training/scale_corpus.py, writes it as CSV (UTF-8) in a
temporary folder, runs the audit with the real artifacts (``sangkien train`` and
``sangkien train-dedup`` first) exactly as ``sangkien audit`` does, and prints wall seconds per
step, the total, peak memory (ru_maxrss of this process and of the largest worker), and the
recall / precision of the planted duplicate pairs among the pairs the groups imply.
Targets: 200,000 rows in <= 10 minutes and <= 6 GB.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

from training.audit import AuditModels, StepTimer, run_audit, tqdm_progress
from training.export_reader import read_export
from training.scale_corpus import build_corpus, planted_pairs, write_csv

ROOT = Path(__file__).resolve().parent.parent


def grouped_pairs(groups_csv: Path) -> set[tuple[str, str]]:
    """Every pair of ids that share a group in groups.csv."""
    text = groups_csv.read_text("utf-8-sig")
    pairs = set()
    for g in csv.DictReader(io.StringIO(text, newline="")):
        ids = sorted(g["member_ids"].split(";"))
        pairs.update((a, b) for i, a in enumerate(ids) for b in ids[i + 1:])
    return pairs


class PssSampler:
    """Peak of the summed proportional set size (PSS) of this process and its workers, sampled
    every second: forked workers share most pages with the parent, so their RSS overstates
    what the machine needs and PSS does not."""

    def __init__(self, interval: float = 1.0) -> None:
        self.peak_kb, self.interval = 0, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _pss_kb(pid: int) -> int:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            return 0
        return next((int(line.split()[1]) for line in text.splitlines() if line.startswith("Pss:")), 0)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            pids = [os.getpid()] + [p.pid for p in multiprocessing.active_children()]
            self.peak_kb = max(self.peak_kb, sum(map(self._pss_kb, pids)))

    def __enter__(self) -> PssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def memory(workers: int, sampler: PssSampler) -> dict[str, int]:
    """Peak memory in MB: RSS of this process and of the largest worker (ru_maxrss), and the
    sampled peak of the summed PSS (what the audit needed at once)."""
    main_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    worker_mb = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return {"main_rss": main_mb, "largest_worker_rss": worker_mb,
            "sampled_peak_pss_total": round(sampler.peak_kb / 1024)}


def run(rows: int, n_groups: int, workers: int, out_root: Path) -> dict:
    t = time.perf_counter()
    corpus = build_corpus(rows, n_groups)
    path = out_root / f"scale-{rows}.csv"
    write_csv(corpus, path)
    prepare = round(time.perf_counter() - t, 1)
    timer = StepTimer()
    with timer.step("reading"):
        export = read_export(path)
    with timer.step("loading models"):
        models = AuditModels.load(ROOT / "artifacts" / "classifier", ROOT / "artifacts" / "dedup" / "rule.json")
    with PssSampler() as sampler:
        result = run_audit(export, out_root / "out", models, workers=workers,
                           progress=tqdm_progress, timings=timer.seconds)
    truth, found = planted_pairs(corpus), grouped_pairs(out_root / "out" / "groups.csv")
    tp = len(truth & found)
    counts = result.summary["counts"]
    seconds = result.timings
    peak = memory(workers, sampler)
    return {
        "rows": rows, "planted_groups": n_groups, "workers": workers,
        "file_mb": round(path.stat().st_size / 2**20, 1), "corpus_build_and_write_s": prepare,
        "seconds": seconds, "total_minutes": round(seconds["total"] / 60, 2),
        "classified_texts": counts["classified_texts"],
        "classified_during_dedup": json.loads((out_root / "out" / "timings.json").read_text())[
            "classified_during_dedup"],
        "peak_memory_mb": peak,
        "distinct": counts["distinct"], "duplicate_groups": counts["duplicate_groups"],
        "planted_pairs": len(truth), "grouped_pairs": len(found),
        "pair_recall": round(tp / max(len(truth), 1), 4),
        "pair_precision": round(tp / max(len(found), 1), 4),
        "targets_met": {"time_10_min": seconds["total"] <= 600,
                        "memory_6_gb": max(peak["main_rss"], peak["sampled_peak_pss_total"]) <= 6 * 1024},
    }


def compare_workers(n_texts: int) -> dict:
    """Classifier throughput (texts/s) on ``n_texts`` corpus texts with 1 and with 2 workers."""
    from model.normalize import normalize
    from training.audit import CLASSIFY_CHUNK, Workers, _classify_chunk, no_progress

    models = AuditModels.load(ROOT / "artifacts" / "classifier", ROOT / "artifacts" / "dedup" / "rule.json")
    corpus = build_corpus(2 * n_texts + 10, 1, seed=11)
    models.classifier.predict([normalize(r["title"]) for r in corpus[:5]])
    out = {}
    for workers, part in ((1, corpus[:n_texts]), (2, corpus[n_texts:2 * n_texts])):
        texts = [normalize(f"{r['title']}\n{r['description']}") for r in part]   # unseen by the cache
        with Workers(models.classifier, workers) as pool:
            t = time.perf_counter()
            pool.map(_classify_chunk, texts, CLASSIFY_CHUNK, "classifying", no_progress)
            out[f"workers_{workers}_texts_per_s"] = round(n_texts / (time.perf_counter() - t), 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--groups", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", help="write the export and the audit here instead of a temp folder")
    ap.add_argument("--compare-workers", type=int, metavar="N",
                    help="only measure classifier throughput on N texts with 1 and 2 workers")
    args = ap.parse_args()
    if args.compare_workers:
        print(json.dumps(compare_workers(args.compare_workers), indent=2))
        return
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        result = run(args.rows, args.groups, args.workers, Path(args.keep))
    else:
        with tempfile.TemporaryDirectory(prefix="sangkien-audit-") as tmp:
            result = run(args.rows, args.groups, args.workers, Path(tmp))
    print(json.dumps(result, indent=2), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
