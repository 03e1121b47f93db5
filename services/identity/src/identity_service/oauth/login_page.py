"""The server-rendered login and error pages of ``/authorize`` (Jinja2, autoescaped).

No script at all; a Content-Security-Policy allows only the page's own stylesheet and form
posts to this issuer (and, because browsers apply ``form-action`` to the redirect after a
post, to the client's redirect URI). Pages are never cached or framed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from identity_service.oauth.authorization_request import AuthorizationRequest
from identity_service.oauth.csrf import COOKIE_NAME, MAX_AGE_SECONDS, CsrfTokens
from identity_service.oauth.i18n import TEXTS, Locale

__all__ = ["LoginPages"]

_TEMPLATES: Final = Path(__file__).parent / "templates"


_SAFE_ORIGIN: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(//[A-Za-z0-9.:\[\]-]+)?")


def _origin(uri: str) -> str | None:
    """The origin of a redirect URI for the CSP, or None if it has odd characters (it must
    not be able to add directives to the policy)."""
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https") and parts.netloc:
        origin = f"{parts.scheme}://{parts.netloc}"
    else:
        origin = f"{parts.scheme}:"
    return origin if _SAFE_ORIGIN.fullmatch(origin) else None


class LoginPages:
    """Renders the pages and owns the CSRF cookie of the login form."""

    def __init__(self, csrf: CsrfTokens, *, issuer: str) -> None:
        self._csrf = csrf
        self._env = Environment(
            loader=FileSystemLoader(_TEMPLATES),
            autoescape=select_autoescape(["html"], default_for_string=True, default=True),
            undefined=StrictUndefined,
        )
        self._base = issuer.rstrip("/")
        self._secure = issuer.startswith("https://")
        self._cookie_path = urlsplit(self._base).path + "/authorize"
        self.css = (_TEMPLATES / "login.css").read_text(encoding="utf-8")

    def login(
        self,
        auth: AuthorizationRequest,
        *,
        locale: Locale,
        tenant_name: str,
        password_allowed: bool,
        external_methods: Sequence[str],
        error: str | None = None,
        email: str = "",
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """The login form for ``auth``; ``error`` is a text key of :mod:`.i18n`. Sets a fresh
        CSRF cookie."""
        texts = TEXTS[locale]
        token = self._csrf.issue()
        html = self._env.get_template("login.html").render(
            lang=locale,
            t=texts,
            base=self._base,
            client_name=auth.client.name,
            tenant_name=tenant_name,
            error=texts[error] if error else None,
            required_level=texts[auth.required_acr] if auth.required_acr else None,
            password_allowed=password_allowed,
            external_methods=list(external_methods),
            carried=auth.carried,
            csrf_token=token,
            email=email[:320],
        )
        response = HTMLResponse(html, status_code=status,
                                headers={**self._headers(locale, auth.redirect_uri),
                                         **(headers or {})})
        response.set_cookie(COOKIE_NAME, token, max_age=MAX_AGE_SECONDS, path=self._cookie_path,
                            secure=self._secure, httponly=True, samesite="strict")
        return response

    def error(self, *, locale: Locale, reason: str, status: int = 400) -> HTMLResponse:
        """The error page for ``reason`` (a text key); nothing links back to the client."""
        texts = TEXTS[locale]
        html = self._env.get_template("error.html").render(
            lang=locale, t=texts, base=self._base, message=texts.get(reason, texts["bad_request"])
        )
        return HTMLResponse(html, status_code=status, headers=self._headers(locale, None))

    def csrf_ok(self, request: Request, submitted: str | None) -> bool:
        """True if the form's token matches the CSRF cookie."""
        return self._csrf.valid(request.cookies.get(COOKIE_NAME), submitted)

    def _headers(self, locale: Locale, redirect_uri: str | None) -> dict[str, str]:
        targets = ["'self'"]
        origin = _origin(redirect_uri) if redirect_uri else None
        if origin:
            targets.append(origin)
        return {
            "Content-Security-Policy": (
                "default-src 'none'; style-src 'self'; img-src 'self'; "
                f"form-action {' '.join(targets)}; frame-ancestors 'none'; base-uri 'none'"
            ),
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
            "Content-Language": locale,
        }
