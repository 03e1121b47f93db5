"""The daily reconciliation report: the ledger against the provider's settlement, per
department, in JSON and CSV. It matches when both agree, and shows every injected mismatch
(a settlement line missing or altered, a capture the provider has and the ledger has not, a
payment nobody here knows) instead of hiding it. Staff see only their departments."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from payment_service.ledger.service import value_date
from payment_service.providers.base import SettlementLine

REPORTS = "payment:reports"


def today() -> str:
    return value_date(datetime.now(UTC)).isoformat()


async def _paid(payments: Any, lines: list[tuple[str, int]]) -> dict[str, Any]:
    body = payments.body(amount=sum(a for _, a in lines),
                         line_items=[payments.line_item(d, a) for d, a in lines])
    created = await payments.create(body)
    done = await payments.send_webhook(payments.notification(
        "payment.succeeded", created["provider_payment_id"], amount=body["amount"]))
    assert done.json() == {"status": "processed"}
    return created


async def _refund(payments: Any, pid: str, amount: int) -> str:
    response = await payments.client.post(
        f"/payments/{pid}/refunds", json={"amount": amount, "reason": "test"},
        headers={**payments.staff_headers({"museum": ["cashier"], "pools": ["cashier"]}),
                 "Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 201, response.text
    refund_id: str = response.json()["refund_id"]
    return refund_id


async def _report(payments: Any, headers: dict[str, str] | None = None,
                  **params: str) -> dict[str, Any]:
    response = await payments.client.get(
        "/reports/reconciliation", params={"date": today(), **params},
        headers=headers or payments.client_headers(REPORTS))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def _row(report: dict[str, Any], department: str) -> dict[str, Any]:
    [row] = [r for r in report["departments"] if r["department"] == department]
    return row


async def _day(payments: Any) -> tuple[str, str, str]:
    """A day's business: a museum ticket, a basket museum + pools, a partial refund of it."""
    museum = (await _paid(payments, [("museum", 800)]))["payment_id"]
    basket = (await _paid(payments, [("museum", 800), ("pools", 500)]))["payment_id"]
    refund_id = await _refund(payments, basket, 300)
    return museum, basket, refund_id


async def test_a_day_that_matches(payments: Any) -> None:
    await _day(payments)

    report = await _report(payments)

    assert report["matches"] is True
    assert report["unattributed"] == []
    assert [s["provider"] for s in report["settlements"]] == ["sandbox"]
    museum = _row(report, "museum")
    assert museum["matches"] is True
    assert museum["currency"] == "EUR"
    assert museum["ledger"] == {"payments_count": 2, "gross": 1600, "refunds_count": 1,
                                "refunds": 185, "net": 1415}
    assert museum["provider"] == museum["ledger"]
    assert museum["discrepancies"] == []
    pools = _row(report, "pools")
    assert pools["ledger"] == {"payments_count": 1, "gross": 500, "refunds_count": 1,
                               "refunds": 115, "net": 385}
    assert pools["matches"] is True
    # The provider settled the whole basket: both departments together are its net.
    assert museum["provider"]["net"] + pools["provider"]["net"] == 800 + 1300 - 300


async def test_a_missing_settlement_line_is_reported(payments: Any) -> None:
    museum_pid, _, _ = await _day(payments)
    assert (await _report(payments))["matches"] is True
    async with payments.engine.begin() as conn:  # the provider "forgot" a capture
        await conn.execute(text("DELETE FROM provider_settlements WHERE payment_id = :p"),
                           {"p": museum_pid})

    report = await _report(payments, department="museum")

    assert report["matches"] is False
    museum = _row(report, "museum")
    assert museum["matches"] is False
    assert museum["provider"]["gross"] == 800
    assert museum["ledger"]["gross"] == 1600
    assert museum["discrepancies"] == [{
        "kind": "payment", "payment_id": museum_pid, "refund_id": None, "currency": "EUR",
        "ledger_amount": 800, "provider_amount": None, "issue": "missing_at_provider"}]
    assert [r["department"] for r in report["departments"]] == ["museum"]


async def test_an_altered_refund_amount_is_reported_for_every_department_of_the_basket(
    payments: Any,
) -> None:
    _, basket, refund_id = await _day(payments)
    await _report(payments)
    async with payments.engine.begin() as conn:
        await conn.execute(text(
            "UPDATE provider_settlements SET amount = amount + 1 WHERE refund_id = :r"),
            {"r": refund_id})

    report = await _report(payments)

    expected = {"kind": "refund", "payment_id": basket, "refund_id": refund_id,
                "currency": "EUR", "ledger_amount": 300, "provider_amount": 301,
                "issue": "amount_differs"}
    for department in ("museum", "pools"):
        row = _row(report, department)
        assert row["matches"] is False
        assert row["discrepancies"] == [expected]
    assert _row(report, "museum")["provider"]["refunds"] + \
        _row(report, "pools")["provider"]["refunds"] == 301


async def test_a_capture_the_ledger_does_not_have_and_an_unknown_payment_are_reported(
    payments: Any,
) -> None:
    await _day(payments)
    # The provider took money for a payment whose success never reached us, and reports a
    # payment nobody here knows.
    lost = await payments.create(payments.body(amount=450, line_items=[
        payments.line_item("pools", 450)]))
    stranger = uuid.uuid4()
    now = datetime.now(UTC)
    payments.sandbox.settlement_adjustments.extend([
        SettlementLine(kind="payment", tenant=payments.TENANT,
                       payment_id=uuid.UUID(lost["payment_id"]), provider_reference="sbx_lost",
                       amount=450, currency="EUR", settled_at=now),
        SettlementLine(kind="payment", tenant=payments.TENANT, payment_id=stranger,
                       provider_reference="sbx_stranger", amount=999, currency="EUR",
                       settled_at=now),
        SettlementLine(kind="payment", tenant=payments.OTHER_TENANT, payment_id=uuid.uuid4(),
                       provider_reference="sbx_elsewhere", amount=1, currency="EUR",
                       settled_at=now),
    ])

    report = await _report(payments)

    assert report["matches"] is False
    assert _row(report, "museum")["matches"] is True
    pools = _row(report, "pools")
    assert pools["matches"] is False
    assert pools["provider"]["gross"] == pools["ledger"]["gross"] + 450
    assert pools["discrepancies"] == [{
        "kind": "payment", "payment_id": lost["payment_id"], "refund_id": None,
        "currency": "EUR", "ledger_amount": None, "provider_amount": 450,
        "issue": "missing_in_ledger"}]
    assert report["unattributed"] == [{
        "kind": "payment", "payment_id": str(stranger), "refund_id": None, "currency": "EUR",
        "ledger_amount": None, "provider_amount": 999, "issue": "missing_in_ledger"}]
    # Staff of the museum see their department (it matches) and the unattributed line.
    museum_view = await _report(payments, payments.staff_headers({"museum": ["manager"]}))
    assert [r["department"] for r in museum_view["departments"]] == ["museum"]
    assert museum_view["departments"][0]["matches"] is True


async def test_the_report_as_csv_parses_and_shows_the_discrepancy(payments: Any) -> None:
    museum_pid, _, _ = await _day(payments)
    await _report(payments)
    async with payments.engine.begin() as conn:
        await conn.execute(text("DELETE FROM provider_settlements WHERE payment_id = :p"),
                           {"p": museum_pid})

    by_accept = await payments.client.get(
        "/reports/reconciliation", params={"date": today()},
        headers={**payments.client_headers(REPORTS), "Accept": "text/csv"})
    by_param = await payments.client.get(
        "/reports/reconciliation", params={"date": today(), "format": "csv"},
        headers=payments.client_headers(REPORTS))

    assert by_accept.status_code == 200
    assert by_accept.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in by_accept.headers["content-disposition"]
    assert by_accept.text == by_param.text
    rows = list(csv.DictReader(io.StringIO(by_accept.text)))
    totals = {r["department"]: r for r in rows if r["record"] == "total"}
    assert set(totals) == {"museum", "pools"}
    assert totals["museum"]["matches"] == "false"
    assert int(totals["museum"]["ledger_gross"]) == 1600
    assert int(totals["museum"]["provider_gross"]) == 800
    assert int(totals["museum"]["ledger_net"]) == 1600 - 185
    assert totals["pools"]["matches"] == "true"
    [gap] = [r for r in rows if r["record"] == "discrepancy"]
    assert (gap["department"], gap["payment_id"], gap["issue"], gap["ledger_amount"],
            gap["provider_amount"]) == ("museum", museum_pid, "missing_at_provider", "800", "")


async def test_a_later_booking_refreshes_the_settlement(payments: Any) -> None:
    museum_pid, _, _ = await _day(payments)
    first = await _report(payments)
    await _refund(payments, museum_pid, 100)

    second = await _report(payments)

    assert second["settlements"][0]["imported_at"] > first["settlements"][0]["imported_at"]
    assert second["matches"] is True
    assert _row(second, "museum")["provider"]["refunds_count"] == 2


async def test_a_quiet_day_matches_with_zeros(payments: Any) -> None:
    await _day(payments)
    earlier = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()

    report = await _report(payments, payments.staff_headers({"museum": ["cashier"]}),
                           date=earlier)

    assert report["matches"] is True
    [museum] = report["departments"]
    assert museum["department"] == "museum"
    assert museum["ledger"] == museum["provider"] == {
        "payments_count": 0, "gross": 0, "refunds_count": 0, "refunds": 0, "net": 0}


async def test_who_may_read_which_report_and_bad_input(payments: Any) -> None:
    await _day(payments)
    params = {"date": today()}
    denied = [
        ({**params, "department": "museum"}, payments.staff_headers({"pools": ["manager"]}),
         403),
        (params, payments.staff_headers({"museum": ["gatekeeper"]}), 403),
        (params, payments.citizen_headers(), 403),
        (params, payments.client_headers("payment:read payment:write"), 403),
        ({}, payments.client_headers(REPORTS), 422),
        ({"date": "2024-02-30"}, payments.client_headers(REPORTS), 422),
        ({"date": "yesterday"}, payments.client_headers(REPORTS), 422),
        ({**params, "department": "../museum"}, payments.client_headers(REPORTS), 422),
        ({**params, "format": "xml"}, payments.client_headers(REPORTS), 422),
    ]
    for query, headers, expected in denied:
        response = await payments.client.get("/reports/reconciliation", params=query,
                                             headers=headers)
        assert response.status_code == expected, (query, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert (await payments.client.get("/reports/reconciliation", params=params)).status_code \
        == 401

    pools_staff = await _report(payments, payments.staff_headers({"pools": ["cashier"]}))
    assert [r["department"] for r in pools_staff["departments"]] == ["pools"]
    elsewhere = await _report(payments, payments.client_headers(
        REPORTS, tenant=payments.OTHER_TENANT))
    assert elsewhere["tenant"] == payments.OTHER_TENANT
    assert elsewhere["departments"] == []
    assert elsewhere["matches"] is True


async def test_money_captured_after_closing_and_paid_back_reconciles(payments: Any) -> None:
    from payment_service.refunds.jobs import submit_open_refunds

    created = await payments.create(payments.body())
    cancelled = await payments.client.post(
        f"/payments/{created['payment_id']}/cancel",
        headers={**payments.client_headers(), "Idempotency-Key": str(uuid.uuid4())})
    assert cancelled.status_code == 200
    late = await payments.send_webhook(payments.notification(
        "payment.succeeded", created["provider_payment_id"], amount=1300))
    assert late.json() == {"status": "late_success"}
    assert await submit_open_refunds(payments.sessions, payments.app.state.providers) == 1

    report = await _report(payments)

    assert report["matches"] is True
    museum = _row(report, "museum")
    assert museum["ledger"] == {"payments_count": 1, "gross": 800, "refunds_count": 1,
                                "refunds": 800, "net": 0}
    assert museum["provider"] == museum["ledger"]
