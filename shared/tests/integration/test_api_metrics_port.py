"""``CITY_API_METRICS_PORT`` with real API processes on 127.0.0.1 (``freeze_app``, no database):
the metrics port reports the requests of every worker process from one server in the
supervisor, the public port answers 404 for ``/metrics``, and liveness (``/healthz`` on the
public port) still fails while the event loop is stuck, although the metrics thread answers.

Negative controls: one worker's own registry misses the other worker's requests (so the count
on the metrics port is the merge, not one process); the public ``/healthz`` answers within the
probe's timeout before the loop is blocked and after it is released; the metrics server
answers ``/metrics`` during the freeze (it is a thread: had it answered ``/healthz``, the
stuck process would look alive).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from .test_serve_workers import (
    START_SECONDS,
    Api,
    free_port,
    group_members,
    requests_counted,
    running_api,
    spread_requests,
    wait_ready,
    wait_until,
)

#: The kubelet's liveness timeout on the API pods (deploy/k8s/base/service-template/api.yaml).
PROBE_TIMEOUT_SECONDS = 2.0


@dataclass
class MeteredApi:
    """The test API and its metrics port."""

    api: Api
    metrics_url: str
    freeze_file: Path
    release_file: Path


@contextlib.contextmanager
def running_metered_api(tmp_path: Path, workers: int) -> Iterator[MeteredApi]:
    """The test API with ``workers`` processes and ``CITY_API_METRICS_PORT`` set; every process
    of its group is stopped after the block, also when the test failed."""
    metrics_port = free_port()
    freeze_file, release_file = tmp_path / "freeze.pid", tmp_path / "release"
    with running_api(tmp_path, workers, app="freeze_app",
                     CITY_API_METRICS_PORT=str(metrics_port),
                     SERVE_TEST_FREEZE_FILE=str(freeze_file),
                     SERVE_TEST_RELEASE_FILE=str(release_file)) as api:
        try:
            yield MeteredApi(api, f"http://127.0.0.1:{metrics_port}", freeze_file, release_file)
        finally:
            release_file.touch()  # a frozen process could not stop (running_api stops it next)


def listeners(port: int) -> set[int]:
    """The pids that hold a socket listening on TCP ``port`` of this machine."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                    inodes.add(f"socket:[{fields[9]}]")
    pids = set()
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        with contextlib.suppress(OSError):
            if os.readlink(fd) in inodes:
                pids.add(int(fd.parent.parent.name))
    return pids


async def test_the_metrics_port_counts_every_workers_requests_and_the_api_port_hides_them(
    tmp_path: Path,
) -> None:
    with running_metered_api(tmp_path, workers=2) as metered:
        api = metered.api
        await wait_ready(api, 2)
        workers = api.workers()
        assert len(workers) == 2, workers

        served = await spread_requests(api)

        assert set(served) == workers, (served, workers)  # both workers answered requests
        total = sum(served.values())
        async with httpx.AsyncClient(timeout=30) as client:
            scrape = await client.get(f"{metered.metrics_url}/metrics")
            not_a_probe = await client.get(f"{metered.metrics_url}/healthz")
            public = await client.get(f"{api.base_url}/metrics")
            own = (await client.get(f"{api.base_url}/own-metrics")).text
        assert scrape.status_code == 200
        assert requests_counted(scrape.text, "/pid") == total
        assert not_a_probe.status_code == 404
        assert public.status_code == 404
        assert "city_http_request_duration_seconds" not in public.text
        # Negative control: one process's registry holds only its own share.
        assert 0 < requests_counted(own, "/pid") < total
        # One metrics server, in the supervisor; the workers serve the public port.
        metrics_port = int(metered.metrics_url.rsplit(":", 1)[1])
        assert listeners(metrics_port) == {api.proc.pid}
        public_port = int(api.base_url.rsplit(":", 1)[1])
        assert workers <= listeners(public_port)

        api.stop()
        wait_until(lambda: group_members(api.proc.pid) == [], "every process of the API stops")
        assert listeners(metrics_port) == set()


async def test_one_process_serves_metrics_on_its_port_and_fails_liveness_when_stuck(
    tmp_path: Path,
) -> None:
    """One process: its own registry on the metrics port; then its event loop is blocked and
    the public ``/healthz`` times out as the kubelet's probe would, although the metrics
    thread still answers (one API start for both: each costs seconds)."""
    with running_metered_api(tmp_path, workers=1) as metered:
        api = metered.api
        await wait_ready(api, 1)
        served = await spread_requests(api, rounds=1, at_once=5)
        assert set(served) == {api.proc.pid}
        async with httpx.AsyncClient(timeout=30) as client:
            scrape = (await client.get(f"{metered.metrics_url}/metrics")).text
            public = await client.get(f"{api.base_url}/metrics")
        assert requests_counted(scrape, "/pid") == 5
        assert "process_cpu_seconds_total" in scrape  # this process's own registry
        assert public.status_code == 404
        assert not list(api.tmp.glob("city-metrics-*"))

        async with (
            httpx.AsyncClient(base_url=api.base_url, timeout=PROBE_TIMEOUT_SECONDS) as probe,
            httpx.AsyncClient(timeout=START_SECONDS) as client,
        ):
            assert (await probe.get("/healthz")).status_code == 200  # control: alive

            frozen = asyncio.create_task(client.get(f"{api.base_url}/freeze"))
            try:
                await asyncio.to_thread(wait_until, metered.freeze_file.exists,
                                        "the API took /freeze", START_SECONDS)
                with pytest.raises(httpx.TimeoutException):
                    await probe.get("/healthz")
                # The metrics thread still answers, but only metrics: no liveness from it.
                scrape = (await client.get(f"{metered.metrics_url}/metrics")).text
                assert requests_counted(scrape, "/pid") == 5
                not_a_probe = await client.get(f"{metered.metrics_url}/healthz")
                assert not_a_probe.status_code == 404
            finally:
                metered.release_file.touch()
                thawed = await frozen
            assert thawed.status_code == 200

            assert (await probe.get("/healthz")).status_code == 200  # control: alive again
