"""The contract tables are complete and true: every event type a producer module defines is
listed with its model, every model has an example that is exactly what the producer sends, the
topics are the ones the services own, and the consumers listed are the services' real
subscriptions."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import cast

import pytest

from case_service import topics as case_topics
from case_service.settings import CaseSettings
from case_service.subscriptions import build_subscriptions as case_subscriptions
from city_shared.consumer import Subscription
from city_shared.envelope import EVENT_TYPE_PATTERN, from_kafka
from identity_service import topics as identity_topics
from identity_service.subscriptions import SUBSCRIPTIONS as IDENTITY_SUBSCRIPTIONS
from notification_service import topics as notification_topics
from notification_service.settings import NotificationSettings
from notification_service.subscriptions import build_subscriptions as notification_subscriptions
from payment_service import topics as payment_topics
from payment_service.providers.base import PaymentProvider
from payment_service.providers.registry import Providers
from payment_service.settings import PaymentSettings
from payment_service.subscriptions import build_subscriptions as payment_subscriptions
from tests.contracts.catalogue import (
    CONSUMED,
    PRODUCER_MODULES,
    PUBLISHED,
    TOPICS,
    Published,
    examples,
    kafka_example,
)
from ticketing_service import topics as ticketing_topics
from ticketing_service.settings import TicketingSettings
from ticketing_service.subscriptions import build_subscriptions as ticketing_subscriptions


def test_every_event_type_a_producer_module_defines_is_published_with_a_model() -> None:
    pattern = re.compile(EVENT_TYPE_PATTERN)
    defined = {value for module in PRODUCER_MODULES for value in vars(module).values()
               if isinstance(value, str) and pattern.match(value)}
    listed = [entry.type for entry in PUBLISHED]
    assert len(listed) == len(set(listed)), "an event type is listed twice"
    assert defined == set(listed)


def test_the_topics_are_the_ones_the_services_own() -> None:
    owned = {(spec.name, service) for service, module in (
        ("identity", identity_topics), ("ticketing", ticketing_topics),
        ("payment", payment_topics), ("notification", notification_topics),
        ("case", case_topics)) for spec in module.OWNED_TOPICS}
    assert {(t.name, t.owner) for t in TOPICS} == owned
    assert {entry.topic for entry in PUBLISHED} <= {t.name for t in TOPICS}


@pytest.mark.parametrize("entry", PUBLISHED, ids=lambda e: e.type)
def test_every_example_is_exactly_what_the_producer_sends(entry: Published) -> None:
    found = examples(entry)
    assert found, f"{entry.model.__name__} has no example"
    for example in found:
        data = entry.model.model_validate(example)
        # The round trip shows the example is complete and in the producer's own JSON form.
        assert data.model_dump(mode="json") == example
        headers, key, value = kafka_example(entry, example)
        event = from_kafka([(k, v.encode()) for k, v in headers.items()], key.encode(), value)
        assert (event.type, event.source, event.subject) == (entry.type, entry.source, key)


class _NoProvider:
    """Stands in for the payment provider: building subscriptions only names it."""


def _real_subscriptions() -> set[tuple[str, str, str]]:
    providers = Providers({"sandbox": cast(PaymentProvider, _NoProvider())}, "sandbox")
    builders: Iterable[tuple[str, Callable[[], Iterable[Subscription]]]] = (
        ("notification", lambda: notification_subscriptions(NotificationSettings())),
        ("payment", lambda: payment_subscriptions(PaymentSettings(), providers)),
        ("ticketing", lambda: ticketing_subscriptions(TicketingSettings())),
        ("identity", lambda: IDENTITY_SUBSCRIPTIONS),
        ("case", lambda: case_subscriptions(CaseSettings())),
    )
    return {(service, s.topic, s.event_type) for service, build in builders for s in build()}


def test_the_consumers_listed_are_the_real_subscriptions(environ: pytest.MonkeyPatch) -> None:
    listed = {(c.consumer, c.topic, c.event_type) for c in CONSUMED}
    assert listed == _real_subscriptions()
