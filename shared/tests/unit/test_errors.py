"""Problem+json rendering: domain errors, request validation, routing errors, crashes."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field, field_validator

from city_shared.errors import (
    PROBLEM_CONTENT_TYPE,
    Conflict,
    DomainError,
    FieldError,
    InsufficientAssurance,
    InvalidTransition,
    NotAuthenticated,
    ValidationFailed,
    install_error_handlers,
    problem_responses,
)

EMAIL = "erika.mustermann@example.org"


class OrderNotFound(DomainError):
    status = 404
    code = "order_not_found"
    title = "Order not found"


class Signup(BaseModel):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
    name: str = Field(min_length=2)
    age: int

    @field_validator("name")
    @classmethod
    def _no_digits(cls, value: str) -> str:
        if any(c.isdigit() for c in value):
            raise ValueError(f"name {value} must not contain digits")
        return value


def build_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/orders/{order_id}", responses=problem_responses(404))
    async def get_order(order_id: str) -> dict[str, str]:
        raise OrderNotFound(f"No order {order_id}.", extra={"order_id": order_id})

    @app.post("/signups")
    async def signup(body: Signup) -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError(f"database said: duplicate key {EMAIL}")

    @app.get("/busy")
    async def busy() -> None:
        raise Conflict("Still in flight.", headers={"Retry-After": "3"})

    @app.get("/domain-validation")
    async def domain_validation() -> None:
        raise ValidationFailed(
            "Slot is in the past.",
            errors=[FieldError(loc=["body", "slot"], msg="in the past", type="slot_in_past")],
        )

    return app


@pytest.fixture
async def client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=build_app(), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_domain_error_renders_problem_json_with_code_and_extensions(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/orders/42")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert response.json() == {
        "type": "https://errors.city-platform.example/order_not_found",
        "title": "Order not found",
        "status": 404,
        "detail": "No order 42.",
        "instance": "/orders/42",
        "code": "order_not_found",
        "order_id": "42",
    }


async def test_domain_error_headers_are_sent(client: httpx.AsyncClient) -> None:
    response = await client.get("/busy")

    assert response.status_code == 409
    assert response.headers["retry-after"] == "3"
    assert response.json()["code"] == "conflict"


async def test_validation_error_is_422_without_the_submitted_values(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/signups", json={"email": "erika.mustermann@@example", "name": "Erika1", "age": "x"}
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["code"] == "validation_error"
    assert {tuple(e["loc"]) for e in body["errors"]} == {
        ("body", "email"),
        ("body", "name"),
        ("body", "age"),
    }
    assert all(set(e) == {"loc", "msg", "type"} for e in body["errors"])
    assert "erika.mustermann" not in response.text
    assert "Erika1" not in response.text


async def test_invalid_email_is_not_echoed(client: httpx.AsyncClient) -> None:
    response = await client.post("/signups", json={"email": EMAIL + ".", "name": "Erika", "age": 1})

    assert response.status_code == 422
    assert EMAIL not in response.text


async def test_domain_validation_uses_the_same_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/domain-validation")

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["errors"] == [
        {"loc": ["body", "slot"], "msg": "in the past", "type": "slot_in_past"}
    ]


async def test_unknown_route_is_not_found_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["code"] == "not_found"
    assert response.json()["instance"] == "/nowhere"


async def test_wrong_method_is_method_not_allowed_problem(client: httpx.AsyncClient) -> None:
    response = await client.delete("/crash")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "GET" in response.headers["allow"]


async def test_unhandled_exception_is_500_without_its_message(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.get("/crash")

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["code"] == "internal_error"
    assert "duplicate key" not in response.text
    assert EMAIL not in response.text
    assert "RuntimeError" not in response.text


def test_insufficient_assurance_carries_required_acr() -> None:
    error = InsufficientAssurance("high")

    body = error.to_problem("/cases")

    assert (error.status, body["code"], body["required_acr"]) == (
        403,
        "insufficient_assurance",
        "high",
    )


def test_not_authenticated_asks_for_a_bearer_token() -> None:
    assert NotAuthenticated().headers["WWW-Authenticate"].startswith("Bearer ")


def test_extension_members_cannot_override_standard_members() -> None:
    with pytest.raises(ValueError, match="clash"):
        Conflict(extra={"status": 200})


def test_openapi_documents_problem_responses() -> None:
    schema = build_app().openapi()

    responses = schema["paths"]["/orders/{order_id}"]["get"]["responses"]
    assert "404" in responses
    assert PROBLEM_CONTENT_TYPE in responses["404"]["content"]
    assert "Problem" in schema["components"]["schemas"]


def test_an_invalid_transition_names_both_statuses() -> None:
    error = InvalidTransition("confirmed", "expired", noun="order")
    assert (error.status, error.code) == (409, "invalid_transition")
    assert error.detail == "This order is 'confirmed' and cannot become 'expired'."
    assert error.extra == {"current_status": "confirmed", "requested_status": "expired"}
