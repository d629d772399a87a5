"""Embedding benchmark: TF-IDF char n-grams vs the fast static model vs the e5 teacher, one run.

Prints, for each: throughput (batch texts/s, single-text latency), duplicate-pair separation
(ROC-AUC, best F1 of cosine on duplicate pairs vs hard negatives), paraphrase retrieval
recall@1 (a copy retrieves its original among all originals), and macro-F1 of a logistic
regression on the embeddings (train split -> test split, primary field).

    .venv/bin/python benchmarks/embeddings.py [--teacher-limit N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_recall_curve, roc_auc_score
from sklearn.preprocessing import normalize as l2

from model.embed import StaticEmbedder, TeacherEmbedder
from model.normalize import normalize
from training.dataset import load_all, load_copies, load_pairs, load_splits


class TfidfEmbedder:
    name = "tfidf-char-2-5"

    def fit(self, texts: list[str]) -> "TfidfEmbedder":
        self.vec_ = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                    lowercase=True, min_df=1).fit(texts)
        return self

    def transform(self, texts: list[str]):
        return l2(self.vec_.transform(texts))


def cos_rows(emb, a_idx: list[int], b_idx: list[int]) -> np.ndarray:
    a, b = emb[a_idx], emb[b_idx]
    if hasattr(a, "multiply"):
        return np.asarray(a.multiply(b).sum(axis=1)).ravel()
    return np.einsum("ij,ij->i", a, b)


def best_f1(y: np.ndarray, s: np.ndarray) -> float:
    p, r, _ = precision_recall_curve(y, s)
    return float(np.max(2 * p * r / np.maximum(p + r, 1e-12)))


def throughput(embedder, texts: list[str], single_n: int = 100) -> tuple[float, float]:
    t = time.perf_counter()
    embedder.transform(texts)
    batch = len(texts) / (time.perf_counter() - t)
    lat = []
    for text in texts[:single_n]:
        t = time.perf_counter()
        embedder.transform([text])
        lat.append((time.perf_counter() - t) * 1000)
    return batch, statistics.median(lat)


_MEMORY_PROBE = """
import resource, sys, time
def rss_mb():
    return int(open('/proc/self/statm').read().split()[1]) * resource.getpagesize() / 2**20
import numpy, torch, sentence_transformers
from model.embed import StaticEmbedder
base = rss_mb()
t = time.perf_counter(); e = StaticEmbedder().fit(); load_s = time.perf_counter() - t
loaded = rss_mb()
texts = [line for line in sys.stdin.read().split("\\x1e") if line]
e.transform(texts)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(base, loaded, peak, load_s)
"""


def static_memory(texts: list[str]) -> dict:
    """RSS of a fresh process: after imports, after loading the static model, peak after embedding."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _MEMORY_PROBE], input="\x1e".join(texts),
                         capture_output=True, text=True, check=True).stdout.split()
    base, loaded, peak, load_s = map(float, out)
    return {"rss_after_imports_mb": round(base), "model_mb": round(loaded - base),
            "peak_rss_embedding_mb": round(peak), "embedding_mb_over_imports": round(peak - base),
            "load_s_fresh_process": round(load_s, 2), "texts": len(texts)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--teacher-limit", type=int, default=0, help="embed at most N texts with the teacher (0: all)")
    ap.add_argument("--out", default="")
    args = ap.parse_args()

    _, records = load_all()
    splits = load_splits()
    copies = load_copies()
    pairs = load_pairs()
    items = {r.id: normalize(r.text) for r in records} | {c.id: normalize(c.text) for c in copies}
    ids = list(items)
    pos = {i: k for k, i in enumerate(ids)}
    texts = [items[i] for i in ids]
    originals = [r.id for r in records if not r.rewrite_of]
    queries = [(c.id, c.extra["source_id"]) for c in copies] + [(r.id, r.rewrite_of) for r in records if r.rewrite_of]
    y = np.array([p["label"] for p in pairs])
    train = [r for r in records if splits[r.id] == "train"]
    test = [r for r in records if splits[r.id] == "test"]
    bulk = (texts * (20000 // len(texts) + 1))[:20000]

    results = {}
    tfidf = TfidfEmbedder().fit([normalize(r.text) for r in train])
    static = StaticEmbedder().fit()
    load_static = time.perf_counter()
    StaticEmbedder().fit()
    load_static = time.perf_counter() - load_static
    teacher = TeacherEmbedder().fit()
    for emb in (tfidf, static, teacher):
        name = emb.name if hasattr(emb, "name") else type(emb).__name__
        t0 = time.perf_counter()
        sample = texts if emb is not teacher or not args.teacher_limit else texts[: args.teacher_limit]
        matrix = emb.transform(texts)
        embed_s = time.perf_counter() - t0
        batch, single_ms = throughput(emb, bulk if emb is not teacher else sample[:300])
        s = cos_rows(matrix, [pos[p["a"]] for p in pairs], [pos[p["b"]] for p in pairs])
        orig_m = matrix[[pos[o] for o in originals]]
        q_m = matrix[[pos[q] for q, _ in queries]]
        sims = q_m @ orig_m.T
        sims = sims.toarray() if hasattr(sims, "toarray") else sims
        for k, (q, _) in enumerate(queries):
            if q in originals:
                sims[k, originals.index(q)] = -1
        top = [originals[j] for j in np.argmax(sims, axis=1)]
        recall1 = float(np.mean([t == src for t, (_, src) in zip(top, queries)]))
        clf = LogisticRegression(max_iter=2000, C=10.0)
        clf.fit(matrix[[pos[r.id] for r in train]], [r.primary_field for r in train])
        pred = clf.predict(matrix[[pos[r.id] for r in test]])
        results[name] = {
            "batch_texts_per_s": round(batch, 1), "single_text_ms": round(single_ms, 2),
            "roc_auc": round(float(roc_auc_score(y, s)), 4), "best_f1": round(best_f1(y, s), 4),
            "recall_at_1": round(recall1, 4),
            "macro_f1_logreg": round(float(f1_score([r.primary_field for r in test], pred, average="macro")), 4),
            "embed_all_s": round(embed_s, 1),
        }
        print(name, json.dumps(results[name]), flush=True)
    fast, teach = results[static.name], results[teacher.name]
    summary = {
        "texts": len(texts), "pairs": len(pairs), "queries": len(queries),
        "static_load_s_after_imports": round(load_static, 3),
        "static_memory": static_memory(bulk),
        "speedup_fast_vs_teacher": round(fast["batch_texts_per_s"] / teach["batch_texts_per_s"], 1),
        "recall1_ratio": round(fast["recall_at_1"] / teach["recall_at_1"], 3),
        "roc_auc_ratio": round(fast["roc_auc"] / teach["roc_auc"], 3),
        "results": results,
    }
    print(json.dumps(summary, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
