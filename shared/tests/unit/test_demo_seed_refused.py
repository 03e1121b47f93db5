"""The demo seeds (published passwords and client secrets) never run in production."""

from __future__ import annotations

import pytest

from city_shared.production import refuse_demo_seed


def test_a_demo_seed_stops_in_production_naming_the_setting() -> None:
    with pytest.raises(SystemExit, match="CITY_ENV=production"):
        refuse_demo_seed("production")


def test_a_demo_seed_runs_in_development() -> None:
    refuse_demo_seed("development")
