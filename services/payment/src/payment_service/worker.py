"""The payment worker: relays the outbox (``payment.payments``), runs the consumers (payment
requests, account erasures), the expiry job and the refund submitter (refunds
not yet sent to the provider, e.g. after a late success), until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal

from prometheus_client import start_http_server

from city_shared.db import create_engine, create_session_factory
from city_shared.logs import configure_logging
from city_shared.telemetry import setup_tracing
from city_shared.worker import run_worker
from payment_service.payments.expiry import run_expiry
from payment_service.providers.registry import build_providers
from payment_service.refunds.jobs import run_refund_submitter
from payment_service.settings import PaymentSettings
from payment_service.subscriptions import build_subscriptions
from payment_service.topics import COMMAND_TOPICS, OWNED_TOPICS

__all__ = ["main", "run_payment_worker"]


async def run_payment_worker(settings: PaymentSettings, stop: asyncio.Event) -> None:
    """The shared worker (topics, relay, consumers) beside the expiry job; returns when ``stop``
    is set. When either ends on its own, the other is stopped too and a crash is re-raised
    (the process exits non-zero and is restarted)."""
    engine = create_engine(settings.database_url.get_secret_value(), pool_size=2)
    sessions = create_session_factory(engine)
    providers = build_providers(settings, sessions)
    tasks = [
        asyncio.create_task(run_worker(
            settings, topics=OWNED_TOPICS, subscriptions=build_subscriptions(settings, providers),
            owned_topics=COMMAND_TOPICS, stop=stop,
        ), name="worker"),
        asyncio.create_task(run_refund_submitter(sessions, providers, stop), name="refunds"),
        asyncio.create_task(run_expiry(
            sessions, stop, interval=settings.expiry_interval_seconds,
            batch_size=settings.expiry_batch_size,
        ), name="expiry"),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await engine.dispose()
    for result in results:
        if isinstance(result, Exception):
            raise result


def main() -> None:
    """Entry point of ``payment-worker``."""
    settings = PaymentSettings()
    configure_logging(settings.service_name, level=settings.log_level, json=settings.log_json)
    setup_tracing(settings.service_name, otlp_endpoint=settings.otlp_endpoint)
    settings.warn_if_insecure()
    if settings.worker_metrics_port:
        start_http_server(settings.worker_metrics_port, addr=settings.http_host)

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_payment_worker(settings, stop)

    asyncio.run(_main())
