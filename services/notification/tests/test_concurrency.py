"""Several delivery workers at once: ``FOR UPDATE SKIP LOCKED`` gives each delivery to one of
them, so every e-mail is sent exactly once. A rule saved while its template is deleted: one of
the two is refused, never a rule left pointing at nothing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import text

from notification_service.rules import usage
from notification_service.rules.models import Rule


async def test_concurrent_delivery_workers_send_each_email_once(notify_app: Any) -> None:
    async with notify_app(delivery_batch_size=3) as notify:
        addresses = [notify.new_address(f"p{i}") for i in range(12)]
        for address in addresses:
            await notify.handle(notify.order_event(account_id=uuid.uuid4(), email=address,
                                                   tickets=[notify.ticket()]))

        async def worker() -> int:
            delivered = 0
            while counts := await notify.deliver():
                delivered += counts.get("delivered", 0)
            return delivered

        results = await asyncio.gather(*(worker() for _ in range(4)))
        assert sum(results) == 24
        assert sum(1 for r in results if r) >= 2, "the workers did not overlap"
        assert [len(notify.mails_to(a)) for a in addresses] == [1] * 12


async def test_negative_control_without_the_claim_mails_are_sent_twice(notify: Any) -> None:
    """Shows the test above can fail: resetting claimed deliveries to ``created`` (as a claim
    without ``sending`` and a lease would leave them) makes a second round send again."""
    address = notify.new_address()
    await notify.handle(notify.order_event(account_id=uuid.uuid4(), email=address))
    await notify.deliver()
    async with notify.engine.begin() as conn:
        await conn.execute(text("UPDATE deliveries SET status = 'created', "
                                "next_attempt_at = now() - interval '1 s'"))
    await notify.deliver()
    assert len(notify.mails_to(address)) == 2


async def _rule_saved_while_template_deleted(notify: Any, *, check: bool) -> Any:
    """A rule for ``permit-decided`` is saved (checked, or with ``check`` false inserted as the
    old code did) in an open transaction; the template is deleted through the API meanwhile;
    then the rule's transaction commits. Returns the delete's response."""
    created = await notify.client.post("/templates", headers=notify.admin_headers(), json={
        "key": "permit-decided", "variables": ["case_name"],
        "content": {"de": {"email": {"subject": "Bescheid", "text": "{{ case_name }}"}}}})
    template_id = created.json()["template_id"]
    async with notify.sessions() as session:
        if check:
            await usage.check_rule(session, notify.TENANT, None, "city.case.case.status_changed.v1",
                                   "permit-decided", ["email"])
        session.add(Rule(id=uuid.uuid4(), tenant=notify.TENANT, department=None,
                         event_type="city.case.case.status_changed.v1",
                         template_key="permit-decided", channels=["email"]))
        await session.flush()
        delete = asyncio.create_task(notify.client.delete(f"/templates/{template_id}",
                                                          headers=notify.admin_headers()))
        while not delete.done():  # until the delete waits for the rule's lock, or is done
            waiting = await notify.scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE 'SELECT templates.%FOR UPDATE'")
            if waiting:
                break
            await asyncio.sleep(0.01)
        await session.commit()
    return await delete


async def test_a_template_deleted_while_a_rule_is_saved_is_refused(notify: Any) -> None:
    response = await _rule_saved_while_template_deleted(notify, check=True)
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "template_in_use"


async def test_negative_control_without_the_rules_share_lock_the_template_is_deleted(
    notify: Any,
) -> None:
    response = await _rule_saved_while_template_deleted(notify, check=False)
    assert response.status_code == 204
    assert await notify.scalar("SELECT count(*) FROM templates WHERE key = 'permit-decided'") == 0
    assert await notify.scalar("SELECT count(*) FROM rules WHERE template_key = "
                               "'permit-decided'") == 1
