"""POST /v1/classify and POST /v1/duplicates: real Vietnamese text, batches, flags."""

from model.normalize import normalize
from api_support import INTAKE, as_payload, assert_error


def test_classify_one_text(client, splits, taxonomy):
    record = next(r for r in splits["train"] if r.primary_field == "health" and r.description)
    r = client.post("/v1/classify", json={"text": record.text})
    assert r.status_code == 200
    body = r.json()
    assert body["model_version"] == "test" and len(body["results"]) == 1
    res = body["results"][0]
    assert res["primary"] == "health" and res["primary_name"] == "Y tế"
    assert res["labels"][0] == res["primary"] and res["label_names"][0] == taxonomy.name(res["primary"])
    assert {f["code"] for f in res["fields"]} == set(taxonomy.codes)
    probs = [f["probability"] for f in res["fields"]]
    assert probs == sorted(probs, reverse=True) and all(0 <= p <= 1 for p in probs)
    assert {f["code"] for f in res["fields"] if f["selected"]} == set(res["labels"])
    assert set(res["explanations"]) <= set(res["labels"])
    assert all(phrase.lower() in record.text.lower() for ps in res["explanations"].values() for phrase in ps)
    assert isinstance(res["needs_review"], bool) and res["model_version"] == "test"


def test_batch_gives_the_same_answers_as_single_texts(client, splits):
    texts = [r.text for r in splits["test"][:4]]
    batch = client.post("/v1/classify", json={"texts": texts}).json()["results"]
    singles = [client.post("/v1/classify", json={"text": t}).json()["results"][0] for t in texts]
    assert len(batch) == 4
    assert [b["labels"] for b in batch] == [s["labels"] for s in singles]
    for b, s in zip(batch, singles):
        assert {f["code"]: f["probability"] for f in b["fields"]} == \
            {f["code"]: f["probability"] for f in s["fields"]}


def test_text_that_is_not_vietnamese_is_answered_but_flagged(client):
    r = client.post("/v1/classify", json={"text": "Improving the onboarding workflow for new staff members"})
    assert r.status_code == 200
    res = r.json()["results"][0]
    assert res["needs_review"] is True and res["review_reason"] == "not_vietnamese"
    assert "Vietnamese" in res["review_message"]


def test_text_without_diacritics_is_still_vietnamese(client, no_diacritics_copy):
    _, copy = no_diacritics_copy
    res = client.post("/v1/classify", json={"text": copy.text}).json()["results"][0]
    assert res["review_reason"] != "not_vietnamese"


def test_batch_over_the_limit_is_refused(app_factory):
    with app_factory(max_batch=3) as c:
        err = assert_error(c.post("/v1/classify", json={"texts": ["Cải tiến quy trình"] * 4}), 413, "batch_too_large")
        assert "3" in err["message"] and "SANGKIEN_MAX_BATCH" in err["message"]
        assert c.post("/v1/classify", json={"texts": ["Cải tiến quy trình tiếp nhận hồ sơ"] * 3}).status_code == 200


def test_one_empty_text_in_a_batch_is_named(client):
    err = assert_error(client.post("/v1/classify", json={"texts": ["Cải tiến quy trình", "!!! 123"]}), 422)
    assert err["details"][0]["loc"] == ["texts", "1"]


def test_duplicates_lookup_finds_the_original_and_stores_nothing(client, no_diacritics_copy):
    original, copy = no_diacritics_copy
    stored = client.post("/v1/initiatives", json=as_payload(original), headers=INTAKE).json()["items"][0]
    r = client.post("/v1/duplicates", json={"text": copy.text, "unit": copy.unit, "author": copy.author})
    assert r.status_code == 200
    body = r.json()
    assert body["query_text"] == normalize(copy.text)
    best = body["matches"][0]
    assert best["id"] == stored["id"] and best["is_duplicate"] and best["decision"] == "duplicate"
    assert best["title"] == original.title and best["evidence"]["jaccard"] > 0.5
    assert 0 < best["evidence"]["cosine"] <= 1.0001 and best["passages"]
    assert client.get("/v1/initiatives").json()["total"] == 1


def test_duplicates_lookup_on_an_empty_store(client):
    r = client.post("/v1/duplicates", json={"text": "Ứng dụng mã QR để quản lý thiết bị dạy học"})
    assert r.status_code == 200 and r.json()["matches"] == []
