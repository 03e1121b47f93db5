"""The templates API: create, list, read (any version), save a new version, delete, preview.
Staff of the tenant read; tenant admins and department managers write. Each route parses,
makes one service call and responds; the request's unit of work commits (ADR 0011)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from city_shared.auth import CurrentPrincipal
from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses
from city_shared.idempotency import accept_idempotency_key
from city_shared.slugs import Slug
from notification_service.dependencies import SettingsDep, StaffScopeDep
from notification_service.templates import service
from notification_service.templates.schemas import (
    PreviewRead,
    PreviewRequest,
    TemplateCreate,
    TemplateRead,
    TemplateUpdate,
)
from notification_service.types import MAX_TEMPLATE_VERSION, TemplateKey

__all__ = ["router"]

router = APIRouter(prefix="/templates", tags=["templates"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a template (version 1)",
    responses=problem_responses(401, 403, 409, 422),
    dependencies=[Depends(accept_idempotency_key)],
)
async def create_template(
    data: TemplateCreate, response: Response, session: SessionDep,
    principal: CurrentPrincipal, _scope: StaffScopeDep,
) -> TemplateRead:
    """Tenant admins (any scope) and managers of ``department``. 422 ``template_invalid``
    names undeclared variables and syntax errors; 422 ``template_too_expensive`` locates
    texts that exceed the rendering limits whatever the params; 409 ``template_exists``.
    A department's template overrides the tenant-wide one of its key for that department, so
    it must have text for the channels of the tenant-wide rules that would render it: else
    409 ``template_in_use`` (``rules``: their ids, ``channels``: the texts missing)."""
    template, version = await service.create_template(session, principal, data)
    response.headers["Location"] = f"/templates/{template.id}"
    return TemplateRead.of(template, version)


@router.get("", summary="List templates", responses=problem_responses(401, 403, 422))
async def list_templates(
    session: SessionDep, scope: StaffScopeDep,
    department: Annotated[Slug | None, Query()] = None,
    key: Annotated[TemplateKey | None, Query()] = None,
) -> list[TemplateRead]:
    """The tenant's templates the caller may see, each with its current version."""
    found = await service.list_templates(session, scope, department, key)
    return [TemplateRead.of(template, version) for template, version in found]


@router.get("/{template_id}", summary="Get a template",
            responses=problem_responses(401, 403, 404, 422))
async def get_template(
    template_id: uuid.UUID, session: SessionDep, scope: StaffScopeDep,
) -> TemplateRead:
    """404 ``template_not_found`` also for templates the caller may not see."""
    template, version = await service.get_template(session, scope, template_id)
    return TemplateRead.of(template, version)


@router.get("/{template_id}/versions/{version}", summary="Get one version of a template",
            responses=problem_responses(401, 403, 404, 422))
async def get_template_version(
    template_id: uuid.UUID, version: Annotated[int, Path(ge=1, le=MAX_TEMPLATE_VERSION)],
    session: SessionDep, scope: StaffScopeDep,
) -> TemplateRead:
    """The template with ``current`` set to the requested (immutable) version."""
    template, found = await service.get_template(session, scope, template_id, version)
    return TemplateRead.of(template, found)


@router.put(
    "/{template_id}",
    summary="Save a new version of a template",
    responses=problem_responses(401, 403, 404, 409, 422),
    dependencies=[Depends(accept_idempotency_key)],
)
async def save_template(
    template_id: uuid.UUID, data: TemplateUpdate, session: SessionDep,
    principal: CurrentPrincipal, scope: StaffScopeDep,
) -> TemplateRead:
    """Every save is a new version (the previous ones stay readable); deliveries record the
    version they used. 422 ``template_invalid`` and ``template_too_expensive`` as at create.
    Rules render the current version at once, so a version that drops the
    text of a channel a rule using the template sends (in any locale) is refused: 409
    ``template_in_use`` with ``rules`` (the ids of the rules it would break) and ``channels``;
    change those rules first."""
    template, version = await service.save_version(session, principal, scope, template_id,
                                                   data)
    return TemplateRead.of(template, version)


@router.delete(
    "/{template_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a template",
    responses=problem_responses(401, 403, 404, 409, 422),
    dependencies=[Depends(accept_idempotency_key)],
)
async def delete_template(
    template_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal,
    scope: StaffScopeDep,
) -> Response:
    """Deletes the template and all its versions. Refused while any rule may render it
    (enabled or not): 409 ``template_in_use`` with ``rules``, the ids of those rules; change
    or delete them first."""
    await service.delete_template(session, principal, scope, template_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{template_id}/preview",
    summary="Render a template version with params",
    responses=problem_responses(401, 403, 404, 422),
)
async def preview_template(
    template_id: uuid.UUID, data: PreviewRequest, session: SessionDep, scope: StaffScopeDep,
    settings: SettingsDep,
) -> PreviewRead:
    """Nothing is sent. 422 ``missing_personalisation`` (``missing``: the names),
    ``template_render_failed``, or ``template_too_expensive`` (``limit``: which of the
    rendering limits these params exceed)."""
    template, version = await service.get_template(session, scope, template_id, data.version)
    rendered = await service.render_in_thread(version, data.locale, data.params,
                                              fallback_locale=settings.default_locale)
    return PreviewRead(template_id=template.id, key=template.key, version=version.version,
                       **rendered.model_dump())
