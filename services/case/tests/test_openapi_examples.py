"""The OpenAPI document gives every path parameter an example, and the demo's examples name
rows the demo seed creates: a reader's (and the fuzzer's) first try finds something."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from case_service.intake.seed import demo_destination_id

from .conftest import CaseHarness


def first_example(parameter: dict[str, Any]) -> object:
    if "example" in parameter:
        return parameter["example"]
    examples = parameter.get("examples")
    if isinstance(examples, dict):
        return next(iter(examples.values()))["value"]
    return (parameter.get("schema") or {}).get("examples", [None])[0]


async def test_every_path_parameter_has_an_example(case: CaseHarness) -> None:
    document = (await case.client.get("/openapi.json")).json()
    missing = [f"{method.upper()} {path}: {parameter['name']}"
               for path, item in document["paths"].items()
               for method, operation in item.items()
               for parameter in operation.get("parameters", [])
               if parameter["in"] == "path" and first_example(parameter) is None]

    assert missing == []


async def test_the_catalogue_examples_name_the_seeded_demo_rows(case: CaseHarness) -> None:
    document = (await case.client.get("/openapi.json")).json()

    def url(path: str) -> str:
        operation = document["paths"][path]["get"]
        for parameter in operation["parameters"]:
            if parameter["in"] == "path":
                path = path.replace("{" + parameter["name"] + "}",
                                    str(first_example(parameter)))
        return path

    public = await case.client.get(url("/public/{tenant}/services/{service_id}"))
    version = await case.client.get(url("/library/services/{service_id}/versions/{version}"),
                                    headers=case.platform_admin_headers())
    parameters = await case.client.get(url("/tenants/{tenant}/parameters/{parameters_id}"),
                                       headers=case.tenant_admin_headers())
    report_form = await case.client.get(url("/open311/v2/{tenant}/services/{service_code}.{fmt}"))

    assert public.status_code == 200, public.text
    assert public.json()["slug"] == "bewohnerparkausweis"
    assert version.status_code == 200, version.text
    assert parameters.status_code == 200, parameters.text
    assert report_form.status_code == 200, report_form.text


async def test_the_intake_examples_name_the_demo_destination(case: CaseHarness) -> None:
    document = (await case.client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    announce = schemas["SubmissionCreate"]["examples"][0]

    assert announce["destinationId"] == str(demo_destination_id("musterstadt"))
    assert schemas["SubmissionRead"]["examples"][0]["destinationId"] == announce["destinationId"]


async def test_the_request_body_examples_of_drafts_and_cases_are_accepted(
        case: CaseHarness) -> None:
    schemas = (await case.client.get("/openapi.json")).json()["components"]["schemas"]

    draft = await case.client.post("/drafts", json=schemas["DraftCreate"]["examples"][0],
                                   headers=case.citizen_headers(acr="substantial"))
    opened = await case.client.post("/cases", json=schemas["CaseCreate"]["examples"][0],
                                    headers={**case.client_headers(), "Idempotency-Key": "e"})

    assert draft.status_code == 201, draft.text
    assert draft.json()["service"]["id"] == schemas["DraftCreate"]["examples"][0]["service_id"]
    assert opened.status_code == 201, opened.text
    assert opened.json()["status"] == "awaiting_payment"



async def test_every_schema_example_matches_its_schema(case: CaseHarness) -> None:
    """An example that contradicts its own schema teaches readers (and the fuzzer) wrong."""
    document = (await case.client.get("/openapi.json")).json()
    components = document["components"]
    wrong = {}
    for name, schema in components["schemas"].items():
        validator = Draft202012Validator({"$ref": f"#/components/schemas/{name}",
                                          "components": components})
        for example in schema.get("examples", []):
            errors = [error.message for error in validator.iter_errors(example)]
            if errors:
                wrong[name] = errors

    assert wrong == {}
