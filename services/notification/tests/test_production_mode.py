"""Production mode: notification has no secret of its own beyond its database URL; production
refuses to start without one, naming the variable, and accepts a complete configuration;
development accepts the defaults."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from city_shared.production import ProductionSettingsRefused
from notification_service.settings import NotificationSettings

PRODUCTION = {
    "CITY_ENV": "production",
    "CITY_DATABASE_URL": "postgresql+asyncpg://notification:s3cret-db-password@db:5432/notification",
}


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No ``CITY_*`` variable of the developer's shell leaks into the settings under test."""
    for name in list(os.environ):
        if name.startswith("CITY_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_production_accepts_a_complete_configuration(environ: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION.items():
        environ.setenv(name, value)
    settings = NotificationSettings()
    assert settings.env == "production"
    assert settings.development_settings() == []


def test_production_refuses_the_development_database_url(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("CITY_ENV", "production")
    with pytest.raises(ProductionSettingsRefused) as refused:
        NotificationSettings()
    assert refused.value.variables == ("CITY_DATABASE_URL",)
    assert "CITY_DATABASE_URL" in str(refused.value)


def test_an_unknown_mode_is_refused(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("CITY_ENV", "prod")
    with pytest.raises(ValueError, match="env"):
        NotificationSettings()


def test_development_accepts_the_defaults(environ: pytest.MonkeyPatch) -> None:
    assert NotificationSettings().env == "development"


@pytest.mark.parametrize("entry_point", ["notification-api", "notification-worker"])
def test_the_api_and_the_worker_refuse_to_start(entry_point: str) -> None:
    """The real console scripts exit before serving, naming the variable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITY_")}
    env.update(CITY_ENV="production", CITY_HTTP_PORT="0", CITY_WORKER_METRICS_PORT="0")
    script = Path(sys.executable).parent / entry_point
    result = subprocess.run([str(script)], env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode != 0
    assert "ProductionSettingsRefused" in result.stderr
    assert "CITY_DATABASE_URL" in result.stderr
