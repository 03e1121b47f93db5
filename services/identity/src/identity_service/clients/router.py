"""The client admin API (``/admin/clients``) for tenant and platform admins.

Responses that carry a secret are sent once with ``Cache-Control: no-store`` and refuse an
``Idempotency-Key``: a stored replay would keep the plain secret in the database for a day.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response

from city_shared.auth.dependencies import require_admin
from city_shared.auth.principal import Principal
from city_shared.dependencies import SessionDep
from city_shared.errors import DomainError, problem_responses
from identity_service.clients import service
from identity_service.clients.schemas import (
    ClientCreate,
    ClientCreated,
    ClientRead,
    ClientSecretRead,
    ClientUpdate,
)
from identity_service.tenancy.access import StepUpAdmin

router = APIRouter(prefix="/admin/clients", tags=["clients"])
Admin = Annotated[Principal, Depends(require_admin("tenant"))]
#: Changes to clients (which scopes a frontend may ask for) need a stepped-up login.
ChangingAdmin = StepUpAdmin


class IdempotencyKeyNotSupported(DomainError):
    """400: this response carries a secret and is never stored for replay."""

    status = 400
    code = "idempotency_key_not_supported"
    title = "Idempotency-Key not supported here"


async def _no_idempotency_key(
    idempotency_key: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> None:
    if idempotency_key is not None:
        raise IdempotencyKeyNotSupported(
            "This response contains a secret, which is shown once and never stored for replay."
        )


def _now() -> datetime:
    return datetime.now(UTC)


@router.post("", status_code=201, responses=problem_responses(400, 401, 403, 409, 422),
             dependencies=[Depends(_no_idempotency_key)])
async def create_client(
    data: ClientCreate, session: SessionDep, actor: ChangingAdmin, response: Response
) -> ClientCreated:
    """Register a client. The secret (secret methods only) is in this response and nowhere
    else: store it now."""
    client, secret = await service.create_client(session, actor, data, _now())
    response.headers["Cache-Control"] = "no-store"
    return ClientCreated.model_validate(
        {**ClientRead.model_validate(client).model_dump(), "client_secret": secret}
    )


@router.get("", responses=problem_responses(401, 403))
async def list_clients(session: SessionDep, actor: Admin) -> list[ClientRead]:
    """Clients of your tenant (every tenant's for a platform admin)."""
    return [ClientRead.model_validate(c) for c in await service.list_clients(session, actor)]


@router.get("/{client_id}", responses=problem_responses(401, 403, 404))
async def get_client(client_id: str, session: SessionDep, actor: Admin) -> ClientRead:
    """One client of your tenant."""
    return ClientRead.model_validate(await service.get_client(session, actor, client_id))


@router.patch("/{client_id}", responses=problem_responses(401, 403, 404, 422))
async def update_client(
    client_id: str, data: ClientUpdate, session: SessionDep, actor: ChangingAdmin
) -> ClientRead:
    """Change name, redirect URIs, allowed scopes or the JWKS of a ``private_key_jwt`` client."""
    client = await service.update_client(session, actor, client_id, data)
    return ClientRead.model_validate(client)


@router.post("/{client_id}/secret", responses=problem_responses(400, 401, 403, 404, 409),
             dependencies=[Depends(_no_idempotency_key)])
async def rotate_secret(
    client_id: str, session: SessionDep, actor: ChangingAdmin, response: Response
) -> ClientSecretRead:
    """A new secret, shown once; the old one stops working immediately."""
    client, secret = await service.rotate_secret(session, actor, client_id, _now())
    response.headers["Cache-Control"] = "no-store"
    assert client.secret_rotated_at is not None
    return ClientSecretRead(client_id=client.client_id, client_secret=secret,
                            secret_rotated_at=client.secret_rotated_at)


@router.post("/{client_id}/disable", responses=problem_responses(401, 403, 404))
async def disable_client(client_id: str, session: SessionDep, actor: ChangingAdmin) -> ClientRead:
    """Disable the client (idempotent): no more tokens, no more refreshes."""
    client = await service.disable_client(session, actor, client_id, _now())
    return ClientRead.model_validate(client)
