"""Contract: what notification reads of ticketing's events and commands: notification's
narrow models against ticketing's published schema and examples (docs/asyncapi.yaml). A field
ticketing renames or retypes that notification relies on fails here."""

from __future__ import annotations

import pytest

from tests.contracts.catalogue import Consumed, Published
from tests.contracts.checks import assert_reads, pair_id, pairs


@pytest.mark.parametrize("pair", pairs("notification", "ticketing"), ids=pair_id)
def test_notification_reads_ticketing(pair: tuple[Consumed, Published]) -> None:
    assert_reads(*pair)
