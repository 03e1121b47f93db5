"""Production mode: payment refuses to start with the published webhook secret, the sandbox
provider or a missing database URL, naming the variable; a complete production configuration
and the development defaults are accepted."""

from __future__ import annotations

import json

import pytest

from city_shared.production import ProductionSettingsRefused
from city_shared.testing import start_refused
from payment_service.settings import DEV_SANDBOX_WEBHOOK_SECRET, PaymentSettings

#: What an operator sets (deploy/k8s/README.md); the values are this test's own.
WEBHOOK_SECRET = "production-webhook-secret-of-this-test"
PRODUCTION = {
    "CITY_ENV": "production",
    "CITY_DATABASE_URL": "postgresql+asyncpg://payment:s3cret-db-password@db:5432/payment",
    "CITY_SANDBOX_WEBHOOK_SECRETS": json.dumps([WEBHOOK_SECRET]),
    "CITY_SANDBOX_ENABLED": "false",
}


def _set(environ: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        environ.setenv(name, value)


def test_production_accepts_a_complete_configuration(environ: pytest.MonkeyPatch) -> None:
    _set(environ, PRODUCTION)
    settings = PaymentSettings()
    assert settings.env == "production"
    assert settings.development_settings() == []


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CITY_SANDBOX_WEBHOOK_SECRETS", json.dumps([WEBHOOK_SECRET, DEV_SANDBOX_WEBHOOK_SECRET])),
        ("CITY_SANDBOX_ENABLED", "true"),
    ],
    ids=["published-webhook-secret-beside-a-real-one", "sandbox-provider"],
)
def test_production_refuses_a_development_value(
    environ: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    _set(environ, {**PRODUCTION, variable: value})
    with pytest.raises(ProductionSettingsRefused) as refused:
        PaymentSettings()
    assert refused.value.variables == (variable,)
    assert variable in str(refused.value)
    for secret in (WEBHOOK_SECRET, DEV_SANDBOX_WEBHOOK_SECRET, "s3cret-db-password"):
        assert secret not in str(refused.value)


@pytest.mark.parametrize(
    "variable", ["CITY_SANDBOX_WEBHOOK_SECRETS", "CITY_SANDBOX_ENABLED", "CITY_DATABASE_URL"])
def test_production_refuses_a_missing_setting(
    environ: pytest.MonkeyPatch, variable: str
) -> None:
    """Unset, the webhook secrets are the published one and the sandbox is on."""
    _set(environ, {k: v for k, v in PRODUCTION.items() if k != variable})
    with pytest.raises(ProductionSettingsRefused) as refused:
        PaymentSettings()
    assert refused.value.variables == (variable,)


def test_development_accepts_the_defaults(environ: pytest.MonkeyPatch) -> None:
    settings = PaymentSettings()
    assert settings.env == "development"
    assert settings.sandbox_enabled
    assert {f.variable for f in settings.development_settings()} >= {
        "CITY_SANDBOX_WEBHOOK_SECRETS", "CITY_SANDBOX_ENABLED"}


@pytest.mark.parametrize("entry_point", ["payment-api", "payment-worker"])
def test_the_api_and_the_worker_refuse_to_start(entry_point: str) -> None:
    """The real console scripts exit before serving, naming the variable, never a value."""
    output = start_refused(entry_point, {**PRODUCTION, "CITY_SANDBOX_ENABLED": "true"})
    assert "CITY_SANDBOX_ENABLED" in output
    assert "s3cret-db-password" not in output
    assert WEBHOOK_SECRET not in output
