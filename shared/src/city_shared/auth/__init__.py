"""Local verification of identity's access tokens and FastAPI guards built on it.

``testing`` (mint tokens, serve a JWKS without network) is imported explicitly by tests only.
"""

from city_shared.auth.dependencies import (
    CurrentPrincipal,
    InsufficientScope,
    MaybePrincipal,
    authenticate,
    check_role,
    get_principal,
    optional_principal,
    require_acr,
    require_admin,
    require_kind,
    require_role,
    require_scope,
)
from city_shared.auth.jwks import JwksCache, JwksUnavailable
from city_shared.auth.principal import AcrLevel, AdminLevel, Kind, Principal
from city_shared.auth.revocations import RevocationList
from city_shared.auth.verifier import TokenVerifier

__all__ = [
    "AcrLevel",
    "AdminLevel",
    "CurrentPrincipal",
    "InsufficientScope",
    "JwksCache",
    "JwksUnavailable",
    "Kind",
    "MaybePrincipal",
    "Principal",
    "RevocationList",
    "TokenVerifier",
    "authenticate",
    "check_role",
    "get_principal",
    "optional_principal",
    "require_acr",
    "require_admin",
    "require_kind",
    "require_role",
    "require_scope",
]
