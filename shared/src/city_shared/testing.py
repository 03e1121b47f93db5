"""Test support every service uses (no pytest dependency): a service app running in-process,
reading HTML pages like a browser, and events on a real Kafka.

:func:`serve_in_process` starts the app's lifespan, optionally makes it trust a test
:class:`~city_shared.auth.testing.TokenFactory` instead of identity's JWKS, and yields an
``httpx.AsyncClient`` talking to it through ASGI. :func:`html_forms` lists a page's forms with
their fields and buttons (identity's login page, payment's checkout page). :func:`publish`
sends events as a relay would; :func:`consuming` runs a service's subscriptions in a real
:class:`~city_shared.consumer.Consumer` for the duration of a block.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from city_shared.auth.testing import TokenFactory
from city_shared.consumer import Consumer, ConsumerConfig, Subscription
from city_shared.deadletters import DeadLetterPublisher
from city_shared.envelope import Event, to_kafka


@asynccontextmanager
async def serve_in_process(
    app: FastAPI, *, base_url: str, tokens: TokenFactory | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """Run ``app`` (lifespan included) for the duration of the block."""
    async with app.router.lifespan_context(app):
        if tokens is not None:
            # Set after startup: the lifespan installs the real verifier.
            app.state.token_verifier = tokens.verifier()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


@dataclass
class HtmlForm:
    """A form of a page as a browser would submit it (buttons listed apart)."""

    action: str
    fields: dict[str, str]
    buttons: list[tuple[str, str]]


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[HtmlForm] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(HtmlForm(values.get("action", ""), {}, []))
        elif tag == "input" and self.forms and "name" in values:
            self.forms[-1].fields[values["name"]] = values.get("value", "")
        elif tag == "button" and self.forms and "name" in values:
            self.forms[-1].buttons.append((values["name"], values.get("value", "")))


def html_forms(html: str) -> list[HtmlForm]:
    """The forms of an HTML page with their fields and buttons."""
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


async def publish(bootstrap_servers: str, topic: str, events: Iterable[Event]) -> None:
    """Send ``events`` to ``topic`` in order, as a service's relay would (binary mode, record
    key = the event's subject)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, enable_idempotence=True)
    await producer.start()
    try:
        for event in events:
            message = to_kafka(event)
            await producer.send_and_wait(topic, value=message.value, key=event.subject.encode(),
                                         headers=list(message.headers.items()))
    finally:
        await producer.stop()


@asynccontextmanager
async def consuming(
    bootstrap_servers: str, sessions: async_sessionmaker[AsyncSession],
    subscriptions: Sequence[Subscription], *, dead_letter_topic: str,
    owned_topics: Iterable[str] = (), max_attempts: int = 2,
) -> AsyncIterator[asyncio.Task[None]]:
    """A consumer of ``subscriptions`` (a fresh group, quick retries) running for the block;
    yields its task, so a test can assert that it has not crashed. Stopped afterwards."""
    dead_letters = DeadLetterPublisher(dead_letter_topic, bootstrap_servers)
    consumer = Consumer(
        ConsumerConfig(group_id=f"test-{uuid.uuid4().hex[:8]}",
                       bootstrap_servers=bootstrap_servers, dead_letter_topic=dead_letter_topic,
                       owned_topics=frozenset(owned_topics), max_attempts=max_attempts,
                       backoff_initial=0.05, backoff_max=0.1),
        sessions, subscriptions, dead_letters=dead_letters,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        yield task
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=30)
        finally:
            await dead_letters.close()


def start_refused(entry_point: str, env: Mapping[str, str]) -> str:
    """Run the console script ``entry_point`` of this environment with only ``env`` as its
    ``CITY_*`` settings (the caller's own ``CITY_*`` variables are dropped; ports are 0) and
    return everything it printed; raises ``AssertionError`` unless it exited non-zero with
    :class:`~city_shared.production.ProductionSettingsRefused`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CITY_")}
    clean.update(env, CITY_HTTP_PORT="0", CITY_WORKER_METRICS_PORT="0")
    script = Path(sys.executable).parent / entry_point
    result = subprocess.run([str(script)], env=clean, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode != 0, f"{entry_point} started in production mode"
    assert "ProductionSettingsRefused" in result.stderr, result.stderr[-2000:]
    return result.stderr + result.stdout
