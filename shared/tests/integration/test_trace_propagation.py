"""One trace from the HTTP request to the handler of the event it caused, across Kafka."""

from __future__ import annotations

import asyncio
import uuid

from fastapi import APIRouter, Request
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared import outbox
from city_shared.app import create_service_app
from city_shared.context import current_correlation_id
from city_shared.envelope import Event, new_event
from city_shared.settings import ServiceSettings
from city_shared.telemetry import setup_tracing
from city_shared.testing import serve_in_process

from .backbone_kit import Seq, make_consumer, migrated_db, new_topic, running_relay, wait_until


async def test_the_consumer_continues_the_trace_and_correlation_of_the_request(
    database_url, kafka_bootstrap: str  # type: ignore[no-untyped-def]
) -> None:
    exporter = InMemorySpanExporter()
    provider = setup_tracing("trace-test", exporter=exporter)
    url = database_url()
    db = await migrated_db(await url if asyncio.iscoroutine(url) else url)
    topic = await new_topic(kafka_bootstrap, partitions=1)
    dlq = await new_topic(kafka_bootstrap, partitions=1)

    router = APIRouter()

    @router.post("/things", status_code=201)
    async def create_thing(request: Request) -> dict[str, str]:
        async with request.app.state.session_factory() as session, session.begin():
            event = new_event(type="city.test.thing.happened.v1", source="/test",
                              subject="thing-1", tenant="musterstadt", data=Seq(seq=1))
            await outbox.add(session, topic, event)
        return {"event_id": str(event.id)}

    seen: list[tuple[int, str | None]] = []

    async def handler(session: AsyncSession, event: Event) -> None:
        seen.append((trace.get_current_span().get_span_context().trace_id,
                     current_correlation_id()))

    settings = ServiceSettings(service_name="trace-test", database_url=db.url, log_json=False)
    app = create_service_app(settings, title="t", description="t", routers=[router])
    consumer, dead_letters = make_consumer(db, kafka_bootstrap, topic, dlq, handler,
                                           group=f"g-{uuid.uuid4().hex[:8]}")
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        async with serve_in_process(app, base_url="http://test") as client, \
                running_relay(db, kafka_bootstrap):
            response = await client.post("/things", headers={"X-Correlation-ID": "journey-7"})
            assert response.status_code == 201
            await wait_until(lambda: _nonempty(seen), timeout=60)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
        await dead_letters.close()
        await db.engine.dispose()
    provider.force_flush()

    spans = exporter.get_finished_spans()
    server = [s for s in spans if s.kind == SpanKind.SERVER and "/things" in s.name]
    producer = [s for s in spans if s.kind == SpanKind.PRODUCER
                and s.name == "outbox publish"
                and any(link.context.trace_id == _trace_of(server) for link in s.links)]
    consumed = [s for s in spans if s.kind == SpanKind.CONSUMER and topic in s.name]
    assert (len(server), len(producer), len(consumed)) == (1, 1, 1)
    request_trace = server[0].context.trace_id
    assert consumed[0].context.trace_id == request_trace
    assert seen == [(request_trace, "journey-7")]


def _trace_of(server_spans) -> int | None:  # type: ignore[no-untyped-def]
    return server_spans[0].context.trace_id if server_spans else None


async def _nonempty(items: list[tuple[int, str | None]]) -> bool:
    return bool(items)
