"""POST /v1/initiatives/{id}/review, GET /v1/feedback/export, GET /v1/audit."""

import datetime as dt
import json

from api_support import INTAKE, REVIEW, as_payload, assert_error
from training.dataset import idea_groups, load_all
from training.train import load_feedback


def _store(client, payloads):
    r = client.post("/v1/initiatives", json={"items": payloads}, headers=INTAKE)
    assert r.status_code == 201, r.text
    return r.json()["items"]


def _review(client, initiative_id, **body):
    return client.post(f"/v1/initiatives/{initiative_id}/review", json=body, headers=REVIEW)


def test_review_sets_fields_and_keeps_the_feedback(client, splits):
    item = _store(client, [as_payload(splits["test"][0])])[0]
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    r = _review(client, item["id"], reviewer="Nguyễn Thị Lan", fields=["technology", "education"],
                note="Ứng dụng CNTT trong trường học")
    assert r.status_code == 200, r.text
    fb, rec = r.json()["feedback"], r.json()["initiative"]
    assert fb["reviewer"] == "Nguyễn Thị Lan" and fb["fields"] == ["technology", "education"]
    assert dt.datetime.fromisoformat(fb["reviewed_at"]) >= before
    assert rec["fields"] == ["technology", "education"]
    assert rec["field_names"] == ["Công nghệ thông tin, chuyển đổi số", "Giáo dục, đào tạo"]
    assert rec["reviewed"] and not rec["needs_review"]
    assert rec["tags"]["labels"] == item["tags"]["labels"]  # the prediction is kept as it was
    listed = client.get("/v1/initiatives", params={"field": "education"}).json()
    assert item["id"] in {i["id"] for i in listed["items"]}


def test_review_with_an_unknown_field_lists_the_allowed_codes(client, splits, taxonomy):
    item = _store(client, [as_payload(splits["test"][1])])[0]
    err = assert_error(_review(client, item["id"], reviewer="Lan", fields=["technology", "IT"]), 422, "unknown_field")
    assert "IT" in err["message"] and all(code in err["message"] for code in taxonomy.codes)
    assert client.get(f"/v1/initiatives/{item['id']}").json()["reviewed"] is False


def test_review_of_an_unknown_record_is_404(client):
    assert_error(_review(client, 4242, reviewer="Lan", fields=["health"]), 404, "not_found")


def test_review_rules_on_duplicates(client, splits, hard_negative):
    a, b = _store(client, [as_payload(hard_negative[0]), as_payload(hard_negative[1])])
    assert b["duplicate_group"] is None
    joined = _review(client, b["id"], reviewer="Lan", duplicate_of=a["id"]).json()
    assert joined["initiative"]["duplicate_group"] == a["id"] and joined["feedback"]["duplicate_of"] == a["id"]
    assert client.get(f"/v1/initiatives/{a['id']}").json()["duplicate_group"] == a["id"]
    left = _review(client, b["id"], reviewer="Lan", not_duplicate=True).json()
    assert left["initiative"]["duplicate_group"] is None
    assert client.get(f"/v1/initiatives/{a['id']}").json()["duplicate_group"] is None  # a group of one dissolves
    assert_error(_review(client, b["id"], reviewer="Lan", duplicate_of=b["id"]), 422)
    assert_error(_review(client, b["id"], reviewer="Lan", duplicate_of=999), 422)


def test_feedback_export_is_what_training_reads(client, splits, taxonomy, tmp_path):
    items = _store(client, [as_payload(r) for r in splits["test"][2:5]])
    _review(client, items[0]["id"], reviewer="Lan", fields=["health"])
    _review(client, items[1]["id"], reviewer="Minh", fields=["administration", "technology"])
    _review(client, items[2]["id"], reviewer="Minh", not_duplicate=True)  # no fields: not exported
    r = client.get("/v1/feedback/export")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [set(x) for x in lines] == [{"id", "title", "description", "fields"}] * 2
    assert lines[1] == {"id": str(items[1]["id"]), "title": splits["test"][3].title,
                        "description": splits["test"][3].description, "fields": ["administration", "technology"]}
    path = tmp_path / "feedback.jsonl"
    path.write_text(r.text, "utf-8")
    records = load_feedback(str(path), taxonomy.codes)
    assert [rec.fields for rec in records] == [("health",), ("administration", "technology")]


def test_audit_counts_are_consistent(client, splits, no_diacritics_copy, reordered_copy):
    (o1, c1), (o2, c2) = no_diacritics_copy, reordered_copy
    groups = idea_groups(load_all()[1])  # rewrites of one idea are real duplicates: one each
    seen = {groups[o1.id], groups[o2.id]}
    singles = [r for r in splits["test"] if r.description and groups[r.id] not in seen
               and not seen.add(groups[r.id])][:4]
    payloads = [as_payload(o1), as_payload(c1), {**as_payload(c1), "title": c1.title + " (bản 2)"},
                as_payload(o2), as_payload(c2)] + [as_payload(r) for r in singles]
    items = _store(client, payloads)
    audit = client.get("/v1/audit").json()
    assert audit["total"] == len(payloads) == 9
    assert audit["groups_by_size"] == {"2": 1, "3": 1} and audit["duplicate_groups"] == 2
    sizes = [int(k) * v for k, v in audit["groups_by_size"].items()]
    assert audit["total"] == sum(sizes) + audit["singletons"]
    assert audit["distinct"] == audit["total"] - sum((int(k) - 1) * v for k, v in audit["groups_by_size"].items())
    assert audit["distinct"] == 6 and audit["singletons"] == 4 and audit["in_groups"] == 5
    assert sum(f["before"] for f in audit["by_field"]) == audit["total"]
    assert all(f["after"] <= f["before"] for f in audit["by_field"] + audit["by_unit"])
    assert sum(u["before"] for u in audit["by_unit"]) == audit["total"]
    assert audit["needs_review"] == sum(i["needs_review"] for i in items)
    assert audit["needs_review_share"] == round(audit["needs_review"] / 9, 4)
