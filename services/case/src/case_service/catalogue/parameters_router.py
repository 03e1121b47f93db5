"""Routes of a tenant's parameters: tenant admins and department managers write, staff of the
department read. Each route parses, calls one use case, responds; the request's unit of work
commits."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from case_service.catalogue import parameters
from case_service.catalogue.parameter_schemas import (
    ParametersCreate,
    ParametersEnd,
    ParametersList,
    ParametersRead,
)
from city_shared.auth import CurrentPrincipal
from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses
from city_shared.idempotency import accept_idempotency_key
from city_shared.slugs import Slug, SlugPath

__all__ = ["router"]

router = APIRouter(prefix="/tenants/{tenant}/parameters", tags=["parameters"],
                   responses=problem_responses(401, 403, 404))
_unsafe = [Depends(accept_idempotency_key)]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add a parameter version",
             responses=problem_responses(409, 422), dependencies=_unsafe)
async def create_parameters(tenant: SlugPath, data: ParametersCreate, request: Request,
                            response: Response, session: SessionDep,
                            principal: CurrentPrincipal) -> ParametersRead:
    """Tenant admins and managers of ``department``. 409 ``parameters_overlap`` names the
    conflicting version and its dates; 422 ``invalid_parameters``, ``trust_level_too_low``,
    ``invalid_fee_values``."""
    created = await parameters.create_parameters(session, principal, tenant, data)
    response.headers["Location"] = str(request.url_for(
        "get_parameters", tenant=tenant, parameters_id=str(created.id)))
    return ParametersRead.of(created)


@router.get("", summary="List parameter versions")
async def list_parameters(tenant: SlugPath, session: SessionDep, principal: CurrentPrincipal,
                          service_id: Annotated[uuid.UUID | None, Query()] = None,
                          department: Annotated[Slug | None, Query()] = None) -> ParametersList:
    """Only the departments the caller may read (tenant admins: all)."""
    rows = await parameters.list_parameters(session, principal, tenant, service_id=service_id,
                                            department=department)
    return ParametersList(items=[ParametersRead.of(p) for p in rows])


@router.get("/{parameters_id}", summary="Get a parameter version")
async def get_parameters(tenant: SlugPath, parameters_id: uuid.UUID, session: SessionDep,
                         principal: CurrentPrincipal) -> ParametersRead:
    """404 ``parameters_not_found``; 403 for another department's version."""
    return ParametersRead.of(
        await parameters.get_parameters(session, principal, tenant, parameters_id))


@router.post("/{parameters_id}/end", summary="End a parameter version's period",
             responses=problem_responses(409, 422), dependencies=_unsafe)
async def end_parameters(tenant: SlugPath, parameters_id: uuid.UUID, data: ParametersEnd,
                         session: SessionDep, principal: CurrentPrincipal) -> ParametersRead:
    """Sets ``valid_to`` (exclusive), e.g. the day the next version starts."""
    return ParametersRead.of(await parameters.end_parameters(
        session, principal, tenant, parameters_id, data.valid_to))


@router.patch("/{parameters_id}", summary="Change the end of a parameter version's period",
              responses=problem_responses(409, 422), dependencies=_unsafe)
async def patch_parameters(tenant: SlugPath, parameters_id: uuid.UUID, data: ParametersEnd,
                           session: SessionDep, principal: CurrentPrincipal) -> ParametersRead:
    """Only ``valid_to`` may change; a version is otherwise immutable (422 for other
    members): write a new version instead."""
    return ParametersRead.of(await parameters.end_parameters(
        session, principal, tenant, parameters_id, data.valid_to))
