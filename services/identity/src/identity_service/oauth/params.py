"""Reading OAuth request parameters: bounded, single-valued, strings only.

Every protocol endpoint reads its input here instead of through FastAPI's form/query models,
so bad input becomes an OAuth ``invalid_request`` (RFC 6749 section 3.1: parameters must not
repeat) rather than a 422 problem, and a huge body is refused before it is parsed.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import parse_qsl

from fastapi import Request

from identity_service.oauth.errors import invalid_request

__all__ = ["MAX_BODY_BYTES", "Params", "form_params", "query_params"]

MAX_BODY_BYTES: Final = 64 * 1024
MAX_FIELDS: Final = 64
MAX_VALUE_CHARS: Final = 8192

Params = dict[str, str]


def _name(name: str) -> str:
    """The parameter's name for an error text, if it is a plausible name (never echo junk)."""
    return f"'{name}'" if re.fullmatch(r"[a-z_]{1,40}", name) else "a parameter"


def _check(pairs: list[tuple[str, str]]) -> Params:
    if len(pairs) > MAX_FIELDS:
        raise invalid_request("Too many parameters.")
    params: Params = {}
    for name, value in pairs:
        if name in params:
            raise invalid_request(f"The parameter {_name(name)} is repeated.")
        if len(value) > MAX_VALUE_CHARS:
            raise invalid_request(f"The parameter {_name(name)} is too long.")
        if "\x00" in value:
            raise invalid_request(f"The parameter {_name(name)} contains a NUL character.")
        if value != "":  # an empty parameter counts as omitted (RFC 6749 section 3.1)
            params[name] = value
    return params


def query_params(request: Request) -> Params:
    """The query string's parameters (for ``GET /authorize``)."""
    raw = request.scope.get("query_string", b"")
    if len(raw) > MAX_BODY_BYTES:
        raise invalid_request("The query string is too long.")
    return _parse(raw)


async def form_params(request: Request) -> Params:
    """The ``application/x-www-form-urlencoded`` body's parameters.

    :raises OAuthError: ``invalid_request`` for another content type, a body over
        :data:`MAX_BODY_BYTES`, repeated or oversized parameters, or undecodable bytes.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise invalid_request("The body must be application/x-www-form-urlencoded.")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise invalid_request("The request body is too large.")
    return _parse(bytes(body))


def _parse(raw: bytes) -> Params:
    try:
        text = raw.decode("ascii")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False,
                          encoding="utf-8", errors="strict", max_num_fields=MAX_FIELDS * 4)
    except (UnicodeDecodeError, ValueError):
        raise invalid_request("The parameters are not valid URL-encoded UTF-8.") from None
    return _check(pairs)
