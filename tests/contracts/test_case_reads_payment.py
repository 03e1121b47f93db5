"""Contract: what case reads of payment's events: case's narrow models against payment's
published schema and examples (docs/asyncapi.yaml). A field payment renames or retypes that
case relies on fails here."""

from __future__ import annotations

import pytest

from tests.contracts.catalogue import Consumed, Published
from tests.contracts.checks import assert_reads, pair_id, pairs


@pytest.mark.parametrize("pair", pairs("case", "payment"), ids=pair_id)
def test_case_reads_payment(pair: tuple[Consumed, Published]) -> None:
    assert_reads(*pair)
