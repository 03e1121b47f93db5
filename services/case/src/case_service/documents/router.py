"""The documents API: document templates of the library and of a tenant, a case's documents
(whoever may read the case) and the signed download link events carry (no token). Each route
parses, calls one use case, responds; the request's unit of work commits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from urllib.parse import quote

from fastapi import APIRouter, Depends, Response, status

from case_service.cases.dependencies import CaseVisibilityDep, SettingsDep
from case_service.documents import service, template_versions
from case_service.documents.models import CaseDocument
from case_service.documents.schemas import (
    DocumentList,
    DocumentRead,
    DocumentTemplateCreate,
    DocumentTemplateList,
    DocumentTemplateRead,
)
from city_shared.auth import CurrentPrincipal
from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses
from city_shared.idempotency import accept_idempotency_key
from city_shared.slugs import SlugPath

__all__ = ["router"]

router = APIRouter(tags=["documents"])
_unsafe = [Depends(accept_idempotency_key)]
_LIBRARY = "/library/services/{service_id}/document-templates"
_TENANT = "/tenants/{tenant}/services/{service_id}/document-templates"


@router.post(_LIBRARY, status_code=status.HTTP_201_CREATED, dependencies=_unsafe,
             summary="Add a version of the library's default document template of a service",
             responses=problem_responses(401, 403, 404, 409, 422))
async def create_library_template(service_id: uuid.UUID, data: DocumentTemplateCreate,
                                  session: SessionDep,
                                  principal: CurrentPrincipal) -> DocumentTemplateRead:
    """Platform admins. 422 ``invalid_template`` with ``errors`` (``pointer``, ``code``:
    ``syntax_error``, ``unknown_variable``, ``not_allowed``, ``too_long``, ``render_error``)."""
    return DocumentTemplateRead.of(await template_versions.create_template(
        session, principal, None, service_id, data, today=datetime.now(UTC).date()))


@router.get(_LIBRARY, summary="The versions of the library's document templates of a service",
            responses=problem_responses(401, 403, 404))
async def list_library_templates(service_id: uuid.UUID, session: SessionDep,
                                 principal: CurrentPrincipal) -> DocumentTemplateList:
    """Staff. Newest first."""
    rows = await template_versions.list_templates(session, principal, None, service_id,
                                                  today=datetime.now(UTC).date())
    return DocumentTemplateList(items=[DocumentTemplateRead.of(r) for r in rows])


@router.post(_TENANT, status_code=status.HTTP_201_CREATED, dependencies=_unsafe,
             summary="Add a version of a tenant's own document template of a service",
             responses=problem_responses(401, 403, 404, 409, 422))
async def create_tenant_template(tenant: SlugPath, service_id: uuid.UUID,
                                 data: DocumentTemplateCreate, session: SessionDep,
                                 principal: CurrentPrincipal) -> DocumentTemplateRead:
    """Tenant admins and managers of the department responsible for the service. Its newest
    version wins over the library's default. 422 ``invalid_template``."""
    return DocumentTemplateRead.of(await template_versions.create_template(
        session, principal, tenant, service_id, data, today=datetime.now(UTC).date()))


@router.get(_TENANT, summary="The versions of a tenant's document templates of a service",
            responses=problem_responses(401, 403, 404))
async def list_tenant_templates(tenant: SlugPath, service_id: uuid.UUID, session: SessionDep,
                                principal: CurrentPrincipal) -> DocumentTemplateList:
    """Tenant admins and the responsible department's staff. Newest first."""
    rows = await template_versions.list_templates(session, principal, tenant, service_id,
                                                  today=datetime.now(UTC).date())
    return DocumentTemplateList(items=[DocumentTemplateRead.of(r) for r in rows])


@router.get("/cases/{case_id}/documents", summary="The documents of a case",
            responses=problem_responses(401, 403, 404, 422))
async def list_documents(case_id: uuid.UUID, session: SessionDep, v: CaseVisibilityDep,
                         settings: SettingsDep) -> DocumentList:
    """Whoever may read the case (applicant, its department's staff, tenant admins). 404
    ``case_not_found`` also for a case the caller may not see."""
    rows = await service.documents_of(session, v, case_id)
    return DocumentList(items=[DocumentRead.of(r, settings.base_url) for r in rows])


def _pdf(document: CaseDocument, content: bytes) -> Response:
    return Response(content, media_type=document.media_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(document.filename)}",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
        "Digest": f"sha-256={document.sha256}"})


@router.get("/cases/{case_id}/documents/{document_id}", response_class=Response,
            summary="Download a document of a case (PDF)",
            responses={**problem_responses(401, 403, 404, 422),
                       200: {"content": {"application/pdf": {}}}})
async def download_document(case_id: uuid.UUID, document_id: uuid.UUID, session: SessionDep,
                            v: CaseVisibilityDep, settings: SettingsDep) -> Response:
    """Whoever may read the case. 404 ``case_not_found``, ``document_not_found``."""
    document, content = await service.document_content(session, v, case_id, document_id,
                                                       settings)
    return _pdf(document, content)


@router.get("/documents/signed/{token}", response_class=Response,
            summary="Download a document by its signed link (no token needed)",
            responses={**problem_responses(404), 200: {"content": {"application/pdf": {}}}})
async def download_signed(token: str, session: SessionDep, settings: SettingsDep) -> Response:
    """The link an event's ``documents[].download_url`` carries; it works for
    ``document_link_days`` after it was issued. 404 ``document_not_found`` for a bad, altered
    or expired link alike."""
    document, content = await service.signed_document_content(session, token, settings,
                                                              datetime.now(UTC))
    response = _pdf(document, content)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
