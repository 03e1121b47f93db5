"""Contract: what payment reads of identity's events and commands: payment's narrow models
against identity's published schema and examples (docs/asyncapi.yaml). A field identity renames
or retypes that payment relies on fails here."""

from __future__ import annotations

import pytest

from tests.contracts.catalogue import Consumed, Published
from tests.contracts.checks import assert_reads, pair_id, pairs


@pytest.mark.parametrize("pair", pairs("payment", "identity"), ids=pair_id)
def test_payment_reads_identity(pair: tuple[Consumed, Published]) -> None:
    assert_reads(*pair)
