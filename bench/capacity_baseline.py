"""The baseline of the order benchmark: a bare HTTP endpoint doing only the capacity-reserving
SQL of an order (one guarded ``UPDATE`` of the slot), with no validation, auth, ORM, outbox or
idempotency. Run as ``python -m bench.capacity_baseline --port P --dsn DSN [--workers N]``.

With ``--workers N`` uvicorn serves it from N processes (like the API with
``CITY_HTTP_WORKERS``); each worker builds its app with :func:`app_from_env` from the
environment variables ``BENCH_BASELINE_DSN`` and ``BENCH_BASELINE_POOL_SIZE``.
"""

from __future__ import annotations

import argparse
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DSN_ENV = "BENCH_BASELINE_DSN"
POOL_SIZE_ENV = "BENCH_BASELINE_POOL_SIZE"

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
    uvicorn.run("bench.capacity_baseline:app_from_env", factory=True, workers=args.workers,
                host="127.0.0.1", port=args.port, access_log=False, log_level="warning",
                # uvicorn's 5 s default kills workers still importing on a busy machine.
                timeout_worker_healthcheck=60)


if __name__ == "__main__":
    main()
