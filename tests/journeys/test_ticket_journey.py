"""The ticket journey end to end, across every service running as its own process against the
real PostgreSQL, Kafka and SMTP server of a local stack (``devstack up`` on free ports).

A citizen logs in (OpenID Connect code flow with PKCE), buys a pool slot and a museum ticket in
one order, pays on the sandbox checkout page, receives one e-mail and one inbox message with
both tickets; pool gate staff scan them; the payment ledger keeps the departments' revenue
apart; every event of the journey carries one correlation id and one trace. A second journey
lets the payment fail: the places come back and the citizen is told.

Only public interfaces are used: HTTP APIs, the HTML pages a browser sees, the SMTP server's
mailbox and the Kafka topics.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from devstack.smtp import read_mailbox
from devstack.testing import LocalStack

from .kit import checkout, client_token, eventually, journey_events, login

pytestmark = pytest.mark.timeout(420)

TENANT = "musterstadt"
ERIKA = "erika.mustermann@example.org"
MAX = "max.mustermann@example.org"
POOL_GATE = "pools.gatekeeper@example.org"


async def bookable_slot(http: httpx.AsyncClient, stack: LocalStack, offering_name: str,
                        ticket_code: str = "adult") -> tuple[str, str, int]:
    """(ticket type id, slot id, places available) of the first slot on sale, from the public
    catalogue and availability endpoints a shop frontend polls."""
    ticketing = stack.base_url("ticketing")
    offerings = (await http.get(f"{ticketing}/public/{TENANT}/offerings")).json()
    offering = next(o for o in _items(offerings) if o["name"] == offering_name)
    ticket_type = next(t for t in offering["ticket_types"] if t["code"] == ticket_code)
    today = datetime.now(UTC).date()
    availability = (await http.get(
        f"{ticketing}/public/{TENANT}/offerings/{offering['offering_id']}/availability",
        params={"from": str(today), "to": str(today + timedelta(days=7))})).json()
    for slot in availability["slots"]:
        if slot["status"] in ("available", "few_left"):
            return ticket_type["ticket_type_id"], slot["slot_id"], slot["available"]
    raise AssertionError(f"no bookable slot of {offering_name}: {availability}")


async def slot_available(http: httpx.AsyncClient, stack: LocalStack, offering_name: str,
                         slot_id: str) -> int:
    ticketing = stack.base_url("ticketing")
    offerings = (await http.get(f"{ticketing}/public/{TENANT}/offerings")).json()
    offering = next(o for o in _items(offerings) if o["name"] == offering_name)
    today = datetime.now(UTC).date()
    availability = (await http.get(
        f"{ticketing}/public/{TENANT}/offerings/{offering['offering_id']}/availability",
        params={"from": str(today), "to": str(today + timedelta(days=7))})).json()
    return int(next(s["available"] for s in availability["slots"] if s["slot_id"] == slot_id))


def _items(body: Any) -> list[dict[str, Any]]:
    return list(body["items"] if isinstance(body, dict) else body)


async def place_order(http: httpx.AsyncClient, stack: LocalStack, citizen: dict[str, str],
                      email: str, lines: list[dict[str, Any]], correlation: str) -> dict[str, Any]:
    response = await http.post(
        f"{stack.base_url('ticketing')}/orders",
        json={"lines": lines, "email": email, "locale": "de"},
        headers={**citizen, "Idempotency-Key": str(uuid.uuid4()),
                 "X-Correlation-ID": correlation})
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


async def order_when(http: httpx.AsyncClient, stack: LocalStack, citizen: dict[str, str],
                     order_id: str, ready: Callable[[dict[str, Any]], bool],
                     what: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        response = await http.get(f"{stack.base_url('ticketing')}/orders/{order_id}",
                                  headers=citizen)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body if ready(body) else None

    return await eventually(probe, what)


def mails_to(stack: LocalStack, address: str) -> list[EmailMessage]:
    return [m for m in read_mailbox(stack.config.mail_dir) if address in str(m["To"])]


def ticket_mails(stack: LocalStack, address: str) -> list[EmailMessage]:
    """The e-mails to ``address`` that carry tickets (the same citizen's case mails do not)."""
    return [m for m in mails_to(stack, address)
            if any(str(p.get_filename()).startswith("ticket-") for p in m.iter_attachments())]


async def scan(http: httpx.AsyncClient, stack: LocalStack, gate: dict[str, str],
               payload: str, department: str = "pools") -> str:
    response = await http.post(
        f"{stack.base_url('ticketing')}/checkins",
        json={"scan_id": str(uuid.uuid4()), "department": department, "payload": payload,
              "gate": "Drehkreuz 1"},
        headers=gate)
    assert response.status_code == 200, response.text
    outcome: str = response.json()["outcome"]
    return outcome


TICKET_TOPICS = ("ticketing.orders", "ticketing.tickets", "payment.requests",
                 "payment.payments", "notification.deliveries")
TICKET_SCOPE = "openid profile email ticketing:read ticketing:write payment:read notification:read"


# -- the journeys ---------------------------------------------------------------------------------


async def test_a_citizen_buys_a_pool_slot_and_a_museum_ticket_and_gets_in(
    stack: LocalStack,
) -> None:
    correlation = f"journey-{uuid.uuid4()}"
    async with httpx.AsyncClient(timeout=30) as http:
        # 1. login through OpenID Connect (code flow + PKCE)
        erika = await login(stack, ERIKA, scope=TICKET_SCOPE)
        # 2. one order: a pool slot and a museum ticket
        pool_type, pool_slot, pool_before = await bookable_slot(http, stack, "Hallenbad")
        museum_type, museum_slot, _ = await bookable_slot(http, stack, "Dauerausstellung")
        order = await place_order(http, stack, erika, ERIKA, [
            {"ticket_type_id": pool_type, "slot_id": pool_slot, "quantity": 1},
            {"ticket_type_id": museum_type, "slot_id": museum_slot, "quantity": 1},
        ], correlation)
        assert order["status"] == "awaiting_payment"
        assert order["total"] == 450 + 800
        assert await slot_available(http, stack, "Hallenbad", pool_slot) == pool_before - 1
        # 3. pay on the checkout page
        waiting = await order_when(http, stack, erika, order["order_id"],
                                   lambda o: o.get("checkout_url") is not None,
                                   "the checkout URL")
        paid = await checkout(waiting["checkout_url"], "pay")
        assert paid.status_code in (200, 303), paid.text
        confirmed = await order_when(http, stack, erika, order["order_id"],
                                     lambda o: o["status"] == "confirmed", "the confirmation")
        tickets = {t["department"]: t for t in confirmed["tickets"]}
        assert set(tickets) == {"pools", "museum"}

        # 4. one e-mail with both tickets, one inbox message
        async def mail() -> list[EmailMessage] | None:
            found = ticket_mails(stack, ERIKA)
            return found or None

        [message] = await eventually(mail, "the confirmation e-mail")
        attachments = [str(p.get_filename()) for p in message.iter_attachments()]
        assert sorted(attachments) == sorted(f"ticket-{t['code']}.png" for t in tickets.values())
        body = message.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert all(t["code"] in text for t in tickets.values())

        notification = stack.base_url("notification")

        async def inbox() -> list[dict[str, Any]] | None:
            response = await http.get(f"{notification}/inbox", headers=erika)
            assert response.status_code == 200, response.text
            return [m for m in _items(response.json())
                    if any(t["code"] in json.dumps(m) for t in tickets.values())] or None

        [inbox_message] = await eventually(inbox, "the inbox message")
        assert all(t["code"] in json.dumps(inbox_message) for t in tickets.values())

        # 5. the pool's gate
        gate = await login(stack, POOL_GATE, scope=TICKET_SCOPE)
        pool_payload = await qr_payload(http, stack, erika, tickets["pools"])
        museum_payload = await qr_payload(http, stack, erika, tickets["museum"])
        assert await scan(http, stack, gate, pool_payload) == "admitted"
        assert await scan(http, stack, gate, pool_payload) == "already_used"
        assert await scan(http, stack, gate, museum_payload) == "wrong_department"

        # 6. the ledger keeps the pool's and the museum's revenue apart
        erp = await client_token(stack, "city-erp", "payment:reports")
        balances = (await http.get(f"{stack.base_url('payment')}/ledger/balances",
                                   headers=erp)).json()
        revenue = {a["department"]: a["balance"] for a in balances["accounts"]
                   if a["account"].startswith("revenue:")}
        assert abs(revenue["pools"]) == 450, balances  # the only paid order of this stack
        assert abs(revenue["museum"]) == 800, balances
        assert balances["balanced"] is True

        # no second confirmation arrived meanwhile (Erika's cases write to her too)
        assert len(ticket_mails(stack, ERIKA)) == 1

    # 7. one correlation id and one trace across the services
    events = await journey_events(stack, correlation, topics=TICKET_TOPICS, expected={
        "city.ticketing.order.placed.v1", "city.payment.request.v1",
        "city.payment.payment.created.v1", "city.payment.payment.succeeded.v1",
        "city.ticketing.order.confirmed.v1", "city.ticketing.ticket.issued.v1",
        "city.notification.delivery.delivered.v1",
    })
    sources = {headers["ce_source"] for _, headers in events}
    assert sources >= {"/ticketing", "/payment", "/notification"}
    traces = {headers["ce_traceparent"].split("-")[1] for _, headers in events
              if "ce_traceparent" in headers}
    assert len(traces) == 1, traces


async def qr_payload(http: httpx.AsyncClient, stack: LocalStack, owner: dict[str, str],
                     ticket: dict[str, Any]) -> str:
    """The signed QR payload, as the citizen's ticket page shows it."""
    response = await http.get(
        f"{stack.base_url('ticketing')}/tickets/{ticket['ticket_id']}/page", headers=owner)
    assert response.status_code == 200, response.text
    return str(response.json()["qr_payload"])


async def test_a_failed_payment_gives_the_places_back_and_tells_the_citizen(
    stack: LocalStack,
) -> None:
    correlation = f"journey-{uuid.uuid4()}"
    async with httpx.AsyncClient(timeout=30) as http:
        max_ = await login(stack, MAX, scope=TICKET_SCOPE)
        pool_type, pool_slot, before = await bookable_slot(http, stack, "Hallenbad")
        order = await place_order(http, stack, max_, MAX, [
            {"ticket_type_id": pool_type, "slot_id": pool_slot, "quantity": 2}], correlation)
        assert await slot_available(http, stack, "Hallenbad", pool_slot) == before - 2
        waiting = await order_when(http, stack, max_, order["order_id"],
                                   lambda o: o.get("checkout_url") is not None,
                                   "the checkout URL")
        declined = await checkout(waiting["checkout_url"], "decline")
        assert declined.status_code in (200, 303), declined.text

        cancelled = await order_when(http, stack, max_, order["order_id"],
                                     lambda o: o["status"] == "cancelled", "the cancellation")
        assert cancelled["reason"] == "payment_failed"
        assert await slot_available(http, stack, "Hallenbad", pool_slot) == before

        async def told() -> list[EmailMessage] | None:
            return mails_to(stack, MAX) or None

        [message] = await eventually(told, "the payment-failed e-mail")
        assert message["Subject"]
        assert not list(message.iter_attachments())
