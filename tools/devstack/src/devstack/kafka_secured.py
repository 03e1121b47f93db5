"""A one-node KRaft broker that authenticates and authorizes clients as production does: SASL
SCRAM-SHA-512, the StandardAuthorizer (nothing is allowed without an ACL), one super user.

For the tests that prove the services' Kafka security settings against a real broker; the local
stack keeps its plaintext broker (`devstack.kafka`). Listeners, all on 127.0.0.1:
- `SCRAM` (SASL_PLAINTEXT) on `port`: clients and the broker itself (inter-broker, as `admin`);
- `SCRAMTLS` (SASL_SSL) on `tls_port` when a PEM key store is given (key and certificate chain
  in one file, as Strimzi's listener certificates are): what production's workers speak;
- `CONTROLLER` (SASL_PLAINTEXT, mechanism PLAIN, user `admin`): KRaft controllers cannot
  authenticate with SCRAM, whose credentials live in the metadata they serve.
The SCRAM users are created when the storage is formatted (`kafka-storage format --add-scram`),
before the broker first starts. ACLs are created through the admin protocol: :func:`create_acls`
(aiokafka's admin client has no method for it, its protocol module has the request).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest

from devstack.kafka import KafkaError, KafkaServer

SCRAM = "SCRAM-SHA-512"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


@dataclass(frozen=True)
class ScramUser:
    """A SCRAM-SHA-512 user of the broker (letters, digits and dashes: no quoting needed)."""

    name: str
    password: str = field(repr=False)

    @property
    def principal(self) -> str:
        return f"User:{self.name}"


class Resource(enum.IntEnum):
    """Kafka's ACL resource types (the wire values)."""

    TOPIC = 2
    GROUP = 3
    CLUSTER = 4


class Operation(enum.IntEnum):
    """Kafka's ACL operations (the wire values). READ and WRITE imply DESCRIBE."""

    READ = 3
    WRITE = 4
    CREATE = 5
    DESCRIBE = 8


_LITERAL = 3  # resource pattern type: the exact name
_ALLOW = 3


@dataclass(frozen=True)
class Acl:
    """Allow ``user`` ``operation`` on one resource, named exactly (from any host)."""

    user: ScramUser
    resource: Resource
    name: str
    operation: Operation


class SecuredKafkaServer(KafkaServer):
    """A :class:`KafkaServer` with SCRAM users, ACL authorization and an optional TLS listener.

    `bootstrap_servers` is the SASL_PLAINTEXT listener, `tls_bootstrap_servers` the SASL_SSL
    one. The readiness check connects as `admin` (the super user)."""

    def __init__(
        self, data_dir: Path, port: int, controller_port: int, jars_dir: Path, *,
        admin: ScramUser, users: Sequence[ScramUser] = (), tls_port: int | None = None,
        tls_keystore: Path | None = None, **options: Any,
    ) -> None:
        super().__init__(data_dir, port, controller_port, jars_dir, **options)
        if (tls_port is None) != (tls_keystore is None):
            raise KafkaError("a TLS listener needs both tls_port and tls_keystore")
        self.admin = admin
        self.users = tuple(users)
        self.tls_port = tls_port
        self.tls_keystore = tls_keystore

    @property
    def tls_bootstrap_servers(self) -> str:
        if self.tls_port is None:
            raise KafkaError("this broker has no TLS listener")
        return f"{self.host}:{self.tls_port}"

    def properties(self) -> dict[str, str]:
        props = super().properties()
        host, admin = self.host, self.admin
        listeners = {"SCRAM": ("SASL_PLAINTEXT", self.port)}
        if self.tls_port is not None:
            listeners["SCRAMTLS"] = ("SASL_SSL", self.tls_port)
        scram_login = ("org.apache.kafka.common.security.scram.ScramLoginModule required "
                       f'username="{admin.name}" password="{admin.password}";')
        plain_login = ("org.apache.kafka.common.security.plain.PlainLoginModule required "
                       f'username="{admin.name}" password="{admin.password}" '
                       f'user_{admin.name}="{admin.password}";')
        props.update({
            "listeners": ",".join([f"{name}://{host}:{port}"
                                   for name, (_, port) in listeners.items()]
                                  + [f"CONTROLLER://{host}:{self.controller_port}"]),
            "advertised.listeners": ",".join(f"{name}://{host}:{port}"
                                             for name, (_, port) in listeners.items()),
            "listener.security.protocol.map": ",".join(
                [f"{name}:{protocol}" for name, (protocol, _) in listeners.items()]
                + ["CONTROLLER:SASL_PLAINTEXT"]),
            "inter.broker.listener.name": "SCRAM",
            "sasl.mechanism.inter.broker.protocol": SCRAM,
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config": plain_login,
            "authorizer.class.name": AUTHORIZER,
            "super.users": admin.principal,
            "allow.everyone.if.no.acl.found": "false",
        })
        for name in listeners:
            prefix = f"listener.name.{name.lower()}"
            props[f"{prefix}.sasl.enabled.mechanisms"] = SCRAM
            props[f"{prefix}.{SCRAM.lower()}.sasl.jaas.config"] = scram_login
        if self.tls_keystore is not None:
            props["listener.name.scramtls.ssl.keystore.type"] = "PEM"
            props["listener.name.scramtls.ssl.keystore.location"] = str(self.tls_keystore)
        return props

    def format_arguments(self) -> list[str]:
        arguments = []
        for user in (self.admin, *self.users):
            arguments += ["--add-scram", f"{SCRAM}=[name={user.name},password={user.password}]"]
        return arguments

    def client_options(self) -> dict[str, object]:
        return self.options_for(self.admin)

    def options_for(self, user: ScramUser) -> dict[str, object]:
        """aiokafka options connecting as ``user`` to the SASL_PLAINTEXT listener."""
        return {"bootstrap_servers": self.bootstrap_servers, "security_protocol": "SASL_PLAINTEXT",
                "sasl_mechanism": SCRAM, "sasl_plain_username": user.name,
                "sasl_plain_password": user.password}

    async def create_acls(self, acls: Iterable[Acl]) -> None:
        """Create ``acls`` as the super user; raises `KafkaError` if the broker refuses one."""
        admin = AIOKafkaAdminClient(**self.client_options(), request_timeout_ms=10_000)
        await admin.start()
        try:
            for acl in acls:
                request = CreateAclsRequest(
                    resource_type=acl.resource, resource_name=acl.name,
                    resource_pattern_type_filter=_LITERAL, principal=acl.user.principal,
                    host="*", operation=acl.operation, permission_type=_ALLOW,
                )
                response = await admin._send_request(request)  # aiokafka has no public call
                for error_code, error_message in response.creation_responses:
                    if error_code:
                        raise KafkaError(f"CreateAcls {acl} failed: {error_code} {error_message}")
        finally:
            await admin.close()
