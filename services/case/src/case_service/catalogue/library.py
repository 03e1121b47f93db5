"""Use cases of the library: platform admins add services and new definition versions; anyone
reads them. A new version never touches an older one (drafts and cases keep theirs). Never
commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.access import require_library_admin
from case_service.catalogue.errors import (
    DefinitionNotFound,
    DuplicateService,
    InvalidDefinition,
    ServiceNotFound,
)
from case_service.catalogue.models import Service, ServiceDefinition
from case_service.catalogue.resolution import newest_definition
from case_service.catalogue.schemas import DefinitionCreate, ServiceCreate
from case_service.catalogue.validation import (
    check_attachments,
    check_fee_rule_syntax,
    check_leika_key,
)
from case_service.forms import check_form_schema
from case_service.process.validation import check_process
from city_shared.auth import Principal

__all__ = ["add_version", "create_service", "get_service", "get_version", "list_services"]


def _check(data: DefinitionCreate, max_bytes: int) -> None:
    if data.anonymous and not data.public_report:
        raise InvalidDefinition("Only public reports may be anonymous.",
                                [{"pointer": "/anonymous", "code": "requires_public_report"}])
    check_form_schema(data.form_schema)
    check_attachments([a.model_dump() for a in data.attachments], max_bytes=max_bytes)
    check_fee_rule_syntax(data.fee_rule)
    if data.process is not None:
        check_process(data.process)


def _definition(service_id: uuid.UUID, version: int, data: DefinitionCreate,
                principal: Principal) -> ServiceDefinition:
    return ServiceDefinition(
        id=uuid.uuid4(), service_id=service_id, version=version, names=data.names.model_dump(),
        descriptions=data.descriptions.model_dump(), keywords=list(data.keywords),
        form_schema=data.form_schema,
        attachments=[a.model_dump() for a in data.attachments], trust_level=data.trust_level,
        fee_rule=data.fee_rule.model_dump(mode="json"),
        process=(None if data.process is None
                 else data.process.model_dump(mode="json", by_alias=True)),
        processing_days=data.processing_days, public_report=data.public_report,
        anonymous=data.anonymous, created_by=principal.sub)


async def create_service(session: AsyncSession, principal: Principal, data: ServiceCreate, *,
                         max_bytes: int) -> tuple[Service, ServiceDefinition]:
    """A new library service with definition version 1.

    :raises Forbidden: (403) no platform admin.
    :raises InvalidLeikaKey, InvalidFormSchema, InvalidAttachments, InvalidFeeRule,
        InvalidDefinition: (422) see :mod:`case_service.catalogue.validation`;
        InvalidProcess: (422) see :mod:`case_service.process.validation`.
    :raises DuplicateService: (409 ``service_exists``) the key or slug is taken, also by a
        concurrent writer.
    """
    require_library_admin(principal)
    check_leika_key(data.leika_key)
    _check(data, max_bytes)
    taken = (await session.execute(select(Service.leika_key, Service.slug).where(
        or_(Service.leika_key == data.leika_key, Service.slug == data.slug)))).first()
    if taken is not None:
        raise DuplicateService("leika_key" if taken.leika_key == data.leika_key else "slug")
    service = Service(id=uuid.uuid4(), leika_key=data.leika_key, slug=data.slug,
                      latest_version=1)
    definition = _definition(service.id, 1, data, principal)
    try:
        async with session.begin_nested():
            session.add(service)
            await session.flush()
    except IntegrityError:
        raise DuplicateService("leika_key or slug") from None
    session.add(definition)
    await session.flush()
    return service, definition


async def add_version(session: AsyncSession, principal: Principal, service_id: uuid.UUID,
                      data: DefinitionCreate, *, max_bytes: int) -> ServiceDefinition:
    """The next definition version of ``service_id``; concurrent writers are serialized by a
    row lock on the service, so versions stay dense and unique.

    :raises ServiceNotFound: (404); the other errors as :func:`create_service`.
    """
    require_library_admin(principal)
    _check(data, max_bytes)
    service = await session.scalar(select(Service).where(Service.id == service_id)
                                   .with_for_update())
    if service is None:
        raise ServiceNotFound()
    service.latest_version += 1
    definition = _definition(service.id, service.latest_version, data, principal)
    session.add(definition)
    await session.flush()
    return definition


async def list_services(session: AsyncSession) -> Sequence[tuple[Service, ServiceDefinition]]:
    """Every library service with its newest definition, ordered by slug."""
    rows = await session.execute(
        select(Service, ServiceDefinition)
        .join(ServiceDefinition, (ServiceDefinition.service_id == Service.id)
              & (ServiceDefinition.version == Service.latest_version))
        .order_by(Service.slug))
    return [(service, definition) for service, definition in rows.tuples()]


async def get_service(session: AsyncSession,
                      service_id: uuid.UUID) -> tuple[Service, ServiceDefinition]:
    """:raises ServiceNotFound: (404)."""
    service = await session.get(Service, service_id)
    if service is None:
        raise ServiceNotFound()
    return service, await newest_definition(session, service_id)


async def get_version(session: AsyncSession, service_id: uuid.UUID,
                      version: int) -> ServiceDefinition:
    """:raises DefinitionNotFound: (404) no such version of ``service_id``."""
    definition = await session.scalar(select(ServiceDefinition).where(
        ServiceDefinition.service_id == service_id, ServiceDefinition.version == version))
    if definition is None:
        raise DefinitionNotFound()
    return definition
