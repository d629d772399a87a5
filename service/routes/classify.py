"""POST /v1/classify and POST /v1/duplicates: answers computed on the fly, nothing stored."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from service.auth import require_reader
from service.engine import Engine
from service.metrics import Metrics
from service.routes import errors
from service.schemas import ClassifyRequest, ClassifyResponse, DuplicatesRequest, DuplicatesResponse
from service.state import get_engine, get_metrics
from service.views import match_out, tags_out

router = APIRouter(prefix="/v1", tags=["classify"], dependencies=[Depends(require_reader)])


@router.post("/classify", response_model=ClassifyResponse,
             responses=errors(400, 401, 403, 413, 422, 503),
             summary="Tag one text or a batch with its fields")
def classify(body: ClassifyRequest, engine: Engine = Depends(get_engine),
             metrics: Metrics = Depends(get_metrics)) -> ClassifyResponse:
    """Fields with probabilities and Vietnamese names, the label set (primary first), whether a
    reviewer should look (and why), the phrases behind each label, and the model version.

    Text that is not Vietnamese is answered, flagged `needs_review` with reason `not_vietnamese`.
    """
    tags = engine.classify(body.all_texts(), batch=body.texts is not None)
    metrics.observe_tags(tags)
    taxonomy = engine.models.taxonomy
    return ClassifyResponse(model_version=engine.models.model_version,
                            results=[tags_out(t, taxonomy) for t in tags])


@router.post("/duplicates", response_model=DuplicatesResponse,
             responses=errors(400, 401, 403, 422, 503),
             summary="Find stored initiatives similar to a text (stores nothing)")
def duplicates(body: DuplicatesRequest, engine: Engine = Depends(get_engine)) -> DuplicatesResponse:
    """The most similar stored initiatives, best first, each with the decision of the duplicate
    rule and its evidence: Jaccard of syllable shingles, embedding cosine, same author / unit,
    and the overlapping passages (character spans in `query_text` and in the stored `text`)."""
    text, found = engine.duplicates(body.text, body.unit, body.author, body.k)
    summaries = engine.summaries(found)
    return DuplicatesResponse(query_text=text, threshold=round(engine.models.rule.threshold_, 4),
                              matches=[match_out(c, summaries) for c in found])
