"""Route guards: 401 without a valid token, 403 for the wrong scope, department, kind or level."""

from __future__ import annotations

from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, Request

from city_shared.auth import (
    CurrentPrincipal,
    MaybePrincipal,
    Principal,
    TokenVerifier,
    require_acr,
    require_admin,
    require_kind,
    require_role,
    require_scope,
)
from city_shared.auth.jwks import JwksCache
from city_shared.auth.testing import JWKS_URL, TokenFactory
from city_shared.errors import PROBLEM_CONTENT_TYPE, install_error_handlers


class CountingVerifier(TokenVerifier):
    calls = 0

    async def verify(self, token: str) -> Principal:
        CountingVerifier.calls += 1
        return await super().verify(token)


def build_app(tokens: TokenFactory, *, with_verifier: bool = True) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    if with_verifier:
        cache = JwksCache(JWKS_URL, tokens.jwks_server().client())
        app.state.token_verifier = CountingVerifier(cache, tokens.issuer, tokens.audience)

    @app.get("/me")
    async def me(principal: CurrentPrincipal, request: Request) -> dict[str, str]:
        assert request.state.principal is principal
        return {"sub": principal.sub}

    @app.get("/maybe")
    async def maybe(principal: MaybePrincipal) -> dict[str, str | None]:
        return {"sub": principal.sub if principal else None}

    @app.get("/orders")
    async def orders(
        principal: Annotated[Principal, Depends(require_scope("orders:read"))],
        _acr: Annotated[Principal, Depends(require_acr("basic"))],
    ) -> dict[str, str]:
        return {"sub": principal.sub}

    @app.get("/departments/{department}/worklist")
    async def worklist(
        department: str, principal: Annotated[Principal, Depends(require_role("manager"))]
    ) -> dict[str, str]:
        return {"department": department}

    @app.get("/departments/{department}/settings")
    async def settings(
        department: str,
        principal: Annotated[Principal, Depends(require_role("manager", allow_admin=True))],
    ) -> dict[str, str]:
        return {"department": department}

    @app.get("/misconfigured")
    async def misconfigured(
        principal: Annotated[Principal, Depends(require_role("manager"))],
    ) -> dict[str, str]:
        return {}

    @app.post("/cases")
    async def submit_case(
        principal: Annotated[Principal, Depends(require_acr("substantial"))],
    ) -> dict[str, str]:
        return {"acr": principal.acr}

    @app.get("/gate")
    async def gate(
        principal: Annotated[Principal, Depends(require_kind("staff", "client"))],
    ) -> dict[str, str]:
        return {"kind": principal.kind}

    @app.get("/admin")
    async def admin(principal: Annotated[Principal, Depends(require_admin())]) -> dict[str, str]:
        return {"admin": str(principal.admin)}

    return app


@pytest.fixture(scope="module")
def tokens() -> TokenFactory:
    return TokenFactory()


@pytest.fixture
def client(tokens: TokenFactory) -> httpx.AsyncClient:
    return client_for(build_app(tokens))


def client_for(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_no_token_is_401_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/me")

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "authorization", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer not.a.token", "token"]
)
async def test_unusable_authorization_is_401(client: httpx.AsyncClient, authorization: str) -> None:
    for path in ("/me", "/maybe"):
        response = await client.get(path, headers={"Authorization": authorization})
        assert response.status_code == 401


async def test_valid_token_reaches_the_route(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    response = await client.get("/me", headers=bearer(tokens.issue(sub="citizen-9")))

    assert response.status_code == 200
    assert response.json() == {"sub": "citizen-9"}


async def test_optional_principal_allows_anonymous(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    anonymous = await client.get("/maybe")
    known = await client.get("/maybe", headers=bearer(tokens.issue(sub="citizen-9")))

    assert anonymous.json() == {"sub": None}
    assert known.json() == {"sub": "citizen-9"}


async def test_wrong_scope_is_403_naming_the_scope(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    token = tokens.issue(kind="client", sub="kiosk", scope="tickets:scan")

    response = await client.get("/orders", headers=bearer(token))

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert response.json()["required_scope"] == "orders:read"


async def test_right_scope_passes_and_the_token_is_verified_once(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    CountingVerifier.calls = 0
    token = tokens.issue(kind="client", sub="kiosk", scope="tickets:scan orders:read")

    response = await client.get("/orders", headers=bearer(token))

    assert response.status_code == 200
    assert CountingVerifier.calls == 1


async def test_staff_of_museum_is_denied_on_pools(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    token = tokens.issue(kind="staff", roles={"museum": ["manager"]})

    pools = await client.get("/departments/pools/worklist", headers=bearer(token))
    museum = await client.get("/departments/museum/worklist", headers=bearer(token))

    assert pools.status_code == 403
    assert pools.json()["required_role"] == "manager"
    assert museum.status_code == 200


async def test_other_role_in_the_department_is_denied(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    token = tokens.issue(kind="staff", roles={"museum": ["cashier"]})

    response = await client.get("/departments/museum/worklist", headers=bearer(token))

    assert response.status_code == 403


async def test_tenant_admin_passes_only_where_admins_are_allowed(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    token = tokens.issue(kind="staff", admin="tenant")

    worklist = await client.get("/departments/pools/worklist", headers=bearer(token))
    settings = await client.get("/departments/pools/settings", headers=bearer(token))
    admin = await client.get("/admin", headers=bearer(token))

    assert (worklist.status_code, settings.status_code, admin.status_code) == (403, 200, 200)


async def test_non_admin_is_denied_admin_routes(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    token = tokens.issue(kind="staff", roles={"museum": ["manager"]})

    assert (await client.get("/admin", headers=bearer(token))).status_code == 403


async def test_basic_assurance_is_denied_where_substantial_is_required(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    response = await client.post("/cases", headers=bearer(tokens.issue(acr="basic")))

    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "insufficient_assurance"
    assert body["required_acr"] == "substantial"
    assert 'acr_values="substantial"' in response.headers["www-authenticate"]


@pytest.mark.parametrize("acr", ["substantial", "high"])
async def test_sufficient_assurance_passes(
    client: httpx.AsyncClient, tokens: TokenFactory, acr: str
) -> None:
    response = await client.post("/cases", headers=bearer(tokens.issue(acr=acr)))

    assert response.status_code == 200
    assert response.json() == {"acr": acr}


async def test_kind_guard(client: httpx.AsyncClient, tokens: TokenFactory) -> None:
    citizen = await client.get("/gate", headers=bearer(tokens.issue(kind="citizen")))
    staff = await client.get("/gate", headers=bearer(tokens.issue(kind="staff")))

    assert (citizen.status_code, staff.status_code) == (403, 200)


async def test_role_guard_without_department_in_the_path_is_a_server_error(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    token = tokens.issue(kind="staff", roles={"museum": ["manager"]})

    response = await client.get("/misconfigured?department=museum", headers=bearer(token))

    assert response.status_code == 500


async def test_app_without_a_verifier_fails_closed(tokens: TokenFactory) -> None:
    client = client_for(build_app(tokens, with_verifier=False))

    response = await client.get("/me", headers=bearer(tokens.issue()))

    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"


def service_app(tokens: TokenFactory, namespace: str | None) -> FastAPI:
    app = build_app(tokens)
    app.state.user_scope_namespace = namespace
    return app


@pytest.mark.parametrize("kind", ["citizen", "staff"])
async def test_a_persons_token_without_a_scope_of_the_service_is_403(
    tokens: TokenFactory, kind: str
) -> None:
    # The person logged in at a client that was granted only payment scopes (say a museum
    # shop); the token must not carry the person's power to ticketing.
    token = tokens.issue(kind=kind, scope="openid payment:read", roles={"museum": ["manager"]})
    async with client_for(service_app(tokens, "ticketing")) as client:
        response = await client.get("/departments/museum/worklist", headers=bearer(token))
        anonymous_route = await client.get("/maybe", headers=bearer(token))

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert response.json()["required_scope"] == "ticketing:"
    assert anonymous_route.status_code == 403


async def test_a_persons_token_with_a_scope_of_the_service_passes(tokens: TokenFactory) -> None:
    token = tokens.issue(kind="staff", scope="openid ticketing:read", roles={"museum": ["manager"]})
    async with client_for(service_app(tokens, "ticketing")) as client:
        response = await client.get("/departments/museum/worklist", headers=bearer(token))

    assert response.status_code == 200


async def test_the_service_is_named_by_its_settings(tokens: TokenFactory) -> None:
    class Settings:
        service_name = "case"

    app = build_app(tokens)
    app.state.settings = Settings()
    async with client_for(app) as client:
        denied = await client.get("/me", headers=bearer(tokens.issue(scope="ticketing:write")))
        allowed = await client.get("/me", headers=bearer(tokens.issue(scope="case:read")))

    assert denied.status_code == 403
    assert allowed.status_code == 200


async def test_machine_clients_are_checked_per_route_not_by_service(tokens: TokenFactory) -> None:
    token = tokens.issue(kind="client", scope="orders:read")
    async with client_for(service_app(tokens, "ticketing")) as client:
        response = await client.get("/orders", headers=bearer(token))

    assert response.status_code == 200


async def test_a_revoked_token_is_401(tokens: TokenFactory) -> None:
    app = build_app(tokens)
    app.state.token_verifier = tokens.verifier()
    token = tokens.issue()
    async with client_for(app) as client:
        before = await client.get("/me", headers=bearer(token))
        tokens.revoke(token)
        after = await client.get("/me", headers=bearer(token))

    assert before.status_code == 200
    assert after.status_code == 401
