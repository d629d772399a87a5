"""Helpers shared by the service tests (imported as `api_support`: pytest puts this folder on
sys.path; the name is unique so it never shadows another test module)."""

from __future__ import annotations

from pathlib import Path

from model.records import Record
from service.settings import Settings

INTAKE_KEY = "intake-secret"
REVIEW_KEY = "review-secret"
INTAKE = {"X-API-Key": INTAKE_KEY}
REVIEW = {"X-API-Key": REVIEW_KEY}


def make_settings(db: Path, **overrides) -> Settings:
    base = dict(database_url=f"sqlite:///{db}", intake_keys=[INTAKE_KEY], reviewer_keys=[REVIEW_KEY],
                background_load=False, classifier_dir=db.parent / "missing", dedup_rule=db.parent / "missing.json")
    return Settings(**{**base, **overrides})


def as_payload(r: Record, external_id: str | None = None) -> dict:
    payload = {"title": r.title, "description": r.description, "unit": r.unit, "author": r.author,
               "submitted_at": r.submitted_at or None}
    return {**payload, "external_id": external_id} if external_id else payload


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The one error shape, with a message that says something."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert len(body["error"]["message"]) > 20 and isinstance(body["error"]["details"], list)
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]
