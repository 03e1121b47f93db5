"""The rules API: create, list, get, change, delete. Staff of the tenant read; tenant admins
and department managers (their department's rules) write."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from city_shared.auth import CurrentPrincipal
from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses
from city_shared.idempotency import accept_idempotency_key
from notification_service.dependencies import StaffScopeDep
from notification_service.rules import service
from notification_service.rules.schemas import RuleCreate, RuleRead, RuleUpdate
from notification_service.types import EventType

__all__ = ["router"]

router = APIRouter(prefix="/rules", tags=["rules"])


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a rule",
             responses=problem_responses(401, 403, 409, 422),
             dependencies=[Depends(accept_idempotency_key)])
async def create_rule(
    data: RuleCreate, response: Response, session: SessionDep, principal: CurrentPrincipal,
    _scope: StaffScopeDep,
) -> RuleRead:
    """Tenant admins (any scope) and managers of ``department``; 409 ``rule_exists``.

    The rule is checked against every template it may render (a department rule: the
    department's own template of the key, else the tenant-wide one; a tenant-wide rule: the
    tenant-wide one and the departments' own ones where they have no rule of their own):
    422 ``rule_template_missing`` (none in reach; another department's template is never in
    reach), ``rule_template_lacks_channel`` (``channels``: the channels some locale of the
    template has no text for), ``rule_template_broken`` (its stored version is invalid)."""
    rule = await service.create_rule(session, principal, data)
    response.headers["Location"] = f"/rules/{rule.id}"
    return RuleRead.of(rule)


@router.get("", summary="List rules", responses=problem_responses(401, 403, 422))
async def list_rules(
    session: SessionDep, scope: StaffScopeDep,
    event_type: Annotated[EventType | None, Query()] = None,
) -> list[RuleRead]:
    """The tenant-wide rules and those of the caller's departments (all for tenant admins)."""
    rules = await service.list_rules(session, scope, event_type)
    return [RuleRead.of(r) for r in rules]


@router.get("/{rule_id}", summary="Get a rule", responses=problem_responses(401, 403, 404, 422))
async def get_rule(rule_id: uuid.UUID, session: SessionDep, scope: StaffScopeDep) -> RuleRead:
    """404 ``rule_not_found`` also for rules the caller may not see."""
    return RuleRead.of(await service.get_rule(session, scope, rule_id))


@router.put("/{rule_id}", summary="Change a rule",
            responses=problem_responses(401, 403, 404, 422),
            dependencies=[Depends(accept_idempotency_key)])
async def update_rule(
    rule_id: uuid.UUID, data: RuleUpdate, session: SessionDep, principal: CurrentPrincipal,
    scope: StaffScopeDep,
) -> RuleRead:
    """Checked like a new rule (422 ``rule_template_missing``, ``rule_template_lacks_channel``,
    ``rule_template_broken``); a refused change leaves the rule as it was."""
    rule = await service.update_rule(session, principal, scope, rule_id, data)
    return RuleRead.of(rule)


@router.delete("/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a rule",
               responses=problem_responses(401, 403, 404, 422),
               dependencies=[Depends(accept_idempotency_key)])
async def delete_rule(
    rule_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal, scope: StaffScopeDep,
) -> Response:
    await service.delete_rule(session, principal, scope, rule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
