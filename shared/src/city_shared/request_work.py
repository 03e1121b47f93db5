"""One HTTP request, one unit of work: the request's transaction, its idempotency record inside
it (ADR 0011).

:class:`RequestWorkMiddleware` opens a session for every HTTP request and keeps the response
until the transaction is settled:

- the route (through :data:`city_shared.dependencies.SessionDep`) and everything it calls use
  that one session; nobody else begins or commits;
- the route returns: the aggregates' recorded events go to the outbox, the ``Idempotency-Key``
  record (if any, :mod:`city_shared.idempotency`) is written, and the transaction commits; then
  the response is sent. So a client never sees a success that was not committed, and a
  response is stored exactly when its effects are;
- the route raises (an error rendered as problem+json included, see
  :func:`city_shared.errors.mark_failed`) or answers 5xx: the transaction rolls back, nothing
  is stored, the error is sent;
- the commit fails on an infrastructure fault: 503 ``service_unavailable`` with
  ``Retry-After`` (the request may be retried with the same key).

A route that must keep a change although it answers with an error (a failed login counts
towards the lockout) returns that error response instead of raising it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from city_shared import idempotency
from city_shared.dependencies import WORK_SESSION_KEY
from city_shared.errors import (
    FAILED_SCOPE_KEY,
    DomainError,
    database_unavailable,
    problem_response,
)
from city_shared.faults import is_transient
from city_shared.unit_of_work import close, commit, rollback

__all__ = ["RequestWorkMiddleware", "sessions_from_app_state"]

log = logging.getLogger(__name__)

SessionsLookup = Callable[[Scope], async_sessionmaker[AsyncSession]]


def sessions_from_app_state(scope: Scope) -> async_sessionmaker[AsyncSession]:
    """The default: ``app.state.session_factory`` of the app serving ``scope`` (read per
    request, so the lifespan may create it after the middleware is built)."""
    sessions = getattr(scope["app"].state, "session_factory", None)
    if not isinstance(sessions, async_sessionmaker):
        raise RuntimeError("RequestWorkMiddleware needs app.state.session_factory")
    return sessions


@dataclass
class _Response:
    """The app's response, held until the transaction is settled."""

    start: Message | None = None
    chunks: list[bytes] = field(default_factory=list)
    complete: bool = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body" and not self.complete:
            self.chunks.append(message.get("body", b""))
            self.complete = not message.get("more_body", False)

    @property
    def status(self) -> int:
        return int(self.start["status"]) if self.start is not None else 500

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    async def forward(self, send: Send) -> None:
        if self.start is None:
            return
        await send(self.start)
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


class RequestWorkMiddleware:
    """Pure ASGI middleware implementing the module's contract for every HTTP request.

    ``ttl_seconds`` is how long an idempotent response is kept; ``retry_after_seconds`` the
    ``Retry-After`` of a 409 ``idempotency_key_in_flight``.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        ttl_seconds: int = 24 * 3600,
        retry_after_seconds: int = 1,
        get_sessions: SessionsLookup = sessions_from_app_state,
    ) -> None:
        if ttl_seconds <= 0 or retry_after_seconds <= 0:
            raise ValueError("ttl_seconds and retry_after_seconds must be > 0")
        self.app = app
        self._ttl = timedelta(seconds=ttl_seconds)
        self._retry_after = str(retry_after_seconds)
        self._get_sessions = get_sessions
        self._routed: dict[_RoutedKey, bool] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope[idempotency.SCOPE_MARK] = True
        try:
            key = idempotency.parse_key(scope)
        except DomainError as error:
            await problem_response(error, scope["path"])(scope, receive, send)
            return
        session = self._get_sessions(scope)()
        scope[WORK_SESSION_KEY] = session
        try:
            await self._work(scope, receive, send, session, key)
        finally:
            scope.pop(WORK_SESSION_KEY, None)
            await close(session)

    async def _work(self, scope: Scope, receive: Receive, send: Send, session: AsyncSession,
                    key: str | None) -> None:
        ident: idempotency.Identity | None = None
        if key is not None and _routed(scope, self._routed):
            caller = await idempotency.caller(scope)
            if caller is not None:
                body = await idempotency.read_body(receive)
                if body is None:
                    return  # the client went away before sending its request
                receive = idempotency.replaying(body, receive)
                ident = idempotency.identity(scope, caller, key, body)
                if not await self._claim(scope, receive, send, session, ident):
                    return
        response = _Response()
        await self.app(scope, receive, response.send)  # raising: closing the session rolls back
        if scope.get(FAILED_SCOPE_KEY) or response.status >= 500 or not response.complete:
            await rollback(session)
        elif not await self._commit(session, ident, response):
            await problem_response(database_unavailable(), scope["path"])(scope, receive, send)
            return
        await response.forward(send)

    async def _claim(self, scope: Scope, receive: Receive, send: Send, session: AsyncSession,
                     ident: idempotency.Identity) -> bool:
        """True if the request may run; else its answer (replay, 409, 422, 503) was sent."""
        try:
            decision = await idempotency.claim(session, ident)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("idempotency claim impossible, answered 503: %s",
                        type(exc).__qualname__)
            await problem_response(database_unavailable(), scope["path"])(scope, receive, send)
            return False
        if isinstance(decision, idempotency.Claimed):
            return True
        await rollback(session)  # ends the advisory lock at once
        if isinstance(decision, idempotency.Stored):
            await idempotency.replay(decision, send)
            return False
        error: DomainError
        if isinstance(decision, idempotency.Mismatch):
            error = idempotency.IdempotencyKeyMismatch(
                "This Idempotency-Key was already used for a different request.")
        else:
            error = idempotency.IdempotencyKeyInFlight(
                "The first request with this Idempotency-Key is still being processed.",
                headers={"Retry-After": self._retry_after},
            )
        await problem_response(error, scope["path"])(scope, receive, send)
        return False

    async def _commit(self, session: AsyncSession, ident: idempotency.Identity | None,
                      response: _Response) -> bool:
        """Store the response (if keyed) and commit; False on an infrastructure fault."""
        assert response.start is not None
        try:
            if ident is not None:
                stored = idempotency.stored_response(
                    response.status, response.start.get("headers", []), response.body)
                await idempotency.store(session, ident, stored, ttl=self._ttl)
            await commit(session)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("request not committed (a dependency is unavailable), answered 503: %s",
                        type(exc).__qualname__)
            return False
        return True


#: How many (method, path) answers of :func:`_routed` are remembered before starting afresh.
_ROUTED_MEMORY = 1024
_RoutedKey = tuple[int, str, str, str]


def _routed(scope: Scope, memory: dict[_RoutedKey, bool]) -> bool:
    """True if a route of the app serving ``scope`` takes its method and path (or the app has
    no router to ask): a 404 or 405 is neither claimed nor stored.

    Remembered in ``memory`` (one per middleware, so per app) by the number of routes (a route
    added later counts), method and path: asking every route costs about 1 % of a keyed
    request's CPU. Routes here match on method and path only (no ``Host`` routes)."""
    routes = getattr(getattr(scope.get("app"), "router", None), "routes", None)
    if routes is None:
        return True
    key = (len(routes), scope["method"], scope.get("root_path", ""), scope["path"])
    routed = memory.get(key)
    if routed is None:
        routed = any(route.matches(scope)[0] is Match.FULL for route in routes)
        if len(memory) >= _ROUTED_MEMORY:
            memory.clear()
        memory[key] = routed
    return routed
