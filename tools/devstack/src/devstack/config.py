"""The local stack's configuration: where it keeps its files and which ports it binds.

Contract: `StackConfig.from_env(env)` reads only `CITY_STACK_*` variables plus
`CITY_KAFKA_BOOTSTRAP_SERVERS` (an existing broker) and never touches the file system. Every
server binds `LOOPBACK`. Each port the stack would bind is listed by `StackConfig.bound_ports()`
together with the variable that moves it, so a busy port can be reported with its remedy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

LOOPBACK = "127.0.0.1"
SERVICES: tuple[str, ...] = ("identity", "case", "payment", "notification", "ticketing")
DEFAULT_API_PORTS = {name: 8001 + index for index, name in enumerate(SERVICES)}
DEFAULT_METRICS_PORTS = {name: 9101 + index for index, name in enumerate(SERVICES)}
#: API processes per service (``CITY_HTTP_WORKERS``): ticketing takes the ticket rushes, so the
#: stack runs it as it is deployed, with two; the others serve from one process.
DEFAULT_API_WORKERS = {name: 2 if name == "ticketing" else 1 for name in SERVICES}

ENV_DIR = "CITY_STACK_DIR"
ENV_DEMO_FILE = "CITY_STACK_DEMO_FILE"
ENV_POSTGRES_PORT = "CITY_STACK_POSTGRES_PORT"
ENV_DATABASE_ADMIN_URL = "CITY_STACK_DATABASE_ADMIN_URL"
ENV_KAFKA_PORT = "CITY_STACK_KAFKA_PORT"
ENV_KAFKA_CONTROLLER_PORT = "CITY_STACK_KAFKA_CONTROLLER_PORT"
ENV_KAFKA_BOOTSTRAP = "CITY_KAFKA_BOOTSTRAP_SERVERS"
ENV_SMTP_PORT = "CITY_STACK_SMTP_PORT"
ENV_READY_TIMEOUT = "CITY_STACK_READY_TIMEOUT"


class ConfigError(ValueError):
    """An environment variable holds a value the stack cannot use; the message names it."""


def api_port_var(service: str) -> str:
    """`CITY_STACK_<SERVICE>_PORT`: the port of the service's API."""
    return f"CITY_STACK_{service.upper()}_PORT"


def metrics_port_var(service: str) -> str:
    """`CITY_STACK_<SERVICE>_METRICS_PORT`: the port of the service worker's metrics."""
    return f"CITY_STACK_{service.upper()}_METRICS_PORT"


def api_workers_var(service: str) -> str:
    """`CITY_STACK_<SERVICE>_API_WORKERS`: how many processes serve the service's API."""
    return f"CITY_STACK_{service.upper()}_API_WORKERS"


def database_name(service: str) -> str:
    """The database of one service: `city_<service>`."""
    return f"city_{service}"


def without_password(url: str) -> str:
    """`url` with any password removed (for printing a DSN)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc}" if user else netloc))


@dataclass(frozen=True)
class ServiceConfig:
    """One service's API and worker-metrics ports, and how many processes serve its API."""

    name: str
    api_port: int
    metrics_port: int
    api_workers: int = 1

    @property
    def database(self) -> str:
        return database_name(self.name)

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.api_port}"


@dataclass(frozen=True)
class PortClaim:
    """A port the stack binds, what binds it, and the variable that moves it."""

    port: int
    owner: str
    env_var: str


@dataclass(frozen=True)
class StackConfig:
    """Everything `devstack` needs to know before it starts anything."""

    repo: Path
    stack_dir: Path
    demo_file: Path
    kafka_cache: Path
    postgres_port: int
    database_admin_url: str | None
    kafka_port: int
    kafka_controller_port: int
    kafka_bootstrap: str | None
    smtp_port: int
    services: tuple[ServiceConfig, ...]
    ready_timeout: float = 90.0

    @classmethod
    def from_env(cls, env: Mapping[str, str], repo: Path) -> StackConfig:
        """Build the configuration from `env`; relative paths are taken from the working dir."""
        local = repo / ".local"
        stack_dir = Path(env.get(ENV_DIR) or local / "stack").absolute()
        return cls(
            repo=repo,
            stack_dir=stack_dir,
            demo_file=Path(env.get(ENV_DEMO_FILE) or local / "demo.json").absolute(),
            kafka_cache=local / "cache" / "kafka",
            postgres_port=_port(env, ENV_POSTGRES_PORT, 5432),
            database_admin_url=env.get(ENV_DATABASE_ADMIN_URL) or None,
            kafka_port=_port(env, ENV_KAFKA_PORT, 9092),
            kafka_controller_port=_port(env, ENV_KAFKA_CONTROLLER_PORT, 9093),
            kafka_bootstrap=env.get(ENV_KAFKA_BOOTSTRAP) or None,
            smtp_port=_port(env, ENV_SMTP_PORT, 1025),
            services=tuple(
                ServiceConfig(
                    name,
                    _port(env, api_port_var(name), DEFAULT_API_PORTS[name]),
                    _port(env, metrics_port_var(name), DEFAULT_METRICS_PORTS[name]),
                    _count(env, api_workers_var(name), DEFAULT_API_WORKERS[name]),
                )
                for name in SERVICES
            ),
            ready_timeout=_seconds(env, ENV_READY_TIMEOUT, 90.0),
        )

    # -- files -------------------------------------------------------------------------------

    @property
    def postgres_dir(self) -> Path:
        return self.stack_dir / "postgres"

    @property
    def kafka_dir(self) -> Path:
        return self.stack_dir / "kafka"

    @property
    def mail_dir(self) -> Path:
        return self.stack_dir / "mail"

    @property
    def logs_dir(self) -> Path:
        return self.stack_dir / "logs"

    @property
    def state_file(self) -> Path:
        """`stack.json`: pid and status of the running `devstack run` (see `devstack.state`)."""
        return self.stack_dir / "stack.json"

    @property
    def lock_file(self) -> Path:
        """Held (flock) by the running `devstack run` for its whole life."""
        return self.stack_dir / "stack.lock"

    @property
    def stack_log(self) -> Path:
        """The output of a detached `devstack run` started by `devstack up`."""
        return self.stack_dir / "stack.log"

    # -- addresses ---------------------------------------------------------------------------

    @property
    def owns_postgres(self) -> bool:
        return self.database_admin_url is None

    @property
    def owns_kafka(self) -> bool:
        return self.kafka_bootstrap is None

    @property
    def bootstrap_servers(self) -> str:
        return self.kafka_bootstrap or f"{LOOPBACK}:{self.kafka_port}"

    def bound_ports(self) -> list[PortClaim]:
        """Every port this stack would bind itself (external servers excluded)."""
        claims: list[PortClaim] = []
        if self.owns_postgres:
            claims.append(PortClaim(self.postgres_port, "PostgreSQL", ENV_POSTGRES_PORT))
        if self.owns_kafka:
            claims.append(PortClaim(self.kafka_port, "Kafka", ENV_KAFKA_PORT))
            claims.append(
                PortClaim(self.kafka_controller_port, "Kafka controller", ENV_KAFKA_CONTROLLER_PORT)
            )
        claims.append(PortClaim(self.smtp_port, "SMTP", ENV_SMTP_PORT))
        for service in self.services:
            api_var = api_port_var(service.name)
            claims.append(PortClaim(service.api_port, f"{service.name}-api", api_var))
            claims.append(
                PortClaim(
                    service.metrics_port,
                    f"{service.name}-worker metrics",
                    metrics_port_var(service.name),
                )
            )
        return claims

    def duplicate_ports(self) -> list[str]:
        """Human-readable conflicts where two claims name the same port (empty when none)."""
        seen: dict[int, PortClaim] = {}
        problems: list[str] = []
        for claim in self.bound_ports():
            first = seen.setdefault(claim.port, claim)
            if first is not claim:
                problems.append(
                    f"port {claim.port} is configured for both {first.owner} ({first.env_var}) "
                    f"and {claim.owner} ({claim.env_var})"
                )
        return problems


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError(f"{name}={raw!r} is not a TCP port (1-65535)")
    return int(raw)


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name}={raw!r} is not a number of processes (1 or more)")
    return int(raw)


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number of seconds") from None
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} must be positive")
    return value
