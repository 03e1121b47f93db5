"""RevocationList: identity's revoked token ids reach the verifier within its refresh time, and
an unreachable identity keeps the last list instead of logging everybody out."""

from __future__ import annotations

from city_shared.auth.revocations import RevocationList, revocation_url
from city_shared.auth.testing import JWKS_URL, JwksServer, TokenFactory


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def setup() -> tuple[TokenFactory, JwksServer, Clock, RevocationList]:
    tokens = TokenFactory()
    server = JwksServer(tokens)
    clock = Clock()
    revocations = RevocationList(
        revocation_url(JWKS_URL), server.client(), ttl_seconds=5, clock=clock
    )
    return tokens, server, clock, revocations


def test_the_list_lives_beside_the_jwks() -> None:
    assert revocation_url("https://id.example/city/.well-known/jwks.json") == (
        "https://id.example/city/.well-known/revoked-tokens.json"
    )


async def test_a_revocation_is_seen_once_the_list_is_refreshed() -> None:
    tokens, server, clock, revocations = setup()
    assert not await revocations.is_revoked("j-1")

    tokens.revoke("j-1")
    clock.now += 4
    assert not await revocations.is_revoked("j-1")  # cached for ttl_seconds
    clock.now += 1
    assert await revocations.is_revoked("j-1")
    assert not await revocations.is_revoked("j-2")
    assert server.revocation_requests == 2


async def test_identity_unreachable_keeps_the_last_list_and_retries_after_the_ttl() -> None:
    tokens, server, clock, revocations = setup()
    tokens.revoke("j-1")
    assert await revocations.is_revoked("j-1")

    server.available = False
    clock.now += 5
    assert await revocations.is_revoked("j-1")
    assert await revocations.is_revoked("j-1")
    assert server.revocation_requests == 2  # one failed attempt, no retry within the ttl

    server.available = True
    tokens.revoke("j-2")
    clock.now += 5
    assert await revocations.is_revoked("j-2")
