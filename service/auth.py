"""API keys: intake and reviewer keys for writes; reads are open unless read keys are set.

Missing key → 401, a key that is unknown or of the wrong role → 403; each message names the
header and the setting to use.
"""

from __future__ import annotations

import hmac

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from service.errors import AuthMissingError, AuthRejectedError
from service.settings import Settings

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                              description="intake key, reviewer key or read key (see the README)")


def get_settings(request: Request) -> Settings:
    """The app's one settings object (set by ``create_app``)."""
    return request.app.state.settings


def _known(key: str, keys: list[str]) -> bool:
    """Constant-time membership, so timing does not leak valid keys."""
    return any(hmac.compare_digest(key.encode(), k.encode()) for k in keys)


def _role_of(key: str, settings: Settings) -> str | None:
    roles = (("intake", settings.intake_keys), ("reviewer", settings.reviewer_keys),
             ("read", settings.read_keys))
    return next((name for name, keys in roles if _known(key, keys)), None)


def _require(role: str, keys: list[str], setting: str, key: str | None, settings: Settings,
             action: str) -> str:
    if not keys:
        raise AuthRejectedError(f"{action} is disabled: no {role} keys are configured; set "
                                f"{setting}=key1,key2 and restart the service", code="role_not_configured")
    if not key:
        raise AuthMissingError(f"{action} needs a {role} API key: send it in the X-API-Key header")
    if _known(key, keys):
        return role
    other = _role_of(key, settings)
    if other:
        raise AuthRejectedError(f"this is a {other} key; {action} needs a {role} key (from {setting})",
                                code="wrong_role")
    raise AuthRejectedError("the API key is not valid: check the X-API-Key header", code="api_key_invalid")


def require_intake(key: str | None = Security(api_key_header),
                   settings: Settings = Depends(get_settings)) -> str:
    return _require("intake", settings.intake_keys, "SANGKIEN_INTAKE_KEYS", key, settings,
                    "storing initiatives")


def require_reviewer(key: str | None = Security(api_key_header),
                     settings: Settings = Depends(get_settings)) -> str:
    return _require("reviewer", settings.reviewer_keys, "SANGKIEN_REVIEWER_KEYS", key, settings,
                    "reviewing")


def require_reader(key: str | None = Security(api_key_header),
                   settings: Settings = Depends(get_settings)) -> str:
    """Open when SANGKIEN_READ_KEYS is empty; otherwise any configured key may read."""
    if not settings.read_keys:
        return "anonymous"
    if not key:
        raise AuthMissingError("reading needs an API key: send it in the X-API-Key header")
    role = _role_of(key, settings)
    if role is None:
        raise AuthRejectedError("the API key is not valid: check the X-API-Key header", code="api_key_invalid")
    return role
