"""TokenVerifier's cache of verified tokens: a repeated token skips the signature check, yet
whatever can change since it verified (expiry, revocation, the key behind its kid) is checked on
every use."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from joserfc import jwt

from city_shared.auth.jwks import JwksCache
from city_shared.auth.revocations import RevocationList, revocation_url
from city_shared.auth.testing import JWKS_URL, JwksServer, TokenFactory
from city_shared.auth.verifier import TokenVerifier
from city_shared.errors import NotAuthenticated


class Clocks:
    """The JWKS cache's and revocation list's monotonic clock and the verifier's wall clock,
    moved together."""

    def __init__(self) -> None:
        self.monotonic = 1000.0
        self.wall = int(time.time())

    def advance(self, seconds: int) -> None:
        self.monotonic += seconds
        self.wall += seconds


class Setup:
    def __init__(self, tokens: TokenFactory, *, cache_size: int = 10_000) -> None:
        self.tokens = tokens
        self.clocks = Clocks()
        self.server = JwksServer(tokens)
        self.jwks = JwksCache(JWKS_URL, self.server.client(), ttl_seconds=300,
                              min_refresh_interval=10, clock=lambda: self.clocks.monotonic)
        revocations = RevocationList(revocation_url(JWKS_URL), self.server.client(),
                                     ttl_seconds=5, clock=lambda: self.clocks.monotonic)
        self.verifier = TokenVerifier(self.jwks, tokens.issuer, tokens.audience,
                                      clock=lambda: self.clocks.wall, revocations=revocations,
                                      cache_size=cache_size)

    def issue(self, **claims: Any) -> str:
        return self.tokens.issue(now=self.clocks.wall, **claims)


@pytest.fixture
def signature_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token whose signature the verifier checks (joserfc's ``jwt.decode``, which the
    verifier looks up on its module at each call)."""
    checked: list[str] = []
    decode: Callable[..., Any] = jwt.decode

    def counting(value: str, *args: Any, **kwargs: Any) -> Any:
        checked.append(value)
        return decode(value, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    return checked


async def assert_rejected(setup: Setup, token: str) -> None:
    with pytest.raises(NotAuthenticated):
        await setup.verifier.verify(token)


async def test_a_repeated_token_is_verified_once(signature_checks: list[str]) -> None:
    setup = Setup(TokenFactory())
    token = setup.issue(sub="user-7")

    principals = [await setup.verifier.verify(token) for _ in range(3)]

    assert [p.sub for p in principals] == ["user-7"] * 3
    assert signature_checks == [token]


async def test_without_the_cache_every_use_checks_the_signature(
    signature_checks: list[str],
) -> None:
    setup = Setup(TokenFactory(), cache_size=0)
    token = setup.issue()

    for _ in range(3):
        await setup.verifier.verify(token)

    assert signature_checks == [token] * 3


async def test_a_cached_token_expires_with_the_leeway(signature_checks: list[str]) -> None:
    setup = Setup(TokenFactory())
    token = setup.issue(exp_in=60)
    await setup.verifier.verify(token)

    setup.clocks.advance(60 + 29)
    assert await setup.verifier.verify(token)  # within the 30 s leeway
    setup.clocks.advance(2)
    await assert_rejected(setup, token)
    assert signature_checks == [token]  # the denial came from the cached entry's expiry

    await assert_rejected(setup, token)  # forgotten, and denied by the full check as well


async def test_a_cached_token_is_denied_once_revoked(signature_checks: list[str]) -> None:
    setup = Setup(TokenFactory())
    token, other = setup.issue(), setup.issue()
    await setup.verifier.verify(token)
    await setup.verifier.verify(other)

    setup.tokens.revoke(token)
    setup.clocks.advance(5)  # the revocation list's refresh interval

    await assert_rejected(setup, token)
    assert await setup.verifier.verify(other)
    assert signature_checks == [token, other]


async def test_a_cached_token_stops_verifying_when_its_key_is_rotated_out(
    signature_checks: list[str],
) -> None:
    setup = Setup(TokenFactory())
    token = setup.issue(exp_in=3600)
    await setup.verifier.verify(token)
    setup.tokens.rotate()
    setup.tokens.retire("rsa-1")

    setup.clocks.advance(200)  # the JWKS is not stale yet: the old key still verifies
    assert await setup.verifier.verify(token)
    setup.clocks.advance(101)  # refetched without rsa-1

    await assert_rejected(setup, token)
    assert signature_checks == [token]


async def test_a_cached_token_is_denied_when_its_kid_names_another_key_now(
    signature_checks: list[str],
) -> None:
    setup = Setup(TokenFactory())
    token = setup.issue(exp_in=3600)
    await setup.verifier.verify(token)

    setup.tokens.add_key("RSA", kid="rsa-1")  # identity replaced the key behind the kid
    setup.clocks.advance(301)

    await assert_rejected(setup, token)
    assert signature_checks == [token, token]  # checked again against the new key: no match


async def test_a_refetched_jwks_with_the_same_key_keeps_the_token_valid(
    signature_checks: list[str],
) -> None:
    setup = Setup(TokenFactory())
    token = setup.issue(exp_in=3600)
    await setup.verifier.verify(token)

    setup.clocks.advance(301)
    assert await setup.verifier.verify(token)
    assert await setup.verifier.verify(token)

    assert setup.server.requests == 2
    assert signature_checks == [token, token]  # once per key object, then cached again


async def test_the_cache_keeps_the_most_recently_used_tokens_only(
    signature_checks: list[str],
) -> None:
    setup = Setup(TokenFactory(), cache_size=2)
    first, second, third = setup.issue(), setup.issue(), setup.issue()
    for token in (first, second, first, third):  # third evicts second, the least recent
        await setup.verifier.verify(token)

    await setup.verifier.verify(first)
    await setup.verifier.verify(second)

    assert signature_checks == [first, second, third, second]
