"""Near-duplicate benchmark: labelled test pairs against two baselines, then scale, one run.

    .venv/bin/python benchmarks/dedup.py [--sizes 25000,50000,100000,200000]

1. Pair precision / recall / F1 on the test pairs of data/ (recall per edit kind, false-positive
   rate per kind of hard negative) for: the index's decision rule; datasketch MinHashLSH with
   its documented defaults (threshold 0.9, num_perm 128) on the same shingles; an exact hash
   after normalisation.
2. Scale: a clause-recombined corpus with planted duplicate groups (training/scale_corpus.py);
   for each size, in a fresh process (so peak memory is per size): embedding, index build,
   finding all duplicate groups, single-query latency over 200 queries, peak RSS, and recovery
   of the planted pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from datasketch import MinHash, MinHashLSH

from model.dedup import IndexedDoc, NearDuplicateIndex, group_duplicates
from model.dedup.shingles import exact_key, shingles
from model.embed import StaticEmbedder
from model.normalize import normalize
from training.dedup import labelled_docs, load_rule, pair_metrics, pair_table
from training.dataset import load_pairs

ROOT = Path(__file__).resolve().parent.parent
RULE = ROOT / "artifacts" / "dedup" / "rule.json"


def labelled_part() -> dict:
    docs = {d.id: d for d in labelled_docs()}
    pairs = [p for p in load_pairs() if p["split"] == "test"]
    index = NearDuplicateIndex(load_rule(RULE)).fit(list(docs.values()), StaticEmbedder().fit())
    ours = index.rule.decide(pair_table(index, pairs))
    lsh = MinHashLSH(threshold=0.9, num_perm=128)
    mh = {}
    for d in docs.values():
        m = MinHash(num_perm=128)
        m.update_batch([s.encode() for s in shingles(d.text, 3)])
        mh[d.id] = m
        lsh.insert(d.id, m)
    lsh_pred = np.array([p["b"] in lsh.query(mh[p["a"]]) for p in pairs])
    exact_pred = np.array([exact_key(docs[p["a"]].text) == exact_key(docs[p["b"]].text) for p in pairs])
    return {"near_duplicate_index": pair_metrics(ours, pairs),
            "baseline_minhash_lsh_defaults": pair_metrics(lsh_pred, pairs),
            "baseline_exact_hash": pair_metrics(exact_pred, pairs)}


def scale_run(n: int) -> dict:
    """One size, in this process: returns timings, peak memory and planted-pair recovery."""
    from training.scale_corpus import build_corpus, planted_pairs

    load_before = os.getloadavg()[0]
    rows = build_corpus(n, n // 20)
    embedder = StaticEmbedder().fit()
    t0 = time.perf_counter()
    docs = [IndexedDoc(r["id"], normalize(f"{r['title']}\n{r['description']}"), r["unit"], r["author"],
                       r["submitted_at"]) for r in rows]
    t_norm = time.perf_counter() - t0
    t = time.perf_counter()
    vectors = embedder.transform([d.text for d in docs])
    t_embed = time.perf_counter() - t
    t = time.perf_counter()
    index = NearDuplicateIndex(load_rule(RULE)).fit([], embedder).add(docs, vectors=vectors)
    t_build = time.perf_counter() - t
    t = time.perf_counter()
    pairs = index.find_duplicates()
    groups = group_duplicates([d.id for d in docs], [(m.a, m.b) for m in pairs])
    t_groups = time.perf_counter() - t
    lat = []
    for d in docs[:200]:
        q = IndexedDoc(d.id + "-q", d.text, d.unit, d.author)
        s = time.perf_counter()
        index.query(q, k=5)
        lat.append((time.perf_counter() - s) * 1000)
    found = {(min(m.a, m.b), max(m.a, m.b)) for m in pairs}
    grouped = {(min(a, b), max(a, b)) for g in groups.groups for a in g for b in g if a < b}
    truth = planted_pairs(rows)
    tp = len(grouped & truth)
    stages: dict[str, int] = {}
    for m in pairs:
        stages[m.stage] = stages.get(m.stage, 0) + 1
    return {
        "rows": n, "planted_pairs": len(truth), "pairs_found": len(found), "grouped_pairs": len(grouped),
        "pairs_by_stage": stages, "faiss_neighbours": index.neighbours_ is not None,
        "pair_recall": round(tp / len(truth), 4), "pair_precision": round(tp / max(len(grouped), 1), 4),
        "groups": len(groups.groups), "distinct": groups.distinct,
        "seconds": {"normalize": round(t_norm, 1), "embed": round(t_embed, 1), "index_build": round(t_build, 1),
                    "find_all_groups": round(t_groups, 1),
                    "total_groups_from_text": round(t_norm + t_embed + t_build + t_groups, 1)},
        "query_ms_p50": round(float(np.percentile(lat, 50)), 2),
        "query_ms_p95": round(float(np.percentile(lat, 95)), 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "load_avg_1m": {"start": round(load_before, 2), "end": round(os.getloadavg()[0], 2), "cores": os.cpu_count()},
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="25000,50000,100000,200000")
    ap.add_argument("--skip-pairs", action="store_true", help="only the scale part")
    ap.add_argument("--scale-run", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.scale_run:
        print(json.dumps(scale_run(args.scale_run)))
        return
    result = {"test_pairs": {} if args.skip_pairs else labelled_part()}
    for name, m in result["test_pairs"].items():
        print(name, json.dumps({k: m[k] for k in ("precision", "recall", "f1")}), flush=True)
    result["scale"] = []
    for n in map(int, args.sizes.split(",")):
        out = subprocess.run([sys.executable, __file__, "--scale-run", str(n)], capture_output=True, text=True)
        if out.returncode:
            print(out.stderr[-2000:], file=sys.stderr)
            raise SystemExit(out.returncode)
        result["scale"].append(json.loads(out.stdout.strip().splitlines()[-1]))
        print("scale", out.stdout.strip().splitlines()[-1], flush=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
