"""The payment worker: the shared backbone (topics, outbox relay, consumers for payment requests
and account erasures) plus its jobs: expiring overdue payments, submitting refunds not yet sent
to the provider (e.g. after a late success), counting stalled payments, asking providers about
payments that wait too long for their outcome (reconciliation) and, with the sandbox provider,
sending its webhooks. Runs until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from city_shared.db import create_engine, create_session_factory
from city_shared.sagas import watch_stalled_sagas
from city_shared.worker import run_process, run_worker
from payment_service.payments.expiry import run_expiry
from payment_service.payments.reconciliation import run_reconciliation
from payment_service.payments.stalls import stalled_payments
from payment_service.providers.registry import build_providers
from payment_service.providers.sandbox_delivery import (
    DeliveryPolicy,
    WebhookSender,
    run_sandbox_delivery,
)
from payment_service.refunds.jobs import run_refund_submitter
from payment_service.settings import PaymentSettings
from payment_service.subscriptions import build_subscriptions
from payment_service.topics import COMMAND_TOPICS, OWNED_TOPICS

__all__ = ["main", "run_payment_worker"]


async def run_payment_worker(settings: PaymentSettings, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set; a crashed task stops the others and is re-raised (the process
    exits non-zero and is restarted)."""
    engine = create_engine(settings.database_url.get_secret_value(), pool_size=3)
    sessions = create_session_factory(engine)
    providers = build_providers(settings, sessions)

    async def expire_payments(stop: asyncio.Event) -> None:
        await run_expiry(sessions, stop, interval=settings.expiry_interval_seconds,
                         batch_size=settings.expiry_batch_size)

    async def submit_refunds(stop: asyncio.Event) -> None:
        await run_refund_submitter(sessions, providers, stop)

    async def count_stalled(stop: asyncio.Event) -> None:
        await watch_stalled_sagas(sessions, stalled_payments(settings), stop,
                                  service=settings.service_name,
                                  interval=settings.stall_check_interval_seconds)

    async def reconcile_payments(stop: asyncio.Event) -> None:
        after = timedelta(seconds=settings.reconciliation_after_seconds)
        await run_reconciliation(sessions, providers, stop, after=after,
                                 interval=settings.reconciliation_interval_seconds)

    http = httpx.AsyncClient(timeout=10.0)

    async def send_sandbox_webhooks(stop: asyncio.Event) -> None:
        await run_sandbox_delivery(
            sessions, WebhookSender.from_settings(settings, http), stop,
            policy=DeliveryPolicy.from_settings(settings),
            interval=settings.sandbox_delivery_interval_seconds)

    jobs = [expire_payments, submit_refunds, count_stalled, reconcile_payments]
    if settings.sandbox_enabled:
        jobs.append(send_sandbox_webhooks)
    try:
        await run_worker(
            settings, topics=OWNED_TOPICS, subscriptions=build_subscriptions(settings, providers),
            owned_topics=COMMAND_TOPICS, jobs=jobs, stop=stop,
        )
    finally:
        await http.aclose()
        await engine.dispose()


def main() -> None:
    """Entry point of ``payment-worker``."""
    settings = PaymentSettings()
    run_process(settings, lambda stop: run_payment_worker(settings, stop))
