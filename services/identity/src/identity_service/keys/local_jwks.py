"""Identity verifies its own access tokens (``/userinfo``, admin API) with the shared
:class:`TokenVerifier`, like every other service, but must not call itself over the network:
:class:`LocalJwksTransport` answers the verifier's JWKS and revocation list fetches from the
database in-process.
"""

from __future__ import annotations

import httpx
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from city_shared.auth.jwks import JwksCache
from city_shared.auth.revocations import REVOCATION_LIST_NAME, RevocationList, revocation_url
from city_shared.auth.verifier import TokenVerifier
from city_shared.unit_of_work import unit_of_work
from identity_service.keys.dependencies import Clock
from identity_service.keys.service import ALGORITHM, KeyRing
from identity_service.oauth import repository as grants

__all__ = ["LocalJwksTransport", "local_token_verifier"]


class LocalJwksTransport(httpx.AsyncBaseTransport):
    """An httpx transport that serves the revocation list for a request of
    ``revoked-tokens.json`` and :meth:`KeyRing.jwks` for any other; 503 if the database fails
    (the verifier then keeps its previous keys and list)."""

    def __init__(
        self, keyring: KeyRing, sessions: async_sessionmaker[AsyncSession], clock: Clock
    ) -> None:
        self._keyring = keyring
        self._sessions = sessions
        self._clock = clock

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            async with unit_of_work(self._sessions) as session:
                if request.url.path.endswith(f"/{REVOCATION_LIST_NAME}"):
                    revoked = await grants.live_revocations(session, self._clock())
                    return httpx.Response(200, json={"revoked": revoked}, request=request)
                document = await self._keyring.jwks(session, self._clock())
        except (SQLAlchemyError, OSError):
            return httpx.Response(503, request=request)
        return httpx.Response(200, json=document, request=request)


def local_token_verifier(
    keyring: KeyRing,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    *,
    issuer: str,
    audience: str,
) -> tuple[TokenVerifier, httpx.AsyncClient]:
    """A verifier of this issuer's access tokens reading keys in-process, and the client it
    uses (close it at shutdown). Keys are cached for 60 s; an unknown kid refetches at most
    once a second (a flood of random kids costs one small query per second); the revocation
    list is read at most once a second."""
    http = httpx.AsyncClient(transport=LocalJwksTransport(keyring, sessions, clock))
    cache = JwksCache(f"{issuer}/.well-known/jwks.json", http, ttl_seconds=60,
                      min_refresh_interval=1)
    revocations = RevocationList(revocation_url(cache.url), http, ttl_seconds=1)
    verifier = TokenVerifier(cache, issuer, audience, algorithms=(ALGORITHM,),
                             clock=lambda: int(clock().timestamp()), revocations=revocations)
    return verifier, http
