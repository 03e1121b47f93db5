"""The OpenAPI document names what the browser and OAuth endpoints really answer: HTML pages
and redirects on ``/authorize``, RFC 6750 JSON errors on ``/userinfo`` (never problem+json)."""

from __future__ import annotations

from typing import Any

import pytest

from identity_service.main import create_app
from identity_service.settings import IdentitySettings


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    settings = IdentitySettings(database_url="postgresql+asyncpg://u:p@127.0.0.1:1/none",
                                log_json=False)
    paths: dict[str, Any] = create_app(settings).openapi()["paths"]
    return paths


@pytest.mark.parametrize("method", ["get", "post"])
def test_authorize_documents_its_redirect_and_its_html_error_page(
    document: dict[str, Any], method: str
) -> None:
    responses = document["/authorize"][method]["responses"]
    assert "Location" in responses["303"]["headers"]
    assert set(responses["400"]["content"]) == {"text/html"}
    assert set(responses["200"]["content"]) == {"text/html"}


def test_the_login_form_documents_wrong_credentials_and_the_lockout(
    document: dict[str, Any],
) -> None:
    responses = document["/authorize"]["post"]["responses"]
    assert set(responses["401"]["content"]) == {"text/html"}
    assert "Retry-After" in responses["429"]["headers"]


@pytest.mark.parametrize("method", ["get", "post"])
def test_userinfo_documents_its_bearer_errors_as_oauth_json(
    document: dict[str, Any], method: str
) -> None:
    responses = document["/userinfo"][method]["responses"]
    for status in ("401", "403"):
        assert set(responses[status]["content"]) == {"application/json"}
        assert "WWW-Authenticate" in responses[status]["headers"]


def test_my_attributes_are_documented_with_an_example_and_their_levels() -> None:
    settings = IdentitySettings(database_url="postgresql+asyncpg://u:p@127.0.0.1:1/none",
                                log_json=False)
    openapi = create_app(settings).openapi()
    operation = openapi["paths"]["/me/attributes"]["get"]
    schemas = openapi["components"]["schemas"]

    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    [example] = schemas[ref.rsplit("/", 1)[-1]]["examples"]
    assert {"401", "403", "404"} <= set(operation["responses"])
    assert [a["name"] for a in example["attributes"]] == sorted(
        a["name"] for a in example["attributes"])
    assert schemas["VerifiedAttributeRead"]["properties"]["level"]["enum"] == [
        "basic", "substantial", "high"]
