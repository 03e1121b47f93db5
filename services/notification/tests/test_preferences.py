"""Contact preferences: a citizen opts out of a channel; legally required messages ignore it."""

from __future__ import annotations

import uuid
from typing import Any

ERIKA = uuid.UUID("6f1c0c52-3f0e-4a55-9d0e-2b7c1f6b8a10")


def verification_request(notify: Any, address: str, *, legally_required: bool = True) -> Any:
    """The command exactly as identity sends it."""
    return notify.event(notify.REQUEST, {
        "request_id": str(uuid.uuid4()), "tenant": notify.TENANT,
        "recipient": {"account_id": str(ERIKA), "email": address},
        "template": "account-email-verification", "locale": "de",
        "params": {"verification_url": "https://id.example/verify/abc"},
        "legally_required": legally_required,
    }, source="/identity", subject=str(ERIKA))


async def test_a_citizen_reads_and_changes_only_their_own_preferences(notify: Any) -> None:
    erika = notify.citizen_headers(ERIKA)
    assert (await notify.client.get("/preferences", headers=erika)).json() == {
        "email": True, "sms": True, "inbox": True}
    changed = await notify.client.put("/preferences", json={"email": False}, headers=erika)
    assert changed.json() == {"email": False, "sms": True, "inbox": True}
    again = await notify.client.put("/preferences", json={"sms": False}, headers=erika)
    assert again.json() == {"email": False, "sms": False, "inbox": True}
    other = notify.citizen_headers(uuid.uuid4())
    assert (await notify.client.get("/preferences", headers=other)).json()["email"] is True
    assert (await notify.client.get("/preferences",
                                    headers=notify.admin_headers())).status_code == 403
    assert (await notify.client.put("/preferences", json={"email": "maybe"},
                                    headers=erika)).status_code == 422


async def test_an_opted_out_channel_is_skipped_and_legally_required_mail_is_sent_anyway(
    notify: Any,
) -> None:
    await notify.client.put("/preferences", json={"email": False},
                            headers=notify.citizen_headers(ERIKA))
    address = notify.new_address()
    event = notify.order_event(account_id=ERIKA, email=address)
    await notify.handle(event)
    assert {(d.channel, d.status, d.reason) for d in await notify.deliveries(event.id)} == {
        ("email", "skipped_opted_out", "opted_out"), ("inbox", "created", None)}
    await notify.deliver()
    assert notify.mails_to(address) == []
    assert len((await notify.inbox(ERIKA)).json()["items"]) == 1

    not_required = verification_request(notify, address, legally_required=False)
    await notify.handle(not_required)
    await notify.deliver()
    assert notify.mails_to(address) == []
    required = verification_request(notify, address)
    await notify.handle(required)
    await notify.deliver()
    [mail] = notify.mails_to(address)
    assert mail["Subject"] == "Bitte bestätigen Sie Ihre E-Mail-Adresse"
    assert "https://id.example/verify/abc" in mail.get_content()
