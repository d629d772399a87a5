"""One decision rule over all the evidence a candidate pair carries.

Evidence: exact-key equality, Jaccard and containment of folded shingles, cosine of the fast
embeddings, cosine of the teacher (when verified), same author, same unit, length ratio. A
logistic regression weighs them (fitted on the train + dev pairs of data/), and the threshold
is chosen on out-of-fold scores: the middle of the best-F1 plateau among thresholds whose
precision reaches ``min_precision``. The
weights and threshold are plain numbers, stored with the index.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from model.errors import NotFittedError

FAST_FEATURES = ("jaccard", "containment", "cos_fast", "same_author", "same_unit",
                 "same_author_unit_cos", "length_ratio")
TEACHER_FEATURES = FAST_FEATURES + ("cos_teacher",)


@dataclass
class PairEvidence:
    """Everything measured about a pair; ``cos_teacher`` is None when not verified."""

    exact: bool
    jaccard: float
    containment: float
    cos_fast: float
    same_author: bool
    same_unit: bool
    length_ratio: float
    cos_teacher: float | None = None

    def vector(self, names: tuple[str, ...]) -> list[float]:
        values = {
            "jaccard": self.jaccard, "containment": self.containment, "cos_fast": self.cos_fast,
            "same_author": float(self.same_author), "same_unit": float(self.same_unit),
            "same_author_unit_cos": float(self.same_author and self.same_unit) * self.cos_fast,
            "length_ratio": self.length_ratio, "cos_teacher": self.cos_teacher or 0.0,
        }
        return [values[n] for n in names]


@dataclass
class EvidenceColumns:
    """The evidence of many pairs as columns (whole-corpus passes score millions of pairs;
    building a ``PairEvidence`` each would cost more than the scoring). Same features, same
    formulas as ``PairEvidence.vector``."""

    exact: np.ndarray
    jaccard: np.ndarray
    containment: np.ndarray
    cos_fast: np.ndarray
    same_author: np.ndarray
    same_unit: np.ndarray
    length_ratio: np.ndarray

    def matrix(self, names: tuple[str, ...]) -> np.ndarray:
        cos = self.cos_fast.astype(float)
        values = {
            "jaccard": self.jaccard, "containment": self.containment, "cos_fast": cos,
            "same_author": self.same_author.astype(float), "same_unit": self.same_unit.astype(float),
            "same_author_unit_cos": (self.same_author & self.same_unit).astype(float) * cos,
            "length_ratio": self.length_ratio, "cos_teacher": np.zeros(len(cos)),
        }
        return np.column_stack([values[n] for n in names]) if len(cos) else np.zeros((0, len(names)))

    def row(self, i: int) -> PairEvidence:
        return PairEvidence(bool(self.exact[i]), float(self.jaccard[i]), float(self.containment[i]),
                            float(self.cos_fast[i]), bool(self.same_author[i]), bool(self.same_unit[i]),
                            float(self.length_ratio[i]))


class DuplicateRule:
    """Logistic regression over pair evidence with a dev-tuned threshold; exact keys always match."""

    def __init__(self, features: tuple[str, ...] = FAST_FEATURES, min_precision: float = 0.97, C: float = 10.0):
        self.features = features
        self.min_precision = min_precision
        self.C = C

    def fit(self, evidence: list[PairEvidence], labels: list[int]) -> DuplicateRule:
        """Fit the weights; choose the threshold on out-of-fold scores (5-fold), so every
        labelled pair serves once as unseen dev data."""
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        X, y = np.array([e.vector(self.features) for e in evidence]), np.array(labels)
        lr = LogisticRegression(C=self.C, max_iter=2000)
        cv = StratifiedKFold(5, shuffle=True, random_state=0)
        oof = cross_val_predict(lr, X, y, cv=cv, method="predict_proba")[:, 1]
        oof = np.where([e.exact for e in evidence], 1.0, oof)
        lr.fit(X, y)
        self.coef_ = lr.coef_[0].astype(float)
        self.intercept_ = float(lr.intercept_[0])
        self.threshold_ = self._tune(oof, y)
        return self

    def _tune(self, scores: np.ndarray, y: np.ndarray) -> float:
        """Middle of the plateau of best-F1 thresholds that keep precision >= min_precision.

        Picking the middle rather than an edge leaves a margin on both sides, so the choice
        does not hang on a single pair of a small dev set.
        """
        grid = np.linspace(0.02, 0.98, 97)
        f1s = []
        for t in grid:
            pred = scores >= t
            tp = (pred & (y == 1)).sum()
            precision = tp / max(pred.sum(), 1)
            recall = tp / max((y == 1).sum(), 1)
            ok = precision >= self.min_precision
            f1s.append(2 * precision * recall / (precision + recall) if ok and tp else 0.0)
        f1s = np.array(f1s)
        if f1s.max() == 0:
            return 0.5
        plateau = grid[f1s >= f1s.max() - 0.002]
        return float(np.median(plateau))

    def score(self, evidence: list[PairEvidence]) -> np.ndarray:
        """Probability-like score in [0, 1]; 1.0 for exact duplicates."""
        if not hasattr(self, "coef_"):
            raise NotFittedError("DuplicateRule is not fitted: fit it on labelled pairs or load it")
        if not evidence:
            return np.zeros(0)
        X = np.array([e.vector(self.features) for e in evidence])
        return self.score_matrix(X, np.array([e.exact for e in evidence]))

    def score_columns(self, columns: EvidenceColumns) -> np.ndarray:
        """``score`` for evidence held as columns."""
        return self.score_matrix(columns.matrix(self.features), columns.exact)

    def score_matrix(self, X: np.ndarray, exact: np.ndarray) -> np.ndarray:
        if not hasattr(self, "coef_"):
            raise NotFittedError("DuplicateRule is not fitted: fit it on labelled pairs or load it")
        if not len(X):
            return np.zeros(0)
        s = 1 / (1 + np.exp(-(X @ self.coef_ + self.intercept_)))
        return np.where(exact, 1.0, s)

    def decide(self, evidence: list[PairEvidence]) -> np.ndarray:
        return self.score(evidence) >= self.threshold_

    def to_dict(self) -> dict:
        return {"features": list(self.features), "min_precision": self.min_precision, "C": self.C,
                "coef": self.coef_.tolist(), "intercept": self.intercept_, "threshold": self.threshold_}

    @classmethod
    def load(cls, path: str | Path) -> DuplicateRule:
        """Read a rule saved by ``sangkien train-dedup`` (``artifacts/dedup/rule.json``)."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no duplicate rule at {path}: run `sangkien train-dedup` first")
        return cls.from_dict(json.loads(path.read_text()))

    @classmethod
    def from_dict(cls, raw: dict) -> DuplicateRule:
        rule = cls(tuple(raw["features"]), raw["min_precision"], raw["C"])
        rule.coef_ = np.array(raw["coef"], dtype=float)
        rule.intercept_ = float(raw["intercept"])
        rule.threshold_ = float(raw["threshold"])
        return rule
