"""Hole 3 of issue 11: a refund made at payment (a cashier paying back their department's
line items) reaches ticketing as ``refund.succeeded`` naming the line items and departments
paid back; ticketing voids the tickets of those departments (``ticket.voided``) and leaves the
others valid. Delivered twice, it has one effect."""

from __future__ import annotations

import uuid
from typing import Any

from city_shared.envelope import Event


async def paid_order(t: Any, demo: Any) -> dict[str, Any]:
    """Erika's order of a museum ticket and a 10-visit pool card (valid now), paid (through
    the real use case)."""
    lines = [{"ticket_type_id": str(demo.museum_adult), "slot_id": str(demo.exhibition_slot),
              "quantity": 1},
             {"ticket_type_id": str(demo.ten_visit_type), "quantity": 1}]
    placed = await t.client.post("/orders", json={"lines": lines}, headers={
        **t.citizen_headers(), "Idempotency-Key": str(uuid.uuid4())})
    assert placed.status_code == 201, placed.text
    order: dict[str, Any] = placed.json()
    await t.answer_payment("payment.created", order)
    await t.answer_payment("payment.succeeded", order)
    confirmed = await t.client.get(f"/orders/{order['order_id']}", headers=t.citizen_headers())
    body: dict[str, Any] = confirmed.json()
    assert body["status"] == "confirmed"
    return body


def museum_refund(t: Any, order: dict[str, Any], refund_id: str, **data: Any) -> Event:
    museum = [line for line in order["lines"] if line["department"] == "museum"]
    fields: dict[str, Any] = {"requested_by": "staff", **data}
    return t.payment_answer(
        "refund.succeeded", order, refund_id=refund_id, amount=museum[0]["amount"],
        refunded_amount=museum[0]["amount"], departments=["museum"],
        line_items=[{"position": 0, "department": "museum", "cost_centre": "MUS-4100",
                     "amount": museum[0]["amount"]}],
        **fields)


async def scan(t: Any, department: str, payload: str) -> str:
    response = await t.client.post("/checkins", headers=t.gatekeeper_headers(department), json={
        "scan_id": str(uuid.uuid4()), "department": department, "payload": payload})
    assert response.status_code == 200, response.text
    outcome: str = response.json()["outcome"]
    return outcome


async def test_a_museum_refund_at_payment_voids_only_the_museum_ticket(ticketing: Any) -> None:
    t = ticketing
    demo = await t.demo()
    order = await paid_order(t, demo)
    tickets = {ticket["department"]: ticket["ticket_id"] for ticket in order["tickets"]}
    payloads = {d: (await t.client.get(f"/tickets/{tid}/page", headers=t.citizen_headers())
                    ).json()["qr_payload"] for d, tid in tickets.items()}
    event = museum_refund(t, order, str(uuid.uuid4()))

    await t.deliver_payment(event)
    await t.deliver_payment(event)  # delivered twice: one effect

    voided = await t.outbox("city.ticketing.ticket.voided.v1")
    assert [row.data["ticket_id"] for row in voided] == [tickets["museum"]]
    seen = (await t.client.get(f"/orders/{order['order_id']}",
                               headers=t.citizen_headers())).json()
    assert {x["department"]: x["status"] for x in seen["tickets"]} == {
        "museum": "voided", "pools": "valid"}
    museum_amount = next(x for x in order["lines"] if x["department"] == "museum")["amount"]
    assert seen["refunded_amount"] == museum_amount
    assert await scan(t, "museum", payloads["museum"]) == "voided"
    assert await scan(t, "pools", payloads["pools"]) == "admitted"


async def test_a_refund_ticketing_asked_for_itself_voids_nothing_here(ticketing: Any) -> None:
    """A late payment's refund or a cancellation's is ticketing's own: it handles those."""
    t = ticketing
    demo = await t.demo()
    order = await paid_order(t, demo)

    await t.deliver_payment(museum_refund(t, order, str(uuid.uuid4()), requested_by="source"))

    assert await t.outbox("city.ticketing.ticket.voided.v1") == []
