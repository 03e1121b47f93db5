"""No overbooking when the API runs as several processes (``CITY_HTTP_WORKERS=2``): the
ticketing API is started as it is deployed (``ticketing-api``, uvicorn with two worker
processes on 127.0.0.1, the test database), 400 citizens buy one place each of a slot of 100 at
the same moment over HTTP, and exactly 100 are sold; the others are answered 409 ``sold_out``
(a 503 with ``Retry-After`` is retried as a client would). Both worker processes took orders:
the per-process metrics files say so, and one ``/metrics`` scrape counts every order request.
Negative control: the same two processes with a read-then-write reservation overbook, and
the same checks catch it. Every process started here is stopped, also when a test fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.auth.testing import TokenFactory
from ticketing_service import capacity
from ticketing_service.main import create_app

REPO = Path(__file__).resolve().parents[3]
BUYERS = 400
SLOT_CAPACITY = 100
WORKERS = 2
#: A client retries a 503 (``overloaded``, ``service_unavailable``) after its ``Retry-After``,
#: at most this many times.
RETRIES = 30
START_SECONDS = 180.0
STOP_SECONDS = 60.0


# -- the API's processes ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def jwks_server(tokens: TokenFactory) -> Iterator[str]:
    """The test issuer's JWKS and revocation list over HTTP on 127.0.0.1 (as identity serves
    them); yields the JWKS URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.endswith("/jwks.json"):
                body = tokens.jwks()
            elif self.path.endswith("/revoked-tokens.json"):
                body = tokens.revocations()
            else:
                self.send_error(404)
                return
            payload = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@dataclass
class Api:
    """The supervisor of the API's worker processes, its address and its metrics directory."""

    proc: subprocess.Popen[bytes]
    base_url: str
    tmp: Path
    log: Path

    @property
    def metrics_dir(self) -> Path:
        return self.tmp / f"city-metrics-ticketing-{self.proc.pid}"

    def workers(self) -> set[int]:
        """The worker processes (uvicorn's spawned children, not the resource tracker)."""
        found: set[int] = set()
        for task in Path(f"/proc/{self.proc.pid}/task").glob("*"):
            with contextlib.suppress(FileNotFoundError):
                found.update(int(c) for c in (task / "children").read_text().split())
        return {pid for pid in found if b"spawn_main" in _cmdline(pid)}

    def started(self) -> int:
        return self.log.read_text(errors="replace").count("Application startup complete")


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""


def group_members(pgid: int) -> list[int]:
    """Running processes of the process group ``pgid``."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(stat.parent.name))
    return members


def stop(api: Api) -> None:
    """SIGTERM the supervisor (it stops its workers); SIGKILL the whole group if that does not
    end every process of it in time."""
    try:
        if api.proc.poll() is None:
            api.proc.send_signal(signal.SIGTERM)
        api.proc.wait(STOP_SECONDS)
        deadline = time.monotonic() + STOP_SECONDS
        while group_members(api.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(api.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            api.proc.wait(STOP_SECONDS)


@contextlib.asynccontextmanager
async def running_api(tmp_path: Path, database_url: str, jwks_url: str,
                      *argv: str) -> AsyncIterator[Api]:
    """The ticketing API with :data:`WORKERS` processes on the test database (``argv``: the
    command, default the ``ticketing-api`` entry point), ready once every worker started."""
    api = start(tmp_path, database_url, jwks_url, *argv)
    try:
        await wait_ready(api)
        yield api
    finally:
        await asyncio.to_thread(stop, api)
        assert group_members(api.proc.pid) == [], "a process of the API outlived the test"


def start(tmp_path: Path, database_url: str, jwks_url: str, *argv: str) -> Api:
    port = free_port()
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITY_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        CITY_DATABASE_URL=database_url, CITY_HTTP_HOST="127.0.0.1", CITY_HTTP_PORT=str(port),
        CITY_HTTP_WORKERS=str(WORKERS), CITY_AUTH_JWKS_URL=jwks_url, CITY_LOG_JSON="false",
        # Two processes x (20 + 20 overflow) connections fit the test server's 200.
        CITY_DATABASE_POOL_SIZE="20", TMPDIR=str(tmp), PYTHONUNBUFFERED="1",
    )
    command = list(argv) or [str(Path(sys.executable).parent / "ticketing-api")]
    log = tmp_path / "api.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    return Api(proc, f"http://127.0.0.1:{port}", tmp, log)


async def wait_ready(api: Api) -> None:
    deadline = time.monotonic() + START_SECONDS
    async with httpx.AsyncClient(base_url=api.base_url, timeout=10) as client:
        while time.monotonic() < deadline:
            assert api.proc.poll() is None, api.log.read_text()[-3000:]
            with contextlib.suppress(httpx.HTTPError):
                if ((await client.get("/readyz")).status_code == 200
                        and api.started() >= WORKERS and len(api.workers()) == WORKERS):
                    return
            await asyncio.sleep(0.2)
    raise AssertionError(f"the API did not start: {api.log.read_text()[-3000:]}")


# -- buyers -----------------------------------------------------------------------------------


async def buy(client: httpx.AsyncClient, body: dict[str, Any],
              headers: dict[str, str]) -> tuple[httpx.Response, int]:
    """One citizen's order, retried with the same ``Idempotency-Key`` while it is answered 503
    with ``Retry-After``; the last answer and the number of requests sent."""
    for attempt in range(1, RETRIES + 2):
        response = await client.post("/orders", json=body, headers=headers)
        retry_after = response.headers.get("Retry-After")
        if response.status_code != 503 or retry_after is None or attempt > RETRIES:
            return response, attempt
        await asyncio.sleep(float(retry_after))
    raise AssertionError("unreachable")


async def storm(t: Any, api: Api, ticket_type: uuid.UUID, slot: uuid.UUID,
                buyers: int) -> tuple[list[httpx.Response], int]:
    """``buyers`` different citizens each order one place, all at once, each on its own
    connection; their answers and the number of order requests sent."""
    headers = [{**t.citizen_headers(uuid.uuid4()), "Idempotency-Key": str(uuid.uuid4())}
               for _ in range(buyers)]
    body = {"lines": [{"ticket_type_id": str(ticket_type), "slot_id": str(slot),
                       "quantity": 1}], "email": "buyer@example.org"}
    limits = httpx.Limits(max_connections=buyers, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=api.base_url, timeout=120, limits=limits) as client:
        answers = await asyncio.gather(*(buy(client, body, h) for h in headers))
    return [response for response, _ in answers], sum(sent for _, sent in answers)


async def outcome(t: Any, slot: uuid.UUID, responses: list[httpx.Response]) -> dict[str, Any]:
    """What the buyers and the database say was sold."""
    statuses = Counter(r.status_code for r in responses)
    codes = Counter(r.json().get("code") for r in responses if r.status_code != 201)
    return {
        "accepted": statuses[201],
        "sold_out": codes["sold_out"],
        "others": {s: n for s, n in statuses.items() if s not in (201, 409)},
        "held": await t.scalar("SELECT held FROM slots WHERE id = :id", id=slot),
        "ordered": await t.scalar(
            "SELECT coalesce(sum(quantity * places), 0) FROM order_lines WHERE slot_id = :id",
            id=slot),
    }


def assert_sold_exactly(result: dict[str, Any], places: int, buyers: int) -> None:
    assert result["others"] == {}, result
    assert result["accepted"] == places, result
    assert result["sold_out"] == buyers - places, result
    assert result["ordered"] == places, result


# -- metrics ----------------------------------------------------------------------------------


def orders_counted(exposition: str) -> float:
    """POST requests in a scrape, every status: the buyers' orders (those refused 503
    ``overloaded`` before routing are labelled ``unmatched``, the others ``/orders``)."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == "city_http_request_duration_seconds_count"
        and sample.labels.get("method") == "POST"
    )


def orders_counted_by_process(metrics_dir: Path) -> dict[int, float]:
    """The buyers' requests per worker pid, from each worker's own metrics file."""
    counted: dict[int, float] = {}
    for file in metrics_dir.glob("histogram_*.db"):
        pid = int(file.stem.removeprefix("histogram_"))
        with tempfile.TemporaryDirectory() as alone:
            shutil.copy(file, alone)
            registry = CollectorRegistry()
            MultiProcessCollector(registry, alone)
            counted[pid] = orders_counted(generate_latest(registry).decode())
    return counted


# -- the negative control's app -----------------------------------------------------------------


async def _read_then_write_slot(session: AsyncSession, slot_id: uuid.UUID, places: int) -> bool:
    """The bug the guard prevents: check on a read, then write the computed value."""
    row = (await session.execute(text(
        "SELECT held, sold, capacity FROM slots WHERE id = :id AND status = 'open'"),
        {"id": slot_id})).one_or_none()
    if row is None or row.held + row.sold + places > row.capacity:
        return False
    await session.execute(text("UPDATE slots SET held = :new WHERE id = :id"),
                          {"new": row.held + places, "id": slot_id})
    return True


def read_then_write_app() -> FastAPI:
    """The ticketing app of one worker process, with the unguarded reservation."""
    capacity.reserve_slot = _read_then_write_slot  # type: ignore[assignment]
    return create_app()


NEGATIVE_CONTROL = (
    "from city_shared.serve import serve; "
    "from services.ticketing.tests.test_capacity_processes import read_then_write_app; "
    "from ticketing_service.settings import TicketingSettings; "
    "serve(read_then_write_app, TicketingSettings())"
)


# -- the tests --------------------------------------------------------------------------------


@pytest.fixture
def jwks_url(token_factory: TokenFactory) -> Iterator[str]:
    with jwks_server(token_factory) as url:
        yield url


async def test_two_api_processes_sell_exactly_the_100_places_to_400_buyers(
    ticketing_app: Any, migrated_url: str, jwks_url: str, tmp_path: Path,
) -> None:
    async with ticketing_app() as t, running_api(tmp_path, migrated_url, jwks_url) as api:
        demo = await t.demo()
        slot = await t.add_slot(demo.exhibition, starts_at=t.next_weekday_at(12, days_ahead=2),
                                capacity=SLOT_CAPACITY)
        workers = api.workers()

        responses, sent = await storm(t, api, demo.museum_adult, slot, BUYERS)

        result = await outcome(t, slot, responses)
        assert_sold_exactly(result, SLOT_CAPACITY, BUYERS)
        assert result["held"] == SLOT_CAPACITY
        assert await t.scalar("SELECT count(*) FROM orders") == SLOT_CAPACITY
        assert len(await t.outbox("city.payment.request.v1")) == SLOT_CAPACITY
        # Both processes took orders, and one scrape counts every order request of both.
        assert api.workers() == workers
        by_process = orders_counted_by_process(api.metrics_dir)
        assert {pid for pid, n in by_process.items() if n > 0} == workers, by_process
        async with httpx.AsyncClient(base_url=api.base_url, timeout=30) as client:
            scrape = (await client.get("/metrics")).text
        assert orders_counted(scrape) == sum(by_process.values()) == sent


async def test_negative_control_two_processes_with_a_read_then_write_reservation_overbook(
    ticketing_app: Any, migrated_url: str, jwks_url: str, tmp_path: Path,
) -> None:
    async with ticketing_app() as t:
        demo = await t.demo()
        slot = await t.add_slot(demo.exhibition, starts_at=t.next_weekday_at(12, days_ahead=2),
                                capacity=SLOT_CAPACITY)
        async with t.engine.begin() as conn:
            await conn.execute(text("ALTER TABLE slots DROP CONSTRAINT ck_slots_within_capacity"))
        async with running_api(tmp_path, migrated_url, jwks_url,
                               sys.executable, "-c", NEGATIVE_CONTROL) as api:
            workers = api.workers()

            responses, _ = await storm(t, api, demo.museum_adult, slot, BUYERS)

            by_process = orders_counted_by_process(api.metrics_dir)
        result = await outcome(t, slot, responses)
        with pytest.raises(AssertionError):
            assert_sold_exactly(result, SLOT_CAPACITY, BUYERS)
        assert result["accepted"] > SLOT_CAPACITY, result
        assert result["ordered"] > SLOT_CAPACITY, result
        # Lost updates: the counter no longer says how many places the orders hold.
        assert result["held"] != result["ordered"], result
        assert {pid for pid, n in by_process.items() if n > 0} == workers, by_process
