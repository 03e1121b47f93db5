"""Staff see only what their role needs: a gatekeeper checks tickets in but does not read
their codes, QR payloads or an order's checkout page (a code read off an order is free entry
for whoever gets it); cashiers and managers of the department do."""

from __future__ import annotations

from typing import Any


async def _paid_and_unpaid(h: Any) -> tuple[Any, Any, Any]:
    """A paid museum order with its ticket, and an unpaid one with a checkout page: (paid
    order id, its ticket, unpaid order id)."""
    demo = await h.demo()
    order_id, (ticket,) = await h.confirmed_order(
        [(demo.exhibition, demo.museum_adult, demo.exhibition_slot, 1)])
    unpaid_id, _ = await h.confirmed_order(
        [(demo.exhibition, demo.museum_adult, demo.exhibition_slot, 1)], issue=False)
    await h.execute("UPDATE orders SET status = 'awaiting_payment',"
                    " checkout_url = 'https://payment.test/pay/1' WHERE id = :id", id=unpaid_id)
    return order_id, ticket, unpaid_id


async def test_a_gatekeeper_reads_no_codes_nor_checkout_pages(ticketing: Any) -> None:
    h = ticketing
    order_id, ticket, unpaid_id = await _paid_and_unpaid(h)
    gate = h.gatekeeper_headers("museum")

    order = (await h.client.get(f"/orders/{order_id}", headers=gate)).json()
    assert [t["code"] for t in order["tickets"]] == [None]
    unpaid = (await h.client.get(f"/orders/{unpaid_id}", headers=gate)).json()
    assert unpaid["checkout_url"] is None
    listed = (await h.client.get("/orders", headers=gate)).json()["items"]
    assert {o["checkout_url"] for o in listed} == {None}
    seen = (await h.client.get(f"/tickets/{ticket.ticket_id}", headers=gate)).json()
    assert seen["code"] is None
    assert seen["status"] == "valid"
    listed_tickets = (await h.client.get("/tickets", headers=gate)).json()["items"]
    assert [t["code"] for t in listed_tickets] == [None]
    for suffix in ("/qr.png", "/qr.svg", "/page"):
        response = await h.client.get(f"/tickets/{ticket.ticket_id}{suffix}", headers=gate)
        assert response.status_code == 403, (suffix, response.text)
        assert response.json()["code"] == "ticket_credentials_forbidden"


async def test_cashiers_and_managers_read_codes_and_checkout_pages(ticketing: Any) -> None:
    h = ticketing
    order_id, ticket, unpaid_id = await _paid_and_unpaid(h)

    for headers in (h.staff_headers({"museum": ["cashier"]}), h.manager_headers("museum"),
                    h.staff_headers({"museum": ["cashier", "gatekeeper"]})):
        order = (await h.client.get(f"/orders/{order_id}", headers=headers)).json()
        assert [t["code"] for t in order["tickets"]] == [ticket.code]
        unpaid = (await h.client.get(f"/orders/{unpaid_id}", headers=headers)).json()
        assert unpaid["checkout_url"] == "https://payment.test/pay/1"
        seen = (await h.client.get(f"/tickets/{ticket.ticket_id}", headers=headers)).json()
        assert seen["code"] == ticket.code
        page = await h.client.get(f"/tickets/{ticket.ticket_id}/page", headers=headers)
        assert page.status_code == 200
        assert page.json()["qr_payload"] == ticket.qr_payload
    # A gatekeeper of the museum who is cashier at the pools reads no museum codes.
    mixed = h.staff_headers({"museum": ["gatekeeper"], "pools": ["cashier"]})
    order = (await h.client.get(f"/orders/{order_id}", headers=mixed)).json()
    assert [t["code"] for t in order["tickets"]] == [None]
