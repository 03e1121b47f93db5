"""Settings of the ticketing service (environment prefix ``CITY_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from city_shared.encoding import b64url_decode
from city_shared.production import PUBLISHED, Finding, published
from city_shared.settings import ServiceSettings

#: Published development seed of the ticket signing key (32 bytes, base64url); a local demo only.
DEV_TICKET_SIGNING_KEY = "ZGV2LXRpY2tldC1zaWduaW5nLWtleS1ub3QtdmFsaWQ"


class TicketingSettings(ServiceSettings):
    """The ticketing service's settings; its API listens on port 8005 by default.

    Lists come from the environment as JSON, e.g.
    ``CITY_TICKET_SIGNING_KEYS='["<new seed>", "<old seed>"]'``.
    """

    service_name: str = "ticketing"
    http_port: int = 8005
    ticket_signing_keys: list[SecretStr] = Field(
        default_factory=lambda: [SecretStr(DEV_TICKET_SIGNING_KEY)], min_length=1)
    """Ed25519 private keys as base64url 32-byte seeds: the first signs new tickets, all are
    published (rotation: put the new one first; drop the old one when its tickets have
    expired)."""
    default_return_url: str | None = None
    """Where the checkout page sends the citizen after paying, unless the order names one."""
    hold_sweep_interval_seconds: float = Field(default=5.0, gt=0)
    hold_sweep_batch_size: int = Field(default=200, ge=1, le=10_000)
    stalled_checkout_seconds: float = Field(default=30.0, gt=0)
    """An unpaid order still without a checkout page this long after it was placed counts as a
    stalled saga (metric ``city_stalled_sagas``, ``/readyz``): payment never created it."""
    stalled_hold_grace_seconds: float = Field(default=60.0, gt=0)
    """An unpaid order still open this long after its hold ran out counts as a stalled saga:
    the hold expiry job is not closing it."""
    stall_check_interval_seconds: float = Field(default=15.0, gt=0)
    """How often the worker counts stalled sagas for its metric."""
    checkin_early_minutes: int = Field(default=30, ge=0, le=24 * 60)
    """A timed ticket admits from this many minutes before its slot starts until the slot ends."""
    slot_generation_max_days: int = Field(default=400, ge=1, le=1000)

    @field_validator("ticket_signing_keys")
    @classmethod
    def _keys_are_ed25519_seeds(cls, value: list[SecretStr]) -> list[SecretStr]:
        for key in value:
            raw = key.get_secret_value()
            try:
                seed = b64url_decode(raw)
            except ValueError:
                raise ValueError("every ticket signing key must be base64url") from None
            if len(seed) != 32:
                raise ValueError("every ticket signing key must encode a 32-byte Ed25519 seed")
        return value

    def development_settings(self) -> list[Finding]:
        """Adds the ticket signing keys."""
        findings = super().development_settings()
        if published(self.ticket_signing_keys, DEV_TICKET_SIGNING_KEY):
            findings.append(Finding(self.variable("ticket_signing_keys"), PUBLISHED))
        return findings
