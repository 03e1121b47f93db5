"""The sandbox provider as a person and a finance clerk meet it: the hosted pay page (pay,
decline, languages, CSRF), the webhook it sends, refunds and its settlement."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from payment_service.providers.base import PaymentProvider, SettlementLine


def _browser(payments: Any, **headers: str) -> httpx.AsyncClient:
    """A fresh browser (own cookie jar) that does not follow redirects."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=payments.app),
                             base_url=payments.BASE_URL, headers=headers)


async def _open_and_press(payments: Any, created: dict[str, Any], button: str) -> httpx.Response:
    async with _browser(payments) as browser:
        page = await browser.get(created["next_url"])
        assert page.status_code == 200, page.text
        [form] = payments.forms(page.text)
        assert ("action", button) in form.buttons
        return await browser.post(form.action, data={**form.fields, "action": button})


async def test_paying_on_the_page_confirms_by_webhook_and_returns_to_the_service(
    payments: Any,
) -> None:
    created = await payments.create()
    pid = created["payment_id"]

    done = await _open_and_press(payments, created, "pay")
    assert done.status_code == 303
    assert done.headers["location"] == payments.RETURN_URL
    await payments.deliver_webhooks()

    paid = (await payments.get(pid)).json()
    assert paid["state"] == {"status": "succeeded", "finished": True, "reason": None}
    assert paid["next_url"] is None
    assert await payments.events_of(pid) == [
        "city.payment.payment.created.v1", "city.payment.payment.started.v1",
        "city.payment.payment.succeeded.v1"]
    assert await payments.scalar(
        "SELECT count(*) FROM provider_notifications WHERE payment_id = :id", id=pid) == 1


async def test_declining_on_the_page_fails_the_payment(payments: Any) -> None:
    created = await payments.create()

    done = await _open_and_press(payments, created, "decline")
    assert done.status_code == 303
    await payments.deliver_webhooks()

    state = (await payments.get(created["payment_id"])).json()["state"]
    assert state == {"status": "failed", "finished": True, "reason": "declined"}


async def test_opening_the_page_starts_the_payment_once_and_shows_it_in_german(
    payments: Any,
) -> None:
    created = await payments.create()
    async with _browser(payments) as browser:
        page = await browser.get(created["next_url"])
        await browser.get(created["next_url"])

    assert page.headers["content-language"] == "de"
    assert "Bezahlen" in page.text
    assert "Ablehnen" in page.text
    assert "13,00 EUR" in page.text
    assert "8,00 EUR" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "form-action 'self' https://tickets.example.org" in (
        page.headers["content-security-policy"])
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "samesite=strict" in page.headers["set-cookie"].lower()
    assert "<script" not in page.text
    assert await payments.events_of(created["payment_id"]) == [
        "city.payment.payment.created.v1", "city.payment.payment.started.v1"]


@pytest.mark.parametrize(("query", "accept"), [("?lang=en", "de"), ("", "en-GB,en;q=0.9")])
async def test_the_page_speaks_english_when_asked(payments: Any, query: str, accept: str) -> None:
    created = await payments.create()
    async with _browser(payments, **{"Accept-Language": accept}) as browser:
        page = await browser.get(created["next_url"] + query)
    assert page.headers["content-language"] == "en"
    assert ">Pay<" in page.text
    assert ">Decline<" in page.text
    assert "13.00 EUR" in page.text


async def test_text_from_the_service_is_escaped(payments: Any) -> None:
    created = await payments.create(payments.body(
        description="<script>alert(1)</script>",
        line_items=[payments.line_item(description='"><img src=x onerror=alert(1)>',
                                       amount=1300)]))
    async with _browser(payments) as browser:
        page = await browser.get(created["next_url"])
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;" in page.text
    assert "<img" not in page.text


async def test_a_post_without_the_csrf_cookie_is_refused_and_sends_nothing(
    payments: Any,
) -> None:
    created = await payments.create()
    async with _browser(payments) as browser:
        page = await browser.get(created["next_url"])
        [form] = payments.forms(page.text)
    async with _browser(payments) as attacker:  # another site's form: no cookie
        response = await attacker.post(form.action, data={**form.fields, "action": "pay"})
    async with _browser(payments) as victim:  # a token minted for another payment
        other = await payments.create()
        other_page = await victim.get(other["next_url"])
        [other_form] = payments.forms(other_page.text)
        crossed = await victim.post(form.action, data={**other_form.fields, "action": "pay"})
    await payments.deliver_webhooks()

    assert response.status_code == 403
    assert crossed.status_code == 403
    assert (await payments.row(created["payment_id"])).status == "started"
    assert await payments.scalar("SELECT count(*) FROM provider_notifications") == 0


async def test_a_closed_payment_shows_its_outcome_and_no_buttons(payments: Any) -> None:
    created = await payments.create()
    await payments.client.post(f"/payments/{created['payment_id']}/cancel",
                               headers=payments.client_headers())
    async with _browser(payments) as browser:
        page = await browser.get(created["next_url"] + "?lang=en")
    assert page.status_code == 200
    assert payments.forms(page.text) == []
    assert "This payment was cancelled." in page.text


async def test_without_a_return_url_the_page_confirms_itself(payments: Any) -> None:
    created = await payments.create(payments.body(return_url=None))
    done = await _open_and_press(payments, created, "pay")
    assert done.status_code == 200
    assert "Vielen Dank" in done.text
    await payments.deliver_webhooks()
    assert (await payments.row(created["payment_id"])).status == "succeeded"


@pytest.mark.parametrize("provider_id", ["sbx_" + "a" * 32, "nope", "sbx_%3Cscript%3E" + "a" * 20])
async def test_an_unknown_pay_page_is_not_found(payments: Any, provider_id: str) -> None:
    async with _browser(payments) as browser:
        page = await browser.get(f"/sandbox/pay/{provider_id}")
    assert page.status_code == 404
    assert "<script" not in page.text


async def test_the_sandbox_is_a_payment_provider_with_stable_ids_and_refunds(
    payments: Any,
) -> None:
    provider = payments.sandbox
    assert isinstance(provider, PaymentProvider)
    created = await payments.create()
    async with payments.sessions() as session:
        from payment_service.payments.models import Payment

        payment = await session.get(Payment, uuid.UUID(created["payment_id"]))
        assert payment is not None
        again = await provider.create_hosted_payment(payment)
        refund = await provider.refund(payment, 500, idempotency_key="refund-1")
        repeated = await provider.refund(payment, 500, idempotency_key="refund-1")
    assert again.provider_payment_id == created["provider_payment_id"]
    assert again.next_url == created["next_url"]
    assert refund.status == "succeeded"
    assert refund == repeated


async def test_the_settlement_lists_what_was_paid_and_refunded_that_day(payments: Any) -> None:
    paid = await payments.create()
    await payments.send_webhook(payments.notification("payment.succeeded",
                                                      paid["provider_payment_id"]))
    await payments.create()  # open: not settled
    refund_id = uuid.uuid4()
    async with payments.engine.begin() as conn:
        from sqlalchemy import text

        await conn.execute(text(
            "INSERT INTO refunds (id, payment_id, tenant, amount, reason, status, requested_by,"
            " provider_refund_id, finished_at) VALUES (:id, :pid, 'musterstadt', 300, 'x',"
            " 'succeeded', 'test', 'sbx_rf_1', now())"), {"id": refund_id,
                                                          "pid": paid["payment_id"]})
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()

    settlement = await payments.sandbox.settlement(today)
    assert sorted((line.kind, line.amount) for line in settlement.lines) == [
        ("payment", 1300), ("refund", 300)]
    assert {str(line.payment_id) for line in settlement.lines} == {paid["payment_id"]}
    assert settlement.net("EUR") == 1000

    payments.sandbox.settlement_adjustments.append(SettlementLine(
        kind="payment", tenant="musterstadt", payment_id=uuid.uuid4(),
        provider_reference="sbx_unknown", amount=999, currency="EUR",
        settled_at=datetime.now(UTC)))
    assert (await payments.sandbox.settlement(today)).net("EUR") == 1999
    assert (await payments.sandbox.settlement(today.replace(year=today.year - 1))).lines == ()


async def test_the_pay_page_is_documented_with_the_answers_a_browser_gets(payments: Any) -> None:
    spec = (await payments.client.get("/openapi.json")).json()
    page = spec["paths"]["/sandbox/pay/{provider_payment_id}"]

    def types(method: str, status: str) -> set[str]:
        return set(page[method]["responses"][status].get("content", {}))

    assert types("get", "200") == {"text/html"}
    assert types("get", "404") == {"text/html", "application/problem+json"}
    assert types("get", "422") == {"application/problem+json"}
    assert "Location" in page["post"]["responses"]["303"]["headers"]
    assert [types("post", s) for s in ("200", "403", "409")] == [{"text/html"}] * 3
    assert "application/x-www-form-urlencoded" in page["post"]["requestBody"]["content"]

    async with _browser(payments) as browser:
        unknown = await browser.get("/sandbox/pay/sbx_" + "u" * 20)
        forged = await browser.post("/sandbox/pay/sbx_" + "u" * 20,
                                    data={"action": "pay", "csrf": "a.b"})
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("text/html")
    assert forged.status_code == 403
    assert forged.headers["content-type"].startswith("text/html")
