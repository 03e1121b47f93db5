"""Production mode: ticketing refuses to start with the published signing key or a missing
database URL, naming the variable; a complete production configuration and the development
defaults are accepted."""

from __future__ import annotations

import json

import pytest

from city_shared.production import ProductionSettingsRefused
from city_shared.testing import start_refused
from ticketing_service.settings import DEV_TICKET_SIGNING_KEY, TicketingSettings

#: What an operator sets (deploy/k8s/README.md); the values are this test's own.
SIGNING_KEY = "cHJvZHVjdGlvbi10aWNrZXQta2V5LW9mLWEtdGVzdCE"
PRODUCTION = {
    "CITY_ENV": "production",
    "CITY_DATABASE_URL": "postgresql+asyncpg://ticketing:s3cret-db-password@db:5432/ticketing",
    "CITY_TICKET_SIGNING_KEYS": json.dumps([SIGNING_KEY]),
}


def _set(environ: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        environ.setenv(name, value)


def test_production_accepts_a_complete_configuration(environ: pytest.MonkeyPatch) -> None:
    _set(environ, PRODUCTION)
    settings = TicketingSettings()
    assert settings.env == "production"
    assert settings.development_settings() == []


def test_production_refuses_the_published_signing_key_even_beside_a_real_one(
    environ: pytest.MonkeyPatch,
) -> None:
    _set(environ, {**PRODUCTION,
                   "CITY_TICKET_SIGNING_KEYS": json.dumps([SIGNING_KEY, DEV_TICKET_SIGNING_KEY])})
    with pytest.raises(ProductionSettingsRefused) as refused:
        TicketingSettings()
    assert refused.value.variables == ("CITY_TICKET_SIGNING_KEYS",)
    assert "CITY_TICKET_SIGNING_KEYS" in str(refused.value)
    assert SIGNING_KEY not in str(refused.value)
    assert DEV_TICKET_SIGNING_KEY not in str(refused.value)


@pytest.mark.parametrize("variable", ["CITY_TICKET_SIGNING_KEYS", "CITY_DATABASE_URL"])
def test_production_refuses_a_missing_secret(
    environ: pytest.MonkeyPatch, variable: str
) -> None:
    _set(environ, {k: v for k, v in PRODUCTION.items() if k != variable})
    with pytest.raises(ProductionSettingsRefused) as refused:
        TicketingSettings()
    assert refused.value.variables == (variable,)


def test_development_accepts_the_defaults(environ: pytest.MonkeyPatch) -> None:
    settings = TicketingSettings()
    assert settings.env == "development"
    assert {f.variable for f in settings.development_settings()} >= {"CITY_TICKET_SIGNING_KEYS"}


def test_a_malformed_signing_key_is_refused_in_any_mode(environ: pytest.MonkeyPatch) -> None:
    _set(environ, {"CITY_TICKET_SIGNING_KEYS": json.dumps(["dG9vLXNob3J0"])})
    with pytest.raises(ValueError, match="32-byte Ed25519 seed"):
        TicketingSettings()


@pytest.mark.parametrize("entry_point", ["ticketing-api", "ticketing-worker"])
def test_the_api_and_the_worker_refuse_to_start(entry_point: str) -> None:
    """The real console scripts exit before serving, naming the variable, never a value."""
    output = start_refused(entry_point, {
        **PRODUCTION, "CITY_TICKET_SIGNING_KEYS": json.dumps([DEV_TICKET_SIGNING_KEY])})
    assert "CITY_TICKET_SIGNING_KEYS" in output
    assert "s3cret-db-password" not in output
