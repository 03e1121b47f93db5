"""Settings of the case service (environment prefix ``CITY_``)."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field, SecretStr

from city_shared.production import PUBLISHED, Finding, published
from city_shared.settings import ServiceSettings

DEV_INTAKE_KEY_ENCRYPTION_KEY: Final = "Y2l0eS1wbGF0Zm9ybS1ERVYtT05MWS1pbnRha2UtMDA"
"""base64url of the published development key that encrypts intake destinations' private keys
at rest; production refuses it."""

DEV_DOCUMENT_LINK_KEY: Final = "city-platform-DEV-ONLY-document-links-0000"
"""The published development key that signs documents' download links; production refuses
it."""


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
    attachment_storage: Literal["database"] = "database"
    """Where attachment contents live: ``database`` (the case database, in the same transaction
    as their metadata). The storage interface is what an S3-compatible store would implement."""
    intake_key_encryption_key: SecretStr = SecretStr(DEV_INTAKE_KEY_ENCRYPTION_KEY)
    """``CITY_INTAKE_KEY_ENCRYPTION_KEY``: base64url of 32 random bytes; encrypts the intake
    destinations' private keys at rest. Changing it makes stored destination keys unreadable."""
    open311_reports_per_hour: int = Field(default=10, ge=1, le=10_000)
    """How many Open311 reports one client address may make per hour (429 beyond)."""
    payment_answer_stall_seconds: float = Field(default=300.0, gt=0)
    """A case whose payment request got no answer (no payment created) this long counts as a
    stalled saga (metric ``city_stalled_sagas``, ``/readyz``): payment is not answering."""
    payment_outcome_stall_seconds: float = Field(default=3 * 3600.0, gt=0)
    """A case whose created payment has no outcome this long counts as a stalled saga: payment
    expires an unpaid payment after 90 minutes by default, so its answer never arrived."""
    stall_check_interval_seconds: float = Field(default=15.0, gt=0)
    """How often the worker counts stalled sagas for its metric."""
    document_link_key: SecretStr = SecretStr(DEV_DOCUMENT_LINK_KEY)
    """``CITY_DOCUMENT_LINK_KEY``: signs the time-limited download links of case documents
    that events carry (notification attaches the decision to its e-mail through them)."""
    document_link_days: int = Field(default=14, ge=1, le=90)
    """How long a signed download link of a document works."""
    deadline_check_interval_seconds: float = Field(default=60.0, gt=0)
    """How often the worker looks for deadlines to remind of or act on (requests for
    information, parts)."""

    def development_settings(self) -> list[Finding]:
        """Adds the intake key-encryption key and the document link key."""
        findings = super().development_settings()
        if published(self.intake_key_encryption_key, DEV_INTAKE_KEY_ENCRYPTION_KEY):
            findings.append(Finding(self.variable("intake_key_encryption_key"), PUBLISHED))
        if published(self.document_link_key, DEV_DOCUMENT_LINK_KEY):
            findings.append(Finding(self.variable("document_link_key"), PUBLISHED))
        return findings
