"""Queries of the Open311 view: the tenant's candidate services and its Open311 reports (cases
of the ``open311`` channel) with the definition and library entry each was submitted under.
Reads only; never commits."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.cases.models import Case
from case_service.catalogue.models import Service, ServiceDefinition, ServiceParameters

__all__ = [
    "CHANNEL",
    "Report",
    "ReportFilter",
    "find_reports",
    "report_by_number",
    "service_by_slug",
    "services_with_parameters",
    "tenant_has_parameters",
]

CHANNEL = "open311"


@dataclass(frozen=True, slots=True)
class Report:
    """A case of the Open311 channel with what its public view needs."""

    case: Case
    definition: ServiceDefinition
    service: Service


@dataclass(frozen=True, slots=True)
class ReportFilter:
    """``GET requests.json``'s filters: ``numbers`` wins over the others (as the spec says);
    ``closed`` None means either status, ``closed_statuses`` are the case statuses that count
    as closed."""

    numbers: Sequence[str] | None
    service_id: uuid.UUID | None
    start: datetime
    end: datetime | None
    closed: bool | None
    closed_statuses: Collection[str]
    limit: int


async def tenant_has_parameters(session: AsyncSession, tenant: str) -> bool:
    """True if any service has parameters for ``tenant`` (the tenant runs the case service)."""
    found = await session.scalar(select(ServiceParameters.id)
                                 .where(ServiceParameters.tenant == tenant).limit(1))
    return found is not None


async def services_with_parameters(session: AsyncSession, tenant: str) -> list[Service]:
    """Library services ``tenant`` has parameters for, by slug."""
    subquery = select(ServiceParameters.service_id).where(ServiceParameters.tenant == tenant)
    return list((await session.scalars(
        select(Service).where(Service.id.in_(subquery)).order_by(Service.slug))).all())


async def service_by_slug(session: AsyncSession, slug: str) -> Service | None:
    service: Service | None = await session.scalar(select(Service).where(Service.slug == slug))
    return service


def _reports(tenant: str) -> Select[tuple[Case, ServiceDefinition, Service]]:
    return (select(Case, ServiceDefinition, Service)
            .join(ServiceDefinition, ServiceDefinition.id == Case.definition_id)
            .join(Service, Service.id == Case.service_id)
            .where(Case.tenant == tenant, Case.channel == CHANNEL))


async def find_reports(session: AsyncSession, tenant: str, where: ReportFilter) -> list[Report]:
    """``tenant``'s Open311 reports matching ``where``, newest first, at most ``where.limit``."""
    query = _reports(tenant)
    if where.numbers is not None:
        query = query.where(Case.number.in_(list(where.numbers)))
    else:
        query = query.where(Case.submitted_at >= where.start)
        if where.end is not None:
            query = query.where(Case.submitted_at <= where.end)
        if where.service_id is not None:
            query = query.where(Case.service_id == where.service_id)
        if where.closed is True:
            query = query.where(Case.status.in_(list(where.closed_statuses)))
        elif where.closed is False:
            query = query.where(Case.status.not_in(list(where.closed_statuses)))
    rows = (await session.execute(
        query.order_by(Case.submitted_at.desc(), Case.number.desc()).limit(where.limit))).all()
    return [Report(case, definition, service) for case, definition, service in rows]


async def report_by_number(session: AsyncSession, tenant: str, number: str) -> Report | None:
    row = (await session.execute(_reports(tenant).where(Case.number == number))).first()
    return None if row is None else Report(row[0], row[1], row[2])
