"""The rate limit of Open311 reports per client address: 429 with ``Retry-After`` after the
limit while other addresses still report, a sliding window, pseudonymised addresses only, and
exactly the limit under concurrent reports (with a negative control without the lock)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from case_service.open311 import ratelimit, service

from .conftest import CaseHarness
from .test_open311_api import REPORT, assert_open311_error

LIMIT = 3
URL = "/open311/v2/musterstadt/requests.json"


@pytest.fixture(autouse=True)
def small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "reports_per_window", lambda settings: LIMIT)


@asynccontextmanager
async def from_address(h: CaseHarness, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests come from ``address`` (as the ASGI server reports it)."""
    transport = httpx.ASGITransport(app=h.app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url=h.BASE_URL) as client:
        yield client


async def test_one_address_gets_429_after_the_limit_while_another_still_reports(
        case: CaseHarness) -> None:
    async with from_address(case, "198.51.100.7") as first, \
            from_address(case, "203.0.113.9") as second:
        for _ in range(LIMIT):
            assert (await first.post(URL, data=REPORT)).status_code == 201
        refused = await first.post(URL, data=REPORT)
        assert_open311_error(refused, 429)
        assert 1 <= int(refused.headers["Retry-After"]) <= 3600
        # X-Forwarded-For from the client is not trusted: still the same address.
        spoofed = await first.post(URL, data=REPORT, headers={"X-Forwarded-For": "192.0.2.1"})
        assert spoofed.status_code == 429
        assert (await second.post(URL, data=REPORT)).status_code == 201
    assert await case.scalar("SELECT count(*) FROM cases") == LIMIT + 1
    hashes = await case.rows("SELECT client_hash FROM open311_report_log")
    assert len(hashes) == LIMIT + 1
    assert len({row.client_hash for row in hashes}) == 2
    dump = str(await case.rows("SELECT * FROM open311_report_log"))
    assert "198.51.100.7" not in dump
    assert "203.0.113.9" not in dump


async def test_invalid_reports_do_not_count_and_old_reports_leave_the_window(
        case: CaseHarness) -> None:
    async with from_address(case, "198.51.100.8") as client:
        for _ in range(LIMIT + 2):
            assert (await client.post(URL, data={**REPORT, "lat": "95"})).status_code == 400
        for _ in range(LIMIT):
            assert (await client.post(URL, data=REPORT)).status_code == 201
        assert (await client.post(URL, data=REPORT)).status_code == 429
        await case.execute("UPDATE open311_report_log SET at = at - interval '61 minutes'")
        assert (await client.post(URL, data=REPORT)).status_code == 201
    # The client's entries older than the window were removed on that report.
    assert await case.scalar("SELECT count(*) FROM open311_report_log") == 1


async def test_an_ipv6_subscriber_prefix_shares_one_limit(case: CaseHarness) -> None:
    for host in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"):
        async with from_address(case, host) as client:
            assert (await client.post(URL, data=REPORT)).status_code == 201
    async with from_address(case, "2001:db8:1:2::99") as client:
        assert (await client.post(URL, data=REPORT)).status_code == 429
    async with from_address(case, "2001:db8:1:3::1") as client:
        assert (await client.post(URL, data=REPORT)).status_code == 201


async def _concurrent_reports(h: CaseHarness, address: str, count: int) -> list[int]:
    async with from_address(h, address) as client:
        responses: list[Any] = await asyncio.gather(
            *(client.post(URL, data=REPORT) for _ in range(count)))
    return [r.status_code for r in responses]


async def test_concurrent_reports_of_one_address_admit_exactly_the_limit(
        case: CaseHarness) -> None:
    statuses = await _concurrent_reports(case, "198.51.100.20", 8)
    assert sorted(statuses) == [201] * LIMIT + [429] * (8 - LIMIT)
    assert await case.scalar("SELECT count(*) FROM cases") == LIMIT


async def test_negative_control_without_the_lock_concurrent_reports_pass_the_limit(
        case: CaseHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_lock(session: Any, digest: str) -> None:
        return None

    monkeypatch.setattr(ratelimit, "_serialize", no_lock)
    statuses = await _concurrent_reports(case, "198.51.100.21", 8)
    assert statuses.count(201) > LIMIT


async def test_the_purge_job_deletes_entries_past_the_window_only(case: CaseHarness) -> None:
    for minutes in (120, 61, 5):
        await case.execute("INSERT INTO open311_report_log (client_hash, at) "
                           "VALUES (repeat('a', 64), now() - make_interval(mins => :m))",
                           m=minutes)
    stop = asyncio.Event()
    job = asyncio.create_task(ratelimit.purge_report_log(case.sessions, case.settings, stop))
    for _ in range(100):
        if await case.scalar("SELECT count(*) FROM open311_report_log") == 1:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(job, timeout=5)
    assert await case.scalar("SELECT count(*) FROM open311_report_log "
                             "WHERE at > now() - interval '10 minutes'") == 1
    assert await case.scalar("SELECT count(*) FROM open311_report_log") == 1
