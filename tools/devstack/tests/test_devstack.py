"""The servers behind the test fixtures really run: PostgreSQL, Kafka (with restart) and SMTP."""

from __future__ import annotations

import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from devstack.databases import DatabaseAdmin, plain_dsn
from devstack.kafka import ExternalKafka, KafkaError, KafkaServer, ensure_kafka_jars
from devstack.paths import local_dir
from devstack.ports import free_port, free_ports
from devstack.postgres import PostgresError, PostgresServer
from devstack.pytest_plugin import MakeDatabase
from devstack.smtp import SmtpServer, read_mailbox


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


# -- ports -------------------------------------------------------------------------------------


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = free_ports(5)
    assert len(set(ports)) == 5
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))


# -- PostgreSQL --------------------------------------------------------------------------------


async def test_database_url_gives_a_fresh_connectable_database(
    database_url: MakeDatabase,
) -> None:
    first = await database_url()
    second = await database_url()
    assert first.startswith("postgresql+asyncpg://")
    assert first.rsplit("/", 1)[1] != second.rsplit("/", 1)[1]
    conn = await asyncpg.connect(plain_dsn(first))
    try:
        await conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
        await conn.execute("INSERT INTO t VALUES (1), (2)")
        assert await conn.fetchval("SELECT count(*) FROM t") == 2
        assert await conn.fetchval("SELECT current_database()") == first.rsplit("/", 1)[1]
        assert await conn.fetchval("SHOW max_connections") == "200"
    finally:
        await conn.close()


async def test_create_database_is_idempotent_and_drop_removes_it(
    postgres_server: PostgresServer | DatabaseAdmin,
) -> None:
    name = f"idem_{uuid.uuid4().hex[:8]}"
    url = await postgres_server.create_database(name)
    assert await postgres_server.create_database(name) == url
    conn = await asyncpg.connect(plain_dsn(url))  # an open connection must not block the drop
    try:
        await postgres_server.drop_database(name)
        await postgres_server.drop_database(name)
    finally:
        await conn.close(timeout=1)
    admin = DatabaseAdmin(postgres_server.admin_dsn)
    assert not await admin.database_exists(name)


async def test_starting_twice_adopts_the_running_server(
    postgres_server: PostgresServer | DatabaseAdmin,
) -> None:
    if not isinstance(postgres_server, PostgresServer):
        pytest.skip("external PostgreSQL (CITY_TEST_DATABASE_ADMIN_URL)")
    await postgres_server.start()
    other = PostgresServer(postgres_server.data_dir, postgres_server.port)
    await other.start()
    assert other.is_running()
    conn = await asyncpg.connect(postgres_server.admin_dsn)
    await conn.close()


@pytest.fixture
def scratch_dir() -> Iterator[Path]:
    """Unlike pytest's tmp_path, searchable by the postgres user when we run as root."""
    root = Path(tempfile.mkdtemp(prefix="devstack-scratch-"))
    root.chmod(0o711)
    yield root
    shutil.rmtree(root, ignore_errors=True)


async def test_postgres_start_failure_reports_the_log_tail(scratch_dir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        server = PostgresServer(scratch_dir / "pg", busy.getsockname()[1], fsync=False)
        with pytest.raises(PostgresError, match="could not bind") as failure:
            await server.start()
    assert "tail of" in str(failure.value)
    assert not server.is_running()


# -- Kafka -------------------------------------------------------------------------------------


def test_kafka_jars_are_resolved_once() -> None:
    cache = local_dir() / "cache" / "kafka"
    libs = ensure_kafka_jars(cache)
    started = time.monotonic()
    assert ensure_kafka_jars(cache) == libs
    assert time.monotonic() - started < 1.0  # the marker short-circuits Maven (~3 s)
    assert (libs / ".complete").exists()
    assert any(libs.glob("kafka_2.13-*.jar"))
    assert any(libs.glob("log4j-slf4j-impl-*.jar"))


async def test_kafka_start_on_a_busy_port_fails_fast(scratch_dir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        server = KafkaServer(scratch_dir, busy.getsockname()[1], free_port(), scratch_dir)
        with pytest.raises(KafkaError, match="already in use"):
            await server.start()
    assert not server.is_running()


async def _consume_all(bootstrap: str, topic: str, expected: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"g-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        deadline = time.monotonic() + 30
        while len(values) < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            values += [record.value for records in batches.values() for record in records]
    finally:
        await consumer.stop()
    return values


async def _produce(bootstrap: str, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"same-partition")
    finally:
        await producer.stop()


async def test_kafka_records_survive_a_broker_restart(
    controllable_kafka: KafkaServer, kafka_bootstrap: str
) -> None:
    assert kafka_bootstrap == controllable_kafka.bootstrap_servers
    topic = f"devstack-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()
    await _produce(kafka_bootstrap, topic, b"before-restart")
    assert await _consume_all(kafka_bootstrap, topic, 1) == [b"before-restart"]

    started = time.monotonic()
    await controllable_kafka.stop()
    stopped = time.monotonic()
    assert not controllable_kafka.is_running()
    assert not _port_open(controllable_kafka.port)
    await controllable_kafka.start()
    print(f"kafka stop {stopped - started:.2f}s, start {time.monotonic() - stopped:.2f}s")

    assert await _consume_all(kafka_bootstrap, topic, 1) == [b"before-restart"]
    await _produce(kafka_bootstrap, topic, b"after-restart")
    assert await _consume_all(kafka_bootstrap, topic, 2) == [b"before-restart", b"after-restart"]


async def test_external_kafka_is_not_controllable() -> None:
    external = ExternalKafka("127.0.0.1:1")
    assert not external.controllable
    with pytest.raises(RuntimeError, match="external broker"):
        await external.stop()


# -- SMTP --------------------------------------------------------------------------------------


def _message(subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "noreply@city.example"
    message["To"] = "citizen@example.org"
    message["Subject"] = subject
    message.set_content("Ihr Antrag wurde eingegangen. Grüße")
    return message


def test_smtp_server_files_received_mail(smtp_server: SmtpServer) -> None:
    subject = f"Antrag {uuid.uuid4().hex[:6]}"
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=10) as client:
        client.send_message(
            _message(subject), to_addrs=["citizen@example.org", "audit@city.example"]
        )
    received = [m for m in smtp_server.messages() if m["Subject"] == subject]
    assert len(received) == 1
    assert received[0]["X-Envelope-To"] == "citizen@example.org, audit@city.example"
    body = received[0].get_body()
    assert body is not None
    assert "Grüße" in body.get_content()


def test_smtp_module_runs_standalone(tmp_path: Path) -> None:
    port = free_port()
    mailbox = tmp_path / "mail"
    command = [
        sys.executable,
        "-m",
        "devstack.smtp",
        "--port",
        str(port),
        "--mailbox",
        str(mailbox),
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            assert "SMTP sink on" in proc.stdout.readline()
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                client.send_message(_message("standalone"))
            assert [m["Subject"] for m in read_mailbox(mailbox)] == ["standalone"]
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0
