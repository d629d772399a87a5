"""Audit counts, health and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST

from service.auth import require_reader
from service.engine import Engine
from service.errors import NotReadyError
from service.metrics import Metrics
from service.routes import errors
from service.schemas import AuditResponse, HealthOut
from service.state import ServiceState, get_engine, get_metrics, get_state
from service.views import audit_out

router = APIRouter()


@router.get("/v1/audit", response_model=AuditResponse, tags=["audit"], dependencies=[Depends(require_reader)],
            responses=errors(401, 403, 503), summary="Counts before and after deduplication")
def audit(engine: Engine = Depends(get_engine)) -> AuditResponse:
    """Total and distinct records (each duplicate group counted once), groups by size, per
    primary field and per unit before and after deduplication, and the share needing review."""
    return audit_out(engine.audit(), engine.models.taxonomy)


@router.get("/healthz", response_model=HealthOut, tags=["ops"], responses=errors(503),
            summary="200 when models and store are loaded, 503 while not")
def healthz(state: ServiceState = Depends(get_state)) -> HealthOut:
    engine = state.require()
    try:
        count = engine.store.count()
    except Exception as exc:  # the database went away: not healthy, say why
        raise NotReadyError(f"the database does not answer ({type(exc).__name__}: {exc})",
                            code="store_unavailable") from exc
    return HealthOut(status="ok", model_version=engine.models.model_version, initiatives=count,
                     indexed=len(engine.index))


@router.get("/metrics", tags=["ops"], response_class=Response, summary="Prometheus metrics")
def metrics(m: Metrics = Depends(get_metrics)) -> Response:
    return Response(m.render(), media_type=CONTENT_TYPE_LATEST)
