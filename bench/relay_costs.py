"""Per-record CPU cost of what the relay and the consumer do in Python, without any I/O.

The relay's whole per-row work is measured by running the real ``OutboxRelay._publish`` on
rows shaped like its query's (attributes JSON, data as ``jsonb::text``) with a producer whose
``send`` only returns a finished future, so it follows the code as it changes. The parts that are
public functions are then timed alone (parse the attributes, build the record with the
CloudEvents SDK, count the metric) and the rest is the difference; the consumer's parsing
(``from_kafka``) is timed too. Each figure is the best of three passes, the one least disturbed
by other work on the machine.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any, cast

from aiokafka import AIOKafkaProducer

from bench.workload import outbox_row
from city_shared.envelope import Event, from_kafka, stored_to_kafka, to_kafka
from city_shared.metrics import OUTBOX_PUBLISHED
from city_shared.relay import DEFAULT_BATCH_SIZE, OutboxRelay, RelayConfig

_TOPIC = "bench.costs"
_PUBLISH = "relay: OutboxRelay._publish per row, send() stubbed"


class _NullProducer:
    """Accepts records and acknowledges them at once (no network)."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()

    async def send(self, topic: str, **_: object) -> asyncio.Future[None]:
        future: asyncio.Future[None] = self._loop.create_future()
        future.set_result(None)
        return future


def _best_us(items: int, step: Callable[[], None], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - started)
    return best / items * 1e6


async def _publish_us(rows: list[dict[str, Any]], batch_size: int = DEFAULT_BATCH_SIZE) -> float:
    relay = OutboxRelay(RelayConfig(service="bench-costs", dsn="", kafka=""))
    producer = cast(AIOKafkaProducer, _NullProducer())
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for start in range(0, len(rows), batch_size):
            await relay._publish(producer, rows[start:start + batch_size])
        best = min(best, time.perf_counter() - started)
    return best / len(rows) * 1e6


async def per_record_costs(events: list[Event]) -> dict[str, float]:
    """Microseconds per record: the relay's whole per-row work, then its parts."""
    rows: list[dict[str, Any]] = [
        {"id": index, "topic": _TOPIC, "key": row["key"],
         "attributes": json.dumps(row["attributes"]), "data": json.dumps(row["data"])}
        for index, row in enumerate(outbox_row(_TOPIC, event) for event in events)
    ]
    n = len(rows)
    costs = {_PUBLISH: await _publish_us(rows)}
    attributes = [json.loads(row["attributes"]) for row in rows]

    def parse() -> None:
        for row in rows:
            json.loads(row["attributes"])

    def records() -> None:
        for attrs, row in zip(attributes, rows, strict=True):
            list(stored_to_kafka(attrs, row["data"]).headers.items())

    def metric() -> None:
        for _ in rows:
            OUTBOX_PUBLISHED.labels("bench-costs", _TOPIC).inc()

    costs["  part: json.loads(attributes)"] = _best_us(n, parse)
    costs["  part: stored_to_kafka (CloudEvents SDK)"] = _best_us(n, records)
    costs["  part: metric counter .labels().inc()"] = _best_us(n, metric)
    parts = sum(value for name, value in costs.items() if name.startswith("  part"))
    costs["  rest: span, send() call, gather, loop"] = max(costs[_PUBLISH] - parts, 0.0)
    encoded = []
    for event in events:
        message = to_kafka(event)
        assert isinstance(message.value, bytes)
        encoded.append((list(message.headers.items()), event.subject.encode(), message.value))

    def consume_parse() -> None:
        for headers, key, value in encoded:
            from_kafka(headers, key, value)

    costs["consumer: from_kafka (CloudEvents SDK + validate)"] = _best_us(n, consume_parse)
    return costs
