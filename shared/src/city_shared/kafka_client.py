"""How every Kafka client of the platform reaches the brokers: bootstrap servers and security.

A :class:`KafkaConnection` is built once from the settings
(:meth:`~city_shared.settings.ServiceSettings.kafka_connection`) and handed to the consumer, the
relay's producer, the topic admin, the dead-letter publisher and reader; each of them builds its
aiokafka client with :func:`client_options`, so a security setting reaches every client or none.
A bare string is accepted wherever a connection is (:data:`Brokers`): the bootstrap servers of
a plaintext broker, as the local stack, the tests and the benchmarks run it.

The connection is checked when it is built, so a worker with incomplete Kafka settings stops at
start instead of failing its first request: SASL needs a username and a password, a TLS file
must be readable, a client certificate needs its key. Errors name the environment variable,
never its value. The TLS context is built afresh for each client, so a client started after the
CA file was renewed on disk trusts the new CA.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias, get_args

from aiokafka.helpers import create_ssl_context
from pydantic import SecretStr

__all__ = [
    "Brokers", "KafkaConnection", "KafkaSettingsError", "SaslMechanism", "SecurityProtocol",
    "client_options", "connection_of",
]

SecurityProtocol: TypeAlias = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism: TypeAlias = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]

#: The protocols that carry credentials and events in clear over the network.
CLEARTEXT_PROTOCOLS: Final = frozenset({"PLAINTEXT", "SASL_PLAINTEXT"})

# The variables an error names (the settings' env prefix is ``CITY_``).
_VARIABLE: Final = {
    "security_protocol": "CITY_KAFKA_SECURITY_PROTOCOL",
    "sasl_mechanism": "CITY_KAFKA_SASL_MECHANISM",
    "sasl_username": "CITY_KAFKA_SASL_USERNAME",
    "sasl_password": "CITY_KAFKA_SASL_PASSWORD",
    "ssl_ca_file": "CITY_KAFKA_SSL_CA_FILE",
    "ssl_cert_file": "CITY_KAFKA_SSL_CERT_FILE",
    "ssl_key_file": "CITY_KAFKA_SSL_KEY_FILE",
}


class KafkaSettingsError(ValueError):
    """The Kafka settings cannot make a working client; the message names the variables."""


@dataclass(frozen=True, slots=True)
class KafkaConnection:
    """The brokers and how to authenticate to them. ``repr`` never shows the password."""

    bootstrap_servers: str
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = field(default=None, repr=False)
    ssl_ca_file: Path | None = None
    """The CA that signed the brokers' certificates; unset: the system's trusted CAs."""
    ssl_cert_file: Path | None = None
    """A client certificate (mutual TLS), with ``ssl_key_file``; not needed with SASL."""
    ssl_key_file: Path | None = None

    def __post_init__(self) -> None:
        if self.security_protocol not in get_args(SecurityProtocol):
            raise KafkaSettingsError(f"{_VARIABLE['security_protocol']} must be one of "
                                     f"{', '.join(get_args(SecurityProtocol))}")
        if self.uses_sasl:
            if self.sasl_mechanism not in get_args(SaslMechanism):
                raise KafkaSettingsError(f"{_VARIABLE['sasl_mechanism']} must be one of "
                                         f"{', '.join(get_args(SaslMechanism))}")
            missing = [_VARIABLE[name] for name in ("sasl_username", "sasl_password")
                       if not _present(getattr(self, name))]
            if missing:
                raise KafkaSettingsError(f"{' and '.join(missing)} must be set: "
                                         f"{self.security_protocol} authenticates with them")
        if self.uses_tls:
            if (self.ssl_cert_file is None) != (self.ssl_key_file is None):
                raise KafkaSettingsError(f"{_VARIABLE['ssl_cert_file']} and "
                                         f"{_VARIABLE['ssl_key_file']} go together (a client "
                                         "certificate needs its key)")
            for name in ("ssl_ca_file", "ssl_cert_file", "ssl_key_file"):
                _require_readable(name, getattr(self, name))

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol.endswith("SSL")

    def __str__(self) -> str:
        """For logs: where and how, never who or with what."""
        return f"{self.bootstrap_servers} ({self.security_protocol})"


#: The brokers a client talks to: a :class:`KafkaConnection`, or the bootstrap servers of a
#: plaintext broker (the local stack, tests, benchmarks).
Brokers: TypeAlias = KafkaConnection | str


def connection_of(brokers: Brokers) -> KafkaConnection:
    """``brokers`` as a connection (a string is a plaintext broker's bootstrap servers)."""
    return brokers if isinstance(brokers, KafkaConnection) else KafkaConnection(brokers)


def client_options(brokers: Brokers) -> dict[str, Any]:
    """The keyword arguments that connect any aiokafka client (producer, consumer, admin) to
    ``brokers``: bootstrap servers, security protocol, SASL credentials and TLS context."""
    connection = connection_of(brokers)
    options: dict[str, Any] = {
        "bootstrap_servers": connection.bootstrap_servers,
        "security_protocol": connection.security_protocol,
    }
    if connection.uses_sasl:
        assert connection.sasl_password is not None  # checked when the connection was built
        options.update(
            sasl_mechanism=connection.sasl_mechanism,
            sasl_plain_username=connection.sasl_username,
            sasl_plain_password=connection.sasl_password.get_secret_value(),
        )
    if connection.uses_tls:
        options["ssl_context"] = create_ssl_context(
            cafile=connection.ssl_ca_file, certfile=connection.ssl_cert_file,
            keyfile=connection.ssl_key_file,
        )
    return options


def _present(value: str | SecretStr | None) -> bool:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return bool(value)


def _require_readable(name: str, path: Path | None) -> None:
    if path is not None and not (path.is_file() and os.access(path, os.R_OK)):
        raise KafkaSettingsError(f"{_VARIABLE[name]} names no readable file")
