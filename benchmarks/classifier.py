"""Field classifier benchmark on the test split, baselines in the same run.

    .venv/bin/python benchmarks/classifier.py

Models: keyword rules from the taxonomy; TF-IDF (word + char n-grams) + logistic regression;
static embeddings + logistic regression; the combined model. All but the rules are the same
``FieldClassifier`` (calibrated, thresholds from out-of-fold predictions on train + dev) with
feature blocks switched off. Prints macro-F1, ECE, precision and coverage of auto-accepted tags,
single-text latency of the combined model, and its fit time.
"""

from __future__ import annotations

import json
import statistics
import time

import numpy as np
from sklearn.metrics import f1_score

from model.classify import FieldClassifier
from model.normalize import normalize, segment
from model.taxonomy import Taxonomy
from training.dataset import load_all, records_by_split
from training.evaluate import evaluate_classifier
from training.train import DEFAULT_PARAMS


def keyword_rules(taxonomy: Taxonomy, texts: list[str]) -> list[list[str]]:
    """Fields whose seed keywords occur in the text, most hits first; "other" when none do."""
    out = []
    for text in texts:
        low = text.lower()
        hits = {f.code: sum(low.count(k) for k in f.keywords) for f in taxonomy.fields}
        found = sorted((c for c, n in hits.items() if n), key=lambda c: -hits[c])
        out.append(found or ["other"])
    return out


def rules_figures(taxonomy: Taxonomy, records) -> dict:
    codes = list(taxonomy.codes)
    pred = keyword_rules(taxonomy, [normalize(r.text) for r in records])
    Y = np.array([[c in r.fields for c in codes] for r in records])
    L = np.array([[c in p for c in codes] for p in pred])
    return {"macro_f1": round(float(f1_score(Y, L, average="macro", zero_division=0)), 4),
            "primary_accuracy": round(float(np.mean([p[0] == r.primary_field for p, r in zip(pred, records)])), 4),
            "coverage": 1.0,
            "accepted_tag_precision": round(float((L & Y).sum() / L.sum()), 4)}


def main() -> None:
    taxonomy, _ = load_all()
    splits = records_by_split()
    train = splits["train"] + splits["dev"]
    texts, labels = [normalize(r.text) for r in train], [list(r.fields) for r in train]
    base = {**DEFAULT_PARAMS, "word_ngrams": (1, 2), "char_ngrams": (2, 5)}
    variants = {
        "tfidf_logreg": {**base, "embedding_weight": 0.0},
        "embeddings_logreg": {**base, "word_ngrams": None, "char_ngrams": None, "embedding_weight": 1.0},
        "combined": base,
    }
    results = {"keyword_rules": rules_figures(taxonomy, splits["test"])}
    print("keyword_rules", json.dumps(results["keyword_rules"]), flush=True)
    for name, params in variants.items():
        t = time.perf_counter()
        clf = FieldClassifier(**params).fit(texts, labels, classes=list(taxonomy.codes))
        fit_s = time.perf_counter() - t
        m = evaluate_classifier(clf, splits["test"])
        results[name] = {k: m[k] for k in ("macro_f1", "micro_f1", "primary_accuracy", "ece",
                                           "coverage", "accepted_tag_precision")}
        results[name]["fit_s"] = round(fit_s, 1)
        print(name, json.dumps(results[name]), flush=True)
    test_texts = [normalize(r.text) for r in splits["test"]]
    clf.predict(test_texts[:1])
    segment.cache_clear()  # cold: every text segmented again, as a new submission would be
    lat = []
    for text in test_texts:
        t = time.perf_counter()
        clf.predict([text])
        lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    results["combined"]["single_text_ms_p50"] = round(statistics.median(lat), 2)
    results["combined"]["single_text_ms_p95"] = round(lat[int(0.95 * (len(lat) - 1))], 2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
