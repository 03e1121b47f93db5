"""Use cases of document templates: immutable, numbered versions per (tenant, service, kind).
Platform admins write the library's default (tenant None); a tenant admin or a manager of the
department responsible for the service in that tenant writes the tenant's own. The newest
version of the tenant wins over the library's default (:func:`template_for`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Final

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.access import may_write_parameters, require_library_admin
from case_service.catalogue.errors import ConcurrentChange, ServiceNotFound, TenantNotFound
from case_service.catalogue.models import ServiceParameters
from case_service.catalogue.resolution import newest_definition
from case_service.documents import templates
from case_service.documents.models import DocumentTemplate
from case_service.documents.schemas import DocumentTemplateCreate
from city_shared.auth import Principal
from city_shared.errors import Forbidden

__all__ = ["create_template", "list_templates", "responsible_department", "template_for"]

_VERSION_UNIQUE: Final = "uq_document_templates_version"
_ATTEMPTS: Final = 16


async def responsible_department(session: AsyncSession, tenant: str, service_id: uuid.UUID,
                                 today: date) -> str:
    """The department of ``tenant``'s parameters of ``service_id`` valid ``today`` (else of its
    newest parameter version).

    :raises ServiceNotFound: (404) ``tenant`` has no parameters for the service.
    """
    department = await session.scalar(
        select(ServiceParameters.department).where(
            ServiceParameters.tenant == tenant, ServiceParameters.service_id == service_id)
        .order_by((ServiceParameters.valid_from <= today).desc(),
                  or_(ServiceParameters.valid_to.is_(None),
                      ServiceParameters.valid_to > today).desc(),
                  ServiceParameters.version.desc()).limit(1))
    if department is None:
        raise ServiceNotFound()
    return department


async def _tenant_department(session: AsyncSession, principal: Principal, tenant: str,
                             service_id: uuid.UUID, today: date) -> str:
    if principal.tenant != tenant:
        raise TenantNotFound()
    return await responsible_department(session, tenant, service_id, today)


async def create_template(session: AsyncSession, principal: Principal, tenant: str | None,
                          service_id: uuid.UUID, data: DocumentTemplateCreate, *,
                          today: date) -> DocumentTemplate:
    """The next version of the template of ``service_id`` for ``tenant`` (None: the library's
    default), after compiling and rendering it against sample data.

    :raises Forbidden: (403) not a platform admin (library) / neither tenant admin nor manager
        of the responsible department (tenant).
    :raises TenantNotFound: (404) another tenant. :raises ServiceNotFound: (404).
    :raises InvalidTemplate: (422 ``invalid_template``) with JSON pointers.
    :raises ConcurrentChange: (409) too many versions written at the same moment.
    """
    if tenant is None:
        require_library_admin(principal)
        await newest_definition(session, service_id)
    else:
        department = await _tenant_department(session, principal, tenant, service_id, today)
        if not may_write_parameters(principal, department):
            raise Forbidden(f"Only managers of '{department}' and tenant administrators "
                            "change its document templates.", extra={"department": department})
    content = data.content.model_dump(exclude_none=True)
    templates.validate(content)
    for _attempt in range(_ATTEMPTS):
        version = (await session.scalar(
            select(func.coalesce(func.max(DocumentTemplate.version), 0)).where(
                DocumentTemplate.tenant.is_(None) if tenant is None
                else DocumentTemplate.tenant == tenant,
                DocumentTemplate.service_id == service_id,
                DocumentTemplate.kind == data.kind)) or 0) + 1
        row = DocumentTemplate(id=uuid.uuid4(), tenant=tenant, service_id=service_id,
                               kind=data.kind, version=version, content=content,
                               created_by=principal.sub)
        try:
            async with session.begin_nested():
                session.add(row)
                await session.flush()
        except IntegrityError as exc:
            if _VERSION_UNIQUE not in str(exc.orig):
                raise
            continue
        await session.refresh(row)
        return row
    raise ConcurrentChange("Too many versions were written at the same time; retry.")


async def list_templates(session: AsyncSession, principal: Principal, tenant: str | None,
                         service_id: uuid.UUID, *, today: date) -> Sequence[DocumentTemplate]:
    """The versions of ``service_id``'s templates for ``tenant`` (None: the library's), newest
    first. Library: any staff; tenant: its admins and the responsible department's staff.

    :raises Forbidden: (403). :raises TenantNotFound, ServiceNotFound: (404).
    """
    if tenant is None:
        if principal.kind != "staff":
            raise Forbidden("Document templates are for staff.")
        await newest_definition(session, service_id)
    else:
        department = await _tenant_department(session, principal, tenant, service_id, today)
        if not (principal.kind == "staff" and (
                principal.is_admin("tenant") or department in principal.departments_with())):
            raise Forbidden(f"Document templates of '{department}' are for its staff.",
                            extra={"department": department})
    owner = DocumentTemplate.tenant.is_(None) if tenant is None else (
        DocumentTemplate.tenant == tenant)
    return (await session.scalars(
        select(DocumentTemplate).where(owner, DocumentTemplate.service_id == service_id)
        .order_by(DocumentTemplate.kind, DocumentTemplate.version.desc()))).all()


async def template_for(session: AsyncSession, tenant: str, service_id: uuid.UUID,
                       kind: str = "decision") -> DocumentTemplate | None:
    """The newest version of ``tenant``'s own template of ``service_id``, else the newest
    library default; None if neither exists."""
    row: DocumentTemplate | None = await session.scalar(
        select(DocumentTemplate).where(
            or_(DocumentTemplate.tenant == tenant, DocumentTemplate.tenant.is_(None)),
            DocumentTemplate.service_id == service_id, DocumentTemplate.kind == kind)
        .order_by(DocumentTemplate.tenant.is_(None), DocumentTemplate.version.desc())
        .limit(1))
    return row
