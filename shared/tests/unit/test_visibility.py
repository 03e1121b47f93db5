"""Who sees what: the reading rule payment, ticketing and notification each wrote, once."""

from __future__ import annotations

import uuid

import pytest

from city_shared.auth import Principal
from city_shared.errors import Forbidden
from city_shared.visibility import Visibility, staff_departments, visibility

ACCOUNT = uuid.UUID("4b0c2e55-1f7a-4d0e-8a9b-3c4d5e6f7a81")


def _staff(roles: dict[str, frozenset[str]], admin: bool = False) -> Principal:
    return Principal(sub="s", tenant="stuttgart", kind="staff", acr="basic", roles=roles,
                     admin="tenant" if admin else None)


def _client(*scopes: str) -> Principal:
    return Principal(sub="svc", tenant="stuttgart", kind="client", acr="basic",
                     scopes=frozenset(scopes), client_id="svc")


def test_a_client_with_the_read_scope_sees_its_whole_tenant() -> None:
    v = visibility(_client("payment:read"), read_scope="payment:read")
    assert v == Visibility("stuttgart")
    assert v.whole_tenant


def test_a_client_without_it_is_told_which_scope_is_missing() -> None:
    with pytest.raises(Forbidden) as caught:
        visibility(_client("payment:write"), read_scope="payment:read")
    assert caught.value.status == 403
    assert caught.value.extra == {"required_scope": "payment:read"}


def test_clients_may_be_refused_altogether() -> None:
    with pytest.raises(Forbidden):
        visibility(_client("notification:read"), read_scope=None)


def test_a_citizen_sees_their_own_rows() -> None:
    citizen = Principal(sub=str(ACCOUNT), tenant="stuttgart", kind="citizen", acr="basic")
    v = visibility(citizen, read_scope="x:read")
    assert v == Visibility("stuttgart", account_id=ACCOUNT)
    assert not v.whole_tenant


def test_a_citizen_whose_subject_is_no_uuid_sees_nothing() -> None:
    citizen = Principal(sub="not-a-uuid", tenant="stuttgart", kind="citizen", acr="basic")
    v = visibility(citizen, read_scope="x:read")
    assert v.nothing
    assert not v.sees_department(None)


def test_citizens_may_be_refused_where_they_own_nothing() -> None:
    citizen = Principal(sub=str(ACCOUNT), tenant="stuttgart", kind="citizen", acr="basic")
    with pytest.raises(Forbidden):
        visibility(citizen, read_scope=None, citizens=False)


def test_a_tenant_admin_sees_the_whole_tenant() -> None:
    assert visibility(_staff({}, admin=True), read_scope=None).whole_tenant


def test_staff_see_the_departments_where_they_hold_a_role() -> None:
    staff = _staff({"museum": frozenset({"gatekeeper"}), "library": frozenset({"cashier"})})
    v = visibility(staff, read_scope=None)
    assert v.departments == {"museum", "library"}
    assert v.sees_department("museum")
    assert v.sees_department(None)
    assert not v.sees_department("pool")


def test_roles_narrow_the_departments() -> None:
    staff = _staff({"museum": frozenset({"gatekeeper"}), "library": frozenset({"cashier"})})
    v = visibility(staff, read_scope=None, roles=("cashier", "manager"))
    assert v.departments == {"library"}
    assert staff_departments(staff, ("manager",)) == frozenset()


def test_staff_without_a_granting_role_are_refused() -> None:
    with pytest.raises(Forbidden):
        visibility(_staff({}), read_scope=None)
    with pytest.raises(Forbidden):
        visibility(_staff({"museum": frozenset({"gatekeeper"})}), read_scope=None,
                   roles=("manager",))


def test_the_tenant_always_comes_from_the_token() -> None:
    other = Principal(sub="s", tenant="ulm", kind="staff", acr="basic", admin="tenant")
    assert visibility(other, read_scope=None).tenant == "ulm"
