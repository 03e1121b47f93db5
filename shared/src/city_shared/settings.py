"""Settings every service and worker reads from the environment (prefix ``CITY_``).

Built once in ``create_app`` / ``worker.main()`` and passed down; nothing reads the environment
at import time. A service subclasses :class:`ServiceSettings` to add its own fields.

``CITY_ENV`` is ``development`` (the default, convenient for ``make run``) or ``production``: in
production, validating the settings raises
:class:`~city_shared.production.ProductionSettingsRefused` while any of
:meth:`ServiceSettings.development_settings` remains, so neither the API nor the worker starts.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final, Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from city_shared.body_limit import DEFAULT_MAX_BODY_BYTES
from city_shared.cors import Origins
from city_shared.kafka_client import (
    CLEARTEXT_PROTOCOLS,
    KafkaConnection,
    SaslMechanism,
    SecurityProtocol,
)
from city_shared.production import MISSING, Finding, ProductionSettingsRefused, published

log = logging.getLogger(__name__)

#: The database URL of a local demo; production must set ``CITY_DATABASE_URL``.
DEV_DATABASE_URL: Final = "postgresql+asyncpg://localhost:5432/postgres"


class ServiceSettings(BaseSettings):
    """Infrastructure settings shared by all services.

    ``service_name`` names the CloudEvents ``source`` (``/<service_name>``), the consumer group
    and the dead-letter topic, so it must be stable across deployments.
    """

    # Validation errors must not echo secrets (whole-model validators see every input).
    model_config = SettingsConfigDict(env_prefix="CITY_", extra="ignore",
                                      hide_input_in_errors=True)

    env: Literal["development", "production"] = "development"
    """``CITY_ENV``: ``production`` refuses development secrets and sandboxes (see the module)."""
    service_name: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9-]*$")
    database_url: SecretStr = SecretStr(DEV_DATABASE_URL)
    database_pool_size: int = 10
    database_pool_timeout_seconds: float = Field(default=5.0, gt=0)
    """``CITY_DATABASE_POOL_TIMEOUT_SECONDS``: how long a request waits for a pooled database
    connection before it is answered 503 ``service_unavailable`` (SQLAlchemy's own default is
    30 s, a hang to a buyer)."""
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    """``CITY_KAFKA_SECURITY_PROTOCOL``: ``PLAINTEXT`` (the local stack), ``SSL``,
    ``SASL_PLAINTEXT`` or ``SASL_SSL`` (production: SCRAM over TLS, see ADR 0019). A worker
    in production refuses the clear-text ones (:meth:`kafka_connection`)."""
    kafka_sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    """``CITY_KAFKA_SASL_USERNAME`` / ``CITY_KAFKA_SASL_PASSWORD``: the service's Kafka user
    (a ``SASL_*`` protocol needs both); the password is never logged."""
    kafka_ssl_ca_file: Path | None = None
    """``CITY_KAFKA_SSL_CA_FILE``: the CA of the brokers' certificates (``SSL``/``SASL_SSL``);
    unset: the system's trusted CAs."""
    kafka_ssl_cert_file: Path | None = None
    kafka_ssl_key_file: Path | None = None
    """``CITY_KAFKA_SSL_CERT_FILE`` / ``CITY_KAFKA_SSL_KEY_FILE``: a client certificate and its
    key, for brokers that authenticate clients by mutual TLS (optional)."""
    kafka_create_topics: bool = True
    """``CITY_KAFKA_CREATE_TOPICS``: the worker creates its missing topics at start (the local
    stack). ``false``: it never creates one and waits, not ready, until the operator has
    (production: Strimzi ``KafkaTopic`` resources, and the service's Kafka user may not
    create topics)."""
    kafka_dead_letter_retention_ms: int = Field(default=28 * 24 * 3600 * 1000, gt=0)
    """``CITY_KAFKA_DEAD_LETTER_RETENTION_MS``: how long ``<service>.deadletters`` keeps a
    record (28 days: time to notice the alert, fix and replay; dead letters hold personal
    data, so not forever)."""
    kafka_topic_partitions: int = 3
    kafka_topic_replication: int = 1
    auth_issuer: str = "http://127.0.0.1:8001"
    auth_jwks_url: str = "http://127.0.0.1:8001/.well-known/jwks.json"
    auth_audience: str = "city-platform"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    http_workers: int = Field(default=1, ge=1)
    """``CITY_HTTP_WORKERS``: API processes serving ``http_port`` (uvicorn workers, see
    :mod:`city_shared.serve`). Each has its own database pool (``database_pool_size``) and its
    own admission limit (``max_in_flight``); ``/metrics`` reports them all."""
    worker_metrics_port: int = 0
    api_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    """``CITY_API_METRICS_PORT``: unset (the default), the API answers ``/metrics`` on
    ``http_port`` with everything else; set (Kubernetes: 9000), ``/metrics`` is served on
    ``http_host:api_metrics_port`` alone, from the API's one process or the supervisor of its
    ``http_workers`` (:mod:`city_shared.metrics_server`), and ``http_port`` answers 404 for it,
    so public traffic never reads the metrics."""
    otlp_endpoint: str | None = None
    log_level: str = "INFO"
    log_json: bool = True
    outbox_poll_interval_seconds: float = 1.0
    outbox_batch_size: int = 1000
    consumer_max_attempts: int = 5
    consumer_backoff_initial_seconds: float = 0.2
    consumer_backoff_max_seconds: float = 5.0
    idempotency_ttl_seconds: int = 24 * 3600
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, gt=0)
    """``CITY_MAX_BODY_BYTES``: the largest request body the API reads (413 above); an endpoint
    that takes uploads declares its own limit in ``create_service_app(body_limits=...)``."""
    max_in_flight: int = Field(default=200, gt=0)
    """``CITY_MAX_IN_FLIGHT``: requests one API process works on at once; more wait for a slot
    (see :mod:`city_shared.admission`). Per process: with ``http_workers`` N the API admits N
    times as many. Health, readiness and metrics are never limited."""
    admission_wait_seconds: float = Field(default=1.0, ge=0)
    """``CITY_ADMISSION_WAIT_SECONDS``: how long a request beyond ``max_in_flight`` waits for a
    slot before it is answered 503 ``overloaded`` with ``Retry-After``."""
    cors_allowed_origins: Origins = ()
    """``CITY_CORS_ALLOWED_ORIGINS``: the browser origins that may call the API, comma-separated
    (``https://shop.example,https://portal.example``); none by default, never ``*``."""

    public_base_url: str | None = None
    """``CITY_PUBLIC_BASE_URL``: where clients reach this service (links in responses, pages);
    unset: ``http://<http_host>:<http_port>``."""

    @property
    def base_url(self) -> str:
        """The public base URL without a trailing slash."""
        url = self.public_base_url or f"http://{self.http_host}:{self.http_port}"
        return url.rstrip("/")

    @property
    def consumer_group(self) -> str:
        """The Kafka consumer group of this service's worker."""
        return f"{self.service_name}-worker"

    def kafka_connection(self) -> KafkaConnection:
        """How this service's Kafka clients connect; raises
        :class:`~city_shared.kafka_client.KafkaSettingsError` for incomplete settings (a
        ``SASL_*`` protocol without credentials, an unreadable TLS file) and, in production,
        :class:`~city_shared.production.ProductionSettingsRefused` for a clear-text protocol.

        Checked here rather than when the settings load because only workers talk to Kafka:
        the APIs share the settings class and never get Kafka credentials or the CA.
        """
        if self.env == "production" and self.kafka_security_protocol in CLEARTEXT_PROTOCOLS:
            raise ProductionSettingsRefused([Finding(
                self.variable("kafka_security_protocol"),
                "sends Kafka credentials and events in clear; production needs SASL_SSL or SSL",
            )])
        return KafkaConnection(
            bootstrap_servers=self.kafka_bootstrap_servers,
            security_protocol=self.kafka_security_protocol,
            sasl_mechanism=self.kafka_sasl_mechanism,
            sasl_username=self.kafka_sasl_username,
            sasl_password=self.kafka_sasl_password,
            ssl_ca_file=self.kafka_ssl_ca_file,
            ssl_cert_file=self.kafka_ssl_cert_file,
            ssl_key_file=self.kafka_ssl_key_file,
        )

    @classmethod
    def variable(cls, field: str) -> str:
        """The environment variable of ``field`` (``key_encryption_key`` ->
        ``CITY_KEY_ENCRYPTION_KEY``)."""
        if field not in cls.model_fields:
            raise KeyError(field)
        return f"{cls.model_config.get('env_prefix', '')}{field}".upper()

    def development_settings(self) -> list[Finding]:
        """Every setting that production refuses: a secret still at its published development
        value or missing, a sandbox enabled. Subclasses extend the list (``super()`` first)."""
        findings = []
        if published(self.database_url, DEV_DATABASE_URL):
            findings.append(Finding(self.variable("database_url"), MISSING))
        return findings

    def warn_if_insecure(self, logger: logging.Logger = log) -> None:
        """Log one warning per development setting on ``logger`` (development mode; production
        never gets this far). Call it once at startup, after logging is configured."""
        for finding in self.development_settings():
            logger.warning("%s: fine for a local demo, refused with CITY_ENV=production", finding)

    @model_validator(mode="after")
    def _production_refuses_development_settings(self) -> Self:
        if self.env == "production":
            findings = self.development_settings()
            if findings:
                raise ProductionSettingsRefused(findings)
        return self
