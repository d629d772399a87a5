"""Reviewer sign-in for the workbench: a signed, HttpOnly session cookie and CSRF tokens.

The reviewer types a reviewer key (``SANGKIEN_REVIEWER_KEYS``) once; the cookie then carries
their name, a fingerprint of the key (never the key: the cookie is signed, not encrypted) and
a CSRF token that every form must echo. The signing secret is derived from the configured
reviewer keys, so it is the same in every process and survives restarts, and changing the
keys signs everyone out. A session also ends when its key is removed from the settings.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from service.settings import Settings

COOKIE = "sangkien_review"
COOKIE_PATH = "/review"
MAX_AGE_S = 12 * 3600  # a working day; then sign in again
_SALT = "sangkien.workbench.session.v1"


@dataclass(frozen=True)
class Session:
    """Who is working (empty name = not signed in yet) and the token their forms must carry."""

    name: str
    key_id: str
    csrf: str

    @property
    def signed_in(self) -> bool:
        return bool(self.name and self.key_id)


def key_id(key: str) -> str:
    """A fingerprint that identifies a key without revealing it."""
    return hashlib.sha256(f"sangkien-reviewer-key\0{key}".encode()).hexdigest()[:24]


def check_key(key: str, settings: Settings) -> bool:
    """Constant-time comparison against every configured reviewer key."""
    return any(hmac.compare_digest(key.encode(), k.encode()) for k in settings.reviewer_keys)


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    secret = hashlib.sha256(b"sangkien-workbench\0" + "\0".join(sorted(settings.reviewer_keys)).encode()).digest()
    return URLSafeTimedSerializer(secret, salt=_SALT)


def new_session(name: str = "", key: str | None = None) -> Session:
    return Session(name, key_id(key) if key else "", secrets.token_urlsafe(32))


def read_session(request: Request, settings: Settings) -> Session | None:
    """The request's session if its cookie is genuine, recent, and its key is still configured."""
    raw = request.cookies.get(COOKIE)
    if not raw or not settings.reviewer_keys:
        return None
    try:
        data = _serializer(settings).loads(raw, max_age=MAX_AGE_S)
        session = Session(str(data["n"]), str(data["k"]), str(data["c"]))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    if session.key_id and not any(hmac.compare_digest(session.key_id, key_id(k)) for k in settings.reviewer_keys):
        return None
    return session


def write_session(response: Response, request: Request, settings: Settings, session: Session) -> None:
    value = _serializer(settings).dumps({"n": session.name, "k": session.key_id, "c": session.csrf})
    response.set_cookie(COOKIE, value, max_age=MAX_AGE_S, path=COOKIE_PATH, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")


def clear_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax")


def csrf_ok(session: Session | None, token: object) -> bool:
    """The form's token matches the session's (constant time); a missing one never does."""
    return (session is not None and isinstance(token, str) and bool(token)
            and hmac.compare_digest(token.encode(), session.csrf.encode()))
