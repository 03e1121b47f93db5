"""The sandbox's webhooks survive the process that took the decision: the pay page records the
decision, the worker's job sends it as a signed webhook (retried with backoff, one worker at a
time per webhook), and a decision is applied once however often it arrives."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

SUCCEEDED = "city.payment.payment.succeeded.v1"


def _browser(harness: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=harness.app),
                             base_url=harness.BASE_URL)


async def _press(harness: Any, created: dict[str, Any], button: str) -> httpx.Response:
    async with _browser(harness) as browser:
        page = await browser.get(created["next_url"])
        [form] = harness.forms(page.text)
        return await browser.post(form.action, data={**form.fields, "action": button})


class CountingTransport(httpx.AsyncBaseTransport):
    """Forwards to the app, counting posts; answers ``fail_with`` instead while it is set, and
    holds each post until ``gate`` is set."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.posts = 0
        self.fail_with: int | None = None
        self.gate = asyncio.Event()
        self.gate.set()
        self.entered = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.posts += 1
        self.entered.set()
        await self.gate.wait()
        if self.fail_with is not None:
            return httpx.Response(self.fail_with)
        return await self.inner.handle_async_request(request)


def _http(harness: Any, transport: CountingTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=transport, base_url=harness.BASE_URL)


async def test_a_payment_confirmed_before_the_api_process_died_succeeds_by_the_worker(
    payments_app: Any,
) -> None:
    async with payments_app() as first:
        created = await first.create()
        done = await _press(first, created, "pay")
        assert done.status_code == 303
    # That API process is gone before any webhook left it; a new one serves the webhooks.
    async with payments_app() as second:
        pid = created["payment_id"]
        assert (await second.row(pid)).status == "started"

        assert await second.deliver_webhooks() == 1

        assert (await second.get(pid)).json()["state"]["status"] == "succeeded"
        assert await second.events_of(pid) == [
            "city.payment.payment.created.v1", "city.payment.payment.started.v1", SUCCEEDED]
        assert await second.deliver_webhooks() == 0


async def test_a_decline_reaches_the_payment_by_the_worker_and_the_first_decision_stands(
    payments: Any,
) -> None:
    created = await payments.create(payments.body(return_url=None))
    declined = await _press(payments, created, "decline")
    again = await _press(payments, created, "pay")  # the page still shows its buttons

    assert "Die Zahlung wurde abgelehnt." in declined.text
    assert "Die Zahlung wurde abgelehnt." in again.text
    assert await payments.deliver_webhooks() == 1
    state = (await payments.get(created["payment_id"])).json()["state"]
    assert state == {"status": "failed", "finished": True, "reason": "declined"}
    assert await payments.scalar("SELECT count(*) FROM sandbox_notifications") == 1


async def test_an_unreachable_api_gets_the_webhook_later_with_backoff(payments: Any) -> None:
    created = await payments.create()
    await _press(payments, created, "pay")
    transport = CountingTransport(payments.app)
    transport.fail_with = 503
    now = datetime.now(UTC)
    async with _http(payments, transport) as http:
        assert await payments.deliver_webhooks(http=http, now=now) == 0
        assert await payments.deliver_webhooks(http=http, now=now) == 0  # not due yet
        assert transport.posts == 1
        transport.fail_with = None
        assert await payments.deliver_webhooks(http=http, now=now + timedelta(seconds=1)) == 1

    assert transport.posts == 2
    assert (await payments.row(created["payment_id"])).status == "succeeded"
    assert await payments.scalar(
        "SELECT attempts FROM sandbox_notifications WHERE delivered_at IS NOT NULL") == 2


async def test_a_webhook_the_api_rejects_is_not_retried(payments: Any) -> None:
    created = await payments.create()
    await _press(payments, created, "pay")
    transport = CountingTransport(payments.app)
    transport.fail_with = 400
    async with _http(payments, transport) as http:
        assert await payments.deliver_webhooks(http=http) == 0
        assert await payments.deliver_webhooks(
            http=http, now=datetime.now(UTC) + timedelta(hours=1)) == 0
    assert transport.posts == 1
    assert (await payments.row(created["payment_id"])).status == "started"


async def test_a_webhook_delivered_twice_succeeds_the_payment_once(payments: Any) -> None:
    created = await payments.create()
    await _press(payments, created, "pay")
    assert await payments.deliver_webhooks() == 1
    async with payments.engine.begin() as conn:  # the answer got lost: the sandbox sends again
        await conn.execute(text("UPDATE sandbox_notifications SET due_at = now(), "
                                "delivered_at = NULL"))
    assert await payments.deliver_webhooks() == 1

    assert (await payments.events_of(created["payment_id"])).count(SUCCEEDED) == 1
    assert await payments.scalar(
        "SELECT sum(credit) FROM ledger_entries WHERE payment_id = :id AND account LIKE "
        "'revenue:%'", id=created["payment_id"]) == 1300


async def test_two_workers_never_send_the_same_webhook_at_once(payments: Any) -> None:
    created = await payments.create()
    await _press(payments, created, "pay")
    transport = CountingTransport(payments.app)
    transport.gate.clear()
    async with _http(payments, transport) as http:
        first = asyncio.create_task(payments.deliver_webhooks(http=http))
        await transport.entered.wait()  # the first worker holds the webhook, mid-post
        second = await payments.deliver_webhooks(http=http)
        transport.gate.set()
        assert await first == 1
    assert second == 0
    assert transport.posts == 1
    assert (await payments.events_of(created["payment_id"])).count(SUCCEEDED) == 1


async def test_negative_control_a_webhook_sent_by_two_workers_counts_two_posts(
    payments: Any,
) -> None:
    """The count of the test above sees a second send when there is one."""
    created = await payments.create()
    await _press(payments, created, "pay")
    transport = CountingTransport(payments.app)
    async with _http(payments, transport) as http:
        await payments.deliver_webhooks(http=http)
        async with payments.engine.begin() as conn:
                await conn.execute(text("UPDATE sandbox_notifications SET due_at = now()"))
        await payments.deliver_webhooks(http=http)
    assert transport.posts == 2
