"""Liveness of the stack's processes: a process whose `/healthz` keeps failing is killed, so
the supervisor restarts it.

A process that hangs (a blocked event loop, a worker whose consumer or relay stopped beating)
does not exit by itself, so exit-watching alone would leave it hanging. The watch asks each
process's `/healthz` every `interval` seconds once it has run for `grace` seconds; after
`threshold` failures in a row (no answer within `timeout`, or not 200) it says so, notes it in
the process's log and kills its process group with SIGKILL. Kubernetes does the same with the
liveness probes of `deploy/k8s`. The defaults are lenient (a minute without an answer), because
a local machine may be busy: an overloaded process that still answers slowly is left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from devstack.children import Child


@dataclass
class _Probe:
    child: Child
    url: str
    failures: int = 0


class LivenessWatch:
    """Kills the children whose liveness URL fails `threshold` times in a row."""

    def __init__(
        self,
        probes: Sequence[tuple[Child, str]],
        *,
        say: Callable[[str], None],
        interval: float = 10.0,
        threshold: int = 6,
        grace: float = 90.0,
        timeout: float = 10.0,
    ) -> None:
        self._probes = [_Probe(child, url) for child, url in probes]
        self._say = say
        self.interval = interval
        self.threshold = threshold
        self.grace = grace
        self.timeout = timeout

    async def run(self, stop: asyncio.Event) -> None:
        """Check every `interval` seconds until `stop` is set."""
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            while not stop.is_set():
                await self.check(client)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.interval)

    async def check(self, client: httpx.AsyncClient) -> None:
        """One round over every probe; the probes run concurrently."""
        await asyncio.gather(*(self._check_one(client, probe) for probe in self._probes))

    async def _check_one(self, client: httpx.AsyncClient, probe: _Probe) -> None:
        child = probe.child
        pid = child.running_pid()
        sup = child.supervision
        young = time.monotonic() - sup.started_mono < self.grace
        if pid is None or sup.status != "running" or young:
            probe.failures = 0
            return
        try:
            alive = (await client.get(probe.url)).status_code == 200
        except httpx.HTTPError:
            alive = False
        if alive or child.running_pid() != pid:
            probe.failures = 0
            return
        probe.failures += 1
        if probe.failures < self.threshold:
            return
        probe.failures = 0
        what = (f"{child.name} failed its liveness probe {self.threshold} times in a row "
                f"({probe.url}); killing it so that it is restarted")
        child.note(what)
        self._say(f"\n!! {time.strftime('%H:%M:%S')} {what}")
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
