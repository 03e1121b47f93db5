"""The real worker on real Kafka: an order confirmation published on ``ticketing.orders`` ends
as an e-mail at the SMTP server and in the inbox; the delivery events are relayed."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import text

from city_shared.testing import publish
from city_shared.topics import TopicSpec, ensure_topics
from notification_service.subscriptions import CITIZEN_TOPICS
from notification_service.worker import run_notification_worker

ERIKA = uuid.UUID("6f1c0c52-3f0e-4a55-9d0e-2b7c1f6b8a10")


async def test_an_event_on_kafka_becomes_an_email(notify: Any, kafka_bootstrap: str) -> None:
    # Other services' workers provision their topics; the shared consumer waits until every
    # topic it subscribes to exists.
    await ensure_topics(kafka_bootstrap, [TopicSpec(name) for name in
                                          (*CITIZEN_TOPICS, "identity.accounts")])
    address = notify.new_address()
    event = notify.order_event(account_id=ERIKA, email=address,
                               tickets=[notify.ticket("MUS-KAFKA1")])
    settings = notify.settings.model_copy(update={
        "kafka_bootstrap_servers": kafka_bootstrap, "delivery_interval_seconds": 0.2,
        "outbox_poll_interval_seconds": 0.2})
    await publish(kafka_bootstrap, "ticketing.orders", (event, event))  # then a redelivery

    stop = asyncio.Event()
    worker = asyncio.create_task(run_notification_worker(settings, stop))
    try:
        for _ in range(300):  # up to 60 s: the worker provisions topics and joins the group
            published = await notify.scalar(
                "SELECT count(*) FROM outbox WHERE published_at IS NOT NULL "
                "AND event_type = 'city.notification.delivery.delivered.v1'")
            if notify.mails_to(address) and published == 2:
                break
            assert not worker.done(), worker
            await asyncio.sleep(0.2)
        [mail] = notify.mails_to(address)
        assert [p.get_filename() for p in mail.iter_attachments()] == ["ticket-MUS-KAFKA1.png"]
        assert published == 2
        assert len((await notify.inbox(ERIKA)).json()["items"]) == 1
    finally:
        stop.set()
        await asyncio.wait_for(worker, timeout=30)
    assert len(notify.mails_to(address)) == 1


async def test_a_broken_rule_on_kafka_fails_its_message_and_the_next_event_goes_out(
    notify: Any, kafka_bootstrap: str,
) -> None:
    """The fuzzer's case through the real worker: the tenant-wide confirmation rule names a
    missing template. The museum's confirmation is handled (its message failed, not a dead
    letter), and the pools' confirmation after it, with a rule of their own, is e-mailed."""
    await ensure_topics(kafka_bootstrap, [TopicSpec(name) for name in
                                          (*CITIZEN_TOPICS, "identity.accounts")])
    admin = notify.admin_headers()
    assert (await notify.client.post("/templates", headers=admin, json={
        "key": "pools-confirmed", "department": "pools",
        "content": {"de": {"email": {"subject": "Bad gebucht", "text": "Bis bald!"}}}})
            ).status_code == 201
    assert (await notify.client.post("/rules", headers=admin, json={
        "event_type": notify.CONFIRMED, "department": "pools",
        "template_key": "pools-confirmed", "channels": ["email"]})).status_code == 201
    async with notify.engine.begin() as conn:
        await conn.execute(text(
            "UPDATE rules SET template_key = 'no-such-template' WHERE department IS NULL "
            "AND event_type = :e"), {"e": notify.CONFIRMED})
    museum = notify.order_event(account_id=ERIKA, email=notify.new_address())
    address = notify.new_address()
    pools = notify.order_event(account_id=ERIKA, email=address, department="pools")
    settings = notify.settings.model_copy(update={
        "kafka_bootstrap_servers": kafka_bootstrap, "delivery_interval_seconds": 0.2,
        "outbox_poll_interval_seconds": 0.2})
    await publish(kafka_bootstrap, "ticketing.orders", (museum, pools))

    stop = asyncio.Event()
    worker = asyncio.create_task(run_notification_worker(settings, stop))
    try:
        for _ in range(300):  # up to 60 s
            if notify.mails_to(address):
                break
            assert not worker.done(), worker
            await asyncio.sleep(0.2)
        assert [m["Subject"] for m in notify.mails_to(address)] == ["Bad gebucht"]
        assert {(d.status, d.reason) for d in await notify.deliveries(museum.id)} == {
            ("permanent_failure", "template_missing")}
    finally:
        stop.set()
        await asyncio.wait_for(worker, timeout=30)
