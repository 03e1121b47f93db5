"""Settings of the payment service (environment prefix ``CITY_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from city_shared.cors import Origins
from city_shared.production import PUBLISHED, Finding, published
from city_shared.settings import ServiceSettings

#: Published development secret of the sandbox webhooks; never use it outside a local demo.
DEV_SANDBOX_WEBHOOK_SECRET = "sandbox-development-webhook-secret-do-not-use"  # noqa: S105


class PaymentSettings(ServiceSettings):
    """The payment service's settings; its API listens on port 8003 by default.

    Lists and maps come from the environment as JSON, e.g.
    ``CITY_SANDBOX_WEBHOOK_SECRETS='["new-secret", "old-secret"]'``.
    """

    service_name: str = "payment"
    http_port: int = 8003
    payment_expiry_seconds: int = Field(default=90 * 60, ge=60)
    """A payment not paid this long after its creation expires (the worker enforces it)."""
    expiry_interval_seconds: float = Field(default=30.0, gt=0)
    expiry_batch_size: int = Field(default=100, ge=1, le=10_000)
    stalled_outcome_grace_seconds: float = Field(default=120.0, gt=0)
    """A payment still waiting for its provider's outcome this long after it expired counts as a
    stalled saga (metric ``city_stalled_sagas``, ``/readyz``): the expiry job is not closing it."""
    stall_check_interval_seconds: float = Field(default=15.0, gt=0)
    """How often the worker counts stalled sagas for its metric."""
    default_provider: str = "sandbox"
    client_sources: dict[str, str] = Field(default_factory=lambda: {
        "case-service": "case",
        "ticketing-service": "ticketing",
        "notification-service": "notification",
        "identity-service": "identity",
    })
    """Machine client id -> the service name it acts for, so a payment created over REST by
    ``ticketing-service`` and one requested by a ``/ticketing`` command share one source (and
    so one payment per reference). A client not listed acts under its own client id."""
    payment_return_url_origins: Origins = ("http://127.0.0.1:5173", "http://localhost:5173")
    """``CITY_PAYMENT_RETURN_URL_ORIGINS``: the origins a payment's ``return_url`` may point to
    (comma-separated ``scheme://host[:port]``); others are refused (422
    ``return_url_not_allowed``). Default: the demo frontend's."""
    sandbox_enabled: bool = True
    """Serve the sandbox provider's hosted page and accept its webhooks (a local demo: payments
    succeed without money; production refuses to start with it)."""
    sandbox_webhook_secrets: list[SecretStr] = Field(
        default_factory=lambda: [SecretStr(DEV_SANDBOX_WEBHOOK_SECRET)], min_length=1
    )
    """Active webhook secrets: the sandbox signs with the first, the endpoint accepts any
    (rotation: put the new one first, remove the old one once no webhook signed with it can
    still arrive)."""
    sandbox_webhook_tolerance_seconds: int = Field(default=300, ge=1, le=3600)
    sandbox_webhook_url: str | None = None
    """Where the sandbox sends its webhooks. Unset: this service's own endpoint."""
    sandbox_webhook_attempts: int = Field(default=15, ge=1, le=30)
    """How often the sandbox tries each webhook before giving up (the reconciliation job then
    settles the payment)."""
    sandbox_webhook_backoff_seconds: float = Field(default=1.0, gt=0)
    """The wait after a webhook's first failed attempt; it doubles with each further one."""
    sandbox_webhook_max_backoff_seconds: float = Field(default=60.0, gt=0)
    sandbox_delivery_interval_seconds: float = Field(default=1.0, gt=0)
    """How often the worker looks for sandbox webhooks to send."""
    reconciliation_after_seconds: float = Field(default=120.0, gt=0)
    """A payment waiting for its provider's outcome (``created``, ``started``) this long since
    its last change, or since it was last asked, is asked at its provider (worker job)."""
    reconciliation_interval_seconds: float = Field(default=15.0, gt=0)

    @field_validator("sandbox_webhook_secrets")
    @classmethod
    def _secrets_are_long(cls, value: list[SecretStr]) -> list[SecretStr]:
        if any(len(secret.get_secret_value()) < 16 for secret in value):
            raise ValueError("every sandbox webhook secret needs at least 16 characters")
        return value

    @property
    def webhook_url(self) -> str:
        """The URL the sandbox posts its webhooks to."""
        return self.sandbox_webhook_url or f"{self.base_url}/providers/sandbox/webhooks"

    def development_settings(self) -> list[Finding]:
        """Adds the webhook secrets and the sandbox provider."""
        findings = super().development_settings()
        if published(self.sandbox_webhook_secrets, DEV_SANDBOX_WEBHOOK_SECRET):
            findings.append(Finding(self.variable("sandbox_webhook_secrets"), PUBLISHED))
        if self.sandbox_enabled:
            findings.append(Finding(
                self.variable("sandbox_enabled"),
                "enables the sandbox payment provider (payments succeed without money)"))
        return findings
