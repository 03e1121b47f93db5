"""The sandbox webhook endpoint: only correctly signed, fresh, first-seen notifications change
anything; late, repeated and out-of-order ones never book twice."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from payment_service.payments import service as payments_service

SUCCEEDED = "payment.succeeded"
FAILED = "payment.failed"


@pytest.fixture
def ledger_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call of the ledger hook (the real hook still runs)."""
    calls: list[str] = []
    original = payments_service.on_payment_succeeded

    async def spy(session: Any, payment: Any) -> None:
        calls.append(str(payment.id))
        await original(session, payment)

    monkeypatch.setattr(payments_service, "on_payment_succeeded", spy)
    return calls


async def _unchanged(payments: Any, created: dict[str, Any]) -> None:
    row = await payments.row(created["payment_id"])
    assert (row.status, row.version) == ("created", 1)
    assert await payments.scalar("SELECT count(*) FROM provider_notifications") == 0
    assert await payments.events_of(created["payment_id"]) == ["city.payment.payment.created.v1"]


async def test_a_signed_success_marks_the_payment_paid_and_books_it_once(
    payments: Any, ledger_calls: list[str]
) -> None:
    created = await payments.create()
    response = await payments.send_webhook(
        payments.notification(SUCCEEDED, created["provider_payment_id"]))

    assert response.status_code == 200
    assert response.json() == {"status": "processed"}
    row = await payments.row(created["payment_id"])
    assert (row.status, row.reason) == ("succeeded", None)
    assert row.finished_at is not None
    assert ledger_calls == [created["payment_id"]]
    assert await payments.events_of(created["payment_id"]) == [
        "city.payment.payment.created.v1", "city.payment.payment.started.v1",
        "city.payment.payment.succeeded.v1"]


@pytest.mark.parametrize("secret", ["a-secret-nobody-configured-1", ""])
async def test_a_wrong_signature_is_rejected_and_changes_nothing(
    payments: Any, secret: str
) -> None:
    created = await payments.create()
    body = json.dumps(payments.notification(SUCCEEDED, created["provider_payment_id"])).encode()
    headers = payments.sign(body, secret=secret or payments.SECRET)
    if not secret:  # a valid signature of another body
        headers = payments.sign(body + b" ")
    response = await payments.send_webhook(body, headers=headers)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "signature_mismatch"
    await _unchanged(payments, created)


@pytest.mark.parametrize("offset", [-301, -3600, 330])  # future: margin for a slow machine
async def test_a_stale_or_future_timestamp_is_rejected_and_changes_nothing(
    payments: Any, offset: int
) -> None:
    created = await payments.create()
    response = await payments.send_webhook(
        payments.notification(SUCCEEDED, created["provider_payment_id"]),
        timestamp=int(time.time()) + offset)

    assert response.status_code == 401
    assert response.json()["code"] == "timestamp_out_of_tolerance"
    await _unchanged(payments, created)


@pytest.mark.parametrize("header", [
    None, "", "v1=abc", "t=1", "t=abc,v1=" + "0" * 64, "t=1,t=2,v1=" + "0" * 64,
    "t=1,v1=XYZ", "nonsense", "t=1," + ",".join(["v1=" + "0" * 64] * 9), b"t=1,v1=" + b"\xe9" * 64,
])
async def test_a_malformed_signature_header_is_rejected_and_changes_nothing(
    payments: Any, header: str | bytes | None
) -> None:
    created = await payments.create()
    body = json.dumps(payments.notification(SUCCEEDED, created["provider_payment_id"])).encode()
    headers: dict[str, str | bytes] = {"Content-Type": "application/json"}
    if header is not None:
        headers["Sandbox-Signature"] = header
    response = await payments.send_webhook(body, headers=headers)

    assert response.status_code == 400, response.text
    assert response.json()["code"] == "signature_header_malformed"
    await _unchanged(payments, created)


async def test_a_replayed_notification_id_changes_nothing(
    payments: Any, ledger_calls: list[str]
) -> None:
    created = await payments.create()
    notice = payments.notification(FAILED, created["provider_payment_id"], reason="declined",
                                   notification_id="evt_replayed")
    first = await payments.send_webhook(notice)
    assert first.json() == {"status": "processed"}

    # Signed afresh, and even with another outcome under the same id: it was seen before.
    for body in (notice, {**notice, "type": SUCCEEDED}):
        again = await payments.send_webhook(body)
        assert again.status_code == 200
        assert again.json() == {"status": "already_processed"}
    row = await payments.row(created["payment_id"])
    assert (row.status, row.reason) == ("failed", "declined")
    assert ledger_calls == []
    assert await payments.events_of(created["payment_id"]) == [
        "city.payment.payment.created.v1", "city.payment.payment.started.v1",
        "city.payment.payment.failed.v1"]


async def test_any_active_secret_is_accepted_and_a_retired_one_is_not(
    payments_app: Any,
) -> None:
    async with payments_app() as payments:
        created = await payments.create()
        old = await payments.send_webhook(
            payments.notification(SUCCEEDED, created["provider_payment_id"]),
            secret=payments.OLD_SECRET)
        assert old.json() == {"status": "processed"}
    async with payments_app(sandbox_webhook_secrets=["rotated-secret-number-three"]) as payments:
        created = await payments.create()
        retired = await payments.send_webhook(
            payments.notification(SUCCEEDED, created["provider_payment_id"]),
            secret=payments.SECRET)
        assert retired.status_code == 401
        assert (await payments.row(created["payment_id"])).status == "created"


async def test_duplicate_successes_with_new_ids_book_once_even_at_the_same_time(
    payments: Any, ledger_calls: list[str]
) -> None:
    created = await payments.create()
    notices = [payments.notification(SUCCEEDED, created["provider_payment_id"])
               for _ in range(10)]
    results = await asyncio.gather(*(payments.send_webhook(n) for n in notices))

    assert sorted(r.json()["status"] for r in results) == ["no_change"] * 9 + ["processed"]
    assert ledger_calls == [created["payment_id"]]
    assert len(await payments.outbox("city.payment.payment.succeeded.v1")) == 1
    assert await payments.scalar("SELECT count(*) FROM provider_notifications") == 10


async def test_a_decline_after_the_success_changes_nothing(
    payments: Any, ledger_calls: list[str]
) -> None:
    created = await payments.create()
    provider_id = created["provider_payment_id"]
    await payments.send_webhook(payments.notification(SUCCEEDED, provider_id))
    late = await payments.send_webhook(payments.notification(FAILED, provider_id,
                                                             reason="declined"))

    assert late.json() == {"status": "no_change"}
    assert (await payments.row(created["payment_id"])).status == "succeeded"
    assert ledger_calls == [created["payment_id"]]


async def test_a_success_after_a_decline_is_refunded_not_booked(
    payments: Any, ledger_calls: list[str], refund_requests: list[tuple[str, int, str, str]]
) -> None:
    created = await payments.create()
    provider_id = created["provider_payment_id"]
    await payments.send_webhook(payments.notification(FAILED, provider_id, reason="declined"))
    late = await payments.send_webhook(payments.notification(SUCCEEDED, provider_id))

    assert late.json() == {"status": "late_success"}
    assert (await payments.row(created["payment_id"])).status == "failed"
    assert ledger_calls == []
    assert refund_requests == [(created["payment_id"], 1300, "late_success", "system")]


async def test_a_notification_for_an_unknown_payment_is_acknowledged_and_remembered(
    payments: Any,
) -> None:
    notice = payments.notification(SUCCEEDED, "sbx_" + "0" * 32, notification_id="evt_unknown")
    first = await payments.send_webhook(notice)
    again = await payments.send_webhook(notice)

    assert first.json() == {"status": "unknown_payment"}
    assert again.json() == {"status": "already_processed"}
    assert await payments.outbox() == []


@pytest.mark.parametrize("body", [
    b"", b"{", b"[]", b'{"id": "x"}', b'{"id": "e1", "type": "payment.refunded", "created": 1,'
    b' "data": {"provider_payment_id": "sbx_x"}}',
    b'{"id": "", "type": "payment.succeeded", "created": 1, "data": {"provider_payment_id": "a"}}',
    b'{"id": "e\\u0000", "type": "payment.succeeded", "created": 1,'
    b' "data": {"provider_payment_id": "a"}}',
    b'{"id": "e2", "type": "payment.succeeded", "created": 1,'
    b' "data": {"provider_payment_id": "a", "amount": "13"}}',
])
async def test_a_signed_body_that_is_no_notification_is_rejected(
    payments: Any, body: bytes
) -> None:
    response = await payments.send_webhook(body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "webhook_payload_invalid"
    assert await payments.scalar("SELECT count(*) FROM provider_notifications") == 0


async def test_an_oversized_body_is_rejected_before_verification(payments: Any) -> None:
    body = b'{"pad": "' + b"x" * 70_000 + b'"}'
    response = await payments.send_webhook(body)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_the_endpoint_is_gone_when_the_sandbox_is_disabled(payments_app: Any) -> None:
    async with payments_app(sandbox_enabled=False, default_provider="none") as payments:
        response = await payments.send_webhook(payments.notification(SUCCEEDED, "sbx_x"))
        assert response.status_code == 404
