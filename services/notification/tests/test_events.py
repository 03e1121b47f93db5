"""Events that reach citizens through rules: e-mail with QR codes at the real SMTP server, the
inbox, read receipts, exactly one message per event, and the events notification publishes."""

from __future__ import annotations

import json
import uuid
from typing import Any

from city_shared.unit_of_work import unit_of_work

ERIKA = uuid.UUID("6f1c0c52-3f0e-4a55-9d0e-2b7c1f6b8a10")
MAX = uuid.UUID("0b7a4f7e-55e4-4c0c-9a57-3f3f0d1f2a21")


async def test_an_order_confirmation_arrives_by_email_with_qr_codes_and_in_the_inbox(
    notify: Any,
) -> None:
    address = notify.new_address()
    tickets = [notify.ticket("MUS-AAA111"), notify.ticket("MUS-BBB222", starts_at=None)]
    event = notify.order_event(account_id=ERIKA, email=address, tickets=tickets)
    await notify.handle(event)
    created = await notify.deliveries(event.id)
    assert [(d.channel, d.status) for d in created] == [("email", "created"),
                                                         ("inbox", "created")]
    assert all(d.template_version == 1 for d in created)
    assert await notify.deliver() == {"delivered": 2}

    [mail] = notify.mails_to(address)
    assert mail["Subject"] == "Ihre Tickets"
    email_delivery = next(d for d in created if d.channel == "email")
    domain = notify.settings.message_id_domain
    assert mail["Message-ID"].strip() == f"<{email_delivery.id}@{domain}>"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Dauerausstellung, Erwachsene, 12.03.2026, 10:30: Ticket-Code MUS-AAA111" in text
    assert "Ticket-Code MUS-BBB222" in text
    assert "Gesamtbetrag: 13,00 €" in text
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert 'src="cid:qr-MUS-AAA111"' in html
    attachments = {part.get_filename(): part.get_content() for part in mail.iter_attachments()}
    assert set(attachments) == {"ticket-MUS-AAA111.png", "ticket-MUS-BBB222.png"}
    assert all(content.startswith(b"\x89PNG") for content in attachments.values())

    inbox = await notify.inbox(ERIKA)
    assert inbox.status_code == 200
    [message] = inbox.json()["items"]
    assert message["title"] == "Ihre Tickets"
    assert "MUS-AAA111" in message["body"]
    assert inbox.json()["unread_count"] == 1
    # Max sees nothing; staff and clients have no inbox.
    assert (await notify.inbox(MAX)).json() == {"items": [], "unread_count": 0}
    assert (await notify.client.get("/inbox", headers=notify.admin_headers())).status_code == 403
    # Read receipt: once set, it stays; another citizen cannot mark it.
    other = await notify.client.post(f"/inbox/{message['message_id']}/read",
                                     headers=notify.citizen_headers(MAX))
    assert other.status_code == 404
    read = await notify.client.post(f"/inbox/{message['message_id']}/read",
                                    headers=notify.citizen_headers(ERIKA))
    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    again = await notify.client.post(f"/inbox/{message['message_id']}/read",
                                     headers=notify.citizen_headers(ERIKA))
    assert again.json()["read_at"] == read.json()["read_at"]
    count = await notify.client.get("/inbox/unread-count", headers=notify.citizen_headers(ERIKA))
    assert count.json() == {"unread_count": 0}
    # Erika of the other tenant is another person: nothing there.
    assert (await notify.inbox(ERIKA, notify.OTHER_TENANT)).json()["items"] == []


async def test_an_event_delivered_twice_sends_one_email(notify: Any) -> None:
    address = notify.new_address()
    event = notify.order_event(account_id=ERIKA, email=address)
    await notify.handle(event)
    await notify.handle(event)
    await notify.deliver()
    await notify.handle(event)
    await notify.deliver()
    assert len(notify.mails_to(address)) == 1
    assert len(await notify.deliveries(event.id)) == 2
    assert len((await notify.inbox(ERIKA)).json()["items"]) == 1


async def test_english_locale_and_contact_directory_fill_in_what_the_event_lacks(
    notify: Any,
) -> None:
    address = notify.new_address("max")
    verified = notify.event("city.identity.account.updated.v1", {
        "account_id": str(MAX), "tenant": notify.TENANT, "kind": "citizen",
        "changed": ["email_verified"], "email": address, "email_verified": True,
        "locale": "en"}, source="/identity", subject=str(MAX))
    await notify.handle(verified)
    event = notify.order_event(notify.CANCELLED, account_id=MAX, locale=None,
                               reason="payment_failed")
    await notify.handle(event)
    await notify.deliver()
    [mail] = notify.mails_to(address)
    assert mail["Subject"] == "Your order was cancelled"
    assert "€13.00 could not be completed: the payment failed" in mail.get_content()
    # A later change of address is used for the next message once it is verified.
    changed = notify.new_address("max-new")
    await notify.handle(notify.event("city.identity.account.updated.v1", {
        "account_id": str(MAX), "tenant": notify.TENANT, "kind": "citizen",
        "changed": ["email"], "email": changed, "email_verified": True, "locale": "en"},
        source="/identity", subject=str(MAX)))
    await notify.handle(notify.order_event(notify.EXPIRED, account_id=MAX, locale=None))
    await notify.deliver()
    assert [m["Subject"] for m in notify.mails_to(changed)] == ["Your order has expired"]


async def test_an_unverified_address_in_the_directory_gets_no_order_mail(notify: Any) -> None:
    """Someone registers with a stranger's address and buys tickets: the stranger gets
    nothing; the buyer still finds the message in the inbox."""
    stranger = notify.new_address("stranger")
    await notify.handle(notify.event("city.identity.account.registered.v1", {
        "account_id": str(MAX), "tenant": notify.TENANT, "kind": "citizen", "email": stranger,
        "locale": "en"}, source="/identity", subject=str(MAX)))
    event = notify.order_event(account_id=MAX, locale=None)
    await notify.handle(event)
    await notify.deliver()
    assert notify.mails_to(stranger) == []
    statuses = {(d.channel, d.status, d.reason) for d in await notify.deliveries(event.id)}
    assert ("email", "permanent_failure", "no_address") in statuses
    assert len((await notify.inbox(MAX)).json()["items"]) == 1


async def test_the_department_rule_wins_and_no_rule_sends_nothing(notify: Any) -> None:
    admin = notify.admin_headers()
    template = await notify.client.post("/templates", headers=admin, json={
        "key": "pools-confirmed", "department": "pools", "variables": ["order_id"],
        "content": {"de": {"inbox": {"title": "Bad gebucht", "body": "Bis bald!"}}}})
    assert template.status_code == 201, template.text
    rule = await notify.client.post("/rules", headers=admin, json={
        "event_type": notify.CONFIRMED, "department": "pools",
        "template_key": "pools-confirmed", "channels": ["inbox"]})
    assert rule.status_code == 201, rule.text
    pools = notify.order_event(account_id=ERIKA, email=notify.new_address(),
                               department="pools")
    await notify.handle(pools)
    assert [(d.channel, d.status) for d in await notify.deliveries(pools.id)] == [
        ("inbox", "created")]
    await notify.deliver()
    titles = [m["title"] for m in (await notify.inbox(ERIKA)).json()["items"]]
    assert titles == ["Bad gebucht"]
    # A tenant with no rule for the type: nothing, and no error.
    unruled = notify.event("city.ticketing.order.placed.v1",
                           {"recipient": {"account_id": str(ERIKA)}})
    async with unit_of_work(notify.sessions) as session:
        await notify.handler(notify.CONFIRMED)(session, unruled)
    await notify.handle(notify.order_event(account_id=ERIKA, tenant="elsewhere"))
    assert len(await notify.deliveries()) == 1


async def test_delivery_events_carry_no_personal_data(notify: Any) -> None:
    address = notify.new_address()
    event = notify.order_event(account_id=ERIKA, email=address)
    await notify.handle(event)
    await notify.deliver()
    rows = await notify.outbox()
    assert [r.event_type for r in rows].count("city.notification.delivery.created.v1") == 2
    assert [r.event_type for r in rows].count("city.notification.delivery.delivered.v1") == 2
    for row in rows:
        assert row.topic == "notification.deliveries"
        assert row.attributes["source"] == "/notification"
        assert row.attributes["department"] == "museum"
        dumped = json.dumps(row.data)
        assert address not in dumped
        assert "Dauerausstellung" not in dumped
        assert "qr_payload" not in dumped
    caused = [r for r in rows if r.event_type.endswith("created.v1")]
    assert all(r.attributes["causationid"] == str(event.id) for r in caused)


async def test_a_template_that_cannot_render_with_the_event_fails_the_delivery(
    notify: Any,
) -> None:
    event = notify.order_event(account_id=ERIKA, email=notify.new_address())
    del event.data["tickets"]  # the confirmation template requires them
    await notify.handle(event)
    assert {(d.status, d.reason) for d in await notify.deliveries(event.id)} == {
        ("permanent_failure", "missing_personalisation")}
    assert len(await notify.outbox("city.notification.delivery.failed.v1")) == 2


async def test_a_recipient_without_account_gets_email_but_no_inbox(notify: Any) -> None:
    address = notify.new_address("guest")
    event = notify.order_event(account_id=ERIKA, email=address)
    event.data["recipient"]["account_id"] = None  # as ticketing sends it for a guest
    await notify.handle(event)
    assert {(d.channel, d.status, d.reason) for d in await notify.deliveries(event.id)} == {
        ("email", "created", None), ("inbox", "permanent_failure", "no_account")}
    await notify.deliver()
    assert len(notify.mails_to(address)) == 1
