"""Several delivery workers at once: ``FOR UPDATE SKIP LOCKED`` gives each delivery to one of
them, so every e-mail is sent exactly once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import text


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
