"""``/admin/departments``: tenant admins manage their own tenant's departments only."""

from __future__ import annotations

LIBRARY = {"slug": "library", "name": "Stadtbibliothek", "cost_centre": "BIB-4200"}


async def test_a_tenant_admin_lists_creates_and_renames_departments(identity) -> None:  # type: ignore[no-untyped-def]
    admin = identity.bearer("a1", kind="staff", admin="tenant")

    listed = await identity.client.get("/admin/departments", headers=admin)
    created = await identity.client.post("/admin/departments", json=LIBRARY, headers=admin)
    duplicate = await identity.client.post("/admin/departments", json=LIBRARY, headers=admin)
    renamed = await identity.client.patch(
        "/admin/departments/library", json={"name": "Stadt- und Kreisbibliothek"}, headers=admin
    )
    shown = await identity.client.get("/admin/departments/library", headers=admin)

    assert listed.status_code == 200
    assert [d["slug"] for d in listed.json()] == [
        "citizens-office", "museum", "pools", "public-order", "tax-office", "traffic"]
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/admin/departments/library"
    assert created.json()["tenant"] == "musterstadt"
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "department_exists"
    assert renamed.status_code == 200
    assert shown.json()["name"] == "Stadt- und Kreisbibliothek"
    assert shown.json()["cost_centre"] == "BIB-4200"


async def test_the_tenant_comes_from_the_token_never_from_the_body(identity) -> None:  # type: ignore[no-untyped-def]
    admin = identity.bearer("a1", kind="staff", admin="tenant", tenant="beispielhausen")

    smuggled = await identity.client.post(
        "/admin/departments", json={**LIBRARY, "tenant": "musterstadt"}, headers=admin
    )
    created = await identity.client.post("/admin/departments", json=LIBRARY, headers=admin)

    assert smuggled.status_code == 422
    assert created.json()["tenant"] == "beispielhausen"


async def test_a_tenant_admin_cannot_touch_another_tenants_departments(identity) -> None:  # type: ignore[no-untyped-def]
    other_admin = identity.bearer("b1", kind="staff", admin="tenant", tenant="beispielhausen")

    listed = await identity.client.get("/admin/departments", headers=other_admin)
    shown = await identity.client.get("/admin/departments/museum", headers=other_admin)
    patched = await identity.client.patch(
        "/admin/departments/museum", json={"name": "Gekapert"}, headers=other_admin
    )

    assert [d["slug"] for d in listed.json()] == ["citizens-office"]
    assert shown.status_code == 404
    assert patched.status_code == 404
    assert patched.json()["code"] == "department_not_found"
    admin = identity.bearer("a1", kind="staff", admin="tenant")
    museum = await identity.client.get("/admin/departments/museum", headers=admin)
    assert museum.json()["name"] == "Stadtmuseum"


async def test_only_tenant_admins_change_departments(identity) -> None:  # type: ignore[no-untyped-def]
    manager = identity.bearer("m1", kind="staff", roles={"museum": ["manager"]})
    cashier = identity.bearer("c1", kind="staff", roles={"museum": ["cashier"]})
    citizen = identity.bearer("x1", kind="citizen")

    manager_lists = await identity.client.get("/admin/departments", headers=manager)
    manager_creates = await identity.client.post(
        "/admin/departments", json=LIBRARY, headers=manager
    )
    manager_renames = await identity.client.patch(
        "/admin/departments/museum", json={"name": "Mein Museum"}, headers=manager
    )
    cashier_lists = await identity.client.get("/admin/departments", headers=cashier)
    citizen_lists = await identity.client.get("/admin/departments", headers=citizen)
    anonymous = await identity.client.get("/admin/departments")

    assert manager_lists.status_code == 200
    assert manager_creates.status_code == manager_renames.status_code == 403
    assert cashier_lists.status_code == 403
    assert citizen_lists.status_code == 403
    assert anonymous.status_code == 401
