"""Examples in the case API's OpenAPI document: path parameters named after the demo data
(``musterstadt``, the demo library's services and parameters, the demo intake destination) so
that a reader's first try, and a fuzzer's examples phase, names something that exists; and the
models' own examples whole (FastAPI drops their ``null`` members, which makes an example of a
response miss fields it always has)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel

from case_service.catalogue.demo_library import DEMO_SERVICES, parameters_id
from case_service.intake.seed import demo_destination_id

__all__ = ["EXAMPLE_IDS", "PATH_EXAMPLES", "document_examples"]

_NAMESPACE: Final = uuid.UUID("3b7e0c2a-6d41-5f08-9c3e-7a1d2f0e0013")
#: The ids the examples use for a citizen's own rows (a draft, its attachment, a case, an intake
#: submission); the demo does not create them, a test seeding "the documented examples" may.
EXAMPLE_IDS: Final[dict[str, uuid.UUID]] = {
    name: uuid.uuid5(_NAMESPACE, name)
    for name in ("draft_id", "case_id", "attachment_id", "submission_id", "part_id",
                 "document_id", "template_id")}

PATH_EXAMPLES: Final[Mapping[str, object]] = {
    "tenant": "musterstadt",
    "service_id": str(DEMO_SERVICES["bewohnerparkausweis"]),
    "version": 1,
    "parameters_id": str(parameters_id("musterstadt", "bewohnerparkausweis")),
    "destination_id": str(demo_destination_id("musterstadt")),
    # An RFC 7638 thumbprint, the form of every kid (the demo's keys are made on seeding).
    "kid": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
    "fmt": "json",
    "service_code": "strassenschaden",
    "service_request_id": "MS-2026-000123",
    "action": "start_review",
    "department": "citizens-office",
    "token": "eyJkIjoiOWY4ZTdkNmMifQ.ZxYwVg.signature",
    **{name: str(value) for name, value in EXAMPLE_IDS.items()},
}


def _model_examples(app: FastAPI) -> dict[str, list[Any]]:
    """Model name -> the ``examples`` of its JSON schema, for every model a route takes or
    answers with (and the models they refer to)."""
    models: set[type[BaseModel]] = set()

    def collect(routes: Iterable[object]) -> None:
        for route in routes:
            included = getattr(route, "original_router", None)  # an included router
            if included is not None:
                collect(included.routes)
            if not isinstance(route, APIRoute):
                continue
            for candidate in (route.response_model, getattr(route.body_field, "type_", None)):
                if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                    models.add(candidate)

    collect(app.routes)
    found: dict[str, list[Any]] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in {**schema.get("$defs", {}), model.__name__: schema}.items():
            if "examples" in definition:
                found.setdefault(name, definition["examples"])
    return found


def document_examples(app: FastAPI, examples: Mapping[str, object] = PATH_EXAMPLES) -> None:
    """Make ``app.openapi()`` give each path parameter named in ``examples`` that example
    (a parameter's own examples win), and each component schema its model's examples whole."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()
        for item in document.get("paths", {}).values():
            for operation in item.values():
                for parameter in (operation.get("parameters", [])
                                  if isinstance(operation, dict) else []):
                    name = parameter.get("name")
                    if (parameter.get("in") == "path" and name in examples
                            and "example" not in parameter and "examples" not in parameter):
                        parameter["examples"] = {"demo": {"value": examples[name]}}
        schemas = document.get("components", {}).get("schemas", {})
        for name, model_examples in _model_examples(app).items():
            if "examples" in schemas.get(name, {}):
                schemas[name]["examples"] = model_examples
        return document

    app.openapi = openapi  # type: ignore[method-assign]
