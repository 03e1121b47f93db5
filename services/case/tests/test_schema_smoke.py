"""The migrated schema: parameters of one (tenant, service) never overlap in time, even when
written past the API, and a case number is unique per tenant."""

import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError


async def _service(case: Any) -> uuid.UUID:
    service_id = uuid.uuid4()
    await case.execute("INSERT INTO services (id, leika_key, slug) VALUES (:id, :key, :slug)",
                       id=service_id, key="urn:de:fim:leika:leistung:99000000000001",
                       slug="smoke")
    return service_id


async def _parameters(case: Any, service_id: uuid.UUID, version: int, valid_from: str,
                      valid_to: str | None, tenant: str = "musterstadt") -> None:
    await case.execute(
        "INSERT INTO service_parameters (id, tenant, department, service_id, version, "
        "valid_from, valid_to, cost_centre, retention_days, created_by) VALUES (:id, :tenant, "
        "'citizens-office', :service, :version, :f, :t, 'BB-1100', "
        "365, 'test')",
        id=uuid.uuid4(), tenant=tenant, service=service_id, version=version,
        f=date.fromisoformat(valid_from), t=date.fromisoformat(valid_to) if valid_to else None)


async def test_overlapping_validity_is_refused_by_the_table(case_db: Any) -> None:
    service_id = await _service(case_db)
    await _parameters(case_db, service_id, 1, "2026-01-01", "2027-01-01")
    await _parameters(case_db, service_id, 2, "2027-01-01", None)  # adjacent: fine
    await _parameters(case_db, service_id, 1, "2026-06-01", None, tenant="beispielhausen")
    with pytest.raises(IntegrityError, match="ex_service_parameters_validity"):
        await _parameters(case_db, service_id, 3, "2026-12-31", "2027-02-01")
    assert await case_db.scalar("SELECT count(*) FROM service_parameters") == 3
