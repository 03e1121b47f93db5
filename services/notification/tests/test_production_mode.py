"""Production mode: notification has no secret of its own beyond its database URL; production
refuses to start without one, naming the variable, and accepts a complete configuration;
development accepts the defaults."""

from __future__ import annotations

import pytest

from city_shared.production import ProductionSettingsRefused
from city_shared.testing import start_refused
from notification_service.settings import NotificationSettings

PRODUCTION = {
    "CITY_ENV": "production",
    "CITY_DATABASE_URL": "postgresql+asyncpg://notification:s3cret-db-password@db:5432/notification",
}


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
    output = start_refused(entry_point, {"CITY_ENV": "production"})
    assert "CITY_DATABASE_URL" in output
