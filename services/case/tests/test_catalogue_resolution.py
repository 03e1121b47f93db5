"""Resolution of (tenant, service, date) to exactly one configuration: before, inside and
after a period, in a gap, across adjacent versions, and the trust level that applies."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from case_service.catalogue.demo_library import DEMO_SERVICES
from case_service.catalogue.errors import NoParametersOn, ServiceNotFound, ServiceNotOffered
from case_service.catalogue.resolution import resolve

BIRTH = DEMO_SERVICES["geburtsurkunde"]


async def _resolve(case: Any, on: date, tenant: str = "musterstadt") -> Any:
    async with case.sessions() as session:
        return await resolve(session, tenant=tenant, service_id=BIRTH, on=on)


async def _split(case: Any) -> None:
    """musterstadt's birth certificate: 1200 until 2026-07-01, a gap in July, then 1400
    (version 3, trust level high) from 2026-08-01 until 2027-01-01, then 1600 (version 4)."""
    await case.execute("UPDATE service_parameters SET valid_to = '2026-07-01' "
                       "WHERE service_id = :id AND tenant = 'musterstadt'", id=BIRTH)
    for version, start, end, amount, level in (
            (3, date(2026, 8, 1), date(2027, 1, 1), 1400, "high"),
            (4, date(2027, 1, 1), None, 1600, None)):
        await case.execute(
            "INSERT INTO service_parameters (id, tenant, department, service_id, version, "
            "valid_from, valid_to, cost_centre, fee_values, trust_level, retention_days, "
            "created_by) VALUES (gen_random_uuid(), 'musterstadt', 'citizens-office', :id, "
            ":version, :start, :end, 'BB-1100', "
            "CAST(:values AS jsonb), :level, 365, 'test')",
            id=BIRTH, version=version, start=start, end=end,
            values=f'{{"certificate": {amount}}}', level=level)


async def test_inside_a_period_each_tenant_gets_its_own(case: Any) -> None:
    ms = await _resolve(case, date(2026, 3, 1))
    bh = await _resolve(case, date(2026, 3, 1), tenant="beispielhausen")
    assert ms.parameters.fee_values == {"certificate": 1200}
    assert bh.parameters.fee_values == {"certificate": 1500}
    assert ms.definition.version == 1
    assert ms.effective_trust_level == "substantial"


async def test_before_the_first_period_is_no_parameters(case: Any) -> None:
    with pytest.raises(NoParametersOn) as raised:
        await _resolve(case, date(2025, 12, 31))
    assert raised.value.extra["date"] == "2025-12-31"


async def test_gap_after_and_adjacent_versions(case: Any) -> None:
    await _split(case)
    assert (await _resolve(case, date(2026, 6, 30))).parameters.version == 1
    with pytest.raises(NoParametersOn):
        await _resolve(case, date(2026, 7, 1))
    with pytest.raises(NoParametersOn):
        await _resolve(case, date(2026, 7, 31))
    august = await _resolve(case, date(2026, 8, 1))
    assert (august.parameters.version, august.effective_trust_level) == (3, "high")
    # The end is exclusive: the last day of version 3, then version 4 on the next day.
    assert (await _resolve(case, date(2026, 12, 31))).parameters.version == 3
    january = await _resolve(case, date(2027, 1, 1))
    assert (january.parameters.version, january.effective_trust_level) == (4, "substantial")
    assert (await _resolve(case, date(2099, 1, 1))).parameters.version == 4


async def test_after_a_closed_last_period(case: Any) -> None:
    await case.execute("UPDATE service_parameters SET valid_to = '2026-06-01' "
                       "WHERE service_id = :id AND tenant = 'beispielhausen'", id=BIRTH)
    with pytest.raises(NoParametersOn):
        await _resolve(case, date(2026, 6, 1), tenant="beispielhausen")
    assert (await _resolve(case, date(2026, 5, 31), tenant="beispielhausen")).tenant == \
        "beispielhausen"


async def test_not_offered_unknown_tenant_and_unknown_service(case: Any) -> None:
    await case.execute("UPDATE service_parameters SET offered = false "
                       "WHERE service_id = :id AND tenant = 'beispielhausen'", id=BIRTH)
    with pytest.raises(ServiceNotOffered):
        await _resolve(case, date(2026, 3, 1), tenant="beispielhausen")
    with pytest.raises(ServiceNotFound):
        await _resolve(case, date(2026, 3, 1), tenant="nowhere")
    async with case.sessions() as session:
        with pytest.raises(ServiceNotFound):
            await resolve(session, tenant="musterstadt", service_id=uuid.uuid4(),
                          on=date(2026, 3, 1))
