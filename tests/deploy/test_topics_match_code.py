"""The KafkaTopic resources for production say what the workers would create themselves."""

from __future__ import annotations

import importlib
from typing import Any

from city_shared.deadletters import dead_letter_topic
from city_shared.settings import ServiceSettings
from tests.deploy.rendering import needs_kubectl, rendered

SERVICES = ("identity", "case", "payment", "notification", "ticketing")
#: What a worker gives its dead-letter topic unless CITY_KAFKA_DEAD_LETTER_RETENTION_MS says
#: otherwise (production leaves the default).
DEAD_LETTER_RETENTION_MS = ServiceSettings.model_fields["kafka_dead_letter_retention_ms"].default


def _rendered_topics() -> dict[str, dict[str, Any]]:
    return {
        doc["metadata"]["name"]: doc["spec"]
        for doc in rendered("overlays/production")
        if doc.get("kind") == "KafkaTopic"
    }


@needs_kubectl
def test_every_topic_a_worker_provisions_exists_with_the_same_partitions_and_retention() -> None:
    rendered = _rendered_topics()
    expected: dict[str, tuple[int, int]] = {}
    for service in SERVICES:
        for spec in importlib.import_module(f"{service}_service.topics").OWNED_TOPICS:
            expected[spec.name] = (spec.partitions, spec.retention_ms)
        expected[dead_letter_topic(service)] = (1, DEAD_LETTER_RETENTION_MS)

    actual = {
        name: (spec["partitions"], int(spec["config"]["retention.ms"]))
        for name, spec in rendered.items()
    }
    assert actual == expected
