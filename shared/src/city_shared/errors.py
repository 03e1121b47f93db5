"""RFC 9457 problem details (``application/problem+json``) for every service.

Services raise :class:`DomainError` subclasses; :func:`install_error_handlers` renders them and
every framework error into one problem shape. Nothing here knows a business noun.

Problem body::

    {"type": "https://errors.city-platform.example/order_not_found", "title": "Order not found",
     "status": 404, "detail": "...", "instance": "/orders/42", "code": "order_not_found", ...}

``type`` is :data:`PROBLEM_TYPE_BASE` + ``code``: an identifier (never fetched by clients), stable
for as long as the ``code`` is. Clients branch on ``code`` (or ``type``), never on ``title`` or
``detail``, which are for humans; ``detail`` and ``instance`` are left out when unknown.
Extension members (``extra``) sit at the top level beside the standard members. Error text
never carries submitted values or exception messages: personal data must not leak through errors.

An infrastructure fault a request cannot help (PostgreSQL down, restarting or recovering, the
pool exhausted; classified by :func:`city_shared.faults.is_transient`) is a 503
``service_unavailable`` with ``Retry-After``, never a 500: see :func:`database_unavailable`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar, TypeAlias

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from city_shared.faults import causes, is_transient

__all__ = [
    "FAILED_SCOPE_KEY",
    "PROBLEM_CONTENT_TYPE",
    "PROBLEM_TYPE_BASE",
    "UNAVAILABLE_RETRY_AFTER_SECONDS",
    "Conflict",
    "DomainError",
    "FieldError",
    "Forbidden",
    "InsufficientAssurance",
    "InvalidTransition",
    "JsonValue",
    "NotAuthenticated",
    "NotFound",
    "Problem",
    "ServiceUnavailable",
    "ValidationFailed",
    "database_unavailable",
    "install_error_handlers",
    "problem_response",
    "problem_responses",
]

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
#: Set on the request's scope when an exception was turned into a response: the request's
#: unit of work (:mod:`city_shared.request_work`) rolls back instead of committing.
FAILED_SCOPE_KEY = "city_shared.failed"
PROBLEM_TYPE_BASE = "https://errors.city-platform.example/"

JsonValue: TypeAlias = (
    "str | int | float | bool | Sequence[JsonValue] | Mapping[str, JsonValue] | None"
)

#: ``Retry-After`` of a 503 caused by an infrastructure fault (a PostgreSQL restart takes seconds).
UNAVAILABLE_RETRY_AFTER_SECONDS = 5

_RESERVED_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "code"})


class Problem(BaseModel):
    """The problem+json body, for ``responses=`` declarations in OpenAPI.

    Extension members (e.g. ``required_acr``, ``errors``) are allowed beside the standard ones.
    """

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    code: str


class DomainError(Exception):
    """Base of every error a service raises on purpose; rendered as problem+json.

    Subclasses set the class attributes ``status``, ``code`` (stable, snake_case, part of the
    API contract) and ``title`` (short, constant per code). Per instance: ``detail`` (a human
    explanation of this occurrence, free of personal data), ``extra`` (extension members,
    names must not clash with the standard members) and ``headers`` (added to the response).
    """

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"
    default_headers: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        detail: str | None = None,
        *,
        extra: Mapping[str, JsonValue] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        clash = _RESERVED_MEMBERS.intersection(extra or {})
        if clash:
            raise ValueError(f"extension members clash with standard members: {sorted(clash)}")
        super().__init__(detail or self.title)
        self.detail = detail
        self.extra: dict[str, JsonValue] = dict(extra or {})
        self.headers: dict[str, str] = {**self.default_headers, **(headers or {})}

    def to_problem(self, instance: str | None = None) -> dict[str, JsonValue]:
        """The problem body of this error; ``instance`` is usually the request path."""
        return _problem(
            status=self.status,
            code=self.code,
            title=self.title,
            detail=self.detail,
            instance=instance,
            extra=self.extra,
        )


class NotAuthenticated(DomainError):
    """401: no usable credentials. The detail never says which check failed."""

    status = 401
    code = "not_authenticated"
    title = "Not authenticated"
    default_headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class Forbidden(DomainError):
    """403: authenticated, but not allowed to do this."""

    status = 403
    code = "forbidden"
    title = "Forbidden"


class InsufficientAssurance(Forbidden):
    """403: the login's level of assurance (``acr``) is too low for this operation.

    Carries the extension member ``required_acr`` so the client can send the user through a
    stronger login (step-up, RFC 9470 ``acr_values``) and retry.
    """

    code = "insufficient_assurance"
    title = "Insufficient level of assurance"

    def __init__(self, required_acr: str, detail: str | None = None) -> None:
        super().__init__(
            detail or f"This operation requires level of assurance '{required_acr}'.",
            extra={"required_acr": required_acr},
            headers={
                "WWW-Authenticate": (
                    f'Bearer error="insufficient_user_authentication", acr_values="{required_acr}"'
                )
            },
        )
        self.required_acr = required_acr


class NotFound(DomainError):
    """404: the resource does not exist or the caller may not know that it exists."""

    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    """409: the request conflicts with the current state of the resource."""

    status = 409
    code = "conflict"
    title = "Conflict"


class InvalidTransition(Conflict):
    """409: the current status of a resource does not allow the change asked for (every state
    machine of the platform raises this one)."""

    code = "invalid_transition"
    title = "Invalid status transition"

    def __init__(self, current: str, wanted: str, *, noun: str = "resource") -> None:
        super().__init__(
            f"This {noun} is '{current}' and cannot become '{wanted}'.",
            extra={"current_status": current, "requested_status": wanted},
        )
        self.current = current
        self.wanted = wanted


class FieldError(BaseModel):
    """One entry of the ``errors`` extension of a 422: where, what, and the error's kind."""

    loc: list[str | int]
    msg: str
    type: str


class ValidationFailed(DomainError):
    """422: the request is well-formed but its content is not acceptable.

    Renders with the same ``code`` and ``errors`` shape as request-schema validation, so a
    client handles both alike.
    """

    status = 422
    code = "validation_error"
    title = "Validation failed"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[FieldError] = (),
        extra: Mapping[str, JsonValue] | None = None,
    ) -> None:
        members: dict[str, JsonValue] = dict(extra or {})
        if errors:
            members["errors"] = [e.model_dump() for e in errors]
        super().__init__(detail, extra=members)


class ServiceUnavailable(DomainError):
    """503: a dependency the request needs is unreachable; the client may retry later."""

    status = 503
    code = "service_unavailable"
    title = "Service unavailable"


def database_unavailable() -> ServiceUnavailable:
    """The 503 for a request that failed on an infrastructure fault (database unreachable,
    restarting, recovering, no pooled connection in time): generic detail, ``Retry-After``."""
    return ServiceUnavailable(
        "The service cannot reach a system it depends on right now. Please retry shortly.",
        headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)},
    )


def problem_response(error: DomainError, instance: str | None = None) -> JSONResponse:
    """Render ``error`` as a problem+json response, e.g. from a middleware, which runs outside
    the exception handlers installed by :func:`install_error_handlers`."""
    return JSONResponse(
        error.to_problem(instance),
        status_code=error.status,
        headers=error.headers,
        media_type=PROBLEM_CONTENT_TYPE,
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status documented with the :class:`Problem` schema."""
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def install_error_handlers(app: FastAPI) -> None:
    """Render every error the app can raise as problem+json.

    - :class:`DomainError` -> its own status, code, extension members and headers;
    - request validation -> 422 ``validation_error`` with ``errors: [{loc, msg, type}]`` and
      never the submitted input;
    - Starlette ``HTTPException`` (unknown route, wrong method) -> ``not_found`` /
      ``method_not_allowed`` (other statuses: ``http_<status>``), its headers kept (``Allow``);
    - text PostgreSQL cannot store (a NUL character in a query parameter or a body) -> 422
      ``invalid_character``: it is input, and no input answers 500;
    - a transient infrastructure fault (:func:`city_shared.faults.is_transient`) -> 503
      ``service_unavailable`` with ``Retry-After``, logged as a warning with the error's type
      only (its message may name the database's address);
    - anything else -> 500 ``internal_error`` with a generic detail; the exception is logged.
    """
    app.add_exception_handler(DomainError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    # Database and network errors get their own handler, so they are answered inside the app
    # (the catch-all below answers from the outermost middleware, which re-raises to the server).
    for database_error in _DATABASE_ERRORS:
        app.add_exception_handler(database_error, _on_unhandled)
    app.add_exception_handler(Exception, _on_unhandled)


_DATABASE_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    SQLAlchemyError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


_HTTP_CODES: Mapping[int, str] = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "content_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "service_unavailable",
}


def _problem(
    *,
    status: int,
    code: str,
    title: str,
    detail: str | None,
    instance: str | None,
    extra: Mapping[str, JsonValue] | None = None,
) -> dict[str, JsonValue]:
    body: dict[str, JsonValue] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    body["code"] = code
    body.update(extra or {})
    return body


def _respond(
    body: Mapping[str, JsonValue], status: int, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_CONTENT_TYPE)


async def _on_domain_error(request: Request, exc: Exception) -> JSONResponse:
    request.scope[FAILED_SCOPE_KEY] = True
    assert isinstance(exc, DomainError)
    return problem_response(exc, request.url.path)


async def _on_request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    request.scope[FAILED_SCOPE_KEY] = True
    assert isinstance(exc, RequestValidationError)
    errors: list[JsonValue] = [_field_error(err).model_dump() for err in exc.errors()]
    body = _problem(
        status=422,
        code="validation_error",
        title=ValidationFailed.title,
        detail="The request does not match the expected schema.",
        instance=request.url.path,
        extra={"errors": errors},
    )
    return _respond(body, 422)


def _field_error(err: Mapping[str, Any]) -> FieldError:
    """A pydantic error without its ``input`` and ``ctx``. Built-in messages name only the
    constraint, but a custom validator's message might quote the value: redact it if it does."""
    msg = str(err.get("msg", ""))
    value = err.get("input")
    if isinstance(value, str) and len(value) >= 3 and value in msg:
        msg = msg.replace(value, "<redacted>")
    loc = [p if isinstance(p, int) else str(p) for p in err.get("loc", ())]
    return FieldError(loc=loc, msg=msg, type=str(err.get("type", "value_error")))


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method the requested path answers (Starlette names only the methods of the first
    route that matched the path, and FastAPI has one route per operation)."""
    routes = request.app.router.routes
    allowed = [method for method in _METHODS
               if any(route.matches({**request.scope, "method": method})[0] is Match.FULL
                      for route in routes)]
    return ", ".join(allowed)


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    request.scope[FAILED_SCOPE_KEY] = True
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    headers = exc.headers
    if status == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    phrase = _phrase(status)
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    body = _problem(
        status=status,
        code=_HTTP_CODES.get(status, f"http_{status}"),
        title=phrase,
        detail=detail,
        instance=request.url.path,
    )
    return _respond(body, status, headers)


#: PostgreSQL refuses to store these characters in text (NUL above all): input, not a bug.
_UNSTORABLE_TEXT = (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError)


async def _on_unhandled(request: Request, exc: Exception) -> JSONResponse:
    request.scope[FAILED_SCOPE_KEY] = True
    if any(isinstance(cause, _UNSTORABLE_TEXT) for cause in causes(exc)):
        body = _problem(
            status=422, code="invalid_character", title="Invalid character",
            detail="A text value contains a character that cannot be stored (such as NUL).",
            instance=request.url.path,
        )
        return _respond(body, 422)
    if is_transient(exc):
        logger.warning(
            "%s %s answered 503: %s (a dependency is unavailable)",
            request.method,
            request.url.path,
            type(exc).__qualname__,
        )
        return problem_response(database_unavailable(), request.url.path)
    # The message stays out of the log line itself; the traceback goes to the log handler,
    # whose formatter is responsible for redaction.
    logger.error(
        "unhandled %s on %s %s",
        type(exc).__qualname__,
        request.method,
        request.url.path,
        exc_info=exc,
    )
    body = _problem(
        status=500,
        code="internal_error",
        title="Internal server error",
        detail="An unexpected error occurred. It has been logged.",
        instance=request.url.path,
    )
    return _respond(body, 500)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
