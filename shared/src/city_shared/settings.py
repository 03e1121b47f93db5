"""Settings every service and worker reads from the environment (prefix ``CITY_``).

Built once in ``create_app`` / ``worker.main()`` and passed down; nothing reads the environment
at import time. A service subclasses :class:`ServiceSettings` to add its own fields.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Infrastructure settings shared by all services.

    ``service_name`` names the CloudEvents ``source`` (``/<service_name>``), the consumer group
    and the dead-letter topic, so it must be stable across deployments.
    """

    model_config = SettingsConfigDict(env_prefix="CITY_", extra="ignore")

    service_name: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9-]*$")
    database_url: SecretStr = SecretStr("postgresql+asyncpg://localhost:5432/postgres")
    database_pool_size: int = 10
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_partitions: int = 3
    kafka_topic_replication: int = 1
    auth_issuer: str = "http://127.0.0.1:8001"
    auth_jwks_url: str = "http://127.0.0.1:8001/.well-known/jwks.json"
    auth_audience: str = "city-platform"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    worker_metrics_port: int = 0
    otlp_endpoint: str | None = None
    log_level: str = "INFO"
    log_json: bool = True
    outbox_poll_interval_seconds: float = 1.0
    outbox_batch_size: int = 1000
    consumer_max_attempts: int = 5
    consumer_backoff_initial_seconds: float = 0.2
    consumer_backoff_max_seconds: float = 5.0
    idempotency_ttl_seconds: int = 24 * 3600
    idempotency_in_flight_seconds: int = 60

    @property
    def consumer_group(self) -> str:
        """The Kafka consumer group of this service's worker."""
        return f"{self.service_name}-worker"
