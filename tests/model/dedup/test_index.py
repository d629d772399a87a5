import pytest

from model.dedup import IndexedDoc, NearDuplicateIndex, group_duplicates
from model.dedup.evidence import overlapping_passages
from model.dedup.shingles import containment, jaccard, shingles
from model.errors import NotFittedError
from training.dataset import load_pairs
from training.dedup import labelled_docs


@pytest.fixture(scope="module")
def docs():
    return {d.id: d for d in labelled_docs()}


@pytest.fixture(scope="module")
def test_pairs():
    return [p for p in load_pairs() if p["split"] == "test"]


@pytest.fixture()
def index(dedup_rule, static_embedder, docs, test_pairs):
    """An index of the test-split documents only."""
    ids = {p["a"] for p in test_pairs} | {p["b"] for p in test_pairs}
    return NearDuplicateIndex(dedup_rule).fit([docs[i] for i in sorted(ids)], static_embedder)


def test_rule_meets_targets_on_held_out_pairs(dedup_rule):
    m = dedup_rule.test_metrics
    assert m["f1"] >= 0.95 and m["precision"] >= 0.97
    for kind in ("reorder", "synonyms", "unit_renamed", "no_diacritics", "nfd", "padding", "truncation"):
        assert m["recall_by_edit"][kind] >= 0.95, kind


def test_query_finds_the_source_of_each_copy(index, docs, test_pairs):
    copies = [p for p in test_pairs if p["label"] == 1 and p["kind"] != "rewrite"]
    hits = 0
    for p in copies:
        copy = docs[p["b"]]
        probe = IndexedDoc("probe", copy.text, copy.unit, copy.author)
        matches = index.query(probe, k=3)
        hits += any(m.b == p["a"] and m.is_duplicate for m in matches)
    assert hits / len(copies) >= 0.95


def test_match_carries_its_evidence(index, docs, test_pairs):
    p = next(p for p in test_pairs if p["kind"] == "no_diacritics")
    match = next(m for m in index.query(IndexedDoc("probe", docs[p["b"]].text), k=3) if m.b == p["a"])
    assert match.is_duplicate and match.stage == "exact"
    assert match.evidence.jaccard > 0.8 and 0 < match.evidence.cos_fast <= 1.0001
    assert match.passages and all(docs[p["a"]].text[x.b_start : x.b_end] for x in match.passages)
    assert set(match.to_dict()) >= {"a", "b", "score", "is_duplicate", "evidence", "passages"}


def test_hard_negatives_are_not_flagged(index, docs, test_pairs):
    negatives = [p for p in test_pairs if p["label"] == 0]
    flagged = sum(
        any(m.b == p["b"] and m.is_duplicate for m in index.query(docs[p["a"]], k=10))
        for p in negatives
    )
    assert flagged / len(negatives) <= 0.03


def test_add_remove_and_replace(index, docs, static_embedder):
    doc = IndexedDoc("new-1", "Lắp đặt cảm biến nhiệt độ cho lò sấy gạch tuynel để tiết kiệm than đá mỗi ca")
    index.add([doc])
    copy = IndexedDoc("probe", "Lap dat cam bien nhiet do cho lo say gach tuynel de tiet kiem than da moi ca")
    assert index.query(copy, k=1)[0].b == "new-1"
    index.remove(["new-1"])
    assert all(m.b != "new-1" for m in index.query(copy, k=5))
    assert "new-1" not in {m.b for m in index.find_duplicates()}


def test_save_and_load_give_the_same_answers(index, docs, static_embedder, tmp_path, test_pairs):
    index.save(tmp_path)
    again = NearDuplicateIndex.load(tmp_path, static_embedder)
    assert len(again) == len(index)
    for p in test_pairs[:15]:
        a = [(m.b, round(m.score, 6)) for m in index.query(docs[p["a"]], k=5)]
        b = [(m.b, round(m.score, 6)) for m in again.query(docs[p["a"]], k=5)]
        assert a == b


def test_whole_corpus_pass_groups_planted_copies(index, test_pairs):
    pairs = index.find_duplicates()
    found = {(min(m.a, m.b), max(m.a, m.b)) for m in pairs}
    truth = {(min(p["a"], p["b"]), max(p["a"], p["b"])) for p in test_pairs if p["label"] == 1}
    assert len(found & truth) / len(truth) >= 0.95
    groups = group_duplicates(list(index.docs_), [(m.a, m.b) for m in pairs])
    assert groups.distinct == len(index) - sum(len(g) - 1 for g in groups.groups)
    assert sum(n * size for size, n in groups.size_histogram().items()) == sum(map(len, groups.groups))


def test_unfitted_index_raises(dedup_rule):
    with pytest.raises(NotFittedError):
        NearDuplicateIndex(dedup_rule).query(IndexedDoc("x", "văn bản"))


@pytest.mark.parametrize("a, b, j, c", [
    ("cải tiến quy trình sản xuất gạch", "cai tien quy trinh san xuat gach", 1.0, 1.0),
    ("cải tiến quy trình sản xuất gạch", "cải tiến quy trình sản xuất gạch men loại mới", 0.625, 1.0),
    ("lắp đặt pin mặt trời", "khám bệnh cho người cao tuổi", 0.0, 0.0),
])
def test_shingle_similarity_table(a, b, j, c):
    sa, sb = shingles(a), shingles(b)
    assert jaccard(sa, sb) == pytest.approx(j)
    assert containment(sa, sb) == pytest.approx(c)


def test_passages_map_back_to_original_spelling():
    a = "Sáng kiến: Lắp đặt hệ thống pin mặt trời trên mái nhà xưởng số 2"
    b = "lap dat he thong pin mat troi tren mai nha xuong cua cong ty"
    (p,) = overlapping_passages(a, b)
    assert a[p.a_start : p.a_end] == p.text == "Lắp đặt hệ thống pin mặt trời trên mái nhà xưởng"
    assert b[p.b_start : p.b_end].startswith("lap dat")
