"""The baseline of the availability benchmark: a bare Starlette endpoint answering
``GET /public/{tenant}/offerings/{offering_id}/availability?from=&to=`` with the two queries
ticketing's :func:`ticketing_service.catalogue.availability.availability_of` runs (the same SQL
text as SQLAlchemy sends it, through an asyncpg pool) and the same numbers in the same JSON
shape, with no validation, ORM, pydantic, middleware or ``ETag``.
Run as ``python -m bench.availability_baseline --port P --dsn DSN [--workers N]``; each uvicorn
worker builds its app with :func:`app_from_env` (``BENCH_BASELINE_DSN``,
``BENCH_BASELINE_POOL_SIZE``).
"""

from __future__ import annotations

import argparse
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DSN_ENV = "BENCH_BASELINE_DSN"
POOL_SIZE_ENV = "BENCH_BASELINE_POOL_SIZE"

#: The offering with its active ticket types and their quotas (as SQLAlchemy renders it).
HEAD = (
    "SELECT offerings.kind, offerings.sales_start_at, offerings.sales_end_at, "
    "offerings.sales_close_minutes_before, venues.timezone, ticket_types.id, ticket_types.code, "
    "ticket_types.places, ticket_types.quota_id, quotas.capacity \n"
    "FROM offerings JOIN venues ON venues.id = offerings.venue_id LEFT OUTER JOIN ticket_types "
    "ON ticket_types.offering_id = offerings.id AND ticket_types.active LEFT OUTER JOIN quotas "
    "ON quotas.id = ticket_types.quota_id \n"
    "WHERE offerings.id = $1::UUID AND offerings.tenant = $2::VARCHAR AND offerings.status = "
    "$3::VARCHAR ORDER BY ticket_types.position, ticket_types.code"
)
#: The slots of the range with their quota usage.
SLOTS = (
    "SELECT slots.id, slots.starts_at, slots.ends_at, slots.capacity, slots.held, slots.sold, "
    "slots.status, array_agg(slot_quota_usage.quota_id) FILTER (WHERE slot_quota_usage.quota_id "
    "IS NOT NULL) AS anon_1, array_agg(slot_quota_usage.held + slot_quota_usage.sold) FILTER "
    "(WHERE slot_quota_usage.quota_id IS NOT NULL) AS anon_2 \n"
    "FROM slots LEFT OUTER JOIN slot_quota_usage ON slot_quota_usage.slot_id = slots.id \n"
    "WHERE slots.offering_id = $1::UUID AND slots.starts_at >= $2::TIMESTAMP WITH TIME ZONE "
    "AND slots.starts_at < $3::TIMESTAMP WITH TIME ZONE AND slots.status IN ($4::VARCHAR, "
    "$5::VARCHAR) GROUP BY slots.id ORDER BY slots.starts_at"
)


def _status(available: int, capacity: int, best: int | None, on_sale: bool) -> str:
    if not on_sale:
        return "closed"
    if available <= 0 or best == 0:
        return "sold_out"
    return "few_left" if available * 5 <= capacity else "available"


async def availability(conn: asyncpg.Connection, tenant: str, offering_id: uuid.UUID,
                       first: date, last: date) -> dict[str, Any] | None:
    rows = await conn.fetch(HEAD, offering_id, tenant, "published")
    if not rows:
        return None
    kind, sales_start, sales_end, close_minutes, timezone = tuple(rows[0])[:5]
    types = [tuple(r)[5:] for r in rows if r[5] is not None]
    now = datetime.now(UTC)
    sales_open = (sales_start is None or sales_start <= now) and (
        sales_end is None or now < sales_end)
    result: dict[str, Any] = {"offering_id": str(offering_id), "from": first.isoformat(),
                              "to": last.isoformat(), "timezone": timezone,
                              "sales_open": sales_open, "slots": []}
    if kind != "timed":
        return result
    zone = ZoneInfo(timezone)
    start = datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    close_before = timedelta(minutes=close_minutes)
    for slot_id, starts_at, ends_at, capacity, held, sold, status, quota_ids, quota_used in \
            await conn.fetch(SLOTS, offering_id, start, end, "open", "closed"):
        available = max(0, capacity - held - sold)
        usage = dict(zip(quota_ids or [], quota_used or [], strict=True))
        per_type = []
        for type_id, code, places, quota_id, quota_capacity in types:
            left = available
            if quota_id is not None and quota_capacity is not None:
                left = min(left, max(0, quota_capacity - usage.get(quota_id, 0)))
            per_type.append({"ticket_type_id": str(type_id), "code": code, "available": left,
                             "tickets": left // places})
        on_sale = sales_open and status == "open" and now < starts_at - close_before
        best = max((t["tickets"] for t in per_type), default=None)
        result["slots"].append({
            "slot_id": str(slot_id), "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(), "available": available,
            "status": _status(available, capacity, best, on_sale), "ticket_types": per_type})
    return result


def build_app(dsn: str, pool_size: int) -> Starlette:
    pool: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool["db"] = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
        yield
        await pool["db"].close()

    async def read(request: Request) -> Response:
        params = request.path_params
        async with pool["db"].acquire() as conn:
            body = await availability(
                conn, params["tenant"], uuid.UUID(params["offering_id"]),
                date.fromisoformat(request.query_params["from"]),
                date.fromisoformat(request.query_params["to"]))
        if body is None:
            return JSONResponse({"code": "not_found"}, status_code=404)
        return Response(json.dumps(body), media_type="application/json",
                        headers={"Cache-Control": "public, max-age=5"})

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[
        Route("/public/{tenant}/offerings/{offering_id}/availability", read),
        Route("/healthz", healthz)], lifespan=lifespan)


def app_from_env() -> Starlette:
    """The app of one uvicorn worker (an import string factory, as ``workers`` needs)."""
    return build_app(os.environ[DSN_ENV], int(os.environ.get(POOL_SIZE_ENV, "10")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--pool-size", type=int, default=10, help="per process")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn processes")
    args = parser.parse_args()
    os.environ[DSN_ENV] = args.dsn
    os.environ[POOL_SIZE_ENV] = str(args.pool_size)
    uvicorn.run("bench.availability_baseline:app_from_env", factory=True,
                workers=args.workers, host="127.0.0.1", port=args.port, access_log=False,
                log_level="warning", timeout_worker_healthcheck=60)


if __name__ == "__main__":
    main()
