"""Kafka security against a real broker that authenticates and authorizes as production does:
SASL SCRAM-SHA-512 over TLS, the StandardAuthorizer (nothing allowed without an ACL) and, per
service, a Kafka user whose ACLs let it write its own topics, read what it subscribes to, use
its dead-letter topic and its consumer group (what Strimzi's ``KafkaUser`` resources declare).

Service ``alpha`` is the worker under test, configured only through its ``CITY_KAFKA_*``
settings, in production mode and without topic creation; ``beta`` is another service whose
events alpha subscribes to; ``nobody`` can log in but holds no ACL. The negative controls:
a user without ACLs is refused what alpha may do (so the ACLs, not the broker, grant it),
another service writes where alpha is refused (so the topic is writable), the right password
and the right CA connect where the wrong ones are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared import outbox
from city_shared.consumer import PermanentFailure, Subscription
from city_shared.deadletters import list_dead_letters
from city_shared.envelope import Event
from city_shared.kafka_client import KafkaConnection, client_options
from city_shared.relay import make_producer
from city_shared.settings import ServiceSettings
from city_shared.testing import publish
from city_shared.topics import TopicSpec, ensure_topics
from city_shared.worker import run_worker
from devstack import paths
from devstack.kafka import ensure_kafka_jars
from devstack.kafka_secured import Acl, Operation, Resource, ScramUser, SecuredKafkaServer
from devstack.ports import free_port, free_ports

from ..kafka_tls import BrokerTls, make_broker_tls, make_ca
from .backbone_kit import Db, migrated_db, seq_event, wait_until


def _user(name: str) -> ScramUser:
    return ScramUser(name, secrets.token_hex(12))


ADMIN, ALPHA, BETA, NOBODY = (_user(n) for n in ("admin", "alpha", "beta", "nobody"))
ALPHA_COMMANDS = "alpha.commands"  # alpha owns it: its outbox publishes there, its consumer reads
ALPHA_DEAD_LETTERS = "alpha.deadletters"
BETA_EVENTS = "beta.events"  # beta's; alpha subscribes
BETA_PRIVATE = "beta.private"  # beta's; alpha does not subscribe
EVENT_TYPE = "city.test.thing.happened.v1"
WAITING = "waiting for the operator to create this worker's topics"

ACLS = [
    Acl(ALPHA, Resource.TOPIC, ALPHA_COMMANDS, Operation.WRITE),
    Acl(ALPHA, Resource.TOPIC, ALPHA_COMMANDS, Operation.READ),
    Acl(ALPHA, Resource.TOPIC, ALPHA_DEAD_LETTERS, Operation.WRITE),
    Acl(ALPHA, Resource.TOPIC, ALPHA_DEAD_LETTERS, Operation.READ),
    Acl(ALPHA, Resource.TOPIC, BETA_EVENTS, Operation.READ),
    Acl(ALPHA, Resource.GROUP, "alpha-worker", Operation.READ),
    Acl(BETA, Resource.TOPIC, BETA_EVENTS, Operation.WRITE),
    Acl(BETA, Resource.TOPIC, BETA_PRIVATE, Operation.WRITE),
]


@dataclass
class Broker:
    server: SecuredKafkaServer
    tls: BrokerTls

    def connection(self, user: ScramUser, *, password: str | None = None,
                   ca_file: Path | None = None) -> KafkaConnection:
        """As a worker of ``user`` connects in production: SASL_SSL, SCRAM-SHA-512."""
        return KafkaConnection(
            self.server.tls_bootstrap_servers, security_protocol="SASL_SSL",
            sasl_username=user.name, sasl_password=SecretStr(password or user.password),
            ssl_ca_file=ca_file or self.tls.ca_file,
        )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def broker(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Broker]:
    folder = tmp_path_factory.mktemp("secured-kafka")
    tls = make_broker_tls(folder / "tls")
    jars = await asyncio.to_thread(ensure_kafka_jars, paths.local_dir() / "cache" / "kafka")
    port, controller_port, tls_port = free_ports(3)
    server = SecuredKafkaServer(folder / "kafka", port, controller_port, jars, admin=ADMIN,
                                users=[ALPHA, BETA, NOBODY], tls_port=tls_port,
                                tls_keystore=tls.keystore)
    try:
        await server.start()
        await server.create_acls(ACLS)
        await ensure_topics(Broker(server, tls).connection(ADMIN),
                            [TopicSpec(BETA_EVENTS, partitions=1),
                             TopicSpec(BETA_PRIVATE, partitions=1)])
        yield Broker(server, tls)
    finally:
        try:
            await server.stop()
        finally:
            server.kill()


@pytest.fixture
async def db(database_url) -> AsyncIterator[Db]:  # type: ignore[no-untyped-def]
    handle = await migrated_db(await database_url())
    yield handle
    await handle.engine.dispose()


async def _topics(broker: Broker) -> set[str]:
    admin = AIOKafkaAdminClient(**client_options(broker.connection(ADMIN)))
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def _ready(url: str) -> int:
    async with httpx.AsyncClient() as client:
        try:
            return (await client.get(url)).status_code
        except httpx.TransportError:
            return 0


async def test_a_worker_with_its_kafka_user_waits_for_the_operator_then_relays_consumes_and_dead_letters(  # noqa: E501
    broker: Broker, db: Db, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    """The production path end to end: settings from the environment, SASL_SSL with the
    cluster CA, no topic creation (alpha may not create topics), the relay's producer, the
    consumer in alpha's group, the dead-letter publisher and the operator's dead-letter list."""
    caplog.set_level(logging.INFO, logger="city_shared.topics")
    metrics_port = free_port()
    for name, value in {
        "CITY_ENV": "production", "CITY_SERVICE_NAME": "alpha", "CITY_DATABASE_URL": db.url,
        "CITY_KAFKA_BOOTSTRAP_SERVERS": broker.server.tls_bootstrap_servers,
        "CITY_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "CITY_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "CITY_KAFKA_SASL_USERNAME": ALPHA.name, "CITY_KAFKA_SASL_PASSWORD": ALPHA.password,
        "CITY_KAFKA_SSL_CA_FILE": str(broker.tls.ca_file), "CITY_KAFKA_CREATE_TOPICS": "false",
        "CITY_WORKER_METRICS_PORT": str(metrics_port), "CITY_OUTBOX_POLL_INTERVAL_SECONDS": "0.2",
        "CITY_CONSUMER_MAX_ATTEMPTS": "1",
    }.items():
        monkeypatch.setenv(name, value)
    settings = ServiceSettings()  # type: ignore[call-arg]
    handled: list[uuid.UUID] = []

    async def handle_command(session: AsyncSession, event: Event) -> None:
        handled.append(event.id)

    async def refuse(session: AsyncSession, event: Event) -> None:
        raise PermanentFailure("this test's handler never accepts beta's events")

    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(
        settings, topics=[TopicSpec(ALPHA_COMMANDS, partitions=1)],
        subscriptions=[Subscription(ALPHA_COMMANDS, EVENT_TYPE, handle_command),
                       Subscription(BETA_EVENTS, EVENT_TYPE, refuse)],
        owned_topics=(ALPHA_COMMANDS,), stop=stop,
    ))
    readyz = f"http://{settings.http_host}:{metrics_port}/readyz"
    try:
        await wait_until(lambda: _logged(caplog, WAITING))
        assert await _ready(readyz) == 503
        assert {ALPHA_COMMANDS, ALPHA_DEAD_LETTERS}.isdisjoint(await _topics(broker))

        # The operator (Strimzi's topic operator in production) creates alpha's topics.
        await ensure_topics(broker.connection(ADMIN), [
            TopicSpec(ALPHA_COMMANDS, partitions=1), TopicSpec(ALPHA_DEAD_LETTERS, partitions=1)])
        command, foreign = seq_event("order-1", 1), seq_event("beta-1", 1)
        async with db.sessions() as session, session.begin():
            await outbox.add(session, ALPHA_COMMANDS, command)
        await publish(broker.connection(BETA), BETA_EVENTS, [foreign])

        async def dead_lettered() -> bool:
            letters = await list_dead_letters(broker.connection(ALPHA), ALPHA_DEAD_LETTERS)
            return str(foreign.id) in [letter.event_id for letter in letters]

        await wait_until(lambda: _alive_and(worker, command.id in handled))
        await wait_until(dead_lettered)
        await wait_until(lambda: _status_is(readyz, 200))
        assert sum(r.getMessage() == WAITING for r in caplog.records) == 1
    finally:
        stop.set()
        await asyncio.wait_for(worker, timeout=60)  # re-raises the worker's crash, if any


async def test_a_worker_reads_what_it_subscribes_to_but_may_not_write_there(
    broker: Broker,
) -> None:
    event = seq_event("beta-2", 2)
    await publish(broker.connection(BETA), BETA_EVENTS, [event])  # control: beta's topic takes it

    assert str(event.id) in await _read_ids(broker.connection(ALPHA), BETA_EVENTS)
    with pytest.raises(TopicAuthorizationFailedError):
        await publish(broker.connection(ALPHA), BETA_EVENTS, [seq_event("alpha-forged", 1)])


async def test_a_worker_may_not_read_a_topic_it_does_not_subscribe_to(broker: Broker) -> None:
    await publish(broker.connection(BETA), BETA_PRIVATE, [seq_event("beta-3", 3)])

    with pytest.raises(TopicAuthorizationFailedError):
        await _read_ids(broker.connection(ALPHA), BETA_PRIVATE)


async def test_a_user_without_acls_may_do_nothing_a_worker_may(broker: Broker) -> None:
    """Negative control: what alpha may do above comes from its ACLs, not from the broker."""
    await publish(broker.connection(BETA), BETA_EVENTS, [seq_event("beta-4", 4)])

    with pytest.raises(TopicAuthorizationFailedError):
        await _read_ids(broker.connection(NOBODY), BETA_EVENTS, group=None)
    # The idempotent producer is refused before its first record: it may write no topic at all.
    with pytest.raises(ClusterAuthorizationFailedError):
        await publish(broker.connection(NOBODY), BETA_EVENTS, [seq_event("nobody", 1)])


async def test_a_wrong_password_is_refused(broker: Broker) -> None:
    await _connect(broker.connection(ALPHA))  # control: the right one connects

    with aiokafka_log() as log, pytest.raises(KafkaConnectionError):
        await _connect(broker.connection(ALPHA, password="not-" + ALPHA.password))
    assert "invalid credentials" in log.text
    assert ALPHA.password not in log.text


async def test_a_broker_certificate_from_another_ca_is_refused(
    broker: Broker, tmp_path: Path,
) -> None:
    other_ca, _, _ = make_ca(tmp_path, "another-ca")
    await _connect(broker.connection(ALPHA))  # control: the cluster CA is trusted

    with aiokafka_log() as log, pytest.raises(KafkaConnectionError):
        await _connect(broker.connection(ALPHA, ca_file=other_ca))
    assert "CERTIFICATE_VERIFY_FAILED" in log.text


class _Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@contextlib.contextmanager
def aiokafka_log() -> Iterator[_Collected]:
    """What aiokafka logs in the block, caught at its own loggers: an earlier test of the
    session may have configured logging (``dictConfig`` disables existing loggers, a handler
    may stop propagation), which ``caplog`` at the root would then miss."""
    collected = _Collected()
    names = ["aiokafka", *(name for name in logging.root.manager.loggerDict
                           if name.startswith("aiokafka."))]
    loggers = [logging.getLogger(name) for name in names]
    saved = [(lg.disabled, lg.level) for lg in loggers]
    for lg in loggers:
        lg.disabled = False
        lg.setLevel(logging.DEBUG)
        lg.addHandler(collected)
    try:
        yield collected
    finally:
        for lg in loggers:
            lg.removeHandler(collected)
        for lg, (disabled, level) in zip(loggers, saved, strict=True):
            lg.disabled, lg.level = disabled, level


async def _connect(connection: KafkaConnection) -> None:
    producer = make_producer(connection, request_timeout_ms=5000)
    try:
        await producer.start()
    finally:
        await producer.stop()


async def _read_ids(connection: KafkaConnection, topic: str,
                    group: str | None = "alpha-worker") -> list[str]:
    """The event ids on ``topic``, read in ``group`` (alpha's worker's by default; nothing is
    committed) or, without one, from every partition."""
    consumer = AIOKafkaConsumer(topic, **client_options(connection), group_id=group,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    try:
        await consumer.start()
        ids: list[str] = []
        for _ in range(20):
            batches = await consumer.getmany(timeout_ms=500)
            ids += [v.decode() for records in batches.values() for r in records
                    for k, v in r.headers if k == "ce_id"]
            if ids:
                return ids
        return ids
    finally:
        await consumer.stop()


async def _logged(caplog: pytest.LogCaptureFixture, message: str) -> bool:
    return any(r.getMessage() == message for r in caplog.records)


async def _alive_and(task: asyncio.Task[None], condition: bool) -> bool:
    if task.done():
        task.result()  # the worker crashed: show why
        raise AssertionError("the worker stopped")
    return condition


async def _status_is(url: str, status: int) -> bool:
    return await _ready(url) == status
