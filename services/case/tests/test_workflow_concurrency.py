"""Two clerks deciding one case at once: the case row is locked before its version is
compared with ``If-Match``, so exactly one decision is taken and the other clerk gets 412. The
negative control reads the case without the lock and shows the test catches a double
decision."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text

from case_service.cases import repository

from .conftest import CaseHarness
from .test_workflow_kit import act, events_of, get, parking_case, staff

_WAITING = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")


async def _in_review(case: CaseHarness) -> tuple[str, int]:
    c = await parking_case(case)
    assert (await act(case, c["id"], "start_review", staff(case))).status_code == 200
    return c["id"], (await get(case, c["id"], staff(case)))["version"]


def _rejecting(case: CaseHarness, cid: str, version: int) -> list[Any]:
    return [act(case, cid, "reject", staff(case), version=version,
                public_note=f"Abgelehnt von {n}.") for n in ("A", "B")]


async def _decisions(case: CaseHarness, cid: str) -> tuple[int, int]:
    decided = len(await events_of(case, cid, "city.case.case.decided.v1"))
    audited = await case.scalar(
        "SELECT count(*) FROM case_audit WHERE case_id = :c AND action = 'reject'", c=cid)
    return decided, int(audited)


async def test_two_clerks_deciding_at_once_exactly_one_wins(case: CaseHarness) -> None:
    cid, version = await _in_review(case)
    async with case.engine.connect() as blocker:
        await blocker.execute(text("SELECT 1 FROM cases WHERE id = :c FOR UPDATE"), {"c": cid})
        racing = [asyncio.create_task(call) for call in _rejecting(case, cid, version)]
        for _ in range(1000):  # both requests queue on the row lock, then it is let go
            if await case.scalar(_WAITING) >= 2:
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("the two decisions never waited on the case's row lock")
        await blocker.rollback()
        responses = await asyncio.gather(*racing)

    assert sorted(r.status_code for r in responses) == [200, 412]
    [lost] = [r for r in responses if r.status_code == 412]
    assert lost.json()["code"] == "case_version_mismatch"
    assert lost.json()["version"] == version + 1
    assert await _decisions(case, cid) == (1, 1)
    assert (await get(case, cid, staff(case)))["version"] == version + 1


async def test_negative_control_without_the_lock_both_decide(
        case: CaseHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    cid, version = await _in_review(case)
    original = repository.get_visible
    both_read = asyncio.Barrier(2)
    racing = 2

    async def unlocked(*args: Any, **kwargs: Any) -> Any:
        nonlocal racing
        kwargs["for_update"] = False
        found = await original(*args, **kwargs)
        if racing > 0:  # both racers have read the case before either writes
            racing -= 1
            await both_read.wait()
        return found

    monkeypatch.setattr(repository, "get_visible", unlocked)
    responses = await asyncio.gather(*_rejecting(case, cid, version))
    monkeypatch.undo()

    assert [r.status_code for r in responses] == [200, 200]
    assert await _decisions(case, cid) == (2, 2)
