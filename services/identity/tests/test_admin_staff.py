"""``/admin/staff``: tenant admins manage their tenant's staff, managers their departments';
nobody changes their own roles; other tenants are invisible."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import pytest


@dataclass
class Town:
    """Accounts of the two demo tenants and their Authorization headers."""

    admin: uuid.UUID
    manager: uuid.UUID
    cashier: uuid.UUID
    pools_cashier: uuid.UUID
    citizen: uuid.UUID
    other_admin: uuid.UUID
    other_clerk: uuid.UUID
    h_admin: dict[str, str]
    h_manager: dict[str, str]
    h_cashier: dict[str, str]
    h_citizen: dict[str, str]
    h_other_admin: dict[str, str]


@pytest.fixture
async def town(identity) -> Town:  # type: ignore[no-untyped-def]
    add = identity.add_account
    admin = await add("admin@example.org", kind="staff", admin="tenant",
                      given_name="Anna", family_name="Admin")
    manager = await add("leitung.museum@example.org", kind="staff",
                        roles={"museum": ["manager"]}, given_name="Mia", family_name="Museum")
    cashier = await add("kasse.museum@example.org", kind="staff",
                        roles={"museum": ["cashier"]}, given_name="Karl", family_name="Kasse")
    pools_cashier = await add("kasse.bad@example.org", kind="staff",
                              roles={"pools": ["cashier"]}, given_name="Bea", family_name="Bad")
    citizen = await add("erika@example.org")
    other_admin = await add("admin@example.org", tenant="beispielhausen", kind="staff",
                            admin="tenant")
    other_clerk = await add("amt@example.org", tenant="beispielhausen", kind="staff",
                            roles={"citizens-office": ["clerk"]})
    bearer = identity.bearer
    return Town(
        admin, manager, cashier, pools_cashier, citizen, other_admin, other_clerk,
        h_admin=bearer(admin, kind="staff", admin="tenant"),
        h_manager=bearer(manager, kind="staff", roles={"museum": ["manager"]}),
        h_cashier=bearer(cashier, kind="staff", roles={"museum": ["cashier"]}),
        h_citizen=bearer(citizen),
        h_other_admin=bearer(other_admin, kind="staff", admin="tenant", tenant="beispielhausen"),
    )


def _ids(response) -> set[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()}


async def test_who_sees_which_staff(identity, town: Town) -> None:  # type: ignore[no-untyped-def]
    client = identity.client

    by_admin = await client.get("/admin/staff", headers=town.h_admin)
    by_manager = await client.get("/admin/staff", headers=town.h_manager)
    by_other_admin = await client.get("/admin/staff", headers=town.h_other_admin)
    by_cashier = await client.get("/admin/staff", headers=town.h_cashier)
    by_citizen = await client.get("/admin/staff", headers=town.h_citizen)
    anonymous = await client.get("/admin/staff")

    assert _ids(by_admin) == {str(i) for i in
                              (town.admin, town.manager, town.cashier, town.pools_cashier)}
    assert _ids(by_manager) == {str(town.manager), str(town.cashier)}
    assert _ids(by_other_admin) == {str(town.other_admin), str(town.other_clerk)}
    assert by_cashier.status_code == 403
    assert by_citizen.status_code == 403
    assert by_citizen.headers["content-type"] == "application/problem+json"
    assert anonymous.status_code == 401


async def test_another_tenants_staff_are_not_found(identity, town: Town) -> None:  # type: ignore[no-untyped-def]
    client = identity.client

    shown = await client.get(f"/admin/staff/{town.cashier}", headers=town.h_other_admin)
    roles = await client.put(
        f"/admin/staff/{town.cashier}/roles", json={"roles": {"citizens-office": ["clerk"]}},
        headers=town.h_other_admin,
    )

    assert shown.status_code == 404
    assert shown.json()["code"] == "account_not_found"
    assert roles.status_code == 404
    mine = await client.get(f"/admin/staff/{town.cashier}", headers=town.h_admin)
    assert mine.json()["roles"] == {"museum": ["cashier"]}


async def test_a_manager_sees_only_staff_of_their_departments(identity, town: Town) -> None:  # type: ignore[no-untyped-def]
    client = identity.client

    own = await client.get(f"/admin/staff/{town.cashier}", headers=town.h_manager)
    pools = await client.get(f"/admin/staff/{town.pools_cashier}", headers=town.h_manager)
    citizen = await client.get(f"/admin/staff/{town.citizen}", headers=town.h_admin)

    assert own.status_code == 200
    assert own.json()["email"] == "kasse.museum@example.org"
    assert pools.status_code == 404
    assert citizen.status_code == 404  # citizens are no staff


async def test_a_tenant_admin_replaces_roles_and_publishes_the_change(identity, town: Town) -> None:  # type: ignore[no-untyped-def]
    url = f"/admin/staff/{town.cashier}/roles"
    body = {"roles": {"museum": ["gatekeeper", "cashier", "cashier"], "pools": ["gatekeeper"]}}

    changed = await identity.client.put(url, json=body, headers=town.h_admin)
    same_again = await identity.client.put(url, json=body, headers=town.h_admin)

    assert changed.status_code == 200, changed.text
    expected = {"museum": ["cashier", "gatekeeper"], "pools": ["gatekeeper"]}
    assert changed.json()["roles"] == expected
    assert same_again.json()["roles"] == expected
    [event] = await identity.outbox("city.identity.account.roles_changed.v1")  # one, not two
    assert event.topic == "identity.accounts"
    assert event.key == str(town.cashier)
    assert event.data == {"account_id": str(town.cashier), "tenant": "musterstadt",
                          "roles": expected}

    removed = await identity.client.put(url, json={"roles": {}}, headers=town.h_admin)
    assert removed.json()["roles"] == {}


async def test_a_manager_changes_roles_in_their_own_departments_only(identity, town: Town) -> None:  # type: ignore[no-untyped-def]
    client = identity.client
    both = f"/admin/staff/{town.pools_cashier}/roles"
    await client.put(both, json={"roles": {"pools": ["cashier"], "museum": ["cashier"]}},
                     headers=town.h_admin)

    in_museum = await client.put(both, json={"roles": {"museum": ["gatekeeper"]}},
                                 headers=town.h_manager)
    into_pools = await client.put(both, json={"roles": {"pools": ["manager"]}},
                                  headers=town.h_manager)

    assert in_museum.status_code == 200, in_museum.text
    # museum replaced, pools left as it was
    assert in_museum.json()["roles"] == {"museum": ["gatekeeper"], "pools": ["cashier"]}
    assert into_pools.status_code == 403
    assert into_pools.json()["code"] == "forbidden"
    shown = await client.get(f"/admin/staff/{town.pools_cashier}", headers=town.h_admin)
    assert shown.json()["roles"] == {"museum": ["gatekeeper"], "pools": ["cashier"]}


async def test_nobody_changes_their_own_roles(identity, town: Town) -> None:  # type: ignore[no-untyped-def]
    manager = await identity.client.put(
        f"/admin/staff/{town.manager}/roles",
        json={"roles": {"museum": ["manager", "cashier"]}}, headers=town.h_manager,
    )
    admin = await identity.client.put(
        f"/admin/staff/{town.admin}/roles", json={"roles": {"pools": ["manager"]}},
        headers=town.h_admin,
    )

    assert manager.status_code == admin.status_code == 403
    assert manager.json()["code"] == admin.json()["code"] == "self_role_change"
    assert await identity.outbox("city.identity.account.roles_changed.v1") == []


async def test_roles_must_name_known_departments_and_roles(identity, town: Town) -> None:  # type: ignore[no-untyped-def]
    url = f"/admin/staff/{town.cashier}/roles"

    unknown_department = await identity.client.put(
        url, json={"roles": {"zoo": ["cashier"]}}, headers=town.h_admin
    )
    unknown_role = await identity.client.put(
        url, json={"roles": {"museum": ["king"]}}, headers=town.h_admin
    )
    other_tenants_department = await identity.client.put(
        f"/admin/staff/{town.other_clerk}/roles", json={"roles": {"museum": ["cashier"]}},
        headers=town.h_other_admin,
    )

    assert unknown_department.status_code == 422
    assert unknown_department.json()["code"] == "unknown_department"
    assert unknown_role.status_code == 422
    assert unknown_role.json()["code"] == "validation_error"
    assert other_tenants_department.status_code == 422
    assert other_tenants_department.json()["code"] == "unknown_department"


async def test_roles_can_only_be_given_by_admins_and_managers(identity, town: Town) -> None:  # type: ignore[no-untyped-def]
    url = f"/admin/staff/{town.pools_cashier}/roles"
    body = {"roles": {"museum": ["manager"]}}

    by_cashier = await identity.client.put(url, json=body, headers=town.h_cashier)
    by_citizen = await identity.client.put(url, json=body, headers=town.h_citizen)
    anonymous = await identity.client.put(url, json=body)

    assert by_cashier.status_code == by_citizen.status_code == 403
    assert anonymous.status_code == 401


async def test_a_tenant_admin_creates_staff(identity, town: Town) -> None:  # type: ignore[no-untyped-def]
    body = {"email": "Neu.Kasse@example.org", "password": "Start-Passwort-2026!",
            "given_name": "Nina", "family_name": "Neu"}

    created = await identity.client.post("/admin/staff", json=body, headers=town.h_admin)
    taken = await identity.client.post("/admin/staff", json=body, headers=town.h_admin)
    by_manager = await identity.client.post(
        "/admin/staff", json={**body, "email": "x@example.org"}, headers=town.h_manager
    )
    with_admin_flag = await identity.client.post(
        "/admin/staff", json={**body, "email": "y@example.org", "admin": "tenant"},
        headers=town.h_admin,
    )

    assert created.status_code == 201, created.text
    staff = created.json()
    assert staff["email"] == "neu.kasse@example.org"
    assert staff["tenant"] == "musterstadt"
    assert staff["roles"] == {}
    assert staff["admin"] is None
    assert created.headers["location"] == f"/admin/staff/{staff['id']}"
    assert taken.status_code == 409
    assert by_manager.status_code == 403
    assert with_admin_flag.status_code == 422
    registered = await identity.outbox("city.identity.account.registered.v1")
    assert [(e.data["account_id"], e.data["kind"]) for e in registered] == [
        (staff["id"], "staff")
    ]


async def test_concurrent_role_changes_apply_one_after_the_other(identity, town: Town) -> None:  # type: ignore[no-untyped-def]
    url = f"/admin/staff/{town.cashier}/roles"
    bodies = [{"roles": {"museum": ["cashier", "gatekeeper"]}},
              {"roles": {"museum": ["gatekeeper"], "pools": ["cashier"]}}] * 5

    responses = await asyncio.gather(*[
        identity.client.put(url, json=body, headers=town.h_admin) for body in bodies
    ])

    assert [r.status_code for r in responses] == [200] * 10
    final = (await identity.client.get(f"/admin/staff/{town.cashier}",
                                       headers=town.h_admin)).json()["roles"]
    assert final in ({"museum": ["cashier", "gatekeeper"]},
                     {"museum": ["gatekeeper"], "pools": ["cashier"]})
    events = await identity.outbox("city.identity.account.roles_changed.v1")
    # every published state was a complete request's state, in commit order
    assert events[-1].data["roles"] == final
    assert all(e.data["roles"] in ({"museum": ["cashier", "gatekeeper"]},
                                   {"museum": ["gatekeeper"], "pools": ["cashier"]})
               for e in events)
