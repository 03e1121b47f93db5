"""FastAPI dependencies that authenticate the caller and guard routes by kind, scope, department
role, admin level and level of assurance.

The service's ``create_app`` sets ``app.state.token_verifier`` to a :class:`TokenVerifier`; these
dependencies read it from there. The verified principal is also stored on
``request.state.principal`` (None for an anonymous request) so middlewares and handlers further
in can key on it, e.g. idempotency on ``principal.sub``. A request is verified at most once.

A person's token (``citizen``/``staff``) reaches a service only if the client it was issued to
was granted one of that service's scopes (``<service>:...``, e.g. ``ticketing:read``), else
403 ``insufficient_scope``; what the person may do there is then decided by kind, roles and
``acr`` as before. The service is ``app.state.settings.service_name`` unless the app sets
``app.state.user_scope_namespace`` (None: no such check, identity's own API). Machine clients
are checked per route with :func:`require_scope`. See ADR 0009.

Usage::

    @router.get("/departments/{department}/orders")
    async def list_orders(principal: Annotated[Principal, Depends(require_role("cashier"))]): ...
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from city_shared.auth.principal import AcrLevel, AdminLevel, Kind, Principal
from city_shared.auth.verifier import TokenVerifier
from city_shared.errors import Forbidden, InsufficientAssurance, NotAuthenticated

__all__ = [
    "CurrentPrincipal",
    "InsufficientScope",
    "MaybePrincipal",
    "PrincipalDependency",
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

PrincipalDependency = Callable[..., Awaitable[Principal]]

# Only documents the scheme in OpenAPI; a missing or non-Bearer header is handled below.
_bearer = HTTPBearer(auto_error=False, description="Access token issued by identity.")
_UNSET = object()


class InsufficientScope(Forbidden):
    """403: the person's token was not issued for this service (no scope of it); the extension
    member ``required_scope`` names the scope prefix (``ticketing:``)."""

    code = "insufficient_scope"
    title = "Token not issued for this service"


async def authenticate(request: Request) -> Principal | None:
    """The principal of the request's ``Authorization: Bearer`` token, None without the header.

    Caches the result (also None) on ``request.state.principal``, which nothing else may write;
    callable from a middleware (it shares ``request.state`` with the route).

    :raises NotAuthenticated: an ``Authorization`` header that is not a valid Bearer token
        (another scheme is never treated as anonymous).
    """
    cached = getattr(request.state, "principal", _UNSET)
    if cached is None or isinstance(cached, Principal):
        return cached
    header = request.headers.get("Authorization")
    principal = None
    if header is not None:
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticated("The Authorization header must carry a Bearer access token.")
        principal = await _verifier(request).verify(token)
        _check_user_scope(request, principal)
    request.state.principal = principal
    return principal


def _check_user_scope(request: Request, principal: Principal) -> None:
    """:raises InsufficientScope: a person's token without a scope of this service."""
    if principal.kind == "client":
        return
    state = request.app.state
    namespace = getattr(state, "user_scope_namespace", _UNSET)
    if namespace is _UNSET:
        namespace = getattr(getattr(state, "settings", None), "service_name", None)
    if not isinstance(namespace, str):
        return
    prefix = f"{namespace}:"
    if any(scope.startswith(prefix) for scope in principal.scopes):
        return
    raise InsufficientScope(
        f"This access token was not issued for {namespace}: the client must request a "
        f"'{prefix}...' scope.",
        extra={"required_scope": prefix},
        headers={"WWW-Authenticate": 'Bearer error="insufficient_scope"'},
    )


async def optional_principal(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """The caller, or None if anonymous. An invalid token is a 401, never anonymous."""
    return await authenticate(request)


async def get_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    """The caller. :raises NotAuthenticated: no Bearer token (or an invalid one)."""
    if principal is None:
        raise NotAuthenticated("A Bearer access token is required.")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]


def require_kind(*kinds: Kind) -> PrincipalDependency:
    """A dependency: the caller, if its ``kind`` is one of ``kinds``; else 403 ``forbidden``."""
    allowed = frozenset(kinds)

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if principal.kind not in allowed:
            raise Forbidden("This operation is not available to this kind of account.")
        return principal

    return dependency


def require_scope(scope: str) -> PrincipalDependency:
    """A dependency: the caller, if its token was granted ``scope``; else 403 ``forbidden``
    with the extension member ``required_scope``."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.has_scope(scope):
            raise Forbidden(
                f"The access token lacks the scope '{scope}'.", extra={"required_scope": scope}
            )
        return principal

    return dependency


def check_role(
    principal: Principal, department: str, role: str, *, allow_admin: bool = False
) -> None:
    """Raise 403 ``forbidden`` unless ``principal`` holds ``role`` in ``department``.

    For services that learn the department from the resource (e.g. the order's department)
    rather than from the path. With ``allow_admin`` a tenant (or platform) admin passes too.
    Departments are slugs within ``principal.tenant``; the caller's query must still filter by
    tenant.
    """
    if principal.has_role(department, role):
        return
    if allow_admin and principal.is_admin("tenant"):
        return
    raise Forbidden(
        f"This operation requires the role '{role}' in the department.",
        extra={"required_role": role},
    )


def require_role(role: str, *, allow_admin: bool = False) -> PrincipalDependency:
    """A dependency for routes with a ``{department}`` path parameter: the caller, if it holds
    ``role`` in that department (see :func:`check_role`); else 403 ``forbidden``.

    :raises RuntimeError: the route has no ``department`` path parameter (a programming error;
        a query parameter is never used, the client must not choose where the check applies).
    """

    async def dependency(request: Request, principal: CurrentPrincipal) -> Principal:
        department = request.path_params.get("department")
        if not isinstance(department, str):
            raise RuntimeError(f"require_role({role!r}) needs a {{department}} path parameter")
        check_role(principal, department, role, allow_admin=allow_admin)
        return principal

    return dependency


def require_admin(level: AdminLevel = "tenant") -> PrincipalDependency:
    """A dependency: the caller, if it administers at least ``level``; else 403 ``forbidden``."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.is_admin(level):
            raise Forbidden(f"This operation requires a {level} administrator.")
        return principal

    return dependency


def require_acr(level: AcrLevel) -> PrincipalDependency:
    """A dependency: the caller, if it logged in with at least ``level`` (basic < substantial <
    high); else 403 ``insufficient_assurance`` with ``required_acr`` so the client can step up."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.meets(level):
            raise InsufficientAssurance(level)
        return principal

    return dependency


def _verifier(request: Request) -> TokenVerifier:
    verifier = getattr(request.app.state, "token_verifier", None)
    if not isinstance(verifier, TokenVerifier):
        raise RuntimeError("create_app must set app.state.token_verifier to a TokenVerifier")
    return verifier
