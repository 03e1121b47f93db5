"""Settings of the ticketing service (environment prefix ``CITY_``)."""

from __future__ import annotations

import logging

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from city_shared.settings import ServiceSettings

log = logging.getLogger(__name__)

#: Published development seed of the ticket signing key (32 bytes, base64url); a local demo only.
DEV_TICKET_SIGNING_KEY = "ZGV2LXRpY2tldC1zaWduaW5nLWtleS1ub3QtdmFsaWQ"


class TicketingSettings(ServiceSettings):
    """The ticketing service's settings; its API listens on port 8005 by default.

    Lists come from the environment as JSON, e.g.
    ``CITY_TICKET_SIGNING_KEYS='["<new seed>", "<old seed>"]'``.
    """

    # Validation errors must not echo secrets (signing keys, the database URL).
    model_config = SettingsConfigDict(hide_input_in_errors=True)

    service_name: str = "ticketing"
    http_port: int = 8005
    public_base_url: str | None = None
    """Where citizens reach this API (ticket pages, QR images). Unset:
    ``http://<http_host>:<http_port>``."""
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

    @property
    def base_url(self) -> str:
        """The public base URL without a trailing slash."""
        url = self.public_base_url or f"http://{self.http_host}:{self.http_port}"
        return url.rstrip("/")

    def warn_if_insecure(self) -> None:
        """Log a warning when the published development signing key is active."""
        if any(k.get_secret_value() == DEV_TICKET_SIGNING_KEY for k in self.ticket_signing_keys):
            log.warning("tickets are signed with the published development key; "
                        "set CITY_TICKET_SIGNING_KEYS outside a local demo")
