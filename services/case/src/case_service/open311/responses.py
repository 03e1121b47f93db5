"""Open311-shaped errors: every route of the Open311 router answers a failure as the GeoReport v2
error list ``[{"code": <HTTP status>, "description": "..."}]`` with the right HTTP status (and
headers such as ``Retry-After``), instead of the platform's problem+json.

Domain errors and request validation are converted here; 422 becomes 400 (GeoReport v2 knows
"400 Bad Request" for unusable input). A field-error list (``errors`` of a 422) is appended to the
description as ``pointer: message``. The request's unit of work still rolls back (the scope is
marked failed). Faults outside the route (503, unknown paths) keep the platform's shape.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from city_shared.errors import FAILED_SCOPE_KEY, DomainError

__all__ = ["Open311Route", "open311_error"]

_MAX_DESCRIBED_ERRORS = 10


def open311_error(request: Request, status: int, description: str,
                  headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The GeoReport v2 error answer; marks the request failed (its transaction rolls back)."""
    request.scope[FAILED_SCOPE_KEY] = True
    return JSONResponse([{"code": status, "description": description}], status_code=status,
                        headers=dict(headers or {}))


def _describe(error: DomainError) -> str:
    description = error.detail or error.title
    errors = error.extra.get("errors")
    if isinstance(errors, list):
        parts = []
        for item in errors[:_MAX_DESCRIBED_ERRORS]:
            if isinstance(item, Mapping):
                where = str(item.get("pointer") or "/")
                parts.append(f"{where}: {item.get('message') or item.get('code')}")
        if parts:
            description = f"{description} ({'; '.join(parts)})"
    return description


def _describe_invalid(error: RequestValidationError) -> str:
    """Names the malformed parameters (never their values)."""
    names = sorted({str(item["loc"][-1]) for item in error.errors()
                    if isinstance(item, Mapping) and item.get("loc")})
    return f"Malformed parameter: {', '.join(names)}." if names else \
        "A parameter is missing or malformed."


class Open311Route(APIRoute):
    """An ``APIRoute`` whose errors are answered in the GeoReport v2 shape (see the module)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as error:
                status = 400 if error.status == 422 else error.status
                return open311_error(request, status, _describe(error), error.headers)
            except RequestValidationError as error:
                return open311_error(request, 400, _describe_invalid(error))
            except StarletteHTTPException as error:  # e.g. a malformed multipart body
                return open311_error(request, error.status_code,
                                     "The request body cannot be read.", error.headers)

        return route
