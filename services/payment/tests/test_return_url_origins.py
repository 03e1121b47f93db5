"""``return_url`` is where the payment page sends a person after paying: only origins the city
registered (``CITY_PAYMENT_RETURN_URL_ORIGINS``) are accepted, so nobody can use the city's
payment page to send citizens to a look-alike site."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from city_shared.envelope import new_event
from city_shared.unit_of_work import unit_of_work
from payment_service.payments.handlers import PAYMENT_REQUEST
from payment_service.settings import PaymentSettings
from payment_service.subscriptions import build_subscriptions


async def test_a_foreign_origin_is_refused(payments: Any) -> None:
    for url in ("https://evil.example/orders/1", "https://tickets.example.org.evil.example/x",
                "http://tickets.example.org/orders/1"):
        response = await payments.client.post(
            "/payments", json=payments.body(return_url=url),
            headers={**payments.client_headers(), "Idempotency-Key": str(uuid.uuid4())})
        assert response.status_code == 422, (url, response.text)
        assert response.json()["code"] == "return_url_not_allowed"
    assert await payments.scalar("SELECT count(*) FROM payments") == 0


async def test_a_registered_origin_is_accepted(payments: Any) -> None:
    created = await payments.create(payments.body(
        return_url="https://tickets.example.org:443/orders/7f3c?paid=1"))
    assert created["return_url"] == "https://tickets.example.org:443/orders/7f3c?paid=1"


def test_development_defaults_to_the_demo_frontend() -> None:
    settings = PaymentSettings(database_url="postgresql+asyncpg://x/y")
    assert "http://127.0.0.1:5173" in settings.payment_return_url_origins


class _Command(BaseModel):
    model_config = ConfigDict(extra="allow")


@pytest.mark.parametrize("return_url", [None, "https://tickets.example.org/orders/1",
                                        "https://evil.example/orders/1"])
async def test_the_ticket_journeys_request_still_opens_a_payment(
    payments: Any, return_url: str | None,
) -> None:
    """Ticketing sends the order's return URL (or none): a registered one is kept, a foreign
    one is dropped (the page then confirms itself) rather than the order never being paid."""
    reference = f"ticketing/order/{uuid.uuid4().hex[:12]}"
    body = payments.body(reference=reference)
    event = new_event(type=PAYMENT_REQUEST, source="/ticketing", subject=reference,
                      tenant="musterstadt", data=_Command(
                          request_id=str(uuid.uuid4()), tenant="musterstadt",
                          reference=reference, amount=body["amount"], currency="EUR",
                          description=body["description"], return_url=return_url,
                          line_items=body["line_items"]))
    subscriptions = build_subscriptions(payments.settings, payments.app.state.providers)
    [subscription] = [s for s in subscriptions if s.event_type == PAYMENT_REQUEST]
    async with unit_of_work(payments.sessions) as session:  # as the consumer does
        await subscription.handler(session, event)

    stored = await payments.scalar("SELECT return_url FROM payments WHERE reference = :r",
                                   r=reference)
    assert stored == (None if return_url and "evil" in return_url else return_url)
