"""A real worker process (:func:`city_shared.worker.run_worker`: relay, housekeeping, probes)
with one job more, which blocks the worker's event loop when asked, for
``test_worker_stuck_loop.py``: ``python -m shared.tests.integration.stuck_worker`` from the
repository root, with the ``CITY_*`` settings in the environment.

- ``$STUCK_TEST_FREEZE_FILE`` appears: the job writes ``$STUCK_TEST_FROZEN_FILE`` and blocks
  the loop with a synchronous wait (as a CPU-bound or blocking call in a handler would) until
  ``$STUCK_TEST_RELEASE_FILE`` exists, two minutes at most.
- ``$STUCK_TEST_THREAD_PORT``: also serves prometheus_client's own metrics server there, from a
  thread, the design the probes must not have (it answers every path, ``/healthz`` too): the
  test's negative control.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from prometheus_client import start_http_server

from city_shared.settings import ServiceSettings
from city_shared.worker import run_process, run_worker

#: The longest a freeze lasts if the test never releases it.
FREEZE_SECONDS = 120


async def freeze_when_asked(stop: asyncio.Event) -> None:
    """The job: polls for the freeze file, then blocks the event loop until released."""
    asked = Path(os.environ["STUCK_TEST_FREEZE_FILE"])
    frozen = Path(os.environ["STUCK_TEST_FROZEN_FILE"])
    release = Path(os.environ["STUCK_TEST_RELEASE_FILE"])
    while not stop.is_set():
        if asked.exists() and not frozen.exists():  # noqa: ASYNC240
            frozen.write_text(str(os.getpid()))  # noqa: ASYNC240
            deadline = time.monotonic() + FREEZE_SECONDS
            while not release.exists() and time.monotonic() < deadline:  # noqa: ASYNC240
                time.sleep(0.05)  # noqa: ASYNC251 (blocks the loop on purpose)
        await asyncio.sleep(0.05)


def main() -> None:
    settings = ServiceSettings()
    start_http_server(int(os.environ["STUCK_TEST_THREAD_PORT"]), addr="127.0.0.1")

    async def body(stop: asyncio.Event) -> None:
        await run_worker(settings, topics=(), jobs=[freeze_when_asked], stop=stop)

    run_process(settings, body)


if __name__ == "__main__":
    main()
