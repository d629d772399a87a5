import json

import pytest

from model.errors import DataError
from model.records import load_records
from model.taxonomy import Taxonomy, load_taxonomy
from training.dataset import DATA, load_all

GOOD = {"id": "x-1", "title": "Máy gieo hạt", "description": "", "unit": "HTX Đông Anh",
        "author": "Lê Văn A", "submitted_at": "2022-05-01", "fields": ["engineering"],
        "primary_field": "engineering", "rewrite_of": None, "near_miss_of": None}


def test_shipped_data_loads_and_covers_every_field():
    taxonomy, records = load_all()
    assert len(records) >= 300
    assert {r.primary_field for r in records} == set(taxonomy.codes)
    assert all(r.text.strip() for r in records)
    assert any(len(r.fields) > 1 for r in records)


def test_taxonomy_has_the_required_fields():
    codes = load_taxonomy(DATA / "taxonomy.json").codes
    for code in ("education", "health", "technology", "engineering", "covid19", "administration", "other"):
        assert code in codes


@pytest.mark.parametrize("change, message", [
    ({"title": "  "}, "empty title"),
    ({"fields": []}, "'fields' is empty"),
    ({"fields": ["cooking"]}, "unknown field codes"),
    ({"submitted_at": "25/11/2022"}, "YYYY-MM-DD"),
    ({"primary_field": "health"}, "primary_field must equal"),
    ({"rewrite_of": "nope"}, "unknown record"),
])
def test_validator_names_the_problem(tmp_path, change, message):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({**GOOD, **change}, ensure_ascii=False) + "\n", encoding="utf-8")
    taxonomy = load_taxonomy(DATA / "taxonomy.json")
    with pytest.raises(DataError, match=message):
        load_records([path], taxonomy)


def test_validator_rejects_missing_keys_and_bad_json(tmp_path):
    taxonomy = load_taxonomy(DATA / "taxonomy.json")
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"id": "a"}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="missing keys"):
        load_records([path], taxonomy)
    path.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(DataError, match="r.jsonl:1: invalid JSON"):
        load_records([path], taxonomy)


def test_validator_rejects_duplicate_ids(tmp_path):
    path = tmp_path / "r.jsonl"
    line = json.dumps(GOOD, ensure_ascii=False)
    path.write_text(f"{line}\n{line}\n", encoding="utf-8")
    with pytest.raises(DataError, match="duplicate record ids"):
        load_records([path], load_taxonomy(DATA / "taxonomy.json"))


def test_taxonomy_rejects_duplicate_codes():
    field = {"code": "a", "name_vi": "A", "definition": "d"}
    with pytest.raises(DataError, match="unique"):
        Taxonomy.from_dict({"version": "1", "fields": [field, field]})
