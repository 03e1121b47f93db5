"""The baseline of the order benchmark: a bare HTTP endpoint doing only the capacity-reserving
SQL of an order (one guarded ``UPDATE`` of the slot), with no validation, auth, ORM, outbox or
idempotency. Run as ``python -m bench.capacity_baseline --port P --dsn DSN``.
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

RESERVE = (
    "UPDATE slots SET held = held + $2, updated_at = now() WHERE id = $1 AND status = 'open' "
    "AND held + sold + $2 <= capacity RETURNING capacity - held - sold"
)


def build_app(dsn: str, pool_size: int) -> Starlette:
    pool: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool["db"] = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
        yield
        await pool["db"].close()

    async def reserve(request: Request) -> JSONResponse:
        body = await request.json()
        line = body["lines"][0]
        left = await pool["db"].fetchval(RESERVE, uuid.UUID(line["slot_id"]), line["quantity"])
        if left is None:
            return JSONResponse({"code": "sold_out"}, status_code=409)
        return JSONResponse({"left": left}, status_code=201)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/orders", reserve, methods=["POST"]),
                             Route("/healthz", healthz)], lifespan=lifespan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--pool-size", type=int, default=10)
    args = parser.parse_args()
    uvicorn.run(build_app(args.dsn, args.pool_size), host="127.0.0.1", port=args.port,
                access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
