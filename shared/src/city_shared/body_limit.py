"""The request body limit: a pure ASGI middleware that answers 413 ``body_too_large`` before a
body larger than the limit is read into memory by anything behind it.

Contract:

- every HTTP request has a limit: ``default_bytes``, or the limit of the first route template in
  ``per_route`` that matches the request path (e.g. ``{"/cases/{case_id}/attachments": 20 MiB}``
  for an endpoint that takes uploads; templates use the routes' ``{param}`` syntax);
- a request whose ``Content-Length`` exceeds its limit is answered 413 without calling the app,
  so nothing of the body is read;
- a body without ``Content-Length`` (chunked) or with a wrong one is counted while the app reads
  it: the ``receive`` that would pass the limit raises instead of returning the chunk, and the
  client gets 413 unless the app had already started its response;
- a 413 carries ``Connection: close``: the server drops the connection instead of reading the
  rest of the upload.

Install it in front of every middleware that reads bodies (the ``Idempotency-Key`` middleware
buffers them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from city_shared.errors import DomainError, problem_response

__all__ = ["DEFAULT_MAX_BODY_BYTES", "BodyLimitMiddleware", "BodyTooLarge"]

#: The limit of a service that does not configure one (``CITY_MAX_BODY_BYTES``): 1 MiB.
DEFAULT_MAX_BODY_BYTES: Final = 1024 * 1024

_CONTENT_LENGTH = b"content-length"


class BodyTooLarge(DomainError):
    """413: the request body is larger than this endpoint accepts."""

    status = 413
    code = "body_too_large"
    title = "Request body too large"
    default_headers = {"Connection": "close"}


class _LimitPassed(Exception):
    """Raised by the counting ``receive``; caught by the middleware (never reaches a client)."""


class BodyLimitMiddleware:
    """Pure ASGI middleware implementing the module's contract."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        default_bytes: int = DEFAULT_MAX_BODY_BYTES,
        per_route: Mapping[str, int] | None = None,
    ) -> None:
        limits = {"default": default_bytes, **(per_route or {})}
        if any(limit <= 0 for limit in limits.values()):
            raise ValueError("body limits must be > 0 bytes")
        self.app = app
        self._default = default_bytes
        self._per_route: list[tuple[re.Pattern[str], int]] = [
            (compile_path(template)[0], limit) for template, limit in (per_route or {}).items()
        ]

    def limit_for(self, path: str) -> int:
        """The limit in bytes of a request to ``path``."""
        for pattern, limit in self._per_route:
            if pattern.match(path):
                return limit
        return self._default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(limit, scope, receive, send)
            return

        received = 0
        passed = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, passed
            if passed:
                raise _LimitPassed
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    passed = True
                    raise _LimitPassed
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if passed and not started:
                return  # the app's answer to a body it could not read; the 413 replaces it
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except Exception as exc:
            if not (passed and not started and _only_limit_passed(exc)):
                raise
        if passed and not started:
            await _too_large(limit, scope, receive, send)


def _only_limit_passed(exc: BaseException) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return all(_only_limit_passed(inner) for inner in exc.exceptions)
    return isinstance(exc, _LimitPassed)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name.lower() == _CONTENT_LENGTH:
            try:
                return int(value)
            except ValueError:
                return None  # servers refuse these; counting still applies
    return None


async def _too_large(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    error = BodyTooLarge(f"The request body must not exceed {limit} bytes on this endpoint.",
                         extra={"max_bytes": limit})
    await problem_response(error, scope["path"])(scope, receive, send)
