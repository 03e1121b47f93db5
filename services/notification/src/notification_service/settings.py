"""Settings of the notification service (environment prefix ``CITY_``)."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from city_shared.settings import ServiceSettings


class NotificationSettings(ServiceSettings):
    """The notification service's settings; its API listens on port 8004 by default.

    The local stack passes ``CITY_SMTP_HOST`` and ``CITY_SMTP_PORT`` (its SMTP sink).
    """

    # Validation errors must not echo the database URL.
    model_config = SettingsConfigDict(hide_input_in_errors=True)

    service_name: str = "notification"
    http_port: int = 8004
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_from: str = "Stadtverwaltung <noreply@city-platform.example>"
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    message_id_domain: str = "notification.city-platform.example"
    """The right-hand side of each e-mail's ``Message-ID`` (``<delivery id>@domain``)."""
    default_locale: str = Field(default="de", pattern=r"^(de|en)$")
    delivery_interval_seconds: float = Field(default=1.0, gt=0)
    """How often the worker looks for due deliveries."""
    rules_refresh_seconds: float = Field(default=5.0, gt=0, le=300)
    """How often the worker reads again which event types have a rule, as a safety net: a
    change of the rules reaches it at once by a PostgreSQL notification (see
    :mod:`notification_service.rules.view`)."""
    delivery_batch_size: int = Field(default=50, ge=1, le=1000)
    delivery_max_attempts: int = Field(default=6, ge=1, le=50)
    """Attempts per delivery before it becomes ``permanent_failure``."""
    delivery_backoff_initial_seconds: float = Field(default=30.0, gt=0)
    delivery_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    delivery_lease_seconds: float = Field(default=300.0, gt=0)
    """A delivery claimed for sending and not settled this long after (a crashed worker) is
    claimed again."""
    sms_provider: str = Field(default="sandbox", pattern=r"^sandbox$")
    document_sources: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:8002/documents/signed/"])
    """``CITY_DOCUMENT_SOURCES``: the URL prefixes documents attached to e-mails may be
    fetched from (JSON list, each ending with ``/``); any other ``download_url`` is never
    requested. Default: the local case service's signed document links."""
    document_fetch_via: dict[str, str] = Field(default_factory=dict)
    """``CITY_DOCUMENT_FETCH_VIA``: an allowed prefix -> the prefix the worker fetches it
    through (e.g. the case API's public address -> its in-cluster Service)."""
    document_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    document_fetch_timeout_seconds: float = Field(default=10.0, gt=0)

    @field_validator("document_sources")
    @classmethod
    def _prefixes(cls, value: list[str]) -> list[str]:
        for prefix in value:
            if not prefix.startswith(("http://", "https://")) or not prefix.endswith("/"):
                raise ValueError("each document source is an http(s) URL prefix ending with /")
        return value

    @field_validator("document_fetch_via")
    @classmethod
    def _via(cls, value: dict[str, str]) -> dict[str, str]:
        for target in value.values():
            if not target.startswith(("http://", "https://")) or not target.endswith("/"):
                raise ValueError("each fetch prefix is an http(s) URL prefix ending with /")
        return value
