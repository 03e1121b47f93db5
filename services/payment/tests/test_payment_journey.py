"""Events a payment causes later (the provider's webhook, the pay page, expiry) stay in the
journey the payment was created in: same correlation id, same trace."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from payment_service.payments.expiry import expire_overdue
from payment_service.payments.service import now_utc

SUCCEEDED = "payment.succeeded"


def _trace_id(traceparent: str) -> str:
    return traceparent.split("-")[1]


async def test_a_webhook_answer_carries_the_creating_journey_not_the_webhooks(
    payments: Any,
) -> None:
    created = await payments.create(
        headers={**payments.client_headers(), "X-Correlation-ID": "journey-7f3c"})
    body = json.dumps(payments.notification(SUCCEEDED, created["provider_payment_id"])).encode()
    response = await payments.client.post(
        "/providers/sandbox/webhooks", content=body,
        headers={**payments.sign(body), "X-Correlation-ID": "webhook-123"},
    )
    assert response.status_code == 200

    rows = [r for r in await payments.outbox() if r.key == created["payment_id"]]
    assert [r.event_type for r in rows] == [
        "city.payment.payment.created.v1", "city.payment.payment.started.v1",
        "city.payment.payment.succeeded.v1"]
    assert {r.attributes["correlationid"] for r in rows} == {"journey-7f3c"}
    traces = {_trace_id(r.attributes["traceparent"]) for r in rows
              if r.attributes.get("traceparent")}
    assert len(traces) == 1, traces  # the webhook's own trace is linked, not continued


async def test_expiry_by_the_worker_stays_in_the_journey(payments: Any) -> None:
    created = await payments.create(
        headers={**payments.client_headers(), "X-Correlation-ID": "journey-expiry"})
    await expire_overdue(payments.sessions, now=now_utc() + timedelta(days=1))

    [expired] = await payments.outbox("city.payment.payment.expired.v1")
    assert expired.key == created["payment_id"]
    assert expired.attributes["correlationid"] == "journey-expiry"
