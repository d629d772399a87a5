"""Fit the duplicate decision rule on the labelled pairs of data/ and evaluate it.

The rule is fitted on the train + dev pairs (threshold from out-of-fold scores); the test pairs
are only scored. Output: ``artifacts/dedup/rule.json`` and a metrics card.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from model.dedup import DuplicateRule, IndexedDoc, NearDuplicateIndex, PairEvidence
from model.dedup.rule import FAST_FEATURES
from model.normalize import normalize
from training.dataset import DATA, load_all, load_copies, load_pairs


def labelled_docs(data_dir: Path = DATA) -> list[IndexedDoc]:
    """Every record and copy of data/, normalised, as the index sees them."""
    _, records = load_all(data_dir)
    items = records + load_copies(data_dir)
    return [IndexedDoc(r.id, normalize(r.text), r.unit, r.author, r.submitted_at) for r in items]


def pair_table(index: NearDuplicateIndex, pairs: list[dict]) -> list[PairEvidence]:
    return [index.pair_evidence(p["a"], p["b"]) for p in pairs]


def pair_metrics(pred: np.ndarray, pairs: list[dict]) -> dict:
    """Precision/recall/F1 overall, recall per duplicate kind, false-positive rate per negative kind."""
    y = np.array([p["label"] for p in pairs]) == 1
    tp, fp = int((pred & y).sum()), int((pred & ~y).sum())
    fn = int((~pred & y).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for p, hit in zip(pairs, pred):
        by_kind[("dup:" if p["label"] else "neg:") + p["kind"]].append(bool(hit))
    return {
        "pairs": len(pairs), "precision": round(precision, 4), "recall": round(recall, 4),
        "f1": round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0,
        "recall_by_edit": {k[4:]: round(float(np.mean(v)), 4) for k, v in sorted(by_kind.items()) if k.startswith("dup:")},
        "false_positive_rate_by_negative": {k[4:]: round(float(np.mean(v)), 4) for k, v in sorted(by_kind.items()) if k.startswith("neg:")},
    }


def fit_rule(index: NearDuplicateIndex, pairs: list[dict], features: tuple[str, ...] = FAST_FEATURES
             ) -> tuple[DuplicateRule, dict]:
    split = {s: [p for p in pairs if p["split"] == s] for s in ("train", "dev", "test")}
    ev = {s: pair_table(index, ps) for s, ps in split.items()}
    fit_pairs = split["train"] + split["dev"]
    rule = DuplicateRule(features).fit(ev["train"] + ev["dev"], [p["label"] for p in fit_pairs])
    metrics = {"train_dev": pair_metrics(rule.decide(ev["train"] + ev["dev"]), fit_pairs),
               "test": pair_metrics(rule.decide(ev["test"]), split["test"])}
    return rule, metrics


def evidence_index(docs: list[IndexedDoc], embedder) -> NearDuplicateIndex:
    """An index used only to measure pair evidence, before any rule is fitted."""
    neutral = DuplicateRule()
    neutral.coef_, neutral.intercept_, neutral.threshold_ = np.zeros(len(FAST_FEATURES)), 0.0, 0.5
    return NearDuplicateIndex(neutral).fit(docs, embedder)


def train_dedup(out_dir: Path, embedder, data_dir: Path = DATA) -> dict:
    """Fit and save the rule; the card holds its weights and dev/test figures."""
    index = evidence_index(labelled_docs(data_dir), embedder)
    rule, metrics = fit_rule(index, load_pairs(data_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "rule.json").write_text(json.dumps(rule.to_dict(), indent=2))
    card = {"rule": rule.to_dict(), "metrics": metrics}
    (out_dir / "card.json").write_text(json.dumps(card, indent=2))
    return card


def load_rule(path: str | Path) -> DuplicateRule:
    return DuplicateRule.load(path)
