"""Case reports: per service, the open cases per status, the period's decisions with their
processing times (median and 90th percentile, checked against numbers worked out by hand) and
deadline breaches; CSV with a header row; managers and tenant admins only."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from case_service.catalogue.demo_library import DEMO_SERVICES

from .conftest import CaseHarness
from .test_worklist_api import NOW, insert_case

BIRTH = str(DEMO_SERVICES["geburtsurkunde"])
TRADE = str(DEMO_SERVICES["gewerbeanmeldung"])
DOG = str(DEMO_SERVICES["hundesteuer-anmeldung"])
NOV = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PERIOD = "?from=2026-11-01&to=2026-11-30"


async def seed(h: CaseHarness) -> None:
    """Birth certificates decided in November after 1, 2, 3, 4 and 10 days (due after 5 days:
    the 10-day one was late); by hand: median 3, p90 = 4 + 0.6 * (10 - 4) = 7.6. One decided
    on 1 December (outside), one withdrawn (neither open nor decided). Open now: 2 submitted
    (one overdue), 1 in review. A trade registration in review, overdue. Tax office: one."""
    for n, days in enumerate((3, 1, 10, 4, 2)):
        submitted = NOV + timedelta(days=n)
        await insert_case(h, number=f"B-{n}", status="approved" if n % 2 else "rejected",
                          submitted_at=submitted, due_at=submitted + timedelta(days=5),
                          decided_at=submitted + timedelta(days=days))
    await insert_case(h, number="B-late", status="approved", submitted_at=NOV,
                      due_at=NOV + timedelta(days=2),
                      decided_at=datetime(2026, 12, 1, 0, 30, tzinfo=UTC))
    await insert_case(h, number="B-w", status="withdrawn", due_at=NOW - timedelta(days=9))
    await insert_case(h, number="B-o1", due_at=NOW - timedelta(days=1))
    await insert_case(h, number="B-o2", due_at=NOW + timedelta(days=4))
    await insert_case(h, number="B-o3", status="in_review")
    await insert_case(h, number="G-1", status="in_review", slug="gewerbeanmeldung",
                      due_at=NOW - timedelta(hours=2))
    await insert_case(h, number="T-1", department="tax-office", slug="hundesteuer-anmeldung",
                      status="approved", submitted_at=NOV, decided_at=NOV + timedelta(days=1))


async def report(h: CaseHarness, headers: dict[str, str], query: str = PERIOD,
                 path: str = "/departments/citizens-office/reports/cases",
                 expect: int = 200) -> Any:
    response = await h.client.get(path + query, headers=headers)
    assert response.status_code == expect, response.text
    return response.json()


async def test_numbers_of_a_known_data_set(case: CaseHarness) -> None:
    await seed(case)
    body = await report(case, case.manager_headers())
    assert body["department"] == "citizens-office"
    assert (body["period_from"], body["period_to"]) == ("2026-11-01", "2026-11-30")
    assert body["services"] == [
        {"department": "citizens-office", "service_id": s["service_id"], **s["expected"]}
        for s in sorted([
            {"service_id": BIRTH, "expected": {
                "open": {"submitted": 2, "in_review": 1}, "open_total": 3, "open_overdue": 1,
                "decided": 5, "processing_days_median": 3.0, "processing_days_p90": 7.6,
                "decided_late": 1, "deadline_breaches": 2}},
            {"service_id": TRADE, "expected": {
                "open": {"in_review": 1}, "open_total": 1, "open_overdue": 1, "decided": 0,
                "processing_days_median": None, "processing_days_p90": None,
                "decided_late": 0, "deadline_breaches": 1}},
        ], key=lambda s: s["service_id"])]
    # 2 Nov 09:00 -> 1 Dec 00:30: 28 days 15.5 hours = 28.65 days; 1 Dec is its own period.
    december = await report(case, case.manager_headers(), "?from=2026-12-01&to=2026-12-01")
    birth = next(s for s in december["services"] if s["service_id"] == BIRTH)
    assert (birth["decided"], birth["processing_days_median"], birth["decided_late"]) == (
        1, 28.65, 1)


async def test_tenant_report_has_every_department(case: CaseHarness) -> None:
    await seed(case)
    body = await report(case, case.tenant_admin_headers(),
                        path="/tenants/musterstadt/reports/cases")
    assert body["department"] is None
    assert sorted((s["department"], s["service_id"]) for s in body["services"]) == sorted([
        ("citizens-office", BIRTH), ("citizens-office", TRADE), ("tax-office", DOG)])
    tax = next(s for s in body["services"] if s["department"] == "tax-office")
    assert (tax["decided"], tax["processing_days_median"], tax["open_total"]) == (1, 1.0, 0)
    for headers in (case.tenant_admin_headers("beispielhausen"), case.manager_headers()):
        refused = await report(case, headers, path="/tenants/musterstadt/reports/cases",
                               expect=403)
        assert refused["code"] == "not_your_tenant"


async def test_csv_has_a_header_and_a_row_per_service_without_personal_data(
        case: CaseHarness) -> None:
    await seed(case)
    response = await case.client.get(
        f"/departments/citizens-office/reports/cases{PERIOD}&format=csv",
        headers=case.tenant_admin_headers())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["department", "service_id", "open_awaiting_payment", "open_submitted",
                       "open_in_review", "open_information_requested", "open_total",
                       "open_overdue", "decided", "processing_days_median",
                       "processing_days_p90", "decided_late", "deadline_breaches"]
    by_service = {row[1]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert len(rows) == 3
    assert by_service[BIRTH]["open_submitted"] == "2"
    assert by_service[BIRTH]["processing_days_p90"] == "7.60"
    assert by_service[TRADE]["processing_days_median"] == ""
    assert "Mustermann" not in response.text
    assert "B-0" not in response.text


async def test_clerks_and_strangers_get_no_report(case: CaseHarness) -> None:
    await seed(case)
    clerk = await report(case, case.clerk_headers(), expect=403)
    assert clerk["code"] == "managers_only"
    for headers in (case.manager_headers("tax-office"), case.citizen_headers(),
                    case.client_headers("case:read")):
        refused = await report(case, headers, expect=403)
        assert refused["code"] == "not_your_department"
    other = await report(case, case.manager_headers(tenant="beispielhausen"))
    assert other["services"] == []
    bad = await report(case, case.manager_headers(), "?from=2026-12-01&to=2026-11-01",
                       expect=422)
    assert bad["code"] == "invalid_period"
    for query in ("?from=yesterday", "?format=xlsx"):
        await report(case, case.manager_headers(), query, expect=422)
    default = await report(case, case.manager_headers(), "")
    assert default["period_to"] == datetime.now(UTC).date().isoformat()
