"""The notification worker: the shared backbone (topics, outbox relay, consumers for citizen
events, notification requests and identity's account events) plus the delivery job that sends
due deliveries. Runs until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from city_shared.db import asyncpg_dsn, create_engine, create_session_factory
from city_shared.worker import run_process, run_worker
from notification_service.channels.documents import DocumentFetcher
from notification_service.channels.email import SmtpSender
from notification_service.channels.sms import SandboxSmsProvider
from notification_service.deliveries.sending import Channels, DeliveryConfig, run_delivery_job
from notification_service.rules.view import RuleView
from notification_service.settings import NotificationSettings
from notification_service.subscriptions import build_subscriptions
from notification_service.topics import COMMAND_TOPICS, OWNED_TOPICS

__all__ = ["build_channels", "document_fetcher", "main", "run_notification_worker"]


def build_channels(
    settings: NotificationSettings, sessions: async_sessionmaker[AsyncSession]
) -> Channels:
    """The channel adapters from settings (SMTP server, sandbox SMS, the document sources
    e-mails attach from)."""
    return Channels(
        email=SmtpSender(settings.smtp_host, settings.smtp_port, settings.smtp_from,
                         timeout=settings.smtp_timeout_seconds,
                         message_id_domain=settings.message_id_domain),
        sms=SandboxSmsProvider(sessions),
        documents=document_fetcher(settings),
    )


def document_fetcher(settings: NotificationSettings) -> DocumentFetcher:
    """The fetcher of e-mails' documents from settings."""
    return DocumentFetcher(sources=tuple(settings.document_sources),
                           fetch_via=dict(settings.document_fetch_via),
                           max_bytes=settings.document_max_bytes,
                           timeout=settings.document_fetch_timeout_seconds)


async def run_notification_worker(settings: NotificationSettings, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set; a crashed task stops the others and is re-raised (the process
    exits non-zero and is restarted)."""
    engine = create_engine(settings.database_url.get_secret_value(), pool_size=2)
    sessions = create_session_factory(engine)
    channels = build_channels(settings, sessions)
    config = DeliveryConfig.from_settings(settings)
    rules = RuleView(asyncpg_dsn(settings.database_url.get_secret_value()),
                     refresh_seconds=settings.rules_refresh_seconds)

    async def deliver(stop: asyncio.Event) -> None:
        await run_delivery_job(sessions, channels, config, stop,
                               interval=settings.delivery_interval_seconds)

    async def refresh_rules(stop: asyncio.Event) -> None:
        await rules.run(stop)

    try:
        await run_worker(
            settings, topics=OWNED_TOPICS, subscriptions=build_subscriptions(settings, rules),
            owned_topics=COMMAND_TOPICS, jobs=(deliver, refresh_rules), stop=stop,
        )
    finally:
        await engine.dispose()


def main() -> None:
    """Entry point of ``notification-worker``."""
    settings = NotificationSettings()
    run_process(settings, lambda stop: run_notification_worker(settings, stop))
