"""The sandbox SMS provider's record, for tests and the demo: tenant admins only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select

from city_shared.auth import Principal, require_admin
from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses
from notification_service.channels.models import SandboxSms

__all__ = ["router"]

router = APIRouter(prefix="/sandbox", tags=["sandbox"])


class SandboxSmsRead(BaseModel):
    """An SMS the sandbox provider recorded."""

    delivery_id: uuid.UUID
    to: str | None
    text: str
    sent_at: datetime


@router.get("/sms", summary="SMS recorded by the sandbox provider",
            responses=problem_responses(401, 403, 422))
async def list_sandbox_sms(
    session: SessionDep, principal: Annotated[Principal, Depends(require_admin("tenant"))],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[SandboxSmsRead]:
    """The tenant's newest first."""
    rows = (await session.execute(
        select(SandboxSms).where(SandboxSms.tenant == principal.tenant)
        .order_by(SandboxSms.id.desc()).limit(limit))).scalars().all()
    return [SandboxSmsRead(delivery_id=r.delivery_id, to=r.to_number, text=r.text,
                           sent_at=r.sent_at) for r in rows]
