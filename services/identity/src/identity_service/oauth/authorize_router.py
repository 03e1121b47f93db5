"""``/authorize``: GET validates the request and shows the login page; POST logs the person in
(password, or an external identity provider) and redirects with ``code`` and ``state``.

The client's tenant is the tenant the person logs in to. Error pages are shown for an unknown
client or redirect URI; every other error goes back to the client (see
:mod:`.authorization_request`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from city_shared.dependencies import SessionDep
from identity_service.accounts.config import LoginPolicy
from identity_service.accounts.errors import AccountLocked, InvalidCredentials
from identity_service.accounts.service import authenticate_password
from identity_service.clients import service as clients
from identity_service.keys.dependencies import Now
from identity_service.oauth.acr import at_least
from identity_service.oauth.assurance import PASSWORD_LEVEL, IdentityNotAsserted
from identity_service.oauth.authorization_request import (
    AuthorizationRequest,
    ErrorPage,
    RedirectError,
    parse_authorization_request,
    redirect_location,
)
from identity_service.oauth.errors import NO_STORE, OAuthError
from identity_service.oauth.grants import issue_code
from identity_service.oauth.i18n import Locale, negotiate
from identity_service.oauth.params import Params, form_params, query_params
from identity_service.oauth.runtime import OAuthRuntime, Runtime

router = APIRouter(tags=["oauth"])

_HTML = {"text/html": {"schema": {"type": "string"}}}


def _html_page(description: str, **headers: str) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description, "content": _HTML}
    if headers:
        answer["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                             for name, text in headers.items()}
    return answer


#: ``/authorize`` answers a browser: HTML pages and redirects, never problem+json (but for the
#: platform's own answers, such as 503).
_REDIRECT: dict[int | str, dict[str, Any]] = {
    303: {"description": "Redirect to the client's redirect URI with `code` and `state`, or "
                         "with an OAuth `error` (RFC 6749 section 4.1.2.1).",
          "headers": {"Location": {"description": "The client's redirect URI.",
                                   "schema": {"type": "string"}}}},
}
_AUTHORIZE_ANSWERS: dict[int | str, dict[str, Any]] = {
    **_REDIRECT,
    400: _html_page("Error page: the request is malformed, or the client or its redirect URI "
                    "is unknown, so the error cannot go back to the client."),
}
_LOGIN_ANSWERS: dict[int | str, dict[str, Any]] = {
    **_REDIRECT,
    400: _html_page("Error page, or the login form again: the request is malformed, the "
                    "client or redirect URI is unknown, the form expired (CSRF) or the login "
                    "method is unknown."),
    401: _html_page("The login form again: the credentials are wrong or the identity was not "
                    "asserted."),
    429: _html_page("The login form again: too many failed logins; retry after `Retry-After`.",
                    **{"Retry-After": "Seconds until the next login attempt is accepted."}),
}


def _redirect(location: str) -> Response:
    return RedirectResponse(location, status_code=303, headers=NO_STORE)


def _unmet(auth: AuthorizationRequest, runtime: OAuthRuntime) -> Response:
    error = OAuthError(
        "unmet_authentication_requirements",
        f"This request requires the level of assurance '{auth.required_acr}'; the chosen "
        "login method does not prove it.",
    )
    return _redirect(RedirectError(error, auth.redirect_uri, auth.state).location(runtime.issuer))


async def _page(
    session: SessionDep,
    runtime: OAuthRuntime,
    auth: AuthorizationRequest,
    locale: Locale,
    *,
    error: str | None = None,
    email: str = "",
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    methods = [p.method for p in runtime.providers if at_least(p.level, auth.required_acr)]
    return runtime.pages.login(
        auth,
        locale=locale,
        tenant_name=await clients.tenant_name(session, auth.client.tenant),
        password_allowed=at_least(PASSWORD_LEVEL, auth.required_acr),
        external_methods=methods,
        error=error,
        email=email,
        status=status,
        headers=headers,
    )


async def _validated(
    session: SessionDep, runtime: OAuthRuntime, params: Params, locale: Locale
) -> AuthorizationRequest | Response:
    try:
        return await parse_authorization_request(session, params, max_level=runtime.max_level)
    except ErrorPage as page:
        return runtime.pages.error(locale=locale, reason=page.reason, status=page.status)
    except RedirectError as error:
        return _redirect(error.location(runtime.issuer))


@router.get("/authorize", summary="Authorization endpoint: the login page",
            response_class=HTMLResponse, responses=_AUTHORIZE_ANSWERS)
async def authorize(request: Request, session: SessionDep, runtime: Runtime) -> Response:
    """Validate the authorization request and render the login form."""
    accept = request.headers.get("accept-language")
    try:
        params = query_params(request)
    except OAuthError:
        return runtime.pages.error(locale=negotiate(None, accept), reason="bad_request")
    locale = negotiate(params.get("ui_locales"), accept)
    auth = await _validated(session, runtime, params, locale)
    if isinstance(auth, Response):
        return auth
    return await _page(session, runtime, auth, locale)


@router.post("/authorize", summary="Authorization endpoint: the login form's target",
             response_class=HTMLResponse, responses=_LOGIN_ANSWERS)
async def login(request: Request, session: SessionDep, runtime: Runtime, now: Now) -> Response:
    """Check the CSRF token and the credentials, then redirect with a code (303)."""
    accept = request.headers.get("accept-language")
    try:
        params = await form_params(request)
    except OAuthError:
        return runtime.pages.error(locale=negotiate(None, accept), reason="bad_request")
    locale = negotiate(params.get("ui_locales"), accept)
    auth = await _validated(session, runtime, params, locale)
    if isinstance(auth, Response):
        return auth
    email = params.get("email", "")
    if not runtime.pages.csrf_ok(request, params.get("csrf_token")):
        return await _page(session, runtime, auth, locale, error="session_expired", email=email,
                           status=400)
    method = params.get("login_method", "password")
    if method == "password":
        if not at_least(PASSWORD_LEVEL, auth.required_acr):
            return _unmet(auth, runtime)
        try:
            account = await authenticate_password(
                session, tenant=auth.client.tenant, email=email,
                password=params.get("password", ""), now=now,
                policy=LoginPolicy.from_settings(runtime.settings),
                address=request.client.host if request.client else "unknown",
            )
        except InvalidCredentials:  # returned, not raised: the failed attempt is committed
            return await _page(session, runtime, auth, locale, error="invalid_credentials",
                               email=email, status=401)
        except AccountLocked as locked:
            return await _page(session, runtime, auth, locale, error="account_locked",
                               email=email, status=429,
                               headers={"Retry-After": str(locked.retry_after_seconds)})
        account_id, acr = account.id, PASSWORD_LEVEL
    else:
        provider = runtime.provider(method)
        if provider is None:
            return await _page(session, runtime, auth, locale, error="unknown_method",
                               email=email, status=400)
        try:
            account_id, acr = await provider.assert_identity(
                session, tenant=auth.client.tenant, params=params, now=now)
        except IdentityNotAsserted:
            return await _page(session, runtime, auth, locale, error="not_asserted",
                               email=email, status=401)
    if not at_least(acr, auth.required_acr):
        return _unmet(auth, runtime)
    code = await issue_code(session, auth, account_id=account_id, acr=acr, now=now,
                            policy=runtime.policy)
    return _redirect(redirect_location(auth.redirect_uri, {"code": code}, auth.state,
                                       runtime.issuer))


@router.get("/authorize/login.css", include_in_schema=False)
async def stylesheet(runtime: Runtime) -> Response:
    """The login page's stylesheet (served here: the CSP allows no inline style)."""
    return Response(runtime.pages.css, media_type="text/css",
                    headers={"Cache-Control": "public, max-age=3600"})
