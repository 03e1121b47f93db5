"""``/authorize`` and its login page: client and redirect URI checked before anything else (an
error page, never a redirect), PKCE required for public clients, errors returned to the
client, step-up refused with the level named, CSRF, languages, lockout through the form."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import text

ISSUER = "http://127.0.0.1:8001"
REDIRECT = "http://127.0.0.1:5173/callback"
EMAIL = "erika.mustermann@example.org"
PASSWORD = "Richtig-langes-Passwort-1"
VERIFIER_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def authorize_url(**params: str) -> str:
    defaults = {"response_type": "code", "client_id": "demo-frontend", "redirect_uri": REDIRECT,
                "scope": "openid", "state": "st-1", "code_challenge": VERIFIER_CHALLENGE,
                "code_challenge_method": "S256"}
    merged = {k: v for k, v in {**defaults, **params}.items() if v is not None}
    return f"/authorize?{urlencode(merged)}"


def redirected_error(response: Any) -> dict[str, str]:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.mark.parametrize(
    "params",
    [
        {"redirect_uri": "http://127.0.0.1:5173/callback/"},
        {"redirect_uri": "http://127.0.0.1:5173/callback?x=1"},
        {"redirect_uri": "https://attacker.example/callback"},
        {"redirect_uri": "HTTP://127.0.0.1:5173/callback"},
        {"client_id": "no-such-client"},
        {"client_id": None},
    ],
    ids=["trailing-slash", "extra-query", "other-host", "case", "unknown-client", "no-client"],
)
async def test_an_unknown_client_or_redirect_uri_gets_an_error_page_never_a_redirect(
    oauth, params: dict[str, str]  # type: ignore[no-untyped-def]
) -> None:
    await oauth.add_public_client()

    response = await oauth.client.get(authorize_url(**params, response_type="token"))

    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "attacker" not in response.text
    assert "Anmeldung nicht möglich" in response.text


async def test_a_disabled_client_gets_an_error_page(oauth) -> None:  # type: ignore[no-untyped-def]
    await oauth.add_public_client()
    async with oauth.engine.begin() as conn:
        await conn.execute(text("UPDATE oauth_clients SET disabled_at = now()"))

    response = await oauth.client.get(authorize_url())

    assert response.status_code == 400
    assert "location" not in response.headers


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"scope": "openid payment:write"}, "invalid_scope"),
        ({"scope": None}, "invalid_scope"),
        ({"prompt": "none"}, "login_required"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
        ({"acr_values": "very-high"}, "invalid_request"),
        ({"claims": "{not json"}, "invalid_request"),
    ],
    ids=["no-pkce", "plain", "no-method", "bad-challenge", "token", "no-response-type",
         "scope", "no-scope", "prompt-none", "request-object", "unknown-acr", "bad-claims"],
)
async def test_request_errors_go_back_to_the_client_with_state(
    oauth, params: dict[str, str], error: str  # type: ignore[no-untyped-def]
) -> None:
    await oauth.add_public_client()

    response = await oauth.client.get(authorize_url(**params))

    query = redirected_error(response)
    assert query["error"] == error
    assert query["state"] == "st-1"
    assert query["iss"] == ISSUER
    assert "code" not in query


async def test_a_public_client_without_pkce_is_refused_through_authlib(oauth) -> None:  # type: ignore[no-untyped-def]
    await oauth.add_public_client()
    client = oauth.oauth_client("demo-frontend", redirect_uri=REDIRECT, scope="openid")

    url, state = client.create_authorization_url(f"{ISSUER}/authorize")  # no code_verifier
    response = await oauth.client.get(url)

    query = redirected_error(response)
    assert query["error"] == "invalid_request"
    assert "code_challenge" in query["error_description"]
    assert query["state"] == state


@pytest.mark.parametrize(
    "params",
    [
        {"acr_values": "substantial"},
        {"acr_values": "substantial high"},
        {"claims": '{"id_token": {"acr": {"essential": true, "values": ["substantial"]}}}'},
        {"claims": '{"userinfo": {"acr": {"essential": true, "value": "substantial"}}}'},
    ],
    ids=["acr_values", "acr_values-list", "claims-values", "claims-value"],
)
async def test_step_up_beyond_a_password_is_refused_naming_the_level(
    oauth, params: dict[str, str]  # type: ignore[no-untyped-def]
) -> None:
    await oauth.add_public_client()

    response = await oauth.client.get(authorize_url(**params))

    query = redirected_error(response)
    assert query["error"] == "unmet_authentication_requirements"
    assert "'substantial'" in query["error_description"]
    assert query["state"] == "st-1"


async def test_a_basic_or_voluntary_acr_request_shows_the_login_page(oauth) -> None:  # type: ignore[no-untyped-def]
    await oauth.add_public_client()
    voluntary = '{"id_token": {"acr": {"values": ["high"]}}}'

    basic = await oauth.client.get(authorize_url(acr_values="basic"))
    optional = await oauth.client.get(authorize_url(claims=voluntary))

    assert basic.status_code == 200
    assert optional.status_code == 200


async def test_step_up_with_the_sandbox_eid(oauth_app) -> None:  # type: ignore[no-untyped-def]
    async with oauth_app(sandbox_eid_enabled=True) as oauth:
        await oauth.add_public_client()
        await oauth.add_account(EMAIL)
        client = oauth.oauth_client("demo-frontend", token_endpoint_auth_method="none",
                                    redirect_uri=REDIRECT, scope="openid",
                                    code_challenge_method="S256")
        async with oauth.browser() as browser:
            page, _ = await oauth.authorize_page(browser, client, "v" * 43,
                                                 acr_values="substantial")
            fields = _form(page.text)
            password = await browser.post("/authorize", data={
                **fields, "login_method": "password", "email": EMAIL, "password": PASSWORD})
            eid = await oauth.submit(browser, page, email=EMAIL, password=None,
                                     method="sandbox_eid")
        high = await oauth.client.get(authorize_url(acr_values="high"))

        assert 'value="password"' not in page.text  # a password cannot prove it: not offered
        assert "substanziell" in page.text
        assert redirected_error(password)["error"] == "unmet_authentication_requirements"
        token = await client.fetch_token(f"{ISSUER}/token",
                                         authorization_response=eid.headers["location"],
                                         code_verifier="v" * 43)
        verified = await oauth.app.state.token_verifier.verify(token["access_token"])
        assert verified.acr == "substantial"
        assert redirected_error(high)["error"] == "unmet_authentication_requirements"
        assert "'high'" in redirected_error(high)["error_description"]


async def test_the_sandbox_eid_is_off_by_default(oauth) -> None:  # type: ignore[no-untyped-def]
    await oauth.add_public_client()
    await oauth.add_account(EMAIL)
    async with oauth.browser() as browser:
        page = await browser.get(authorize_url())
        forged = await browser.post("/authorize", data={
            **_form(page.text), "login_method": "sandbox_eid", "email": EMAIL})

    assert "sandbox_eid" not in page.text
    assert forged.status_code == 400
    assert "location" not in forged.headers
    assert "Diese Anmeldeart wird nicht angeboten" in forged.text


async def test_the_form_is_csrf_protected(oauth) -> None:  # type: ignore[no-untyped-def]
    await oauth.add_public_client()
    await oauth.add_account(EMAIL)
    async with oauth.browser() as browser:
        page = await browser.get(authorize_url())
        forged = {**_form(page.text), "email": EMAIL, "password": PASSWORD,
                  "csrf_token": "made-up"}
        wrong_token = await browser.post("/authorize", data=forged)
    async with oauth.browser() as other:  # no cookie at all
        no_cookie = await other.post("/authorize", data={**_form(page.text), "email": EMAIL,
                                                         "password": PASSWORD})

    for response in (wrong_token, no_cookie):
        assert response.status_code == 400
        assert "location" not in response.headers
        assert "Das Formular ist abgelaufen" in response.text


def _form(html: str) -> dict[str, str]:
    """The hidden fields of the page's first form (the carried request and the CSRF token)."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))


async def test_wrong_password_shows_the_form_again_and_five_failures_lock(oauth) -> None:  # type: ignore[no-untyped-def]
    await oauth.add_public_client()
    await oauth.add_account(EMAIL)
    client = oauth.oauth_client("demo-frontend", redirect_uri=REDIRECT, scope="openid",
                                code_challenge_method="S256")
    pages = []
    async with oauth.browser() as browser:
        page, _ = await oauth.authorize_page(browser, client, "v" * 43)
        for _ in range(5):
            page = await oauth.submit(browser, page, email=EMAIL, password="Falsch-falsch-1")
            pages.append(page)
        locked = await oauth.submit(browser, page, email=EMAIL, password=PASSWORD)

    assert [p.status_code for p in pages] == [401, 401, 401, 401, 429]
    assert "E-Mail-Adresse oder Passwort ist falsch" in pages[0].text
    assert f'value="{EMAIL}"' in pages[0].text  # the address is kept, the password is not
    assert "Falsch-falsch-1" not in pages[0].text
    assert locked.status_code == 429
    assert "location" not in locked.headers
    assert int(locked.headers["retry-after"]) > 0
    assert "Zu viele fehlgeschlagene Versuche" in locked.text


async def test_the_page_speaks_german_and_english(oauth) -> None:  # type: ignore[no-untyped-def]
    await oauth.add_public_client()

    default = await oauth.client.get(authorize_url())
    by_header = await oauth.client.get(authorize_url(),
                                       headers={"Accept-Language": "en-GB,en;q=0.9,de;q=0.5"})
    by_param = await oauth.client.get(authorize_url(ui_locales="en"),
                                      headers={"Accept-Language": "de"})
    german = await oauth.client.get(authorize_url(ui_locales="fr de"),
                                    headers={"Accept-Language": "en"})

    assert '<html lang="de">' in default.text
    assert "Passwort" in default.text
    assert '<html lang="en">' in by_header.text
    assert "Password" in by_header.text
    assert '<html lang="en">' in by_param.text
    assert '<html lang="de">' in german.text
    assert by_param.headers["content-language"] == "en"


async def test_the_page_is_escaped_scriptless_and_locked_down(oauth) -> None:  # type: ignore[no-untyped-def]
    await oauth.add_public_client()
    async with oauth.engine.begin() as conn:
        await conn.execute(text("UPDATE oauth_clients SET name = '<script>alert(1)</script>'"))

    page = await oauth.client.get(authorize_url(state='"><script>alert(2)</script>'))

    assert page.status_code == 200
    assert "<script" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src" not in csp
    assert "default-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "form-action 'self' http://127.0.0.1:5173" in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/authorize" in cookie
    css = await oauth.client.get("/authorize/login.css")
    assert css.headers["content-type"].startswith("text/css")
