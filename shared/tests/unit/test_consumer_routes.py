"""Routing of events to handlers: the exact subscription wins, a topic's ANY_TYPE subscription
takes the rest of that topic, other topics get nothing."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.consumer import ANY_TYPE, Routes, Subscription
from city_shared.envelope import Event


async def exact(session: AsyncSession, event: Event) -> None: ...


async def any_type(session: AsyncSession, event: Event) -> None: ...


def test_the_exact_handler_wins_and_any_type_takes_the_rest_of_its_topic() -> None:
    routes = Routes([
        Subscription("ticketing.orders", "city.ticketing.order.confirmed.v1", exact),
        Subscription("ticketing.orders", ANY_TYPE, any_type),
    ])
    assert routes.handler_for("ticketing.orders", "city.ticketing.order.confirmed.v1") is exact
    assert routes.handler_for("ticketing.orders", "city.ticketing.order.placed.v1") is any_type
    assert routes.handler_for("payment.payments", "city.ticketing.order.placed.v1") is None
    assert routes.topics == {"ticketing.orders"}


def test_two_handlers_for_one_type_are_refused() -> None:
    with pytest.raises(ValueError, match="two handlers"):
        Routes([Subscription("t", ANY_TYPE, exact), Subscription("t", ANY_TYPE, any_type)])
