"""Routes of the library: platform admins write services and definition versions (each route
parses, calls one use case, responds; the request's unit of work commits); anyone reads."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status

from case_service.catalogue import library
from case_service.catalogue.schemas import (
    DefinitionCreate,
    DefinitionRead,
    LibraryServiceList,
    LibraryServiceRead,
    ServiceCreate,
)
from case_service.settings import CaseSettings
from city_shared.auth import CurrentPrincipal
from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses
from city_shared.idempotency import accept_idempotency_key

__all__ = ["router"]

router = APIRouter(prefix="/library", tags=["library"])
_unsafe = [Depends(accept_idempotency_key)]
Version = Annotated[int, Path(ge=1, le=100_000)]


def _settings(request: Request) -> CaseSettings:
    settings = request.app.state.settings
    assert isinstance(settings, CaseSettings)
    return settings


SettingsDep = Annotated[CaseSettings, Depends(_settings)]


@router.post("/services", status_code=status.HTTP_201_CREATED, summary="Add a library service",
             responses=problem_responses(401, 403, 409, 422), dependencies=_unsafe)
async def create_service(data: ServiceCreate, response: Response, session: SessionDep,
                         principal: CurrentPrincipal, settings: SettingsDep) -> LibraryServiceRead:
    """Platform admins. 422 ``invalid_leika_key``, ``invalid_form_schema``,
    ``invalid_attachments``, ``invalid_fee_rule`` (syntax; the values are the tenants'),
    ``invalid_definition``, ``invalid_process`` (``process``: None for the default one);
    409 ``service_exists``."""
    service, definition = await library.create_service(
        session, principal, data, max_bytes=settings.attachment_max_bytes)
    response.headers["Location"] = f"{settings.base_url}/library/services/{service.id}"
    return LibraryServiceRead.of(service, definition)


@router.post("/services/{service_id}/versions", status_code=status.HTTP_201_CREATED,
             summary="Add a definition version", responses=problem_responses(401, 403, 404, 422),
             dependencies=_unsafe)
async def add_version(service_id: uuid.UUID, data: DefinitionCreate, response: Response,
                      session: SessionDep, principal: CurrentPrincipal,
                      settings: SettingsDep) -> DefinitionRead:
    """Platform admins. New drafts use the new version; drafts and cases already started keep
    theirs."""
    definition = await library.add_version(session, principal, service_id, data,
                                           max_bytes=settings.attachment_max_bytes)
    response.headers["Location"] = (f"{settings.base_url}/library/services/{service_id}"
                                    f"/versions/{definition.version}")
    return DefinitionRead.of(definition)


@router.get("/services", summary="List the library")
async def list_services(session: SessionDep) -> LibraryServiceList:
    """Every service with its newest definition; no token needed (no local or personal data)."""
    rows = await library.list_services(session)
    return LibraryServiceList(items=[LibraryServiceRead.of(s, d) for s, d in rows])


@router.get("/services/{service_id}", summary="Get a library service",
            responses=problem_responses(404))
async def get_service(service_id: uuid.UUID, session: SessionDep) -> LibraryServiceRead:
    """404 ``service_not_found``."""
    return LibraryServiceRead.of(*await library.get_service(session, service_id))


@router.get("/services/{service_id}/versions/{version}", summary="Get a definition version",
            responses=problem_responses(404))
async def get_version(service_id: uuid.UUID, version: Version,
                      session: SessionDep) -> DefinitionRead:
    """404 ``definition_not_found``."""
    return DefinitionRead.of(await library.get_version(session, service_id, version))
