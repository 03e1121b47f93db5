"""The configuration of the local one-node Kafka: `server.properties` content and cluster ids.

Pure functions, no I/O: the broker binds `host` only (127.0.0.1 by default), runs as a combined
broker+controller with a static one-voter quorum, and every internal topic has replication 1.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from pathlib import Path


def new_cluster_id() -> str:
    """A random Kafka cluster id: 16 bytes, URL-safe base64 without padding, not led by '-'."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not candidate.startswith("-"):
            return candidate


def server_properties(
    *, port: int, controller_port: int, log_dir: Path, host: str = "127.0.0.1"
) -> dict[str, str]:
    """The properties of a one-node combined broker+controller that binds `host` only."""
    return {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{host}:{controller_port}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(log_dir),
        "num.partitions": "3",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
    }


def render_properties(properties: Mapping[str, str]) -> str:
    lines = ["# Written by devstack on every start."]
    lines += [f"{key}={value}" for key, value in properties.items()]
    return "\n".join(lines) + "\n"
