import random
from collections import Counter

import pytest

from model.normalize import normalize
from model.errors import DataError
from model.records import Record
from training.dataset import (check_readings, load_all, load_copies, load_pairs, load_readings,
                              load_splits, readings_result)
from training.variants import TEXT_EDITS, reorder, sentences, truncate


@pytest.fixture(scope="module")
def data():
    _, records = load_all()
    return records, load_splits(), load_copies(), load_pairs()


def test_every_record_has_a_split_and_groups_never_cross(data):
    records, splits, _, _ = data
    assert {r.id for r in records} == set(splits)
    for r in records:
        for link in (r.rewrite_of, r.near_miss_of):
            if link:
                assert splits[r.id] == splits[link], (r.id, link)
    sizes = Counter(splits.values())
    assert sizes["train"] > sizes["dev"] > 0 and sizes["test"] > 0


def test_pairs_stay_inside_one_split(data):
    _, splits, copies, pairs = data
    source = {c.id: c.extra["source_id"] for c in copies}
    for p in pairs:
        a, b = (source.get(x, x) for x in (p["a"], p["b"]))
        assert splits[a] == splits[b] == p["split"]


def test_pairs_cover_each_edit_kind_and_hard_negatives(data):
    _, _, _, pairs = data
    kinds = Counter((p["label"], p["kind"]) for p in pairs)
    for kind in ("reorder", "synonyms", "unit_renamed", "no_diacritics", "nfd", "padding",
                 "truncation", "rewrite"):
        assert kinds[(1, kind)] >= 10, kind
    assert kinds[(0, "near_miss")] >= 10 and kinds[(0, "nearest_same_field")] >= 50


def test_copies_differ_from_their_source_but_keep_its_fields(data):
    records, _, copies, _ = data
    by_id = {r.id: r for r in records}
    for c in copies:
        src = by_id[c.extra["source_id"]]
        assert c.fields == src.fields
        if c.extra["edit"] not in ("nfd", "tone_style", "legacy_tcvn3", "unit_renamed", "author_twin"):
            assert c.text != src.text or not src.description, c.id


def test_author_twins_are_other_ideas_under_the_same_name(data):
    records, _, copies, pairs = data
    by_id = {r.id: r for r in records}
    twins = [c for c in copies if c.extra["edit"] == "author_twin"]
    assert len(twins) >= 50
    for t in twins:
        owner = by_id[t.id.split("-as-")[1]]
        assert (t.author, t.unit) == (owner.author, owner.unit)
        assert t.text == by_id[t.extra["source_id"]].text != owner.text
    labels = {(p["a"], p["b"]): p["label"] for p in pairs}
    assert all(labels[(t.id.split("-as-")[1], t.id)] == 0 for t in twins)


@pytest.mark.parametrize("kind", ["nfd", "tone_style", "legacy_tcvn3"])
def test_encoding_copies_normalise_back_to_the_source(kind):
    text = "Cải tiến quy trình hòa giải ở cơ sở, thủy lợi nội đồng được khơi thông."
    copy = TEXT_EDITS[kind](text, random.Random(0))
    assert copy != text and normalize(copy) == normalize(text)


def test_reorder_and_truncate_keep_the_sentences():
    text = "Thực trạng: máy hay hỏng. Giải pháp: thay ổ bi. Hiệu quả: giảm 20% thời gian dừng máy."
    shuffled = reorder(text, random.Random(1))
    assert shuffled != text and sorted(sentences(shuffled)) == sorted(sentences(text))
    assert sentences(truncate(text, random.Random(1))) == sentences(text)[:-1]


CODES = ("education", "health", "technology")


def _record(fields: tuple[str, ...]) -> Record:
    return Record(id="r1", title="Sáng kiến", description="", fields=fields)


@pytest.mark.parametrize("row, fields, problem", [
    ({"id": "r1", "writer": ["health"], "second": ["health"]}, ("health",), None),
    ({"id": "r1", "writer": ["health"], "second": ["education"], "adjudicated": ["education"]},
     ("education",), None),
    ({"id": "r1", "writer": ["health"], "second": ["health"], "adjudicated": ["education"]},
     ("education",), None),
    ({"id": "r1", "writer": ["health"], "second": ["education"]}, ("health",), "no 'adjudicated'"),
    ({"id": "r1", "writer": ["health"], "second": ["health"]}, ("education",), "settle on"),
    ({"id": "r1", "writer": ["health", "technology"], "second": ["technology", "health"],
      "adjudicated": ["technology", "health"]}, ("health", "technology"), "settle on"),
    ({"id": "r1", "writer": ["health"], "second": ["covid"], "adjudicated": ["health"]},
     ("health",), "not in"),
    ({"id": "zz", "writer": ["health"], "second": ["health"]}, ("health",), "not a record"),
])
def test_check_readings(row, fields, problem):
    readings = {row["id"]: row}
    if problem is None:
        check_readings([_record(fields)], readings, CODES)
        assert readings_result(row) == list(fields)
    else:
        with pytest.raises(DataError, match=problem):
            check_readings([_record(fields)], readings, CODES)


def test_every_record_was_read_twice_and_carries_the_readings_result(data, taxonomy):
    records = data[0]
    readings = load_readings()
    assert set(readings) == {r.id for r in records}
    check_readings(records, readings, taxonomy.codes)


def test_rewrites_carry_the_fields_of_the_initiative_they_resubmit(data):
    records = data[0]
    by_id = {r.id: r for r in records}
    for r in records:
        if r.rewrite_of:
            assert r.fields == by_id[r.rewrite_of].fields, (r.id, r.rewrite_of)
