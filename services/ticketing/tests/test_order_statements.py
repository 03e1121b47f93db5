"""How many SQL statements placing an order costs, and refusing one: counted, not timed, so a
test fails the day someone brings back a read of what is loaded already, a row-by-row insert
(an N+1) or an ORM flush of the order's object graph, whatever the machine's speed.

Counted are the statements the app sends through SQLAlchemy while the request runs (BEGIN and
COMMIT are no statements here). The budgets are the counts of today's code, so a change that
needs one more statement says so here on purpose.
"""

from __future__ import annotations

import uuid
from typing import Any

from city_shared.testing import executed_statements

#: A placed order of one slot: the Idempotency-Key's lock and lookup, the basket's catalogue,
#: the account's lock, its open orders and slot tickets, the order with lines and payment
#: items, the outbox, the slot's hold, the Idempotency-Key's record.
PLACED = ["pg_try_advisory_xact_lock", "FROM idempotency_keys", "FROM unnest",
          "pg_advisory_xact_lock", "'open_orders'", "INSERT INTO orders", "INSERT INTO outbox",
          "UPDATE slots", "INSERT INTO idempotency_keys"]


def line(ticket_type: uuid.UUID, slot: uuid.UUID, quantity: int = 1) -> dict[str, Any]:
    return {"ticket_type_id": str(ticket_type), "slot_id": str(slot), "quantity": quantity}


async def order(t: Any, *lines: dict[str, Any], buyer: uuid.UUID | None = None) -> Any:
    return await t.client.post("/orders", json={"lines": list(lines)}, headers={
        **t.citizen_headers(buyer or uuid.uuid4()), "Idempotency-Key": str(uuid.uuid4())})


def matches(sql: list[str], expected: list[str]) -> bool:
    return len(sql) == len(expected) and all(e in s for s, e in zip(sql, expected, strict=True))


async def test_a_placed_order_costs_nine_statements_and_a_bigger_basket_only_its_holds(
        ticketing: Any) -> None:
    demo = await ticketing.demo()
    await order(ticketing, line(demo.museum_adult, demo.exhibition_slot))  # warm the caches

    with executed_statements() as one:
        placed = await order(ticketing, line(demo.museum_adult, demo.exhibition_slot))
    assert placed.status_code == 201, placed.text
    with executed_statements() as three:
        bigger = await order(ticketing, line(demo.museum_adult, demo.exhibition_slot, 2),
                             line(demo.pool_adult, demo.pool_slot),
                             line(demo.pool_family, demo.pool_slot))
    assert bigger.status_code == 201, bigger.text

    print("--- one line", *one, "--- three lines, two slots", *three, sep="\n  ")
    assert matches(one, PLACED), one
    # Three lines over two slots: one more hold (the second slot), nothing per line.
    assert matches(three, [*PLACED[:8], "UPDATE slots", PLACED[8]]), three


async def test_a_refusal_of_a_full_slot_reads_the_catalogue_once_and_locks_nothing(
        ticketing: Any) -> None:
    demo = await ticketing.demo()
    slot = await ticketing.add_slot(demo.exhibition, starts_at=ticketing.next_weekday_at(
        12, days_ahead=2), capacity=1)
    assert (await order(ticketing, line(demo.museum_adult, slot))).status_code == 201

    with executed_statements() as seen:
        refused = await order(ticketing, line(demo.museum_adult, slot))

    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "sold_out"
    print(*seen, sep="\n  ")
    # The claim and the catalogue: the slot read full, refused before any lock or write (a
    # refusal keeps no Idempotency-Key record). test_sold_out_memory: the next one reads less.
    assert matches(seen, PLACED[:3]), seen
