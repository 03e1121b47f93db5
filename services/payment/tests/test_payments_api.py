"""The payments API as a client uses it: create, get, list with filters and cursors, cancel,
history; the events each change writes to the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


async def test_create_returns_the_payment_with_state_pay_page_and_links(payments: Any) -> None:
    body = payments.body(reference="ticketing/order/1")
    response = await payments.client.post(
        "/payments", json=body,
        headers={**payments.client_headers(), "Idempotency-Key": "k-1"})

    assert response.status_code == 201, response.text
    created = response.json()
    pid = created["payment_id"]
    assert response.headers["location"] == f"{payments.BASE_URL}/payments/{pid}"
    assert created["state"] == {"status": "created", "finished": False, "reason": None}
    assert created["source"] == "ticketing"  # client ticketing-service acts for ticketing
    assert created["tenant"] == payments.TENANT
    assert (created["amount"], created["currency"]) == (1300, "EUR")
    assert [i["amount"] for i in created["line_items"]] == [800, 500]
    assert created["next_url"].startswith(f"{payments.BASE_URL}/sandbox/pay/sbx_")
    assert set(created["links"]) == {"self", "events", "next_url", "cancel"}
    assert created["links"]["cancel"] == {"href": f"{payments.BASE_URL}/payments/{pid}/cancel",
                                          "method": "POST"}
    expires = datetime.fromisoformat(created["expires_at"])
    made = datetime.fromisoformat(created["created_at"])
    assert expires - made == timedelta(minutes=90)

    [event] = await payments.outbox("city.payment.payment.created.v1")
    assert event.topic == "payment.payments"
    assert event.key == pid
    assert event.attributes["source"] == "/payment"
    assert event.attributes["subject"] == pid
    assert event.attributes["tenant"] == payments.TENANT
    assert "department" not in event.attributes  # two departments in one basket
    assert event.data["reference"] == "ticketing/order/1"
    assert event.data["next_url"] == created["next_url"]
    assert event.data["status"] == "created"
    assert "erika" not in str(event.data).lower()  # no personal data in events
    assert await payments.history(pid) == [("city.payment.payment.created.v1", "created", None)]


async def test_the_same_reference_returns_the_existing_payment_and_announces_nothing_new(
    payments: Any,
) -> None:
    body = payments.body(reference="ticketing/order/2")
    first = await payments.create(body)
    again = await payments.create(body, expect=200)  # another Idempotency-Key

    assert again["payment_id"] == first["payment_id"]
    assert await payments.scalar("SELECT count(*) FROM payments") == 1
    assert len(await payments.outbox("city.payment.payment.created.v1")) == 1


async def test_the_same_reference_with_other_terms_is_a_conflict(payments: Any) -> None:
    first = await payments.create(payments.body(reference="ticketing/order/3"))
    other = payments.body(reference="ticketing/order/3", amount=900,
                          line_items=[payments.line_item("museum", 900)])
    response = await payments.client.post(
        "/payments", json=other, headers={**payments.client_headers(), "Idempotency-Key": "x"})

    assert response.status_code == 409
    assert response.json()["code"] == "reference_conflict"
    assert response.json()["payment_id"] == first["payment_id"]
    assert await payments.scalar("SELECT count(*) FROM payments") == 1


async def test_another_source_may_use_the_same_reference(payments: Any) -> None:
    body = payments.body(reference="order/4")
    ticketing = await payments.create(body)
    case = await payments.create(body, headers=payments.client_headers(client_id="case-service"))

    assert ticketing["payment_id"] != case["payment_id"]
    assert (ticketing["source"], case["source"]) == ("ticketing", "case")


async def test_line_items_must_add_up_to_the_amount(payments: Any) -> None:
    body = payments.body(amount=1400)
    response = await payments.client.post(
        "/payments", json=body, headers={**payments.client_headers(), "Idempotency-Key": "m"})

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "line_items_mismatch"
    assert (problem["amount"], problem["line_items_total"]) == (1400, 1300)
    assert await payments.scalar("SELECT count(*) FROM payments") == 0
    assert await payments.outbox() == []


async def test_create_requires_an_idempotency_key(payments: Any) -> None:
    response = await payments.client.post("/payments", json=payments.body(),
                                          headers=payments.client_headers())
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_required"
    assert await payments.scalar("SELECT count(*) FROM payments") == 0


async def test_get_returns_the_payment_with_its_version_as_etag(payments: Any) -> None:
    created = await payments.create()
    response = await payments.get(created["payment_id"])

    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    assert response.json() == created
    assert response.json()["payer"] == {"account_id": str(payments.ERIKA),
                                        "email": "erika@example.org", "name": "Erika Mustermann"}


async def test_list_pages_through_every_payment_newest_first_with_an_opaque_cursor(
    payments: Any,
) -> None:
    made = [(await payments.create())["payment_id"] for _ in range(5)]
    seen: list[str] = []
    url = "/payments?limit=2"
    pages = 0
    while url:
        response = await payments.client.get(url, headers=payments.client_headers())
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [p["payment_id"] for p in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            assert "next" not in page["links"]
            break
        assert page["links"]["next"]["href"].startswith(f"{payments.BASE_URL}/payments?")
        url = f"/payments?limit=2&cursor={cursor}"
    assert pages == 3
    assert seen == list(reversed(made))


async def test_list_filters_by_status_reference_department_and_creation_time(
    payments: Any,
) -> None:
    pools_only = await payments.create(payments.body(
        amount=450, line_items=[payments.line_item("pools", 450)]))
    mixed = await payments.create(payments.body(reference="ticketing/order/mixed"))
    cancelled = await payments.create()
    await payments.client.post(f"/payments/{cancelled['payment_id']}/cancel",
                               headers=payments.client_headers())

    async def ids(query: str) -> set[str]:
        response = await payments.client.get(f"/payments?{query}",
                                             headers=payments.client_headers())
        assert response.status_code == 200, response.text
        return {p["payment_id"] for p in response.json()["items"]}

    assert await ids("status=cancelled") == {cancelled["payment_id"]}
    assert await ids("reference=ticketing/order/mixed") == {mixed["payment_id"]}
    assert await ids("department=pools") == {pools_only["payment_id"], mixed["payment_id"],
                                             cancelled["payment_id"]}
    assert await ids("department=museum&status=created") == {mixed["payment_id"]}
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    from_past = await ids(f"created_from={past.replace('+', '%2B')}")
    assert len(from_past) == 3
    assert await ids(f"created_from={future.replace('+', '%2B')}") == set()
    assert await ids(f"created_to={past.replace('+', '%2B')}") == set()


async def test_a_forged_cursor_is_rejected(payments: Any) -> None:
    for cursor in ("not-a-cursor", "AAAA", "x" * 150, "bm90fGE"):
        response = await payments.client.get(f"/payments?cursor={cursor}",
                                             headers=payments.client_headers())
        assert response.status_code == 422, cursor
        assert response.json()["code"] in ("invalid_cursor", "validation_error")


async def test_cancel_closes_an_open_payment_once(payments: Any) -> None:
    created = await payments.create()
    pid = created["payment_id"]
    url = f"/payments/{pid}/cancel"

    response = await payments.client.post(url, headers=payments.client_headers())
    assert response.status_code == 200, response.text
    assert response.json()["state"] == {"status": "cancelled", "finished": True,
                                        "reason": "cancelled_by_service"}
    assert response.json()["next_url"] is None
    assert "cancel" not in response.json()["links"]
    again = await payments.client.post(url, headers=payments.client_headers())
    assert again.status_code == 200
    assert again.json()["state"]["status"] == "cancelled"

    assert await payments.events_of(pid) == ["city.payment.payment.created.v1",
                                              "city.payment.payment.cancelled.v1"]
    assert (await payments.row(pid)).version == 2


async def test_a_paid_payment_cannot_be_cancelled(payments: Any) -> None:
    created = await payments.create()
    provider_id = created["provider_payment_id"]
    ok = await payments.send_webhook(payments.notification("payment.succeeded", provider_id))
    assert ok.json() == {"status": "processed"}

    response = await payments.client.post(f"/payments/{created['payment_id']}/cancel",
                                          headers=payments.client_headers())
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert response.json()["current_status"] == "succeeded"


async def test_history_lists_every_change_oldest_first(payments: Any) -> None:
    created = await payments.create()
    await payments.send_webhook(payments.notification("payment.succeeded",
                                                      created["provider_payment_id"]))
    response = await payments.client.get(f"/payments/{created['payment_id']}/events",
                                         headers=payments.client_headers())

    assert response.status_code == 200
    history = response.json()
    assert history["payment_id"] == created["payment_id"]
    assert [(e["type"], e["status"]) for e in history["events"]] == [
        ("city.payment.payment.created.v1", "created"),
        ("city.payment.payment.started.v1", "started"),
        ("city.payment.payment.succeeded.v1", "succeeded"),
    ]
    [succeeded] = await payments.outbox("city.payment.payment.succeeded.v1")
    assert succeeded.data["line_items"] == [
        {"department": "museum", "cost_centre": "MUS-4100", "amount": 800},
        {"department": "pools", "cost_centre": "BAD-5700", "amount": 500},
    ]
    assert succeeded.data["reference"] == created["reference"]


async def test_a_single_department_payment_carries_the_department_extension(
    payments: Any,
) -> None:
    await payments.create(payments.body(amount=800, line_items=[payments.line_item()]))
    [event] = await payments.outbox("city.payment.payment.created.v1")
    assert event.attributes["department"] == "museum"


async def test_openapi_documents_the_api_with_examples(payments: Any) -> None:
    spec = (await payments.client.get("/openapi.json")).json()
    assert {"/payments", "/payments/{payment_id}", "/payments/{payment_id}/cancel",
            "/payments/{payment_id}/events", "/providers/sandbox/webhooks"} <= set(spec["paths"])
    create = spec["components"]["schemas"]["PaymentCreate"]
    assert create["examples"][0]["line_items"][0]["cost_centre"] == "MUS-4100"
    assert "Idempotency-Key" in str(spec["paths"]["/payments"]["post"]["parameters"])
