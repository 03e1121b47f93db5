"""Use cases of a tenant's parameters: tenant admins and the responsible department's managers
write new versions and close periods; staff of that department read them. Validity periods of
one (tenant, service) never overlap: checked here with a readable answer, and guaranteed by the
exclusion constraint against concurrent writers. Never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.access import (
    readable_parameter_departments,
    require_parameters_writer,
)
from case_service.catalogue.errors import (
    ConcurrentChange,
    InvalidParameters,
    ParametersNotFound,
    ParametersOverlap,
    TenantNotFound,
    TrustLevelTooLow,
)
from case_service.catalogue.models import Service, ServiceParameters
from case_service.catalogue.parameter_schemas import ParametersCreate
from case_service.catalogue.resolution import TRUST_LEVELS, newest_definition
from case_service.catalogue.validation import (
    check_fee_values,
    check_part_departments,
    check_revenue_shares,
)
from case_service.fees import FeeRule
from case_service.process.default import DEFAULT_PROCESS
from case_service.process.spec import ProcessSpec
from city_shared.auth import Principal
from city_shared.errors import Forbidden

__all__ = ["create_parameters", "end_parameters", "get_parameters", "list_parameters"]

_EXCLUSION: Final = "ex_service_parameters_validity"
_VERSION_UNIQUE: Final = "uq_service_parameters_version"
#: Each lost race means another writer's version was committed, so this bounds the retries
#: for that many writers at the same moment.
_ATTEMPTS: Final = 16


def _own_tenant(principal: Principal, tenant: str) -> None:
    if principal.tenant != tenant:
        raise TenantNotFound()


def _check_period(valid_from: date, valid_to: date | None) -> None:
    if valid_to is not None and valid_to <= valid_from:
        raise InvalidParameters("valid_to must be after valid_from.",
                                [{"pointer": "/valid_to", "code": "after_valid_from"}])


async def _overlapping(session: AsyncSession, tenant: str, service_id: uuid.UUID,
                       valid_from: date, valid_to: date | None,
                       excluding: uuid.UUID | None = None) -> ServiceParameters | None:
    query = select(ServiceParameters).where(
        ServiceParameters.tenant == tenant, ServiceParameters.service_id == service_id,
        func.daterange(ServiceParameters.valid_from, ServiceParameters.valid_to, "[)")
        .op("&&")(func.daterange(valid_from, valid_to, "[)")))
    if excluding is not None:
        query = query.where(ServiceParameters.id != excluding)
    found: ServiceParameters | None = await session.scalar(
        query.order_by(ServiceParameters.valid_from).limit(1))
    return found


def _overlap(principal: Principal, other: ServiceParameters | None) -> ParametersOverlap:
    """The 409; it names the conflicting version only to those who may read it."""
    if other is None:
        return ParametersOverlap()
    readable = readable_parameter_departments(principal)
    if readable is not None and other.department not in readable:
        return ParametersOverlap()
    return ParametersOverlap(version=other.version, valid_from=other.valid_from,
                             valid_to=other.valid_to)


async def create_parameters(session: AsyncSession, principal: Principal, tenant: str,
                            data: ParametersCreate) -> ServiceParameters:
    """A new parameter version (the next number of its (tenant, service)).

    :raises TenantNotFound: (404) ``tenant`` is not the caller's.
    :raises Forbidden: (403) neither tenant admin nor manager of ``data.department``.
    :raises ServiceNotFound: (404) no such library service.
    :raises InvalidParameters, TrustLevelTooLow, InvalidFeeValues: (422); a
        ``part_departments`` key that is no part of the newest definition's process, or a
        value that is no department slug, is an ``InvalidParameters``.
    :raises ParametersOverlap: (409 ``parameters_overlap``) the period overlaps another
        version's, found here or by the exclusion constraint under a concurrent writer.
    """
    _own_tenant(principal, tenant)
    require_parameters_writer(principal, data.department)
    definition = await newest_definition(session, data.service_id)
    _check_period(data.valid_from, data.valid_to)
    if data.trust_level is not None and (
            TRUST_LEVELS.index(data.trust_level) < TRUST_LEVELS.index(definition.trust_level)):
        raise TrustLevelTooLow(definition.trust_level)
    check_fee_values(FeeRule.model_validate(definition.fee_rule), data.fee_values)
    shares = [s.model_dump(exclude_none=True) for s in data.revenue_shares]
    check_revenue_shares(shares)
    check_part_departments(data.part_departments, DEFAULT_PROCESS if definition.process is None
                           else ProcessSpec.model_validate(definition.process))
    for _attempt in range(_ATTEMPTS):
        other = await _overlapping(session, tenant, data.service_id, data.valid_from,
                                   data.valid_to)
        if other is not None:
            raise _overlap(principal, other)
        version = (await session.scalar(
            select(func.coalesce(func.max(ServiceParameters.version), 0)).where(
                ServiceParameters.tenant == tenant,
                ServiceParameters.service_id == data.service_id)) or 0) + 1
        parameters = ServiceParameters(
            id=uuid.uuid4(), tenant=tenant, department=data.department,
            service_id=data.service_id, version=version, valid_from=data.valid_from,
            valid_to=data.valid_to, offered=data.offered, cost_centre=data.cost_centre,
            revenue_shares=shares, fee_values=data.fee_values, currency=data.currency,
            trust_level=data.trust_level,
            texts=data.texts.model_dump(exclude_none=True), retention_days=data.retention_days,
            part_departments=dict(data.part_departments), created_by=principal.sub)
        try:
            async with session.begin_nested():
                session.add(parameters)
                await session.flush()
        except IntegrityError as exc:
            if _EXCLUSION in str(exc.orig):
                # A concurrent writer won; it is committed now, so name it.
                raise _overlap(principal, await _overlapping(
                    session, tenant, data.service_id, data.valid_from, data.valid_to)) from None
            if _VERSION_UNIQUE not in str(exc.orig):
                raise
            # A concurrent, non-overlapping version took the number: count again.
            continue
        return parameters
    raise ConcurrentChange("Too many versions were written at the same time; retry.")


async def list_parameters(session: AsyncSession, principal: Principal, tenant: str, *,
                          service_id: uuid.UUID | None, department: str | None,
                          ) -> Sequence[ServiceParameters]:
    """The versions the caller may read (its departments; tenant admins: all), optionally of
    one service or department, by service and version.

    :raises TenantNotFound: (404); :raises Forbidden: (403) citizens, clients, staff without a
        role.
    """
    _own_tenant(principal, tenant)
    readable = readable_parameter_departments(principal)
    query = select(ServiceParameters).where(ServiceParameters.tenant == tenant)
    if readable is not None:
        query = query.where(ServiceParameters.department.in_(readable))
    if service_id is not None:
        query = query.where(ServiceParameters.service_id == service_id)
    if department is not None:
        query = query.where(ServiceParameters.department == department)
    query = query.join(Service, Service.id == ServiceParameters.service_id).order_by(
        Service.slug, ServiceParameters.version)
    return list((await session.scalars(query)).all())


async def get_parameters(session: AsyncSession, principal: Principal, tenant: str,
                         parameters_id: uuid.UUID, *, for_update: bool = False,
                         ) -> ServiceParameters:
    """:raises TenantNotFound, ParametersNotFound: (404) another tenant, no such version;
    :raises Forbidden: (403) another department's version."""
    _own_tenant(principal, tenant)
    readable = readable_parameter_departments(principal)
    query = select(ServiceParameters).where(ServiceParameters.id == parameters_id,
                                            ServiceParameters.tenant == tenant)
    parameters = await session.scalar(query.with_for_update() if for_update else query)
    if parameters is None:
        raise ParametersNotFound()
    if readable is not None and parameters.department not in readable:
        raise Forbidden("These parameters belong to another department.",
                        extra={"department": parameters.department})
    return parameters


async def end_parameters(session: AsyncSession, principal: Principal, tenant: str,
                         parameters_id: uuid.UUID, valid_to: date) -> ServiceParameters:
    """Set the (exclusive) end of a version's period, e.g. so that a new version can start
    on ``valid_to``. Everything else of a version stays as it was.

    :raises TenantNotFound, ParametersNotFound: (404); :raises Forbidden: (403) no writer of
        its department; :raises InvalidParameters: (422) ``valid_to`` not after
        ``valid_from``; :raises ParametersOverlap: (409) a later end would overlap the next
        version.
    """
    parameters = await get_parameters(session, principal, tenant, parameters_id,
                                      for_update=True)
    require_parameters_writer(principal, parameters.department)
    _check_period(parameters.valid_from, valid_to)
    other = await _overlapping(session, tenant, parameters.service_id, parameters.valid_from,
                               valid_to, excluding=parameters.id)
    if other is not None:
        raise _overlap(principal, other)
    try:
        async with session.begin_nested():
            parameters.valid_to = valid_to
            await session.flush()
    except IntegrityError as exc:
        if _EXCLUSION in str(exc.orig):
            raise ParametersOverlap() from None
        raise
    return parameters
