"""HTTP endpoints, thin: parse (schemas), call the engine, shape the answer (views)."""

from typing import Any

from pydantic import BaseModel


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]]


class ErrorOut(BaseModel):
    """Every error answer has this shape."""

    error: ErrorDetail


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers an endpoint can give."""
    text = {400: "invalid JSON or invalid UTF-8", 401: "API key missing", 403: "API key rejected",
            404: "unknown initiative", 409: "external_id reused with different content",
            413: "batch or body too large", 422: "invalid input (see details)",
            503: "models still loading or failed to load"}
    return {c: {"model": ErrorOut, "description": text[c]} for c in codes}
