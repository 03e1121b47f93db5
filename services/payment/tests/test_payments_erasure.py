"""``account.erased``: the person's data leaves their payments, the bookings stay, and a second
delivery changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from city_shared.consumer import PermanentFailure
from city_shared.envelope import Event, new_event
from city_shared.unit_of_work import unit_of_work
from payment_service.payments.handlers import ACCOUNT_ERASED, on_account_erased


class _Erased(BaseModel):
    account_id: str
    tenant: str


def _erased(account_id: uuid.UUID, tenant: str = "musterstadt",
            event_tenant: str | None = None) -> Event:
    return new_event(type=ACCOUNT_ERASED, source="/identity", subject=str(account_id),
                     tenant=event_tenant or tenant,
                     data=_Erased(account_id=str(account_id), tenant=tenant))


async def _deliver(payments: Any, event: Event) -> None:
    async with unit_of_work(payments.sessions) as session:  # as the consumer does
        await on_account_erased(session, event)


async def test_erasure_removes_the_payer_and_keeps_the_booking_even_when_delivered_twice(
    payments: Any,
) -> None:
    erikas = await payments.create()
    await payments.send_webhook(payments.notification("payment.succeeded",
                                                      erikas["provider_payment_id"]))
    maxs = await payments.create(payments.body(payer={"account_id": str(payments.MAX),
                                                      "email": "max@example.org"}))
    event = _erased(payments.ERIKA)

    for _ in range(2):
        await _deliver(payments, event)
        row = await payments.row(erikas["payment_id"])
        assert (row.payer_account_id, row.payer_email, row.payer_name) == (None, None, None)
        assert (row.status, row.amount) == ("succeeded", 1300)
    assert (await payments.row(erikas["payment_id"])).version == 4  # 3 changes + 1 erasure
    assert len(await payments.history(erikas["payment_id"])) == 3
    kept = await payments.get(erikas["payment_id"])
    assert kept.json()["payer"] is None
    assert [i["amount"] for i in kept.json()["line_items"]] == [800, 500]
    listed = await payments.client.get("/payments",
                                       headers=payments.citizen_headers(payments.ERIKA))
    assert listed.json()["items"] == []
    other = await payments.row(maxs["payment_id"])
    assert (other.payer_account_id, other.payer_email) == (payments.MAX, "max@example.org")


async def test_erasure_in_another_tenant_leaves_these_payments_alone(payments: Any) -> None:
    created = await payments.create()
    await _deliver(payments, _erased(payments.ERIKA, tenant=payments.OTHER_TENANT))
    assert (await payments.row(created["payment_id"])).payer_account_id == payments.ERIKA


async def test_an_erasure_event_that_contradicts_itself_or_lacks_data_is_rejected(
    payments: Any,
) -> None:
    with pytest.raises(PermanentFailure):
        await _deliver(payments, _erased(payments.ERIKA, event_tenant=payments.OTHER_TENANT))
    broken = new_event(type=ACCOUNT_ERASED, source="/identity", subject="x",
                       tenant="musterstadt", data=_Erased(account_id="nope", tenant="musterstadt"))
    with pytest.raises(ValidationError):
        await _deliver(payments, broken)
