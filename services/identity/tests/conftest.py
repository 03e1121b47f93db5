"""Shared fixtures of the identity tests: a migrated database, the app running on it, a token
factory whose tokens the app trusts, and the demo tenants and departments.

``migrated_url`` and ``token_factory`` come from the devstack plugin, the harness base
(:class:`~city_shared.testing.ServiceHarness`) from ``city_shared.testing``.

- ``identity``: the app on ``migrated_url`` with the demo tenants/departments (no accounts),
  as an :class:`IdentityHarness` (``app``, ``client``, ``url``, ``tokens``, ``engine``) with
  helpers: ``add_account(...)`` inserts an account, ``bearer(account_id, ...)`` makes an
  ``Authorization`` header, ``outbox(event_type)`` reads the outbox.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import FastAPI
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from city_shared.auth.testing import TokenFactory
from city_shared.db import create_engine
from city_shared.testing import ServiceHarness, html_forms, running_harness, running_service
from identity_service.accounts.models import Account, StaffRole
from identity_service.accounts.passwords import hash_password
from identity_service.clients.client_secrets import hash_secret
from identity_service.clients.models import OAuthClient
from identity_service.main import create_app
from identity_service.oauth.tokens import Subject
from identity_service.seed import DEPARTMENTS, TENANTS
from identity_service.settings import IdentitySettings
from identity_service.tenancy.models import Department, Tenant

BASE_URL = "http://identity.test"
DEFAULT_PASSWORD = "Richtig-langes-Passwort-1"


async def seed_tenancy(engine: AsyncEngine) -> None:
    """Insert the demo tenants and departments (as the seed does, without accounts)."""
    async with engine.begin() as conn:
        await conn.execute(insert(Tenant).values(TENANTS).on_conflict_do_nothing())
        await conn.execute(insert(Department).values(DEPARTMENTS).on_conflict_do_nothing())


async def insert_account(
    engine: AsyncEngine, email: str, password: str, *, tenant: str, kind: str,
    roles: Mapping[str, Iterable[str]] | None, admin: str | None, given_name: str | None,
    family_name: str | None, verified: bool = True,
) -> uuid.UUID:
    """Insert an active account (and its staff roles) directly, without events; its id."""
    account_id = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(insert(Account).values(
            id=account_id, tenant=tenant, kind=kind, email=email,
            password_hash=await hash_password(password), given_name=given_name,
            family_name=family_name, locale="de", admin=admin, status="active",
            failed_logins=0, email_verified_at=func.now() if verified else None,
        ))
        for department, names in (roles or {}).items():
            for role in names:
                await conn.execute(insert(StaffRole).values(
                    account_id=account_id, tenant=tenant, department=department, role=role))
    return account_id


@dataclass
class IdentityHarness(ServiceHarness[IdentitySettings]):
    """A running identity app on its own database, and the means to drive it (``bearer`` from
    the base: ``bearer(account_id, kind=..., roles=..., admin=..., acr=..., scope=...)``, a
    stepped-up login unless ``acr`` says otherwise: administrative changes need
    ``substantial``)."""

    async def add_account(
        self,
        email: str,
        password: str = DEFAULT_PASSWORD,
        *,
        tenant: str = "musterstadt",
        kind: str = "citizen",
        roles: Mapping[str, Iterable[str]] | None = None,
        admin: str | None = None,
        given_name: str | None = "Test",
        family_name: str | None = "Person",
        verified: bool = True,
    ) -> uuid.UUID:
        """Insert an active account directly (no events); returns its id."""
        return await insert_account(self.engine, email, password, tenant=tenant, kind=kind,
                                    roles=roles, admin=admin, given_name=given_name,
                                    family_name=family_name, verified=verified)


@pytest.fixture
async def identity(
    migrated_url: str, token_factory: TokenFactory
) -> AsyncIterator[IdentityHarness]:
    """The app on a migrated database holding the demo tenants and departments."""
    async with running_harness(
        IdentityHarness, create_app, IdentitySettings(database_url=migrated_url, log_json=False),
        url=migrated_url, tokens=token_factory, base_url=BASE_URL, prepare=seed_tenancy,
    ) as harness:
        yield harness


# --- The OAuth / OpenID Connect side (slices keys, clients, oauth) ----------------------------
#
# - ``oauth``: the app on its own migrated database with the demo tenancy, trusting only the
#   tokens it signs itself (no TokenFactory), on a movable clock, as an :class:`OAuthHarness`.
# - ``oauth_app``: ``async with oauth_app(**settings) as harness`` for other settings (e.g.
#   ``sandbox_eid_enabled=True``).

ISSUER = "http://127.0.0.1:8001"
DEMO_REDIRECT = "http://127.0.0.1:5173/callback"


class MovableClock:
    """The issuer's clock in tests: real time plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@dataclass
class OAuthHarness:
    """A running identity issuer and the means to drive it like clients and browsers do."""

    app: FastAPI
    client: httpx.AsyncClient
    engine: AsyncEngine
    settings: IdentitySettings
    clock: MovableClock

    @property
    def transport(self) -> httpx.ASGITransport:
        return httpx.ASGITransport(app=self.app)

    def browser(self) -> httpx.AsyncClient:
        """A fresh "browser" (own cookie jar) that does not follow redirects."""
        return httpx.AsyncClient(transport=self.transport, base_url=ISSUER)

    def oauth_client(self, client_id: str, client_secret: Any = None, **kwargs: Any) -> Any:
        """Authlib's AsyncOAuth2Client talking to the app in-process."""
        return AsyncOAuth2Client(client_id=client_id, client_secret=client_secret,
                                 transport=self.transport, base_url=ISSUER, **kwargs)

    async def add_account(
        self, email: str, password: str = DEFAULT_PASSWORD, *, tenant: str = "musterstadt",
        kind: str = "citizen", roles: Mapping[str, Iterable[str]] | None = None,
        admin: str | None = None,
    ) -> uuid.UUID:
        """Insert an active account with a verified e-mail address; returns its id."""
        return await insert_account(self.engine, email, password, tenant=tenant, kind=kind,
                                    roles=roles, admin=admin, given_name="Erika",
                                    family_name="Mustermann")

    async def add_client(
        self, client_id: str, *, tenant: str = "musterstadt", kind: str = "confidential",
        auth_method: str = "client_secret_basic", secret: str | None = None,
        grant_types: Iterable[str] = ("client_credentials",),
        redirect_uris: Iterable[str] = (), scopes: Iterable[str] = (),
        jwks: dict[str, Any] | None = None,
    ) -> None:
        """Register a client directly in the database."""
        async with self.engine.begin() as conn:
            await conn.execute(insert(OAuthClient).values(
                client_id=client_id, tenant=tenant, name=f"Client {client_id}", kind=kind,
                auth_method=auth_method,
                secret_hash=await hash_secret(secret) if secret else None,
                jwks=jwks, redirect_uris=list(redirect_uris), allowed_scopes=list(scopes),
                grant_types=list(grant_types),
            ))

    async def add_public_client(self, client_id: str = "demo-frontend", **kwargs: Any) -> None:
        """A public client like the demo frontend: code + PKCE, refresh tokens."""
        kwargs.setdefault("scopes", ["openid", "profile", "email", "ticketing:read"])
        await self.add_client(client_id, kind="public", auth_method="none",
                              grant_types=["authorization_code", "refresh_token"],
                              redirect_uris=[DEMO_REDIRECT], **kwargs)

    async def mint(
        self, sub: str, *, tenant: str = "musterstadt", kind: str = "staff",
        admin: str | None = None, scope: str = "", client_id: str = "test",
        acr: str = "substantial",
    ) -> dict[str, str]:
        """An Authorization header with an access token the app signs itself."""
        runtime = self.app.state.oauth
        async with self.app.state.session_factory() as session:
            token = await runtime.policy.minter.access_token(
                session, Subject(sub, tenant, kind, {}, admin), client_id=client_id,
                scope=scope, acr=acr, jti=uuid.uuid4().hex, now=self.clock(),
            )
            await session.commit()
        return {"Authorization": f"Bearer {token}"}

    async def authorize_page(
        self, browser: httpx.AsyncClient, oauth: Any, verifier: str | None, **params: Any
    ) -> tuple[httpx.Response, str]:
        """GET /authorize as Authlib builds the URL; returns the response and the state."""
        url, state = oauth.create_authorization_url(f"{ISSUER}/authorize",
                                                    code_verifier=verifier, **params)
        return await browser.get(url), state

    async def submit(
        self, browser: httpx.AsyncClient, page: httpx.Response, *, email: str,
        password: str | None = DEFAULT_PASSWORD, method: str = "password",
    ) -> httpx.Response:
        """Fill in and submit the login form of ``method`` like a browser."""
        form = next(f for f in html_forms(page.text) if f.fields.get("login_method") == method)
        fields = {**form.fields, "email": email}
        if password is not None:
            fields["password"] = password
        return await browser.post(form.action, data=fields)

    async def login(
        self, oauth: Any, *, email: str, password: str = DEFAULT_PASSWORD, **params: Any
    ) -> tuple[str, str, str]:
        """The browser part of the code flow: returns (redirect location, verifier, state)."""
        verifier = generate_token(48)
        async with self.browser() as browser:
            page, state = await self.authorize_page(browser, oauth, verifier, **params)
            assert page.status_code == 200, page.text
            done = await self.submit(browser, page, email=email, password=password)
        assert done.status_code == 303, done.text
        return done.headers["location"], verifier, state

    async def jwks(self) -> dict[str, Any]:
        response = await self.client.get("/.well-known/jwks.json")
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def oauth_app(migrated_url: str) -> Any:
    """``async with oauth_app(**settings) as harness``: the issuer with extra settings."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[OAuthHarness]:
        values: dict[str, Any] = {"database_url": migrated_url, "log_json": False,
                                  "signing_key_bits": 2048, **overrides}
        settings = IdentitySettings(**values)
        engine = create_engine(migrated_url, pool_size=5)
        try:
            await seed_tenancy(engine)
            async with running_service(create_app, settings, base_url=ISSUER) as (app, client):
                clock = MovableClock()
                app.state.clock = clock
                yield OAuthHarness(app, client, engine, settings, clock)
        finally:
            await engine.dispose()

    return start


@pytest.fixture
async def oauth(oauth_app: Any) -> AsyncIterator[OAuthHarness]:
    """The issuer with default settings (2048-bit keys to keep the tests fast)."""
    async with oauth_app() as harness:
        yield harness
