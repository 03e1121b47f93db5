"""The reconciliation job: a payment that waits too long for its provider's outcome is asked
about at the provider, and the outcome is applied as its webhook would be, once. A lost webhook
then only delays the outcome."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from payment_service.payments.models import Payment
from payment_service.providers.base import ProviderOutcome
from payment_service.providers.registry import Providers

SUCCEEDED = "city.payment.payment.succeeded.v1"
LATER = timedelta(seconds=121)  # past the default reconciliation threshold of 120 s


async def _press(harness: Any, created: dict[str, Any], button: str) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=harness.app),
                                 base_url=harness.BASE_URL) as browser:
        page = await browser.get(created["next_url"])
        [form] = harness.forms(page.text)
        await browser.post(form.action, data={**form.fields, "action": button})


async def _lose_webhooks(harness: Any) -> None:
    """The sandbox gave up its webhooks (or they went astray): none will be sent."""
    async with harness.engine.begin() as conn:
        await conn.execute(text("UPDATE sandbox_notifications SET due_at = NULL"))


class StubProvider:
    """A provider whose answers the test sets per provider payment id."""

    name = "sandbox"

    def __init__(self) -> None:
        self.answers: dict[str, ProviderOutcome | Exception | None] = {}
        self.asked: list[str] = []

    async def fetch_status(self, payment: Payment) -> ProviderOutcome | None:
        assert payment.provider_payment_id is not None
        self.asked.append(payment.provider_payment_id)
        answer = self.answers.get(payment.provider_payment_id)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _providers(stub: Any) -> Providers:
    return Providers({"sandbox": stub}, "sandbox")


def _outcome(provider_payment_id: str, kind: Any, reason: str | None = None) -> ProviderOutcome:
    return ProviderOutcome(provider="sandbox", notification_id=f"{provider_payment_id}:{kind}",
                           kind=kind, provider_payment_id=provider_payment_id, amount=1300,
                           currency="EUR", reason=reason)


async def test_a_lost_webhook_is_reconciled_and_arriving_later_changes_nothing(
    payments: Any,
) -> None:
    created = await payments.create()
    pid = created["payment_id"]
    await _press(payments, created, "pay")
    await _lose_webhooks(payments)
    now = datetime.now(UTC)

    assert await payments.reconcile(now=now) == 0  # not waiting long enough yet
    assert (await payments.row(pid)).status == "started"
    assert await payments.reconcile(now=now + LATER) == 1

    assert (await payments.get(pid)).json()["state"]["status"] == "succeeded"
    async with payments.engine.begin() as conn:  # the webhook turns up after all
        await conn.execute(text("UPDATE sandbox_notifications SET due_at = now()"))
    assert await payments.deliver_webhooks() == 1
    assert await payments.events_of(pid) == [
        "city.payment.payment.created.v1", "city.payment.payment.started.v1", SUCCEEDED]


async def test_a_payment_nobody_decided_stays_open(payments: Any) -> None:
    created = await payments.create()
    await _press(payments, created, "pay")
    undecided = await payments.create()

    assert await payments.reconcile(now=datetime.now(UTC) + LATER) == 1
    assert (await payments.row(undecided["payment_id"])).status == "created"
    assert (await payments.row(created["payment_id"])).status == "succeeded"


async def test_any_provider_is_asked_once_per_period_and_its_outcome_applied(
    payments: Any,
) -> None:
    created = await payments.create()
    provider_id = created["provider_payment_id"]
    stub = StubProvider()
    providers = _providers(stub)
    now = datetime.now(UTC)

    assert await payments.reconcile(now=now + LATER, providers=providers) == 0
    assert await payments.reconcile(now=now + LATER, providers=providers) == 0
    assert stub.asked == [provider_id]
    stub.answers[provider_id] = _outcome(provider_id, "payment.failed", "declined")
    assert await payments.reconcile(now=now + 2 * LATER, providers=providers) == 1

    state = (await payments.get(created["payment_id"])).json()["state"]
    assert state == {"status": "failed", "finished": True, "reason": "declined"}
    assert await payments.reconcile(now=now + 4 * LATER, providers=providers) == 0
    assert stub.asked == [provider_id, provider_id]


async def test_a_provider_that_cannot_answer_does_not_hold_up_the_others(payments: Any) -> None:
    broken = await payments.create()
    fine = await payments.create()
    stub = StubProvider()
    stub.answers[broken["provider_payment_id"]] = ConnectionError("provider down")
    stub.answers[fine["provider_payment_id"]] = _outcome(fine["provider_payment_id"],
                                                         "payment.succeeded")

    applied = await payments.reconcile(now=datetime.now(UTC) + LATER,
                                       providers=_providers(stub))

    assert applied == 1
    assert (await payments.row(fine["payment_id"])).status == "succeeded"
    assert (await payments.row(broken["payment_id"])).status == "created"


async def test_reconciliation_and_webhook_at_once_succeed_the_payment_once(
    payments: Any,
) -> None:
    created = [await payments.create() for _ in range(5)]
    for payment in created:
        await _press(payments, payment, "pay")
    later = datetime.now(UTC) + LATER

    results = await asyncio.gather(payments.reconcile(now=later), payments.reconcile(now=later),
                                   payments.deliver_webhooks())

    assert results[2] == 5  # every webhook answered 2xx, applied or already applied
    for payment in created:
        events = await payments.events_of(payment["payment_id"])
        assert events.count(SUCCEEDED) == 1
    assert await payments.scalar(
        "SELECT sum(credit) FROM ledger_entries WHERE account LIKE 'revenue:%'") == 5 * 1300
