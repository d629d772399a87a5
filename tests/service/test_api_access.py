"""API keys, health, metrics, persistence across a restart, and the start-up checks."""

import json
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from api_support import INTAKE, INTAKE_KEY, REVIEW, REVIEW_KEY, as_payload, assert_error, make_settings
from model.embed import has_diacritics
from service.app import create_app

ROOT = Path(__file__).resolve().parents[2]
RECORD = {"title": "Số hóa sổ hộ tịch phục vụ cấp bản sao trích lục",
          "description": "Scan 46 quyển sổ hộ tịch, tra cứu theo tên và năm đăng ký trên máy tính."}


def test_intake_without_a_key_is_401(client):
    err = assert_error(client.post("/v1/initiatives", json=RECORD), 401, "api_key_missing")
    assert "X-API-Key" in err["message"]


def test_intake_with_a_wrong_key_is_403(client):
    err = assert_error(client.post("/v1/initiatives", json=RECORD, headers={"X-API-Key": "guess"}), 403)
    assert err["code"] == "api_key_invalid"


def test_reviewer_key_cannot_store_and_intake_key_cannot_review(client):
    err = assert_error(client.post("/v1/initiatives", json=RECORD, headers=REVIEW), 403, "wrong_role")
    assert "reviewer key" in err["message"] and "intake key" in err["message"]
    item = client.post("/v1/initiatives", json=RECORD, headers=INTAKE).json()["items"][0]
    review = {"reviewer": "Lan", "fields": ["administration"]}
    assert_error(client.post(f"/v1/initiatives/{item['id']}/review", json=review, headers=INTAKE), 403, "wrong_role")
    assert_error(client.post(f"/v1/initiatives/{item['id']}/review", json=review), 401)
    assert client.get("/v1/initiatives").json()["total"] == 1


def test_writes_are_off_when_no_keys_are_configured(app_factory):
    with app_factory(intake_keys=[]) as c:
        err = assert_error(c.post("/v1/initiatives", json=RECORD, headers=INTAKE), 403, "role_not_configured")
        assert "SANGKIEN_INTAKE_KEYS" in err["message"]


def test_read_keys_close_the_reads(app_factory):
    with app_factory(read_keys=["reader"]) as c:
        assert_error(c.get("/v1/initiatives"), 401)
        assert_error(c.post("/v1/classify", json={"text": RECORD["title"]}), 401)
        assert_error(c.get("/v1/audit", headers={"X-API-Key": "nope"}), 403)
        for key in ("reader", INTAKE_KEY, REVIEW_KEY):
            assert c.get("/v1/initiatives", headers={"X-API-Key": key}).status_code == 200
        assert c.get("/healthz").status_code == 200  # probes stay open


def test_healthz_when_ready(client):
    client.post("/v1/initiatives", json=RECORD, headers=INTAKE)
    body = client.get("/healthz").json()
    assert body == {"status": "ok", "model_version": "test", "initiatives": 1, "indexed": 1}


def test_healthz_is_503_until_loaded_and_when_loading_failed(models, db_path):
    app = create_app(make_settings(db_path), models=models)
    loading = TestClient(app)  # no `with`: the lifespan has not run, nothing is loaded
    err = assert_error(loading.get("/healthz"), 503, "not_ready")
    assert "starting" in err["message"]
    assert_error(loading.post("/v1/classify", json={"text": RECORD["title"]}), 503)
    broken = create_app(make_settings(db_path))  # no models given, artifact paths that do not exist
    with TestClient(broken) as c:
        err = assert_error(c.get("/healthz"), 503, "start_failed")
        assert "make models" in err["message"]


def test_metrics_count_requests_and_predictions(client):
    res = client.post("/v1/classify", json={"text": RECORD["title"] + "\n" + RECORD["description"]}).json()
    primary = res["results"][0]["primary"]
    client.get("/v1/initiatives/77")
    text = client.get("/metrics").text
    assert 'sangkien_http_requests_total{method="POST",route="/v1/classify",status="200"} 1.0' in text
    assert 'route="/v1/initiatives/{initiative_id}",status="404"} 1.0' in text
    assert f'sangkien_field_predictions_total{{field="{primary}"}} 1.0' in text
    assert 'sangkien_http_request_duration_seconds_bucket{le="0.1",method="POST",route="/v1/classify"}' in text


def test_records_groups_and_answers_survive_a_restart(models, db_path, no_diacritics_copy, splits):
    original, copy = no_diacritics_copy
    with TestClient(create_app(make_settings(db_path), models=models)) as c:
        items = c.post("/v1/initiatives", headers=INTAKE, json={"items": [
            as_payload(original, "o-1"), as_payload(splits["test"][5], "o-2")]}).json()["items"]
        c.post(f"/v1/initiatives/{items[1]['id']}/review", headers=REVIEW, json={"reviewer": "Lan", "fields": ["other"]})
        stored = c.post("/v1/initiatives", json=as_payload(copy, "o-3"), headers=INTAKE).json()["items"][0]
        before = {p: c.get(p).json() for p in ("/v1/initiatives", "/v1/audit")}
        answer = c.post("/v1/duplicates", json={"text": copy.text}).json()
        export = c.get("/v1/feedback/export").text
    with TestClient(create_app(make_settings(db_path), models=models)) as c:
        assert {p: c.get(p).json() for p in before} == before
        assert c.post("/v1/duplicates", json={"text": copy.text}).json() == answer
        assert c.get("/v1/feedback/export").text == export
        assert c.get("/healthz").json()["indexed"] == 3
        again = c.post("/v1/initiatives", json=as_payload(copy, "o-3"), headers=INTAKE)
        assert again.status_code == 200 and again.json()["items"][0]["id"] == stored["id"]
    assert stored["duplicate_group"] == items[0]["id"]
    assert {m["id"] for m in answer["matches"] if m["is_duplicate"]} == {items[0]["id"], stored["id"]}


def test_python_m_service_exits_with_a_message_when_artifacts_are_missing(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "SANGKIEN_CLASSIFIER_DIR": str(tmp_path / "none"),
           "SANGKIEN_DEDUP_RULE": str(tmp_path / "none.json"), "SANGKIEN_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    done = subprocess.run([sys.executable, "-m", "service", "--port", "1"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "make models" in done.stderr and "model.joblib" in done.stderr


def test_openapi_documents_every_endpoint_with_vietnamese_examples(client):
    spec = client.get("/openapi.json").json()
    expected = {("post", "/v1/classify"), ("post", "/v1/duplicates"), ("post", "/v1/initiatives"),
                ("get", "/v1/initiatives"), ("get", "/v1/initiatives/{initiative_id}"),
                ("get", "/v1/initiatives/{initiative_id}/similar"), ("post", "/v1/initiatives/{initiative_id}/review"),
                ("get", "/v1/feedback/export"), ("get", "/v1/audit"), ("get", "/healthz"), ("get", "/metrics")}
    assert expected <= {(m, p) for p, ops in spec["paths"].items() for m in ops}
    schemas = spec["components"]["schemas"]
    for name in ("ClassifyRequest", "DuplicatesRequest", "InitiativeIn", "InitiativeBatchIn", "ReviewIn"):
        examples = json.dumps(schemas[name]["examples"], ensure_ascii=False)
        assert has_diacritics(examples), name  # Vietnamese, with its diacritics
    assert "409" in spec["paths"]["/v1/initiatives"]["post"]["responses"]
    assert spec["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"
