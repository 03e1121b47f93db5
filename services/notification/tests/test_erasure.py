"""``account.erased``: inbox and contact data deleted, deliveries pseudonymised; twice is once."""

from __future__ import annotations

import uuid
from typing import Any

ERIKA = uuid.UUID("6f1c0c52-3f0e-4a55-9d0e-2b7c1f6b8a10")
MAX = uuid.UUID("0b7a4f7e-55e4-4c0c-9a57-3f3f0d1f2a21")


def erased(notify: Any, account_id: uuid.UUID) -> Any:
    return notify.event("city.identity.account.erased.v1", {
        "account_id": str(account_id), "tenant": notify.TENANT}, source="/identity",
        subject=str(account_id))


async def test_erasure_forgets_the_person_and_a_second_delivery_changes_nothing(
    notify: Any,
) -> None:
    erika_mail, max_mail = notify.new_address(), notify.new_address("max")
    await notify.handle(notify.event("city.identity.account.updated.v1", {
        "account_id": str(ERIKA), "tenant": notify.TENANT, "kind": "citizen",
        "changed": ["email_verified"], "email": erika_mail, "email_verified": True,
        "locale": "de"}, source="/identity", subject=str(ERIKA)))
    await notify.client.put("/preferences", json={"sms": False},
                            headers=notify.citizen_headers(ERIKA))
    sent = notify.order_event(account_id=ERIKA)
    await notify.handle(sent)
    await notify.deliver()
    pending = notify.order_event(notify.EXPIRED, account_id=ERIKA)
    await notify.handle(pending)
    await notify.handle(notify.order_event(account_id=MAX, email=max_mail))

    await notify.handle(erased(notify, ERIKA))
    assert (await notify.inbox(ERIKA)).json() == {"items": [], "unread_count": 0}
    assert await notify.scalar("SELECT count(*) FROM contacts WHERE account_id = :a",
                               a=ERIKA) == 0
    assert await notify.scalar("SELECT count(*) FROM preferences WHERE account_id = :a",
                               a=ERIKA) == 0
    assert await notify.scalar("SELECT count(*) FROM messages WHERE recipient_account_id = :a",
                               a=ERIKA) == 0
    erika_rows = (await notify.deliveries(sent.id)) + (await notify.deliveries(pending.id))
    assert all(d.address is None for d in erika_rows)
    assert {d.status for d in await notify.deliveries(sent.id)} == {"delivered"}
    assert {(d.status, d.reason) for d in await notify.deliveries(pending.id)} == {
        ("permanent_failure", "recipient_erased")}
    leftovers = await notify.rows("SELECT params::text AS p FROM messages")
    assert not any(erika_mail in r.p for r in leftovers)
    outbox_before = len(await notify.outbox())

    await notify.handle(erased(notify, ERIKA))
    assert len(await notify.outbox()) == outbox_before
    # Max is untouched, and Erika's pending e-mail is never sent.
    await notify.deliver()
    assert len(notify.mails_to(max_mail)) == 1
    assert len(notify.mails_to(erika_mail)) == 1  # only the one sent before the erasure
