"""``Idempotency-Key`` for unsafe REST calls: a pure ASGI middleware that stores the first response
per (caller, method, path, key) in ``idempotency_keys`` and replays it, plus the FastAPI
dependencies that require or document the header and :func:`purge_expired` for the worker.

Contract (for POST, PUT, PATCH and DELETE requests that carry the header):

- the key is 1..255 visible ASCII characters (``!``..``~``), sent once; else 400
  ``invalid_idempotency_key``;
- keys are scoped per caller (the verified principal's tenant and ``sub``, or ``anonymous``
  without an ``Authorization`` header), method and path, so two callers never see each other's
  responses. A request whose token does not verify bypasses idempotency and reaches the route,
  which answers 401;
- a request no route takes (404, 405) passes through without its body being read. Otherwise
  the body is read whole before the route runs, so a body limit
  (:class:`city_shared.body_limit.BodyLimitMiddleware`) must sit in front of this middleware;
- the first request runs; its response (status, the headers in :data:`STORED_HEADERS`, body) is
  stored for ``ttl_seconds``. A 5xx response or an exception is not stored: the client may retry;
- the same key with the same request (sha256 over method, path, query and body) gets the stored
  response byte for byte plus ``Idempotent-Replayed: true``; with another request, 422
  ``idempotency_key_mismatch``; while the first still runs, 409 ``idempotency_key_in_flight``
  with ``Retry-After``. Neither of these reaches the route;
- a claim older than ``in_flight_seconds`` (a crashed or hung worker) is taken over by the next
  request with the same fingerprint; an expired row counts as absent;
- while the database is unreachable (:func:`city_shared.faults.is_transient`), a request with a
  key gets 503 ``service_unavailable`` with ``Retry-After`` and nothing is claimed. A claim this
  process could not release because the database went away mid-request is released by the
  next request with the same key that reaches this process, so the retry runs at once; on
  another replica it waits ``in_flight_seconds``. A response the route produced but that could
  not be stored is still sent (the work is done), and a retry then behaves like one after a
  crash.

The claim is committed in its own short transaction before the route runs, so it is not atomic
with the route's own transaction: a worker that dies after the route committed but before the
response was stored lets the request run again once the claim is abandoned. Operations that
must never run twice stay idempotent on a natural key as well (e.g. payment on source +
reference).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Final

from fastapi import Depends, Header, Request
from sqlalchemy import (
    ColumnElement,
    Interval,
    MetaData,
    bindparam,
    delete,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from city_shared.auth.dependencies import authenticate
from city_shared.backbone import attach_backbone_tables
from city_shared.errors import DomainError, database_unavailable, problem_response
from city_shared.faults import is_transient

__all__ = [
    "IDEMPOTENCY_KEY_HEADER",
    "REPLAYED_HEADER",
    "STORED_HEADERS",
    "IdempotencyKey",
    "IdempotencyKeyInFlight",
    "IdempotencyKeyMismatch",
    "IdempotencyKeyRequired",
    "IdempotencyMiddleware",
    "InvalidIdempotencyKey",
    "accept_idempotency_key",
    "engine_from_app_state",
    "purge_expired",
    "require_idempotency_key",
]

logger = logging.getLogger(__name__)

IDEMPOTENCY_KEY_HEADER: Final = "Idempotency-Key"
REPLAYED_HEADER: Final = "Idempotent-Replayed"
#: Response headers stored with the response and replayed; ``set-cookie`` never is.
STORED_HEADERS: Final = frozenset(
    {
        "allow",
        "cache-control",
        "content-language",
        "content-location",
        "content-type",
        "etag",
        "last-modified",
        "link",
        "location",
        "retry-after",
        "www-authenticate",
    }
)
UNSAFE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
_VALID_KEY = re.compile(_KEY_PATTERN)
_HEADER_NAME = IDEMPOTENCY_KEY_HEADER.lower().encode("latin-1")
_IN_FLIGHT = "in_flight"
_COMPLETED = "completed"
_ANONYMOUS = "anonymous"
# Set on every HTTP scope the middleware sees, so the dependencies can tell it is installed.
_SCOPE_MARK = "city_shared.idempotency"
_CLAIM_ATTEMPTS = 3
# Claims left behind by a database outage, remembered per process to release on the retry.
_MAX_UNRELEASED = 10_000

_KEYS = attach_backbone_tables(MetaData())[2]


class InvalidIdempotencyKey(DomainError):
    """400: the ``Idempotency-Key`` header is empty, too long, not visible ASCII, or repeated."""

    status = 400
    code = "invalid_idempotency_key"
    title = "Invalid Idempotency-Key"


class IdempotencyKeyRequired(DomainError):
    """400: the operation needs an ``Idempotency-Key`` header and the request has none."""

    status = 400
    code = "idempotency_key_required"
    title = "Idempotency-Key required"


class IdempotencyKeyMismatch(DomainError):
    """422: the key was already used by this caller for a different request."""

    status = 422
    code = "idempotency_key_mismatch"
    title = "Idempotency-Key reused for a different request"


class IdempotencyKeyInFlight(DomainError):
    """409: the first request with this key is still running; retry after ``Retry-After``."""

    status = 409
    code = "idempotency_key_in_flight"
    title = "Request with this Idempotency-Key in progress"


def engine_from_app_state(scope: Scope) -> AsyncEngine:
    """The default engine lookup: ``app.state.engine`` of the app serving ``scope``."""
    engine = getattr(scope["app"].state, "engine", None)
    if not isinstance(engine, AsyncEngine):
        raise RuntimeError("IdempotencyMiddleware needs app.state.engine (an AsyncEngine)")
    return engine


@dataclass(frozen=True)
class _Identity:
    scope: str
    key: str
    request_hash: str


@dataclass(frozen=True)
class _Claimed:
    # The claim's ``locked_until`` fences it: only the holder may complete or release it.
    token: datetime


@dataclass(frozen=True)
class _Stored:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class _Mismatch:
    pass


class _Busy:
    pass


_Decision = _Claimed | _Stored | _Mismatch | _Busy


class IdempotencyMiddleware:
    """Pure ASGI middleware implementing the module's contract.

    The database is ``get_engine(scope)``, by default ``app.state.engine`` (read per request, so
    the lifespan may create it after the middleware is built). The caller is resolved through
    :func:`city_shared.auth.authenticate`, which needs ``app.state.token_verifier`` when a
    request carries ``Authorization`` and caches the principal for the route. Responses are
    buffered in memory; the client receives one only after it was stored. ``retry_after_seconds``
    is the ``Retry-After`` of a 409.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        ttl_seconds: int = 24 * 3600,
        in_flight_seconds: int = 60,
        get_engine: Callable[[Scope], AsyncEngine] = engine_from_app_state,
        stored_headers: Iterable[str] = STORED_HEADERS,
        retry_after_seconds: int = 1,
    ) -> None:
        stored = frozenset(name.lower() for name in stored_headers)
        if "set-cookie" in stored:
            raise ValueError("set-cookie must never be stored for replay")
        if ttl_seconds <= 0 or in_flight_seconds <= 0 or retry_after_seconds <= 0:
            raise ValueError("ttl_seconds, in_flight_seconds and retry_after_seconds must be > 0")
        self.app = app
        self._ttl = timedelta(seconds=ttl_seconds)
        self._in_flight = timedelta(seconds=in_flight_seconds)
        self._get_engine = get_engine
        self._stored_headers = frozenset(name.encode("latin-1") for name in stored)
        self._retry_after = str(retry_after_seconds)
        self._unreleased: OrderedDict[tuple[str, str], datetime] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope[_SCOPE_MARK] = True
        values = [v for k, v in scope["headers"] if k.lower() == _HEADER_NAME]
        if scope["method"] not in UNSAFE_METHODS or not values:
            await self.app(scope, receive, send)
            return
        key = values[0].decode("latin-1")
        if len(values) > 1 or not _VALID_KEY.fullmatch(key):
            detail = "The Idempotency-Key header must be 1-255 visible ASCII characters, once."
            await _problem(InvalidIdempotencyKey(detail), scope, receive, send)
            return
        if not _routed(scope):
            await self.app(scope, receive, send)  # 404 or 405: nothing to buffer or store
            return
        caller = await _caller(scope)
        if caller is None:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            return  # the client went away before sending its request
        ident = _identity(scope, caller, key, body)
        engine = self._get_engine(scope)
        try:
            await self._release_left_behind(engine, ident)
            decision = await self._claim(engine, ident)
        except Exception as exc:
            if not is_transient(exc):
                raise
            logger.warning("idempotency claim impossible, answered 503: %s",
                           type(exc).__qualname__)
            await _problem(database_unavailable(), scope, receive, send)
            return
        if isinstance(decision, _Stored):
            await self._replay(decision, send)
        elif isinstance(decision, _Mismatch):
            detail = "This Idempotency-Key was already used for a different request."
            await _problem(IdempotencyKeyMismatch(detail), scope, receive, send)
        elif isinstance(decision, _Busy):
            error = IdempotencyKeyInFlight(
                "The first request with this Idempotency-Key is still being processed.",
                headers={"Retry-After": self._retry_after},
            )
            await _problem(error, scope, receive, send)
        else:
            await self._run(scope, _replaying(body, receive), send, engine, ident, decision.token)

    async def _run(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        engine: AsyncEngine,
        ident: _Identity,
        token: datetime,
    ) -> None:
        """Run the app with the claim held; store (or, on 5xx, release) before responding."""
        start: Message | None = None
        chunks: list[bytes] = []
        finished = False

        async def record(message: Message) -> None:
            nonlocal start, finished
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if finished or message.get("more_body", False):
                    return
                if start is None:
                    raise RuntimeError("response body sent before response start")
                body = b"".join(chunks)
                finished = True
                await self._settle(engine, ident, token, start, body)
                await send(start)
                await send({"type": "http.response.body", "body": body, "more_body": False})
            else:
                await send(message)

        try:
            await self.app(scope, receive, record)
        except Exception:
            if not finished:
                await self._release(engine, ident, token)
            raise
        if not finished:
            await self._release(engine, ident, token)

    async def _settle(
        self, engine: AsyncEngine, ident: _Identity, token: datetime, start: Message, body: bytes
    ) -> None:
        status = int(start["status"])
        if status >= 500:
            await self._release(engine, ident, token)
            return
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in start.get("headers", [])
            if name.lower() in self._stored_headers
        ]
        try:
            async with engine.begin() as conn:
                result = await conn.execute(_SETTLE, {
                    **_held_params(ident, token), "b_status": status,
                    "b_headers": [list(pair) for pair in headers], "b_body": body,
                    "b_ttl": self._ttl,
                })
        except Exception as exc:
            if not is_transient(exc):
                raise
            logger.warning("idempotent response not stored (the database is unavailable): %s",
                           type(exc).__qualname__)
            return
        if result.rowcount != 1:
            logger.warning(
                "idempotency claim was taken over before the response was stored; "
                "in_flight_seconds is shorter than this request took"
            )

    async def _release(self, engine: AsyncEngine, ident: _Identity, token: datetime) -> None:
        """Release our claim; if the database is unavailable, remember it for the retry."""
        try:
            await _release(engine, ident, token)
        except Exception as exc:
            if not is_transient(exc):
                raise
            self._unreleased[(ident.scope, ident.key)] = token
            while len(self._unreleased) > _MAX_UNRELEASED:
                self._unreleased.popitem(last=False)

    async def _release_left_behind(self, engine: AsyncEngine, ident: _Identity) -> None:
        """Release a claim of this key that an outage kept us from releasing (still fenced by
        its token: a claim taken over since is not touched)."""
        token = self._unreleased.get((ident.scope, ident.key))
        if token is not None:
            await _release(engine, ident, token)
            self._unreleased.pop((ident.scope, ident.key), None)

    async def _claim(self, engine: AsyncEngine, ident: _Identity) -> _Decision:
        """Claim the key, or report what holds it. Each attempt is one short transaction; an
        attempt repeats only if the row vanished between the insert and the lock."""
        for _ in range(_CLAIM_ATTEMPTS):
            async with engine.begin() as conn:
                token = (await conn.execute(_CLAIM, {
                    "b_scope": ident.scope, "b_key": ident.key, "b_hash": ident.request_hash,
                    "b_in_flight": self._in_flight, "b_ttl": self._ttl,
                })).scalar_one_or_none()
                if token is not None:
                    return _Claimed(token)
                row = (
                    await conn.execute(
                        select(
                            _KEYS.c.request_hash,
                            _KEYS.c.state,
                            _KEYS.c.response_status,
                            _KEYS.c.response_headers,
                            _KEYS.c.response_body,
                            (_KEYS.c.expires_at <= func.now()).label("expired"),
                            (_KEYS.c.locked_until <= func.now()).label("abandoned"),
                        )
                        .where(_KEYS.c.scope == ident.scope, _KEYS.c.key == ident.key)
                        .with_for_update()
                    )
                ).one_or_none()
                if row is None:
                    continue
                same = row.request_hash == ident.request_hash
                if row.expired or (row.state == _IN_FLIGHT and row.abandoned and same):
                    return _Claimed(await self._take_over(conn, ident))
                if not same:
                    return _Mismatch()
                if row.state == _IN_FLIGHT:
                    return _Busy()
                return _Stored(
                    status=row.response_status,
                    headers=[(str(n), str(v)) for n, v in row.response_headers],
                    body=bytes(row.response_body),
                )
        return _Busy()

    async def _take_over(self, conn: AsyncConnection, ident: _Identity) -> datetime:
        token: datetime = (
            await conn.execute(
                update(_KEYS)
                .where(_KEYS.c.scope == ident.scope, _KEYS.c.key == ident.key)
                .values(
                    request_hash=ident.request_hash,
                    state=_IN_FLIGHT,
                    response_status=None,
                    response_headers=None,
                    response_body=None,
                    created_at=func.now(),
                    locked_until=func.now() + self._in_flight,
                    expires_at=func.now() + self._ttl,
                )
                .returning(_KEYS.c.locked_until)
            )
        ).scalar_one()
        return token

    @staticmethod
    async def _replay(stored: _Stored, send: Send) -> None:
        headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in stored.headers]
        headers.append((b"content-length", str(len(stored.body)).encode("latin-1")))
        headers.append((REPLAYED_HEADER.lower().encode("latin-1"), b"true"))
        await send({"type": "http.response.start", "status": stored.status, "headers": headers})
        await send({"type": "http.response.body", "body": stored.body, "more_body": False})


async def purge_expired(engine: AsyncEngine, *, batch_size: int = 1000) -> int:
    """Delete expired idempotency rows in batches of ``batch_size``; return how many.

    Safe beside live traffic: rows locked by a request taking them over are skipped, and a row
    is deleted only if it is still expired when locked.
    """
    total = 0
    while True:
        expired = (
            select(_KEYS.c.scope, _KEYS.c.key)
            .where(_KEYS.c.expires_at <= func.now())
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        async with engine.begin() as conn:
            result = await conn.execute(
                delete(_KEYS).where(
                    tuple_(_KEYS.c.scope, _KEYS.c.key).in_(expired),
                    _KEYS.c.expires_at <= func.now(),
                )
            )
        total += result.rowcount
        if result.rowcount < batch_size:
            return total


_KEY_DESCRIPTION = (
    "A client-chosen unique key (e.g. a UUID), 1-255 visible ASCII characters. A retry with the "
    "same key and the same request within 24 h returns the first response (header "
    "`Idempotent-Replayed: true`) instead of running again; the same key with a different "
    "request gets 422 `idempotency_key_mismatch`, and while the first request still runs, 409 "
    "`idempotency_key_in_flight` with `Retry-After`."
)
_KeyHeader = Annotated[
    str | None,
    Header(alias=IDEMPOTENCY_KEY_HEADER, description=_KEY_DESCRIPTION, pattern=_KEY_PATTERN),
]


async def accept_idempotency_key(request: Request, key: _KeyHeader = None) -> str | None:
    """Dependency documenting the optional header in OpenAPI; returns the key, if any.

    :raises RuntimeError: a key was sent but :class:`IdempotencyMiddleware` is not installed.
    """
    if key is not None and not request.scope.get(_SCOPE_MARK):
        raise RuntimeError("Idempotency-Key used without IdempotencyMiddleware installed")
    return key


async def require_idempotency_key(
    key: Annotated[str | None, Depends(accept_idempotency_key)],
) -> str:
    """Dependency for operations that must never run twice: returns the key.

    :raises IdempotencyKeyRequired: (400 ``idempotency_key_required``) the header is missing.
    """
    if key is None:
        raise IdempotencyKeyRequired(
            f"This operation requires an {IDEMPOTENCY_KEY_HEADER} header (e.g. a new UUID)."
        )
    return key


IdempotencyKey = Annotated[str, Depends(require_idempotency_key)]


async def _caller(scope: Scope) -> str | None:
    """``<tenant>/<sub>`` of the verified caller, ``anonymous`` without credentials, None if
    the credentials do not verify (the route then renders the error)."""
    try:
        principal = await authenticate(Request(scope))
    except DomainError:
        return None
    return _ANONYMOUS if principal is None else f"{principal.tenant}/{principal.sub}"


def _routed(scope: Scope) -> bool:
    """True if a route of the app serving ``scope`` takes its method and path (or the app has
    no router to ask)."""
    routes = getattr(getattr(scope.get("app"), "router", None), "routes", None)
    if routes is None:
        return True
    return any(route.matches(scope)[0] is Match.FULL for route in routes)


def _identity(scope: Scope, caller: str, key: str, body: bytes) -> _Identity:
    method = scope["method"].encode("latin-1")
    path = scope["path"].encode("utf-8", "surrogateescape")
    return _Identity(
        scope=_digest([caller.encode("utf-8"), method, path]),
        key=key,
        request_hash=_digest([method, path, scope.get("query_string", b""), body]),
    )


def _digest(parts: Sequence[bytes]) -> str:
    """sha256 over length-prefixed parts, so no two different part lists collide by framing."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


# The statements of every request are built once (building SQLAlchemy expressions per request
# costs more CPU than running them).
_HELD: Final[tuple[ColumnElement[bool], ...]] = (
    _KEYS.c.scope == bindparam("b_scope"),
    _KEYS.c.key == bindparam("b_key"),
    _KEYS.c.state == _IN_FLIGHT,
    _KEYS.c.locked_until == bindparam("b_token"),
)
_CLAIM: Final = (
    insert(_KEYS)
    .values(scope=bindparam("b_scope"), key=bindparam("b_key"),
            request_hash=bindparam("b_hash"), state=_IN_FLIGHT,
            locked_until=func.now() + bindparam("b_in_flight", type_=Interval),
            expires_at=func.now() + bindparam("b_ttl", type_=Interval))
    .on_conflict_do_nothing(index_elements=[_KEYS.c.scope, _KEYS.c.key])
    .returning(_KEYS.c.locked_until)
)
_SETTLE: Final = (
    update(_KEYS).where(*_HELD)
    .values(state=_COMPLETED, response_status=bindparam("b_status"),
            response_headers=bindparam("b_headers"), response_body=bindparam("b_body"),
            locked_until=func.now(), expires_at=func.now() + bindparam("b_ttl", type_=Interval))
)
_RELEASE: Final = delete(_KEYS).where(*_HELD)


def _held_params(ident: _Identity, token: datetime) -> dict[str, object]:
    return {"b_scope": ident.scope, "b_key": ident.key, "b_token": token}


async def _release(engine: AsyncEngine, ident: _Identity, token: datetime) -> None:
    """Delete our claim (if still ours), so the client may retry at once."""
    async with engine.begin() as conn:
        await conn.execute(_RELEASE, _held_params(ident, token))


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None if the client disconnected first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the buffered body, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _problem(error: DomainError, scope: Scope, receive: Receive, send: Send) -> None:
    await problem_response(error, scope["path"])(scope, receive, send)
