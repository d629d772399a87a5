"""The service's live duplicate index: main + recent tiers give the same answers as one index,
and concurrent readers never see a half-done write."""

import threading

import pytest

from model.dedup import IndexedDoc, NearDuplicateIndex
from service.dupindex import LiveIndex, ReadWriteLock
from training.dataset import load_pairs
from training.dedup import labelled_docs


@pytest.fixture(scope="module")
def docs() -> list[IndexedDoc]:
    """Originals and their copies from the test pairs: plenty of true duplicates."""
    by_id = {d.id: d for d in labelled_docs()}
    ids = sorted({x for p in load_pairs() if p["split"] == "test" for x in (p["a"], p["b"])})
    return [by_id[i] for i in ids[:80]]


def _answers(index_query, docs):
    return [[(m.b, round(m.score, 5), m.is_duplicate) for m in index_query(d)] for d in docs]


def test_tiers_answer_like_one_index(docs, dedup_rule, static_embedder):
    live = LiveIndex(dedup_rule, static_embedder, merge_every=7)
    live.rebuild(docs[:20])
    for start in range(20, len(docs), 3):  # small adds: several merges, some docs left in recent
        chunk = docs[start : start + 3]
        live.add(chunk, static_embedder.transform([d.text for d in chunk]))
    whole = NearDuplicateIndex(dedup_rule).fit(docs, static_embedder)
    probes = [IndexedDoc(f"probe-{d.id}", d.text, d.unit, d.author) for d in docs[::4]]
    vectors = static_embedder.transform([p.text for p in probes])
    vec = {p.id: v for p, v in zip(probes, vectors)}
    assert len(live) == len(docs)
    got = _answers(lambda p: live.query(p, vec[p.id], 5), probes)
    want = _answers(lambda p: whole.query(p, k=5, vector=vec[p.id]), probes)
    for g, w in zip(got, want):  # same scores and decisions; ids equal except ties at the cut
        assert [(s, d) for _, s, d in g] == [(s, d) for _, s, d in w]
        cut = g[-1][1] if g else 0
        assert {i for i, s, _ in g if s > cut} == {i for i, s, _ in w if s > cut}
    assert any(dup for answer in got for _, _, dup in answer)


def test_readers_never_see_a_half_done_write(docs, dedup_rule, static_embedder):
    live = LiveIndex(dedup_rule, static_embedder, merge_every=4)
    live.rebuild(docs[:10])
    vectors = static_embedder.transform([d.text for d in docs])
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                for i in range(0, len(docs), 9):
                    live.query(IndexedDoc("probe", docs[i].text), vectors[i], 3)
        except BaseException as exc:  # any failure under concurrency is the bug
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    for i in range(10, len(docs)):
        live.add([docs[i]], vectors[i : i + 1])
    stop.set()
    for t in readers:
        t.join()
    assert errors == []
    for i in range(0, len(docs), 7):  # every record is findable as an exact copy of itself
        best = live.query(IndexedDoc("probe", docs[i].text), vectors[i], 1)[0]
        assert best.score == 1.0 and best.evidence.exact


def test_a_writer_waits_for_readers_and_blocks_new_ones():
    lock = ReadWriteLock()
    order: list[str] = []
    reading, writer_waiting = threading.Event(), threading.Event()

    def writer() -> None:
        writer_waiting.set()
        with lock.write():
            order.append("write")

    with lock.read():
        reading.set()
        t = threading.Thread(target=writer)
        t.start()
        writer_waiting.wait()
        order.append("read done")
    t.join()
    with lock.read():
        order.append("read after")
    assert order == ["read done", "write", "read after"]
