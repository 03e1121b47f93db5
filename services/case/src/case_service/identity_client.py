"""The case service's one call to identity: the citizen's verified attributes, to prefill a new
draft. Failure is normal here (identity down or slow): the draft then starts without prefill."""

from __future__ import annotations

import logging
from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from case_service.forms import VerifiedAttribute
from case_service.settings import CaseSettings

__all__ = ["verified_attributes"]

log = logging.getLogger(__name__)

#: Identity's self-service route (its accounts router has no prefix).
ATTRIBUTES_PATH = "/me/attributes"
#: A citizen has a handful of attributes; anything bigger is not identity's answer.
_MAX_ATTRIBUTES = 100


class _Attribute(BaseModel):
    """What the case service reads of one entry of identity's answer (more is ignored)."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(max_length=64)
    value: str = Field(max_length=1000)
    level: Literal["basic", "substantial", "high"]
    source: str = Field(max_length=64)


class _Attributes(BaseModel):
    model_config = ConfigDict(extra="ignore")

    attributes: list[_Attribute] = Field(max_length=_MAX_ATTRIBUTES)


async def verified_attributes(
    settings: CaseSettings, bearer_token: str, *, http: httpx.AsyncClient | None = None
) -> list[VerifiedAttribute] | None:
    """The verified attributes of the citizen whose ``bearer_token`` this is, asked of identity
    (``GET {identity_url}/me/attributes`` with that token) within
    ``settings.identity_timeout_seconds``.

    Uses ``http`` (the app's shared client) when given, else a client for this call. Never
    raises for identity's failures: a timeout, a refused connection, any non-200 answer (401
    for an expired token too) or an answer of the wrong shape gives None, logged with the
    reason only (never the token, the account or a value).
    """
    url = settings.identity_url.rstrip("/") + ATTRIBUTES_PATH
    headers = {"Authorization": f"Bearer {bearer_token}", "Accept": "application/json"}
    timeout = settings.identity_timeout_seconds
    try:
        if http is None:
            async with httpx.AsyncClient(timeout=timeout) as client:
                response = await client.get(url, headers=headers)
        else:
            response = await http.get(url, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        log.warning("identity attributes unavailable", extra={"reason": type(exc).__name__})
        return None
    if response.status_code != 200:
        log.warning("identity attributes refused", extra={"status": response.status_code})
        return None
    try:
        answer = _Attributes.model_validate_json(response.content)
    except ValidationError:
        log.warning("identity attributes malformed", extra={"reason": "invalid_shape"})
        return None
    return [VerifiedAttribute(name=a.name, value=a.value, loa=a.level, source=a.source)
            for a in answer.attributes]
