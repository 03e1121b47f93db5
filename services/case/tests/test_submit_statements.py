"""How many SQL statements a citizen's whole path costs (draft with the whole form, one PDF,
submit): counted, not timed, so it fails the day someone reintroduces a read of what is loaded
already or a row-by-row insert (an N+1), whatever the machine's speed.

Counted are the statements the case app sends through SQLAlchemy while each request runs
(pool pre-pings, BEGIN and COMMIT are no statements here); the budgets are the counts of
today's code, so a change that needs one more statement says so here on purpose.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from case_service.catalogue.demo_library import DEMO_SERVICES
from city_shared.testing import executed_statements

from .conftest import CaseHarness

PARKING_DATA: dict[str, Any] = {
    "given_name": "Erika", "family_name": "Mustermann", "birth_date": "1964-08-12",
    "street_address": "Hauptstr. 1", "postal_code": "12345", "locality": "Musterstadt",
    "vehicle_registration": "MS-AB 123", "vehicle_owner": "self",
    "valid_from": (date.today() + timedelta(days=7)).isoformat()}
PDF = b"%PDF-1.4\n" + b"\x00" * 4096
#: Statements per step of today's code (see the module).
#: ``submit`` writes the case's first audit entry (issue 14): one statement more.
BUDGET = {"draft": 2, "upload": 6, "submit": 13}


async def test_the_citizens_three_calls_stay_within_their_statement_budget(
        case: CaseHarness) -> None:
    auth = case.citizen_headers(acr="substantial")
    counted: dict[str, list[str]] = {}
    with executed_statements() as seen:
        draft = await case.client.post("/drafts", headers=auth, json={
            "service_id": str(DEMO_SERVICES["bewohnerparkausweis"]), "data": PARKING_DATA})
        counted["draft"], seen[:] = list(seen), []
        assert draft.status_code == 201, draft.text
        upload = await case.client.post(
            f"/drafts/{draft.json()['id']}/attachments", content=PDF,
            params={"kind": "proof_of_residence", "filename": "x.pdf"},
            headers={**auth, "Content-Type": "application/pdf"})
        counted["upload"], seen[:] = list(seen), []
        assert upload.status_code == 201, upload.text
        submitted = await case.client.post(
            f"/drafts/{draft.json()['id']}/submit",
            headers={**auth, "Idempotency-Key": str(uuid.uuid4())})
        counted["submit"] = list(seen)
        assert submitted.status_code == 201, submitted.text
    for step, sql in counted.items():
        print(f"--- {step}: {len(sql)}", *sql, sep="\n  ")
    assert {step: len(sql) for step, sql in counted.items()} == BUDGET


async def test_a_page_of_drafts_costs_the_same_statements_for_two_drafts_or_six(
        case: CaseHarness) -> None:
    auth = case.citizen_headers()
    counts = []
    for _ in range(2):
        for _ in range(2 if not counts else 4):
            created = await case.client.post("/drafts", headers=auth, json={
                "service_id": str(DEMO_SERVICES["bewohnerparkausweis"]), "data": PARKING_DATA})
            assert created.status_code == 201, created.text
        with executed_statements() as seen:
            page = await case.client.get("/drafts", headers=auth)
        assert page.status_code == 200, page.text
        assert all(d["fee"] is not None for d in page.json()["items"])
        counts.append((len(page.json()["items"]), len(seen)))
    assert counts == [(2, 3), (6, 3)]  # the page, its attachments, the service's offer
