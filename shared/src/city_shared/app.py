"""The application factory every service's ``create_app`` builds on.

It wires what all services share: engine and session factory, the token verifier against the
identity JWKS, problem+json errors, correlation ids, request metrics, tracing, the unit of work
of each request (:mod:`city_shared.request_work`, with ``Idempotency-Key``), the request body
limit, admission control (:mod:`city_shared.admission`), CORS, security headers and the
operational endpoints ``/healthz`` (process alive), ``/readyz`` (database reachable, plus the
service's stalled sagas as detail) and ``/metrics`` (Prometheus; with ``CITY_API_METRICS_PORT``
set it moves to that port, :mod:`city_shared.metrics_server`, and this app answers 404 for it).
Nothing here runs at import time; :mod:`city_shared.serve` serves the app in one process or
several.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from city_shared.admission import AdmissionMiddleware
from city_shared.auth.jwks import JwksCache
from city_shared.auth.verifier import TokenVerifier
from city_shared.body_limit import BodyLimitMiddleware
from city_shared.context import set_correlation_id
from city_shared.cors import install_cors
from city_shared.db import create_engine, create_session_factory
from city_shared.errors import install_error_handlers
from city_shared.logs import configure_logging
from city_shared.metrics import HTTP_REQUEST_SECONDS, exposition
from city_shared.openapi import document_platform_answers
from city_shared.request_work import RequestWorkMiddleware
from city_shared.sagas import StallCounter, count_stalled_sagas
from city_shared.security_headers import SecurityHeadersMiddleware
from city_shared.settings import ServiceSettings
from city_shared.telemetry import instrument_app, instrument_engine, setup_tracing

Lifespan = Callable[[FastAPI], Awaitable[None]]

log = logging.getLogger(__name__)

#: How long ``/readyz`` lets the service's stall counts run before giving up on them.
STALL_COUNT_TIMEOUT_MS = 500

_OPERATIONAL = APIRouter(tags=["operations"])
#: ``/metrics`` on the API's own port: only while ``CITY_API_METRICS_PORT`` is unset.
_METRICS = APIRouter(tags=["operations"])


@_OPERATIONAL.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    """Always 200 while the event loop runs; no dependency is checked."""
    return {"status": "ok"}


@_OPERATIONAL.get("/readyz", summary="Readiness: the database answers")
async def readyz(request: Request) -> Response:
    """200 when the service's database answers ``SELECT 1`` within 2 s, else 503.

    A service with a stall counter adds ``stalled_sagas``: ``{kind: count}`` of journeys stuck
    past their threshold (also the gauge ``city_stalled_sagas``), or ``null`` when counting
    failed or took too long. Either way it stays detail: a stall never makes the service unready.
    """
    try:
        async with request.app.state.engine.connect() as conn:
            await conn.execute(text("SET LOCAL statement_timeout = 2000"))
            await conn.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
    body: dict[str, object] = {"status": "ok", "database": "up"}
    counter: StallCounter | None = request.app.state.stalled_sagas
    if counter is not None:
        try:
            body["stalled_sagas"] = await count_stalled_sagas(
                request.app.state.session_factory, counter,
                service=request.app.state.settings.service_name,
                timeout_ms=STALL_COUNT_TIMEOUT_MS,
            )
        except Exception as exc:  # logged without its message: it may name the database
            log.warning("counting stalled sagas failed", extra={"error": type(exc).__name__})
            body["stalled_sagas"] = None
    return JSONResponse(body)


@_METRICS.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics() -> Response:
    """The collectors in the Prometheus text format: the whole API's when it runs as several
    processes (``CITY_HTTP_WORKERS``, see :mod:`city_shared.metrics`), whichever answers."""
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)


class CorrelationAndMetricsMiddleware:
    """Sets the journey's correlation id (``X-Correlation-ID``, echoed back) and times requests.

    Latency is labelled by the route template, never the raw path (it can contain ids).
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = dict(scope["headers"]).get(b"x-correlation-id")
        cid = set_correlation_id(raw.decode("latin-1") if raw else None)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (b"x-correlation-id", cid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            HTTP_REQUEST_SECONDS.labels(
                self.service, scope["method"], template, str(status)
            ).observe(time.perf_counter() - started)


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    version: str = "0.1.0",
    routers: Sequence[APIRouter] = (),
    on_startup: Lifespan | None = None,
    on_shutdown: Lifespan | None = None,
    openapi_tags: list[dict[str, Any]] | None = None,
    stalled_sagas: StallCounter | None = None,
    body_limits: Mapping[str, int] | None = None,
) -> FastAPI:
    """A FastAPI app with the platform's plumbing; the service adds its routers.

    Every request body is limited to ``settings.max_body_bytes`` (413 ``body_too_large``, see
    :mod:`city_shared.body_limit`); ``body_limits`` maps route templates of endpoints that take
    larger bodies (uploads) to their own limit. Browsers may call the API from
    ``settings.cors_allowed_origins`` only (:mod:`city_shared.cors`); every response carries
    the headers of :mod:`city_shared.security_headers` (HSTS with ``CITY_ENV=production``).
    At most ``settings.max_in_flight`` requests run at once; beyond that a request waits up to
    ``settings.admission_wait_seconds``, then gets 503 ``overloaded`` (:mod:`city_shared.admission`;
    ``/healthz``, ``/readyz`` and ``/metrics`` are never limited).

    ``app.state`` carries ``settings``, ``engine``, ``session_factory``, ``http`` (an
    ``httpx.AsyncClient``) and ``token_verifier`` once the lifespan has started.
    ``stalled_sagas`` counts the service's stuck journeys for ``/readyz`` (see
    :mod:`city_shared.sagas`; the worker refreshes the same gauge).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(
            settings.database_url.get_secret_value(), pool_size=settings.database_pool_size,
            pool_timeout=settings.database_pool_timeout_seconds,
            # A restarted database costs one 503 per stale connection; no ping per request.
            pre_ping=False,
        )
        instrument_engine(engine)
        http = httpx.AsyncClient(timeout=5.0)
        app.state.engine = engine
        app.state.session_factory = create_session_factory(engine)
        app.state.http = http
        app.state.token_verifier = TokenVerifier(
            JwksCache(settings.auth_jwks_url, http),
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
        )
        try:
            settings.warn_if_insecure()  # development mode only; production refused earlier
            if on_startup is not None:
                await on_startup(app)
            yield
        finally:
            if on_shutdown is not None:
                await on_shutdown(app)
            await http.aclose()
            await engine.dispose()

    if any(limit <= 0 for limit in (body_limits or {}).values()):
        raise ValueError("body_limits must be > 0 bytes")
    configure_logging(settings.service_name, level=settings.log_level, json=settings.log_json)
    setup_tracing(settings.service_name, otlp_endpoint=settings.otlp_endpoint)
    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        openapi_tags=openapi_tags,
    )
    app.state.settings = settings
    app.state.stalled_sagas = stalled_sagas
    install_error_handlers(app)
    app.include_router(_OPERATIONAL)
    if settings.api_metrics_port is None:
        app.include_router(_METRICS)
    for router in routers:
        app.include_router(router)
    # One unit of work per request: its transaction, its Idempotency-Key record inside it.
    app.add_middleware(RequestWorkMiddleware, ttl_seconds=settings.idempotency_ttl_seconds)
    # Outside the unit of work, which buffers bodies and responses; inside the correlation
    # middleware, so a 413 is counted and carries the correlation id.
    app.add_middleware(BodyLimitMiddleware, default_bytes=settings.max_body_bytes,
                       per_route=body_limits)
    # Outside everything that reads bodies or opens transactions, so a refused request costs
    # nothing; inside the correlation middleware, so a 503 is timed and carries the id.
    app.add_middleware(AdmissionMiddleware, service=settings.service_name,
                       max_in_flight=settings.max_in_flight,
                       wait_seconds=settings.admission_wait_seconds)
    app.add_middleware(CorrelationAndMetricsMiddleware, service=settings.service_name)
    install_cors(app, settings.cors_allowed_origins)
    docs = (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.env == "production",
                       docs_paths=[path for path in docs if path])
    instrument_app(app)
    document_platform_answers(app)
    return app

