"""Startup and shutdown of the OAuth side: keys, the login pages, identity's own token
verifier, and a signing key that exists before the first request.

Identity verifies its own access tokens (``/userinfo``, the admin API) with the shared
:class:`~city_shared.auth.verifier.TokenVerifier` like every service, but its JWKS comes from
the database in-process (:mod:`identity_service.keys.local_jwks`), not over the network. The
clock is ``app.state.clock`` (the system clock; tests replace it).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from city_shared.unit_of_work import unit_of_work
from identity_service.keys.dependencies import system_clock
from identity_service.keys.encryption import cipher_from_settings
from identity_service.keys.local_jwks import local_token_verifier
from identity_service.keys.service import KeyRing
from identity_service.oauth.assurance import ExternalIdentityProvider, SandboxEidProvider
from identity_service.oauth.csrf import CsrfTokens
from identity_service.oauth.grants import GrantPolicy
from identity_service.oauth.login_page import LoginPages
from identity_service.oauth.runtime import OAuthRuntime
from identity_service.oauth.tokens import Minter
from identity_service.settings import IdentitySettings

__all__ = ["start_oauth", "stop_oauth"]

logger = logging.getLogger(__name__)


async def start_oauth(app: FastAPI) -> None:
    """Build the OAuth runtime on ``app.state`` and make sure a signing key exists.

    A database that is down at startup is logged, not fatal: the first token request
    creates the key (the service must start to report itself unready).
    """
    settings = app.state.settings
    if not isinstance(settings, IdentitySettings):
        raise RuntimeError("the identity app must be built with IdentitySettings")
    cipher, _ = cipher_from_settings(settings)
    providers: tuple[ExternalIdentityProvider, ...] = ()
    if settings.sandbox_eid_enabled:
        providers = (SandboxEidProvider(),)
    app.state.clock = system_clock
    access_ttl = timedelta(seconds=settings.access_token_ttl_seconds)
    keyring = KeyRing(
        cipher,
        bits=settings.signing_key_bits,
        overlap=access_ttl + timedelta(seconds=settings.key_publish_margin_seconds),
    )
    issuer = settings.auth_issuer.rstrip("/")
    app.state.keyring = keyring
    app.state.oauth = OAuthRuntime(
        settings=settings,
        keyring=keyring,
        policy=GrantPolicy(
            minter=Minter(keyring, issuer=issuer, audience=settings.auth_audience,
                          access_ttl=access_ttl),
            code_ttl=timedelta(seconds=settings.authorization_code_ttl_seconds),
            refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
        ),
        pages=LoginPages(CsrfTokens(settings.csrf_secret.get_secret_value().encode()),
                         issuer=issuer),
        providers=providers,
    )
    verifier, http = local_token_verifier(
        keyring, app.state.session_factory, lambda: app.state.clock(),
        issuer=issuer, audience=settings.auth_audience,
    )
    app.state.token_verifier = verifier
    app.state.oauth_jwks_http = http
    try:
        async with unit_of_work(app.state.session_factory) as session:
            await keyring.ensure_active_key(session, app.state.clock())
    except (SQLAlchemyError, OSError) as exc:
        logger.warning("no signing key ensured at startup (%s); the first token request "
                       "creates one", type(exc).__name__)


async def stop_oauth(app: FastAPI) -> None:
    """Close what :func:`start_oauth` opened."""
    http = getattr(app.state, "oauth_jwks_http", None)
    if http is not None:
        await http.aclose()
