"""``Idempotency-Key`` for unsafe REST calls, kept inside the request's own transaction.

:class:`city_shared.request_work.RequestWorkMiddleware` applies it to POST, PUT, PATCH and
DELETE requests that carry the header; this module holds the rules, the record and the
dependencies that require or document the header, plus :func:`purge_expired` for the worker.

- the key is 1..255 visible ASCII characters (``!``..``~``), sent once; else 400
  ``invalid_idempotency_key``;
- keys are scoped per caller (the verified principal's tenant and ``sub``, or ``anonymous``
  without an ``Authorization`` header), method and path, so two callers never see each other's
  responses. A request whose token does not verify bypasses idempotency and reaches the route,
  which answers 401. A request no route takes (404, 405) passes through unread;
- :func:`claim` runs first in the request's transaction: an advisory lock held until that
  transaction ends makes a concurrent request with the same key get 409
  ``idempotency_key_in_flight`` (with ``Retry-After``) at once; a completed record answers the
  same request (sha256 over method, path, query, body and the ``If-Match``, ``If-None-Match``
  and ``If-Unmodified-Since`` headers) with the stored response byte for byte plus
  ``Idempotent-Replayed: true``, and another request with 422
  ``idempotency_key_mismatch``;
- :func:`store` writes the response (status, the headers in :data:`STORED_HEADERS`, body) in the
  same transaction as the route's changes, kept for ``ttl``. So a response is stored if and
  only if its effects are committed: a crash before the commit leaves neither (the retry runs),
  a crash after it leaves both (the retry is replayed). A 5xx or an exception stores nothing;
- while the database is unreachable, a request with a key gets 503 ``service_unavailable``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Final

from fastapi import Depends, Header, Request
from sqlalchemy import Interval, MetaData, bindparam, delete, func, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.types import Message, Receive, Scope, Send

from city_shared.auth.dependencies import authenticate
from city_shared.backbone import attach_backbone_tables
from city_shared.errors import DomainError

__all__ = [
    "IDEMPOTENCY_KEY_HEADER",
    "REPLAYED_HEADER",
    "SCOPE_MARK",
    "STORED_HEADERS",
    "Busy",
    "Claimed",
    "Decision",
    "IdempotencyKey",
    "IdempotencyKeyInFlight",
    "IdempotencyKeyMismatch",
    "IdempotencyKeyRequired",
    "Identity",
    "InvalidIdempotencyKey",
    "Mismatch",
    "Stored",
    "accept_idempotency_key",
    "caller",
    "claim",
    "identity",
    "parse_key",
    "purge_expired",
    "read_body",
    "replay",
    "replaying",
    "require_idempotency_key",
    "store",
    "stored_response",
]


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
_STORED_HEADER_NAMES: Final = frozenset(name.encode("latin-1") for name in STORED_HEADERS)
UNSAFE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
_VALID_KEY = re.compile(_KEY_PATTERN)
_HEADER_NAME = IDEMPOTENCY_KEY_HEADER.lower().encode("latin-1")
_PRECONDITION_HEADERS: Final = frozenset({b"if-match", b"if-none-match", b"if-unmodified-since"})
_COMPLETED = "completed"
_ANONYMOUS = "anonymous"
#: Set on every HTTP scope by the request's unit of work, so the dependencies can tell that
#: keys are honoured.
SCOPE_MARK: Final = "city_shared.idempotency"

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


@dataclass(frozen=True)
class Identity:
    """Who asked (hashed caller scope), with which key, for which request (hash)."""

    scope: str
    key: str
    request_hash: str


@dataclass(frozen=True)
class Claimed:
    """The key is this transaction's: run the request."""


@dataclass(frozen=True)
class Stored:
    """A response recorded for the key."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Mismatch:
    """The key was used by this caller for a different request."""


@dataclass(frozen=True)
class Busy:
    """A request with the key is running in another transaction."""


Decision = Claimed | Stored | Mismatch | Busy


def parse_key(scope: Scope) -> str | None:
    """The request's ``Idempotency-Key``, if an unsafe request carries one.

    :raises InvalidIdempotencyKey: the header is malformed or repeated.
    """
    if scope["method"] not in UNSAFE_METHODS:
        return None
    values = [v for k, v in scope["headers"] if k.lower() == _HEADER_NAME]
    if not values:
        return None
    key: str = values[0].decode("latin-1")
    if len(values) > 1 or not _VALID_KEY.fullmatch(key):
        raise InvalidIdempotencyKey(
            "The Idempotency-Key header must be 1-255 visible ASCII characters, once.")
    return key


async def caller(scope: Scope) -> str | None:
    """``<tenant>/<sub>`` of the verified caller, ``anonymous`` without credentials, None if
    the credentials do not verify (the route then renders the error)."""
    try:
        principal = await authenticate(Request(scope))
    except DomainError:
        return None
    return _ANONYMOUS if principal is None else f"{principal.tenant}/{principal.sub}"


def identity(scope: Scope, caller: str, key: str, body: bytes) -> Identity:
    """The record's identity for a request of ``caller`` with ``key`` and ``body``."""
    method = scope["method"].encode("latin-1")
    path = scope["path"].encode("utf-8", "surrogateescape")
    # A precondition (``If-Match`` ...) is part of the request: a retry that states another one
    # is another request, not a replay of the first one's answer.
    preconditions = [part for name, value in scope["headers"]
                     if name.lower() in _PRECONDITION_HEADERS for part in (name.lower(), value)]
    return Identity(
        scope=_digest([caller.encode("utf-8"), method, path]),
        key=key,
        request_hash=_digest([method, path, scope.get("query_string", b""), body,
                              *preconditions]),
    )


def stored_response(status: int, headers: Iterable[tuple[bytes, bytes]], body: bytes,
                    names: frozenset[bytes] = frozenset()) -> Stored:
    """The record of a response: its status, the headers worth replaying, its body."""
    keep = names or _STORED_HEADER_NAMES
    return Stored(status=status, body=body, headers=[
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, value in headers if name.lower() in keep])


async def claim(session: AsyncSession, ident: Identity) -> Decision:
    """Take the key for this transaction, or report what holds it.

    A transaction-scoped advisory lock on (caller scope, key) serialises requests with one key:
    a second one while the first runs gets :class:`Busy` at once (it never waits). Holding the
    lock, a completed record decides: the same request is :class:`Stored`, another one a
    :class:`Mismatch`. An expired record, or none, lets the request run (:class:`Claimed`).
    The lock ends with the transaction: commit, rollback or a dead connection.
    """
    locked = (await session.execute(_LOCK, {"b_scope": ident.scope, "b_key": ident.key}))
    if not locked.scalar_one():
        return Busy()
    row = (await session.execute(_LOOKUP, {"b_scope": ident.scope, "b_key": ident.key})
           ).one_or_none()
    if row is None or row.expired:
        return Claimed()
    if row.request_hash != ident.request_hash:
        return Mismatch()
    if row.state != _COMPLETED:  # a claim row written by an older release of this module
        return Claimed() if row.abandoned else Busy()
    return Stored(status=row.response_status,
                  headers=[(str(n), str(v)) for n, v in row.response_headers],
                  body=bytes(row.response_body))


async def store(
    session: AsyncSession, ident: Identity, stored: Stored, *, ttl: timedelta
) -> None:
    """Record the response of ``ident`` in the session's transaction (it commits with the
    request's own changes or not at all)."""
    await session.execute(_STORE, {
        "b_scope": ident.scope, "b_key": ident.key, "b_hash": ident.request_hash,
        "b_status": stored.status, "b_headers": [list(pair) for pair in stored.headers],
        "b_body": stored.body, "b_ttl": ttl,
    })


async def replay(stored: Stored, send: Send) -> None:
    """Send the stored response, marked ``Idempotent-Replayed: true``."""
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

    :raises RuntimeError: a key was sent but no unit of work honours keys.
    """
    if key is not None and not request.scope.get(SCOPE_MARK):
        raise RuntimeError("Idempotency-Key used without RequestWorkMiddleware installed")
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


def _digest(parts: Sequence[bytes]) -> str:
    """sha256 over length-prefixed parts, so no two different part lists collide by framing."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


# The statements of every request are built once (building SQLAlchemy expressions per request
# costs more CPU than running them).
_LOCK: Final = text(
    "SELECT pg_try_advisory_xact_lock(hashtextextended(:b_scope || '/' || :b_key, 0))")
_LOOKUP: Final = (
    select(_KEYS.c.request_hash, _KEYS.c.state, _KEYS.c.response_status,
           _KEYS.c.response_headers, _KEYS.c.response_body,
           (_KEYS.c.expires_at <= func.now()).label("expired"),
           (_KEYS.c.locked_until <= func.now()).label("abandoned"))
    .where(_KEYS.c.scope == bindparam("b_scope"), _KEYS.c.key == bindparam("b_key"))
)
# Written as text: SQLAlchemy's PostgreSQL ``insert()`` is not cacheable (``inherit_cache =
# False``), so the ``ON CONFLICT DO UPDATE`` form was compiled again on every keyed request.
# The state written is _COMPLETED.
_STORE: Final = text(
    "INSERT INTO idempotency_keys (scope, key, request_hash, state, response_status,"
    " response_headers, response_body, created_at, locked_until, expires_at)"
    " VALUES (:b_scope, :b_key, :b_hash, 'completed', :b_status, :b_headers, :b_body,"
    " now(), now(), now() + :b_ttl)"
    " ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash,"
    " state = excluded.state, response_status = excluded.response_status,"
    " response_headers = excluded.response_headers, response_body = excluded.response_body,"
    " created_at = excluded.created_at, locked_until = excluded.locked_until,"
    " expires_at = excluded.expires_at"
).bindparams(
    bindparam("b_scope", type_=_KEYS.c.scope.type), bindparam("b_key", type_=_KEYS.c.key.type),
    bindparam("b_hash", type_=_KEYS.c.request_hash.type),
    bindparam("b_status", type_=_KEYS.c.response_status.type),
    bindparam("b_headers", type_=_KEYS.c.response_headers.type),
    bindparam("b_body", type_=_KEYS.c.response_body.type),
    bindparam("b_ttl", type_=Interval),
)


def read_body(receive: Receive) -> Awaitable[bytes | None]:
    """The whole request body, or None if the client disconnected first."""
    return _read_body(receive)


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


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the buffered body, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay

