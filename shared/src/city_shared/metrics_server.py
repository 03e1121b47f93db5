"""The API's ``/metrics`` on a port of its own (``CITY_API_METRICS_PORT``).

Prometheus reads the metrics on a port that public traffic never reaches (the pod's
``metrics`` port, admitted only from the monitoring namespace), and the public port answers
404 for ``/metrics`` (:func:`city_shared.app.create_service_app`).

The server runs in a thread of the process that :func:`city_shared.serve.serve` runs in: the
API's one process, or the supervisor of its ``CITY_HTTP_WORKERS`` processes, where
:func:`city_shared.metrics.exposition` merges every worker's values (one server for the whole
API, never one per worker). It answers ``GET /metrics`` and 404 for every other path: it is no
probe. A thread answers even while the API's event loop is stuck, so it must never vouch for
liveness; ``/healthz`` stays on the API port, answered by the event loop itself.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import urlsplit

from prometheus_client import CONTENT_TYPE_LATEST

from city_shared.metrics import exposition

__all__ = ["METRICS_PATH", "serving_metrics"]

#: The one path the server answers.
METRICS_PATH = "/metrics"


class _MetricsHandler(BaseHTTPRequestHandler):
    """``GET /metrics``: the exposition; anything else: 404 without a body worth reading."""

    server_version = "city-metrics"
    sys_version = ""

    def do_GET(self) -> None:
        if urlsplit(self.path).path != METRICS_PATH:
            self._answer(404, b"not found\n", "text/plain; charset=utf-8")
            return
        self._answer(200, exposition(), CONTENT_TYPE_LATEST)

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a scrape every few seconds is no news (the client address is no log line)."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    address_family: ClassVar[socket.AddressFamily] = socket.AF_INET  # type: ignore[misc]


class _Server6(_Server):
    address_family: ClassVar[socket.AddressFamily] = socket.AF_INET6  # type: ignore[misc]


@contextlib.contextmanager
def serving_metrics(host: str, port: int) -> Iterator[tuple[str, int]]:
    """Serve ``/metrics`` on ``host:port`` in a thread for the block; yields the bound
    address. Binding fails at once (``OSError``) if the port is taken, before the API starts."""
    server_class = _Server6 if ":" in host else _Server
    server = server_class((host, port), _MetricsHandler)
    thread = threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True)
    thread.start()
    try:
        bound_host, bound_port = server.server_address[:2]
        yield str(bound_host), int(bound_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
