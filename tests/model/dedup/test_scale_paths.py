"""The fast paths of the index give the answers of the simple ones they replace.

Incremental adds = one fit; LSH buckets in numpy = datasketch's MinHashLSH buckets; the faiss
neighbour search (forced on a small index) = brute force when it probes every cell of the full
space; vectorised whole-corpus evidence = per-pair evidence; save/load keeps the faiss state.
"""

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH

from model.dedup import NearDuplicateIndex
from model.dedup.bands import BandTables
from model.dedup.index import _identity
from model.dedup.neighbours import CoarseNeighbours
from training.dedup import labelled_docs


@pytest.fixture(scope="module")
def corpus():
    """A few hundred labelled documents: originals with their copies and hard negatives."""
    return labelled_docs()[:400]


@pytest.fixture(scope="module")
def vectors(corpus, static_embedder):
    return static_embedder.transform([d.text for d in corpus])


def answers(index, probes, k=5):
    return [[(m.b, m.stage, round(m.score, 6)) for m in index.query(d, k=k)] for d in probes]


def all_pairs(index):
    return sorted((m.a, m.b, m.stage, round(m.score, 6)) for m in index.find_duplicates())


def test_many_adds_equal_one_fit(dedup_rule, static_embedder, corpus, vectors):
    one = NearDuplicateIndex(dedup_rule).fit(corpus, static_embedder)
    many = NearDuplicateIndex(dedup_rule).fit([], static_embedder)
    for s in range(0, len(corpus), 37):  # crosses the LSH tail merges and the vector regrowth
        many.add(corpus[s : s + 37], vectors=vectors[s : s + 37])
    assert np.allclose(one.vectors_, many.vectors_, atol=1e-6)
    assert answers(one, corpus[:40]) == answers(many, corpus[:40])
    assert all_pairs(one) == all_pairs(many)


def test_band_buckets_equal_datasketch_lsh(dedup_rule, static_embedder, corpus, vectors):
    index = NearDuplicateIndex(dedup_rule).fit([], static_embedder)
    for s in range(0, len(corpus), 50):
        index.add(corpus[s : s + 50], vectors=vectors[s : s + 50])
    lsh = MinHashLSH(threshold=index.lsh_threshold, num_perm=index.num_perm)
    minhashes = {}
    for doc_id, hashes in zip(index.ids_, index.shingles_):
        if len(hashes):
            minhashes[doc_id] = MinHash(num_perm=index.num_perm, hashfunc=_identity)
            minhashes[doc_id].update_batch(hashes.tolist())
            lsh.insert(doc_id, minhashes[doc_id])
    for doc_id, m in list(minhashes.items())[:120]:
        keys = index.bands_.band_keys(m.hashvalues[None, :])[0]
        assert {index.ids_[r] for r in index.bands_.query(keys)} == set(lsh.query(m))
    expected = set()
    for table in lsh.hashtables:
        for key in table.keys():
            members = sorted(table.get(key))
            if 1 < len(members) <= 5:
                expected.update((a, b) for i, a in enumerate(members) for b in members[i + 1 :])
    a, b = index.bands_.pairs(np.ones(len(index.ids_), dtype=bool), max_bucket=5)
    assert {tuple(sorted((index.ids_[x], index.ids_[y]))) for x, y in zip(a, b)} == expected


def test_band_tables_skip_dead_rows_and_big_buckets():
    bands = BandTables(bands=2, rows=1)
    keys = bands.band_keys(np.array([[1, 7], [1, 8], [1, 9], [2, 9]], dtype=np.uint32))
    bands.add(keys, np.arange(4))
    live = np.array([True, True, True, True])
    assert sorted(zip(*bands.pairs(live, max_bucket=3))) == [(0, 1), (0, 2), (1, 2), (2, 3)]
    assert sorted(zip(*bands.pairs(live, max_bucket=2))) == [(2, 3)]
    live[2] = False
    assert sorted(zip(*bands.pairs(live, max_bucket=2))) == [(0, 1)]


def test_ivf_probing_everything_equals_brute_force(vectors):
    rows = np.arange(len(vectors))
    ann = CoarseNeighbours(nprobe=10_000, dim=vectors.shape[1]).fit(vectors, rows)
    found = ann.candidates(vectors[:50], 5)
    exact = np.argsort(-(vectors[:50] @ vectors.T), axis=1, kind="stable")[:, :5]
    sims = vectors[:50] @ vectors.T
    for q in range(50):  # equal up to ties in similarity
        assert np.allclose(np.sort(sims[q, found[q]]), np.sort(sims[q, exact[q]]), atol=1e-5)


def test_query_with_faiss_finds_what_brute_force_finds(dedup_rule, static_embedder, corpus, vectors):
    exact = NearDuplicateIndex(dedup_rule).fit([], static_embedder).add(corpus, vectors=vectors)
    approx = NearDuplicateIndex(dedup_rule, exact_search_limit=50).fit([], static_embedder).add(corpus, vectors=vectors)
    assert exact.neighbours_ is None and approx.neighbours_ is not None
    dup = lambda index, d: {m.b for m in index.query(d, k=10, only_duplicates=True)}  # noqa: E731
    agree = [dup(exact, d) == dup(approx, d) for d in corpus[:100]]
    assert np.mean(agree) >= 0.95


def test_vectorised_evidence_equals_pair_evidence(dedup_rule, static_embedder, corpus, vectors):
    index = NearDuplicateIndex(dedup_rule).fit(corpus, static_embedder)
    matches = index.find_duplicates()
    assert matches
    for m in matches[:200]:
        ev = index.pair_evidence(m.a, m.b)
        assert ev.exact == m.evidence.exact and ev.same_author == m.evidence.same_author
        assert ev.same_unit == m.evidence.same_unit
        for name in ("jaccard", "containment", "cos_fast", "length_ratio"):
            assert getattr(ev, name) == pytest.approx(getattr(m.evidence, name), abs=1e-5)
        assert dedup_rule.score([ev])[0] == pytest.approx(m.score, abs=1e-5)


def test_save_and_load_keep_the_faiss_state(dedup_rule, static_embedder, corpus, vectors, tmp_path):
    index = NearDuplicateIndex(dedup_rule, exact_search_limit=50).fit([], static_embedder)
    index.add(corpus, vectors=vectors).remove([corpus[3].id, corpus[10].id])
    index.save(tmp_path)
    again = NearDuplicateIndex.load(tmp_path, static_embedder)
    assert again.neighbours_ is not None and len(again) == len(index)
    assert np.array_equal(again.neighbours_.centroids_, index.neighbours_.centroids_)
    assert answers(index, corpus[:40]) == answers(again, corpus[:40])
    assert all_pairs(index) == all_pairs(again)
