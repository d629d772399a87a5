"""Evaluate a field classifier on labelled records.

Per-field precision/recall/F1, macro and micro F1, confusion between primary fields, expected
calibration error, and precision/coverage of the auto-accepted tags (not ``needs_review``).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from model.classify import FieldClassifier
from model.normalize import normalize
from model.records import Record


def expected_calibration_error(P: np.ndarray, Y: np.ndarray, bins: int = 10) -> float:
    """ECE over every (text, field) probability: |accuracy - confidence| weighted by bin size.

    >>> round(expected_calibration_error(np.array([[0.9, 0.1]]), np.array([[1, 0]])), 3)
    0.1
    """
    p, y = P.ravel(), Y.ravel()
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(y[mask].mean() - p[mask].mean())
    return float(total)


def acceptance_figures(labels: np.ndarray, Y: np.ndarray, accepted: np.ndarray) -> dict:
    """Precision of the tags that were auto-accepted, and the share of texts accepted."""
    tags = labels[accepted]
    tp = (tags & Y[accepted].astype(bool)).sum()
    return {
        "coverage": round(float(accepted.mean()), 4),
        "accepted_tag_precision": round(float(tp / tags.sum()), 4) if tags.sum() else None,
        "accepted_exact_set_accuracy": round(float((tags == Y[accepted].astype(bool)).all(axis=1).mean()), 4)
        if accepted.any() else None,
    }


def evaluate_classifier(clf: FieldClassifier, records: list[Record]) -> dict:
    texts = [normalize(r.text) for r in records]
    preds = clf.predict(texts)
    classes = list(clf.classes_)
    Y = clf._binarize([list(r.fields) for r in records])
    labels = np.array([[c in p.labels for c in classes] for p in preds])
    P = np.array([[p.probabilities[c] for c in classes] for p in preds])
    prec, rec, f1, support = precision_recall_fscore_support(Y, labels, zero_division=0)
    accepted = np.array([not p.needs_review for p in preds])
    true_primary = [r.primary_field for r in records]
    pred_primary = [p.primary for p in preds]
    return {
        "texts": len(records),
        "macro_f1": round(float(f1_score(Y, labels, average="macro", zero_division=0)), 4),
        "micro_f1": round(float(f1_score(Y, labels, average="micro", zero_division=0)), 4),
        "primary_accuracy": round(float(np.mean([a == b for a, b in zip(true_primary, pred_primary)])), 4),
        "primary_in_predicted_set": round(float(np.mean([r.primary_field in p.labels for r, p in zip(records, preds)])), 4),
        "ece": round(expected_calibration_error(P, Y), 4),
        **acceptance_figures(labels, Y, accepted),
        "per_field": {
            c: {"precision": round(float(prec[i]), 3), "recall": round(float(rec[i]), 3),
                "f1": round(float(f1[i]), 3), "support": int(support[i])}
            for i, c in enumerate(classes)
        },
        "primary_confusion": {
            "labels": classes,
            "matrix": confusion_matrix(true_primary, pred_primary, labels=classes).tolist(),
        },
    }


def oof_figures(clf: FieldClassifier) -> dict:
    """Macro-F1, ECE and acceptance on the out-of-fold predictions kept from ``fit``."""
    P, Y = clf.oof_proba_, clf.oof_labels_
    labels = clf._label_matrix(P)
    accepted = clf.oof_confidence_ >= clf.accept_level_
    return {
        "macro_f1": round(float(f1_score(Y, labels, average="macro", zero_division=0)), 4),
        "ece": round(expected_calibration_error(P, Y), 4),
        **acceptance_figures(labels, Y, accepted),
    }
