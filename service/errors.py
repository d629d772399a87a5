"""Service errors and their translation to HTTP, in one place.

The service layer raises the plain exceptions below (no status codes); the handlers at the
bottom turn them, and FastAPI's own validation and HTTP errors, into one body shape::

    {"error": {"code": "...", "message": "what is wrong and how to fix it", "details": [...]}}
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from model.errors import InvalidTextError

log = logging.getLogger("sangkien.service")


class ServiceError(Exception):
    """Base of the errors a client can fix; ``code`` is stable, ``message`` says how."""

    code = "bad_request"

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []
        if code:
            self.code = code


class InvalidInputError(ServiceError):
    code = "invalid_input"


class TooLargeError(ServiceError):
    code = "too_large"


class NotFoundError(ServiceError):
    code = "not_found"


class ConflictError(ServiceError):
    code = "conflict"


class AuthMissingError(ServiceError):
    code = "api_key_missing"


class AuthRejectedError(ServiceError):
    code = "api_key_rejected"


class NotReadyError(ServiceError):
    code = "not_ready"


_STATUS: dict[type[ServiceError], int] = {
    InvalidInputError: 422, TooLargeError: 413, NotFoundError: 404, ConflictError: 409,
    AuthMissingError: 401, AuthRejectedError: 403, NotReadyError: 503, ServiceError: 400,
}
_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 406: "not_acceptable", 413: "too_large",
               415: "unsupported_media_type", 429: "too_many_requests", 503: "not_ready"}


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict:
    """The one error shape every endpoint and middleware answers with."""
    return {"error": {"code": code, "message": message, "details": details or []}}


def error_response(status: int, code: str, message: str,
                   details: list[dict[str, Any]] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def status_of(exc: ServiceError) -> int:
    return next(s for cls, s in _STATUS.items() if isinstance(exc, cls))


# ---- validation errors: say where and how to fix ---------------------------------------------

def _where(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) if parts else "the request body"


def _line_col(doc: str, pos: int) -> tuple[int, int]:
    line = doc.count("\n", 0, pos) + 1
    return line, pos - (doc.rfind("\n", 0, pos) + 1) + 1


def _json_error(err: dict, body: Any) -> tuple[str, dict]:
    pos = int(err["loc"][-1]) if err.get("loc") else 0
    reason = (err.get("ctx") or {}).get("error", "invalid JSON")
    line, col = _line_col(body, pos) if isinstance(body, str) else (1, pos + 1)
    message = (f"the request body is not valid JSON: {reason} at line {line}, column {col} "
               f"(character {pos}); fix the JSON syntax (quotes, commas, brackets) and resend")
    return message, {"loc": ["body"], "line": line, "column": col, "position": pos,
                     "type": "json_invalid", "message": reason}


def clean_loc(loc: tuple | list) -> list[str]:
    """The location as the client wrote it: without the intake union's tag ("record", "batch")."""
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] == "body" and parts[1] in ("record", "batch"):
        del parts[1]
    return parts


def _explain(err: dict) -> str:
    """A message for one pydantic error that says what to do about it."""
    kind, where = err.get("type", ""), _where(clean_loc(err.get("loc", ())))
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    if kind == "missing":
        return f"'{where}' is required: add it to the request"
    if kind == "extra_forbidden":
        return f"'{where}' is not a known field: remove it or check its spelling (see /docs)"
    if kind == "string_unicode":
        return f"'{where}' is not valid Unicode text (an unpaired surrogate escape such as \\ud800): fix the text"
    if kind in ("model_attributes_type", "dict_type", "model_type") and where == "the request body":
        return ("the request body must be a JSON object: send JSON with the header "
                "'Content-Type: application/json'")
    if where == "the request body":
        return f"{msg}"
    return f"'{where}' {msg}" if kind == "value_error" else f"'{where}': {msg}"


def validation_details(errors: list[dict]) -> list[dict]:
    return [{"loc": clean_loc(e.get("loc", ())), "type": e.get("type", ""),
             "message": _explain(e)} for e in errors]


# ---- handlers --------------------------------------------------------------------------------

async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
    headers = {"WWW-Authenticate": "APIKey"} if isinstance(exc, AuthMissingError) else None
    return error_response(status_of(exc), exc.code, exc.message, exc.details, headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    bad_json = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if bad_json is not None:
        message, detail = _json_error(bad_json, getattr(exc, "body", None))
        return error_response(400, "invalid_json", message, [detail])
    details = validation_details(errors)
    first = details[0]["message"] if details else "the request is invalid"
    more = f" (and {len(details) - 1} more problem(s), see details)" if len(details) > 1 else ""
    return error_response(422, "validation_error", first + more, details)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = str(exc.detail)
    if exc.status_code == 404 and message == "Not Found":
        message = f"no endpoint at {request.url.path}: see /docs for the list of endpoints"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}: see /docs for the methods"
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


async def _invalid_text(request: Request, exc: InvalidTextError) -> JSONResponse:
    return error_response(422, "invalid_text", str(exc))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Last resort: still the error shape, and the traceback goes to the log."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error",
                          "an unexpected error occurred on the server; it has been logged. "
                          "Retry later, and report it if it persists")


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(InvalidTextError, _invalid_text)
    app.add_exception_handler(Exception, _unexpected)
