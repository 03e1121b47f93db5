"""Which configuration of a library service is in force for a tenant on a date: the newest
definition and the one parameter set whose ``[valid_from, valid_to)`` holds the date.

Everyone who needs "the service as offered today" (catalogue, drafts, submit, intake, Open311)
calls :func:`resolve`; a draft that pinned a version reloads it with :func:`definition_by_id`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Final

from sqlalchemy import Date, String, and_, bindparam, func, or_, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from case_service.catalogue.errors import (
    DefinitionNotFound,
    NoParametersOn,
    ServiceNotFound,
    ServiceNotOffered,
)
from case_service.catalogue.models import Service, ServiceDefinition, ServiceParameters

__all__ = [
    "TRUST_LEVELS",
    "Effective",
    "definition_by_id",
    "newest_definition",
    "resolve",
    "stricter",
]

#: Trust levels from weakest to strongest (eIDAS: low/basic, substantial, high).
TRUST_LEVELS: Final = ("basic", "substantial", "high")


def stricter(first: str, second: str | None) -> str:
    """The stricter of two trust levels (``second`` None: ``first``)."""
    if second is None:
        return first
    return max(first, second, key=TRUST_LEVELS.index)


@dataclass(frozen=True)
class Effective:
    """The configuration of one service in force for one tenant on one date."""

    service: Service
    definition: ServiceDefinition
    """The newest definition version (new drafts use it)."""
    parameters: ServiceParameters
    """The tenant's parameter set valid on the date (offered)."""

    @property
    def effective_trust_level(self) -> str:
        """The stricter of the definition's and the parameters' trust level."""
        return stricter(self.definition.trust_level, self.parameters.trust_level)

    @property
    def tenant(self) -> str:
        return self.parameters.tenant

    @property
    def department(self) -> str:
        """The responsible department."""
        return self.parameters.department


async def newest_definition(session: AsyncSession, service_id: uuid.UUID) -> ServiceDefinition:
    """The newest definition version of ``service_id``.

    :raises ServiceNotFound: (404) no such library service.
    """
    definition = await session.scalar(
        select(ServiceDefinition).where(ServiceDefinition.service_id == service_id)
        .order_by(ServiceDefinition.version.desc()).limit(1))
    if definition is None:
        raise ServiceNotFound()
    return definition


_SERVICE_ID = bindparam("service_id", type_=UUID(as_uuid=True))
_TENANT = bindparam("tenant", type_=String())
_ON = bindparam("on", type_=Date())
_OLDER = aliased(ServiceDefinition)
#: The service, the tenant's parameters valid on the date and the newest definition in one
#: round trip (built once: building an ORM statement per request costs more CPU than running
#: it). The exclusion constraint leaves at most one parameter set per date, so at most one row.
_RESOLVE = (
    select(Service, ServiceParameters, ServiceDefinition)
    .outerjoin(ServiceParameters, and_(
        ServiceParameters.service_id == Service.id, ServiceParameters.tenant == _TENANT,
        ServiceParameters.valid_from <= _ON,
        or_(ServiceParameters.valid_to.is_(None), ServiceParameters.valid_to > _ON)))
    .outerjoin(ServiceDefinition, and_(
        ServiceDefinition.service_id == Service.id,
        ServiceDefinition.version == select(func.max(_OLDER.version))
        .where(_OLDER.service_id == Service.id).scalar_subquery()))
    .where(Service.id == _SERVICE_ID)
)
_ANY_PARAMETERS = (select(ServiceParameters.id)
                   .where(ServiceParameters.tenant == _TENANT,
                          ServiceParameters.service_id == _SERVICE_ID).limit(1))


async def resolve(session: AsyncSession, *, tenant: str, service_id: uuid.UUID,
                  on: date) -> Effective:
    """The effective configuration of ``service_id`` for ``tenant`` on ``on``. Reads only,
    in one statement when the service is offered (one more to tell the reason when not).

    :raises ServiceNotFound: (404 ``service_not_found``) no such service, or ``tenant`` has
        no parameters for it at all (an unknown tenant too).
    :raises ServiceNotOffered: (404 ``service_not_offered``) the parameters valid on ``on``
        say it is not offered.
    :raises NoParametersOn: (404 ``no_parameters_on``) parameters exist, none valid on ``on``.
    """
    row = (await session.execute(
        _RESOLVE, {"service_id": service_id, "tenant": tenant, "on": on})).first()
    if row is None:
        raise ServiceNotFound()
    service, parameters, definition = row._tuple()
    if parameters is None:
        any_version = await session.scalar(
            _ANY_PARAMETERS, {"service_id": service_id, "tenant": tenant})
        if any_version is None:
            raise ServiceNotFound()
        raise NoParametersOn(on)
    if not parameters.offered:
        raise ServiceNotOffered(on)
    if definition is None:
        raise ServiceNotFound()
    return Effective(service=service, definition=definition, parameters=parameters)


async def definition_by_id(session: AsyncSession,
                           definition_id: uuid.UUID) -> ServiceDefinition:
    """The definition version ``definition_id`` (a draft or case keeps the one it started with).

    :raises DefinitionNotFound: (404 ``definition_not_found``) no such version.
    """
    definition = await session.get(ServiceDefinition, definition_id)
    if definition is None:
        raise DefinitionNotFound()
    return definition
