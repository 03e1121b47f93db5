"""Principal: claims in, authorization questions answered."""

from __future__ import annotations

import pytest

from city_shared.auth.principal import Principal

CLAIMS = {
    "sub": "staff-7",
    "tenant": "stuttgart",
    "kind": "staff",
    "acr": "substantial",
    "roles": {"museum": ["manager", "cashier"], "pools": ["cashier"], "library": []},
    "scope": "orders:read  tickets:scan",
    "iss": "ignored",
}


def test_claims_become_a_principal() -> None:
    principal = Principal.from_claims(CLAIMS)

    assert principal.roles == {
        "museum": frozenset({"manager", "cashier"}),
        "pools": frozenset({"cashier"}),
    }
    assert principal.scopes == frozenset({"orders:read", "tickets:scan"})
    assert principal.admin is None
    assert principal.client_id is None


def test_roles_are_per_department() -> None:
    principal = Principal.from_claims(CLAIMS)

    assert principal.has_role("museum", "manager")
    assert not principal.has_role("pools", "manager")
    assert not principal.has_role("library", "cashier")
    assert principal.departments_with("cashier") == {"museum", "pools"}
    assert principal.departments_with("manager") == {"museum"}
    assert principal.departments_with() == {"museum", "pools"}


def test_citizen_has_no_departments() -> None:
    citizen = Principal(sub="c", tenant="stuttgart", kind="citizen", acr="basic")

    assert citizen.departments_with() == frozenset()
    assert not citizen.has_scope("orders:read")


@pytest.mark.parametrize(
    ("acr", "required", "meets"),
    [
        ("basic", "basic", True),
        ("basic", "substantial", False),
        ("substantial", "substantial", True),
        ("substantial", "high", False),
        ("high", "substantial", True),
        ("high", "basic", True),
    ],
)
def test_assurance_levels_are_ordered(acr: str, required: str, meets: bool) -> None:
    principal = Principal.from_claims({**CLAIMS, "acr": acr})

    assert principal.meets(required) is meets  # type: ignore[arg-type]


def test_platform_admin_is_also_tenant_admin() -> None:
    platform = Principal.from_claims({**CLAIMS, "admin": "platform"})
    tenant = Principal.from_claims({**CLAIMS, "admin": "tenant"})

    assert platform.is_admin("tenant")
    assert platform.is_admin("platform")
    assert tenant.is_admin("tenant")
    assert not tenant.is_admin("platform")
    assert not Principal.from_claims(CLAIMS).is_admin()


def test_principal_is_immutable() -> None:
    principal = Principal.from_claims(CLAIMS)

    with pytest.raises(ValueError, match="frozen"):
        principal.tenant = "berlin"  # type: ignore[misc]


@pytest.mark.parametrize(
    "override",
    [{"kind": "admin"}, {"admin": "root"}, {"scope": ["a"]}, {"roles": {"museum": "manager"}}],
)
def test_unexpected_claim_shapes_are_refused(override: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"validation error|space-separated"):
        Principal.from_claims({**CLAIMS, **override})
