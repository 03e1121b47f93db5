"""No double charge under real concurrency: many clients sending the same create at once get
one payment, whether they share the Idempotency-Key or only the reference."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

CLIENTS = 20


async def _post_all(payments: Any, bodies: list[dict[str, Any]], keys: list[str]) -> list[Any]:
    headers = payments.client_headers()
    start = asyncio.Event()

    async def one(body: dict[str, Any], key: str) -> Any:
        await start.wait()
        return await payments.client.post("/payments", json=body,
                                          headers={**headers, "Idempotency-Key": key})

    tasks = [asyncio.create_task(one(b, k)) for b, k in zip(bodies, keys, strict=True)]
    await asyncio.sleep(0)
    start.set()
    return list(await asyncio.gather(*tasks))


async def test_the_same_idempotency_key_from_many_clients_creates_one_payment(
    payments_app: Any,
) -> None:
    async with payments_app(database_pool_size=30) as payments:
        body = payments.body(reference="ticketing/order/same-key")
        responses = await _post_all(payments, [body] * CLIENTS, ["same-key"] * CLIENTS)

        statuses = sorted(r.status_code for r in responses)
        assert set(statuses) <= {201, 409}, [r.text for r in responses]
        originals = [r for r in responses
                     if r.status_code == 201 and "idempotent-replayed" not in r.headers]
        assert len(originals) == 1
        for busy in (r for r in responses if r.status_code == 409):
            assert busy.json()["code"] == "idempotency_key_in_flight"
        ids = {r.json()["payment_id"] for r in responses if r.status_code == 201}
        assert len(ids) == 1
        assert await payments.scalar("SELECT count(*) FROM payments") == 1
        assert len(await payments.outbox("city.payment.payment.created.v1")) == 1

        # A retry after the dust settled replays the first answer byte for byte.
        retry = await payments.client.post(
            "/payments", json=body,
            headers={**payments.client_headers(), "Idempotency-Key": "same-key"})
        assert retry.status_code == 201
        assert retry.headers["idempotent-replayed"] == "true"
        assert retry.content == originals[0].content


async def test_many_clients_with_their_own_keys_and_one_reference_get_one_payment(
    payments_app: Any,
) -> None:
    async with payments_app(database_pool_size=30) as payments:
        body = payments.body(reference="ticketing/order/same-reference")
        keys = [str(uuid.uuid4()) for _ in range(CLIENTS)]
        responses = await _post_all(payments, [body] * CLIENTS, keys)

        assert sorted(r.status_code for r in responses) == [200] * (CLIENTS - 1) + [201]
        assert len({r.json()["payment_id"] for r in responses}) == 1
        assert await payments.scalar("SELECT count(*) FROM payments") == 1
        assert len(await payments.outbox("city.payment.payment.created.v1")) == 1


async def test_negative_control_distinct_references_do_create_one_payment_each(
    payments_app: Any,
) -> None:
    """The same run with distinct references yields one payment per client: the counting
    above would see every duplicate if the reference did not hold them together."""
    async with payments_app(database_pool_size=30) as payments:
        bodies = [payments.body(reference=f"ticketing/order/n-{i}") for i in range(CLIENTS)]
        responses = await _post_all(payments, bodies, [str(uuid.uuid4()) for _ in bodies])

        assert [r.status_code for r in responses] == [201] * CLIENTS
        assert await payments.scalar("SELECT count(*) FROM payments") == CLIENTS
        assert len(await payments.outbox("city.payment.payment.created.v1")) == CLIENTS


async def test_the_same_key_with_another_body_is_rejected(payments: Any) -> None:
    first = await payments.create(payments.body(reference="ticketing/order/k"), key="key-7")
    other = payments.body(reference="ticketing/order/other")
    response = await payments.client.post(
        "/payments", json=other, headers={**payments.client_headers(), "Idempotency-Key": "key-7"})

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_mismatch"
    assert await payments.scalar("SELECT count(*) FROM payments") == 1
    assert (await payments.get(first["payment_id"])).status_code == 200
