"""``start_date`` / ``end_date`` of ``GET requests.json`` are ISO 8601 date-times as documented:
a number (which pydantic's lax mode would read as a Unix time) is a 400, not a filter from 1970
(found by the OpenAPI fuzzer: ``start_date=0.5`` was answered 200)."""

from __future__ import annotations

import pytest

from .conftest import CaseHarness

BASE = "/open311/v2/musterstadt"


@pytest.mark.parametrize("value", ["0.5", "0", "1700000000", "-1", "1e9"])
async def test_a_number_as_date_is_refused(case: CaseHarness, value: str) -> None:
    for name in ("start_date", "end_date"):
        response = await case.client.get(f"{BASE}/requests.json", params={name: value})

        assert response.status_code == 400, (name, value, response.text)
        assert response.json()[0]["code"] == 400


@pytest.mark.parametrize("value", ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00+01:00",
                                   "2026-01-01"])
async def test_iso_dates_filter(case: CaseHarness, value: str) -> None:
    response = await case.client.get(f"{BASE}/requests.json", params={"start_date": value})

    assert response.status_code == 200, response.text
    assert response.json() == []
