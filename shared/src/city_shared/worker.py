"""The worker process every service runs: topic provisioning, outbox relay, consumers, jobs,
and its probes.

``run_worker`` returns when ``stop`` is set (SIGTERM/SIGINT in :func:`run_process`): the
consumer finishes the record in hand, commits, and the relay stops after its current batch.

Faults are normal: the consumer and the relay wait out a database or broker that is down
(:mod:`city_shared.faults`), and a periodic job that fails is logged, counted
(``city_worker_task_restarts_total``) and started again after a backoff, without touching the
consumer; a consumer in trouble never stops the jobs either. Only an error that is no fault of
the infrastructure escaping the consumer or the relay (a bug) stops the whole worker, loudly
and with a non-zero exit, so the orchestrator restarts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from city_shared.consumer import Consumer, ConsumerConfig, Subscription
from city_shared.db import asyncpg_dsn, create_engine, create_session_factory
from city_shared.deadletters import DeadLetterPublisher, dead_letter_spec, dead_letter_topic
from city_shared.faults import Backoff, is_transient
from city_shared.idempotency import purge_expired
from city_shared.kafka_client import Brokers
from city_shared.logs import configure_logging
from city_shared.metrics import TRANSIENT_FAULTS, WORKER_TASK_RESTARTS
from city_shared.relay import OutboxRelay, RelayConfig
from city_shared.settings import ServiceSettings
from city_shared.telemetry import instrument_engine, setup_tracing
from city_shared.topics import TopicSpec, ensure_topics, wait_for_topics
from city_shared.worker_health import WorkerHealth, serve_probes

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


async def keep_running(service: str, name: str, job: Job, stop: asyncio.Event, *,
                       backoff: Backoff | None = None) -> None:
    """Run ``job`` until ``stop`` is set, starting it again after a backoff whenever it fails
    or returns early. A job's failure is logged (with its traceback unless it is a fault of the
    infrastructure) and counted; it never propagates to the worker's other tasks."""
    backoff = backoff or Backoff(1.0, 60.0)
    while not stop.is_set():
        try:
            await job(stop)
        except Exception as exc:
            if is_transient(exc):
                TRANSIENT_FAULTS.labels(service, name).inc()
                log.warning("worker job hit an infrastructure fault; restarting it",
                            extra={"task": name, "error": type(exc).__name__,
                                   "backoff_s": backoff.next})
            else:
                log.error("worker job failed; restarting it", exc_info=True,
                          extra={"task": name, "error": type(exc).__name__,
                                 "backoff_s": backoff.next})
        else:
            if stop.is_set():
                return
            backoff.reset()
        WORKER_TASK_RESTARTS.labels(service, name).inc()
        await backoff.wait(stop)


async def provision_topics(kafka: Brokers, specs: Sequence[TopicSpec], stop: asyncio.Event,
                           *, create: bool = True) -> bool:
    """Create the missing topics of ``specs``, waiting for the broker as long as it takes;
    False if ``stop`` was set first. Without ``create`` (``CITY_KAFKA_CREATE_TOPICS=false``)
    it never creates one: it waits until the operator has created them all (logged once)."""
    if not create:
        return await wait_for_topics(kafka, [spec.name for spec in specs], stop,
                                     waiting_for="the operator to create this worker's topics")
    backoff = Backoff(1.0, 10.0)
    while not stop.is_set():
        try:
            await ensure_topics(kafka, specs, timeout=10)
            return True
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("waiting for the broker to provision topics",
                        extra={"error": type(exc).__name__})
            await backoff.wait(stop)
    return False


def consumer_engine(url: str, *, pool_size: int) -> AsyncEngine:
    """The engine of the worker's consumer and housekeeping: as
    :func:`city_shared.db.create_engine`, but without ``pool_pre_ping``.

    The ping costs three round trips per checkout (asyncpg pings in a transaction of its own)
    and the consumer checks out a connection per transaction: about a third of the CPU of a
    one-record transaction. Nothing needs it here: a pooled connection that a restarted
    database closed fails its first statement, SQLAlchemy drops the pool's connections, and the
    consumer waits that fault out and retries like any other (:mod:`city_shared.faults`).
    """
    return create_engine(url, pool_size=pool_size, pre_ping=False)


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
    service's own periodic ``jobs`` (each gets ``stop``) until ``stop`` is set. Serves the
    probes on ``settings.worker_metrics_port`` when it is set."""
    service = settings.service_name
    kafka = settings.kafka_connection()  # incomplete or (production) clear-text settings stop
    dlq = dead_letter_topic(service)
    specs = [*topics, dead_letter_spec(service,
                                       retention_ms=settings.kafka_dead_letter_retention_ms,
                                       replication=settings.kafka_topic_replication)]
    health = WorkerHealth()
    others: list[asyncio.Task[None]] = []
    if settings.worker_metrics_port:
        others.append(asyncio.create_task(
            serve_probes(health, settings.http_host, settings.worker_metrics_port, stop),
            name="probes"))
    if not await provision_topics(kafka, specs, stop, create=settings.kafka_create_topics):
        stop.set()
        await asyncio.gather(*others, return_exceptions=True)
        return
    url = settings.database_url.get_secret_value()
    engine = consumer_engine(url, pool_size=settings.database_pool_size)
    instrument_engine(engine)
    relay = OutboxRelay(
        RelayConfig(
            service=service,
            dsn=asyncpg_dsn(url),
            kafka=kafka,
            batch_size=settings.outbox_batch_size,
            poll_interval=settings.outbox_poll_interval_seconds,
        )
    )
    # The consumer and the relay never end on a fault; if they end with an error, it is a bug.
    critical = [asyncio.create_task(relay.run(stop), name="outbox-relay")]
    dead_letters = DeadLetterPublisher(dlq, kafka)
    consumer: Consumer | None = None
    if subscriptions or owned_topics:
        consumer = Consumer(
            ConsumerConfig(
                group_id=settings.consumer_group,
                kafka=kafka,
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
        critical.append(asyncio.create_task(consumer.run(stop), name="consumer"))
    named_jobs: list[tuple[str, Job]] = [
        ("housekeeping", lambda s: _housekeeping(engine, s)),
        *((getattr(job, "__name__", "job"), job) for job in jobs),
    ]
    others += [asyncio.create_task(keep_running(service, name, job, stop), name=name)
               for name, job in named_jobs]
    health.attach(relay=relay, consumer=consumer,
                  consumer_ready=consumer.ready if consumer else None)
    log.info("worker started", extra={"tasks": [t.get_name() for t in critical + others]})
    try:
        done, _ = await asyncio.wait(critical, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            error = task.exception()
            if error is not None:
                log.critical("worker task crashed; stopping the worker",
                             exc_info=error, extra={"task": task.get_name()})
                raise error
    finally:
        stop.set()
        await asyncio.gather(*critical, *others, return_exceptions=True)
        await dead_letters.close()
        await engine.dispose()
        log.info("worker stopped")


def run_process(settings: ServiceSettings, body: Job) -> None:
    """Run ``body`` as a worker process: logging, tracing, and SIGTERM/SIGINT setting the
    ``stop`` event ``body`` receives."""
    configure_logging(settings.service_name, level=settings.log_level, json=settings.log_json)
    setup_tracing(settings.service_name, otlp_endpoint=settings.otlp_endpoint)
    settings.warn_if_insecure()  # development mode only; production refused earlier

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
