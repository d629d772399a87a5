"""Intake, look-up, listing, similar records, review and the feedback export."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Response

from service.auth import require_intake, require_reader, require_reviewer
from service.engine import Engine, Submission
from service.metrics import Metrics
from service.routes import errors
from service.schemas import (MAX_ID, InitiativeBatchIn, InitiativeIn, InitiativeOut, InitiativePage, IntakeItemOut,
                             IntakeRequest, IntakeResponse, MatchOut, ReviewIn, ReviewResponse)
from service.state import get_engine, get_metrics
from service.store import Initiative, ListFilter
from service.views import feedback_out, initiative_out, match_out

router = APIRouter(prefix="/v1", tags=["initiatives"])
INTAKE_EXAMPLES = {
    "record": {"summary": "one record", "value": InitiativeIn.model_config["json_schema_extra"]["examples"][0]},
    "batch": {"summary": "a batch (all or nothing)",
              "value": InitiativeBatchIn.model_config["json_schema_extra"]["examples"][0]},
}
InitiativeId = Annotated[int, Path(ge=1, le=MAX_ID, description="id given by the store at intake")]


def _submission(r: InitiativeIn) -> Submission:
    return Submission(r.title, r.description, r.unit, r.author,
                      r.submitted_at.isoformat() if r.submitted_at else "", r.external_id)


def _out(engine: Engine, records: list[Initiative]) -> list[dict]:
    summaries = engine.summaries(records)
    return [initiative_out(r, engine.models.taxonomy, summaries) for r in records]


@router.post("/initiatives", status_code=201, response_model=IntakeResponse,
             dependencies=[Depends(require_intake)], responses=errors(400, 401, 403, 409, 413, 422, 503),
             summary="Store one initiative or a batch, tagged and checked for duplicates")
def intake(body: Annotated[IntakeRequest, Body(openapi_examples=INTAKE_EXAMPLES)], response: Response,
           engine: Engine = Depends(get_engine), metrics: Metrics = Depends(get_metrics)) -> IntakeResponse:
    """Send one record, or `{"items": [...]}`: the batch is stored whole or not at all.

    Idempotent on `external_id`: a retry with the same content returns the stored record (200,
    `created: false`); the same `external_id` with different content is refused (409).
    Answers 201 when at least one record was created.
    """
    records = body.items if isinstance(body, InitiativeBatchIn) else [body]
    results = engine.intake([_submission(r) for r in records])
    created = [r for r in results if r.created]
    metrics.observe_tags([r.initiative.tags for r in created])
    metrics.stored.inc(len(created))
    metrics.duplicates.inc(sum(any(c.is_duplicate for c in r.initiative.candidates) for r in created))
    if not created:
        response.status_code = 200
    elif len(results) == 1:
        response.headers["Location"] = f"/v1/initiatives/{results[0].initiative.id}"
    outs = _out(engine, [r.initiative for r in results])
    return IntakeResponse(items=[IntakeItemOut(**o, created=r.created) for o, r in zip(outs, results)],
                          created=len(created), existing=len(results) - len(created))


@router.get("/initiatives", response_model=InitiativePage, dependencies=[Depends(require_reader)],
            responses=errors(401, 403, 422, 503), summary="List stored initiatives, filtered and paginated")
def list_initiatives(
    engine: Engine = Depends(get_engine),
    field: str | None = Query(None, description="a field code, e.g. technology"),
    unit: str | None = Query(None, description="exact unit name"),
    needs_review: bool | None = Query(None),
    group: int | None = Query(None, ge=1, le=MAX_ID, description="duplicate group id"),
    limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=MAX_ID),
) -> InitiativePage:
    """Oldest first; `total` counts every match of the filter, not just this page."""
    items, total = engine.list(ListFilter(field, unit, needs_review, group), limit, offset)
    return InitiativePage(total=total, limit=limit, offset=offset,
                          items=[InitiativeOut(**o) for o in _out(engine, items)])


@router.get("/initiatives/{initiative_id}", response_model=InitiativeOut, dependencies=[Depends(require_reader)],
            responses=errors(401, 403, 404, 422, 503), summary="One stored initiative")
def get_initiative(initiative_id: InitiativeId, engine: Engine = Depends(get_engine)) -> InitiativeOut:
    return InitiativeOut(**_out(engine, [engine.get(initiative_id)])[0])


@router.get("/initiatives/{initiative_id}/similar", response_model=list[MatchOut],
            dependencies=[Depends(require_reader)], responses=errors(401, 403, 404, 422, 503),
            summary="Stored initiatives most similar to this one, now")
def similar(initiative_id: InitiativeId, engine: Engine = Depends(get_engine),
            k: int | None = Query(None, ge=1, le=50)) -> list[MatchOut]:
    found = engine.similar(initiative_id, k)
    summaries = engine.summaries(found)
    return [match_out(c, summaries) for c in found]


@router.post("/initiatives/{initiative_id}/review", response_model=ReviewResponse,
             dependencies=[Depends(require_reviewer)], responses=errors(400, 401, 403, 404, 422, 503),
             summary="A reviewer confirms or corrects the fields, or rules on duplicates")
def review(initiative_id: InitiativeId, body: ReviewIn, engine: Engine = Depends(get_engine)) -> ReviewResponse:
    """`fields` are taxonomy codes, primary first; `duplicate_of` joins the other record's group;
    `not_duplicate` takes this record out of its group. Kept as feedback (reviewer, time)."""
    record, fb = engine.review(initiative_id, body.reviewer, body.fields, body.duplicate_of,
                               body.not_duplicate, body.note)
    return ReviewResponse(initiative=InitiativeOut(**_out(engine, [record])[0]), feedback=feedback_out(fb))


@router.get("/feedback/export", dependencies=[Depends(require_reader)], responses=errors(401, 403, 503),
            response_class=Response, summary="Reviewed fields as JSONL, for `sangkien train --feedback`",
            openapi_extra={"responses": {"200": {"content": {"application/x-ndjson": {"example": (
                '{"id": "12", "title": "Ứng dụng mã QR để quản lý thiết bị", "description": "…", '
                '"fields": ["technology", "education"]}\n')}}}}})
def feedback_export(engine: Engine = Depends(get_engine)) -> Response:
    """One line per reviewed record: `{"id", "title", "description", "fields"}`."""
    lines = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in engine.feedback_export())
    return Response(lines, media_type="application/x-ndjson; charset=utf-8")
