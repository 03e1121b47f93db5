"""Root pytest configuration: the real PostgreSQL/Kafka/SMTP fixtures from `devstack`, and a
settings environment free of the developer's own ``CITY_*`` variables."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["devstack.pytest_plugin"]


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No ``CITY_*`` variable of the developer's shell leaks into the settings under test; set
    what the test needs on the returned monkeypatch."""
    for name in list(os.environ):
        if name.startswith("CITY_"):
            monkeypatch.delenv(name)
    return monkeypatch
