"""The worker process every service runs: topic provisioning, outbox relay, consumers, metrics.

``run_worker`` returns when ``stop`` is set (SIGTERM/SIGINT in :func:`main_loop`): the consumer
finishes the record in hand, commits, and the relay stops after its current batch. A crashed
task stops the whole worker (non-zero exit) so the orchestrator restarts it, rather than
running half a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from prometheus_client import start_http_server
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from city_shared.consumer import Consumer, ConsumerConfig, Subscription
from city_shared.db import asyncpg_dsn, create_engine, create_session_factory
from city_shared.deadletters import DeadLetterPublisher, dead_letter_topic
from city_shared.idempotency import purge_expired
from city_shared.logs import configure_logging
from city_shared.relay import OutboxRelay, RelayConfig
from city_shared.settings import ServiceSettings
from city_shared.telemetry import instrument_engine, setup_tracing
from city_shared.topics import TopicSpec, ensure_topics

log = logging.getLogger(__name__)

#: A periodic job of a service's worker: runs until the ``stop`` event is set.
Job = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


async def _housekeeping(engine: AsyncEngine, stop: asyncio.Event, every: float = 300) -> None:
    """Deletes expired idempotency keys and inbox rows older than 30 days."""
    while not stop.is_set():
        await purge_expired(engine)
        async with engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM inbox WHERE processed_at < now() - interval '30 days'")
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)


async def run_worker(
    settings: ServiceSettings,
    *,
    topics: Sequence[TopicSpec],
    subscriptions: Sequence[Subscription] = (),
    owned_topics: tuple[str, ...] = (),
    jobs: Sequence[Job] = (),
    stop: asyncio.Event,
) -> None:
    """Provision ``topics`` and the dead-letter topic, then relay, consume and run the
    service's own periodic ``jobs`` (each gets ``stop``) until ``stop`` is set."""
    service = settings.service_name
    dlq = dead_letter_topic(service)
    await ensure_topics(
        settings.kafka_bootstrap_servers,
        [*topics, TopicSpec(dlq, partitions=1, retention_ms=-1,
                            replication=settings.kafka_topic_replication)],
    )
    url = settings.database_url.get_secret_value()
    engine = create_engine(url, pool_size=settings.database_pool_size)
    instrument_engine(engine)
    relay = OutboxRelay(
        RelayConfig(
            service=service,
            dsn=asyncpg_dsn(url),
            bootstrap_servers=settings.kafka_bootstrap_servers,
            batch_size=settings.outbox_batch_size,
            poll_interval=settings.outbox_poll_interval_seconds,
        )
    )
    tasks = [
        asyncio.create_task(relay.run(stop), name="outbox-relay"),
        asyncio.create_task(_housekeeping(engine, stop), name="housekeeping"),
    ]
    dead_letters = DeadLetterPublisher(dlq, settings.kafka_bootstrap_servers)
    if subscriptions or owned_topics:
        consumer = Consumer(
            ConsumerConfig(
                group_id=settings.consumer_group,
                bootstrap_servers=settings.kafka_bootstrap_servers,
                dead_letter_topic=dlq,
                owned_topics=frozenset(owned_topics),
                max_attempts=settings.consumer_max_attempts,
                backoff_initial=settings.consumer_backoff_initial_seconds,
                backoff_max=settings.consumer_backoff_max_seconds,
            ),
            create_session_factory(engine),
            subscriptions,
            dead_letters=dead_letters,
        )
        tasks.append(asyncio.create_task(consumer.run(stop), name="consumer"))
    for job in jobs:
        tasks.append(asyncio.create_task(job(stop), name=getattr(job, "__name__", "job")))
    log.info("worker started", extra={"tasks": [t.get_name() for t in tasks]})
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None:
                log.error("worker task crashed", extra={"task": task.get_name(),
                                                        "error": type(task.exception()).__name__})
                stop.set()
                raise task.exception()  # type: ignore[misc]
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await dead_letters.close()
        await engine.dispose()
        log.info("worker stopped")


def run_process(settings: ServiceSettings, body: Job) -> None:
    """Run ``body`` as a worker process: logging, tracing, the metrics port, and SIGTERM/SIGINT
    setting the ``stop`` event ``body`` receives."""
    configure_logging(settings.service_name, level=settings.log_level, json=settings.log_json)
    setup_tracing(settings.service_name, otlp_endpoint=settings.otlp_endpoint)
    if settings.worker_metrics_port:
        start_http_server(settings.worker_metrics_port, addr=settings.http_host)

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await body(stop)

    asyncio.run(_main())


def main_loop(
    settings: ServiceSettings,
    *,
    topics: Sequence[TopicSpec],
    subscriptions: Sequence[Subscription] = (),
    owned_topics: tuple[str, ...] = (),
) -> None:
    """Entry point body of a ``<service>-worker`` that needs nothing beyond the backbone."""

    async def body(stop: asyncio.Event) -> None:
        await run_worker(
            settings, topics=topics, subscriptions=subscriptions, owned_topics=owned_topics,
            stop=stop,
        )

    run_process(settings, body)
