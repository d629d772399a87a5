"""What the lifespan loads, and the dependencies that hand it to endpoints.

Loading (models, store, index rebuild from the table) can take a while with a large store, so
by default it runs in a thread after the port opens; until it is done ``/healthz`` and every
model endpoint answer 503 with a message saying so.
"""

from __future__ import annotations

import logging
import threading
import time

from fastapi import Request

from service.engine import Engine
from service.errors import NotReadyError
from service.metrics import Metrics
from service.models import Models, load_models
from service.settings import Settings

log = logging.getLogger("sangkien.service")


class ServiceState:
    """Readiness, the engine once loaded, and the reason if loading failed."""

    def __init__(self, settings: Settings, models: Models | None = None):
        self.settings = settings
        self.models = models
        self.engine: Engine | None = None
        self.error: str | None = None
        self.loaded = threading.Event()
        self.started = time.monotonic()

    def load(self) -> None:
        """Load models (unless given) and open the store; never raises, records the error."""
        try:
            models = self.models or load_models(self.settings)
            self.engine = Engine.open(self.settings, models)
            log.info("ready in %.1f s (model %s)", time.monotonic() - self.started, models.model_version)
        except Exception as exc:  # reported by /healthz and every endpoint, and logged
            self.error = f"{type(exc).__name__}: {exc}"
            log.exception("the service could not start")
        finally:
            self.loaded.set()

    def start_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.load, name="sangkien-load", daemon=True)
        thread.start()
        return thread

    def require(self) -> Engine:
        if self.engine is not None:
            return self.engine
        if self.error is not None:
            raise NotReadyError(f"the service failed to start: {self.error}; fix it and restart",
                                code="start_failed")
        waited = time.monotonic() - self.started
        raise NotReadyError(f"the service is starting (loading models and indexing the store, "
                            f"{waited:.0f} s so far): retry in a few seconds")

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()


def get_state(request: Request) -> ServiceState:
    return request.app.state.service


def get_engine(request: Request) -> Engine:
    """The loaded engine, or 503 while loading."""
    return request.app.state.service.require()


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics
