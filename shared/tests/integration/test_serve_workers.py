"""An API served by several processes (``CITY_HTTP_WORKERS``, :mod:`city_shared.serve`): one
``/metrics`` scrape reports the requests every worker served, a killed worker's requests in
flight stop counting, and no worker outlives its supervisor. Real processes on 127.0.0.1
(``serve_app``), no database. Negative controls: the exposition of one process's registry (what
``/metrics`` answered before) misses the other worker's requests; the metrics files read
without dropping the killed worker still count its request in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from city_shared.metrics import process_running

REPO = Path(__file__).resolve().parents[3]
SERVICE = "serve-test"
#: Bounds of the waits below (a busy machine starts a worker in seconds, not minutes).
START_SECONDS = 120.0
STOP_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def children(pid: int) -> set[int]:
    """The live child processes of ``pid`` that serve (uvicorn's workers, not the resource
    tracker of multiprocessing)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(FileNotFoundError):
            found.update(int(c) for c in (task / "children").read_text().split())
    return {c for c in found if _serves(c) and process_running(c)}


def _serves(pid: int) -> bool:
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False


def group_members(pgid: int) -> list[int]:
    """Running processes of the process group ``pgid``."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(stat.parent.name))
    return members


def wait_until(condition: Callable[[], bool], what: str, seconds: float = STOP_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds:.0f} s: {what}")


@dataclass
class Api:
    """The supervisor process of the test API and where it keeps its metrics."""

    proc: subprocess.Popen[bytes]
    base_url: str
    tmp: Path
    hang_file: Path
    log: Path

    @property
    def metrics_dir(self) -> Path:
        return self.tmp / f"city-metrics-{SERVICE}-{self.proc.pid}"

    def workers(self) -> set[int]:
        return children(self.proc.pid)

    def stop(self) -> None:
        """SIGTERM the supervisor alone; SIGKILL the group if it does not stop in time."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(STOP_SECONDS)
            raise


@contextlib.contextmanager
def running_api(
    tmp_path: Path, workers: int, app: str = "serve_app", **extra_env: str
) -> Iterator[Api]:
    """The test API (``main`` of the module ``app`` beside this file) with ``workers``
    processes and ``extra_env`` on top of the serving settings; every process of its group
    is stopped after the block, also when the test failed."""
    port = free_port()
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITY_")}
    env.update(CITY_SERVICE_NAME=SERVICE, CITY_HTTP_HOST="127.0.0.1", CITY_HTTP_PORT=str(port),
               CITY_HTTP_WORKERS=str(workers), CITY_LOG_JSON="false", TMPDIR=str(tmp),
               SERVE_TEST_HANG_FILE=str(tmp_path / "hang.pid"), PYTHONUNBUFFERED="1",
               **extra_env)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp_path / "api.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", f"from shared.tests.integration.{app} import main; main()"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    api = Api(proc, f"http://127.0.0.1:{port}", tmp, tmp_path / "hang.pid", log)
    try:
        yield api
    finally:
        try:
            api.stop()
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


async def wait_ready(api: Api, workers: int) -> None:
    """Until ``/healthz`` answers and ``workers`` workers run (each started its app)."""
    deadline = time.monotonic() + START_SECONDS
    async with httpx.AsyncClient(base_url=api.base_url, timeout=10) as client:
        while time.monotonic() < deadline:
            assert api.proc.poll() is None, api.log.read_text()
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/healthz")).status_code == 200 and (
                        workers == 1 or _started(api) >= workers):
                    return
            await asyncio.sleep(0.2)
    raise AssertionError(f"the API did not start: {api.log.read_text()[-3000:]}")


def _started(api: Api) -> int:
    return api.log.read_text(errors="replace").count("Application startup complete")


async def spread_requests(api: Api, *, rounds: int = 20, at_once: int = 20) -> dict[int, int]:
    """``GET /pid`` ``at_once`` at a time, each on a new connection, until every worker has
    answered some (at most ``rounds`` rounds); the number of answers per pid."""
    served: dict[int, int] = {}
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=api.base_url, timeout=30, limits=limits) as client:
        for _ in range(rounds):
            responses = await asyncio.gather(*(client.get("/pid") for _ in range(at_once)))
            for response in responses:
                assert response.status_code == 200, response.text
                pid = response.json()["pid"]
                served[pid] = served.get(pid, 0) + 1
            if len(served) >= 2:
                break
    return served


def requests_counted(exposition: str, route: str) -> float:
    """``city_http_request_duration_seconds_count`` of ``route`` in a scrape (summed over
    statuses and, if the exposition has them, processes)."""
    total = 0.0
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if (sample.name == "city_http_request_duration_seconds_count"
                    and sample.labels.get("route") == route):
                total += sample.value
    return total


def in_flight(exposition: str) -> float:
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == "city_http_requests_in_flight":
                return sample.value
    raise AssertionError("no city_http_requests_in_flight in the scrape")


def scrape_files(path: Path) -> str:
    """The metrics files merged as prometheus_client does, without dropping dead processes."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, str(path))
    return generate_latest(registry).decode()


@pytest.fixture
async def two_workers(tmp_path: Path) -> AsyncIterator[Api]:
    with running_api(tmp_path, workers=2) as api:
        await wait_ready(api, 2)
        yield api
        api.stop()
        # Stopping the supervisor stops every worker (and multiprocessing's resource tracker,
        # which follows a moment later) and removed the metrics directory.
        wait_until(lambda: group_members(api.proc.pid) == [], "every process of the API stops")
        assert not api.metrics_dir.exists()


async def test_one_scrape_counts_the_requests_of_every_worker(two_workers: Api) -> None:
    api = two_workers
    workers = api.workers()
    assert len(workers) == 2, workers

    served = await spread_requests(api)

    assert set(served) == workers, (served, workers)  # both workers answered requests
    total = sum(served.values())
    async with httpx.AsyncClient(base_url=api.base_url, timeout=30) as client:
        scrape = (await client.get("/metrics")).text
        own = (await client.get("/own-metrics")).text
    assert requests_counted(scrape, "/pid") == total
    assert in_flight(scrape) == 0
    # Negative control: one process's registry holds only its own share.
    assert 0 < requests_counted(own, "/pid") < total


async def test_a_killed_workers_requests_in_flight_stop_counting(two_workers: Api) -> None:
    api = two_workers
    async with httpx.AsyncClient(base_url=api.base_url, timeout=150) as client:
        hanging = asyncio.create_task(client.get("/hang"))
        try:
            await asyncio.to_thread(wait_until, api.hang_file.exists, "a worker took /hang",
                                    START_SECONDS)
            victim = int(api.hang_file.read_text())
            assert in_flight((await client.get("/metrics")).text) == 1

            os.kill(victim, signal.SIGKILL)
            with pytest.raises(httpx.HTTPError):
                await hanging
            wait_until(lambda: not process_running(victim), "the killed worker is gone")

            # Negative control: the files still hold the dead worker's request in flight.
            assert in_flight(scrape_files(api.metrics_dir)) == 1
            assert in_flight((await client.get("/metrics")).text) == 0
        finally:
            hanging.cancel()
            with contextlib.suppress(BaseException):
                await hanging
    # The supervisor replaced the killed worker.
    wait_until(lambda: len(api.workers()) == 2 and victim not in api.workers(),
               "a new worker replaces the killed one", START_SECONDS)


async def test_workers_stop_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    with running_api(tmp_path, workers=2) as api:
        await wait_ready(api, 2)
        workers = api.workers()
        assert len(workers) == 2, workers

        api.proc.send_signal(signal.SIGKILL)  # the supervisor alone, not its group
        api.proc.wait(STOP_SECONDS)

        wait_until(lambda: not any(process_running(w) for w in workers),
                   "the workers stop after their supervisor")


async def test_one_process_serves_its_own_registry_as_before(tmp_path: Path) -> None:
    with running_api(tmp_path, workers=1) as api:
        await wait_ready(api, 1)
        assert api.workers() == set()  # no supervisor: this process serves
        served = await spread_requests(api, rounds=1, at_once=5)
        assert set(served) == {api.proc.pid}
        async with httpx.AsyncClient(base_url=api.base_url, timeout=30) as client:
            scrape = (await client.get("/metrics")).text
        assert requests_counted(scrape, "/pid") == 5
        assert "process_cpu_seconds_total" in scrape  # the process collectors, as before
        assert not list(api.tmp.glob("city-metrics-*"))
