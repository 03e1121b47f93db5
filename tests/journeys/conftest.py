"""The whole platform as separate processes (``devstack up`` on free ports), started once for
all journeys of this package and stopped afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.testing import LocalStack, local_stack


@pytest.fixture(scope="package")
def stack() -> Iterator[LocalStack]:
    """The running stack. Gates admit a day early here, so that the next bookable slot
    (whenever the test runs) can be scanned right after buying it; holds are swept every
    second."""
    with local_stack(CITY_HOLD_SWEEP_INTERVAL_SECONDS="1",
                     CITY_CHECKIN_EARLY_MINUTES="1440") as running:
        up = running.devstack("up", timeout=300)
        assert up.returncode == 0, up.stdout + up.stderr
        yield running
