"""Reading tickets through the API: the public keys, list and detail with visits left, QR
images, the ticket page, and who sees which ticket (others get 404, never a hint)."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from ticketing_service.orders.models import Order
from ticketing_service.tickets.schemas import IssuedTicket
from ticketing_service.tickets.service import void_tickets
from ticketing_service.tickets.signing import verify

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

Line = tuple[uuid.UUID, uuid.UUID, uuid.UUID | None, int]


async def setup(harness: Any) -> tuple[Any, dict[str, IssuedTicket]]:
    """Erika: a museum adult ticket, a Kulturpass; Max: a pool ticket."""
    demo = await harness.demo()
    _, (museum, kulturpass) = await harness.confirmed_order([
        (demo.exhibition, demo.museum_adult, demo.exhibition_slot, 1),
        (demo.kulturpass, demo.kulturpass_type, None, 1)])
    _, (pool,) = await harness.confirmed_order(
        [(demo.indoor_pool, demo.pool_adult, demo.pool_slot, 1)],
        account_id=harness.MAX)
    return demo, {"museum": museum, "kulturpass": kulturpass, "pool": pool}


def ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.text
    return {item["ticket_id"] for item in response.json()["items"]}


async def test_keys_are_public_cacheable_and_carry_no_private_parts(ticketing: Any) -> None:
    response = await ticketing.client.get("/tickets/keys")

    assert response.status_code == 200
    assert "max-age" in response.headers["cache-control"]
    keys = response.json()["keys"]
    assert len(keys) == 2  # the signing key and the previous one
    assert len({k["kid"] for k in keys}) == 2
    for key in keys:
        assert key["kty"] == "OKP"
        assert key["crv"] == "Ed25519"
        assert key["alg"] == "EdDSA"
        assert "d" not in key


async def test_detail_shows_entitlements_and_visits_left(ticketing: Any) -> None:
    _, tickets = await setup(ticketing)
    kp = tickets["kulturpass"]
    scan = await ticketing.client.post(
        "/checkins", headers=ticketing.gatekeeper_headers("pools"),
        json={"scan_id": "s1", "department": "pools", "payload": kp.qr_payload})
    assert scan.json()["outcome"] == "admitted"

    response = await ticketing.client.get(f"/tickets/{kp.ticket_id}",
                                          headers=ticketing.citizen_headers())

    assert response.status_code == 200
    body = response.json()
    assert body["code"] == kp.code
    assert body["status"] == "valid"
    assert body["offering_name"] == "Kulturpass"
    assert body["visits_left"] == 1
    assert [(e["department"], e["offering_name"], e["visits_total"], e["visits_left"])
            for e in body["entitlements"]] == [("museum", "Dauerausstellung", 1, 1),
                                               ("pools", "Hallenbad", 1, 0)]
    assert body["page_url"] == f"{ticketing.BASE_URL}/tickets/{kp.ticket_id}"


async def test_voided_ticket_shows_voided_with_no_visits_left(ticketing: Any) -> None:
    demo = await ticketing.demo()
    order_id, (card,) = await ticketing.confirmed_order(
        [(demo.ten_visit_card, demo.ten_visit_type, None, 1)])
    async with ticketing.sessions() as session, session.begin():
        order = (await session.scalars(select(Order).where(Order.id == order_id))).one()
        await void_tickets(session, order, reason="refunded", now=datetime.now(UTC))

    body = (await ticketing.client.get(f"/tickets/{card.ticket_id}",
                                       headers=ticketing.citizen_headers())).json()

    assert body["status"] == "voided"
    assert body["void_reason"] == "refunded"
    assert body["visits_left"] == 0


async def test_who_sees_which_ticket(ticketing: Any) -> None:
    _, t = await setup(ticketing)
    museum, kp, pool = (str(t[k].ticket_id) for k in ("museum", "kulturpass", "pool"))
    get = ticketing.client.get

    assert ids(await get("/tickets", headers=ticketing.citizen_headers())) == {museum, kp}
    assert ids(await get("/tickets", headers=ticketing.citizen_headers(ticketing.MAX))) == {
        pool}
    assert ids(await get("/tickets", headers=ticketing.gatekeeper_headers("pools"))) == {
        kp, pool}
    assert ids(await get("/tickets", headers=ticketing.gatekeeper_headers("museum"))) == {
        museum, kp}
    assert ids(await get("/tickets", headers=ticketing.staff_headers(admin="tenant"))) == {
        museum, kp, pool}
    assert ids(await get("/tickets", headers=ticketing.client_headers("ticketing:read"))) == {
        museum, kp, pool}
    other_tenant = ticketing.staff_headers(admin="tenant", tenant=ticketing.OTHER_TENANT)
    assert ids(await get("/tickets", headers=other_tenant)) == set()
    assert (await get("/tickets", headers=ticketing.client_headers("ticketing:write"))
            ).status_code == 403
    assert (await get("/tickets")).status_code == 401

    denied = [
        (pool, ticketing.citizen_headers()),
        (museum, ticketing.citizen_headers(ticketing.MAX)),
        (museum, ticketing.gatekeeper_headers("pools")),
        (museum, ticketing.citizen_headers(tenant=ticketing.OTHER_TENANT)),
        (museum, other_tenant),
        (str(uuid.uuid4()), ticketing.staff_headers(admin="tenant")),
    ]
    for ticket_id, headers in denied:
        for suffix in ("", "/qr.png", "/qr.svg", "/page"):
            response = await get(f"/tickets/{ticket_id}{suffix}", headers=headers)
            assert response.status_code == 404, (suffix, response.text)
            assert response.json()["code"] == "ticket_not_found"
    assert (await get(f"/tickets/{kp}", headers=ticketing.gatekeeper_headers("pools"))
            ).status_code == 200


async def test_list_filters_and_pages(ticketing: Any) -> None:
    _, t = await setup(ticketing)
    headers = ticketing.staff_headers(admin="tenant")
    get = ticketing.client.get

    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 1}
        if cursor:
            params["cursor"] = cursor
        body = (await get("/tickets", params=params, headers=headers)).json()
        seen += [item["ticket_id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(str(x.ticket_id) for x in t.values())
    assert ids(await get("/tickets", params={"department": "pools"}, headers=headers)) == {
        str(t["kulturpass"].ticket_id), str(t["pool"].ticket_id)}
    assert ids(await get("/tickets", params={"status": "voided"}, headers=headers)) == set()
    for params in ({"cursor": "garbage"}, {"limit": 0}, {"status": "lost"},
                   {"department": "Pools!"}, {"order_id": "x"}):
        response = await get("/tickets", params=params, headers=headers)
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("application/problem+json")
    assert (await get("/tickets", params={"cursor": "garbage"}, headers=headers)
            ).json()["code"] == "invalid_cursor"
    assert (await get("/tickets/not-a-uuid", headers=headers)).status_code == 422


async def test_qr_images(ticketing: Any) -> None:
    _, t = await setup(ticketing)
    ticket_id = t["museum"].ticket_id
    headers = ticketing.citizen_headers()

    png = await ticketing.client.get(f"/tickets/{ticket_id}/qr.png", headers=headers)
    svg = await ticketing.client.get(f"/tickets/{ticket_id}/qr.svg", headers=headers)

    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(PNG_SIGNATURE)
    assert png.content[12:16] == b"IHDR"
    assert "private" in png.headers["cache-control"]
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content


async def test_ticket_page_has_everything_to_print(ticketing: Any) -> None:
    _, t = await setup(ticketing)
    ticket = t["museum"]

    response = await ticketing.client.get(f"/tickets/{ticket.ticket_id}/page",
                                          headers=ticketing.citizen_headers())

    assert response.status_code == 200
    page = response.json()
    assert page["ticket"]["code"] == ticket.code
    assert page["ticket"]["offering_name"] == "Dauerausstellung"
    assert page["ticket"]["ticket_type_name"] == "Erwachsene"
    assert page["ticket"]["starts_at"] is not None
    assert page["venue"]["name"] == "Stadtmuseum"
    assert page["price"] == {"amount": 800, "currency": "EUR"}
    keys = (await ticketing.client.get("/tickets/keys")).json()
    assert verify(page["qr_payload"], keys).tid == ticket.ticket_id
    prefix = "data:image/svg+xml;base64,"
    assert page["qr_svg_data_uri"].startswith(prefix)
    assert b"<svg" in base64.b64decode(page["qr_svg_data_uri"][len(prefix):])
