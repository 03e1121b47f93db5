"""The sandbox's webhook sender: delivers signed notifications in background tasks, like a
provider's notification service does (later than the button press, retried on failure, so
possibly more than once).

Delivery is in-process and best effort: a notification pending when the process stops is lost,
which a sandbox may afford (the payment then expires). Each attempt is signed anew with the
first active secret, so a retry never carries a stale timestamp.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping, Sequence

import httpx

from payment_service.providers.signing import SIGNATURE_HEADER, signature_header

__all__ = ["WebhookDispatcher"]

log = logging.getLogger(__name__)


class WebhookDispatcher:
    """Posts notifications to ``url`` with ``http``; ``attempts`` tries each, doubling the
    wait from ``backoff`` seconds. A 2xx or 4xx answer ends the delivery (a 4xx will not get
    better by retrying); a 5xx or a network error is retried."""

    def __init__(
        self,
        url: str,
        secrets: Sequence[str],
        http: httpx.AsyncClient,
        *,
        attempts: int = 5,
        backoff: float = 0.5,
    ) -> None:
        if not secrets:
            raise ValueError("the dispatcher needs a secret to sign with")
        self.url = url
        self.http = http
        self._secret = secrets[0]
        self._attempts = attempts
        self._backoff = backoff
        self._tasks: set[asyncio.Task[bool]] = set()

    def send(self, notification: Mapping[str, object], *, delay: float = 0.0) -> None:
        """Deliver ``notification`` (a JSON object) in the background after ``delay`` s."""
        body = json.dumps(notification, separators=(",", ":")).encode()
        task = asyncio.create_task(self._deliver(body, delay), name="sandbox-webhook")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, body: bytes, delay: float) -> bool:
        if delay > 0:
            await asyncio.sleep(delay)
        wait = self._backoff
        for attempt in range(1, self._attempts + 1):
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature_header(body, [self._secret], int(time.time())),
            }
            try:
                response = await self.http.post(self.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                log.warning("sandbox webhook attempt failed",
                            extra={"attempt": attempt, "error": type(exc).__name__})
            else:
                if response.status_code < 500:
                    if response.status_code >= 400:
                        log.warning("sandbox webhook rejected",
                                    extra={"status": response.status_code})
                    return response.status_code < 300
                log.warning("sandbox webhook attempt failed",
                            extra={"attempt": attempt, "status": response.status_code})
            if attempt < self._attempts:
                await asyncio.sleep(wait)
                wait *= 2
        return False

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until every pending delivery finished (or ``timeout`` passed)."""
        pending = set(self._tasks)
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    async def close(self, timeout: float = 5.0) -> None:
        """Give pending deliveries ``timeout`` seconds, then cancel the rest."""
        await self.drain(timeout)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
