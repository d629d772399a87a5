"""Multi-label field classifier with calibrated probabilities and an honest "needs review".

One scikit-learn estimator: features (word n-grams over segmented text, char n-grams, static
embeddings) -> one calibrated logistic regression per field. On the dev split it learns

* one decision threshold per field (best F1), giving the label set;
* an acceptance level: a text's tags are auto-accepted only when every field is confidently
  in or out, at the lowest level whose accepted tags reach ``min_precision`` on dev.

Texts the model has no basis for (empty, not Vietnamese, no known words) always need review.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.multiclass import OneVsRestClassifier

from model.errors import NotFittedError
from model.features import build_features, word_feature_names
from model.normalize import check_content

_WORD = re.compile(r"\w+")


@dataclass
class FieldPrediction:
    """What reviewers and intake see for one text."""

    probabilities: dict[str, float]
    labels: list[str]
    primary: str | None
    needs_review: bool
    review_reason: str | None = None
    confidence: float = 0.0
    explanations: dict[str, list[str]] = field(default_factory=dict)


class FieldClassifier(ClassifierMixin, BaseEstimator):
    """Calibrated one-vs-rest logistic regression over word, char and embedding features."""

    def __init__(
        self, C: float = 32.0, word_ngrams: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] = (2, 5), embedding_weight: float = 0.25,
        embedder_path: str | None = None, calibration_cv: int = 5, min_precision: float = 0.97,
        min_known_share: float = 0.3, n_explain: int = 5, random_state: int = 0,
    ):
        self.C = C
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.embedding_weight = embedding_weight
        self.embedder_path = embedder_path
        self.calibration_cv = calibration_cv
        self.min_precision = min_precision
        self.min_known_share = min_known_share
        self.n_explain = n_explain
        self.random_state = random_state

    # ---- fitting ----------------------------------------------------------------------------

    def _estimator(self) -> OneVsRestClassifier:
        base = LogisticRegression(C=self.C, class_weight="balanced", max_iter=3000)
        cv = KFold(self.calibration_cv, shuffle=True, random_state=self.random_state)
        return OneVsRestClassifier(CalibratedClassifierCV(base, method="sigmoid", cv=cv))

    def fit(self, texts: list[str], label_sets: list[list[str]], classes: list[str] | None = None,
            ) -> FieldClassifier:
        """Fit on normalised texts. Thresholds and the acceptance level are tuned on
        out-of-fold predictions (5-fold) over the same texts: every text serves once as dev
        data, which is steadier than a small held-out split."""
        self.classes_ = np.array(classes or sorted({c for s in label_sets for c in s}))
        Y = self._binarize(label_sets)
        self.features_ = build_features(self.word_ngrams, self.char_ngrams,
                                        self.embedding_weight, self.embedder_path)
        X = self.features_.fit_transform(list(texts))
        self.model_ = self._estimator().fit(X, Y)
        cv = KFold(5, shuffle=True, random_state=self.random_state)
        P = cross_val_predict(self._estimator(), X, Y, cv=cv, method="predict_proba")
        self.thresholds_ = self._tune_thresholds(P, Y)
        self.accept_level_ = self._tune_acceptance(P, Y)
        self.oof_proba_, self.oof_labels_ = P, Y
        self.coef_ = self._mean_coefficients()
        self.word_names_ = word_feature_names(self.features_)
        self._compile()
        return self

    def _compile(self) -> None:
        """Fold the calibrated ensemble (fields x folds logistic regressions, each followed by
        a sigmoid calibrator) into a few arrays, so one prediction is a single sparse matrix
        product instead of dozens of estimator calls. Same numbers (a test checks it)."""
        members = [c for est in self.model_.estimators_ for c in est.calibrated_classifiers_]
        # C order: scipy's sparse x dense product would copy a Fortran-ordered W_ on every call
        self.W_ = np.ascontiguousarray(np.vstack([c.estimator.coef_[0] for c in members]).T)
        self.b_ = np.array([c.estimator.intercept_[0] for c in members])
        self.cal_a_ = np.array([c.calibrators[0].a_ for c in members])
        self.cal_b_ = np.array([c.calibrators[0].b_ for c in members])
        self.n_folds_ = len(self.model_.estimators_[0].calibrated_classifiers_)

    def _proba_from_features(self, X) -> np.ndarray:
        decision = np.asarray(X @ self.W_) + self.b_
        p = 1.0 / (1.0 + np.exp(self.cal_a_ * decision + self.cal_b_))
        return p.reshape(len(decision), len(self.classes_), self.n_folds_).mean(axis=2)

    def _binarize(self, label_sets: list[list[str]]) -> np.ndarray:
        index = {c: i for i, c in enumerate(self.classes_)}
        Y = np.zeros((len(label_sets), len(self.classes_)), dtype=int)
        for row, labels in enumerate(label_sets):
            for label in labels:
                Y[row, index[label]] = 1
        return Y

    @staticmethod
    def _tune_thresholds(P: np.ndarray, Y: np.ndarray) -> np.ndarray:
        grid = np.linspace(0.1, 0.9, 81)
        return np.array([
            grid[np.argmax([f1_score(Y[:, j], P[:, j] >= t, zero_division=0) for t in grid])]
            for j in range(Y.shape[1])
        ])

    def _tune_acceptance(self, P: np.ndarray, Y: np.ndarray) -> float:
        """Lowest confidence level whose auto-accepted tags reach ``min_precision``."""
        labels = self._label_matrix(P)
        conf = self._confidence(P, labels)
        for level in np.linspace(0.5, 0.999, 500):
            keep = conf >= level
            if not keep.any():
                break
            tp = (labels[keep] & Y[keep].astype(bool)).sum()
            if tp / labels[keep].sum() >= self.min_precision:
                return float(level)
        return 1.0

    def _mean_coefficients(self) -> np.ndarray:
        """Per-field linear weights, averaged over the calibration folds (for explanations)."""
        return np.vstack([
            np.mean([c.estimator.coef_[0] for c in est.calibrated_classifiers_], axis=0)
            for est in self.model_.estimators_
        ])

    # ---- prediction -------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("FieldClassifier is not fitted: call fit() or load a trained artifact")

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        self._check_fitted()
        return self._proba_from_features(self.features_.transform(list(texts)))

    def _label_matrix(self, P: np.ndarray) -> np.ndarray:
        labels = P >= self.thresholds_
        labels[np.arange(len(P)), P.argmax(axis=1)] = True  # always at least the primary field
        return labels

    @staticmethod
    def _confidence(P: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """How sure the model is of the whole label set: its least certain in/out decision."""
        return np.where(labels, P, 1 - P).min(axis=1)

    def predict(self, texts: list[str], explain: bool = True) -> list[FieldPrediction]:
        """Fields, label set, review flag per text; ``explain=False`` skips the phrases (bulk)."""
        self._check_fitted()
        texts = list(texts)
        X = self.features_.transform(texts)
        P = self._proba_from_features(X)
        labels = self._label_matrix(P)
        conf = self._confidence(P, labels)
        words = X[:, : len(self.word_names_)]
        out = []
        for i, text in enumerate(texts):
            chosen = [self.classes_[j] for j in np.argsort(-P[i]) if labels[i, j]]
            reason = self._review_reason(text, conf[i], words[i])
            out.append(FieldPrediction(
                probabilities={c: round(float(p), 4) for c, p in zip(self.classes_, P[i])},
                labels=chosen, primary=chosen[0], needs_review=reason is not None,
                review_reason=reason, confidence=round(float(conf[i]), 4),
                explanations={c: self._explain(text, words[i], c) for c in chosen} if explain else {},
            ))
        return out

    def _review_reason(self, text: str, confidence: float, word_row) -> str | None:
        check = check_content(text)
        if not check.ok:
            return check.reason
        tokens = _WORD.findall(text)
        if tokens and word_row.nnz / max(len(tokens), 1) < self.min_known_share * 0.5:
            return "unknown_vocabulary"
        if confidence < self.accept_level_:
            return "low_confidence"
        return None

    def _explain(self, text: str, word_row, code: str) -> list[str]:
        """The word n-grams that pushed this text towards ``code``, in the writer's spelling."""
        j = int(np.flatnonzero(self.classes_ == code)[0])
        cols, vals = word_row.indices, word_row.data
        contrib = vals * self.coef_[j, cols]
        phrases = []
        for k in np.argsort(-contrib):
            if contrib[k] <= 0 or len(phrases) >= self.n_explain:
                break
            phrase = surface_form(text, self.word_names_[cols[k]])
            if phrase and not any(phrase.lower() in p.lower() for p in phrases):
                phrases.append(phrase)
        return phrases


def surface_form(text: str, feature: str) -> str | None:
    """Find a lowercase segmented n-gram ("quản_lý hồ_sơ") in the text as it was written.

    >>> surface_form("Phần mềm Quản lý hồ sơ", "quản_lý hồ_sơ")
    'Quản lý hồ sơ'
    """
    match = _phrase_pattern(feature).search(text)
    return match.group(0) if match else None


@lru_cache(maxsize=1 << 16)
def _phrase_pattern(feature: str) -> re.Pattern[str]:
    """Compiled once per vocabulary entry: ``re``'s own cache (512) is far smaller than the vocabulary."""
    words = feature.replace("_", " ").split()
    pattern = r"\W+".join(re.escape(w) for w in words)
    return re.compile(rf"(?<!\w){pattern}(?!\w)", re.IGNORECASE)
