"""The baseline of the case submission benchmark: one bare HTTP endpoint that takes a form's JSON
and a 200 kB file in one request and inserts the rows a submitted case leaves behind, with plain
asyncpg in one transaction: no auth, validation, ORM, middleware or idempotency record.
Run as ``python -m bench.case_baseline --port P --dsn DSN``.

Request: ``POST /submissions`` with ``X-Form-Length: n``; the body is the form's JSON (``n``
bytes, ``{"service_id": ..., "data": {...}}``) followed by the file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

TENANT = "musterstadt"
ACCOUNT = uuid.UUID("00000000-0000-4000-8000-00000000be9c")

_CATALOGUE = """
SELECT s.id AS service_id, s.leika_key, d.id AS definition_id, d.version AS definition_version,
       p.id AS parameters_id, p.version AS parameters_version, p.department, p.cost_centre,
       p.fee_values, p.retention_days
FROM services s
JOIN service_definitions d ON d.service_id = s.id AND d.version = s.latest_version
JOIN service_parameters p ON p.service_id = s.id AND p.tenant = $2
 AND p.valid_from <= current_date AND (p.valid_to IS NULL OR p.valid_to > current_date)
WHERE s.id = $1
ORDER BY p.version DESC LIMIT 1
"""
_NUMBER = ("INSERT INTO case_number_counters (tenant, year, last) VALUES ($1, $2, 1) "
           "ON CONFLICT (tenant, year) DO UPDATE SET last = case_number_counters.last + 1 "
           "RETURNING last")
_CASE = (
    "INSERT INTO cases (id, tenant, department, number, service_id, definition_id, "
    "definition_version, parameters_id, parameters_version, account_id, submitted_by, channel, "
    "status, data, verified, locale, fee_amount, currency, fee, reference, payment_status, "
    "draft_id, retain_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'online', "
    "'awaiting_payment', $12, '{}', 'de', $13, 'EUR', $14, $15, 'requested', $16, $17)")
_DRAFT = ("INSERT INTO drafts (id, tenant, service_id, definition_id, owner, account_id, data, "
          "version, submitted_case_id, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 3, $8, $9)")
_BLOB = "INSERT INTO attachment_blobs (key, content) VALUES ($1, $2)"
_ATTACHMENT = ("INSERT INTO attachments (id, tenant, case_id, kind, filename, media_type, size, "
               "sha256, storage_key) VALUES ($1, $2, $3, 'proof_of_residence', 'x.pdf', "
               "'application/pdf', $4, $5, $6)")
_HISTORY = ("INSERT INTO case_history (case_id, type, status, detail) "
            "VALUES ($1, $2, 'awaiting_payment', $3)")
_OUTBOX = ("INSERT INTO outbox (event_id, topic, key, event_type, attributes, data) "
           "VALUES ($1, $2, $3, $4, $5, $6)")


async def _jsonb(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads,
                                    schema="pg_catalog")


async def insert_submission(connection: asyncpg.Connection, c: asyncpg.Record, fee: int,
                            data: dict[str, Any], content: bytes) -> str:
    """All rows of one submitted case with its one attachment, in one transaction; returns the
    case number."""
    now = datetime.now(UTC)
    case_id, draft_id, attachment_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    key = f"attachments/{TENANT}/{attachment_id}"
    event = {"case_id": str(case_id), "tenant": TENANT, "department": c["department"],
             "service_id": str(c["service_id"]), "leika_key": c["leika_key"],
             "definition_version": c["definition_version"], "channel": "online",
             "parameters_version": c["parameters_version"], "status": "awaiting_payment",
             "fee_amount": fee, "currency": "EUR", "account_id": str(ACCOUNT),
             "submitted_at": now.isoformat()}
    attributes = {"source": "/case", "subject": str(case_id), "tenant": TENANT,
                  "department": c["department"], "time": now.isoformat()}
    async with connection.transaction():
        n = await connection.fetchval(_NUMBER, TENANT, now.year)
        number = f"MS-{now.year}-{n:06d}"
        event["number"] = number
        fee_json = {"amount": fee, "currency": "EUR", "collect": "on_submission",
                    "period": "year", "exempt": False, "lines": [{"amount": fee, "quantity": 1}]}
        await connection.execute(
            _CASE, case_id, TENANT, c["department"], number, c["service_id"], c["definition_id"],
            c["definition_version"], c["parameters_id"], c["parameters_version"], ACCOUNT,
            f"citizen:{ACCOUNT}", data, fee, fee_json, f"case/case/{case_id}", draft_id,
            now.date() + timedelta(days=c["retention_days"]))
        await connection.execute(_DRAFT, draft_id, TENANT, c["service_id"], c["definition_id"],
                                 f"citizen:{ACCOUNT}", ACCOUNT, data, case_id,
                                 now + timedelta(days=30))
        await connection.execute(_BLOB, key, content)
        await connection.execute(_ATTACHMENT, attachment_id, TENANT, case_id, len(content),
                                 hashlib.sha256(content).hexdigest(), key)
        await connection.executemany(_HISTORY, [
            (case_id, "submitted", {"channel": "online"}),
            (case_id, "payment_requested", {"amount": fee, "currency": "EUR", "attempt": 1})])
        payment = {"request_id": str(uuid.uuid5(case_id, "payment")), "amount": fee,
                   "currency": "EUR", "reference": f"case/case/{case_id}",
                   "payer": {"account_id": str(ACCOUNT)},
                   "line_items": [{"cost_centre": c["cost_centre"], "amount": fee}]}
        await connection.executemany(_OUTBOX, [
            (uuid.uuid4(), "case.cases", str(case_id), "city.case.case.submitted.v1",
             attributes, event),
            (uuid.uuid4(), "payment.requests", str(case_id), "city.payment.request.v1",
             attributes, payment)])
    return number


def build_app(dsn: str, pool_size: int) -> Starlette:
    """The app: ``POST /submissions`` (201 with the case number) and ``GET /healthz``."""
    state: dict[str, Any] = {}
    catalogue: dict[uuid.UUID, asyncpg.Record] = {}  # read once: the endpoint checks nothing

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size,
                                                  init=_jsonb)
        yield
        await state["pool"].close()

    async def submit(request: Request) -> JSONResponse:
        body = await request.body()
        split = int(request.headers["X-Form-Length"])
        form = json.loads(body[:split])
        service_id = uuid.UUID(form["service_id"])
        async with state["pool"].acquire() as connection:
            if service_id not in catalogue:
                catalogue[service_id] = await connection.fetchrow(_CATALOGUE, service_id, TENANT)
            c = catalogue[service_id]
            fee = int(c["fee_values"]["permit"])
            number = await insert_submission(connection, c, fee, form["data"], body[split:])
        return JSONResponse({"number": number}, status_code=201)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/submissions", submit, methods=["POST"]),
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
