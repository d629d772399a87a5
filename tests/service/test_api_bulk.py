"""``service.bulk.bulk_load``: an initial import the API then serves like any intake."""

import pytest
from fastapi.testclient import TestClient

from api_support import INTAKE, as_payload, make_settings
from service.app import create_app
from service.bulk import bulk_load
from service.engine import Submission
from service.store import Store
from training.dataset import idea_groups, load_all


def _sub(r, ext):
    return Submission(r.title, r.description, r.unit, r.author, r.submitted_at, ext)


def test_bulk_load_groups_copies_and_the_api_serves_them(models, db_path, no_diacritics_copy, splits):
    original, copy = no_diacritics_copy
    groups = idea_groups(load_all()[1])
    seen = {groups[original.id]}
    others = [r for r in splits["train"] if r.description and groups[r.id] not in seen
              and not seen.add(groups[r.id])][:20]
    store = Store(f"sqlite:///{db_path}")
    report = bulk_load(store, models, [_sub(original, "b-0"), *[_sub(r, f"b-{i + 1}") for i, r in enumerate(others)],
                                       _sub(copy, "b-copy")])
    assert (report.records, report.duplicate_groups, report.distinct) == (22, 1, 21)
    with pytest.raises(ValueError, match="empty store"):
        bulk_load(store, models, [_sub(original, "again")])
    store.close()
    with TestClient(create_app(make_settings(db_path), models=models)) as c:
        audit = c.get("/v1/audit").json()
        assert audit["total"] == 22 and audit["groups_by_size"] == {"2": 1} and audit["distinct"] == 21
        copy_rec = next(i for i in c.get("/v1/initiatives", params={"limit": 50}).json()["items"]
                        if i["external_id"] == "b-copy")
        assert copy_rec["duplicate_group"] == 1 and copy_rec["duplicates"][0]["id"] == 1
        assert copy_rec["duplicates"][0]["is_duplicate"] and copy_rec["fields"]
        again = c.post("/v1/initiatives", json=as_payload(copy, "b-copy"), headers=INTAKE)
        assert again.status_code == 200 and again.json()["items"][0]["id"] == copy_rec["id"]
        new = c.post("/v1/initiatives", json={**as_payload(copy), "unit": "Đơn vị khác"}, headers=INTAKE).json()
        assert new["items"][0]["duplicate_group"] == 1
