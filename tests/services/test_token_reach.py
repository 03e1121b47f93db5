"""A person's access token reaches only the services its client was granted, and stops working
everywhere once identity revokes it (issue 11, hole 7; ADR 0009): identity and ticketing run
in-process on their own databases, ticketing's verifier reads identity's JWKS and revocation
list through identity's app, as it does over the network."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import FastAPI
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert

from city_shared.auth.jwks import JwksCache
from city_shared.auth.revocations import RevocationList, revocation_url
from city_shared.auth.verifier import TokenVerifier
from city_shared.db import create_engine
from city_shared.testing import html_forms, serve_in_process
from devstack.pytest_plugin import MakeMigratedDatabase
from identity_service.accounts.models import Account
from identity_service.accounts.passwords import hash_password
from identity_service.clients.models import OAuthClient
from identity_service.main import create_app as create_identity
from identity_service.seed import DEPARTMENTS, TENANTS
from identity_service.settings import IdentitySettings
from identity_service.tenancy.models import Department, Tenant
from ticketing_service.main import create_app as create_ticketing
from ticketing_service.settings import TicketingSettings

ROOT = Path(__file__).resolve().parents[2]
ISSUER = "http://127.0.0.1:8001"
REDIRECT = "http://127.0.0.1:5173/callback"
PASSWORD = "Richtig-langes-Passwort-1"
EMAIL = "erika@example.org"


def alembic_ini(service: str) -> Path:
    return ROOT / "services" / service / "alembic.ini"


async def seed_identity(url: str) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(Tenant).values(TENANTS).on_conflict_do_nothing())
            await conn.execute(insert(Department).values(DEPARTMENTS).on_conflict_do_nothing())
            await conn.execute(insert(Account).values(
                id=uuid.uuid4(), tenant="musterstadt", kind="citizen", email=EMAIL,
                password_hash=await hash_password(PASSWORD), given_name="Erika",
                family_name="Mustermann", locale="de", status="active", failed_logins=0,
                email_verified_at=func.now()))
            for client_id, scopes in (
                ("portal", ["openid", "ticketing:read", "ticketing:write"]),
                ("museum-shop", ["openid", "payment:read"]),
            ):
                await conn.execute(insert(OAuthClient).values(
                    client_id=client_id, tenant="musterstadt", name=client_id, kind="public",
                    auth_method="none", redirect_uris=[REDIRECT], allowed_scopes=scopes,
                    grant_types=["authorization_code", "refresh_token"]))
    finally:
        await engine.dispose()


@asynccontextmanager
async def platform(
    migrated_database: MakeMigratedDatabase,
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """(identity, ticketing) clients; ticketing trusts identity through identity's app."""
    identity_url = await migrated_database(alembic_ini("identity"))
    ticketing_url = await migrated_database(alembic_ini("ticketing"))
    await seed_identity(identity_url)
    identity_app: FastAPI = create_identity(IdentitySettings(
        database_url=identity_url, log_json=False, signing_key_bits=2048))
    ticketing_app = create_ticketing(TicketingSettings(database_url=ticketing_url,
                                                       log_json=False))
    async with (
        serve_in_process(identity_app, base_url=ISSUER) as identity,
        serve_in_process(ticketing_app, base_url="http://ticketing.test") as ticketing,
    ):
        network = httpx.AsyncClient(transport=httpx.ASGITransport(app=identity_app))
        jwks = JwksCache(f"{ISSUER}/.well-known/jwks.json", network, min_refresh_interval=0)
        ticketing_app.state.token_verifier = TokenVerifier(
            jwks, ISSUER, "city-platform",
            revocations=RevocationList(revocation_url(jwks.url), network, ttl_seconds=0))
        try:
            yield identity, ticketing
        finally:
            await network.aclose()


async def login(identity: httpx.AsyncClient, client_id: str, scope: str) -> dict[str, Any]:
    """The code flow with PKCE through identity's login page; the token response."""
    oauth = AsyncOAuth2Client(client_id=client_id, redirect_uri=REDIRECT, scope=scope,
                              code_challenge_method="S256")
    verifier = generate_token(48)
    url, _ = oauth.create_authorization_url(f"{ISSUER}/authorize", code_verifier=verifier)
    page = await identity.get(url)
    assert page.status_code == 200, page.text
    form = next(f for f in html_forms(page.text) if f.fields.get("login_method") == "password")
    done = await identity.post(form.action, data={**form.fields, "email": EMAIL,
                                                  "password": PASSWORD})
    assert done.status_code == 303, done.text
    code = httpx.URL(done.headers["location"]).params["code"]
    response = await identity.post("/token", data={
        "grant_type": "authorization_code", "client_id": client_id, "code": code,
        "redirect_uri": REDIRECT, "code_verifier": verifier})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['access_token']}"}


async def test_after_logout_the_access_token_is_refused_by_another_service(
    migrated_database: MakeMigratedDatabase,
) -> None:
    async with platform(migrated_database) as (identity, ticketing):
        token = await login(identity, "portal", "openid ticketing:read ticketing:write")
        before = await ticketing.get("/orders", headers=bearer(token))

        # Logout: the portal revokes its refresh token, which ends the whole login session.
        revoked = await identity.post("/revoke", data={
            "client_id": "portal", "token": token["refresh_token"]})
        after = await ticketing.get("/orders", headers=bearer(token))

    assert before.status_code == 200, before.text
    assert revoked.status_code == 200
    assert after.status_code == 401
    assert after.json()["code"] == "not_authenticated"


async def test_a_revoked_access_token_is_refused_by_another_service(
    migrated_database: MakeMigratedDatabase,
) -> None:
    async with platform(migrated_database) as (identity, ticketing):
        token = await login(identity, "portal", "openid ticketing:read")
        other = await login(identity, "portal", "openid ticketing:read")
        await identity.post("/revoke", data={"client_id": "portal",
                                             "token": token["access_token"]})

        refused = await ticketing.get("/orders", headers=bearer(token))
        untouched = await ticketing.get("/orders", headers=bearer(other))

    assert refused.status_code == 401
    assert untouched.status_code == 200


async def test_a_token_from_a_client_without_a_ticketing_scope_does_not_reach_ticketing(
    migrated_database: MakeMigratedDatabase,
) -> None:
    async with platform(migrated_database) as (identity, ticketing):
        token = await login(identity, "museum-shop", "openid payment:read")
        response = await ticketing.get("/orders", headers=bearer(token))

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
