"""Seeds the demo library (``catalogue.demo_library``) into the case database; safe to run on
every start and concurrently: rows have fixed ids, so a second run changes nothing.

A database seeded by an older demo library (the local stack keeps its data) is brought up to
date without touching what exists: a demo definition that changed becomes the service's next
definition version (drafts and cases keep theirs), unless a library admin wrote a newer version
(then that one stays newest); the parts' departments, a column added after the first demo
parameters, are filled into the seeded parameters while they have none.

``python -m case_service.seed [--demo-file .local/demo.json]`` reads the settings from the
environment like the API, seeds the library, one intake destination per tenant and (with the
identity seed's demo file, for the citizens' account ids) the demo cases, and merges the ids
under the key ``case`` into the demo file, for the README's curl examples and the demo frontend.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from case_service.catalogue.demo_library import (
    DEMO_SERVICES,
    DEMO_VALID_FROM,
    LIBRARY,
    DemoService,
    definition_id,
    parameters_id,
)
from case_service.catalogue.models import Service, ServiceDefinition, ServiceParameters
from case_service.demo_cases import seed_cases
from case_service.intake.models import Destination
from case_service.intake.router import PREFIX as INTAKE_PREFIX
from case_service.intake.seed import seed_destinations
from case_service.settings import CaseSettings
from city_shared.db import create_engine, create_session_factory
from city_shared.demo_file import merge_demo_file, read_demo_file
from city_shared.production import refuse_demo_seed
from city_shared.unit_of_work import unit_of_work

__all__ = ["DEMO_SERVICES", "SEEDED_BY", "destinations", "main", "merge_demo_file", "seed_library"]

SEEDED_BY = "seed:demo-library"


def _content(item: DemoService) -> dict[str, Any]:
    """What a definition version of ``item`` holds, as its JSON columns read back."""
    content: dict[str, Any] = json.loads(json.dumps({
        "names": item.names, "descriptions": item.descriptions, "keywords": item.keywords,
        "form_schema": item.form_schema, "attachments": item.attachments,
        "fee_rule": item.fee_rule, "process": item.process}))
    return {**content, "trust_level": item.trust_level,
            "processing_days": item.processing_days, "public_report": item.public_report,
            "anonymous": item.anonymous}


def _rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    services, definitions, parameters = [], [], []
    for item in LIBRARY:
        services.append({"id": item.id, "leika_key": item.leika_key, "slug": item.slug,
                         "latest_version": 1})
        definitions.append({"id": definition_id(item.slug), "service_id": item.id,
                            "version": 1, **_content(item), "created_by": SEEDED_BY})
        for tenant, local in item.parameters.items():
            parameters.append({
                "id": parameters_id(tenant, item.slug), "tenant": tenant,
                "department": local.department, "service_id": item.id, "version": 1,
                "valid_from": DEMO_VALID_FROM, "valid_to": None, "offered": True,
                "cost_centre": local.cost_centre, "revenue_shares": local.revenue_shares,
                "fee_values": local.fee_values, "currency": "EUR",
                "trust_level": local.trust_level, "texts": local.texts,
                "retention_days": local.retention_days,
                "part_departments": local.part_departments, "created_by": SEEDED_BY})
    return services, definitions, parameters


async def _upgrade_definition(session: AsyncSession, item: DemoService) -> None:
    """Add the demo definition as the next version if the newest one is an older demo
    definition. The service row lock serializes concurrent seeds (and library admins)."""
    service = await session.scalar(select(Service).where(Service.id == item.id)
                                   .with_for_update())
    if service is None:
        return
    newest = await session.scalar(select(ServiceDefinition).where(
        ServiceDefinition.service_id == item.id,
        ServiceDefinition.version == service.latest_version))
    wanted = _content(item)
    if newest is None or newest.created_by != SEEDED_BY or all(
            getattr(newest, name) == value for name, value in wanted.items()):
        return
    service.latest_version += 1
    session.add(ServiceDefinition(id=definition_id(item.slug, service.latest_version),
                                  service_id=item.id, version=service.latest_version,
                                  **wanted, created_by=SEEDED_BY))
    await session.flush()


async def _fill_part_departments(session: AsyncSession, item: DemoService) -> None:
    """Set the demo parameters' part departments where the seeded set has none yet."""
    for tenant, local in item.parameters.items():
        if not local.part_departments:
            continue
        await session.execute(
            update(ServiceParameters)
            .where(ServiceParameters.id == parameters_id(tenant, item.slug),
                   ServiceParameters.created_by == SEEDED_BY,
                   ServiceParameters.part_departments == {})
            .values(part_departments=local.part_departments))


async def seed_library(engine: AsyncEngine) -> None:
    """Insert what is missing of the demo library and bring an older demo library up to date,
    in one transaction.

    Idempotent: every insert is ``ON CONFLICT DO NOTHING`` (also against the unique LeiKa key
    and slug and the validity exclusion constraint), so existing rows, newer versions and
    parameters a tenant wrote itself stay as they are. A demo definition that differs from
    the service's newest version, when that one was seeded too, is added as the next version;
    seeded parameters without part departments get the demo's.
    """
    services, definitions, parameters = _rows()
    async with unit_of_work(create_session_factory(engine)) as session:
        await session.execute(insert(Service).values(services).on_conflict_do_nothing())
        await session.execute(
            insert(ServiceDefinition).values(definitions).on_conflict_do_nothing())
        await session.execute(
            insert(ServiceParameters).values(parameters).on_conflict_do_nothing())
        for item in LIBRARY:
            await _upgrade_definition(session, item)
            await _fill_part_departments(session, item)


async def destinations(engine: AsyncEngine, base_url: str) -> dict[str, dict[str, str]]:
    """tenant -> its intake destination's id and the URLs of the destination and its public
    encryption key (what an outside online service fetches before encrypting)."""
    async with create_session_factory(engine)() as session:
        rows = await session.execute(
            select(Destination.tenant, Destination.id, Destination.encryption_kid)
            .order_by(Destination.tenant, Destination.id))
    found: dict[str, dict[str, str]] = {}
    for tenant, destination_id, kid in rows:
        url = f"{base_url}{INTAKE_PREFIX}/destinations/{destination_id}"
        found.setdefault(tenant, {"destination_id": str(destination_id),
                                  "destination_url": url,
                                  "public_key_url": f"{url}/keys/{kid}"})
    return found


async def _seed(settings: CaseSettings, demo: dict[str, Any], *,
                key_bits: int) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    engine = create_engine(settings.database_url.get_secret_value(), pool_size=1)
    try:
        await seed_library(engine)
        await seed_destinations(engine, settings, key_bits=key_bits)
        cases = await seed_cases(engine, settings, demo)
        return await destinations(engine, settings.base_url), cases
    finally:
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    """Entry point: seed the demo library, intake destinations and demo cases into
    ``CITY_DATABASE_URL``, merge the ids into ``--demo-file`` (if given) and return the
    ``case`` part of it. Demo cases need the citizens' account ids the identity seed wrote to
    the demo file, so without it (or before identity's seed) there are none."""
    parser = argparse.ArgumentParser(prog="python -m case_service.seed")
    parser.add_argument("--demo-file", type=Path, default=None,
                        help="JSON file to read the demo accounts from and to merge the ids "
                             "into (key 'case')")
    # FIT-Connect asks for 4096-bit RSA keys; generating the four keys takes about 10 s, once.
    parser.add_argument("--intake-key-bits", type=int, default=4096, choices=(2048, 3072, 4096),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    settings = CaseSettings()
    refuse_demo_seed(settings.env)
    intake, cases = asyncio.run(_seed(settings, read_demo_file(args.demo_file),
                                      key_bits=args.intake_key_bits))
    case: dict[str, object] = {"api": settings.base_url, "services": {
        slug: str(service_id) for slug, service_id in DEMO_SERVICES.items()},
        "intake": intake, "cases": cases}
    if args.demo_file is not None:
        merge_demo_file(args.demo_file, "case", case)
    print(f"case seed: demo library of {len(LIBRARY)} services, parameters of "
          f"{len({t for s in LIBRARY for t in s.parameters})} tenants, "
          f"{len(intake)} intake destinations, {len(cases)} demo cases"
          + (f"; ids in {args.demo_file}" if args.demo_file else ""))
    return case


if __name__ == "__main__":
    main()
