"""The command topic ``payment.requests``: a service asks by event and gets the same payment it
would get over REST; invalid commands end in the dead letters."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from city_shared.consumer import PermanentFailure
from city_shared.envelope import Event, new_event
from city_shared.topics import TopicSpec, ensure_topics
from city_shared.unit_of_work import unit_of_work
from payment_service.payments.handlers import IDENTITY_ACCOUNTS_TOPIC, PAYMENT_REQUEST
from payment_service.subscriptions import build_subscriptions
from payment_service.topics import REQUESTS

DEAD_LETTERS = "payment.deadletters"


class _Command(BaseModel):
    model_config = ConfigDict(extra="allow")


def command(payments: Any, reference: str, *, source: str = "/ticketing",
            tenant: str = "musterstadt", data: dict[str, Any] | None = None) -> Event:
    """A ``city.payment.request.v1`` as ticketing sends it."""
    body = payments.body(reference=reference)
    fields = {
        "request_id": str(uuid.uuid4()), "tenant": tenant, "reference": reference,
        "amount": body["amount"], "currency": "EUR", "description": body["description"],
        "return_url": body["return_url"], "metadata": {"order_id": "7f3c"},
        "line_items": [{**item, "booking_text": "ignored"} for item in body["line_items"]],
        "payer": {"account_id": str(payments.ERIKA)}, "priority": "tolerated", **(data or {}),
    }
    return new_event(type=PAYMENT_REQUEST, source=source, subject=reference or "none",
                     tenant=tenant, data=_Command(**fields))


async def _handle(payments: Any, event: Event) -> None:
    subscriptions = build_subscriptions(payments.settings, payments.app.state.providers)
    [subscription] = [s for s in subscriptions if s.event_type == PAYMENT_REQUEST]
    async with unit_of_work(payments.sessions) as session:  # as the consumer does
        await subscription.handler(session, event)


async def test_a_command_creates_the_payment_and_answers_with_the_requesters_reference(
    payments: Any,
) -> None:
    event = command(payments, "ticketing/order/cmd-1")
    await _handle(payments, event)

    [created] = await payments.outbox("city.payment.payment.created.v1")
    assert created.data["reference"] == "ticketing/order/cmd-1"
    assert created.data["source"] == "ticketing"
    assert created.data["next_url"].startswith(f"{payments.BASE_URL}/sandbox/pay/sbx_")
    assert created.attributes["causationid"] == str(event.id)
    assert created.attributes["correlationid"] == event.correlationid
    payment = await payments.get(created.key)
    assert payment.json()["payer"]["account_id"] == str(payments.ERIKA)
    assert payment.json()["metadata"] == {"order_id": "7f3c"}


async def test_the_same_reference_by_rest_and_by_command_is_one_payment(payments: Any) -> None:
    body = payments.body(reference="ticketing/order/both")
    rest = await payments.create(body)  # client ticketing-service acts for source "ticketing"
    await _handle(payments, command(payments, "ticketing/order/both"))
    await _handle(payments, command(payments, "ticketing/order/both"))  # a re-sent command

    assert await payments.scalar("SELECT count(*) FROM payments") == 1
    assert len(await payments.outbox("city.payment.payment.created.v1")) == 1
    again = await payments.create(body, expect=200)
    assert again["payment_id"] == rest["payment_id"]

    # Another requester with the same reference is another payment.
    await _handle(payments, command(payments, "ticketing/order/both", source="/case"))
    assert await payments.scalar("SELECT count(*) FROM payments") == 2


@pytest.mark.parametrize("overrides", [
    {"amount": "1300"}, {"amount": 0}, {"line_items": []}, {"reference": ""},
    {"return_url": "javascript:alert(1)"}, {"request_id": "nope"}, {"currency": "euro"},
    {"line_items": [{"department": "Museum!", "cost_centre": "MUS", "description": "x",
                     "amount": 1300}]},
])
async def test_invalid_command_data_is_a_validation_error(
    payments: Any, overrides: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        await _handle(payments, command(payments, "ticketing/order/bad", data=overrides))
    assert await payments.scalar("SELECT count(*) FROM payments") == 0


async def test_commands_that_cannot_be_obeyed_fail_permanently(payments: Any) -> None:
    with pytest.raises(PermanentFailure):
        await _handle(payments, command(payments, "r-1", data={"amount": 999}))  # items: 1300
    with pytest.raises(PermanentFailure):  # data names another tenant than the envelope
        await _handle(payments, command(payments, "r-2",
                                        data={"tenant": payments.OTHER_TENANT}))
    await _handle(payments, command(payments, "r-3"))
    with pytest.raises(PermanentFailure):  # the reference exists with another amount
        await _handle(payments, command(payments, "r-3", data={
            "amount": 800, "line_items": [payments.line_item("museum", 800)]}))
    assert await payments.scalar("SELECT count(*) FROM payments") == 1


async def test_through_kafka_a_command_joins_the_rest_payment_and_a_bad_one_is_dead_lettered(
    payments: Any, kafka_bootstrap: str
) -> None:
    await ensure_topics(kafka_bootstrap, [
        TopicSpec(REQUESTS), TopicSpec(IDENTITY_ACCOUNTS_TOPIC),
        TopicSpec(DEAD_LETTERS, partitions=1, retention_ms=-1)])
    reference = f"ticketing/order/{uuid.uuid4().hex[:8]}"
    rest = await payments.create(payments.body(reference=reference))
    good = command(payments, reference)
    twice = command(payments, reference)
    bad = command(payments, f"{reference}-bad", data={"amount": "a lot"})

    await payments.run_requests(kafka_bootstrap, (good, twice, bad, good),  # last: redelivered
                                handled=(good, twice), rejected=bad)

    assert await payments.scalar(
        "SELECT count(*) FROM payments WHERE reference = :r", r=reference) == 1
    assert [r.key for r in await payments.outbox("city.payment.payment.created.v1")] == [
        rest["payment_id"]]
