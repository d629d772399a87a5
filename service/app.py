"""``create_app``: the FastAPI application, its lifespan, middleware and error handlers.

Nothing is loaded at import time. Models load in the lifespan from the artifact paths in
``Settings``, or are passed in already fitted (tests): ``create_app(settings, models=...)``.
Run it with ``python -m service`` (``make run``) or ``uvicorn --factory service.app:create_app``.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from service.errors import install_handlers
from service.metrics import Metrics, MetricsMiddleware
from service.middleware import BodyCheckMiddleware
from service.models import Models
from service.routes import classify, initiatives, ops
from service.settings import Settings
from service.state import ServiceState
from service.workbench import mount_workbench

DESCRIPTION = """Tags Vietnamese workplace initiatives ("sáng kiến") with their field and flags
near-duplicates. Writes need an `X-API-Key` (intake or reviewer key); reads are open unless
read keys are configured. Every error answers `{"error": {"code", "message", "details"}}`."""


def create_app(settings: Settings | None = None, models: Models | None = None) -> FastAPI:
    """The app; with ``models`` given it loads synchronously and skips the artifact files."""
    settings = settings or Settings()
    state = ServiceState(settings, models)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if models is None and settings.background_load:
            state.start_background()
        else:
            await run_in_threadpool(state.load)
        yield
        state.close()

    app = FastAPI(title="sangkien", version="1.0.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.service = state
    app.state.metrics = metrics
    install_handlers(app)
    for module in (classify, initiatives, ops):
        app.include_router(module.router)
    mount_workbench(app)  # reviewer pages under /review (README: "Reviewer workbench")
    app.add_middleware(BodyCheckMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
