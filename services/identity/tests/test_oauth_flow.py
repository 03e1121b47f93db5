"""The OAuth 2.0 / OpenID Connect flows driven by a real client library (Authlib's
AsyncOAuth2Client): authorization code + PKCE through the login form, client credentials,
refresh rotation with reuse detection, reused codes. Tokens are checked by the platform's
shared TokenVerifier and, independently, by PyJWT against the published JWKS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from authlib.integrations.base_client import OAuthError
from sqlalchemy import text

from city_shared.auth.jwks import JwksCache
from city_shared.auth.verifier import TokenVerifier
from identity_service.oauth import repository as oauth_repository

ISSUER = "http://127.0.0.1:8001"
AUDIENCE = "city-platform"
REDIRECT = "http://127.0.0.1:5173/callback"
EMAIL = "erika.mustermann@example.org"
SCOPE = "openid profile email ticketing:read"


@asynccontextmanager
async def platform_verifier(harness: Any) -> AsyncIterator[TokenVerifier]:
    """The verifier another service runs: the shared TokenVerifier fetching the published
    JWKS over HTTP (here: the app through ASGI)."""
    async with httpx.AsyncClient(transport=harness.transport, base_url=ISSUER) as http:
        cache = JwksCache(f"{ISSUER}/.well-known/jwks.json", http, min_refresh_interval=0)
        yield TokenVerifier(cache, ISSUER, AUDIENCE)


async def pyjwt_decode(harness: Any, token: str, *, audience: str) -> dict[str, Any]:
    """Verify with PyJWT, the key taken from the published JWKS by kid."""
    header = jwt.get_unverified_header(token)
    keys = [k for k in (await harness.jwks())["keys"] if k["kid"] == header["kid"]]
    assert keys, "kid not published"
    claims: dict[str, Any] = jwt.decode(
        token, jwt.PyJWK(keys[0]).key, algorithms=["RS256"], audience=audience, issuer=ISSUER,
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
    )
    return claims


def frontend(harness: Any) -> Any:
    return harness.oauth_client("demo-frontend", token_endpoint_auth_method="none",
                                redirect_uri=REDIRECT, scope=SCOPE, code_challenge_method="S256")


async def code_flow(harness: Any, oauth: Any, **params: Any) -> dict[str, Any]:
    location, verifier, _ = await harness.login(oauth, email=EMAIL, **params)
    token: dict[str, Any] = await oauth.fetch_token(
        f"{ISSUER}/token", authorization_response=location, code_verifier=verifier)
    return token


async def test_authorization_code_with_pkce_through_the_login_form(oauth) -> None:  # type: ignore[no-untyped-def]
    await oauth.add_public_client()
    account_id = await oauth.add_account(EMAIL)
    client = frontend(oauth)

    location, verifier, state = await oauth.login(client, email=EMAIL, nonce="n-0S6_WzA2Mj")
    redirect = urlsplit(location)
    query = parse_qs(redirect.query)
    assert f"{redirect.scheme}://{redirect.netloc}{redirect.path}" == REDIRECT
    assert query["state"] == [state]
    assert query["iss"] == [ISSUER]
    token = await client.fetch_token(f"{ISSUER}/token", authorization_response=location,
                                     code_verifier=verifier)

    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 600
    assert token["scope"] == SCOPE
    assert token["refresh_token"]
    async with platform_verifier(oauth) as verifier_:
        principal = await verifier_.verify(token["access_token"])
    assert principal.sub == str(account_id)
    assert (principal.tenant, principal.kind, principal.acr) == ("musterstadt", "citizen", "basic")
    assert principal.client_id == "demo-frontend"
    assert principal.scopes == frozenset(SCOPE.split())
    claims = await pyjwt_decode(oauth, token["access_token"], audience=AUDIENCE)
    assert jwt.get_unverified_header(token["access_token"])["typ"] == "at+jwt"
    assert claims["exp"] - claims["iat"] == 600
    assert claims["jti"]
    id_token = await pyjwt_decode(oauth, token["id_token"], audience="demo-frontend")
    assert id_token["nonce"] == "n-0S6_WzA2Mj"
    assert id_token["sub"] == str(account_id)
    assert id_token["acr"] == "basic"
    assert id_token["azp"] == "demo-frontend"
    assert id_token["email"] == EMAIL
    assert isinstance(id_token["auth_time"], int)

    info = await client.get(f"{ISSUER}/userinfo")
    assert info.status_code == 200
    assert info.json() == {
        "sub": str(account_id), "name": "Erika Mustermann", "given_name": "Erika",
        "family_name": "Mustermann", "locale": "de", "email": EMAIL, "email_verified": True,
    }


async def test_a_staff_token_carries_department_roles_and_the_admin_flag(oauth) -> None:  # type: ignore[no-untyped-def]
    await oauth.add_public_client()
    await oauth.add_account(EMAIL, kind="staff", admin="tenant",
                            roles={"museum": ["manager", "cashier"], "pools": ["clerk"]})
    token = await code_flow(oauth, frontend(oauth))

    async with platform_verifier(oauth) as verifier:
        principal = await verifier.verify(token["access_token"])
    assert principal.kind == "staff"
    assert principal.has_role("museum", "cashier")
    assert principal.has_role("pools", "clerk")
    assert principal.is_admin("tenant")
    assert not principal.is_admin("platform")


async def test_client_credentials_with_basic_and_post_authentication(oauth) -> None:  # type: ignore[no-untyped-def]
    await oauth.add_client("payment", secret="payment-secret-value",
                           scopes=["notification:send", "payment:read"])
    await oauth.add_client("ticketing", secret="ticketing-secret-value",
                           auth_method="client_secret_post", scopes=["payment:write"])
    basic = oauth.oauth_client("payment", "payment-secret-value", scope="notification:send")
    post = oauth.oauth_client("ticketing", "ticketing-secret-value",
                              token_endpoint_auth_method="client_secret_post")

    narrow = await basic.fetch_token(f"{ISSUER}/token", grant_type="client_credentials")
    default = await post.fetch_token(f"{ISSUER}/token", grant_type="client_credentials")

    assert "refresh_token" not in narrow
    async with platform_verifier(oauth) as verifier:
        payment = await verifier.verify(narrow["access_token"])
        ticketing = await verifier.verify(default["access_token"])
    assert (payment.sub, payment.kind, payment.tenant) == ("payment", "client", "musterstadt")
    assert payment.scopes == frozenset({"notification:send"})
    assert ticketing.scopes == frozenset({"payment:write"})
    claims = await pyjwt_decode(oauth, narrow["access_token"], audience=AUDIENCE)
    assert claims["client_id"] == "payment"
    with pytest.raises(OAuthError) as wider:
        await basic.fetch_token(f"{ISSUER}/token", grant_type="client_credentials",
                                scope="payment:write")
    assert wider.value.error == "invalid_scope"
    with pytest.raises(OAuthError) as oidc:
        await basic.fetch_token(f"{ISSUER}/token", grant_type="client_credentials",
                                scope="openid")
    assert oidc.value.error == "invalid_scope"


async def test_a_wrong_client_secret_is_401_invalid_client(oauth) -> None:  # type: ignore[no-untyped-def]
    await oauth.add_client("payment", secret="payment-secret-value", scopes=["payment:read"])

    wrong = await oauth.client.post("/token", data={"grant_type": "client_credentials"},
                                    auth=("payment", "not-the-secret"))
    unknown = await oauth.client.post("/token", data={"grant_type": "client_credentials"},
                                      auth=("nobody", "payment-secret-value"))
    via_post = await oauth.client.post("/token", data={
        "grant_type": "client_credentials", "client_id": "payment",
        "client_secret": "payment-secret-value"})

    for response in (wrong, unknown, via_post):
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert response.headers["www-authenticate"].startswith("Basic")
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["content-type"] == "application/json"


async def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_whole_family(oauth) -> None:  # type: ignore[no-untyped-def]
    await oauth.add_public_client()
    await oauth.add_account(EMAIL)
    client = frontend(oauth)
    first = await code_flow(oauth, client)

    second = await client.refresh_token(f"{ISSUER}/token", refresh_token=first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    async with platform_verifier(oauth) as verifier:
        assert (await verifier.verify(second["access_token"])).acr == "basic"
    bearer = {"Authorization": f"Bearer {second['access_token']}"}
    assert (await oauth.client.get("/userinfo", headers=bearer)).status_code == 200

    with pytest.raises(OAuthError) as reuse:
        await client.refresh_token(f"{ISSUER}/token", refresh_token=first["refresh_token"])
    assert reuse.value.error == "invalid_grant"
    with pytest.raises(OAuthError) as family:
        await client.refresh_token(f"{ISSUER}/token", refresh_token=second["refresh_token"])
    assert family.value.error == "invalid_grant"
    revoked = await oauth.client.get("/userinfo", headers=bearer)
    assert revoked.status_code == 401
    assert revoked.json()["error"] == "invalid_token"


async def test_a_refresh_token_is_bound_to_its_client(oauth) -> None:  # type: ignore[no-untyped-def]
    await oauth.add_public_client()
    await oauth.add_public_client("other-frontend")
    await oauth.add_account(EMAIL)
    token = await code_flow(oauth, frontend(oauth))

    stolen = await oauth.client.post("/token", data={
        "grant_type": "refresh_token", "refresh_token": token["refresh_token"],
        "client_id": "other-frontend"})

    assert stolen.status_code == 400
    assert stolen.json()["error"] == "invalid_grant"


async def test_a_reused_authorization_code_fails_and_revokes_what_it_issued(oauth) -> None:  # type: ignore[no-untyped-def]
    await oauth.add_public_client()
    await oauth.add_account(EMAIL)
    client = frontend(oauth)
    location, verifier, _ = await oauth.login(client, email=EMAIL)
    token = await client.fetch_token(f"{ISSUER}/token", authorization_response=location,
                                     code_verifier=verifier)

    with pytest.raises(OAuthError) as reuse:
        await client.fetch_token(f"{ISSUER}/token", authorization_response=location,
                                 code_verifier=verifier)

    assert reuse.value.error == "invalid_grant"
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert (await oauth.client.get("/userinfo", headers=bearer)).status_code == 401
    with pytest.raises(OAuthError):
        await client.refresh_token(f"{ISSUER}/token", refresh_token=token["refresh_token"])


async def test_code_exchange_checks_verifier_redirect_uri_client_and_expiry(oauth) -> None:  # type: ignore[no-untyped-def]
    await oauth.add_public_client()
    await oauth.add_public_client("other-frontend")
    await oauth.add_account(EMAIL)

    async def exchange(**changes: str) -> httpx.Response:
        location, verifier, _ = await oauth.login(frontend(oauth), email=EMAIL)
        code = parse_qs(urlsplit(location).query)["code"][0]
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                "client_id": "demo-frontend", "code_verifier": verifier, **changes}
        return await oauth.client.post("/token", data=data)

    assert (await exchange()).status_code == 200
    for changes in ({"code_verifier": "x" * 50}, {"redirect_uri": REDIRECT + "/"},
                    {"client_id": "other-frontend"}):
        response = await exchange(**changes)
        assert response.status_code == 400, changes
        assert response.json()["error"] == "invalid_grant"
    missing = await exchange(code_verifier="")
    assert missing.json()["error"] == "invalid_grant"

    location, verifier, _ = await oauth.login(frontend(oauth), email=EMAIL)
    oauth.clock.advance(61)
    late = await oauth.client.post("/token", data={
        "grant_type": "authorization_code", "code": parse_qs(urlsplit(location).query)["code"][0],
        "redirect_uri": REDIRECT, "client_id": "demo-frontend", "code_verifier": verifier})
    assert late.status_code == 400
    assert "expired" in late.json()["error_description"]


async def test_concurrent_exchanges_of_one_code_issue_tokens_once(oauth) -> None:  # type: ignore[no-untyped-def]
    await oauth.add_public_client()
    await oauth.add_account(EMAIL)
    location, verifier, _ = await oauth.login(frontend(oauth), email=EMAIL)
    data = {"grant_type": "authorization_code", "redirect_uri": REDIRECT,
            "code": parse_qs(urlsplit(location).query)["code"][0],
            "client_id": "demo-frontend", "code_verifier": verifier}

    responses = await asyncio.gather(*(oauth.client.post("/token", data=data) for _ in range(5)))

    assert sorted(r.status_code for r in responses) == [200, 400, 400, 400, 400]


async def test_negative_control_without_the_row_lock_a_code_is_exchanged_twice(
    oauth, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    """Shows the test above would catch a missing lock: without FOR UPDATE, two exchanges that
    both read the code before either marks it used both get tokens."""
    from sqlalchemy import select

    from identity_service.oauth.models import AuthorizationCode

    barrier = asyncio.Barrier(2)

    async def unlocked(session, code_hash):  # type: ignore[no-untyped-def]
        stmt = select(AuthorizationCode).where(AuthorizationCode.code_hash == code_hash)
        row = (await session.execute(stmt)).scalar_one_or_none()
        await barrier.wait()
        return row

    monkeypatch.setattr(oauth_repository, "code_for_update", unlocked)
    await oauth.add_public_client()
    await oauth.add_account(EMAIL)
    location, verifier, _ = await oauth.login(frontend(oauth), email=EMAIL)
    data = {"grant_type": "authorization_code", "redirect_uri": REDIRECT,
            "code": parse_qs(urlsplit(location).query)["code"][0],
            "client_id": "demo-frontend", "code_verifier": verifier}

    responses = await asyncio.gather(*(oauth.client.post("/token", data=data) for _ in range(2)))

    assert [r.status_code for r in responses] == [200, 200]


async def test_discovery_document(oauth) -> None:  # type: ignore[no-untyped-def]
    response = await oauth.client.get("/.well-known/openid-configuration")

    doc = response.json()
    assert doc["issuer"] == ISSUER
    assert doc["authorization_endpoint"] == f"{ISSUER}/authorize"
    assert doc["token_endpoint"] == f"{ISSUER}/token"
    assert doc["jwks_uri"] == f"{ISSUER}/.well-known/jwks.json"
    assert doc["userinfo_endpoint"] == f"{ISSUER}/userinfo"
    assert doc["revocation_endpoint"] == f"{ISSUER}/revoke"
    assert doc["introspection_endpoint"] == f"{ISSUER}/introspect"
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["acr_values_supported"] == ["basic", "substantial", "high"]
    assert set(doc["grant_types_supported"]) == {
        "authorization_code", "refresh_token", "client_credentials"}
    assert "private_key_jwt" in doc["token_endpoint_auth_methods_supported"]
    assert "RS256" in doc["id_token_signing_alg_values_supported"]
    assert {"openid", "payment:write"} <= set(doc["scopes_supported"])


async def test_token_responses_are_neither_cached_nor_stored_for_replay(oauth) -> None:  # type: ignore[no-untyped-def]
    await oauth.add_client("payment", secret="payment-secret-value", scopes=["payment:read"])
    form = {"grant_type": "client_credentials"}
    auth = ("payment", "payment-secret-value")

    issued = await oauth.client.post("/token", data=form, auth=auth)
    keyed = await oauth.client.post("/token", data=form, auth=auth,
                                    headers={"Idempotency-Key": "k-1"})

    assert issued.status_code == 200
    assert issued.headers["cache-control"] == "no-store"
    assert issued.headers["pragma"] == "no-cache"
    assert keyed.status_code == 400
    assert keyed.json()["error"] == "invalid_request"
    async with oauth.engine.connect() as conn:
        stored = (await conn.execute(text(
            "SELECT count(*) FROM idempotency_keys WHERE response_body LIKE '%access_token%'"
        ))).scalar_one()
    assert stored == 0
