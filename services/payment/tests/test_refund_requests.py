"""The command ``city.payment.refund.request.v1`` on ``payment.requests``: a service asks by
event to pay back (part of) the payment of its reference; one ``request_id`` is one refund, also
when the command comes again as a new event; commands that cannot be obeyed end in the dead
letters."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import text

from city_shared.consumer import PermanentFailure
from city_shared.envelope import Event, new_event
from city_shared.topics import TopicSpec, ensure_topics
from city_shared.unit_of_work import unit_of_work
from payment_service.payments.handlers import IDENTITY_ACCOUNTS_TOPIC
from payment_service.refunds.handlers import REFUND_REQUEST
from payment_service.refunds.jobs import submit_open_refunds
from payment_service.subscriptions import build_subscriptions
from payment_service.topics import REQUESTS

DEAD_LETTERS = "payment.deadletters"


class _Command(BaseModel):
    model_config = ConfigDict(extra="allow")


def refund_command(reference: str, amount: Any = 1300, *, request_id: str | None = None,
                   source: str = "/ticketing", tenant: str = "musterstadt",
                   data: dict[str, Any] | None = None) -> Event:
    """A ``city.payment.refund.request.v1`` as ticketing sends it."""
    fields = {"request_id": request_id or str(uuid.uuid4()), "tenant": tenant,
              "reference": reference, "amount": amount, "reason": "cancelled_by_citizen",
              **(data or {})}
    return new_event(type=REFUND_REQUEST, source=source, subject=reference or "none",
                     tenant=tenant, data=_Command(**fields))


async def paid(payments: Any, *, succeed: bool = True) -> dict[str, Any]:
    """A payment of 13.00 EUR created by ticketing (the client ``ticketing-service``)."""
    created = await payments.create()
    if succeed:
        done = await payments.send_webhook(payments.notification(
            "payment.succeeded", created["provider_payment_id"], amount=1300))
        assert done.json() == {"status": "processed"}, done.text
    return created


async def handle(payments: Any, event: Event) -> None:
    subscriptions = build_subscriptions(payments.settings, payments.app.state.providers)
    [subscription] = [s for s in subscriptions if s.event_type == REFUND_REQUEST]
    async with unit_of_work(payments.sessions) as session:  # as the consumer does
        await subscription.handler(session, event)


async def refunds_of(payments: Any, payment_id: str) -> list[Any]:
    async with payments.engine.connect() as conn:
        return list((await conn.execute(text(
            "SELECT amount, status, reason, requested_by FROM refunds WHERE payment_id = :p "
            "ORDER BY created_at"), {"p": payment_id})).all())


async def test_a_refund_command_refunds_once_per_request_id(payments: Any) -> None:
    payment = await paid(payments)
    command = refund_command(payment["reference"], request_id=str(uuid.uuid4()))
    resent = refund_command(payment["reference"], request_id=command.data["request_id"])
    assert resent.id != command.id

    await handle(payments, command)
    await handle(payments, command)   # the same event again (inbox lost)
    await handle(payments, resent)    # the requester sent the request again as a new event

    [refund] = await refunds_of(payments, payment["payment_id"])
    assert (refund.amount, refund.status, refund.reason, refund.requested_by) == (
        1300, "submitted", "cancelled_by_citizen", "ticketing")
    assert await submit_open_refunds(payments.sessions, payments.app.state.providers) == 1
    [answer] = await payments.outbox("city.payment.refund.succeeded.v1")
    assert answer.data["reference"] == payment["reference"]
    assert answer.data["source"] == "ticketing"
    assert (answer.data["amount"], answer.data["refunded_amount"]) == (1300, 1300)
    assert (await payments.row(payment["payment_id"])).refunded_amount == 1300
    history = [entry[0] for entry in await payments.history(payment["payment_id"])]
    assert history.count(REFUND_REQUEST) == 1


async def test_two_request_ids_are_two_refunds_up_to_the_amount(payments: Any) -> None:
    payment = await paid(payments)
    await handle(payments, refund_command(payment["reference"], 300))
    await handle(payments, refund_command(payment["reference"], 1000))

    assert [r.amount for r in await refunds_of(payments, payment["payment_id"])] == [300, 1000]
    with pytest.raises(PermanentFailure):  # nothing is left to refund
        await handle(payments, refund_command(payment["reference"], 1))


async def test_commands_that_cannot_be_obeyed_fail_permanently(payments: Any) -> None:
    payment = await paid(payments)
    unpaid = await paid(payments, succeed=False)
    with pytest.raises(PermanentFailure):  # no payment has this reference
        await handle(payments, refund_command("ticketing/order/unknown"))
    with pytest.raises(PermanentFailure):  # another requester's reference is not found
        await handle(payments, refund_command(payment["reference"], source="/case"))
    with pytest.raises(PermanentFailure):  # the payment took no money
        await handle(payments, refund_command(unpaid["reference"]))
    with pytest.raises(PermanentFailure):  # more than the payment
        await handle(payments, refund_command(payment["reference"], 1301))
    with pytest.raises(PermanentFailure):  # data names another tenant than the envelope
        await handle(payments, refund_command(payment["reference"],
                                              data={"tenant": payments.OTHER_TENANT}))
    assert await refunds_of(payments, payment["payment_id"]) == []


@pytest.mark.parametrize("overrides", [
    {"amount": 0}, {"amount": "1300"}, {"request_id": "nope"}, {"reference": ""},
])
async def test_invalid_command_data_is_a_validation_error(
    payments: Any, overrides: dict[str, Any]
) -> None:
    payment = await paid(payments)
    with pytest.raises(ValidationError):
        await handle(payments, refund_command(payment["reference"], data=overrides))
    assert await refunds_of(payments, payment["payment_id"]) == []


async def test_through_kafka_a_repeated_request_is_one_refund_and_a_bad_one_is_dead_lettered(
    payments: Any, kafka_bootstrap: str
) -> None:
    await ensure_topics(kafka_bootstrap, [
        TopicSpec(REQUESTS), TopicSpec(IDENTITY_ACCOUNTS_TOPIC),
        TopicSpec(DEAD_LETTERS, partitions=1, retention_ms=-1)])
    payment = await paid(payments)
    first = refund_command(payment["reference"])
    again = refund_command(payment["reference"], request_id=first.data["request_id"])
    bad = refund_command(payment["reference"], 99_999)

    await payments.run_requests(kafka_bootstrap, (first, again, bad, first),
                                handled=(first, again), rejected=bad)

    assert [r.amount for r in await refunds_of(payments, payment["payment_id"])] == [1300]
