"""The OpenID Provider metadata (OpenID Connect Discovery 1.0, RFC 8414)."""

from __future__ import annotations

from typing import Any

from identity_service.clients.scopes import SCOPES
from identity_service.keys.service import ALGORITHM
from identity_service.oauth.acr import LEVELS
from identity_service.oauth.client_assertion import ALGORITHMS as ASSERTION_ALGORITHMS
from identity_service.oauth.runtime import OAuthRuntime

__all__ = ["metadata"]

_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "azp", "tenant",
           "name", "given_name", "family_name", "locale", "birthdate", "email", "email_verified"]


def metadata(runtime: OAuthRuntime) -> dict[str, Any]:
    """The discovery document of this issuer."""
    return {
        "issuer": runtime.issuer,
        "authorization_endpoint": runtime.url("/authorize"),
        "token_endpoint": runtime.url("/token"),
        "userinfo_endpoint": runtime.url("/userinfo"),
        "jwks_uri": runtime.url("/.well-known/jwks.json"),
        "revocation_endpoint": runtime.url("/revoke"),
        "introspection_endpoint": runtime.url("/introspect"),
        "scopes_supported": sorted(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": _AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "revocation_endpoint_auth_methods_supported": _AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": _AUTH_METHODS[:-1],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "userinfo_signing_alg_values_supported": [],
        "access_token_signing_alg_values_supported": [ALGORITHM],
        "claims_supported": _CLAIMS,
        "claims_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "acr_values_supported": list(LEVELS),
        "ui_locales_supported": ["de", "en"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "authorization_response_iss_parameter_supported": True,
    }
