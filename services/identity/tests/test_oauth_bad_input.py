"""Bad input on every OAuth, key and client endpoint: an OAuth error (JSON ``error``), a
problem+json, or (``/authorize``) an HTML error page, never a 500."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
NONE_JWT = "eyJhbGciOiJub25lIiwia2lkIjoieCJ9." + base64.urlsafe_b64encode(
    json.dumps({"sub": "x", "iss": "http://127.0.0.1:8001", "aud": "city-platform",
                "exp": 9999999999, "iat": 1, "tenant": "musterstadt", "kind": "citizen",
                "acr": "high", "scope": "openid"}).encode()).decode().rstrip("=") + "."
HUGE = "x" * 100_000
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def basic(raw: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


CASES: list[tuple[str, str, dict[str, Any]]] = [
    # the token endpoint
    ("POST", "/token", {}),
    ("POST", "/token", {"json": {"grant_type": "client_credentials"}}),
    ("POST", "/token", {"content": b"grant_type=client_credentials", "headers": {
        "Content-Type": "text/plain"}}),
    ("POST", "/token", {"content": b"grant_type=a&grant_type=b", "headers": FORM}),
    ("POST", "/token", {"content": ("grant_type=" + HUGE).encode(), "headers": FORM}),
    ("POST", "/token", {"content": b"grant_type=%ff%fe", "headers": FORM}),
    ("POST", "/token", {"content": b"grant_type=\xff\xfe", "headers": FORM}),
    ("POST", "/token", {"content": b"grant_type=client_credentials&client_id=a%00b",
                        "headers": FORM}),
    ("POST", "/token", {"content": b"&&&===&=", "headers": FORM}),
    ("POST", "/token", {"data": {"grant_type": "password", "client_id": "demo-frontend"}}),
    ("POST", "/token", {"data": {"grant_type": "client_credentials"}}),
    ("POST", "/token", {"data": {"grant_type": "client_credentials"},
                        "headers": {"Authorization": "Basic"}}),
    ("POST", "/token", {"data": {"grant_type": "client_credentials"},
                        "headers": {"Authorization": "Basic !!!not-base64"}}),
    ("POST", "/token", {"data": {"grant_type": "client_credentials"},
                        "headers": basic(b"\xff\xfe:\xfd")}),
    ("POST", "/token", {"data": {"grant_type": "client_credentials"},
                        "headers": basic(b"no-colon")}),
    ("POST", "/token", {"data": {"grant_type": "client_credentials"},
                        "headers": basic(b"x" * 5000 + b":y")}),
    ("POST", "/token", {"data": {"grant_type": "client_credentials"},
                        "headers": {"Authorization": "Bearer something"}}),
    ("POST", "/token", {"data": {"grant_type": "client_credentials",
                                 "client_assertion_type": "urn:nonsense",
                                 "client_assertion": "a.b.c"}}),
    ("POST", "/token", {"data": {"grant_type": "client_credentials", "client_assertion_type":
                                 "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                                 "client_assertion": "a.b.c"}}),
    ("POST", "/token", {"data": {"grant_type": "client_credentials", "client_assertion_type":
                                 "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                                 "client_assertion": NONE_JWT}}),
    ("POST", "/token", {"data": {"grant_type": "client_credentials", "client_assertion_type":
                                 "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                                 "client_assertion": NONE_JWT, "client_id": "city-erp"}}),
    ("POST", "/token", {"data": {"grant_type": "authorization_code", "client_id": "demo-frontend",
                                 "code": "nope", "redirect_uri": "x", "code_verifier": "y"}}),
    ("POST", "/token", {"data": {"grant_type": "authorization_code",
                                 "client_id": "demo-frontend"}}),
    ("POST", "/token", {"data": {"grant_type": "authorization_code", "client_id": "demo-frontend",
                                 "code": "c" * 8000, "redirect_uri": "r" * 8000,
                                 "code_verifier": "v" * 8000}}),
    ("POST", "/token", {"data": {"grant_type": "refresh_token", "client_id": "demo-frontend",
                                 "refresh_token": "\u00e4\u00f6\u00fc" * 100}}),
    ("POST", "/token", {"data": {"grant_type": "refresh_token", "client_id": "demo-frontend"}}),
    ("POST", "/token", {"data": {"grant_type": "client_credentials",
                                 "scope": " ".join(f"s{i}" for i in range(1500))},
                        "auth": ("payment", "payment-secret-value")}),
    ("POST", "/token", {"data": {"grant_type": "client_credentials", "client_id": "c" * 200}}),
    # revocation and introspection
    ("POST", "/revoke", {}),
    ("POST", "/revoke", {"data": {"client_id": "demo-frontend"}}),
    ("POST", "/revoke", {"data": {"client_id": "demo-frontend", "token": NONE_JWT}}),
    ("POST", "/revoke", {"data": {"client_id": "demo-frontend", "token": "a.b.c"}}),
    ("POST", "/revoke", {"data": {"client_id": "demo-frontend", "token": "t" * 8000}}),
    ("POST", "/revoke", {"data": {"token": "whatever"}}),
    ("POST", "/introspect", {"data": {"token": "whatever"}}),
    ("POST", "/introspect", {"data": {"token": NONE_JWT},
                             "auth": ("payment", "payment-secret-value")}),
    ("POST", "/introspect", {"data": {"token": "eyJ.eyJ.sig"},
                             "auth": ("payment", "payment-secret-value")}),
    ("POST", "/introspect", {"data": {}, "auth": ("payment", "payment-secret-value")}),
    ("POST", "/introspect", {"json": {"token": "x"}}),
    # userinfo
    ("GET", "/userinfo", {}),
    ("GET", "/userinfo", {"headers": {"Authorization": "Bearer"}}),
    ("GET", "/userinfo", {"headers": {"Authorization": "Bearer a.b.c"}}),
    ("GET", "/userinfo", {"headers": {"Authorization": "Bearer " + NONE_JWT}}),
    ("GET", "/userinfo", {"headers": {"Authorization": "Bearer " + "x" * 10_000}}),
    ("GET", "/userinfo", {"headers": {"Authorization": "Basic eDp5"}}),
    ("POST", "/userinfo", {"json": {"access_token": "x"}}),
    # authorize
    ("GET", "/authorize", {}),
    ("GET", "/authorize", {"params": {"client_id": "c" * 10_000}}),
    ("GET", "/authorize?client_id=demo-frontend&client_id=demo-frontend", {}),
    ("GET", "/authorize?client_id=%ff%fe", {}),
    ("GET", "/authorize?client_id=demo%00frontend", {}),
    ("GET", "/authorize?" + "a=b&" * 5000, {}),
    ("GET", "/authorize", {"params": {"client_id": "demo-frontend", "redirect_uri": "\u00e4"}}),
    ("GET", "/authorize", {"params": {"client_id": "demo-frontend",
                                      "redirect_uri": "http://127.0.0.1:5173/callback",
                                      "response_type": "code", "scope": "openid",
                                      "code_challenge": CHALLENGE,
                                      "code_challenge_method": "S256",
                                      "claims": "[" * 5000 + "]" * 5000}}),
    ("GET", "/authorize", {"params": {"client_id": "demo-frontend",
                                      "redirect_uri": "http://127.0.0.1:5173/callback",
                                      "state": "s" * 5000}}),
    ("POST", "/authorize", {}),
    ("POST", "/authorize", {"json": {"client_id": "demo-frontend"}}),
    ("POST", "/authorize", {"content": HUGE.encode(), "headers": FORM}),
    ("POST", "/authorize", {"data": {"client_id": "demo-frontend", "email": "\u00e4" * 400,
                                     "password": "p" * 5000, "csrf_token": "\u00e4"}}),
    # keys and clients
    ("GET", "/.well-known/jwks.json?x=" + "y" * 5000, {}),
    ("POST", "/admin/keys/rotate", {"headers": {"Authorization": "Bearer " + NONE_JWT}}),
    ("POST", "/admin/keys/rotate", {"headers": {"Authorization": "Basic eDp5"}}),
    ("GET", "/admin/clients", {"headers": {"Authorization": "Bearer garbage"}}),
    ("POST", "/admin/clients", {"content": b"{not json", "admin": True,
                                "headers": {"Content-Type": "application/json"}}),
    ("POST", "/admin/clients", {"json": [1, 2, 3], "admin": True}),
    ("POST", "/admin/clients", {"json": {"name": "x" * 100_000}, "admin": True}),
    ("POST", "/admin/clients", {"json": {"name": "n", "kind": "confidential",
                                         "auth_method": "private_key_jwt",
                                         "grant_types": ["client_credentials"],
                                         "jwks": {"keys": [{"kty": "RSA", "n": "!!", "e": "?"}]}},
                                "admin": True}),
    ("POST", "/admin/clients", {"json": {"name": "n", "kind": "public", "auth_method": "none",
                                         "grant_types": ["authorization_code"],
                                         "redirect_uris": ["https://[::1/cb"]},
                                "admin": True}),
    ("GET", "/admin/clients/" + "c" * 5000, {"admin": True}),
    ("PATCH", "/admin/clients/demo-frontend", {"json": None, "admin": True}),
    ("PATCH", "/admin/clients/demo-frontend", {"json": {"allowed_scopes": "openid"},
                                               "admin": True}),
    ("POST", "/admin/clients/%00/secret", {"admin": True}),
    ("POST", "/admin/clients", {"json": {"name": "a\u0000b", "kind": "confidential",
                                         "auth_method": "client_secret_basic",
                                         "grant_types": ["client_credentials"]},
                                "admin": True}),
    ("POST", "/admin/clients", {"json": {"name": "n", "tenant": "\u0000", "kind": "confidential",
                                         "auth_method": "client_secret_basic",
                                         "grant_types": ["client_credentials"]},
                                "admin": True}),
    ("PATCH", "/admin/clients/city-erp", {"json": {"jwks": {"keys": [{
        "kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
        "kid": "k\u0000"}]}}, "admin": True}),
]


def _id(case: tuple[str, str, dict[str, Any]]) -> str:
    method, path, kwargs = case
    return f"{method} {path[:40]} {sorted(kwargs)}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
async def test_bad_input_never_causes_a_server_error(
    oauth, case: tuple[str, str, dict[str, Any]]  # type: ignore[no-untyped-def]
) -> None:
    await oauth.add_public_client()
    await oauth.add_client("payment", secret="payment-secret-value", scopes=["payment:read"])
    await oauth.add_client("city-erp", auth_method="private_key_jwt", jwks={"keys": []})
    method, path, kwargs = case
    kwargs = dict(kwargs)
    if kwargs.pop("admin", False):
        kwargs["headers"] = {**kwargs.get("headers", {}),
                             **await oauth.mint("admin", admin="platform")}

    response = await oauth.client.request(method, path, **kwargs)

    assert response.status_code < 500, response.text
    if response.status_code < 400:
        return
    content_type = response.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        assert isinstance(response.json()["error"], str)
    elif content_type.startswith("application/problem+json"):
        assert isinstance(response.json()["code"], str)
    else:
        assert path.startswith("/authorize")
        assert content_type.startswith("text/html")
        assert "location" not in response.headers
