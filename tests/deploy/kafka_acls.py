"""What each service's worker does on Kafka, derived from its code, as the ACLs that allow it.

- **Publishes**: the services publish only through the transactional outbox, and the code says
  the topic at each call: ``aggregate.record(TOPIC, event)`` (:class:`RecordsEvents`) or
  ``outbox.add(session, TOPIC, event)``. There is no declarative list of what a service
  publishes, so :func:`published_topics` reads every call of the service's package (``ast``)
  and evaluates its topic argument, a constant, in the calling module. A call it cannot
  evaluate (or an ``outbox.add_all``) fails loudly rather than being skipped.
- **Reads**: the topics of the worker's subscriptions (``build_subscriptions`` /
  ``SUBSCRIPTIONS``) and its command topics (``COMMAND_TOPICS``, consumed to dead-letter
  commands nobody handles), in the consumer group ``settings.consumer_group``.
- **Dead letters**: ``<service>.deadletters``, written by the consumer and read by the
  operators' ``python -m city_shared.deadletters list``.
- **Replay** (:func:`replay_acls`): the operators' user of ``deploy/k8s/examples/
  kafka-replay-user.yaml``, which reads the dead letters and writes them back.
- **IdempotentWrite**: when the one producer factory (:func:`city_shared.relay.make_producer`)
  turns on idempotence.

An ACL is a ``(resource type, resource name, pattern type, operation)`` tuple, the shape of a
Strimzi ``KafkaUser`` rule with one operation.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, cast
from unittest import mock

from city_shared import relay
from city_shared.consumer import Subscription
from city_shared.deadletters import dead_letter_topic
from city_shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("identity", "case", "payment", "notification", "ticketing")

Acl = tuple[str, str, str, str]
"""(resource type, name, pattern type, operation); the cluster's name is ``kafka-cluster``."""

CLUSTER = "kafka-cluster"


def topic_calls(tree: ast.Module) -> Iterable[ast.expr]:
    """The topic argument of every outbox write in one module's syntax tree."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        func = node.func
        if func.attr == "record" and len(node.args) == 2 and not node.keywords:
            yield node.args[0]
        elif isinstance(func.value, ast.Name) and func.value.id == "outbox":
            if func.attr != "add":
                raise AssertionError(f"outbox.{func.attr}(...): teach kafka_acls to read it")
            yield node.args[1]


def evaluate_topic(expression: ast.expr, namespace: dict[str, Any], where: str) -> str:
    """The value of a topic constant (``ORDERS``, ``events.NOTIFICATION_REQUESTS_TOPIC``)."""
    if not isinstance(expression, ast.Name | ast.Attribute):
        raise AssertionError(f"{where}: the topic {ast.unparse(expression)} is not a constant")
    value = eval(compile(ast.Expression(expression), where, "eval"), namespace)  # noqa: S307
    if not isinstance(value, str):
        raise AssertionError(f"{where}: {ast.unparse(expression)} is not a topic name")
    return value


def published_topics(service: str) -> set[str]:
    """Every topic the service's code writes into its outbox."""
    package = ROOT / "services" / service / "src" / f"{service}_service"
    topics: set[str] = set()
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        calls = list(topic_calls(tree))
        if not calls:
            continue
        module = ".".join(path.relative_to(package.parent).with_suffix("").parts)
        namespace = vars(importlib.import_module(module))
        topics |= {evaluate_topic(call, namespace, str(path)) for call in calls}
    return topics


class _NoProvider:
    """Stands in for the payment provider: building the subscriptions only names it."""


def _subscriptions(service: str) -> tuple[Subscription, ...]:
    if service == "identity":
        from identity_service.subscriptions import SUBSCRIPTIONS

        return SUBSCRIPTIONS
    module = importlib.import_module(f"{service}_service.subscriptions")
    build = cast(Callable[..., tuple[Subscription, ...]], module.build_subscriptions)
    settings = settings_of(service)
    if service == "payment":
        from payment_service.providers.base import PaymentProvider
        from payment_service.providers.registry import Providers

        providers = Providers({"sandbox": cast(PaymentProvider, _NoProvider())}, "sandbox")
        return build(settings, providers)
    return build(settings)


def settings_of(service: str) -> ServiceSettings:
    """The service's settings class with its defaults (call with a clean ``CITY_*`` env)."""
    module = importlib.import_module(f"{service}_service.settings")
    cls = cast(type[ServiceSettings], getattr(module, f"{service.capitalize()}Settings"))
    return cls()


def read_topics(service: str) -> set[str]:
    """The topics the service's worker consumes."""
    topics = importlib.import_module(f"{service}_service.topics")
    commands: tuple[str, ...] = getattr(topics, "COMMAND_TOPICS", ())
    return {s.topic for s in _subscriptions(service)} | set(commands)


def producer_is_idempotent() -> bool:
    """Whether :func:`city_shared.relay.make_producer` asks for an idempotent producer."""
    captured: dict[str, Any] = {}

    class Recorder:
        def __init__(self, **options: Any) -> None:
            captured.update(options)

    with mock.patch.object(relay, "AIOKafkaProducer", Recorder):
        relay.make_producer("127.0.0.1:9092")
    return bool(captured.get("enable_idempotence"))


def needed_acls(service: str) -> set[Acl]:
    """The ACLs the service's worker needs, and nothing more."""
    acls: set[Acl] = set()
    for topic in published_topics(service):
        acls |= {("topic", topic, "literal", op) for op in ("Write", "Describe")}
    reads = read_topics(service)
    for topic in reads:
        acls |= {("topic", topic, "literal", op) for op in ("Read", "Describe")}
    dlq = dead_letter_topic(service)
    acls |= {("topic", dlq, "literal", op) for op in ("Write", "Read", "Describe")}
    if reads:
        acls.add(("group", settings_of(service).consumer_group, "literal", "Read"))
    if producer_is_idempotent():
        acls.add(("cluster", CLUSTER, "literal", "IdempotentWrite"))
    return acls


def replay_acls() -> set[Acl]:
    """What ``python -m city_shared.deadletters replay`` needs for every service: read each
    dead-letter topic (without a group) and write each record back to the topic it was consumed
    from, i.e. any topic a worker reads, with the idempotent producer."""
    acls: set[Acl] = set()
    for service in SERVICES:
        dlq = dead_letter_topic(service)
        acls |= {("topic", dlq, "literal", op) for op in ("Read", "Describe")}
        for topic in read_topics(service):
            acls |= {("topic", topic, "literal", op) for op in ("Write", "Describe")}
    if producer_is_idempotent():
        acls.add(("cluster", CLUSTER, "literal", "IdempotentWrite"))
    return acls


def granted_acls(user: dict[str, Any]) -> set[Acl]:
    """The ACLs a rendered Strimzi ``KafkaUser`` grants (allow rules; a deny rule fails)."""
    acls: set[Acl] = set()
    for rule in user["spec"]["authorization"]["acls"]:
        assert rule.get("type", "allow") == "allow", rule
        assert rule.get("host", "*") == "*", rule
        resource = rule["resource"]
        name = CLUSTER if resource["type"] == "cluster" else resource["name"]
        pattern = resource.get("patternType", "literal")
        acls |= {(resource["type"], name, pattern, op) for op in rule["operations"]}
    return acls
