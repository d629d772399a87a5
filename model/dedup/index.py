"""``NearDuplicateIndex``: find copies and light rewordings among stored initiatives.

A cascade, cheapest first:
1. exact keys: the normalised text (case-folded), and its folded syllables (same text typed
   without diacritics or with other punctuation);
2. lexical: MinHash LSH over folded syllable shingles (datasketch signatures and banding,
   buckets in sorted numpy arrays: ``bands.py``), every candidate verified by exact Jaccard
   and containment;
3. semantic: nearest neighbours on the fast static embeddings (exact up to
   ``exact_search_limit`` records, faiss IVF beyond: ``neighbours.py``);
then one decision rule (``DuplicateRule``) weighs the evidence of each candidate pair.
Whole-corpus passes keep candidates as arrays of row numbers and score them as columns.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
from datasketch import MinHash, MinHashLSH

from model.dedup.bands import BandTables
from model.dedup.evidence import Passage, overlapping_passages
from model.dedup.neighbours import CoarseNeighbours
from model.dedup.rule import DuplicateRule, EvidenceColumns, PairEvidence
from model.dedup.shingles import exact_key, folded_key, match_syllables, shingle_hashes
from model.errors import NotFittedError

Progress = Callable[[Iterable, str, int], Iterable]


def _no_progress(items: Iterable, desc: str, total: int) -> Iterable:
    return items


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


def _codes(values: Iterable[str]) -> np.ndarray:
    """Integer codes such that equal codes >= 0 mean ``_same``; blank values get -1."""
    table: dict[str, int] = {}
    return np.array([table.setdefault(v.strip().casefold(), len(table)) if v.strip() else -1 for v in values],
                    dtype=np.int64)


def _pairs_within(groups: Iterable[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    a, b = [], []
    for g in groups:
        g = sorted(g)
        for i, x in enumerate(g):
            a.extend([x] * (len(g) - i - 1))
            b.extend(g[i + 1 :])
    return np.array(a, dtype=np.int64), np.array(b, dtype=np.int64)


class NearDuplicateIndex:
    """Incremental near-duplicate index; ``fit`` indexes a corpus, ``add``/``remove`` keep it current."""

    def __init__(self, rule: DuplicateRule | None = None, num_perm: int = 128,
                 lsh_threshold: float = 0.3, shingle_size: int = 3, k_neighbors: int = 10,
                 min_cosine: float = 0.8, max_passages: int = 8, exact_search_limit: int = 20000,
                 nprobe: int = 16):
        self.rule = rule
        self.num_perm = num_perm
        self.lsh_threshold = lsh_threshold
        self.shingle_size = shingle_size
        self.k_neighbors = k_neighbors
        self.min_cosine = min_cosine
        self.max_passages = max_passages
        self.exact_search_limit = exact_search_limit
        self.nprobe = nprobe

    # ---- building -------------------------------------------------------------------------

    def fit(self, docs: list[IndexedDoc], embedder, progress: Progress = _no_progress) -> NearDuplicateIndex:
        """Index ``docs`` from scratch with ``embedder`` (a fitted ``StaticEmbedder``)."""
        if self.rule is None:
            raise NotFittedError("NearDuplicateIndex needs a fitted DuplicateRule (see `sangkien train-dedup`)")
        self.embedder_ = embedder
        self.docs_: dict[str, IndexedDoc] = {}
        self.row_: dict[str, int] = {}
        self.ids_: list[str | None] = []
        self._vector_buffer = np.zeros((0, 0), dtype=np.float32)
        self.shingles_: list[np.ndarray] = []
        self.keys_: list[tuple[str, str]] = []
        self.exact_: dict[str, set[str]] = defaultdict(set)
        banding = MinHashLSH(threshold=self.lsh_threshold, num_perm=self.num_perm)  # datasketch's (b, r)
        self.bands_ = BandTables(banding.b, banding.r)
        self.neighbours_: CoarseNeighbours | None = None
        return self.add(docs, progress=progress)

    def _check(self) -> None:
        if not hasattr(self, "bands_"):
            raise NotFittedError("NearDuplicateIndex is not fitted: call fit() or load()")

    @property
    def vectors_(self) -> np.ndarray:
        """Fast embeddings by row (a view of a buffer grown geometrically; removed rows are 0)."""
        return self._vector_buffer[: len(self.ids_)]

    def _features(self, text: str) -> tuple[np.ndarray, tuple[str, str]]:
        """Sorted unique 32-bit hashes of the folded shingles, and the two exact keys."""
        sylls = match_syllables(text)
        return shingle_hashes(sylls, self.shingle_size), (exact_key(text), folded_key(text, sylls))

    def _signatures(self, hash_arrays: list[np.ndarray]) -> np.ndarray:
        """datasketch MinHash values, one row per array (generator: no MinHash is kept)."""
        out = np.zeros((len(hash_arrays), self.num_perm), dtype=np.uint64)
        for i, m in enumerate(MinHash.generator((a.tolist() for a in hash_arrays), num_perm=self.num_perm,
                                                hashfunc=_identity)):
            out[i] = m.hashvalues
        return out

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
        rows = self._insert(docs, np.asarray(vectors, dtype=np.float32), features)
        self._refresh_neighbours(rows)
        return self

    def _grow(self, n_rows: int, dim: int) -> None:
        """Room for ``n_rows`` vectors; the buffer grows by half, so adds cost amortised O(1)."""
        if n_rows > len(self._vector_buffer) or self._vector_buffer.shape[1] != dim:
            cap = max(n_rows, int(len(self._vector_buffer) * 1.5), 64)
            buffer = np.zeros((cap, dim), dtype=np.float32)
            if len(self.ids_):
                buffer[: len(self.ids_)] = self.vectors_
            self._vector_buffer = buffer

    def _insert(self, docs: list[IndexedDoc], vectors: np.ndarray, features: list) -> np.ndarray:
        """Store rows for ``docs`` (exact keys, shingles, vectors, LSH buckets); returns the rows."""
        start = len(self.ids_)
        self._grow(start + len(docs), vectors.shape[1])
        self._vector_buffer[start : start + len(docs)] = vectors
        for i, (doc, (hashes, keys)) in enumerate(zip(docs, features)):
            self.docs_[doc.id], self.row_[doc.id] = doc, start + i
            self.ids_.append(doc.id)
            self.shingles_.append(hashes)
            self.keys_.append(keys)
            for key in keys:
                self.exact_[key].add(doc.id)
        lexical = np.array([i for i, (h, _) in enumerate(features) if len(h)], dtype=np.int64)
        keys = [self.bands_.band_keys(self._signatures([features[i][0] for i in lexical[s : s + 20000]]))
                for s in range(0, len(lexical), 20000)]  # bounded signature memory
        if keys:
            self.bands_.add(np.concatenate(keys), start + lexical)  # one add: at most one re-sort
        return np.arange(start, start + len(docs))

    def _live_rows(self) -> np.ndarray:
        return np.flatnonzero(np.fromiter((x is not None for x in self.ids_), dtype=bool, count=len(self.ids_)))

    def _refresh_neighbours(self, new_rows: np.ndarray) -> None:
        """Past ``exact_search_limit`` records, keep a faiss IVF index current; retrain it when
        the index has grown 4x since training (the cells would be too coarse)."""
        if self.neighbours_ is None and len(self.docs_) <= self.exact_search_limit:
            return
        if self.neighbours_ is None or len(self.docs_) > 4 * self.neighbours_.trained_on_:
            self.neighbours_ = CoarseNeighbours(self.nprobe).fit(self.vectors_, self._live_rows())
        else:
            self.neighbours_.add(self.vectors_, new_rows)

    def remove(self, ids: list[str]) -> NearDuplicateIndex:
        """Forget documents; unknown ids are ignored (their LSH entries stay, filtered as dead rows)."""
        self._check()
        rows = []
        for doc_id in ids:
            doc = self.docs_.pop(doc_id, None)
            if doc is None:
                continue
            row = self.row_.pop(doc_id)
            rows.append(row)
            self.ids_[row] = None
            self._vector_buffer[row] = 0.0
            for key in self.keys_[row]:
                self.exact_[key].discard(doc_id)
                if not self.exact_[key]:
                    del self.exact_[key]
        if self.neighbours_ is not None:
            self.neighbours_.remove(rows)
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

    def _nearest(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(similarities, rows) of the ``k`` nearest stored rows of each vector, best first
        (row -1: no more rows). Exact products while small, the faiss IVF index beyond."""
        if self.neighbours_ is not None:
            top = self.neighbours_.candidates(vectors, 2 * k)  # proposals, re-ranked exactly
            top_sims = np.einsum("ij,ikj->ik", vectors, self.vectors_[np.maximum(top, 0)])
            top_sims[top < 0] = -np.inf
            k = min(k, top.shape[1])
        else:
            k = min(k, len(self.ids_))
            sims = vectors @ self.vectors_.T
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            top_sims = np.take_along_axis(sims, top, axis=1)
        order = np.argsort(-top_sims, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(top_sims, order, axis=1), np.take_along_axis(top, order, axis=1)

    def _candidates(self, doc: IndexedDoc, keys: tuple[str, str], vector: np.ndarray,
                    hashes: np.ndarray) -> dict[str, str]:
        """Candidate ids with the first stage that proposed them."""
        found: dict[str, str] = {}
        for key in keys:
            for other in sorted(self.exact_.get(key, ())):
                found.setdefault(other, "exact")
        if len(hashes):
            for row in np.unique(self.bands_.query(self.bands_.band_keys(self._signatures([hashes]))[0])):
                if self.ids_[row] is not None:
                    found.setdefault(self.ids_[row], "lexical")
        sims, rows = self._nearest(vector[None, :], self.k_neighbors)
        for sim, row in zip(sims[0], rows[0]):
            if row >= 0 and self.ids_[row] is not None and sim >= self.min_cosine:
                found.setdefault(self.ids_[row], "semantic")
        found.pop(doc.id, None)
        return found

    def query(self, doc: IndexedDoc, k: int = 5, only_duplicates: bool = False,
              vector: np.ndarray | None = None) -> list[DuplicateMatch]:
        """The ``k`` most similar stored documents, best first, with evidence and decision."""
        self._check()
        if not self.docs_:
            return []
        vector = self.embedder_.transform([doc.text])[0] if vector is None else vector
        vector = np.asarray(vector, dtype=np.float32)
        sa, keys = self._features(doc.text)
        found = self._candidates(doc, keys, vector, sa)
        ids = list(found)
        evidence = [self._evidence(doc, keys, sa, vector, other) for other in ids]
        scores = self.rule.score(evidence)
        order = np.argsort(-scores, kind="stable")
        out = []
        for j in order if only_duplicates else order[:k]:
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

    def _semantic_pairs(self, live: np.ndarray, authors: np.ndarray, units: np.ndarray, progress: Progress,
                        chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
        """Row pairs of nearest neighbours worth verifying: cosine >= ``min_cosine`` and either
        nearly identical (>= 0.95) or corroborated by author or unit. The rule never accepts a
        pair on embedding similarity alone, so the others would be verified for nothing."""
        out_a, out_b = [], []
        k = min(self.k_neighbors + 1, len(live))
        steps = range(0, len(live), chunk)
        for s in progress(steps, "semantic candidates", len(steps)):
            src = live[s : s + chunk]
            sims, rows = self._nearest(self.vectors_[src], k)
            src = np.repeat(src, k)
            sims, rows = sims.ravel(), rows.ravel()
            ok = (rows >= 0) & (rows != src) & (sims >= self.min_cosine)
            src, sims, rows = src[ok], sims[ok], rows[ok]
            same = ((authors[src] == authors[rows]) & (authors[src] >= 0)) | \
                   ((units[src] == units[rows]) & (units[src] >= 0))
            ok = (sims >= 0.95) | same
            out_a.append(np.minimum(src[ok], rows[ok]))
            out_b.append(np.maximum(src[ok], rows[ok]))
        return np.concatenate(out_a), np.concatenate(out_b)

    def _candidate_pairs(self, max_bucket: int, authors: np.ndarray, units: np.ndarray, progress: Progress
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row pairs (a < b) and the first stage that proposed each (0 exact, 1 lexical, 2 semantic)."""
        live = self._live_rows()
        mask = np.zeros(len(self.ids_), dtype=bool)
        mask[live] = True
        stages = [
            _pairs_within([self.row_[i] for i in members] for members in self.exact_.values() if len(members) > 1),
            self.bands_.pairs(mask, max_bucket),
            self._semantic_pairs(live, authors, units, progress) if len(live) > 1 else (np.zeros(0, np.int64),) * 2,
        ]
        n = len(self.ids_) + 1
        code = np.concatenate([a * n + b for a, b in stages])
        stage = np.concatenate([np.full(len(a), i, dtype=np.int8) for i, (a, _) in enumerate(stages)])
        order = np.lexsort((stage, code))
        code, stage = code[order], stage[order]
        first = np.r_[True, code[1:] != code[:-1]] if len(code) else np.zeros(0, dtype=bool)
        return code[first] // n, code[first] % n, stage[first]

    def _columns(self, ra: np.ndarray, rb: np.ndarray, exact: np.ndarray, authors: np.ndarray,
                 units: np.ndarray, lengths: np.ndarray) -> EvidenceColumns:
        """The evidence of row pairs as columns: same measures as ``_evidence``."""
        inter = np.fromiter((len(np.intersect1d(self.shingles_[a], self.shingles_[b], assume_unique=True))
                             for a, b in zip(ra.tolist(), rb.tolist())), dtype=np.float64, count=len(ra))
        la, lb = lengths[ra], lengths[rb]
        union, small = la + lb - inter, np.minimum(la, lb)
        return EvidenceColumns(
            exact=exact,
            jaccard=np.divide(inter, union, out=np.zeros(len(ra)), where=union > 0),
            containment=np.divide(inter, small, out=np.zeros(len(ra)), where=small > 0),
            cos_fast=np.einsum("ij,ij->i", self.vectors_[ra], self.vectors_[rb]),
            same_author=(authors[ra] == authors[rb]) & (authors[ra] >= 0),
            same_unit=(units[ra] == units[rb]) & (units[ra] >= 0),
            length_ratio=small / np.maximum(np.maximum(la, lb), 1),
        )

    def find_duplicates(self, progress: Progress = _no_progress, with_passages: bool = False,
                        max_bucket: int = 100) -> list[DuplicateMatch]:
        """Every pair of indexed documents the rule calls duplicates (each pair once, ids a < b).

        Candidates: all pairs sharing an exact key, pairs sharing an LSH bucket of at most
        ``max_bucket`` records (bigger ones are boilerplate), corroborated semantic neighbours.
        """
        self._check()
        docs = [self.docs_[i] if i is not None else None for i in self.ids_]
        authors = _codes(d.author if d else "" for d in docs)
        units = _codes(d.unit if d else "" for d in docs)
        ra, rb, stage = self._candidate_pairs(max_bucket, authors, units, progress)
        lengths = np.array([len(s) for s in self.shingles_], dtype=np.float64)
        names = ("exact", "lexical", "semantic")
        out, chunk = [], 50000
        steps = range(0, len(ra), chunk)
        for s in progress(steps, "verifying candidates", len(steps)):
            a, b = ra[s : s + chunk], rb[s : s + chunk]
            columns = self._columns(a, b, stage[s : s + chunk] == 0, authors, units, lengths)
            scores = self.rule.score_columns(columns)
            for j in np.flatnonzero(scores >= self.rule.threshold_):
                x, y = sorted((self.ids_[a[j]], self.ids_[b[j]]))
                passages = overlapping_passages(self.docs_[x].text, self.docs_[y].text)[: self.max_passages] \
                    if with_passages else []
                out.append(DuplicateMatch(x, y, float(scores[j]), True, names[stage[s + j]], columns.row(j), passages))
        return out

    # ---- persistence ------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the index to a folder; ``load`` rebuilds exactly the same state.

        Besides documents and vectors, the projection and faiss cells of ``neighbours_`` are
        saved when the index has them: retraining after a reload could move cells and change
        answers.
        """
        self._check()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        live = self._live_rows()
        docs = [asdict(self.docs_[self.ids_[i]]) for i in live]
        (path / "docs.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), "utf-8")
        np.save(path / "vectors.npy", self.vectors_[live])
        params = {k: getattr(self, k) for k in ("num_perm", "lsh_threshold", "shingle_size", "k_neighbors",
                                                 "min_cosine", "max_passages", "exact_search_limit", "nprobe")}
        meta = {"params": params, "rule": self.rule.to_dict()}
        if self.neighbours_ is not None:
            np.save(path / "projection.npy", self.neighbours_.projection_)
            np.save(path / "centroids.npy", self.neighbours_.centroids_)
            meta["neighbours"] = {"trained_on": self.neighbours_.trained_on_}
        (path / "index.json").write_text(json.dumps(meta, indent=2))

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
        if not docs:
            return index
        rows = index._insert(docs, vectors.astype(np.float32), [index._features(d.text) for d in docs])
        if "neighbours" in meta:
            index.neighbours_ = CoarseNeighbours(index.nprobe)
            index.neighbours_.trained_on_ = meta["neighbours"]["trained_on"]
            index.neighbours_.from_state(np.load(path / "projection.npy"), np.load(path / "centroids.npy"),
                                         index.vectors_, rows)
        else:
            index._refresh_neighbours(rows)
        return index
