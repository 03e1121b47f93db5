"""The demo library seed: every service with both tenants' parameters, and a second run (as on
every start) changes nothing; a database seeded by an older demo library gets the changed
definitions as new versions and the parts' departments, and keeps what admins wrote."""

from __future__ import annotations

import asyncio
from typing import Any

from case_service.catalogue.demo_library import (
    DEMO_SERVICES,
    LIBRARY,
    definition_id,
    parameters_id,
)
from case_service.catalogue.parameter_schemas import RevenueShare
from case_service.catalogue.validation import (
    check_attachments,
    check_fee_rule_syntax,
    check_fee_values,
    check_leika_key,
    check_part_departments,
    check_revenue_shares,
)
from case_service.fees import FeeRule
from case_service.forms import check_form_schema
from case_service.process.default import DEFAULT_PROCESS
from case_service.process.validation import check_process
from case_service.seed import seed_library
from case_service.settings import CaseSettings

_SNAPSHOT = ("SELECT 'service', id::text, slug FROM services UNION ALL "
             "SELECT 'definition', id::text, service_id::text || ':' || version "
             "FROM service_definitions UNION ALL "
             "SELECT 'parameters', id::text, tenant || ':' || version || ':' || "
             "fee_values::text FROM service_parameters ORDER BY 1, 2")


async def test_demo_library_is_seeded_with_both_tenants(case: Any) -> None:
    slugs = {row.slug for row in await case.rows("SELECT slug FROM services")}
    assert slugs == set(DEMO_SERVICES)
    birth = DEMO_SERVICES["geburtsurkunde"]
    fees = dict(await case.rows(
        "SELECT tenant, (fee_values->>'certificate')::int FROM service_parameters "
        "WHERE service_id = :id", id=birth))
    assert fees == {"musterstadt": 1200, "beispielhausen": 1500}
    road = await case.rows("SELECT public_report, anonymous FROM service_definitions "
                           "WHERE service_id = :id", id=DEMO_SERVICES["strassenschaden"])
    assert [tuple(r) for r in road] == [(True, True)]


async def test_seed_twice_changes_nothing(case: Any) -> None:
    before = await case.rows(_SNAPSHOT)
    await seed_library(case.engine)
    await seed_library(case.engine)
    assert await case.rows(_SNAPSHOT) == before
    assert len(before) == len(LIBRARY) * 4


def test_the_demo_library_passes_the_checks_of_the_api() -> None:
    """The seed writes rows directly; they must be what the API would have accepted."""
    max_bytes = CaseSettings().attachment_max_bytes
    for service in LIBRARY:
        check_leika_key(service.leika_key)
        check_form_schema(service.form_schema)
        check_attachments(service.attachments, max_bytes=max_bytes)
        rule = FeeRule.model_validate(service.fee_rule)
        check_fee_rule_syntax(rule)
        process = DEFAULT_PROCESS if service.process is None else check_process(service.process)
        for local in service.parameters.values():
            check_part_departments(local.part_departments, process)
            check_fee_values(rule, local.fee_values)
            check_revenue_shares(local.revenue_shares)
            for share in local.revenue_shares:
                RevenueShare.model_validate(share)


async def test_the_command_merges_the_ids_into_the_demo_file(
        case: Any, tmp_path: Any, monkeypatch: Any) -> None:
    import json

    from case_service.seed import main

    demo = tmp_path / "demo.json"
    demo.write_text(json.dumps({"identity": {"kept": True}}), encoding="utf-8")
    monkeypatch.setenv("CITY_DATABASE_URL", case.url)
    before = await case.rows(_SNAPSHOT)
    await asyncio.to_thread(main, ["--demo-file", str(demo), "--intake-key-bits", "2048"])
    written = json.loads(demo.read_text(encoding="utf-8"))
    assert written["identity"] == {"kept": True}
    assert written["case"]["services"]["geburtsurkunde"] == str(DEMO_SERVICES["geburtsurkunde"])
    assert await case.rows(_SNAPSHOT) == before


PARKING = DEMO_SERVICES["bewohnerparkausweis"]
_PARKING_MS = parameters_id("musterstadt", "bewohnerparkausweis")


async def _as_seeded_before_processes(case: Any) -> None:
    """The database as the demo library before processes and parts left it."""
    await case.execute("UPDATE service_definitions SET process = NULL")
    await case.execute("UPDATE service_parameters SET part_departments = '{}'")


async def _versions(case: Any, service: Any) -> list[tuple[int, Any, str]]:
    return [tuple(r) for r in await case.rows(
        "SELECT version, process->'states'->'in_review'->'parts'->0->>'key', id::text "
        "FROM service_definitions WHERE service_id = :id ORDER BY version", id=service)]


async def test_a_fresh_database_gets_the_processes_in_version_1(case: Any) -> None:
    assert await _versions(case, PARKING) == [
        (1, "traffic_check", str(definition_id("bewohnerparkausweis")))]
    departments = dict(await case.rows(
        "SELECT tenant, part_departments FROM service_parameters WHERE service_id = :id",
        id=PARKING))
    assert departments == {"musterstadt": {"traffic_check": "traffic"}, "beispielhausen": {}}


async def test_an_older_demo_library_is_brought_up_to_date_once(case: Any) -> None:
    await _as_seeded_before_processes(case)
    await asyncio.gather(seed_library(case.engine), seed_library(case.engine))
    # The changed definition is the next version; version 1 (cases keep it) is unchanged.
    assert await _versions(case, PARKING) == [
        (1, None, str(definition_id("bewohnerparkausweis"))),
        (2, "traffic_check", str(definition_id("bewohnerparkausweis", 2)))]
    assert await case.scalar("SELECT latest_version FROM services WHERE id = :id",
                             id=PARKING) == 2
    exemption = DEMO_SERVICES["hundesteuer-befreiung"]
    assert await case.scalar(
        "SELECT process->'states' ? 'awaiting_signoff' FROM service_definitions "
        "WHERE service_id = :id AND version = 2", id=exemption) is True
    # Services whose demo definition did not change get no new version.
    birth = DEMO_SERVICES["geburtsurkunde"]
    assert [v for v, _, _ in await _versions(case, birth)] == [1]
    assert await case.scalar("SELECT part_departments->>'traffic_check' FROM "
                             "service_parameters WHERE id = :id", id=_PARKING_MS) == "traffic"
    snapshot = await case.rows(_SNAPSHOT)
    await seed_library(case.engine)
    assert await case.rows(_SNAPSHOT) == snapshot


async def test_what_admins_wrote_stays(case: Any) -> None:
    await _as_seeded_before_processes(case)
    await case.execute("UPDATE service_parameters SET part_departments = "
                       "'{\"traffic_check\": \"citizens-office\"}' WHERE id = :id",
                       id=_PARKING_MS)
    version = (await case.client.get(f"/library/services/{PARKING}/versions/1")).json()
    body = {k: v for k, v in version.items() if k not in (
        "id", "service_id", "version", "created_at", "created_by", "process")}
    created = await case.client.post(f"/library/services/{PARKING}/versions", json=body,
                                     headers=case.platform_admin_headers())
    assert created.status_code == 201, created.text
    await seed_library(case.engine)
    assert [(v, key) for v, key, _ in await _versions(case, PARKING)] == [(1, None), (2, None)]
    assert await case.scalar("SELECT part_departments->>'traffic_check' FROM "
                             "service_parameters WHERE id = :id",
                             id=_PARKING_MS) == "citizens-office"
