"""``GET /.well-known/jwks.json`` (public keys) and ``POST /admin/keys/rotate`` (platform admin)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses
from identity_service.keys.dependencies import KeyRingDep, Now
from identity_service.keys.schemas import RotationRead
from identity_service.tenancy.access import StepUpPlatformAdmin

router = APIRouter(tags=["keys"])


@router.get("/.well-known/jwks.json", summary="The issuer's public signing keys (JWKS)")
async def jwks(
    request: Request, session: SessionDep, keyring: KeyRingDep, now: Now
) -> JSONResponse:
    """Active, next and retiring public keys. Cacheable for ``jwks_max_age_seconds``: a key
    signs only after it has been published as ``next`` for a whole rotation period."""
    max_age = request.app.state.settings.jwks_max_age_seconds
    return JSONResponse(
        await keyring.jwks(session, now),
        headers={"Cache-Control": f"public, max-age={max_age}"},
    )


@router.post(
    "/admin/keys/rotate",
    summary="Rotate the signing key",
    responses=problem_responses(401, 403),
)
async def rotate(
    session: SessionDep,
    keyring: KeyRingDep,
    now: Now,
    _admin: StepUpPlatformAdmin,
) -> RotationRead:
    """The next key starts signing; the old one stays published for the access-token lifetime
    plus ``key_publish_margin_seconds`` so tokens it signed keep verifying."""
    result = await keyring.rotate(session, now)
    return RotationRead(
        active_kid=result.active_kid,
        retiring_kid=result.retiring_kid,
        retiring_published_until=result.publish_until,
        next_kid=result.next_kid,
    )
