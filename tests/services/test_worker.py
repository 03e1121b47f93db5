"""A service worker for real: provisions topics, relays its outbox, dead-letters bad commands."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import REGISTRY
from pydantic import BaseModel
from sqlalchemy import text

from city_shared import outbox
from city_shared.db import create_engine, create_session_factory
from city_shared.deadletters import list_dead_letters
from city_shared.envelope import new_event, to_kafka
from city_shared.worker import run_worker
from devstack.ports import free_port
from devstack.pytest_plugin import MakeMigratedDatabase
from payment_service.settings import PaymentSettings
from payment_service.topics import COMMAND_TOPICS, OWNED_TOPICS

ALEMBIC_INI = str(Path(__file__).resolve().parents[2] / "services" / "payment" / "alembic.ini")


class Probe(BaseModel):
    note: str


async def test_payment_worker_provisions_relays_and_dead_letters_unknown_commands(
    migrated_database: MakeMigratedDatabase, kafka_bootstrap: str
) -> None:
    url = await migrated_database(ALEMBIC_INI)
    settings = PaymentSettings(database_url=url, kafka_bootstrap_servers=kafka_bootstrap,
                               log_json=False, outbox_poll_interval_seconds=0.2)
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(
        settings, topics=OWNED_TOPICS, owned_topics=COMMAND_TOPICS, stop=stop))
    engine = create_engine(url)
    try:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            for _ in range(100):
                topics = set(await admin.list_topics())
                if {"payment.payments", "payment.requests", "payment.deadletters"} <= topics:
                    break
                await asyncio.sleep(0.2)
        finally:
            await admin.close()
        assert {"payment.payments", "payment.requests", "payment.deadletters"} <= topics

        # An event written to the outbox is published by the worker's relay.
        async with create_session_factory(engine)() as session, session.begin():
            await outbox.add(session, "payment.payments", new_event(
                type="city.payment.payment.probed.v1", source="/payment", subject="p-1",
                tenant="musterstadt", data=Probe(note="hello")))
        for _ in range(100):
            async with engine.connect() as conn:
                left = (await conn.execute(text(
                    "SELECT count(*) FROM outbox WHERE published_at IS NULL"))).scalar_one()
            if left == 0:
                break
            await asyncio.sleep(0.2)
        assert left == 0

        # A command nobody handles on the command topic the worker owns is dead-lettered.
        command = new_event(type="city.payment.request.v1", source="/ticketing",
                            subject="ticketing/order/1", tenant="musterstadt",
                            data=Probe(note="collect"))
        message = to_kafka(command)
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait("payment.requests", value=message.value,
                                         key=b"ticketing/order/1",
                                         headers=list(message.headers.items()))
        finally:
            await producer.stop()
        letters = []
        for _ in range(150):
            letters = [d for d in await list_dead_letters(kafka_bootstrap, "payment.deadletters")
                       if d.event_id == str(command.id)]
            if letters:
                break
            await asyncio.sleep(0.2)
        assert [d.reason for d in letters] == ["unknown_type"]
        assert REGISTRY.get_sample_value(
            "city_dead_letters_total", {"group": "payment-worker", "reason": "unknown_type"}
        ) >= 1
    finally:
        stop.set()
        await asyncio.wait_for(worker, timeout=30)
        await engine.dispose()


async def test_worker_probes_say_alive_then_ready_once_consuming(
    migrated_database: MakeMigratedDatabase, kafka_bootstrap: str
) -> None:
    url = await migrated_database(ALEMBIC_INI)
    port = free_port()
    settings = PaymentSettings(database_url=url, kafka_bootstrap_servers=kafka_bootstrap,
                               log_json=False, worker_metrics_port=port)
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(
        settings, topics=OWNED_TOPICS, owned_topics=COMMAND_TOPICS, stop=stop))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            ready = None
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    ready = await http.get("/readyz")
                    if ready.status_code == 200:
                        break
                await asyncio.sleep(0.2)
            assert ready is not None
            assert ready.status_code == 200
            assert ready.json()["consumer_assigned"] is True
            alive = await http.get("/healthz")
            assert alive.status_code == 200
            assert "stale" not in alive.json()
            metrics = await http.get("/metrics")
            assert "city_outbox_relay_active" in metrics.text
    finally:
        stop.set()
        await asyncio.wait_for(worker, timeout=30)
