"""Signing keys: encrypted at rest, published with an overlap across rotation (the shared
TokenVerifier and PyJWT keep accepting old tokens until the overlap ends, then reject them),
rotation for platform admins only, and one active key under concurrent startups."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from city_shared.auth.jwks import JwksCache
from city_shared.auth.verifier import TokenVerifier
from city_shared.db import create_engine, create_session_factory
from city_shared.errors import NotAuthenticated
from identity_service.keys import repository as keys_repository
from identity_service.keys.encryption import (
    DEV_KEY_ENCRYPTION_KEY,
    KeyDecryptionFailed,
    PrivateKeyCipher,
)
from identity_service.keys.service import KeyRing

ISSUER = "http://127.0.0.1:8001"


def kid_of(token: str) -> str:
    kid: str = jwt.get_unverified_header(token)["kid"]
    return kid


@asynccontextmanager
async def verifier_at(oauth: Any, now: int | None = None) -> AsyncIterator[TokenVerifier]:
    """A fresh platform verifier fetching the published JWKS; ``now`` freezes its clock."""
    async with httpx.AsyncClient(transport=oauth.transport, base_url=ISSUER) as http:
        cache = JwksCache(f"{ISSUER}/.well-known/jwks.json", http, min_refresh_interval=0)
        clock = (lambda: now) if now is not None else None
        yield TokenVerifier(cache, ISSUER, "city-platform", clock=clock)


async def pyjwt_accepts(oauth: Any, token: str) -> bool:
    keys = {k["kid"]: k for k in (await oauth.jwks())["keys"]}
    if kid_of(token) not in keys:
        return False
    jwt.decode(token, jwt.PyJWK(keys[kid_of(token)]).key, algorithms=["RS256"],
               audience="city-platform", issuer=ISSUER)
    return True


async def machine_token(oauth: Any) -> str:
    client = oauth.oauth_client("payment", "payment-secret-value")
    token: dict[str, Any] = await client.fetch_token(f"{ISSUER}/token",
                                                     grant_type="client_credentials")
    return str(token["access_token"])


async def test_private_keys_are_encrypted_at_rest_under_the_configured_key(oauth_app) -> None:  # type: ignore[no-untyped-def]
    kek = secrets.token_bytes(32)
    setting = base64.urlsafe_b64encode(kek).decode().rstrip("=")
    async with oauth_app(key_encryption_key=setting) as oauth, oauth.engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT status, private_jwk, public_jwk FROM signing_keys"))).all()

    assert sorted(r.status for r in rows) == ["active", "next"]
    for row in rows:
        header = json.loads(base64.urlsafe_b64decode(row.private_jwk.split(".")[0] + "=="))
        assert (header["alg"], header["enc"]) == ("dir", "A256GCM")
        assert len(row.private_jwk.split(".")) == 5
        private = PrivateKeyCipher(kek).decrypt(row.private_jwk)
        assert private["d"]
        assert private["n"] == row.public_jwk["n"]
        assert "d" not in row.public_jwk
        with pytest.raises(KeyDecryptionFailed):
            PrivateKeyCipher(DEV_KEY_ENCRYPTION_KEY).decrypt(row.private_jwk)


class _Records(logging.Handler):
    """Collects records at the logger itself (the app reconfigures the root handlers)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_the_development_key_encryption_key_is_announced(oauth_app) -> None:  # type: ignore[no-untyped-def]
    logger = logging.getLogger("city_shared.settings")  # every service warns through it
    unset, configured = _Records(), _Records()
    logger.addHandler(unset)
    try:
        async with oauth_app():
            pass
    finally:
        logger.removeHandler(unset)
    logger.addHandler(configured)
    try:
        async with oauth_app(key_encryption_key=base64.urlsafe_b64encode(b"k" * 32).decode()):
            pass
    finally:
        logger.removeHandler(configured)

    warned = [r for r in unset.records if "CITY_KEY_ENCRYPTION_KEY" in r.getMessage()]
    assert len(warned) == 1
    assert warned[0].levelno == logging.WARNING
    assert not [r for r in configured.records if "CITY_KEY_ENCRYPTION_KEY" in r.getMessage()]


async def test_the_jwks_publishes_public_rs256_keys_with_cache_control(oauth) -> None:  # type: ignore[no-untyped-def]
    response = await oauth.client.get("/.well-known/jwks.json")

    keys = response.json()["keys"]
    assert response.headers["cache-control"] == "public, max-age=300"
    assert len(keys) == 2  # the active key and the next one
    for key in keys:
        assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
        assert key["kid"]
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
        assert jwt.PyJWK(key).key.key_size == 2048


async def test_rotation_keeps_old_tokens_verifiable_until_the_overlap_ends(oauth) -> None:  # type: ignore[no-untyped-def]
    await oauth.add_client("payment", secret="payment-secret-value")
    admin = await oauth.mint("platform-admin", admin="platform")
    before = await machine_token(oauth)
    issued_at = int(jwt.decode(before, options={"verify_signature": False})["iat"])
    old_kid = kid_of(before)
    next_kid = next(k["kid"] for k in (await oauth.jwks())["keys"] if k["kid"] != old_kid)

    rotation = await oauth.client.post("/admin/keys/rotate", headers=admin)
    after = await machine_token(oauth)

    assert rotation.status_code == 200
    result = rotation.json()
    assert result["active_kid"] == next_kid  # the pre-published key signs now
    assert result["retiring_kid"] == old_kid
    until = datetime.fromisoformat(result["retiring_published_until"])
    assert abs(until - (oauth.clock() + timedelta(seconds=900))) < timedelta(seconds=5)
    assert kid_of(after) == next_kid
    published = {k["kid"] for k in (await oauth.jwks())["keys"]}
    assert {old_kid, next_kid, result["next_kid"]} == published
    async with verifier_at(oauth) as verifier:
        assert (await verifier.verify(before)).sub == "payment"
        assert (await verifier.verify(after)).sub == "payment"
    assert await pyjwt_accepts(oauth, before)
    assert await pyjwt_accepts(oauth, after)
    async with verifier_at(oauth, now=issued_at) as frozen:  # control for the check below
        assert (await frozen.verify(before)).sub == "payment"

    oauth.clock.advance(900 + 1)

    assert old_kid not in {k["kid"] for k in (await oauth.jwks())["keys"]}
    async with verifier_at(oauth, now=issued_at) as frozen:  # only the key is missing now
        with pytest.raises(NotAuthenticated):
            await frozen.verify(before)
    assert not await pyjwt_accepts(oauth, before)
    admin = await oauth.mint("platform-admin", admin="platform")  # the first one has expired
    assert (await oauth.client.post("/admin/keys/rotate", headers=admin)).status_code == 200
    async with oauth.engine.connect() as conn:
        retired = (await conn.execute(text(
            "SELECT status, private_jwk FROM signing_keys WHERE kid = :kid"), {"kid": old_kid}
        )).one()
    assert tuple(retired) == ("retired", "")  # the private half is gone


async def test_only_platform_admins_rotate(oauth) -> None:  # type: ignore[no-untyped-def]
    tenant_admin = await oauth.mint("tenant-admin", admin="tenant")
    citizen = await oauth.mint("citizen", kind="citizen")

    anonymous = await oauth.client.post("/admin/keys/rotate")
    by_tenant_admin = await oauth.client.post("/admin/keys/rotate", headers=tenant_admin)
    by_citizen = await oauth.client.post("/admin/keys/rotate", headers=citizen)

    assert anonymous.status_code == 401
    assert by_tenant_admin.status_code == 403
    assert by_citizen.status_code == 403
    assert by_tenant_admin.headers["content-type"] == "application/problem+json"
    async with oauth.engine.connect() as conn:
        retiring = (await conn.execute(text(
            "SELECT count(*) FROM signing_keys WHERE status = 'retiring'"))).scalar_one()
    assert retiring == 0  # nothing was rotated


async def _ensure_concurrently(url: str) -> list[str | BaseException]:
    engine = create_engine(url, pool_size=2)
    sessions = create_session_factory(engine)
    ring = KeyRing(PrivateKeyCipher(DEV_KEY_ENCRYPTION_KEY), bits=2048,
                   overlap=timedelta(minutes=15))

    async def start() -> str:
        async with sessions() as session:
            kid = await ring.ensure_active_key(session, datetime.now(UTC))
            await session.commit()
            return kid

    try:
        return list(await asyncio.gather(start(), start(), return_exceptions=True))
    finally:
        await engine.dispose()


async def _statuses(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return sorted((await conn.execute(text("SELECT status FROM signing_keys"))).scalars())
    finally:
        await engine.dispose()


async def test_concurrent_startups_create_exactly_one_active_key(migrated_url: str) -> None:
    outcomes = await _ensure_concurrently(migrated_url)

    assert isinstance(outcomes[0], str)
    assert outcomes[0] == outcomes[1]
    assert await _statuses(migrated_url) == ["active", "next"]


async def test_negative_control_without_the_lock_concurrent_startups_collide(
    migrated_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shows the test above would catch a missing lock: both starts then create a key and the
    second one to activate hits the unique index on the active key."""
    barrier = asyncio.Barrier(2)

    async def no_lock(session: object) -> None:
        await barrier.wait()

    monkeypatch.setattr(keys_repository, "lock_keys", no_lock)

    outcomes = await _ensure_concurrently(migrated_url)

    assert sum(isinstance(o, IntegrityError) for o in outcomes) == 1
