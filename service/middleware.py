"""Request body checks that must happen before FastAPI parses JSON.

A body over the size limit is refused with 413 before it is read whole; a body that is not
UTF-8 gets a 400 naming the byte offset (FastAPI would only say "error parsing the body").
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import error_response

_WITH_BODY = ("POST", "PUT", "PATCH")


class BodyCheckMiddleware:
    """Pure ASGI: buffer the body of write requests, check size and encoding, replay it."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> object:
        return error_response(
            413, "body_too_large",
            f"the request body is larger than {self.max_bytes:,} bytes (SANGKIEN_MAX_BODY_BYTES): "
            "send fewer records per request")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large()(scope, receive, send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large()(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = body[exc.start : exc.start + 1].hex()
            response = error_response(
                400, "invalid_utf8",
                f"the request body is not valid UTF-8 (byte {exc.start}: 0x{bad}, {exc.reason}): "
                "encode the JSON as UTF-8 (legacy TCVN3/VNI text must be sent as Unicode strings)",
                [{"loc": ["body"], "type": "invalid_utf8", "position": exc.start}])
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
