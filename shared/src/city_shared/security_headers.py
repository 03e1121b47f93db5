"""Security headers on every response of a service: a pure ASGI middleware.

Each header is added only where the response does not set it itself, so a page with its own
policy (identity's login page, payment's sandbox checkout, which allow their return origin in
``form-action``) keeps it:

- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``,
  ``X-Frame-Options: DENY``;
- ``Content-Security-Policy``: :data:`STRICT_CSP` (nothing loads, nothing frames the response,
  forms post only to the service itself), except on the interactive API docs, which load
  Swagger UI / ReDoc from their CDN (:data:`DOCS_CSP`);
- ``Strict-Transport-Security`` only when ``hsts`` is on (``CITY_ENV=production``: browsers then
  refuse plain HTTP to the host for a year).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DOCS_CSP", "HSTS", "STRICT_CSP", "SecurityHeadersMiddleware"]

STRICT_CSP: Final = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_CSP: Final = (
    f"default-src 'none'; script-src 'unsafe-inline' {_DOCS_CDN}; "
    f"style-src 'unsafe-inline' {_DOCS_CDN} https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https:; connect-src 'self'; "
    "worker-src blob:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HSTS: Final = "max-age=31536000; includeSubDomains"

_CSP = b"content-security-policy"


class SecurityHeadersMiddleware:
    """Adds the module's headers to every HTTP response; ``docs_paths`` get :data:`DOCS_CSP`."""

    def __init__(self, app: ASGIApp, *, hsts: bool, docs_paths: Iterable[str] = ()) -> None:
        self.app = app
        self._docs_paths = frozenset(docs_paths)
        common = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
        ]
        if hsts:
            common.append((b"strict-transport-security", HSTS.encode("latin-1")))
        self._common = common

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"] in self._docs_paths else STRICT_CSP
        defaults = [*self._common, (_CSP, csp.encode("latin-1"))]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(pair for pair in defaults if pair[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
