"""Client authentication beyond secrets: ``private_key_jwt`` (RFC 7523) driven by Authlib, its
replay protection and the claims it must carry; plus revocation (RFC 7009) and introspection
(RFC 7662) as the clients of other tenants and of other kinds see them."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from joserfc import jwt as jose_jwt
from joserfc.jwk import RSAKey

ISSUER = "http://127.0.0.1:8001"
TOKEN_URL = f"{ISSUER}/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
REDIRECT = "http://127.0.0.1:5173/callback"
EMAIL = "erika.mustermann@example.org"


def rsa_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "alg": "RS256", "use": "sig"})


async def erp_with_key(oauth: Any) -> RSAKey:
    key = rsa_key("erp-1")
    await oauth.add_client("city-erp", auth_method="private_key_jwt", scopes=["payment:read"],
                           jwks={"keys": [key.as_dict(private=False)]})
    return key


def assertion_form(assertion: str) -> dict[str, str]:
    return {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion}


async def test_private_key_jwt_with_authlib(oauth) -> None:  # type: ignore[no-untyped-def]
    key = await erp_with_key(oauth)
    client = oauth.oauth_client("city-erp", key, token_endpoint_auth_method="private_key_jwt")
    client.register_client_auth_method(PrivateKeyJWT(TOKEN_URL, headers={"kid": "erp-1"}))

    first = await client.fetch_token(TOKEN_URL, grant_type="client_credentials")
    second = await client.fetch_token(TOKEN_URL, grant_type="client_credentials")

    assert first["scope"] == "payment:read"
    assert first["access_token"] != second["access_token"]


async def test_a_replayed_client_assertion_is_rejected(oauth) -> None:  # type: ignore[no-untyped-def]
    key = await erp_with_key(oauth)
    assertion = private_key_jwt_sign(key, client_id="city-erp", token_endpoint=TOKEN_URL,
                                     header={"kid": "erp-1"})

    first = await oauth.client.post("/token", data=assertion_form(assertion))
    replay = await oauth.client.post("/token", data=assertion_form(assertion))

    assert first.status_code == 200
    assert replay.status_code == 401
    assert replay.json() == {"error": "invalid_client",
                             "error_description": "The client assertion was already used."}


@pytest.mark.parametrize(
    ("claims", "header"),
    [
        ({"aud": "https://elsewhere.example/token"}, {}),
        ({"iss": "someone-else"}, {}),
        ({"sub": "someone-else"}, {}),
        ({"exp": int(time.time()) - 120}, {}),
        ({"exp": int(time.time()) + 4 * 3600}, {}),
        ({"jti": None}, {}),
        ({}, {"alg": "HS256"}),
        ({}, {"jku": "https://attacker.example/jwks"}),
    ],
    ids=["audience", "issuer", "subject", "expired", "too-long-lived", "no-jti", "hmac", "jku"],
)
async def test_a_client_assertion_with_wrong_claims_is_rejected(
    oauth, claims: dict[str, Any], header: dict[str, Any]  # type: ignore[no-untyped-def]
) -> None:
    key = await erp_with_key(oauth)
    now = int(time.time())
    payload = {"iss": "city-erp", "sub": "city-erp", "aud": TOKEN_URL, "iat": now,
               "exp": now + 60, "jti": uuid.uuid4().hex, **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    if header.get("alg") == "HS256":
        from joserfc.jwk import OctKey

        signed = jose_jwt.encode({"alg": "HS256", "kid": "erp-1"}, payload,
                                 OctKey.import_key(b"k" * 32), algorithms=["HS256"])
    else:
        signed = jose_jwt.encode({"alg": "RS256", "kid": "erp-1", **header}, payload, key,
                                 algorithms=["RS256"])

    response = await oauth.client.post("/token", data=assertion_form(signed))

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_a_client_assertion_signed_by_another_key_is_rejected(oauth) -> None:  # type: ignore[no-untyped-def]
    await erp_with_key(oauth)
    forged = private_key_jwt_sign(rsa_key("erp-1"), client_id="city-erp",
                                  token_endpoint=TOKEN_URL, header={"kid": "erp-1"})

    response = await oauth.client.post("/token", data=assertion_form(forged))

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_the_issuer_is_an_accepted_assertion_audience(oauth) -> None:  # type: ignore[no-untyped-def]
    key = await erp_with_key(oauth)
    assertion = private_key_jwt_sign(key, client_id="city-erp", token_endpoint=ISSUER,
                                     header={"kid": "erp-1"})

    response = await oauth.client.post("/token", data=assertion_form(assertion))

    assert response.status_code == 200


async def test_a_client_must_use_the_method_it_registered(oauth) -> None:  # type: ignore[no-untyped-def]
    await oauth.add_client("payment", secret="payment-secret-value", scopes=["payment:read"])
    await oauth.add_public_client()

    as_public = await oauth.client.post("/token", data={"grant_type": "client_credentials",
                                                        "client_id": "payment"})
    two_methods = await oauth.client.post(
        "/token", auth=("payment", "payment-secret-value"),
        data={"grant_type": "client_credentials", "client_id": "payment",
              "client_secret": "payment-secret-value"})
    public_machine = await oauth.client.post("/token", data={
        "grant_type": "client_credentials", "client_id": "demo-frontend"})

    assert as_public.status_code == 401
    assert two_methods.status_code == 400
    assert two_methods.json()["error"] == "invalid_request"
    assert public_machine.status_code == 400
    assert public_machine.json()["error"] == "unauthorized_client"


async def _citizen_token(oauth: Any) -> dict[str, Any]:
    await oauth.add_public_client()
    await oauth.add_account(EMAIL)
    client = oauth.oauth_client("demo-frontend", token_endpoint_auth_method="none",
                                redirect_uri=REDIRECT, scope="openid email",
                                code_challenge_method="S256")
    location, verifier, _ = await oauth.login(client, email=EMAIL)
    token: dict[str, Any] = await client.fetch_token(
        TOKEN_URL, authorization_response=location, code_verifier=verifier)
    return token


async def test_introspection_of_access_and_refresh_tokens(oauth) -> None:  # type: ignore[no-untyped-def]
    token = await _citizen_token(oauth)
    await oauth.add_client("resource-server", secret="resource-secret-value")
    await oauth.add_client("foreign", tenant="beispielhausen", secret="foreign-secret-value")
    server = oauth.oauth_client("resource-server", "resource-secret-value")
    foreign = oauth.oauth_client("foreign", "foreign-secret-value")

    access = (await server.introspect_token(f"{ISSUER}/introspect",
                                            token=token["access_token"])).json()
    refresh = (await server.introspect_token(f"{ISSUER}/introspect",
                                             token=token["refresh_token"])).json()
    other_tenant = (await foreign.introspect_token(f"{ISSUER}/introspect",
                                                   token=token["access_token"])).json()
    garbage = (await server.introspect_token(f"{ISSUER}/introspect", token="nonsense")).json()

    assert access["active"] is True
    assert access["client_id"] == "demo-frontend"
    assert access["scope"] == "openid email"
    assert access["tenant"] == "musterstadt"
    assert access["iss"] == ISSUER
    assert access["exp"] > time.time()
    assert refresh == {"active": False}  # refresh tokens are shown to their own client only
    assert other_tenant == {"active": False}
    assert garbage == {"active": False}


async def test_public_clients_cannot_introspect(oauth) -> None:  # type: ignore[no-untyped-def]
    token = await _citizen_token(oauth)

    response = await oauth.client.post("/introspect", data={
        "token": token["access_token"], "client_id": "demo-frontend"})

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_revoking_an_access_token_and_a_refresh_token(oauth) -> None:  # type: ignore[no-untyped-def]
    token = await _citizen_token(oauth)
    await oauth.add_client("resource-server", secret="resource-secret-value")
    server = oauth.oauth_client("resource-server", "resource-secret-value")
    frontend = oauth.oauth_client("demo-frontend", token_endpoint_auth_method="none",
                                  revocation_endpoint_auth_method="none")

    unknown = await frontend.revoke_token(f"{ISSUER}/revoke", token="never-issued")
    foreign = await server.revoke_token(f"{ISSUER}/revoke", token=token["access_token"])
    still = (await server.introspect_token(f"{ISSUER}/introspect",
                                           token=token["access_token"])).json()
    revoked = await frontend.revoke_token(f"{ISSUER}/revoke", token=token["access_token"],
                                          token_type_hint="access_token")
    after = (await server.introspect_token(f"{ISSUER}/introspect",
                                           token=token["access_token"])).json()
    userinfo = await oauth.client.get(
        "/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"})

    assert unknown.status_code == 200
    assert foreign.status_code == 200
    assert still["active"] is True  # another client's revocation had no effect
    assert revoked.status_code == 200
    assert after == {"active": False}
    assert userinfo.status_code == 401

    await frontend.revoke_token(f"{ISSUER}/revoke", token=token["refresh_token"])
    refresh = await oauth.client.post("/token", data={
        "grant_type": "refresh_token", "refresh_token": token["refresh_token"],
        "client_id": "demo-frontend"})
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"
