"""Bad input always gets a 4xx with the error shape and a message saying how to fix it.

Each case also checks that the last-resort handler (500) was not what answered.
"""

import json

import pytest
from fastapi.testclient import TestClient

from api_support import INTAKE, REVIEW, assert_error, make_settings
from service.app import create_app

TITLE = "Cải tiến quy trình tiếp nhận hồ sơ một cửa"
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def api(models, tmp_path_factory):
    """One app with small limits; a record with id 1 exists."""
    db = tmp_path_factory.mktemp("bad-input") / "t.db"
    settings = make_settings(db, max_text_chars=2000, max_batch=5, max_body_bytes=64 * 1024)
    with TestClient(create_app(settings, models=models), raise_server_exceptions=False) as c:
        assert c.post("/v1/initiatives", json={"title": TITLE}, headers=INTAKE).status_code == 201
        yield c


def _raw(body: bytes, extra: dict | None = None) -> dict:
    return {"content": body, "headers": {**JSON, **INTAKE, **(extra or {})}}


CASES = [
    # (id, method, path, request kwargs, status, code, words the message must contain)
    ("empty text", "post", "/v1/classify", {"json": {"text": ""}}, 422, "validation_error", ["empty"]),
    ("whitespace text", "post", "/v1/classify", {"json": {"text": "  \n\t "}}, 422, "validation_error", ["empty"]),
    ("only punctuation", "post", "/v1/classify", {"json": {"text": "123 - 456 !!!"}}, 422, "empty_text", ["no words"]),
    ("form labels only", "post", "/v1/initiatives", {"json": {"title": "Tên sáng kiến:"}, "headers": INTAKE},
     422, "empty_text", ["empty"]),
    ("text over the limit", "post", "/v1/classify", {"json": {"text": "Cải tiến " * 300}}, 422, "text_too_long",
     ["2,000", "SANGKIEN_MAX_TEXT_CHARS"]),
    ("record over the limit", "post", "/v1/initiatives",
     {"json": {"title": TITLE, "description": "mô tả " * 500}, "headers": INTAKE}, 422, "text_too_long", ["limit"]),
    ("classify batch over the limit", "post", "/v1/classify", {"json": {"texts": [TITLE] * 6}}, 413,
     "batch_too_large", ["split"]),
    ("intake batch over the limit", "post", "/v1/initiatives",
     {"json": {"items": [{"title": TITLE}] * 6}, "headers": INTAKE}, 413, "batch_too_large", ["5"]),
    ("body over the limit", "post", "/v1/classify", {"json": {"texts": ["x" * 70_000]}}, 413, "body_too_large",
     ["SANGKIEN_MAX_BODY_BYTES"]),
    ("invalid JSON", "post", "/v1/initiatives", _raw(b'{"title": "abc",\n "unit": }'), 400, "invalid_json",
     ["line 2", "column"]),
    ("truncated JSON", "post", "/v1/classify", _raw('{"text": "Cải tiến'.encode()), 400, "invalid_json", ["line 1"]),
    ("invalid UTF-8", "post", "/v1/initiatives", _raw(b'{"title": "C\xe1i ti\xean"}'), 400, "invalid_utf8",
     ["UTF-8", "byte"]),
    ("latin-1 bytes", "post", "/v1/classify", _raw('{"text": "Café à la carte"}'.encode("latin-1")), 400,
     "invalid_utf8", ["UTF-8"]),
    ("wrong type", "post", "/v1/classify", {"json": {"text": 123}}, 422, "validation_error", ["text"]),
    ("wrong type in a batch", "post", "/v1/initiatives",
     {"json": {"items": [{"title": TITLE}, {"title": ["a"]}]}, "headers": INTAKE}, 422, "validation_error",
     ["items.1.title"]),
    ("unknown field", "post", "/v1/initiatives", {"json": {"title": TITLE, "titel": "x"}, "headers": INTAKE},
     422, "validation_error", ["titel", "not a known field"]),
    ("unknown field in classify", "post", "/v1/classify", {"json": {"text": TITLE, "lang": "vi"}}, 422,
     "validation_error", ["lang"]),
    ("missing title", "post", "/v1/initiatives", {"json": {"description": "mô tả"}, "headers": INTAKE}, 422,
     "validation_error", ["title", "required"]),
    ("bad date", "post", "/v1/initiatives", {"json": {"title": TITLE, "submitted_at": "15/03/2024"},
                                             "headers": INTAKE}, 422, "validation_error", ["submitted_at"]),
    ("empty batch", "post", "/v1/initiatives", {"json": {"items": []}, "headers": INTAKE}, 422,
     "validation_error", ["at least one"]),
    ("text and texts", "post", "/v1/classify", {"json": {"text": TITLE, "texts": [TITLE]}}, 422,
     "validation_error", ["exactly one"]),
    ("neither text nor texts", "post", "/v1/classify", {"json": {}}, 422, "validation_error", ["exactly one"]),
    ("a list instead of an object", "post", "/v1/classify", {"json": [TITLE]}, 422, "validation_error", ["object"]),
    ("no content type", "post", "/v1/classify", {"content": json.dumps({"text": TITLE}).encode()}, 422,
     "validation_error", ["Content-Type"]),
    ("empty body", "post", "/v1/classify", {"headers": JSON}, 422, "validation_error", ["required"]),
    ("k out of range", "post", "/v1/duplicates", {"json": {"text": TITLE, "k": 0}}, 422, "validation_error", ["k"]),
    ("unknown field in review", "post", "/v1/initiatives/1/review",
     {"json": {"reviewer": "Lan", "fields": ["it"]}, "headers": REVIEW}, 422, "unknown_field", ["technology"]),
    ("review deciding nothing", "post", "/v1/initiatives/1/review", {"json": {"reviewer": "Lan"}, "headers": REVIEW},
     422, "validation_error", ["fields"]),
    ("review with a field twice", "post", "/v1/initiatives/1/review",
     {"json": {"reviewer": "Lan", "fields": ["health", "health"]}, "headers": REVIEW}, 422, "validation_error",
     ["once"]),
    ("review of an unknown id", "post", "/v1/initiatives/999/review",
     {"json": {"reviewer": "Lan", "fields": ["health"]}, "headers": REVIEW}, 404, "not_found", ["999"]),
    ("unknown id", "get", "/v1/initiatives/999", {}, 404, "not_found", ["999"]),
    ("id that is not a number", "get", "/v1/initiatives/abc", {}, 422, "validation_error", ["integer"]),
    ("limit out of range", "get", "/v1/initiatives?limit=0", {}, 422, "validation_error", ["limit"]),
    ("needs_review not a boolean", "get", "/v1/initiatives?needs_review=maybe", {}, 422, "validation_error",
     ["needs_review"]),
    ("unpaired surrogate in a title", "post", "/v1/initiatives", _raw(b'{"title": "C\\u1ea3i ti\\ud800n"}'), 422,
     "validation_error", ["Unicode"]),
    ("unpaired surrogate in a text", "post", "/v1/classify", _raw(b'{"texts": ["ti\\udfffn"]}'), 422,
     "validation_error", ["surrogate"]),
    ("id too large for the database", "get", "/v1/initiatives/99999999999999999999", {}, 422, "validation_error",
     ["initiative_id"]),
    ("offset too large", "get", "/v1/initiatives?offset=99999999999999999999", {}, 422, "validation_error",
     ["offset"]),
    ("duplicate_of too large", "post", "/v1/initiatives/1/review",
     {"json": {"reviewer": "Lan", "duplicate_of": 10**20}, "headers": REVIEW}, 422, "validation_error",
     ["duplicate_of"]),
    ("unknown route", "get", "/v1/nothing-here", {}, 404, "not_found", ["/docs"]),
    ("wrong method", "delete", "/v1/classify", {}, 405, "method_not_allowed", ["DELETE"]),
]


@pytest.mark.parametrize("method,path,kwargs,status,code,words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_gets_a_helpful_4xx(api, method, path, kwargs, status, code, words):
    stored = api.get("/v1/initiatives").json()["total"]
    response = api.request(method.upper(), path, **kwargs)
    assert response.status_code < 500
    err = assert_error(response, status, code)
    for word in words:
        assert word in err["message"], err["message"]
    assert api.get("/v1/initiatives").json()["total"] == stored  # nothing was stored


def test_not_vietnamese_is_accepted_and_flagged(api):
    r = api.post("/v1/initiatives", headers=INTAKE, json={"title": "Quarterly report automation",
                                                          "description": "We wrote macros for the sales report."})
    assert r.status_code == 201 and r.json()["items"][0]["tags"]["review_reason"] == "not_vietnamese"


def test_the_last_resort_handler_keeps_the_shape(models, tmp_path):
    app = create_app(make_settings(tmp_path / "t.db"), models=models)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("bug")

    with TestClient(app, raise_server_exceptions=False) as c:
        err = assert_error(c.get("/boom"), 500, "internal_error")
        assert "bug" not in err["message"]  # no internals leak to the client
        assert 'route="/boom",status="500"' in c.get("/metrics").text
