"""``NearDuplicateIndex``: find copies and light rewordings among stored initiatives.

A cascade, cheapest first:
1. exact keys: the normalised text (case-folded), and its folded syllables (same text typed
   without diacritics or with other punctuation);
2. lexical: MinHash LSH (datasketch) over folded syllable shingles, every candidate verified
   by exact Jaccard and containment;
3. semantic: nearest neighbours on the fast static embeddings (exact for single queries,
   faiss IVF for whole-corpus passes);
then one decision rule (``DuplicateRule``) weighs the evidence of each candidate pair.
"""

from __future__ import annotations

import json
import zlib
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

from model.dedup.evidence import Passage, overlapping_passages
from model.dedup.rule import DuplicateRule, PairEvidence
from model.dedup.shingles import exact_key, folded_key, match_syllables, syllable_shingles
from model.errors import NotFittedError

Progress = Callable[[Iterable, str, int], Iterable]


def _no_progress(items: Iterable, desc: str, total: int) -> Iterable:
    return items


def _crc32(b: bytes) -> int:
    return zlib.crc32(b)


def _identity(h: int) -> int:
    """MinHash hash function for values that are already 32-bit shingle hashes."""
    return h


@dataclass(frozen=True)
class IndexedDoc:
    """What the index needs of a record: normalised text and the metadata used as evidence."""

    id: str
    text: str
    unit: str = ""
    author: str = ""
    submitted_at: str = ""


@dataclass
class DuplicateMatch:
    """A candidate pair with its score, the decision and all the evidence behind it."""

    a: str
    b: str
    score: float
    is_duplicate: bool
    stage: str
    evidence: PairEvidence
    passages: list[Passage] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "score": round(self.score, 4),
                "is_duplicate": self.is_duplicate, "stage": self.stage,
                "evidence": asdict(self.evidence), "passages": [asdict(p) for p in self.passages]}


def _same(x: str, y: str) -> bool:
    return bool(x.strip()) and x.strip().casefold() == y.strip().casefold()


class NearDuplicateIndex:
    """Incremental near-duplicate index; ``fit`` indexes a corpus, ``add``/``remove`` keep it current."""

    def __init__(self, rule: DuplicateRule | None = None, num_perm: int = 128,
                 lsh_threshold: float = 0.3, shingle_size: int = 3, k_neighbors: int = 10,
                 min_cosine: float = 0.8, max_passages: int = 8):
        self.rule = rule
        self.num_perm = num_perm
        self.lsh_threshold = lsh_threshold
        self.shingle_size = shingle_size
        self.k_neighbors = k_neighbors
        self.min_cosine = min_cosine
        self.max_passages = max_passages

    # ---- building -------------------------------------------------------------------------

    def fit(self, docs: list[IndexedDoc], embedder, progress: Progress = _no_progress) -> NearDuplicateIndex:
        """Index ``docs`` from scratch with ``embedder`` (a fitted ``StaticEmbedder``)."""
        if self.rule is None:
            raise NotFittedError("NearDuplicateIndex needs a fitted DuplicateRule (see `sangkien train-dedup`)")
        self.embedder_ = embedder
        self.docs_: dict[str, IndexedDoc] = {}
        self.row_: dict[str, int] = {}
        self.ids_: list[str | None] = []
        self.vectors_ = np.zeros((0, 0), dtype=np.float32)
        self.shingles_: list[np.ndarray] = []
        self.keys_: list[tuple[str, str]] = []
        self.exact_: dict[str, set[str]] = defaultdict(set)
        self.lsh_ = MinHashLSH(threshold=self.lsh_threshold, num_perm=self.num_perm)
        return self.add(docs, progress=progress)

    def _check(self) -> None:
        if not hasattr(self, "lsh_"):
            raise NotFittedError("NearDuplicateIndex is not fitted: call fit() or load()")

    def _features(self, text: str) -> tuple[np.ndarray, tuple[str, str]]:
        """Sorted unique 32-bit hashes of the folded shingles, and the two exact keys."""
        sylls = match_syllables(text)
        hashes = np.unique(np.fromiter(
            (zlib.crc32(s.encode()) for s in syllable_shingles(sylls, self.shingle_size)), dtype=np.uint32))
        return hashes, (exact_key(text), folded_key(text, sylls))

    def _minhashes(self, hash_arrays: list[np.ndarray]) -> list[MinHash]:
        return MinHash.bulk([a.tolist() for a in hash_arrays], num_perm=self.num_perm, hashfunc=_identity)

    def add(self, docs: list[IndexedDoc], vectors: np.ndarray | None = None,
            progress: Progress = _no_progress) -> NearDuplicateIndex:
        """Add documents (an id already present is replaced)."""
        self._check()
        docs = list({d.id: d for d in docs}.values())
        self.remove([d.id for d in docs if d.id in self.docs_])
        if not docs:
            return self
        if vectors is None:
            vectors = self.embedder_.transform([d.text for d in docs])
        features = [self._features(d.text) for d in progress(docs, "shingling", len(docs))]
        minhashes = self._minhashes([h for h, _ in features])
        start = len(self.ids_)
        self.vectors_ = vectors.astype(np.float32) if start == 0 else np.vstack([self.vectors_, vectors])
        with self.lsh_.insertion_session() as session:
            for i, (doc, (hashes, keys), mh) in enumerate(zip(docs, features, minhashes)):
                self.docs_[doc.id], self.row_[doc.id] = doc, start + i
                self.ids_.append(doc.id)
                self.shingles_.append(hashes)
                self.keys_.append(keys)
                for key in keys:
                    self.exact_[key].add(doc.id)
                if len(hashes):
                    session.insert(doc.id, LeanMinHash(mh), check_duplication=False)
        return self

    def remove(self, ids: list[str]) -> NearDuplicateIndex:
        """Forget documents; unknown ids are ignored."""
        self._check()
        for doc_id in ids:
            doc = self.docs_.pop(doc_id, None)
            if doc is None:
                continue
            row = self.row_.pop(doc_id)
            self.ids_[row] = None
            self.vectors_[row] = 0.0
            for key in self.keys_[row]:
                self.exact_[key].discard(doc_id)
            if self.lsh_.keys.has_key(doc_id):
                self.lsh_.remove(doc_id)
        return self

    def __len__(self) -> int:
        return len(self.docs_) if hasattr(self, "docs_") else 0

    # ---- evidence -------------------------------------------------------------------------

    def _evidence(self, a: IndexedDoc, keys_a: tuple[str, str], sa: np.ndarray, va: np.ndarray,
                  b_id: str) -> PairEvidence:
        b, row = self.docs_[b_id], self.row_[b_id]
        sb = self.shingles_[row]
        inter = len(np.intersect1d(sa, sb, assume_unique=True))
        union = len(sa) + len(sb) - inter
        return PairEvidence(
            exact=keys_a[0] == self.keys_[row][0] or keys_a[1] == self.keys_[row][1],
            jaccard=inter / union if union else 0.0,
            containment=inter / min(len(sa), len(sb)) if len(sa) and len(sb) else 0.0,
            cos_fast=float(np.dot(va, self.vectors_[row])),
            same_author=_same(a.author, b.author), same_unit=_same(a.unit, b.unit),
            length_ratio=min(len(sa), len(sb)) / max(len(sa), len(sb), 1),
        )

    def _candidates(self, doc: IndexedDoc, keys: tuple[str, str], vector: np.ndarray,
                    minhash: MinHash) -> dict[str, str]:
        """Candidate ids with the first stage that proposed them."""
        found: dict[str, str] = {}
        for key in keys:
            for other in self.exact_.get(key, ()):
                found.setdefault(other, "exact")
        for other in self.lsh_.query(minhash):
            found.setdefault(other, "lexical")
        sims = self.vectors_ @ vector
        top = np.argpartition(-sims, min(self.k_neighbors, len(sims) - 1))[: self.k_neighbors]
        for row in top[np.argsort(-sims[top])]:
            other = self.ids_[row]
            if other is not None and sims[row] >= self.min_cosine:
                found.setdefault(other, "semantic")
        found.pop(doc.id, None)
        return found

    def query(self, doc: IndexedDoc, k: int = 5, only_duplicates: bool = False,
              vector: np.ndarray | None = None) -> list[DuplicateMatch]:
        """The ``k`` most similar stored documents, best first, with evidence and decision."""
        self._check()
        if not self.docs_:
            return []
        vector = self.embedder_.transform([doc.text])[0] if vector is None else vector
        sa, keys = self._features(doc.text)
        mh = self._minhashes([sa])[0]
        found = self._candidates(doc, keys, vector, mh)
        ids = list(found)
        evidence = [self._evidence(doc, keys, sa, vector, other) for other in ids]
        scores = self.rule.score(evidence)
        order = np.argsort(-scores)[:k] if not only_duplicates else np.argsort(-scores)
        out = []
        for j in order:
            dup = bool(scores[j] >= self.rule.threshold_)
            if only_duplicates and not dup:
                break
            out.append(DuplicateMatch(
                doc.id, ids[j], float(scores[j]), dup, found[ids[j]], evidence[j],
                overlapping_passages(doc.text, self.docs_[ids[j]].text)[: self.max_passages],
            ))
        return out[:k]

    def pair_evidence(self, a_id: str, b_id: str) -> PairEvidence:
        """Evidence between two indexed documents (used to fit and evaluate the rule)."""
        self._check()
        row = self.row_[a_id]
        return self._evidence(self.docs_[a_id], self.keys_[row], self.shingles_[row], self.vectors_[row], b_id)

    # ---- whole-corpus pass -----------------------------------------------------------------

    def _neighbour_rows(self, live: np.ndarray) -> np.ndarray:
        """k nearest rows of every live row: exact blocked products for small corpora, faiss
        IVF (inverted lists, 16 probes) beyond; near-duplicates sit very close, so the
        approximate search loses almost none of them."""
        vecs = np.ascontiguousarray(self.vectors_[live])
        k = min(self.k_neighbors + 1, len(live))
        if len(live) <= 20000:
            out = np.zeros((len(live), k), dtype=np.int64)
            for s in range(0, len(live), 2048):
                sims = vecs[s : s + 2048] @ vecs.T
                out[s : s + 2048] = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            return live[out]
        import faiss

        nlist = int(4 * np.sqrt(len(live)))
        quantizer = faiss.IndexFlatIP(vecs.shape[1])
        index = faiss.IndexIVFFlat(quantizer, vecs.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
        sample = np.random.default_rng(0).choice(len(live), min(len(live), 40 * nlist), replace=False)
        index.train(vecs[np.sort(sample)])
        index.add(vecs)
        index.nprobe = 16
        _, found = index.search(vecs, k)
        return live[np.where(found < 0, np.arange(len(live))[:, None], found)]

    def _lexical_pairs(self, max_bucket: int) -> set[tuple[str, str]]:
        """Pairs sharing an LSH bucket in any band; oversized buckets (boilerplate) are skipped."""
        pairs: set[tuple[str, str]] = set()
        for table in self.lsh_.hashtables:
            for key in table.keys():
                members = sorted(table.get(key))
                if 1 < len(members) <= max_bucket:
                    pairs.update((a, b) for i, a in enumerate(members) for b in members[i + 1 :])
        return pairs

    def find_duplicates(self, progress: Progress = _no_progress, with_passages: bool = False,
                        max_bucket: int = 100) -> list[DuplicateMatch]:
        """Every pair of indexed documents the rule calls duplicates (each pair once).

        Semantic neighbours are verified only when author or unit corroborates them, or when
        they are nearly identical: the rule never accepts a pair on embedding similarity
        alone, so the others would be verified for nothing.
        """
        self._check()
        candidates: dict[tuple[str, str], str] = {}
        for members in self.exact_.values():
            ms = sorted(members)
            candidates.update(((a, b), "exact") for i, a in enumerate(ms) for b in ms[i + 1 :])
        for pair in self._lexical_pairs(max_bucket):
            candidates.setdefault(pair, "lexical")
        live = np.array([i for i, x in enumerate(self.ids_) if x is not None])
        rows = self._neighbour_rows(live)
        for src, nbrs in zip(progress(live, "semantic candidates", len(live)), rows):
            a, da = self.ids_[src], self.docs_[self.ids_[src]]
            for r in nbrs:
                b = self.ids_[r]
                if b is None or b == a or (min(a, b), max(a, b)) in candidates:
                    continue
                cos = float(self.vectors_[src] @ self.vectors_[r])
                db = self.docs_[b]
                if cos >= self.min_cosine and (cos >= 0.95 or _same(da.author, db.author) or _same(da.unit, db.unit)):
                    candidates[(min(a, b), max(a, b))] = "semantic"
        return self._decide(candidates, progress, with_passages)

    def _decide(self, candidates: dict[tuple[str, str], str], progress: Progress,
                with_passages: bool, chunk: int = 50000) -> list[DuplicateMatch]:
        """Score candidates in chunks, keeping only the duplicates (bounded memory)."""
        pairs = list(candidates)
        out = []
        for start in progress(range(0, len(pairs), chunk), "verifying candidates", (len(pairs) + chunk - 1) // chunk):
            part = pairs[start : start + chunk]
            evidence = []
            for a, b in part:
                ra = self.row_[a]
                evidence.append(self._evidence(self.docs_[a], self.keys_[ra], self.shingles_[ra], self.vectors_[ra], b))
            for (a, b), ev, s in zip(part, evidence, self.rule.score(evidence)):
                if s >= self.rule.threshold_:
                    passages = overlapping_passages(self.docs_[a].text, self.docs_[b].text)[: self.max_passages] \
                        if with_passages else []
                    out.append(DuplicateMatch(a, b, float(s), True, candidates[(a, b)], ev, passages))
        return out

    # ---- persistence ------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the index to a folder; ``load`` rebuilds exactly the same state."""
        self._check()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        live = [i for i, x in enumerate(self.ids_) if x is not None]
        docs = [asdict(self.docs_[self.ids_[i]]) for i in live]
        (path / "docs.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), "utf-8")
        np.save(path / "vectors.npy", self.vectors_[live] if live else self.vectors_)
        params = {k: getattr(self, k) for k in ("num_perm", "lsh_threshold", "shingle_size",
                                                 "k_neighbors", "min_cosine", "max_passages")}
        (path / "index.json").write_text(json.dumps({"params": params, "rule": self.rule.to_dict()}, indent=2))

    @classmethod
    def load(cls, path: str | Path, embedder) -> NearDuplicateIndex:
        path = Path(path)
        if not (path / "index.json").exists():
            raise FileNotFoundError(f"no duplicate index at {path}")
        meta = json.loads((path / "index.json").read_text())
        index = cls(DuplicateRule.from_dict(meta["rule"]), **meta["params"])
        docs = [IndexedDoc(**json.loads(line)) for line in (path / "docs.jsonl").read_text("utf-8").splitlines() if line]
        vectors = np.load(path / "vectors.npy")
        index.fit([], embedder)
        return index.add(docs, vectors=vectors) if docs else index
