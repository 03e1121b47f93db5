"""The answers every service gives besides its routes' own, written into its OpenAPI document.

The platform's middleware answers on behalf of any route: a request body over the limit (413
``body_too_large``) or one FastAPI cannot parse at all, e.g. not UTF-8 (400 ``bad_request``,
before any validation), a malformed, missing, reused or still-running ``Idempotency-Key`` (400,
422, 409), a dependency that is down (503 ``service_unavailable`` with ``Retry-After``) or more
requests than the process admits (503 ``overloaded``, :mod:`city_shared.admission`). A client
generated from the document, or a fuzzer checking the service against it, must find those
statuses documented on the operations where they can happen; :func:`document_platform_answers`
adds them once, so no route has to repeat them. FastAPI's own 422 (``HTTPValidationError``,
``application/json``) is replaced by the problem+json the platform really answers.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from pydantic.json_schema import models_json_schema

from city_shared.errors import PROBLEM_CONTENT_TYPE, Problem
from city_shared.idempotency import IDEMPOTENCY_KEY_HEADER

#: Operational paths: they answer without the database, or document their own 503.
_WITHOUT_DEPENDENCIES = frozenset({"/healthz", "/readyz", "/metrics"})
_BODY_METHODS = frozenset({"post", "put", "patch"})
_PROBLEM = {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying.",
                                "schema": {"type": "integer"}}}


def _answer(status: int, description: str, *, retry_after: bool = False) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": f"{HTTPStatus(status).phrase}: {description}",
                              "content": _PROBLEM}
    if retry_after:
        answer["headers"] = _RETRY_AFTER
    return answer


def _takes_idempotency_key(operation: dict[str, Any]) -> bool:
    return any(parameter.get("in") == "header"
               and str(parameter.get("name", "")).lower() == IDEMPOTENCY_KEY_HEADER.lower()
               for parameter in operation.get("parameters", []))


def _platform_answers(path: str, method: str, operation: dict[str, Any]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    bad_request: list[str] = []
    if method in _BODY_METHODS and "requestBody" in operation:
        answers["413"] = _answer(413, "the request body is over the limit (`body_too_large`).")
        bad_request.append("the request body cannot be parsed, e.g. it is not UTF-8 "
                           "(`bad_request`)")
    if _takes_idempotency_key(operation):
        bad_request.append("the `Idempotency-Key` header is malformed "
                           "(`invalid_idempotency_key`) or required and missing "
                           "(`idempotency_key_required`)")
    if bad_request:
        answers["400"] = _answer(400, "; ".join(bad_request) + ".")
    if _takes_idempotency_key(operation):
        answers["409"] = _answer(
            409, "a request with this `Idempotency-Key` is still running "
                 "(`idempotency_key_in_flight`); retry after `Retry-After`.", retry_after=True)
        answers["422"] = _answer(
            422, "this `Idempotency-Key` was used for a different request "
                 "(`idempotency_key_mismatch`), or the input is invalid.")
    if path not in _WITHOUT_DEPENDENCIES:
        answers["503"] = _answer(
            503, "a system the service depends on is unavailable (`service_unavailable`), or "
                 "the process is working on as many requests as it can (`overloaded`); "
                 "retry after `Retry-After`.", retry_after=True)
    return answers


def _is_fastapi_validation_answer(answer: dict[str, Any] | None) -> bool:
    """True for FastAPI's own 422 (``application/json`` ``HTTPValidationError``): the
    platform's error handlers answer every validation error as problem+json instead."""
    schema = ((answer or {}).get("content", {}).get("application/json") or {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))


def _ensure_problem_schema(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    if "Problem" not in schemas:
        _, definitions = models_json_schema([(Problem, "serialization")],
                                            ref_template="#/components/schemas/{model}")
        for name, schema in definitions.get("$defs", {}).items():
            schemas.setdefault(name, schema)


def document_platform_answers(app: FastAPI) -> None:
    """Make ``app.openapi()`` document the platform's own answers on every operation where
    they can occur (a route's own documentation of the same status wins)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        _ensure_problem_schema(document)
        for path, item in document.get("paths", {}).items():
            for method, operation in item.items():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                responses: dict[str, Any] = operation["responses"]
                if _is_fastapi_validation_answer(responses.get("422")):
                    responses["422"] = _answer(
                        422, "the input does not match the schema (`validation_error`).")
                for status, answer in _platform_answers(path, method, operation).items():
                    responses.setdefault(status, answer)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
