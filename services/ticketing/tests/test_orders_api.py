"""Placing and reading orders through the API: a basket over several departments and what
payment is asked to collect, who may place and see which orders, the Idempotency-Key, and bad
input answered with a 4xx problem (never a 500)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest


def line(ticket_type: uuid.UUID, slot: uuid.UUID | None = None,
         quantity: Any = 1) -> dict[str, Any]:
    body: dict[str, Any] = {"ticket_type_id": str(ticket_type), "quantity": quantity}
    if slot is not None:
        body["slot_id"] = str(slot)
    return body


async def post(t: Any, body: Any, *, headers: dict[str, str] | None = None,
               key: str | None = None) -> Any:
    sent = {**(t.citizen_headers() if headers is None else headers)}
    if key != "":
        sent["Idempotency-Key"] = key or str(uuid.uuid4())
    if isinstance(body, bytes):
        return await t.client.post("/orders", content=body,
                                   headers={**sent, "Content-Type": "application/json"})
    return await t.client.post("/orders", json=body, headers=sent)


def basket(*lines: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"lines": list(lines), "email": "erika@example.org", **extra}


async def place(t: Any, *lines: dict[str, Any], headers: dict[str, str] | None = None,
                **extra: Any) -> dict[str, Any]:
    response = await post(t, basket(*lines, **extra), headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_basket_over_museum_pools_and_kulturpass_asks_payment_per_cost_centre(
    ticketing: Any,
) -> None:
    demo = await ticketing.demo()

    order = await place(ticketing, line(demo.museum_adult, demo.exhibition_slot, 2),
                        line(demo.pool_family, demo.pool_slot, 1), line(demo.kulturpass_type),
                        locale="en", return_url="https://tickets.musterstadt.example/done")

    assert (order["status"], order["total"], order["currency"]) == ("awaiting_payment", 3700,
                                                                      "EUR")
    assert order["reference"] == f"ticketing/order/{order['order_id']}"
    assert [(x["department"], x["amount"], x["places"]) for x in order["lines"]] == [
        ("museum", 1600, 1), ("pools", 1100, 4), ("museum", 1000, 1)]
    placed = datetime.fromisoformat(order["placed_at"])
    assert datetime.fromisoformat(order["hold_expires_at"]) - placed == timedelta(minutes=15)
    assert await ticketing.scalar("SELECT held FROM slots WHERE id = :s",
                                  s=demo.exhibition_slot) == 2
    assert await ticketing.scalar("SELECT held FROM slots WHERE id = :s", s=demo.pool_slot) == 4

    [command] = await ticketing.outbox("city.payment.request.v1")
    assert command.topic == "payment.requests"
    assert command.attributes["source"] == "/ticketing"
    assert command.attributes["tenant"] == ticketing.TENANT
    data = command.data
    assert sorted(data["line_items"], key=lambda i: i["department"]) == [
        {"department": "museum", "cost_centre": "MUS-4100", "amount": 1600 + 600,
         "description": "Dauerausstellung, Kulturpass"},
        {"department": "pools", "cost_centre": "BAD-5700", "amount": 1100 + 400,
         "description": "Hallenbad, Kulturpass"},
    ]
    assert data["amount"] == sum(i["amount"] for i in data["line_items"]) == 3700
    assert (data["reference"], data["currency"], data["tenant"]) == (
        order["reference"], "EUR", ticketing.TENANT)
    assert data["payer"] == {"account_id": str(ticketing.ERIKA)}
    assert data["metadata"] == {"order_id": order["order_id"]}
    assert data["return_url"] == "https://tickets.musterstadt.example/done"
    assert uuid.UUID(data["request_id"])
    assert 0 < len(data["description"]) <= 255

    [placed_event] = await ticketing.outbox("city.ticketing.order.placed.v1")
    assert placed_event.key == order["order_id"]
    assert "department" not in placed_event.attributes  # two departments
    assert placed_event.data["total"] == 3700
    assert [x["ticket_type"] for x in placed_event.data["lines"]] == [
        "Erwachsene", "Familie", "Kulturpass"]
    assert placed_event.data["lines"][0]["slot_starts_at"] is not None


async def test_a_citizen_sees_only_their_own_orders(ticketing: Any) -> None:
    demo = await ticketing.demo()
    erika = await place(ticketing, line(demo.museum_adult, demo.exhibition_slot))
    max_ = await place(ticketing, line(demo.pool_adult, demo.pool_slot),
                       headers=ticketing.citizen_headers(ticketing.MAX))

    mine = await ticketing.client.get("/orders", headers=ticketing.citizen_headers())
    assert [o["order_id"] for o in mine.json()["items"]] == [erika["order_id"]]
    other = await ticketing.client.get(f"/orders/{erika['order_id']}",
                                       headers=ticketing.citizen_headers(ticketing.MAX))
    assert other.status_code == 404
    assert other.json()["code"] == "order_not_found"
    own = await ticketing.client.get(f"/orders/{max_['order_id']}",
                                     headers=ticketing.citizen_headers(ticketing.MAX))
    assert own.status_code == 200
    assert own.json()["email"] is None  # a citizen's order keeps no typed address


async def test_staff_see_only_their_departments_lines_and_no_contact_data(ticketing: Any) -> None:
    demo = await ticketing.demo()
    both = await place(ticketing, line(demo.museum_adult, demo.exhibition_slot),
                       line(demo.pool_adult, demo.pool_slot))
    pools_only = await place(ticketing, line(demo.pool_reduced, demo.pool_slot))

    museum = ticketing.staff_headers({"museum": ["cashier"]})
    listed = await ticketing.client.get("/orders", headers=museum)
    assert [o["order_id"] for o in listed.json()["items"]] == [both["order_id"]]
    seen = (await ticketing.client.get(f"/orders/{both['order_id']}", headers=museum)).json()
    assert [x["department"] for x in seen["lines"]] == ["museum"]
    assert (seen["email"], seen["account_id"]) == (None, None)
    hidden = await ticketing.client.get(f"/orders/{pools_only['order_id']}", headers=museum)
    assert hidden.status_code == 404

    admin = ticketing.staff_headers(admin="tenant")
    assert len((await ticketing.client.get("/orders", headers=admin)).json()["items"]) == 2
    reader = ticketing.client_headers("ticketing:read")
    all_lines = (await ticketing.client.get(f"/orders/{both['order_id']}", headers=reader)).json()
    assert len(all_lines["lines"]) == 2
    no_role = await ticketing.client.get("/orders", headers=ticketing.staff_headers({}))
    assert no_role.status_code == 403
    no_scope = await ticketing.client.get("/orders",
                                          headers=ticketing.client_headers("ticketing:write"))
    assert no_scope.status_code == 403


async def test_another_tenant_finds_nothing_and_cannot_buy_its_tickets(ticketing: Any) -> None:
    demo = await ticketing.demo()
    order = await place(ticketing, line(demo.museum_adult, demo.exhibition_slot))
    stranger = ticketing.citizen_headers(tenant=ticketing.OTHER_TENANT)

    assert (await ticketing.client.get(f"/orders/{order['order_id']}",
                                       headers=stranger)).status_code == 404
    admin = ticketing.staff_headers(admin="tenant", tenant=ticketing.OTHER_TENANT)
    assert (await ticketing.client.get("/orders", headers=admin)).json()["items"] == []
    foreign = await post(ticketing, basket(line(demo.museum_adult, demo.exhibition_slot)),
                         headers=stranger)
    assert foreign.status_code == 422
    assert foreign.json()["code"] == "unknown_ticket_type"


async def test_who_may_place_an_order(ticketing: Any) -> None:
    demo = await ticketing.demo()
    ticket = line(demo.ten_visit_type)

    staff = await post(ticketing, basket(ticket), headers=ticketing.manager_headers("pools"))
    assert staff.status_code == 403
    for_erika = await place(ticketing, ticket, headers=ticketing.client_headers(),
                            account_id=str(ticketing.ERIKA))
    assert for_erika["account_id"] == str(ticketing.ERIKA)
    nobody = await post(ticketing, basket(ticket), headers=ticketing.client_headers())
    assert (nobody.status_code, nobody.json()["code"]) == (422, "account_id_required")
    read_only = await post(ticketing, basket(ticket, account_id=str(ticketing.ERIKA)),
                           headers=ticketing.client_headers("ticketing:read"))
    assert read_only.status_code == 403
    for_max = await post(ticketing, basket(ticket, account_id=str(ticketing.MAX)))
    assert for_max.status_code == 403
    anonymous = await post(ticketing, basket(ticket), headers={})
    assert anonymous.status_code == 401
    assert await ticketing.scalar("SELECT count(*) FROM orders") == 1
    erika_sees = await ticketing.client.get(f"/orders/{for_erika['order_id']}",
                                            headers=ticketing.citizen_headers())
    assert erika_sees.status_code == 200


async def test_idempotency_key_is_required_and_a_repeat_replays_the_first_order(
    ticketing: Any,
) -> None:
    demo = await ticketing.demo()
    body = basket(line(demo.museum_adult, demo.exhibition_slot, 2))

    missing = await post(ticketing, body, key="")
    assert (missing.status_code, missing.json()["code"]) == (400, "idempotency_key_required")
    first = await post(ticketing, body, key="order-key-1")
    again = await post(ticketing, body, key="order-key-1")
    assert first.status_code == again.status_code == 201
    assert again.json()["order_id"] == first.json()["order_id"]
    other = await post(ticketing, basket(line(demo.museum_adult, demo.exhibition_slot, 3)),
                       key="order-key-1")
    assert other.status_code == 422
    assert await ticketing.scalar("SELECT count(*) FROM orders") == 1
    assert await ticketing.scalar("SELECT held FROM slots WHERE id = :s",
                                  s=demo.exhibition_slot) == 2


async def test_list_pages_with_a_cursor(ticketing: Any) -> None:
    demo = await ticketing.demo()
    older = await place(ticketing, line(demo.ten_visit_type))
    newer = await place(ticketing, line(demo.ten_visit_type))
    headers = ticketing.citizen_headers()

    first = (await ticketing.client.get("/orders?limit=1", headers=headers)).json()
    assert [o["order_id"] for o in first["items"]] == [newer["order_id"]]
    second = (await ticketing.client.get(
        "/orders", params={"limit": 1, "cursor": first["next_cursor"]}, headers=headers)).json()
    assert [o["order_id"] for o in second["items"]] == [older["order_id"]]
    assert second["next_cursor"] is None
    bad = await ticketing.client.get("/orders?cursor=bm9wZQ", headers=headers)
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_cursor")
    status = await ticketing.client.get("/orders?status=confirmed", headers=headers)
    assert status.json()["items"] == []


@pytest.mark.parametrize(("make", "status", "code"), [
    (lambda d: basket(line(d.museum_adult, d.exhibition_slot, -1)), 422, "validation_error"),
    (lambda d: basket(line(d.museum_adult, d.exhibition_slot, 0)), 422, "validation_error"),
    (lambda d: basket(line(d.museum_adult, d.exhibition_slot, "2")), 422, "validation_error"),
    (lambda d: basket(line(d.museum_adult, d.exhibition_slot, 1.5)), 422, "validation_error"),
    (lambda d: basket(line(d.museum_adult, d.exhibition_slot, 10**12)), 422, "validation_error"),
    (lambda d: basket(line(d.museum_adult, d.exhibition_slot, 11)), 422, "too_many_tickets"),
    (lambda d: basket(line(d.museum_adult, d.exhibition_slot, 6),
                      line(d.museum_reduced, d.exhibition_slot, 5)), 422, "too_many_tickets"),
    (lambda d: basket(line(uuid.uuid4(), d.exhibition_slot)), 422, "unknown_ticket_type"),
    (lambda d: basket(line(d.museum_adult, d.pool_slot)), 422, "unknown_slot"),
    (lambda d: basket(line(d.museum_adult, uuid.uuid4())), 422, "unknown_slot"),
    (lambda d: basket(line(d.museum_adult)), 422, "slot_required"),
    (lambda d: basket(line(d.ten_visit_type, d.pool_slot)), 422, "slot_not_allowed"),
    (lambda d: basket(line(d.kulturpass_type, d.exhibition_slot)), 422, "slot_not_allowed"),
    (lambda d: basket(), 422, "validation_error"),
    (lambda d: basket(*[line(d.ten_visit_type)] * 21), 422, "validation_error"),
    (lambda d: basket(*[line(d.museum_adult, d.exhibition_slot)] * 1000), 422,
     "validation_error"),
    (lambda d: basket(line(d.ten_visit_type), email="not-an-address"), 422, "validation_error"),
    (lambda d: basket(line(d.ten_visit_type), email="a\x00@b.org"), 422, "validation_error"),
    (lambda d: basket(line(d.ten_visit_type), locale="fr"), 422, "validation_error"),
    (lambda d: basket(line(d.ten_visit_type), return_url="javascript:alert(1)"), 422,
     "validation_error"),
    (lambda d: basket(line(d.ten_visit_type), surprise=True), 422, "validation_error"),
    (lambda d: basket({"ticket_type_id": "nope", "quantity": 1}), 422, "validation_error"),
    (lambda d: {"lines": "all of them", "email": "e@x.org"}, 422, "validation_error"),
    (lambda d: [1, 2, 3], 422, "validation_error"),
    (lambda d: b"{not json", 422, "validation_error"),
])
async def test_bad_baskets_get_a_problem_and_hold_nothing(
    ticketing: Any, make: Any, status: int, code: str,
) -> None:
    demo = await ticketing.demo()

    response = await post(ticketing, make(demo))

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    assert await ticketing.scalar("SELECT count(*) FROM orders") == 0
    assert await ticketing.scalar("SELECT sum(held) FROM slots") == 0


async def test_tickets_not_on_sale_or_after_sales_closed_are_refused(ticketing: Any) -> None:
    demo = await ticketing.demo()
    started = await ticketing.add_slot(
        demo.exhibition, starts_at=datetime.now(UTC) - timedelta(minutes=5))
    closed = await post(ticketing, basket(line(demo.museum_adult, started)))
    assert (closed.status_code, closed.json()["code"]) == (409, "sales_closed")
    assert closed.json()["slot_id"] == str(started)

    async with ticketing.engine.begin() as conn:
        from sqlalchemy import text

        await conn.execute(text("UPDATE offerings SET status = 'draft' WHERE id = :o"),
                           {"o": demo.indoor_pool})
        await conn.execute(text("UPDATE ticket_types SET active = false WHERE id = :t"),
                           {"t": demo.ten_visit_type})
    draft = await post(ticketing, basket(line(demo.pool_adult, demo.pool_slot)))
    assert (draft.status_code, draft.json()["code"]) == (409, "not_on_sale")
    inactive = await post(ticketing, basket(line(demo.ten_visit_type)))
    assert (inactive.status_code, inactive.json()["code"]) == (409, "not_on_sale")
    assert await ticketing.scalar("SELECT count(*) FROM orders") == 0


async def test_a_sold_out_slot_names_the_places_left_and_holds_nothing_of_the_basket(
    ticketing: Any,
) -> None:
    demo = await ticketing.demo()
    small = await ticketing.add_slot(demo.indoor_pool,
                                     starts_at=ticketing.next_weekday_at(15, days_ahead=2),
                                     capacity=5)
    await place(ticketing, line(demo.pool_family, small))  # 4 of 5 places

    response = await post(ticketing, basket(line(demo.museum_adult, demo.exhibition_slot, 2),
                                            line(demo.pool_adult, small, 2)))

    assert response.status_code == 409
    problem = response.json()
    assert (problem["code"], problem["slot_id"]) == ("sold_out", str(small))
    assert (problem["places_left"], problem["places_requested"]) == (1, 2)
    assert problem["ticket_type_ids"] == [str(demo.pool_adult)]
    assert await ticketing.scalar("SELECT held FROM slots WHERE id = :s",
                                  s=demo.exhibition_slot) == 0
    assert await ticketing.scalar("SELECT held FROM slots WHERE id = :s", s=small) == 4
    assert await ticketing.scalar("SELECT count(*) FROM orders") == 1
