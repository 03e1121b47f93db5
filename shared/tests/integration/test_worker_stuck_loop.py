"""A worker whose event loop is stuck fails its liveness probe: a real worker process
(``stuck_worker``: relay, housekeeping and probes against the test PostgreSQL and Kafka) with a
job that blocks the loop synchronously. ``/healthz`` on the worker's probe port is answered by
that loop, so it times out as the kubelet's probe would, and answers again once the loop is free.

Negative controls: the same probe answers within the timeout before the freeze and after it;
a metrics server in a thread of the same process (prometheus_client's own, the design the
issue warns of: it answers any path) says 200 to ``/healthz`` while the loop is stuck.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from .backbone_kit import migrated_db
from .test_serve_workers import REPO, START_SECONDS, STOP_SECONDS, free_port, wait_until

#: The kubelet's liveness timeout of the worker pods (deploy/k8s/base/service-template).
PROBE_TIMEOUT_SECONDS = 2.0


@contextlib.contextmanager
def running_worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "shared.tests.integration.stuck_worker"],
                                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_SECONDS)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


async def wait_ready(client: httpx.AsyncClient, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until the worker's ``/readyz`` says 200: its relay and jobs run."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert proc.poll() is None, tail(log)
        with contextlib.suppress(httpx.HTTPError):
            if (await client.get("/readyz")).status_code == 200:
                return
        await asyncio.sleep(0.2)
    raise AssertionError(f"the worker did not get ready: {tail(log)}")


async def test_a_stuck_event_loop_fails_the_workers_liveness_probe(
    database_url: Callable[[], Awaitable[str]], kafka_bootstrap: str, tmp_path: Path
) -> None:
    db = await migrated_db(await database_url())
    await db.engine.dispose()
    port, thread_port = free_port(), free_port()
    asked, frozen, release = (tmp_path / "freeze", tmp_path / "frozen", tmp_path / "release")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITY_")}
    env.update(CITY_SERVICE_NAME="stuck-test", CITY_DATABASE_URL=db.url,
               CITY_KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap, CITY_HTTP_HOST="127.0.0.1",
               CITY_WORKER_METRICS_PORT=str(port), CITY_LOG_JSON="false",
               STUCK_TEST_FREEZE_FILE=str(asked), STUCK_TEST_FROZEN_FILE=str(frozen),
               STUCK_TEST_RELEASE_FILE=str(release), STUCK_TEST_THREAD_PORT=str(thread_port),
               PYTHONUNBUFFERED="1")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp_path / "worker.log"
    with running_worker(env, log) as proc:
        try:
            async with (
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                  timeout=PROBE_TIMEOUT_SECONDS) as probe,
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{thread_port}",
                                  timeout=30) as thread,
            ):
                await wait_ready(probe, proc, log)
                assert (await probe.get("/healthz")).status_code == 200  # control: alive

                asked.touch()
                await asyncio.to_thread(wait_until, frozen.exists, "the job froze the loop",
                                        START_SECONDS)
                with pytest.raises(httpx.TimeoutException):
                    await probe.get("/healthz")
                # Negative control: a thread's server would have called the stuck worker alive.
                assert (await thread.get("/healthz")).status_code == 200

                release.touch()
                alive = await probe.get("/healthz")
                assert alive.status_code == 200, alive.text  # control: alive again
        finally:
            release.touch()  # a frozen worker could not stop
