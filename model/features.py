"""Feature transformers for the field classifier: word n-grams, character n-grams, embeddings.

Each is a scikit-learn transformer over *normalised* texts, so they combine in one
``FeatureUnion`` and the fitted union is saved with the classifier.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer

from model.embed import DEFAULT_STATIC_MODEL, StaticEmbedder
from model.normalize import segment_many


def segmented_lower(texts: list[str]) -> list[str]:
    """underthesea word segmentation ("quản_lý"), lowercased, for word n-grams."""
    return [t.lower() for t in segment_many(list(texts))]


class EmbeddingFeatures(TransformerMixin, BaseEstimator):
    """Fast static sentence embeddings as dense features, scaled by ``weight``.

    The model is not pickled with the classifier: it is reloaded from ``model_path`` (which
    ships in the package), keeping the saved artifact small.
    """

    def __init__(self, model_path: str | None = None, weight: float = 1.0):
        self.model_path = model_path
        self.weight = weight

    def fit(self, texts: list[str], y: object = None) -> EmbeddingFeatures:
        self.embedder_ = StaticEmbedder(Path(self.model_path or DEFAULT_STATIC_MODEL)).fit()
        return self

    def transform(self, texts: list[str]) -> sparse.csr_matrix:
        if not hasattr(self, "embedder_"):
            self.fit(texts)
        return sparse.csr_matrix(self.embedder_.transform(list(texts)) * self.weight)

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "embedder_"}


def build_features(
    word_ngrams: tuple[int, int] | None = (1, 2), char_ngrams: tuple[int, int] | None = (2, 5),
    embedding_weight: float = 1.0, embedder_path: str | None = None,
) -> FeatureUnion:
    """Word n-grams over segmented text, char n-grams, and embeddings, side by side.

    Any block can be switched off (``None`` / weight 0), which is how the baselines are built.
    """
    parts: list[tuple[str, object]] = []
    if word_ngrams:
        parts.append(("words", Pipeline([
            ("segment", FunctionTransformer(segmented_lower)),
            ("tfidf", TfidfVectorizer(tokenizer=str.split, token_pattern=None, lowercase=False,
                                      ngram_range=tuple(word_ngrams), sublinear_tf=True, min_df=2)),
        ])))
    if char_ngrams:
        parts.append(("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(char_ngrams),
                                               lowercase=True, sublinear_tf=True, min_df=2,
                                               max_features=60000)))
    if embedding_weight > 0:
        parts.append(("embeddings", EmbeddingFeatures(embedder_path, embedding_weight)))
    if not parts:
        raise ValueError("no features: enable word n-grams, char n-grams or embeddings")
    return FeatureUnion(parts)


def word_feature_names(union: FeatureUnion) -> np.ndarray:
    """The word n-gram vocabulary, in column order (the first block), empty without one."""
    name, block = union.transformer_list[0]
    return block.named_steps["tfidf"].get_feature_names_out() if name == "words" else np.array([])
