"""``CITY_API_METRICS_PORT``: the public app answers 404 for ``/metrics`` once the metrics have
a port of their own, and the metrics server answers ``/metrics`` and nothing else (it is no
probe). Negative controls: unset, the public app still serves ``/metrics`` as before; the
server's 404 is checked on ``/healthz``, which a "metrics on any path" server would answer.
The processes themselves: ``shared/tests/integration/test_api_metrics_port.py``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import Counter
from pydantic import ValidationError

from city_shared import serve
from city_shared.app import create_service_app
from city_shared.metrics_server import serving_metrics
from city_shared.settings import ServiceSettings
from city_shared.testing import serve_in_process

UNREACHABLE_DB = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
PROBE_COUNTER = Counter("city_test_metrics_port_probe", "Only for test_api_metrics_port.")


def _app(metrics_port: int | None) -> FastAPI:
    settings = ServiceSettings(service_name="metrics-port", database_url=UNREACHABLE_DB,
                               log_json=False, api_metrics_port=metrics_port)
    return create_service_app(settings, title="metrics port", description="test")


def test_unset_unless_configured(environ: pytest.MonkeyPatch) -> None:
    assert ServiceSettings(service_name="svc").api_metrics_port is None
    environ.setenv("CITY_API_METRICS_PORT", "9000")
    assert ServiceSettings(service_name="svc").api_metrics_port == 9000


@pytest.mark.parametrize("value", ["0", "65536", "metrics"])
def test_a_port_out_of_range_is_refused(environ: pytest.MonkeyPatch, value: str) -> None:
    environ.setenv("CITY_API_METRICS_PORT", value)
    with pytest.raises(ValidationError, match="api_metrics_port"):
        ServiceSettings(service_name="svc")


async def test_the_public_app_hides_metrics_once_they_have_their_own_port() -> None:
    async with serve_in_process(_app(9000), base_url="http://test") as client:
        hidden = await client.get("/metrics")
        alive = await client.get("/healthz")
        schema = (await client.get("/openapi.json")).json()
    assert hidden.status_code == 404
    assert "city_http_request_duration_seconds" not in hidden.text
    assert alive.status_code == 200  # liveness stays on the public port, answered by its loop
    assert "/metrics" not in schema["paths"]


async def test_without_a_metrics_port_the_public_app_serves_metrics_as_before() -> None:
    async with serve_in_process(_app(None), base_url="http://test") as client:
        shown = await client.get("/metrics")
    assert shown.status_code == 200
    assert "city_http_request_duration_seconds" in shown.text


async def test_the_metrics_server_answers_metrics_and_nothing_else() -> None:
    PROBE_COUNTER.inc()
    with serving_metrics("127.0.0.1", 0) as (host, port):
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=10) as client:
            metrics = await client.get("/metrics")
            with_query = await client.get("/metrics?name[]=x")
            probe = await client.get("/healthz")
            root = await client.get("/")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "city_test_metrics_port_probe_total 1.0" in metrics.text
    assert with_query.status_code == 200
    assert probe.status_code == 404  # never a liveness answer from a thread
    assert root.status_code == 404
    assert "city_test" not in probe.text + root.text


def test_the_metrics_server_stops_with_its_block() -> None:
    with serving_metrics("127.0.0.1", 0) as (host, port):
        assert httpx.get(f"http://{host}:{port}/metrics", timeout=10).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://{host}:{port}/metrics", timeout=10)


def test_a_taken_port_fails_before_the_api_starts() -> None:
    with (serving_metrics("127.0.0.1", 0) as (host, port),
          pytest.raises(OSError, match="in use"),
          serving_metrics(host, port)):
        pass


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """A factory for :func:`serve.serve` (uvicorn.run is replaced: nothing is served)."""
    return _app(None)


@pytest.mark.parametrize("workers", [1, 2])
def test_requests_in_flight_get_a_bounded_graceful_shutdown(
    monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """uvicorn's default waits for ever for requests in flight; the pod's grace period would
    then end in SIGKILL (its bound against the manifest: tests/deploy/test_api_pods.py)."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: calls.append(kwargs))
    settings = ServiceSettings(service_name="svc", http_workers=workers, log_json=False)
    serve.serve(create_app, settings)
    assert [call["timeout_graceful_shutdown"] for call in calls] == [
        serve.GRACEFUL_SHUTDOWN_SECONDS]
