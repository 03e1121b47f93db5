"""Who sees and changes which payments: citizens their own, staff their departments' line
items, machine clients by scope, nobody another tenant's."""

from __future__ import annotations

import uuid
from typing import Any

import pytest


async def _ids(payments: Any, headers: dict[str, str], query: str = "") -> list[str]:
    response = await payments.client.get(f"/payments{query}", headers=headers)
    assert response.status_code == 200, response.text
    return [p["payment_id"] for p in response.json()["items"]]


@pytest.fixture
async def basket(payments: Any) -> dict[str, dict[str, Any]]:
    """Erika's museum+pools basket, Max's pools ticket, Erika's citizens' office fee."""
    mixed = await payments.create(payments.body())
    pools = await payments.create(payments.body(
        amount=450, line_items=[payments.line_item("pools", 450)],
        payer={"account_id": str(payments.MAX)}))
    office = await payments.create(payments.body(
        amount=1200, line_items=[payments.line_item("citizens-office", 1200)]))
    return {"mixed": mixed, "pools": pools, "office": office}


async def test_a_citizen_sees_only_their_own_payments(
    payments: Any, basket: dict[str, dict[str, Any]]
) -> None:
    erika = payments.citizen_headers(payments.ERIKA)
    max_ = payments.citizen_headers(payments.MAX)

    assert set(await _ids(payments, erika)) == {basket["mixed"]["payment_id"],
                                                basket["office"]["payment_id"]}
    assert await _ids(payments, max_) == [basket["pools"]["payment_id"]]
    assert (await payments.get(basket["mixed"]["payment_id"], erika)).status_code == 200
    denied = await payments.get(basket["pools"]["payment_id"], erika)
    assert denied.status_code == 404
    assert denied.json()["code"] == "payment_not_found"
    history = await payments.client.get(f"/payments/{basket['pools']['payment_id']}/events",
                                        headers=erika)
    assert history.status_code == 404
    odd = payments.bearer(sub="not-a-uuid", kind="citizen")
    assert await _ids(payments, odd) == []


async def test_citizens_and_staff_cannot_create_or_cancel(
    payments: Any, basket: dict[str, dict[str, Any]]
) -> None:
    for headers in (payments.citizen_headers(),
                    payments.staff_headers({"museum": ["manager"]}, admin="tenant")):
        response = await payments.client.post(
            "/payments", json=payments.body(),
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
        assert response.status_code == 403
        cancel = await payments.client.post(
            f"/payments/{basket['mixed']['payment_id']}/cancel", headers=headers)
        assert cancel.status_code == 403
    assert (await payments.row(basket["mixed"]["payment_id"])).status == "created"


async def test_staff_see_payments_of_their_departments_and_only_those_line_items(
    payments: Any, basket: dict[str, dict[str, Any]]
) -> None:
    museum = payments.staff_headers({"museum": ["cashier"]})
    pools = payments.staff_headers({"pools": ["manager"]})

    assert await _ids(payments, museum) == [basket["mixed"]["payment_id"]]
    mixed = (await payments.get(basket["mixed"]["payment_id"], museum)).json()
    assert [i["department"] for i in mixed["line_items"]] == ["museum"]
    assert mixed["amount"] == 1300
    assert (await payments.get(basket["pools"]["payment_id"], museum)).status_code == 404
    assert await _ids(payments, museum, "?department=pools") == []

    assert set(await _ids(payments, pools)) == {basket["mixed"]["payment_id"],
                                                basket["pools"]["payment_id"]}
    listed = (await payments.client.get("/payments", headers=pools)).json()["items"]
    assert {i["department"] for p in listed for i in p["line_items"]} == {"pools"}


async def test_staff_without_a_department_are_refused_and_a_tenant_admin_sees_all(
    payments: Any, basket: dict[str, dict[str, Any]]
) -> None:
    nobody = await payments.client.get("/payments", headers=payments.staff_headers())
    assert nobody.status_code == 403
    admin = payments.staff_headers(admin="tenant")
    assert len(await _ids(payments, admin)) == 3
    office = (await payments.get(basket["office"]["payment_id"], admin)).json()
    assert [i["department"] for i in office["line_items"]] == ["citizens-office"]


async def test_machine_clients_need_a_payment_scope(
    payments: Any, basket: dict[str, dict[str, Any]]
) -> None:
    unscoped = payments.client_headers(scope=None, client_id="city-erp")
    other_scope = payments.client_headers(scope="payment:reports", client_id="city-erp")
    reader = payments.client_headers(scope="payment:read", client_id="city-erp")
    pid = basket["mixed"]["payment_id"]

    for headers in (unscoped, other_scope):
        listed = await payments.client.get("/payments", headers=headers)
        assert listed.status_code == 403
        assert listed.json()["required_scope"] == "payment:read"
        assert (await payments.get(pid, headers)).status_code == 403
    for headers in (unscoped, reader):
        created = await payments.client.post(
            "/payments", json=payments.body(),
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
        assert created.status_code == 403
        assert created.json()["required_scope"] == "payment:write"
        assert (await payments.client.post(f"/payments/{pid}/cancel",
                                           headers=headers)).status_code == 403
    assert len(await _ids(payments, reader)) == 3
    assert await payments.scalar("SELECT count(*) FROM payments") == 3


async def test_a_writing_client_reads_and_cancels_only_its_own_sources_payments(
    payments: Any, basket: dict[str, dict[str, Any]]
) -> None:
    case = payments.client_headers(scope="payment:write", client_id="case-service")
    own = await payments.create(payments.body(), headers=case)

    assert await _ids(payments, case) == [own["payment_id"]]
    foreign = basket["mixed"]["payment_id"]
    assert (await payments.get(foreign, case)).status_code == 404
    cancel = await payments.client.post(f"/payments/{foreign}/cancel", headers=case)
    assert cancel.status_code == 404
    assert (await payments.row(foreign)).status == "created"
    mine = await payments.client.post(f"/payments/{own['payment_id']}/cancel", headers=case)
    assert mine.status_code == 200


async def test_another_tenant_sees_nothing_and_cannot_cancel(
    payments: Any, basket: dict[str, dict[str, Any]]
) -> None:
    pid = basket["mixed"]["payment_id"]
    other = payments.client_headers(tenant=payments.OTHER_TENANT)
    for headers in (other, payments.staff_headers(admin="tenant", tenant=payments.OTHER_TENANT),
                    payments.citizen_headers(payments.ERIKA, tenant=payments.OTHER_TENANT)):
        assert (await payments.get(pid, headers)).status_code == 404
        assert await _ids(payments, headers) == []
        events = await payments.client.get(f"/payments/{pid}/events", headers=headers)
        assert events.status_code == 404
    cancel = await payments.client.post(f"/payments/{pid}/cancel", headers=other)
    assert cancel.status_code == 404
    assert (await payments.row(pid)).status == "created"

    # The same reference in another tenant is another payment.
    theirs = await payments.create(payments.body(reference=basket["mixed"]["reference"]),
                                   headers=other)
    assert theirs["payment_id"] != pid
    assert theirs["tenant"] == payments.OTHER_TENANT


async def test_without_a_token_everything_is_401(
    payments: Any, basket: dict[str, dict[str, Any]]
) -> None:
    pid = basket["mixed"]["payment_id"]
    for method, url in (("GET", "/payments"), ("GET", f"/payments/{pid}"),
                        ("GET", f"/payments/{pid}/events"), ("POST", f"/payments/{pid}/cancel")):
        response = await payments.client.request(method, url)
        assert response.status_code == 401, url
    response = await payments.client.post("/payments", json=payments.body(),
                                          headers={"Idempotency-Key": "anon"})
    assert response.status_code == 401
