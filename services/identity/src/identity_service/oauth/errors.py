"""OAuth error responses (RFC 6749 section 5.2: ``{"error", "error_description"}`` JSON, never
problem+json) and the transaction rule of the protocol endpoints.

:class:`OAuthRoute` turns an :class:`OAuthError` raised by a service into a *returned* error
response, so the request's unit of work (:mod:`city_shared.request_work`) commits what the
service did before it: reuse detection (revoked families), consumed client assertions and the
like persist although the request fails. Any other exception rolls back.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Final

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

__all__ = ["NO_STORE", "OAuthError", "OAuthErrorBody", "OAuthRoute", "invalid_client",
           "invalid_grant", "invalid_request"]

#: RFC 6749 section 5.1: token responses must not be cached.
NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthErrorBody(BaseModel):
    """The body of an OAuth error response, for the OpenAPI document."""

    error: str
    error_description: str


class OAuthError(Exception):
    """An OAuth error: ``error`` is the registered code, ``description`` a short human text
    that never contains submitted values."""

    def __init__(
        self,
        error: str,
        description: str,
        *,
        status: int = 400,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        """The JSON error response."""
        return JSONResponse(
            {"error": self.error, "error_description": self.description},
            status_code=self.status,
            headers={**NO_STORE, **self.headers},
        )


def invalid_request(description: str) -> OAuthError:
    """400 ``invalid_request``: a parameter is missing, repeated, malformed or too large."""
    return OAuthError("invalid_request", description)


def invalid_grant(description: str) -> OAuthError:
    """400 ``invalid_grant``: the code or refresh token is invalid, expired, used or revoked."""
    return OAuthError("invalid_grant", description)


def invalid_client(description: str = "Client authentication failed.") -> OAuthError:
    """401 ``invalid_client`` with ``WWW-Authenticate`` (RFC 6749 section 5.2)."""
    return OAuthError("invalid_client", description, status=401,
                      headers={"WWW-Authenticate": 'Basic realm="identity", charset="UTF-8"'})


Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]


class OAuthRoute(APIRoute):
    """A route whose :class:`OAuthError` becomes the OAuth JSON error response, returned (not
    raised) so that the unit of work commits (see the module doc)."""

    def get_route_handler(self) -> Endpoint:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except OAuthError as exc:
                return exc.response()

        return handle

