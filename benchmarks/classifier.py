"""Field classifier benchmark on the test split, baselines in the same run.

    .venv/bin/python benchmarks/classifier.py

Labels: every record was read twice (its writer, then a second reader blind to the writer's
labels); disagreements were adjudicated (data/readings.jsonl). The run also prints how each
reading agrees with the final labels on the test split and on all records (the human ceiling
the model is held to), and the combined model scored against the writers' own labels.

Models: keyword rules from the taxonomy; TF-IDF (word + char n-grams) + logistic regression;
static embeddings + logistic regression; the combined model, also without its training copies
typed without tone marks. All but the rules are the same ``FieldClassifier`` (calibrated,
thresholds from out-of-fold predictions on train + dev) with feature blocks switched off; the
combined ones are also scored on the test texts typed without tone marks. Prints macro-F1,
ECE, precision and coverage of auto-accepted tags, single-text latency of the combined model,
and fit times.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import time

import numpy as np
from sklearn.metrics import f1_score

from model.classify import FieldClassifier
from model.normalize import fold_diacritics, normalize, segment
from model.taxonomy import Taxonomy
from training.dataset import load_all, load_readings, records_by_split
from training.evaluate import evaluate_classifier
from training.train import group_list, load_config


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


def unaccented(record):
    """The record as typed without tone marks: how the model reads such exports."""
    return dataclasses.replace(record, title=fold_diacritics(record.title),
                               description=fold_diacritics(record.description))


def label_sets_f1(truth: list[list[str]], guess: list[list[str]], codes: list[str]) -> dict:
    Y = np.array([[c in t for c in codes] for t in truth])
    G = np.array([[c in g for c in codes] for g in guess])
    return {"macro_f1": round(float(f1_score(Y, G, average="macro", zero_division=0)), 4),
            "primary_agreement": round(float(np.mean([t[0] == g[0] for t, g in zip(truth, guess)])), 4),
            "exact_set": round(float(np.mean((Y == G).all(axis=1))), 4)}


def reader_agreement(records, readings: dict, codes: list[str]) -> dict:
    """Each human reading against the final labels, and the two readings against each other."""
    rows = [readings[r.id] for r in records if r.id in readings]
    final = [list(r.fields) for r in records if r.id in readings]
    return {"texts": len(rows),
            "writer_vs_final": label_sets_f1(final, [x["writer"] for x in rows], codes),
            "second_reader_vs_final": label_sets_f1(final, [x["second"] for x in rows], codes),
            "second_reader_vs_writer": label_sets_f1([x["writer"] for x in rows],
                                                     [x["second"] for x in rows], codes)}


def main() -> None:
    taxonomy, _ = load_all()
    splits = records_by_split()
    train = splits["train"] + splits["dev"]
    texts, labels = [normalize(r.text) for r in train], [list(r.fields) for r in train]
    groups = group_list(train)
    base = load_config(None, {})  # the default, as `sangkien train` fits it
    variants = {
        "tfidf_logreg": {**base, "embedding_weight": 0.0},
        "embeddings_logreg": {**base, "word_ngrams": None, "char_ngrams": None, "embedding_weight": 1.0},
        "combined_without_fold_augment": {**base, "fold_augment": False},
        "combined": base,
    }
    results = {"keyword_rules": rules_figures(taxonomy, splits["test"])}
    print("keyword_rules", json.dumps(results["keyword_rules"]), flush=True)
    for name, params in variants.items():
        t = time.perf_counter()
        clf = FieldClassifier(**params).fit(texts, labels, classes=list(taxonomy.codes), groups=groups)
        fit_s = time.perf_counter() - t
        m = evaluate_classifier(clf, splits["test"])
        results[name] = {k: m[k] for k in ("macro_f1", "micro_f1", "primary_accuracy", "ece",
                                           "coverage", "accepted_tag_precision")}
        results[name]["fit_s"] = round(fit_s, 1)
        if name.startswith("combined"):
            m = evaluate_classifier(clf, [unaccented(r) for r in splits["test"]])
            results[name]["typed_without_tone_marks"] = {k: m[k] for k in (
                "macro_f1", "primary_accuracy", "coverage", "accepted_tag_precision")}
        print(name, json.dumps(results[name]), flush=True)
    readings = load_readings()
    for split in ("test", "all"):
        records = splits["test"] if split == "test" else [r for rs in splits.values() for r in rs]
        results[f"human_readings_{split}"] = reader_agreement(records, readings, list(taxonomy.codes))
        print(f"human_readings_{split}", json.dumps(results[f"human_readings_{split}"]), flush=True)
    as_written = [dataclasses.replace(r, fields=tuple(readings[r.id]["writer"]))
                  for r in splits["test"] if r.id in readings]
    if as_written:
        m = evaluate_classifier(clf, as_written)
        results["combined_vs_writer_labels"] = {k: m[k] for k in (
            "macro_f1", "primary_accuracy", "coverage", "accepted_tag_precision")}
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
