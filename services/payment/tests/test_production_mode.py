"""Production mode: payment refuses to start with the published webhook secret, the sandbox
provider or a missing database URL, naming the variable; a complete production configuration
and the development defaults are accepted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from city_shared.production import ProductionSettingsRefused
from payment_service.settings import DEV_SANDBOX_WEBHOOK_SECRET, PaymentSettings

#: What an operator sets (deploy/k8s/README.md); the values are this test's own.
WEBHOOK_SECRET = "production-webhook-secret-of-this-test"
PRODUCTION = {
    "CITY_ENV": "production",
    "CITY_DATABASE_URL": "postgresql+asyncpg://payment:s3cret-db-password@db:5432/payment",
    "CITY_SANDBOX_WEBHOOK_SECRETS": json.dumps([WEBHOOK_SECRET]),
    "CITY_SANDBOX_ENABLED": "false",
}


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No ``CITY_*`` variable of the developer's shell leaks into the settings under test."""
    for name in list(os.environ):
        if name.startswith("CITY_"):
            monkeypatch.delenv(name)
    return monkeypatch


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
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITY_")}
    env.update(PRODUCTION, CITY_SANDBOX_ENABLED="true", CITY_HTTP_PORT="0",
               CITY_WORKER_METRICS_PORT="0")
    script = Path(sys.executable).parent / entry_point
    result = subprocess.run([str(script)], env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode != 0
    assert "ProductionSettingsRefused" in result.stderr
    assert "CITY_SANDBOX_ENABLED" in result.stderr
    output = result.stderr + result.stdout
    assert "s3cret-db-password" not in output
    assert WEBHOOK_SECRET not in output
