"""Cross-origin access for browser frontends: which origins may call a service's API
(``CITY_CORS_ALLOWED_ORIGINS``, exact origins only), and the methods and headers they may use.

The middleware is Starlette's :class:`~starlette.middleware.cors.CORSMiddleware`; this module
only fixes its configuration. Credentials mode stays off: frontends send bearer tokens in
``Authorization``, never cookies, so no origin is ever allowed to make credentialed requests and
``*`` is refused as an origin.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Final
from urllib.parse import urlsplit

from fastapi import FastAPI
from pydantic import BeforeValidator
from pydantic_settings import NoDecode
from starlette.middleware.cors import CORSMiddleware

__all__ = [
    "ALLOWED_METHODS",
    "EXPOSED_HEADERS",
    "REQUEST_HEADERS",
    "Origins",
    "install_cors",
    "parse_origins",
]

ALLOWED_METHODS: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
#: Request headers the API reads beside the CORS-safelisted ones.
REQUEST_HEADERS: Final = (
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "If-Match",
    "If-None-Match",
    "X-Correlation-ID",
)
#: Response headers frontends read beside the CORS-safelisted ones.
EXPOSED_HEADERS: Final = (
    "Location",
    "ETag",
    "Retry-After",
    "X-Correlation-ID",
    "Idempotent-Replayed",
)
#: How long a browser may cache a preflight answer.
PREFLIGHT_MAX_AGE_SECONDS: Final = 600

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def parse_origins(value: object) -> tuple[str, ...]:
    """The origins of ``CITY_CORS_ALLOWED_ORIGINS``: a comma-separated string, a JSON list or a
    sequence, each ``scheme://host[:port]`` (normalised as browsers send ``Origin``).

    :raises ValueError: an entry is ``*``, has a path, query or credentials, or is not http(s).
    """
    if isinstance(value, str):
        text = value.strip()
        items: Sequence[object] = json.loads(text) if text.startswith("[") else text.split(",")
    elif isinstance(value, Sequence):
        items = value
    else:
        raise ValueError("expected origins separated by commas")
    origins = [_origin(item) for item in items if not (isinstance(item, str) and not item.strip())]
    return tuple(dict.fromkeys(origins))


def _origin(item: object) -> str:
    if not isinstance(item, str):
        raise ValueError("an origin must be a string")
    text = item.strip()
    if text == "*":
        raise ValueError("'*' is not allowed: list each origin (scheme://host[:port])")
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"invalid port in origin {text!r}") from None
    if (parts.scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username is not None
            or parts.password is not None or parts.path not in ("", "/") or parts.query
            or parts.fragment or "*" in text):
        raise ValueError(f"not an origin (scheme://host[:port]): {text!r}")
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


#: A settings field of origins, read from the environment by :func:`parse_origins`.
Origins = Annotated[tuple[str, ...], NoDecode, BeforeValidator(parse_origins)]


def install_cors(app: FastAPI, origins: Sequence[str]) -> None:
    """Answer preflights and add ``Access-Control-*`` headers for exactly ``origins``; a
    request from any other origin gets none (a refused preflight is a 400)."""
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=ALLOWED_METHODS,
        allow_headers=REQUEST_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        allow_credentials=False,
        max_age=PREFLIGHT_MAX_AGE_SECONDS,
    )
