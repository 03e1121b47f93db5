"""The audit trail is append-only in the database: UPDATE, DELETE and TRUNCATE by raw SQL are
refused, while the retention purge still removes a case file with its trail."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.exc import DBAPIError

from case_service.attachments.storage import blob_storage
from case_service.retention import purge_expired_cases
from city_shared.unit_of_work import unit_of_work

from .conftest import CaseHarness
from .test_workflow_kit import act, parking_case, staff


@pytest.mark.parametrize("statement", [
    "UPDATE case_audit SET actor = 'staff:someone-else'",
    "UPDATE case_audit SET after = NULL WHERE action = 'start_review'",
    "DELETE FROM case_audit",
    "DELETE FROM case_audit WHERE action = 'submit'",
    "TRUNCATE case_audit",
])
async def test_the_database_refuses_to_alter_the_trail(case: CaseHarness,
                                                       statement: str) -> None:
    c = await parking_case(case)
    assert (await act(case, c["id"], "start_review", staff(case))).status_code == 200
    before = await case.rows("SELECT id, actor, action, after FROM case_audit ORDER BY id")
    assert [r.action for r in before][:3] == ["submit", "paid", "start_review"]

    with pytest.raises(DBAPIError, match="append-only"):
        await case.execute(statement)

    assert await case.rows("SELECT id, actor, action, after FROM case_audit ORDER BY id") == before


async def test_the_retention_purge_removes_a_case_with_its_trail(case: CaseHarness) -> None:
    kept = await parking_case(case)
    purged = await parking_case(case)
    await case.execute("UPDATE cases SET retain_until = '2000-01-01' WHERE id = :c",
                       c=purged["id"])

    async with unit_of_work(case.sessions) as session:
        gone = await purge_expired_cases(session, today=date.today(),
                                         storage=blob_storage(case.settings))

    assert [str(g) for g in gone] == [purged["id"]]
    assert await case.scalar("SELECT count(*) FROM case_audit WHERE case_id = :c",
                             c=purged["id"]) == 0
    assert await case.scalar("SELECT count(*) FROM case_audit WHERE case_id = :c",
                             c=kept["id"]) == 2
