"""Self-service API: registration, e-mail verification and ``/me`` (profile, verified attributes,
password, export, erasure). Each route parses, makes one service call and responds; the
request's unit of work (:mod:`city_shared.request_work`) commits when it returns.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status

from city_shared.auth import Principal, require_kind
from city_shared.dependencies import SessionDep
from city_shared.errors import problem_response, problem_responses
from city_shared.idempotency import accept_idempotency_key
from city_shared.slugs import SLUG_MAX_LENGTH, SLUG_PATTERN
from identity_service.accounts import service
from identity_service.accounts.config import LoginPolicyDep, VerificationConfigDep
from identity_service.accounts.errors import AccountLocked, InvalidCurrentPassword
from identity_service.accounts.models import Account
from identity_service.accounts.schemas import (
    AccountExport,
    AccountRead,
    AccountUpdate,
    CitizenCreate,
    EmailVerificationCreate,
    PasswordChange,
    RegistrationAccepted,
    VerifiedAttributesRead,
)

__all__ = ["router"]

router = APIRouter(tags=["self-service"])

_NO_STORE = {"Cache-Control": "no-store"}
_Person = Annotated[Principal, Depends(require_kind("citizen", "staff"))]
_Citizen = Annotated[Principal, Depends(require_kind("citizen"))]


async def _me(session: SessionDep, principal: _Person) -> Account:
    return await service.current_account(session, principal)


Me = Annotated[Account, Depends(_me)]


@router.post(
    "/tenants/{tenant}/registrations",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Register as a citizen of a municipality",
    responses=problem_responses(404, 422),
    dependencies=[Depends(accept_idempotency_key)],
)
async def register(
    data: CitizenCreate,
    session: SessionDep,
    config: VerificationConfigDep,
    tenant: Annotated[str, Path(pattern=SLUG_PATTERN, max_length=SLUG_MAX_LENGTH,
                                   description="The municipality's slug.")],
) -> RegistrationAccepted:
    """Anonymous. Creates an active account whose e-mail address is unverified and sends a
    verification link (valid 24 h). The answer is the same 202 when the address already has
    an account (nothing changes then), so registration reveals no accounts.
    422 ``weak_password``, 404 ``tenant_not_found``."""
    await service.register_citizen(session, tenant, data, config=config)
    return RegistrationAccepted(tenant=tenant, email=data.email)


@router.post(
    "/email-verifications",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Confirm an e-mail address with the token from the link",
    responses=problem_responses(422),
)
async def verify_email(data: EmailVerificationCreate, session: SessionDep) -> Response:
    """Anonymous; the token works once. 422 ``invalid_verification_token`` if it is unknown,
    used or expired."""
    await service.verify_email(session, data.token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/me",
    summary="My account",
    responses=problem_responses(401, 403, 404),
)
async def get_me(account: Me, response: Response) -> AccountRead:
    """For citizens and staff."""
    response.headers.update(_NO_STORE)
    return AccountRead.of(account)


@router.get(
    "/me/attributes",
    summary="My verified attributes",
    responses=problem_responses(401, 403, 404),
)
async def get_my_attributes(account: Me, response: Response) -> VerifiedAttributesRead:
    """For citizens and staff: every attribute proven about me (names, birth date, address,
    ...) with its level of assurance and source, sorted by name. Only ever the caller's own:
    there is no account parameter. A person's token from any client of the tenant will do
    (e.g. forwarded by a service to prefill an application); a machine client's is 403."""
    response.headers.update(_NO_STORE)
    return VerifiedAttributesRead.of(account)


@router.patch(
    "/me",
    summary="Change my name, language or e-mail address",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def update_me(
    data: AccountUpdate,
    account: Me,
    session: SessionDep,
    config: VerificationConfigDep,
    response: Response,
) -> AccountRead:
    """A new e-mail address must be verified again (a link is sent to it)."""
    await service.update_profile(session, account, data, config=config)
    response.headers.update(_NO_STORE)
    return AccountRead.of(account)


@router.post(
    "/me/email-verifications",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send me a new verification link",
    responses=problem_responses(401, 403, 404),
)
async def resend_verification(
    account: Me, session: SessionDep, config: VerificationConfigDep
) -> Response:
    """Sends a new link if the address is not verified yet; does nothing otherwise."""
    if account.email_verified_at is None:
        await service.request_email_verification(
            session, account, config=config, now=datetime.now(UTC)
        )
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change my password",
    responses=problem_responses(401, 403, 404, 422, 429),
)
async def change_password(
    data: PasswordChange, account: Me, session: SessionDep, policy: LoginPolicyDep,
    request: Request,
) -> Response:
    """Needs the current password; a wrong one is 403 ``invalid_current_password`` and counts
    as a failed login (429 ``account_locked`` after too many). Other sessions are logged out."""
    try:
        await service.change_password(session, account, data, policy=policy)
    except (InvalidCurrentPassword, AccountLocked) as error:
        # Returned, not raised: the unit of work commits the counted failure.
        return problem_response(error, request.url.path)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/me/export",
    summary="Download all personal data held about me",
    response_model=AccountExport,
    responses=problem_responses(401, 403, 404),
)
async def export_me(account: Me) -> Response:
    """A JSON file (``Content-Disposition: attachment``): the account, verified attributes with
    their level of assurance, and roles."""
    export = AccountExport.of(account, datetime.now(UTC))
    return Response(
        content=export.model_dump_json(indent=2),
        media_type="application/json",
        headers={
            **_NO_STORE,
            "Content-Disposition": 'attachment; filename="my-data-identity.json"',
        },
    )


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete my account",
    responses=problem_responses(401, 403, 404),
)
async def delete_me(session: SessionDep, principal: _Citizen) -> Response:
    """Citizens only (staff accounts are closed by their administration). Erases the personal
    data held here, logs out every session and tells every service to erase theirs."""
    account = await service.current_account(session, principal, for_update=True)
    await service.erase_account(session, account)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
