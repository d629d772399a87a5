"""``NearDuplicateIndex``: find copies and light rewordings among stored initiatives.

A cascade, cheapest first:
1. exact keys: the normalised text (case-folded), and its folded syllables (same text typed
   without diacritics or with other punctuation);
2. lexical: MinHash LSH (datasketch) over folded syllable shingles, every candidate verified
   by exact Jaccard and containment;
3. semantic: nearest neighbours on the fast static embeddings (exact for single queries,
   usearch HNSW for whole-corpus passes);
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
from model.dedup.shingles import exact_key, folded_key, shingles
from model.errors import NotFittedError

Progress = Callable[[Iterable, str, int], Iterable]


def _no_progress(items: Iterable, desc: str, total: int) -> Iterable:
    return items


def _crc32(b: bytes) -> int:
    return zlib.crc32(b)


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
        self.signatures_: list[np.ndarray] = []
        self.exact_: dict[str, set[str]] = defaultdict(set)
        self.lsh_ = MinHashLSH(threshold=self.lsh_threshold, num_perm=self.num_perm)
        return self.add(docs, progress=progress)

    def _check(self) -> None:
        if not hasattr(self, "lsh_"):
            raise NotFittedError("NearDuplicateIndex is not fitted: call fit() or load()")

    def _hashed_shingles(self, text: str) -> list[bytes]:
        return [s.encode() for s in shingles(text, self.shingle_size)]

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
        shingle_lists = [self._hashed_shingles(d.text) for d in progress(docs, "shingling", len(docs))]
        minhashes = MinHash.bulk(shingle_lists, num_perm=self.num_perm, hashfunc=_crc32)
        start = len(self.ids_)
        self.vectors_ = vectors.astype(np.float32) if start == 0 else np.vstack([self.vectors_, vectors])
        with self.lsh_.insertion_session() as session:
            for i, (doc, sh, mh) in enumerate(zip(docs, shingle_lists, minhashes)):
                row = start + i
                self.docs_[doc.id], self.row_[doc.id] = doc, row
                self.ids_.append(doc.id)
                self.shingles_.append(np.unique(np.array([_crc32(s) for s in sh], dtype=np.uint32)))
                self.signatures_.append(mh.hashvalues.astype(np.uint64))
                for key in (exact_key(doc.text), folded_key(doc.text)):
                    self.exact_[key].add(doc.id)
                if sh:
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
            for key in (exact_key(doc.text), folded_key(doc.text)):
                self.exact_[key].discard(doc_id)
            if self.lsh_.keys.has_key(doc_id):
                self.lsh_.remove(doc_id)
        return self

    def __len__(self) -> int:
        return len(self.docs_) if hasattr(self, "docs_") else 0

    # ---- evidence -------------------------------------------------------------------------

    def _evidence(self, a: IndexedDoc, sa: np.ndarray, va: np.ndarray, b_id: str) -> PairEvidence:
        b, row = self.docs_[b_id], self.row_[b_id]
        sb = self.shingles_[row]
        inter = len(np.intersect1d(sa, sb, assume_unique=True))
        union = len(sa) + len(sb) - inter
        return PairEvidence(
            exact=exact_key(a.text) == exact_key(b.text) or folded_key(a.text) == folded_key(b.text),
            jaccard=inter / union if union else 0.0,
            containment=inter / min(len(sa), len(sb)) if len(sa) and len(sb) else 0.0,
            cos_fast=float(np.dot(va, self.vectors_[row])),
            same_author=_same(a.author, b.author), same_unit=_same(a.unit, b.unit),
            length_ratio=min(len(sa), len(sb)) / max(len(sa), len(sb), 1),
        )

    def _candidates(self, doc: IndexedDoc, vector: np.ndarray, minhash: MinHash) -> dict[str, str]:
        """Candidate ids with the first stage that proposed them."""
        found: dict[str, str] = {}
        for key in (exact_key(doc.text), folded_key(doc.text)):
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
        sh = self._hashed_shingles(doc.text)
        mh = MinHash(num_perm=self.num_perm, hashfunc=_crc32)
        mh.update_batch(sh)
        sa = np.unique(np.array([_crc32(s) for s in sh], dtype=np.uint32))
        found = self._candidates(doc, vector, mh)
        ids = list(found)
        evidence = [self._evidence(doc, sa, vector, other) for other in ids]
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
        return self._evidence(self.docs_[a_id], self.shingles_[row], self.vectors_[row], b_id)

    # ---- whole-corpus pass -----------------------------------------------------------------

    def _neighbour_rows(self, progress: Progress) -> np.ndarray:
        """k nearest rows of every live row: exact for small corpora, usearch HNSW beyond."""
        live = np.array([i for i, x in enumerate(self.ids_) if x is not None])
        vecs = self.vectors_[live]
        k = min(self.k_neighbors + 1, len(live))
        if len(live) <= 20000:
            out = np.zeros((len(live), k), dtype=np.int64)
            for s in progress(range(0, len(live), 2048), "neighbours", (len(live) + 2047) // 2048):
                sims = vecs[s : s + 2048] @ vecs.T
                out[s : s + 2048] = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            return live[out]
        from usearch.index import Index

        index = Index(ndim=vecs.shape[1], metric="ip", dtype="f16", connectivity=16,
                      expansion_add=64, expansion_search=64)
        index.add(np.arange(len(live)), vecs, threads=0)
        matches = index.search(vecs, k, threads=0)
        return live[np.asarray(matches.keys, dtype=np.int64).clip(0, len(live) - 1)]

    def find_duplicates(self, progress: Progress = _no_progress, with_passages: bool = False) -> list[DuplicateMatch]:
        """Every pair of indexed documents the rule calls duplicates (each pair once)."""
        self._check()
        candidates: dict[tuple[str, str], str] = {}
        for members in self.exact_.values():
            ms = sorted(members)
            for i in range(len(ms)):
                for j in range(i + 1, len(ms)):
                    candidates[(ms[i], ms[j])] = "exact"
        for doc_id in progress(list(self.docs_), "lexical candidates", len(self.docs_)):
            lean = LeanMinHash(seed=1, hashvalues=self.signatures_[self.row_[doc_id]])
            for other in self.lsh_.query(lean):
                if other != doc_id:
                    candidates.setdefault((min(doc_id, other), max(doc_id, other)), "lexical")
        rows = self._neighbour_rows(progress)
        live = [i for i, x in enumerate(self.ids_) if x is not None]
        for src, nbrs in zip(live, rows):
            a = self.ids_[src]
            for r in nbrs:
                b = self.ids_[r]
                if b is not None and b != a and float(self.vectors_[src] @ self.vectors_[r]) >= self.min_cosine:
                    candidates.setdefault((min(a, b), max(a, b)), "semantic")
        return self._decide(candidates, progress, with_passages)

    def _decide(self, candidates: dict[tuple[str, str], str], progress: Progress,
                with_passages: bool) -> list[DuplicateMatch]:
        pairs = list(candidates)
        evidence = []
        for a, b in progress(pairs, "verifying candidates", len(pairs)):
            ra = self.row_[a]
            evidence.append(self._evidence(self.docs_[a], self.shingles_[ra], self.vectors_[ra], b))
        scores = self.rule.score(evidence)
        out = []
        for (a, b), ev, s in zip(pairs, evidence, scores):
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
