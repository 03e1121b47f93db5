"""Administrative changes need a stepped-up login (``acr`` >= substantial), and a department
manager reaches only staff of their own departments, never an administrator (issue 11, 7c/8)."""

from __future__ import annotations

import pytest


@pytest.fixture
async def admin(identity):  # type: ignore[no-untyped-def]
    return await identity.add_account("admin@example.org", kind="staff", admin="tenant")


async def test_a_password_login_cannot_change_what_a_city_protects(identity, admin) -> None:  # type: ignore[no-untyped-def]
    staff = await identity.add_account("kasse@example.org", kind="staff")
    basic = identity.bearer(admin, kind="staff", admin="tenant", acr="basic")
    client = identity.client

    attempts = [
        await client.post("/admin/clients", headers=basic, json={
            "client_id": "shop", "name": "Shop", "kind": "confidential",
            "auth_method": "client_secret_basic", "grant_types": ["client_credentials"],
            "allowed_scopes": ["payment:read"]}),
        await client.put(f"/admin/staff/{staff}/roles", headers=basic,
                         json={"roles": {"museum": ["cashier"]}}),
        await client.post("/admin/departments", headers=basic,
                          json={"slug": "library", "name": "Bibliothek", "cost_centre": "BIB-1"}),
        await client.patch("/admin/departments/museum", headers=basic, json={"name": "Museum"}),
    ]

    for response in attempts:
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "insufficient_assurance"
        assert response.json()["required_acr"] == "substantial"
    # reading stays possible at basic
    assert (await client.get("/admin/staff", headers=basic)).status_code == 200
    # and the stepped-up login may change
    stepped_up = identity.bearer(admin, kind="staff", admin="tenant", acr="substantial")
    granted = await client.put(f"/admin/staff/{staff}/roles", headers=stepped_up,
                               json={"roles": {"museum": ["cashier"]}})
    assert granted.status_code == 200, granted.text


async def test_a_manager_reaches_only_staff_of_their_departments(identity, admin) -> None:  # type: ignore[no-untyped-def]
    manager = await identity.add_account("leitung@example.org", kind="staff",
                                         roles={"museum": ["manager"]})
    pools_cashier = await identity.add_account("kasse.bad@example.org", kind="staff",
                                               roles={"pools": ["cashier"]})
    museum_admin = await identity.add_account("admin2@example.org", kind="staff",
                                              admin="tenant", roles={"museum": ["cashier"]})
    h_manager = identity.bearer(manager, kind="staff", roles={"museum": ["manager"]})
    body = {"roles": {"museum": ["manager"]}}

    stranger = await identity.client.put(f"/admin/staff/{pools_cashier}/roles", json=body,
                                         headers=h_manager)
    administrator = await identity.client.put(f"/admin/staff/{museum_admin}/roles", json=body,
                                              headers=h_manager)

    assert stranger.status_code == 404, stranger.text
    assert administrator.status_code == 403, administrator.text
    h_admin = identity.bearer(admin, kind="staff", admin="tenant")
    untouched = await identity.client.get(f"/admin/staff/{pools_cashier}", headers=h_admin)
    assert untouched.json()["roles"] == {"pools": ["cashier"]}
    untouched_admin = await identity.client.get(f"/admin/staff/{museum_admin}", headers=h_admin)
    assert untouched_admin.json()["roles"] == {"museum": ["cashier"]}
