"""Settings of the case service (environment prefix ``CITY_``)."""

from __future__ import annotations

from pydantic import Field

from city_shared.settings import ServiceSettings


class CaseSettings(ServiceSettings):
    """The case service's settings; its API listens on port 8002 by default."""

    service_name: str = "case"
    http_port: int = 8002
    identity_url: str = "http://127.0.0.1:8001"
    """``CITY_IDENTITY_URL``: where drafts fetch the citizen's verified attributes
    (``GET /me/attributes`` with the citizen's own token) to prefill forms."""
    identity_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    """How long a new draft waits for identity; then it starts without prefill."""
    draft_ttl_hours: int = Field(default=24 * 30, ge=1, le=24 * 365)
    """``CITY_DRAFT_TTL_HOURS``: a draft not changed for this long expires and is deleted."""
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    """Upper bound for any attachment; a definition may set a lower limit per kind."""
    attachments_per_draft: int = Field(default=20, ge=1, le=200)
    case_number_prefixes: dict[str, str] = Field(default_factory=lambda: {
        "musterstadt": "MS", "beispielhausen": "BH"})
    """Tenant -> prefix of its case numbers (``MS-2026-000123``); others use the first two
    letters of the tenant's slug."""
    payment_return_url: str | None = "http://127.0.0.1:5173/cases"
    """Where payment's checkout page sends the citizen back after paying a case's fee."""
