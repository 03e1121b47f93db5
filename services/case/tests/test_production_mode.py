"""Production mode: case's secrets are its database URL, the key that encrypts intake
destinations' private keys and the key that signs documents' download links; production refuses
to start without them (or with the published development keys), naming the variables, and
accepts a complete configuration; development accepts the defaults."""

from __future__ import annotations

import pytest

from case_service.settings import CaseSettings
from city_shared.production import ProductionSettingsRefused
from city_shared.testing import start_refused

PRODUCTION = {
    "CITY_ENV": "production",
    "CITY_DATABASE_URL": "postgresql+asyncpg://case:s3cret-db-password@db:5432/case",
    "CITY_INTAKE_KEY_ENCRYPTION_KEY": "q83vEjRWeJASNFZ4kKvN7xI0VniQq83vEjRWeJASNFY",
    "CITY_DOCUMENT_LINK_KEY": "7c1e0a9d52b84f3e9a6d1c0b8e7f2a4d",
}


def test_production_accepts_a_complete_configuration(environ: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION.items():
        environ.setenv(name, value)
    settings = CaseSettings()
    assert settings.env == "production"
    assert settings.development_settings() == []


def test_production_refuses_the_development_database_url_and_key(
        environ: pytest.MonkeyPatch) -> None:
    environ.setenv("CITY_ENV", "production")
    with pytest.raises(ProductionSettingsRefused) as refused:
        CaseSettings()
    assert refused.value.variables == ("CITY_DATABASE_URL", "CITY_INTAKE_KEY_ENCRYPTION_KEY",
                                       "CITY_DOCUMENT_LINK_KEY")
    assert "CITY_INTAKE_KEY_ENCRYPTION_KEY" in str(refused.value)


def test_production_refuses_only_what_is_still_missing(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("CITY_ENV", "production")
    environ.setenv("CITY_DATABASE_URL", PRODUCTION["CITY_DATABASE_URL"])
    environ.setenv("CITY_DOCUMENT_LINK_KEY", PRODUCTION["CITY_DOCUMENT_LINK_KEY"])
    with pytest.raises(ProductionSettingsRefused) as refused:
        CaseSettings()
    assert refused.value.variables == ("CITY_INTAKE_KEY_ENCRYPTION_KEY",)


def test_an_unknown_mode_is_refused(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("CITY_ENV", "prod")
    with pytest.raises(ValueError, match="env"):
        CaseSettings()


def test_development_accepts_the_defaults(environ: pytest.MonkeyPatch) -> None:
    assert CaseSettings().env == "development"


@pytest.mark.parametrize("entry_point", ["case-api", "case-worker"])
def test_the_api_and_the_worker_refuse_to_start(entry_point: str) -> None:
    """The real console scripts exit before serving, naming the variable."""
    output = start_refused(entry_point, {"CITY_ENV": "production"})
    assert "CITY_DATABASE_URL" in output
