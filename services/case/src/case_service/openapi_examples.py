"""Examples for the path parameters of the case API's OpenAPI document, named after the demo
data (``musterstadt``, the demo library's services and parameters, the demo intake destination)
so that a reader's first try, and a fuzzer's examples phase, names something that exists."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

from fastapi import FastAPI

from case_service.catalogue.demo_library import DEMO_SERVICES, parameters_id
from case_service.intake.seed import demo_destination_id

__all__ = ["EXAMPLE_IDS", "PATH_EXAMPLES", "document_path_examples"]

_NAMESPACE: Final = uuid.UUID("3b7e0c2a-6d41-5f08-9c3e-7a1d2f0e0013")
#: The ids the examples use for a citizen's own rows (a draft, its attachment, a case, an intake
#: submission); the demo does not create them, a test seeding "the documented examples" may.
EXAMPLE_IDS: Final[dict[str, uuid.UUID]] = {
    name: uuid.uuid5(_NAMESPACE, name)
    for name in ("draft_id", "case_id", "attachment_id", "submission_id")}

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
    **{name: str(value) for name, value in EXAMPLE_IDS.items()},
}


def document_path_examples(app: FastAPI,
                           examples: Mapping[str, object] = PATH_EXAMPLES) -> None:
    """Make ``app.openapi()`` give each path parameter named in ``examples`` that example
    (a parameter's own examples win)."""
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
        return document

    app.openapi = openapi  # type: ignore[method-assign]
