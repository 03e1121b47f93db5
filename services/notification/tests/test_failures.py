"""The delivery job under SMTP failures: temporary failure with backoff, then delivered;
permanent failure after the last attempt; nothing is lost and nothing sent twice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

ERIKA = uuid.UUID("6f1c0c52-3f0e-4a55-9d0e-2b7c1f6b8a10")


async def email_delivery(notify: Any, event: Any) -> Any:
    return next(d for d in await notify.deliveries(event.id) if d.channel == "email")


async def test_an_unreachable_smtp_server_is_retried_with_backoff_then_delivered(
    notify: Any,
) -> None:
    address = notify.new_address()
    event = notify.order_event(account_id=ERIKA, email=address)
    await notify.handle(event)
    start = datetime.now(UTC)
    counts = await notify.deliver(smtp_port=notify.CLOSED_PORT, now=start)
    assert counts == {"temporary_failure": 1, "delivered": 1}  # the inbox needs no SMTP
    failed = await email_delivery(notify, event)
    assert (failed.status, failed.reason, failed.attempts) == (
        "temporary_failure", "smtp_unreachable", 1)
    assert failed.next_attempt_at == start + timedelta(seconds=60)
    # Not due yet: the next round does nothing, even with the server back.
    assert await notify.deliver(now=start + timedelta(seconds=30)) == {}
    assert notify.mails_to(address) == []
    # The second failure doubles the wait.
    await notify.deliver(smtp_port=notify.CLOSED_PORT, now=start + timedelta(seconds=61))
    failed = await email_delivery(notify, event)
    assert failed.attempts == 2
    assert failed.next_attempt_at == start + timedelta(seconds=61 + 120)
    assert await notify.deliver(now=start + timedelta(seconds=200)) == {"delivered": 1}
    delivered = await email_delivery(notify, event)
    assert (delivered.status, delivered.attempts) == ("delivered", 3)
    assert len(notify.mails_to(address)) == 1
    assert len(await notify.outbox("city.notification.delivery.failed.v1")) == 0


async def test_after_the_last_attempt_the_delivery_fails_for_good(notify: Any) -> None:
    address = notify.new_address()
    event = notify.order_event(account_id=ERIKA, email=address)
    await notify.handle(event)
    moment = datetime.now(UTC)
    for _ in range(notify.settings.delivery_max_attempts):
        await notify.deliver(smtp_port=notify.CLOSED_PORT, now=moment)
        moment += timedelta(days=1)
    failed = await email_delivery(notify, event)
    assert (failed.status, failed.reason, failed.attempts) == (
        "permanent_failure", "smtp_unreachable", notify.settings.delivery_max_attempts)
    assert await notify.deliver(now=moment + timedelta(days=1)) == {}
    assert notify.mails_to(address) == []
    [failed_event] = await notify.outbox("city.notification.delivery.failed.v1")
    assert failed_event.data["channel"] == "email"
    assert failed_event.data["attempts"] == notify.settings.delivery_max_attempts


async def test_a_delivery_claimed_by_a_crashed_worker_is_sent_when_its_lease_ends(
    notify: Any,
) -> None:
    address = notify.new_address()
    event = notify.order_event(account_id=ERIKA, email=address, department=None)
    await notify.handle(event)
    delivery = await email_delivery(notify, event)
    now = datetime.now(UTC)
    async with notify.engine.begin() as conn:  # a worker claimed it and died before sending
        await conn.execute(text(
            "UPDATE deliveries SET status = 'sending', attempts = 1, next_attempt_at = :lease "
            "WHERE id = :id"), {"id": delivery.id, "lease": now + timedelta(minutes=5)})
    counts = await notify.deliver(now=now)
    assert "delivered" in counts  # the inbox; the e-mail is still leased
    assert notify.mails_to(address) == []
    await notify.deliver(now=now + timedelta(minutes=6))
    assert len(notify.mails_to(address)) == 1
    assert (await email_delivery(notify, event)).attempts == 2
