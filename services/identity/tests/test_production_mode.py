"""Production mode: identity refuses to start with the published key-encryption key or CSRF
secret, a missing one, or the sandbox eID, naming the variable; a complete production
configuration and the development defaults are accepted. The login form's CSRF secret is its
own setting, not derived from the key-encryption key."""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import urlencode

import pytest

from city_shared.production import ProductionSettingsRefused
from city_shared.testing import start_refused
from identity_service.settings import DEV_CSRF_SECRET, DEV_KEY_ENCRYPTION_KEY, IdentitySettings

#: What an operator sets (deploy/k8s/README.md); the values are this test's own.
KEK = base64.urlsafe_b64encode(b"production-kek-of-this-test-0001").rstrip(b"=").decode()
CSRF_SECRET = "production-csrf-secret-of-this-test-0001"
PRODUCTION = {
    "CITY_ENV": "production",
    "CITY_DATABASE_URL": "postgresql+asyncpg://identity:s3cret-db-password@db:5432/identity",
    "CITY_KEY_ENCRYPTION_KEY": KEK,
    "CITY_CSRF_SECRET": CSRF_SECRET,
}
DEV_KEK = base64.urlsafe_b64encode(DEV_KEY_ENCRYPTION_KEY).decode()


def _set(environ: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        environ.setenv(name, value)


def test_production_accepts_a_complete_configuration(environ: pytest.MonkeyPatch) -> None:
    _set(environ, PRODUCTION)
    settings = IdentitySettings()
    assert settings.env == "production"
    assert settings.development_settings() == []


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CITY_KEY_ENCRYPTION_KEY", DEV_KEK),
        ("CITY_KEY_ENCRYPTION_KEY", DEV_KEK.rstrip("=")),
        ("CITY_CSRF_SECRET", DEV_CSRF_SECRET),
        ("CITY_SANDBOX_EID_ENABLED", "true"),
    ],
    ids=["kek", "kek-unpadded", "csrf", "sandbox-eid"],
)
def test_production_refuses_a_development_value(
    environ: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    _set(environ, {**PRODUCTION, variable: value})
    with pytest.raises(ProductionSettingsRefused) as refused:
        IdentitySettings()
    assert refused.value.variables == (variable,)
    assert variable in str(refused.value)
    for secret in (KEK, CSRF_SECRET, "s3cret-db-password", DEV_CSRF_SECRET):
        assert secret not in str(refused.value)


@pytest.mark.parametrize(
    "variable", ["CITY_KEY_ENCRYPTION_KEY", "CITY_CSRF_SECRET", "CITY_DATABASE_URL"])
def test_production_refuses_a_missing_secret(
    environ: pytest.MonkeyPatch, variable: str
) -> None:
    _set(environ, {k: v for k, v in PRODUCTION.items() if k != variable})
    with pytest.raises(ProductionSettingsRefused) as refused:
        IdentitySettings()
    assert refused.value.variables == (variable,)


def test_development_accepts_the_defaults_and_the_sandbox_eid(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("CITY_SANDBOX_EID_ENABLED", "true")  # what `make run` sets
    settings = IdentitySettings()
    assert settings.env == "development"
    assert {f.variable for f in settings.development_settings()} >= {
        "CITY_KEY_ENCRYPTION_KEY", "CITY_CSRF_SECRET", "CITY_SANDBOX_EID_ENABLED"}


def test_a_short_csrf_secret_is_refused_in_any_mode(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("CITY_CSRF_SECRET", "too-short")
    with pytest.raises(ValueError, match="csrf_secret"):
        IdentitySettings()


@pytest.mark.parametrize("entry_point", ["identity-api", "identity-worker"])
def test_the_api_and_the_worker_refuse_to_start(entry_point: str) -> None:
    """The real console scripts exit before serving, naming the variable, never a value."""
    output = start_refused(entry_point, {**PRODUCTION, "CITY_CSRF_SECRET": DEV_CSRF_SECRET})
    assert "CITY_CSRF_SECRET" in output
    assert "s3cret-db-password" not in output
    assert KEK not in output


# --- The CSRF secret is its own (needs the database: the login form runs on the real app) -----

EMAIL = "erika.mustermann@example.org"
PASSWORD = "Richtig-langes-Passwort-1"
REDIRECT = "http://127.0.0.1:5173/callback"


def _authorize_url() -> str:
    return "/authorize?" + urlencode({
        "response_type": "code", "client_id": "demo-frontend", "redirect_uri": REDIRECT,
        "scope": "openid", "state": "st-1", "code_challenge_method": "S256",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"})


def _form(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))


async def _login_form_of(oauth_app: Any, **settings: str) -> tuple[dict[str, str], str]:
    """The hidden fields and CSRF cookie of a login page served with ``settings``."""
    async with oauth_app(**settings) as oauth:
        await oauth.add_public_client()
        await oauth.add_account(EMAIL, PASSWORD)
        async with oauth.browser() as browser:
            page = await browser.get(_authorize_url())
            assert page.status_code == 200, page.text
            return _form(page.text), browser.cookies["city_login_csrf"]


async def _submit(oauth_app: Any, form: dict[str, str], cookie: str, **settings: str) -> Any:
    async with oauth_app(**settings) as oauth, oauth.browser() as browser:
        browser.cookies.set("city_login_csrf", cookie)
        return await browser.post("/authorize",
                                  data={**form, "email": EMAIL, "password": PASSWORD})


async def test_the_login_csrf_secret_is_not_derived_from_the_key_encryption_key(
    oauth_app: Any,
) -> None:
    """Same KEK, another CSRF secret: the form is refused; same secrets (a restart, another
    replica): it is accepted."""
    secrets = {"key_encryption_key": KEK, "csrf_secret": CSRF_SECRET}
    form, cookie = await _login_form_of(oauth_app, **secrets)

    other_csrf = await _submit(oauth_app, form, cookie, key_encryption_key=KEK,
                               csrf_secret="another-csrf-secret-of-this-test-0002")
    same = await _submit(oauth_app, form, cookie, **secrets)

    assert other_csrf.status_code == 400
    assert "Das Formular ist abgelaufen" in other_csrf.text
    assert same.status_code == 303, same.text
    assert "code=" in same.headers["location"]
