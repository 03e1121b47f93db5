"""Admission control: a pure ASGI middleware that bounds how many requests one process works on
at once, so that demand beyond capacity gets a fast 503 instead of a growing queue.

Contract:

- at most ``max_in_flight`` HTTP requests run behind the middleware at the same time;
- a request beyond that waits at most ``wait_seconds`` for a slot (first come, first served),
  then is answered 503 problem+json ``overloaded`` with ``Retry-After`` without calling the app
  (nothing of its body is read, no transaction is opened);
- a slot is returned however the request ends: a response, an exception, a cancellation (the
  client went away);
- requests to ``exempt_paths`` (liveness, readiness, metrics) are never limited nor counted, so
  an overloaded process still answers its probes;
- refusals count in ``city_http_requests_refused_total``; the requests being worked on right
  now are the gauge ``city_http_requests_in_flight``.

The limit is per process: an API served by N processes (``CITY_HTTP_WORKERS``, see
:mod:`city_shared.serve`) admits up to N x ``max_in_flight`` requests, each process its own
share of the requests the kernel hands it, and one process may refuse while another has free
slots. The gauge and the counter are summed over the processes on ``/metrics``. Lifespan and
websocket scopes pass.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterable
from typing import Final

from prometheus_client import Counter, Gauge
from starlette.types import ASGIApp, Receive, Scope, Send

from city_shared.errors import DomainError, problem_response

__all__ = [
    "ADMISSION_EXEMPT_PATHS",
    "HTTP_REQUESTS_IN_FLIGHT",
    "HTTP_REQUESTS_REFUSED",
    "OVERLOADED_RETRY_AFTER_SECONDS",
    "AdmissionMiddleware",
    "Overloaded",
    "Slots",
]

#: The operational endpoints every service app mounts: answered whatever the load.
ADMISSION_EXEMPT_PATHS: Final = frozenset({"/healthz", "/readyz", "/metrics"})

#: ``Retry-After`` of an ``overloaded`` answer: a rush passes in seconds, and a client that
#: retries later than the others spreads the load.
OVERLOADED_RETRY_AFTER_SECONDS: Final = 1

HTTP_REQUESTS_IN_FLIGHT = Gauge(
    "city_http_requests_in_flight",
    "HTTP requests the API is working on (admitted, not yet answered), summed over its "
    "processes.",
    ["service"],
    multiprocess_mode="livesum",
)
HTTP_REQUESTS_REFUSED = Counter(
    "city_http_requests_refused_total",
    "HTTP requests answered 503 without being worked on, by reason (overloaded).",
    ["service", "reason"],
)


class Overloaded(DomainError):
    """503: the process is working on as many requests as it can; retry after ``Retry-After``."""

    status = 503
    code = "overloaded"
    title = "Service overloaded"
    default_headers = {"Retry-After": str(OVERLOADED_RETRY_AFTER_SECONDS)}


class Slots:
    """A counting semaphore with a bounded, first-come-first-served wait.

    Unlike :class:`asyncio.Semaphore` it is bound to no event loop (an app may be served by
    several loops in tests) and a released slot passes straight to the longest waiter, so a
    newcomer never overtakes a request that has been waiting.
    """

    def __init__(self, limit: int) -> None:
        if limit <= 0:
            raise ValueError("the in-flight limit must be > 0")
        self.limit = limit
        self.in_use = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        """How many callers wait for a slot right now."""
        return len(self._waiters)

    async def acquire(self, timeout: float) -> bool:
        """Take a slot, waiting at most ``timeout`` seconds; False when none came in time.

        A caller cancelled while waiting takes no slot (one handed to it is passed on).
        """
        if self.in_use < self.limit and not self._waiters:
            self.in_use += 1
            return True
        if timeout <= 0:
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter
            return True
        except TimeoutError:
            # The slot may have been handed over just as the time ran out: keep it.
            return waiter.done() and not waiter.cancelled()
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()
            raise
        finally:
            if not waiter.done():
                waiter.cancel()
            with contextlib.suppress(ValueError):  # release() may have taken it off already
                self._waiters.remove(waiter)

    def release(self) -> None:
        """Return a slot: to the longest waiter if there is one, else to the pool."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.in_use -= 1


class AdmissionMiddleware:
    """Pure ASGI middleware implementing the module's contract."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        service: str,
        max_in_flight: int,
        wait_seconds: float,
        exempt_paths: Iterable[str] = ADMISSION_EXEMPT_PATHS,
    ) -> None:
        if wait_seconds < 0:
            raise ValueError("the admission wait must be >= 0 seconds")
        self.app = app
        self.service = service
        self.wait_seconds = wait_seconds
        self.slots = Slots(max_in_flight)
        self._exempt = frozenset(exempt_paths)
        self._in_flight = HTTP_REQUESTS_IN_FLIGHT.labels(service)
        self._refused = HTTP_REQUESTS_REFUSED.labels(service, "overloaded")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._exempt:
            await self.app(scope, receive, send)
            return
        if not await self.slots.acquire(self.wait_seconds):
            # Counted, not logged: a rush would write a line per refused buyer.
            self._refused.inc()
            error = Overloaded("The service is busy right now. Please retry shortly.")
            await problem_response(error, scope["path"])(scope, receive, send)
            return
        self._in_flight.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self._in_flight.dec()
            self.slots.release()
