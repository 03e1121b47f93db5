"""The demo library seed: every service with both tenants' parameters, and a second run (as on
every start) changes nothing."""

from __future__ import annotations

from typing import Any

from case_service.catalogue.demo_library import DEMO_SERVICES, LIBRARY
from case_service.catalogue.parameter_schemas import RevenueShare
from case_service.catalogue.validation import (
    check_attachments,
    check_fee_rule_syntax,
    check_fee_values,
    check_leika_key,
    check_revenue_shares,
)
from case_service.fees import FeeRule
from case_service.forms import check_form_schema
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
        for local in service.parameters.values():
            check_fee_values(rule, local.fee_values)
            check_revenue_shares(local.revenue_shares)
            for share in local.revenue_shares:
                RevenueShare.model_validate(share)


async def test_the_command_merges_the_ids_into_the_demo_file(
        case: Any, tmp_path: Any, monkeypatch: Any) -> None:
    import asyncio
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
