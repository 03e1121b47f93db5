"""The demo seed beyond the library: one intake destination per tenant and demo cases in the
states this issue knows (``awaiting_payment``, ``submitted``), opened like real applications;
a second run, or two at once, changes nothing."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from case_service import demo_cases
from case_service.demo_cases import DEMO_CASES, demo_case_draft_id, seed_cases
from case_service.intake.seed import demo_destination_id, seed_destinations

ERIKA = uuid.UUID("00000000-0000-4000-8000-00000000e21a")
PAULA = uuid.UUID("00000000-0000-4000-8000-0000000b0a1a")
DEMO_FILE: dict[str, Any] = {"accounts": [
    {"id": str(uuid.uuid4()), "tenant": "musterstadt", "kind": "staff",
     "email": "citizens-office.clerk1@example.org"},
    {"id": str(ERIKA), "tenant": "musterstadt", "kind": "citizen",
     "email": "erika.mustermann@example.org"},
    {"id": str(PAULA), "tenant": "beispielhausen", "kind": "citizen",
     "email": "paula.beispiel@example.org"},
]}

_CASES = ("SELECT draft_id::text, id::text, tenant, department, number, status, "
          "payment_status, account_id::text, fee_amount FROM cases ORDER BY number")
_COUNTS = ("SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM case_history), "
           "(SELECT count(*) FROM outbox), (SELECT count(*) FROM intake_destinations), "
           "(SELECT string_agg(encryption_kid, ',' ORDER BY tenant) FROM intake_destinations)")


async def test_demo_cases_fill_the_worklists_with_real_cases(case: Any) -> None:
    seeded = await seed_cases(case.engine, case.settings, DEMO_FILE)

    rows = {row.draft_id: row for row in await case.rows(_CASES)}
    assert len(rows) == len(DEMO_CASES) == 4
    for demo in DEMO_CASES:
        row = rows[str(demo_case_draft_id(demo.key))]
        assert row.status == demo.status
        assert (row.payment_status == "requested") == (demo.status == "awaiting_payment")
        assert seeded[demo.key] == {"case_id": row.id, "number": row.number,
                                    "tenant": row.tenant, "status": row.status}
    by_tenant = {(r.tenant, r.department, r.account_id) for r in rows.values()}
    assert by_tenant == {("musterstadt", "citizens-office", str(ERIKA)),
                         ("musterstadt", "traffic", str(ERIKA)),
                         ("musterstadt", "tax-office", str(ERIKA)),
                         ("beispielhausen", "citizens-office", str(PAULA))}
    prefixes = {(r.tenant, r.number[:3]) for r in rows.values()}
    assert prefixes == {("musterstadt", "MS-"), ("beispielhausen", "BH-")}
    birth = rows[str(demo_case_draft_id("musterstadt-birth-certificate"))]
    assert birth.fee_amount == 2 * 1200  # two copies at Musterstadt's rate
    # Real applications: the submitted events, a payment command per fee, the history.
    submitted = await case.outbox("city.case.case.submitted.v1")
    assert sorted(e.key for e in submitted) == sorted(r.id for r in rows.values())
    requests = await case.outbox("city.payment.request.v1")
    assert len(requests) == 2
    assert await case.scalar("SELECT count(DISTINCT case_id) FROM case_history") == 4
    # Prefilled from the eID like a draft: the verified marks travel with the case.
    verified = await case.scalar("SELECT verified FROM cases WHERE draft_id = :d",
                                 d=demo_case_draft_id("musterstadt-birth-certificate"))
    assert verified["/birth_date"]["level"] == "substantial"


async def test_seeding_twice_changes_nothing(case: Any) -> None:
    await seed_destinations(case.engine, case.settings, key_bits=2048)
    first = await seed_cases(case.engine, case.settings, DEMO_FILE)
    before = (await case.rows(_CASES), await case.rows(_COUNTS))

    await seed_destinations(case.engine, case.settings, key_bits=2048)
    again = await seed_cases(case.engine, case.settings, DEMO_FILE)

    assert (await case.rows(_CASES), await case.rows(_COUNTS)) == before
    assert again == first
    destinations = await case.rows("SELECT id, tenant, status FROM intake_destinations "
                                   "ORDER BY tenant")
    assert [tuple(r) for r in destinations] == [
        (demo_destination_id("beispielhausen"), "beispielhausen", "active"),
        (demo_destination_id("musterstadt"), "musterstadt", "active")]


async def test_without_the_identity_demo_file_there_are_no_demo_cases(case: Any) -> None:
    assert await seed_cases(case.engine, case.settings, {}) == {}
    assert await case.scalar("SELECT count(*) FROM cases") == 0


Serialise = Callable[[AsyncSession], Awaitable[None]]


async def _two_seeds_at_once(case: Any, monkeypatch: pytest.MonkeyPatch,
                             serialise: Serialise | None) -> list[Any]:
    """Two seeds that both reach the point of taking the lock before either goes on."""
    barrier = asyncio.Barrier(2)

    async def gated(session: AsyncSession) -> None:
        await barrier.wait()
        if serialise is not None:
            await serialise(session)

    monkeypatch.setattr(demo_cases, "_serialise", gated)
    return await asyncio.gather(
        *(seed_cases(case.engine, case.settings, DEMO_FILE) for _ in range(2)),
        return_exceptions=True)


async def test_two_seeds_at_once_open_each_demo_case_once(
        case: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    results = await _two_seeds_at_once(case, monkeypatch, demo_cases._serialise)
    assert results[0] == results[1]
    assert await case.scalar("SELECT count(*) FROM cases") == len(DEMO_CASES)


async def test_negative_control_without_the_lock_the_second_seed_collides(
        case: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    results = await _two_seeds_at_once(case, monkeypatch, None)
    assert any(isinstance(r, IntegrityError) for r in results)


async def test_the_command_writes_destinations_and_cases_into_the_demo_file(
        case: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from case_service.seed import main

    demo = tmp_path / "demo.json"
    demo.write_text(json.dumps(DEMO_FILE), encoding="utf-8")
    monkeypatch.setenv("CITY_DATABASE_URL", case.url)
    await asyncio.to_thread(main, ["--demo-file", str(demo), "--intake-key-bits", "2048"])

    written = json.loads(demo.read_text(encoding="utf-8"))["case"]
    kid = await case.scalar("SELECT encryption_kid FROM intake_destinations WHERE id = :id",
                            id=demo_destination_id("musterstadt"))
    intake = written["intake"]["musterstadt"]
    assert intake["destination_id"] == str(demo_destination_id("musterstadt"))
    assert intake["public_key_url"].endswith(
        f"/intake/v1/destinations/{intake['destination_id']}/keys/{kid}")
    assert set(written["cases"]) == {demo.key for demo in DEMO_CASES}
    assert written["cases"]["musterstadt-birth-certificate"]["number"].startswith("MS-")
