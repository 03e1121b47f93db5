"""The demo seed beyond the library: one intake destination per tenant and demo cases in every
kind of state (``awaiting_payment``, ``submitted``, and worked by demo clerks through the
workflow: ``in_review`` claimed, ``information_requested`` with a public note and a deadline,
``approved`` with its outcome and Bescheid, ``rejected`` with its reason), opened like real
applications; a second run, or two at once, changes nothing."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from case_service import demo_cases
from case_service.demo_cases import DEMO_CASES, demo_case_draft_id, seed_cases
from case_service.documents.seed import seed_document_templates
from case_service.intake.seed import demo_destination_id, seed_destinations
from city_shared.db import create_session_factory
from city_shared.unit_of_work import unit_of_work

ERIKA = uuid.UUID("00000000-0000-4000-8000-00000000e21a")
MAX = uuid.UUID("00000000-0000-4000-8000-000000000a3a")
PAULA = uuid.UUID("00000000-0000-4000-8000-0000000b0a1a")
TAX_CLERK = uuid.UUID("00000000-0000-4000-8000-0000000c1e01")
TRAFFIC_CLERK = uuid.UUID("00000000-0000-4000-8000-0000000c1e02")
BH_CLERK = uuid.UUID("00000000-0000-4000-8000-0000000c1e03")


def _staff(account_id: uuid.UUID | str, tenant: str, email: str,
           roles: dict[str, list[str]]) -> dict[str, Any]:
    return {"id": str(account_id), "tenant": tenant, "kind": "staff", "email": email,
            "roles": roles, "admin": None}


DEMO_FILE: dict[str, Any] = {"accounts": [
    _staff(uuid.uuid4(), "musterstadt", "citizens-office.clerk1@example.org",
           {"citizens-office": ["clerk"]}),
    _staff(TAX_CLERK, "musterstadt", "tax-office.clerk@example.org", {"tax-office": ["clerk"]}),
    _staff(TRAFFIC_CLERK, "musterstadt", "traffic.clerk@example.org", {"traffic": ["clerk"]}),
    _staff(BH_CLERK, "beispielhausen", "citizens-office.clerk@beispielhausen.example.org",
           {"citizens-office": ["clerk"]}),
    {"id": str(ERIKA), "tenant": "musterstadt", "kind": "citizen",
     "email": "erika.mustermann@example.org"},
    {"id": str(MAX), "tenant": "musterstadt", "kind": "citizen",
     "email": "max.mustermann@example.org"},
    {"id": str(PAULA), "tenant": "beispielhausen", "kind": "citizen",
     "email": "paula.beispiel@example.org"},
]}
WORKED = {"musterstadt-dog-tax-in-review": TAX_CLERK,
          "musterstadt-road-damage-information-requested": TRAFFIC_CLERK,
          "musterstadt-dog-tax-approved": TAX_CLERK,
          "beispielhausen-road-damage-rejected": BH_CLERK}

_CASES = ("SELECT draft_id::text, id::text, tenant, department, number, status, "
          "payment_status, account_id::text, fee_amount, assignee, version, decision, outcome, "
          "state_deadline FROM cases ORDER BY number")
_COUNTS = ("SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM case_history), "
           "(SELECT count(*) FROM outbox), (SELECT count(*) FROM intake_destinations), "
           "(SELECT string_agg(encryption_kid, ',' ORDER BY tenant) FROM intake_destinations), "
           "(SELECT count(*) FROM case_audit), (SELECT count(*) FROM case_notes), "
           "(SELECT count(*) FROM case_information_requests), "
           "(SELECT count(*) FROM case_documents), (SELECT count(*) FROM document_templates)")


async def test_demo_cases_fill_the_worklists_with_real_cases(case: Any) -> None:
    seeded = await seed_cases(case.engine, case.settings, DEMO_FILE)

    rows = {row.draft_id: row for row in await case.rows(_CASES)}
    assert len(rows) == len(DEMO_CASES) == 8
    for demo in DEMO_CASES:
        row = rows[str(demo_case_draft_id(demo.key))]
        assert row.status == demo.status
        assert (row.payment_status == "requested") == (demo.status == "awaiting_payment")
        assert seeded[demo.key] == {"case_id": row.id, "number": row.number,
                                    "tenant": row.tenant, "status": row.status}
    assert {r.status for r in rows.values()} == {
        "awaiting_payment", "submitted", "in_review", "information_requested", "approved",
        "rejected"}
    by_tenant = {(r.tenant, r.department, r.account_id) for r in rows.values()}
    assert by_tenant == {("musterstadt", "citizens-office", str(ERIKA)),
                         ("musterstadt", "traffic", str(ERIKA)),
                         ("musterstadt", "tax-office", str(ERIKA)),
                         ("musterstadt", "tax-office", str(MAX)),
                         ("musterstadt", "traffic", str(MAX)),
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
    assert await case.scalar("SELECT count(DISTINCT case_id) FROM case_history") == 8
    # Prefilled from the eID like a draft: the verified marks travel with the case.
    verified = await case.scalar("SELECT verified FROM cases WHERE draft_id = :d",
                                 d=demo_case_draft_id("musterstadt-birth-certificate"))
    assert verified["/birth_date"]["level"] == "substantial"


async def test_demo_clerks_work_cases_through_the_workflow(case: Any) -> None:
    seeded = await seed_cases(case.engine, case.settings, DEMO_FILE)
    ids = {key: uuid.UUID(seeded[key]["case_id"]) for key in WORKED}
    rows = {row.id: row for row in await case.rows(_CASES)}

    for key, clerk in WORKED.items():
        row = rows[str(ids[key])]
        assert row.assignee == str(clerk), key  # claimed by the demo clerk
        actions = await case.rows("SELECT actor, action FROM case_audit WHERE case_id = :c "
                                  "ORDER BY id", c=ids[key])
        staff_actions = [a.action for a in actions if a.actor == f"staff:{clerk}"]
        assert staff_actions[:2] == ["claim", "start_review"], key
    assert rows[str(ids["musterstadt-dog-tax-in-review"])].decision is None

    asked = ids["musterstadt-road-damage-information-requested"]
    [request] = await case.rows(
        "SELECT status, note, fields, attachment_kinds, deadline, requested_by "
        "FROM case_information_requests WHERE case_id = :c", c=asked)
    assert (request.status, request.fields, request.attachment_kinds) == (
        "open", ["description"], ["photo"])
    assert request.note.startswith("Bitte laden Sie ein Foto")
    assert request.requested_by == f"staff:{TRAFFIC_CLERK}"
    assert rows[str(asked)].state_deadline == request.deadline
    assert request.deadline > datetime.now(UTC) + timedelta(days=7)
    notes = {r.visibility for r in await case.rows(
        "SELECT visibility FROM case_notes WHERE case_id = :c", c=asked)}
    assert notes == {"public", "internal"}

    approved = rows[str(ids["musterstadt-dog-tax-approved"])]
    assert approved.decision == "approved"
    assert approved.outcome == {"tax_mark": "MS-HS-2026-0815", "annual_rate": "108,00 EUR"}
    [document] = await case.rows("SELECT id, kind, media_type FROM case_documents "
                                 "WHERE case_id = :c", c=ids["musterstadt-dog-tax-approved"])
    assert (document.kind, document.media_type) == ("decision", "application/pdf")
    rejected = rows[str(ids["beispielhausen-road-damage-rejected"])]
    assert rejected.decision == "rejected"
    assert rejected.assignee == str(BH_CLERK)

    # The citizens see it on their timelines: what they must do, the decision with its letter.
    max_view = await case.client.get(f"/cases/{asked}/timeline",
                                     headers=case.citizen_headers(MAX))
    assert max_view.status_code == 200, max_view.text
    assert max_view.json()["expected"]["action"] == "answer"
    assert max_view.json()["expected"]["attachment_kinds"] == ["photo"]
    assert "Mastnummer" not in max_view.text  # the internal note
    erika_view = (await case.client.get(
        f"/cases/{ids['musterstadt-dog-tax-approved']}/timeline",
        headers=case.citizen_headers(ERIKA))).json()
    assert [e["status"] for e in erika_view["entries"] if e["kind"] == "status"] == [
        "submitted", "in_review", "approved"]
    [letter] = [e for e in erika_view["entries"] if e["kind"] == "document"]
    pdf = await case.client.get(letter["document_url"].removeprefix(case.BASE_URL),
                                headers=case.citizen_headers(ERIKA))
    assert pdf.status_code == 200, pdf.text
    assert pdf.content.startswith(b"%PDF")


async def test_without_the_clerks_the_worked_cases_are_not_opened(case: Any) -> None:
    citizens = {"accounts": [a for a in DEMO_FILE["accounts"] if a["kind"] == "citizen"]}
    seeded = await seed_cases(case.engine, case.settings, citizens)
    assert set(seeded) == {d.key for d in DEMO_CASES if not d.work}
    assert await case.scalar("SELECT count(*) FROM cases WHERE status NOT IN "
                             "('submitted', 'awaiting_payment')") == 0


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
    """Two seeds that both reach the point of taking the lock before either goes on. The
    decision templates exist already (as after the first seed of a stack): else the second
    seed's template insert would wait for the first seed's commit and hide the race."""
    async with unit_of_work(create_session_factory(case.engine)) as session:
        await seed_document_templates(session)
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
