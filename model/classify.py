"""Multi-label field classifier with calibrated probabilities and an honest "needs review".

One scikit-learn estimator: features (word n-grams over segmented text, char n-grams, static
embeddings) -> logistic regression per field, one per fold of a grouped 5-fold cross-validation
over the training texts, averaged. Everything that is tuned comes from that cross-validation
(every text predicted by a model that did not see it, nor any resubmission of the same idea):

* a sigmoid (Platt) calibration per field of the out-of-fold decision values;
* one decision threshold per field (best F1), giving the label set;
* a set-confidence model: the probability that a text's whole label set is right, learned
  from the out-of-fold probabilities (top probabilities, margin, weakest decision, number of
  tags, text length). Per-field probabilities say how likely each field is, not how likely
  the set is, and the weakest in/out decision alone was too pessimistic;
* an acceptance level on that confidence: tags are auto-accepted at the lowest level whose
  accepted tags reach ``min_precision`` out of fold.

Each training text also trains the model as typed without tone marks (``fold_augment``): real
exports hold such texts, and a model that only saw accented text read them at macro-F1 ~0.5.
Texts the model has no basis for (empty, not Vietnamese, no known words) always need review.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold, cross_val_predict
from sklearn.multiclass import OneVsRestClassifier

from model.errors import NotFittedError
from model.features import build_features, word_feature_names
from model.normalize import check_content, fold_diacritics

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
    """Calibrated one-vs-rest logistic regressions over word, char and embedding features."""

    def __init__(
        self, C: float = 32.0, word_ngrams: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] = (2, 5), embedding_weight: float = 0.25,
        embedder_path: str | None = None, fold_augment: bool = True, cv: int = 5,
        min_precision: float = 0.97, min_known_share: float = 0.3, n_explain: int = 5,
        random_state: int = 0,
    ):
        self.C = C
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.embedding_weight = embedding_weight
        self.embedder_path = embedder_path
        self.fold_augment = fold_augment
        self.cv = cv
        self.min_precision = min_precision
        self.min_known_share = min_known_share
        self.n_explain = n_explain
        self.random_state = random_state

    # ---- fitting ----------------------------------------------------------------------------

    def _estimator(self) -> OneVsRestClassifier:
        return OneVsRestClassifier(LogisticRegression(C=self.C, class_weight="balanced", max_iter=3000))

    def fit(self, texts: list[str], label_sets: list[list[str]], classes: list[str] | None = None,
            groups: list[str] | None = None) -> FieldClassifier:
        """Fit on normalised texts. ``groups`` (one idea id per text) keeps resubmissions of
        one idea in the same fold; without it every text is its own group."""
        texts = list(texts)
        self.classes_ = np.array(classes or sorted({c for s in label_sets for c in s}))
        Y = self._binarize(label_sets)
        groups = [str(g) for g in groups] if groups is not None else [str(i) for i in range(len(texts))]
        all_texts, all_Y, all_groups = self._augment(texts, Y, groups)
        self.features_ = build_features(self.word_ngrams, self.char_ngrams,
                                        self.embedding_weight, self.embedder_path)
        X = self.features_.fit_transform(all_texts)
        self.models_, decisions = self._fit_folds(X, all_Y, all_groups)
        decisions = decisions[: len(texts)]
        self.calibration_ = self._fit_calibration(decisions, Y)
        P = self._calibrate(decisions)
        self.thresholds_ = self._tune_thresholds(P, Y)
        labels = self._label_matrix(P)
        features = self._set_features(P, labels, _word_counts(texts))
        exact = (labels == Y.astype(bool)).all(axis=1)
        self.set_model_ = self._fit_set_model(features, exact)
        self.oof_confidence_ = self._oof_set_confidence(features, exact, groups, P, labels)
        self.accept_level_ = self._tune_acceptance(self.oof_confidence_, labels, Y)
        self.oof_proba_, self.oof_labels_ = P, Y
        self._compile()
        return self

    def _augment(self, texts: list[str], Y: np.ndarray, groups: list[str],
                 ) -> tuple[list[str], np.ndarray, list[str]]:
        """Originals first, then each accented text again without tone marks, in its group."""
        if not self.fold_augment:
            return texts, Y, groups
        extra = [i for i, t in enumerate(texts) if fold_diacritics(t) != t]
        return (texts + [fold_diacritics(texts[i]) for i in extra], np.vstack([Y, Y[extra]]),
                groups + [groups[i] for i in extra])

    def _fit_folds(self, X, Y: np.ndarray, groups: list[str],
                   ) -> tuple[list[OneVsRestClassifier], np.ndarray]:
        """One model per fold, and each text's decision values from the model that did not
        see it. The fold models are also what predicts (their mean), so the calibration and
        acceptance level tuned on their out-of-fold output apply to the models in use; a
        refit on all the data would be a sixth, slightly surer model they were not tuned on."""
        cv = GroupKFold(self.cv, shuffle=True, random_state=self.random_state)
        models, decisions = [], np.zeros(Y.shape)
        for train, held_out in cv.split(X, Y, groups):
            models.append(self._estimator().fit(X[train], Y[train]))
            decisions[held_out] = models[-1].decision_function(X[held_out])
        return models, decisions

    @staticmethod
    def _fit_calibration(decisions: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Per field, sigmoid(a * decision + b) fitted on out-of-fold decisions: (2, fields)."""
        params = []
        for j in range(Y.shape[1]):
            if Y[:, j].min() == Y[:, j].max():  # a field never (or always) seen: its base rate
                params.append((0.0, 8.0 if Y[0, j] else -8.0))
                continue
            lr = LogisticRegression(C=1e4, max_iter=1000).fit(decisions[:, [j]], Y[:, j])
            params.append((lr.coef_[0, 0], lr.intercept_[0]))
        return np.array(params).T

    def _calibrate(self, decisions: np.ndarray) -> np.ndarray:
        a, b = self.calibration_
        return 1.0 / (1.0 + np.exp(-(a * decisions + b)))

    def _compile(self) -> None:
        """Fold the fold models (folds x fields logistic regressions) into two arrays, so one
        prediction is a single sparse matrix product (a test checks it equals the sklearn
        estimators), and keep their mean weights per field for explanations."""
        members = [e for m in self.models_ for e in m.estimators_]  # fold-major, then field
        # C order: scipy's sparse x dense product would copy a Fortran-ordered W_ on every call
        self.W_ = np.ascontiguousarray(np.vstack([e.coef_[0] for e in members]).T)
        self.b_ = np.array([e.intercept_[0] for e in members])
        self.coef_ = self.W_.T.reshape(len(self.models_), len(self.classes_), -1).mean(axis=0)
        self.word_names_ = word_feature_names(self.features_)

    def _proba_from_features(self, X) -> np.ndarray:
        """The fold models' calibrated probabilities, averaged."""
        decisions = (np.asarray(X @ self.W_) + self.b_).reshape(X.shape[0], len(self.models_), -1)
        return self._calibrate(decisions).mean(axis=1)

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

    @staticmethod
    def _set_features(P: np.ndarray, labels: np.ndarray, n_words: np.ndarray) -> np.ndarray:
        """What tells a right label set from a wrong one, beyond each field's probability."""
        top = -np.sort(-P, axis=1)
        return np.column_stack([
            top[:, :3], top[:, 0] - top[:, 1], np.where(labels, P, 1 - P).min(axis=1),
            np.where(labels, P, 1.0).min(axis=1), labels.sum(axis=1), np.log1p(n_words), P,
        ])

    def _set_estimator(self) -> LogisticRegression:
        return LogisticRegression(C=1.0, max_iter=2000)

    def _fit_set_model(self, features: np.ndarray, exact: np.ndarray) -> LogisticRegression | None:
        """P(whole label set right); None when the training sets are all right or all wrong
        (tiny data), and the weakest in/out decision stands in for it."""
        if exact.all() or not exact.any():
            return None
        return self._set_estimator().fit(features, exact)

    def _oof_set_confidence(self, features: np.ndarray, exact: np.ndarray, groups: list[str],
                            P: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Set confidence for the training texts from a model that did not see them, so the
        acceptance level is not tuned on the set model's own training fit."""
        if self.set_model_ is None:
            return _weakest_decision(P, labels)
        if min(exact.sum(), (~exact).sum()) < 5:
            return self.set_model_.predict_proba(features)[:, 1]
        cv = StratifiedGroupKFold(self.cv, shuffle=True, random_state=self.random_state)
        return cross_val_predict(self._set_estimator(), features, exact, cv=cv, groups=groups,
                                 method="predict_proba")[:, 1]

    def _tune_acceptance(self, conf: np.ndarray, labels: np.ndarray, Y: np.ndarray) -> float:
        """Lowest confidence level whose auto-accepted tags reach ``min_precision``."""
        for level in np.linspace(0.5, 0.999, 500):
            keep = conf >= level
            if not keep.any():
                break
            tp = (labels[keep] & Y[keep].astype(bool)).sum()
            if tp / labels[keep].sum() >= self.min_precision:
                return float(level)
        return 1.0

    # ---- prediction -------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise NotFittedError("FieldClassifier is not fitted: call fit() or load a trained artifact")

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        self._check_fitted()
        return self._proba_from_features(self.features_.transform(list(texts)))

    def _label_matrix(self, P: np.ndarray) -> np.ndarray:
        labels = P >= self.thresholds_
        labels[np.arange(len(P)), P.argmax(axis=1)] = True  # always at least the primary field
        return labels

    def _set_confidence(self, P: np.ndarray, labels: np.ndarray, n_words: np.ndarray) -> np.ndarray:
        """How sure the model is that the whole label set is right."""
        if self.set_model_ is None:
            return _weakest_decision(P, labels)
        return self.set_model_.predict_proba(self._set_features(P, labels, n_words))[:, 1]

    def predict(self, texts: list[str], explain: bool = True) -> list[FieldPrediction]:
        """Fields, label set, review flag per text; ``explain=False`` skips the phrases (bulk)."""
        self._check_fitted()
        texts = list(texts)
        X = self.features_.transform(texts)
        P = self._proba_from_features(X)
        labels = self._label_matrix(P)
        conf = self._set_confidence(P, labels, _word_counts(texts))
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
            feature = self.word_names_[cols[k]]
            if only_function_words(feature):
                continue
            phrase = surface_form(text, feature)
            if phrase and not any(_overlaps(phrase, p) for p in phrases):
                phrases.append(phrase)
        return phrases


def _overlaps(a: str, b: str) -> bool:
    """One phrase inside the other ("phần mềm" and "phần mềm quản lý"): a reviewer reads it once.

    >>> _overlaps("phần mềm", "Phần mềm quản lý"), _overlaps("bệnh viện", "phần mềm")
    (True, False)
    """
    a, b = a.lower(), b.lower()
    return a in b or b in a


@lru_cache(maxsize=1)
def _function_words() -> frozenset[str]:
    """underthesea's Vietnamese stopword list, in the word n-grams' spelling ("tuy_nhiên")."""
    from underthesea.datasets.stopwords import words  # reads one 52-line file

    return frozenset(w.strip().lower().replace(" ", "_") for w in words if w.strip())


def only_function_words(feature: str) -> bool:
    """A phrase of stopwords only ("tại", "của các") says nothing to a reviewer about a field,
    even when its weight happens to be positive.

    >>> only_function_words("tại"), only_function_words("tại bệnh_viện")
    (True, False)
    """
    return all(token in _function_words() for token in feature.split())


def _weakest_decision(P: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The least certain in/out decision of each label set: the confidence without a set model."""
    return np.where(labels, P, 1 - P).min(axis=1)


def _word_counts(texts: list[str]) -> np.ndarray:
    return np.array([len(_WORD.findall(t)) for t in texts], dtype=float)


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
