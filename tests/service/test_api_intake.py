"""POST /v1/initiatives and the reads of stored records: idempotency, atomicity, duplicates."""

from model.normalize import fold_diacritics
from api_support import INTAKE, as_payload, assert_error


def _intake(client, payload, status=201):
    r = client.post("/v1/initiatives", json=payload, headers=INTAKE)
    assert r.status_code == status, r.text
    return r.json()


def _total(client) -> int:
    return client.get("/v1/initiatives").json()["total"]


def test_intake_stores_the_record_with_its_tags(client, splits):
    record = splits["test"][0]
    r = client.post("/v1/initiatives", json=as_payload(record, "portal-1"), headers=INTAKE)
    assert r.status_code == 201
    body = r.json()
    assert body["created"] == 1 and body["existing"] == 0
    item = body["items"][0]
    assert r.headers["location"] == f"/v1/initiatives/{item['id']}"
    assert item["created"] and item["external_id"] == "portal-1" and item["title"] == record.title
    assert item["fields"] == item["tags"]["labels"] and item["fields"]
    assert item["tags"]["model_version"] == "test" and item["duplicates"] == []
    got = client.get(f"/v1/initiatives/{item['id']}").json()
    assert {k: v for k, v in got.items()} == {k: v for k, v in item.items() if k != "created"}


def test_retry_with_the_same_external_id_returns_the_same_record(client, splits):
    payload = as_payload(splits["test"][1], "portal-2")
    first = _intake(client, payload)["items"][0]
    again = _intake(client, payload, status=200)
    assert again["created"] == 0 and again["existing"] == 1
    assert again["items"][0]["id"] == first["id"] and again["items"][0]["created"] is False
    assert _total(client) == 1


def test_same_external_id_with_other_content_is_a_conflict(client, splits):
    _intake(client, as_payload(splits["test"][2], "portal-3"))
    changed = {**as_payload(splits["test"][2], "portal-3"), "description": "Một mô tả hoàn toàn khác."}
    err = assert_error(client.post("/v1/initiatives", json=changed, headers=INTAKE), 409, "external_id_conflict")
    assert "portal-3" in err["message"] and "description" in err["message"]
    assert err["details"][0]["different_fields"] == ["description"]
    assert _total(client) == 1


def test_a_batch_with_one_bad_item_stores_nothing(client, splits):
    good = [as_payload(r, f"b-{i}") for i, r in enumerate(splits["test"][3:6])]
    bad = {"title": "1. ... !!!", "external_id": "b-bad"}  # nothing left after normalisation
    err = assert_error(client.post("/v1/initiatives", json={"items": [*good, bad]}, headers=INTAKE), 422)
    assert err["details"][0]["loc"] == ["items", "3"]
    assert _total(client) == 0
    body = _intake(client, {"items": good})
    assert body["created"] == 3 and _total(client) == 3


def test_a_batch_with_a_conflict_stores_nothing(client, splits):
    _intake(client, as_payload(splits["test"][6], "c-1"))
    batch = [as_payload(splits["test"][7], "c-2"), {**as_payload(splits["test"][8]), "external_id": "c-1"}]
    assert_error(client.post("/v1/initiatives", json={"items": batch}, headers=INTAKE), 409)
    assert _total(client) == 1


def test_a_batch_retry_mixes_created_and_existing(client, splits):
    first = as_payload(splits["test"][9], "m-1")
    _intake(client, first)
    body = _intake(client, {"items": [first, as_payload(splits["test"][10], "m-2")]})
    assert [i["created"] for i in body["items"]] == [False, True]
    assert body["created"] == 1 and body["existing"] == 1 and _total(client) == 2


def test_a_copy_without_diacritics_is_flagged_with_evidence(client, no_diacritics_copy):
    original, copy = no_diacritics_copy
    a = _intake(client, as_payload(original))["items"][0]
    b = _intake(client, as_payload(copy))["items"][0]
    match = b["duplicates"][0]
    assert match["id"] == a["id"] and match["is_duplicate"] and match["title"] == original.title
    ev = match["evidence"]
    assert ev["jaccard"] > 0.8 and ev["containment"] > 0.8 and 0 < ev["cosine"] <= 1.0001
    assert match["passages"]
    for p in match["passages"]:  # spans point at the same words in both normalised texts
        q, s = b["text"][p["query_start"]:p["query_end"]], a["text"][p["stored_start"]:p["stored_end"]]
        assert q == p["text"] and fold_diacritics(q).lower() == fold_diacritics(s).lower()
    assert b["duplicate_group"] == a["id"]
    assert client.get(f"/v1/initiatives/{a['id']}").json()["duplicate_group"] == a["id"]


def test_a_copy_with_sentences_reordered_is_flagged(client, reordered_copy):
    original, copy = reordered_copy
    a = _intake(client, as_payload(original))["items"][0]
    b = _intake(client, as_payload(copy))["items"][0]
    assert b["duplicates"][0]["id"] == a["id"] and b["duplicates"][0]["is_duplicate"]
    assert b["duplicate_group"] == a["id"]


def test_a_hard_negative_is_not_flagged(client, hard_negative):
    first, second = hard_negative
    a = _intake(client, as_payload(first))["items"][0]
    b = _intake(client, as_payload(second))["items"][0]
    assert not any(m["id"] == a["id"] and m["is_duplicate"] for m in b["duplicates"])
    assert b["duplicate_group"] is None and _total(client) == 2


def test_copies_in_one_batch_find_each_other(client, no_diacritics_copy):
    original, copy = no_diacritics_copy
    body = _intake(client, {"items": [as_payload(original), as_payload(copy)]})
    a, b = body["items"]
    assert b["duplicates"][0]["id"] == a["id"] and b["duplicates"][0]["is_duplicate"]
    assert a["duplicate_group"] == b["duplicate_group"] == a["id"]


def test_three_copies_join_one_group(client, no_diacritics_copy, reordered_copy):
    original, copy = no_diacritics_copy
    a = _intake(client, as_payload(original))["items"][0]
    _intake(client, as_payload(reordered_copy[0]))
    b = _intake(client, as_payload(copy))["items"][0]
    c = _intake(client, {**as_payload(copy), "title": copy.title + " (nộp lại)"})["items"][0]
    assert a["id"] == b["duplicate_group"] == c["duplicate_group"]
    page = client.get("/v1/initiatives", params={"group": a["id"]}).json()
    assert page["total"] == 3 and {i["id"] for i in page["items"]} == {a["id"], b["id"], c["id"]}


def test_similar_lists_the_copy_of_a_stored_record(client, no_diacritics_copy, splits):
    original, copy = no_diacritics_copy
    a = _intake(client, as_payload(original))["items"][0]
    other = next(r for r in splits["test"] if r.id != original.id and r.description)  # a distractor
    _intake(client, as_payload(other))
    b = _intake(client, as_payload(copy))["items"][0]
    similar = client.get(f"/v1/initiatives/{a['id']}/similar", params={"k": 3}).json()
    assert similar[0]["id"] == b["id"] and similar[0]["is_duplicate"]
    assert all(m["id"] != a["id"] for m in similar)
    assert_error(client.get("/v1/initiatives/999/similar"), 404, "not_found")


def test_list_filters_and_pages(client, splits):
    recs = [r for r in splits["test"] if r.description][:6]
    _intake(client, {"items": [as_payload(r) for r in recs]})
    page = client.get("/v1/initiatives", params={"limit": 4, "offset": 0}).json()
    rest = client.get("/v1/initiatives", params={"limit": 4, "offset": 4}).json()
    assert page["total"] == rest["total"] == 6 and len(page["items"]) == 4 and len(rest["items"]) == 2
    assert len({i["id"] for i in page["items"] + rest["items"]}) == 6
    field = page["items"][0]["fields"][0]
    by_field = client.get("/v1/initiatives", params={"field": field}).json()
    assert by_field["total"] >= 1 and all(field in i["fields"] for i in by_field["items"])
    flagged = client.get("/v1/initiatives", params={"needs_review": True}).json()
    assert all(i["needs_review"] for i in flagged["items"])
    assert flagged["total"] + client.get("/v1/initiatives", params={"needs_review": False}).json()["total"] == 6
    unit = recs[0].unit
    assert all(i["unit"] == unit for i in client.get("/v1/initiatives", params={"unit": unit}).json()["items"])
    assert_error(client.get("/v1/initiatives", params={"field": "nope"}), 422, "unknown_field")


def test_text_that_is_not_vietnamese_is_stored_and_flagged(client):
    item = _intake(client, {"title": "Improving the onboarding workflow",
                            "description": "New staff members get a checklist and a mentor for two weeks."})["items"][0]
    assert item["needs_review"] and item["tags"]["review_reason"] == "not_vietnamese"
    assert client.get("/v1/initiatives", params={"needs_review": True}).json()["total"] == 1
