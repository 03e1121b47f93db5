"""``POST /providers/sandbox/webhooks``: the sandbox provider's notifications.

The raw body is verified (:mod:`.signing`) before it is parsed; a bad or stale signature, a
malformed header or body is answered with problem+json and changes nothing. A verified
notification is applied once (``payments.outcomes``); its replay answers 200
``already_processed``, so the provider stops retrying.

Body::

    {"id": "evt_...", "type": "payment.succeeded" | "payment.failed", "created": <unix>,
     "data": {"provider_payment_id": "sbx_...", "amount": 1300, "currency": "EUR",
              "reason": "declined"}}
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from city_shared.dependencies import SessionDep
from city_shared.errors import DomainError, problem_responses
from payment_service.payments.outcomes import NotificationResult, apply_notification
from payment_service.providers.base import ProviderOutcome
from payment_service.providers.registry import require_sandbox
from payment_service.providers.sandbox import SANDBOX
from payment_service.providers.signing import SIGNATURE_HEADER, verify
from payment_service.settings import PaymentSettings

__all__ = ["SandboxWebhook", "WebhookAck", "router"]

router = APIRouter(tags=["providers"])

MAX_BODY = 64 * 1024
_Id = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,255}$")]


class WebhookPayloadInvalid(DomainError):
    """400: the (correctly signed) body is not a sandbox notification."""

    status = 400
    code = "webhook_payload_invalid"
    title = "Invalid webhook payload"


class WebhookTooLarge(DomainError):
    """413: the body exceeds 64 KiB."""

    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class SandboxWebhookData(BaseModel):
    """What a sandbox notification says about its payment."""

    model_config = ConfigDict(extra="ignore")

    provider_payment_id: _Id
    amount: Annotated[int, Field(strict=True, ge=1)] | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    reason: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")] | None = None


class SandboxWebhook(BaseModel):
    """A sandbox notification."""

    model_config = ConfigDict(extra="ignore")

    id: _Id
    type: Literal["payment.succeeded", "payment.failed"]
    created: int
    data: SandboxWebhookData


class WebhookAck(BaseModel):
    """The answer to the provider: what became of the notification."""

    status: NotificationResult


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise WebhookTooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise WebhookTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/providers/sandbox/webhooks",
    summary="Receive a signed notification of the sandbox provider",
    responses=problem_responses(400, 401, 404, 409, 413),
)
async def sandbox_webhook(
    request: Request,
    session: SessionDep,
    settings: Annotated[PaymentSettings, Depends(require_sandbox)],
) -> WebhookAck:
    """Header ``Sandbox-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``;
    any active secret is accepted, the timestamp must be within 5 minutes. 400
    ``signature_header_malformed`` / ``webhook_payload_invalid``, 401 ``signature_mismatch``
    / ``timestamp_out_of_tolerance``."""
    body = await _read_body(request)
    verify(
        request.headers.get(SIGNATURE_HEADER),
        body,
        [secret.get_secret_value() for secret in settings.sandbox_webhook_secrets],
        tolerance=settings.sandbox_webhook_tolerance_seconds,
        now=int(time.time()),
    )
    try:
        notice = SandboxWebhook.model_validate_json(body)
    except ValidationError:
        raise WebhookPayloadInvalid("The body is not a sandbox notification.") from None
    result = await apply_notification(session, ProviderOutcome(
        provider=SANDBOX,
        notification_id=notice.id,
        kind=notice.type,
        provider_payment_id=notice.data.provider_payment_id,
        amount=notice.data.amount,
        currency=notice.data.currency,
        reason=notice.data.reason,
    ))
    return WebhookAck(status=result)
