"""The demo city's templates and rules: ``python -m notification_service.seed``.

Reads :class:`NotificationSettings` from the environment like the service. Idempotent: a
template gets a new version only when its texts or variables differ from the current one; a
rule is created or brought up to date. Tenants: ``musterstadt`` and ``beispielhausen``
(override with ``--tenant``).
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.db import create_engine, create_session_factory
from city_shared.production import refuse_demo_seed
from city_shared.unit_of_work import unit_of_work
from notification_service.rules import repository as rules_repository
from notification_service.rules.models import Rule
from notification_service.seed_case_texts import CASE_RULES, CASE_TEMPLATES
from notification_service.seed_texts import RULES, TEMPLATES
from notification_service.settings import NotificationSettings
from notification_service.templates import repository as templates_repository
from notification_service.templates.models import Template, TemplateVersion
from notification_service.templates.schemas import TemplateCreate
from notification_service.templates.service import validate

__all__ = ["DEMO_TENANTS", "main", "seed", "seed_tenant"]

DEMO_TENANTS = ("musterstadt", "beispielhausen")
_SEEDER = "seed"


async def _upsert_template(session: AsyncSession, tenant: str, data: TemplateCreate) -> str:
    validate(data)
    variables = [v.model_dump() for v in data.variables]
    content = data.content.model_dump(mode="json", exclude_none=True)
    template = await templates_repository.find_by_key(session, tenant, data.key, None,
                                                      exact=True)
    if template is None:
        template = Template(id=uuid.uuid4(), tenant=tenant, department=None, key=data.key,
                            description=data.description, current_version=1)
        session.add(template)
        await session.flush()
        session.add(TemplateVersion(template_id=template.id, version=1, variables=variables,
                                    content=content, created_by=_SEEDER))
        return "created"
    current = await templates_repository.get_version(session, template.id,
                                                     template.current_version)
    if current is not None and current.variables == variables and current.content == content:
        return "unchanged"
    template.current_version += 1
    template.description = data.description
    template.updated_at = datetime.now(UTC)
    session.add(TemplateVersion(template_id=template.id, version=template.current_version,
                                variables=variables, content=content, created_by=_SEEDER))
    return "new version"


async def _upsert_rule(session: AsyncSession, tenant: str, event_type: str, key: str,
                       channels: list[str], legally_required: bool) -> str:
    rule = await rules_repository.find_exact(session, tenant, None, event_type)
    if rule is None:
        session.add(Rule(id=uuid.uuid4(), tenant=tenant, department=None, event_type=event_type,
                         template_key=key, channels=channels,
                         legally_required=legally_required, enabled=True))
        return "created"
    if (rule.template_key, rule.channels, rule.legally_required, rule.enabled) == (
            key, channels, legally_required, True):
        return "unchanged"
    rule.template_key, rule.channels = key, channels
    rule.legally_required, rule.enabled = legally_required, True
    rule.updated_at = datetime.now(UTC)
    return "updated"


async def seed_tenant(session: AsyncSession, tenant: str) -> dict[str, str]:
    """Upsert the demo templates and rules of ``tenant`` (flushes, does not commit)."""
    results: dict[str, str] = {}
    for raw in [*TEMPLATES, *CASE_TEMPLATES]:
        data = TemplateCreate.model_validate(raw)
        results[f"template {data.key}"] = await _upsert_template(session, tenant, data)
    for event_type, key, channels, legally_required in [*RULES, *CASE_RULES]:
        results[f"rule {event_type}"] = await _upsert_rule(session, tenant, event_type, key,
                                                           channels, legally_required)
    await session.flush()
    return results


async def seed(settings: NotificationSettings, tenants: Sequence[str] = DEMO_TENANTS) -> None:
    """Seed ``tenants`` in one transaction."""
    engine = create_engine(settings.database_url.get_secret_value(), pool_size=1)
    try:
        async with unit_of_work(create_session_factory(engine)) as session:
            for tenant in tenants:
                for name, result in (await seed_tenant(session, tenant)).items():
                    print(f"{tenant}: {name}: {result}")
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Seed the demo city's notification templates")
    parser.add_argument("--tenant", action="append", help="seed only these tenants")
    args = parser.parse_args(argv)
    settings = NotificationSettings()
    refuse_demo_seed(settings.env)
    asyncio.run(seed(settings, args.tenant or DEMO_TENANTS))


if __name__ == "__main__":
    main()
