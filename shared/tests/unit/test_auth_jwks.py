"""JwksCache: one fetch for many callers, a floor between fetches, only asymmetric signing keys."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from city_shared.auth.jwks import JwksCache, JwksUnavailable
from city_shared.auth.testing import JWKS_URL, TokenFactory


class Identity:
    """A fake JWKS endpoint that answers slowly, so concurrent callers really overlap."""

    def __init__(self, document: object, status: int = 200) -> None:
        self.document = document
        self.status = status
        self.requests = 0

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        await asyncio.sleep(0.05)
        if isinstance(self.document, bytes):
            return httpx.Response(self.status, content=self.document)
        return httpx.Response(self.status, json=self.document)

    def cache(self, clock: list[float], min_refresh_interval: float = 10) -> JwksCache:
        client = httpx.AsyncClient(transport=httpx.MockTransport(self.handle))
        return JwksCache(
            JWKS_URL, client, min_refresh_interval=min_refresh_interval, clock=lambda: clock[0]
        )


@pytest.fixture(scope="module")
def tokens() -> TokenFactory:
    return TokenFactory(ed25519=True)


async def test_concurrent_cold_lookups_share_one_fetch(tokens: TokenFactory) -> None:
    identity = Identity(tokens.jwks())
    cache = identity.cache([0.0])

    keys = await asyncio.gather(*(cache.get_key("rsa-1") for _ in range(50)))

    assert all(key is not None and key.kid == "rsa-1" for key in keys)
    assert identity.requests == 1


async def test_a_flood_of_random_kids_causes_one_fetch(tokens: TokenFactory) -> None:
    identity = Identity(tokens.jwks())
    clock = [0.0]
    cache = identity.cache(clock)
    await cache.get_key("rsa-1")
    clock[0] += 60

    found = await asyncio.gather(*(cache.get_key(f"random-{i}") for i in range(100)))
    again = await cache.get_key("random-x")

    assert found == [None] * 100
    assert again is None
    assert identity.requests == 2


async def test_failed_fetches_are_rate_limited_too(tokens: TokenFactory) -> None:
    identity = Identity(tokens.jwks(), status=503)
    clock = [0.0]
    cache = identity.cache(clock)

    for _ in range(5):
        with pytest.raises(JwksUnavailable):
            await cache.get_key("rsa-1")
    assert identity.requests == 1

    identity.status = 200
    clock[0] += 10
    assert await cache.get_key("rsa-1") is not None
    assert identity.requests == 2


@pytest.mark.parametrize("document", [b"<html>oops</html>", {"keys": "none"}, {"keys": []}, []])
async def test_a_broken_jwks_keeps_the_previous_keys(
    tokens: TokenFactory, document: object
) -> None:
    identity = Identity(tokens.jwks())
    clock = [0.0]
    cache = identity.cache(clock)
    await cache.get_key("rsa-1")
    identity.document = document
    clock[0] += 301

    assert await cache.get_key("rsa-1") is not None
    assert identity.requests == 2


async def test_only_asymmetric_signature_keys_with_a_kid_are_kept(tokens: TokenFactory) -> None:
    rsa, okp = tokens.jwks()["keys"]
    no_kid = {k: v for k, v in okp.items() if k != "kid"}
    document = {
        "keys": [
            {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", "kid": "hmac"},
            {**rsa, "kid": "for-encryption", "use": "enc"},
            {"kty": "RSA", "kid": "broken", "n": "AQAB"},
            {"kty": "PQC", "kid": "future"},
            "not-a-key",
            no_kid,
            rsa,
        ]
    }
    cache = Identity(document).cache([0.0])

    assert await cache.get_key("rsa-1") is not None
    for kid in ("hmac", "for-encryption", "broken", "future"):
        assert await cache.get_key(kid) is None
